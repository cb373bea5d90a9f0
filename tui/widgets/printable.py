"""What the UI shows of the traced system's text, and a last-line guard at the terminal.

Two layers, because one missed call must not give an unprivileged user root's
terminal:

1. Every string that comes from the traced system or a file goes through
   :func:`shown` (a Rich ``Text``, never read as markup) or :func:`shown_markup`
   (for the few places that build markup): control characters become visible
   escapes (:func:`ftop.engine.printable.printable`) *before* the text is
   measured, so cell widths are those of what is drawn; and ``[`` can never
   start a markup tag (``[@click=...]`` would bind an action to a click).
2. :func:`install_render_guard` wraps Textual's ``Strip.render``, the one place
   where every drawn character becomes terminal output (text segments apart
   from Textual's own control sequences). Whatever control character reaches it
   anyway is replaced by as many ``?`` as Rich counted cells for it (none for
   ESC), so the layout stays as Textual measured it. It counts what it caught:
   the tests assert that it never has to act, which proves layer 1 is complete.
"""

from __future__ import annotations

import re
import threading
from typing import List, Optional

from ftop.engine.printable import UNSAFE, printable
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

__all__ = ["GUARD", "RenderGuard", "install_render_guard", "printable", "shown", "shown_markup"]

# What the guard removes: the unsafe set and tabs (zero cells to Rich, a jump to a terminal).
_GUARDED = re.compile(f"(?:{UNSAFE.pattern}|\t)")


def shown(text: str, style: str | Style = "", lines: bool = False) -> Text:
    """``text`` from the traced system as a Rich ``Text``: escapes visible, no markup.

    ``lines`` keeps line breaks (a multi-line text); otherwise a newline is shown
    as ``\\x0a`` (a task name or a field is one line).
    """
    return Text(printable(text, keep_newlines=lines), style=style, end="")


def shown_markup(text: str) -> str:
    """``text`` for a markup string: escapes visible and brackets literal."""
    return escape(printable(text))


def _same_width(m: re.Match[str]) -> str:
    return "?" * cell_len(m.group())


class RenderGuard:
    """Counts and neutralises control characters in text segments at render time."""

    def __init__(self) -> None:
        self.caught = 0
        self.samples: List[str] = []
        self._lock = threading.Lock()
        self._installed = False

    def clean(self, segments: List[Segment]) -> Optional[List[Segment]]:
        """The segments with unsafe text neutralised, or None when all were clean."""
        out: Optional[List[Segment]] = None
        for i, seg in enumerate(segments):
            text = seg.text
            if seg.control or _GUARDED.search(text) is None:
                continue
            if out is None:
                out = list(segments)
            out[i] = Segment(_GUARDED.sub(_same_width, text), seg.style, seg.control)
            with self._lock:
                self.caught += 1
                if len(self.samples) < 20:
                    self.samples.append(text)
        return out

    def reset(self) -> None:
        with self._lock:
            self.caught = 0
            self.samples.clear()

    def install(self) -> None:
        """Wrap ``Strip.render`` once per process (idempotent)."""
        if self._installed:
            return
        self._installed = True
        original = Strip.render
        guard = self

        def render(strip: Strip, console: Console) -> str:
            if strip._render_cache is None:
                cleaned = guard.clean(strip._segments)
                if cleaned is not None:
                    strip._render_cache = original(Strip(cleaned, strip.cell_length), console)
            return original(strip, console)

        render.__doc__ = original.__doc__
        # Patching the class's method is the point: every Strip, whoever built it, is guarded.
        Strip.render = render  # type: ignore[method-assign,assignment]


GUARD = RenderGuard()


def install_render_guard() -> RenderGuard:
    """Install the guard (the app does at start) and return it."""
    GUARD.install()
    return GUARD
