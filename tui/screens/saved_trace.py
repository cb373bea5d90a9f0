"""What a screen that needs a live tracefs shows over a saved trace (``ftop FILE``): one line.

A saved trace holds the trace's lines and nothing of the kernel that wrote
them (no tracers, options, stack tracer or latency maximum), so the Tracers,
Setup and Latency screens cannot read anything. Instead of a blank screen
they say what the file holds and what they would need; their own keys are
hidden from the footer (:func:`saved_trace_allows`), since each would be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

from ftop.engine.backend import Backend
from ftop.tui.widgets.printable import shown
from rich.text import Text
from textual.widgets import Static

__all__ = ["SavedTraceNote", "is_saved_trace", "saved_trace_allows", "saved_trace_line"]


def is_saved_trace(backend: Backend) -> bool:
    """The source is a file: no tracefs behind it."""
    return backend.tfs is None


def saved_trace_line(backend: Backend, needs: str) -> Text:
    """``t.txt is a saved trace: ...; <needs> need a live tracefs ...``, as one line."""
    name = Path(backend.label).name or backend.label
    t = Text()
    # The file name is the user's; shown escaped like anything else that is not ftop's.
    t.append_text(shown(name, style="bold"))
    t.append(
        " is a saved trace: it holds the trace lines only. "
        f"{needs[:1].upper()}{needs[1:]} need a live tracefs (ftop as root, without a file)."
    )
    return t


class SavedTraceNote(Static):
    """The one line, in place of the screen's body."""

    DEFAULT_CSS = """
    SavedTraceNote { height: 1fr; padding: 1 2; color: $foreground-muted; }
    """

    def __init__(self, backend: Backend, needs: str) -> None:
        super().__init__(saved_trace_line(backend, needs), id="saved-trace")


def saved_trace_allows(backend: Backend, action: str, own: Tuple[str, ...]) -> bool:
    """For ``check_action``: a screen's own actions are off over a saved trace."""
    return not (is_saved_trace(backend) and action in own)
