"""What compiling and rendering raise: :class:`Unsupported` (at compile time) and
:class:`BadRecord` (from a compiled function).
"""

from __future__ import annotations


class Unsupported(Exception):
    """The print fmt uses something this renderer cannot evaluate (the message says what)."""


class BadRecord(ValueError):
    """A record the compiled function could not render as its format says (too
    short, a division by zero ...). ``text`` is the best text there is."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text
