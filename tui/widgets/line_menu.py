"""Enter on a trace line: a small choice of its fields or a filter by its pid, task or event."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

from ftop.tui.widgets.printable import shown
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from ftop.engine.stream.parse import Record

__all__ = ["LineMenu", "line_choices"]

# The filter words these choices become (LineFilter's keys).
FIELDS = "fields"
PID = "pid"
TASK = "task"
EVENT = "event"


def line_choices(rec: Record) -> List[Tuple[str, Text]]:
    """(choice id, label) for what a line offers; the labels show traced text safely."""
    out: List[Tuple[str, Text]] = [(FIELDS, Text("Show the parsed fields"))]
    if rec.pid is not None:
        out.append((PID, Text("Filter by pid ") + shown(str(rec.pid), style="bold")))
    if rec.comm:
        out.append((TASK, Text("Filter by task ") + shown(rec.comm, style="bold")))
    if rec.name and rec.kind in ("event", "function", "graph"):
        what = "event " if rec.kind == "event" else "function "
        out.append((EVENT, Text("Filter by " + what) + shown(rec.name, style="bold")))
    return out


class LineMenu(ModalScreen[Optional[str]]):
    """Dismisses with the chosen id (``fields``, ``pid``, ``task``, ``event``) or None."""

    DEFAULT_CSS = """
    LineMenu { align: center middle; background: $background 60%; }
    LineMenu > Vertical {
        width: auto;
        min-width: 40;
        max-width: 90%;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    LineMenu .title { text-style: bold; color: $primary; }
    LineMenu .hint { color: $foreground-muted; }
    LineMenu OptionList, LineMenu OptionList:focus {
        height: auto;
        border: none;
        background: $surface;
    }
    """
    BINDINGS = [Binding("escape,q", "cancel", "Close")]

    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record
        self.choices = line_choices(record)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("This line", classes="title")
            yield OptionList(*(Option(label, id=cid) for cid, label in self.choices))
            yield Label("Enter picks, Esc closes; a filter adds to the current one", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
