"""The process picker for ``set_ftrace_pid``: the running tasks, filtered as you type.

Names and command lines come from any user's processes, so every one is shown
escaped (tui/widgets/printable.py). The chosen pids go to ``set_ftrace_pid``
through the session, on a worker; a refusal is shown in the dialog.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Set

from ftop.engine.errors import FtopError
from ftop.engine.ftrace.filter import ProcessInfo, find_processes, plan_ftrace_pid
from ftop.tui.widgets.base import app_backend
from ftop.tui.widgets.dialogs import DIALOG_CSS, RefusalShown
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import RowList
from ftop.tui.widgets.printable import printable
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

__all__ = ["ProcessDialog"]


class ProcessDialog(RefusalShown, ModalScreen[Optional[List[int]]]):
    """set_ftrace_pid from a process list (psutil), filtered by name, command line or pid."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="ProcessDialog")
        + """
    ProcessDialog RowList { height: 12; }
    ProcessDialog #error { color: $error; display: none; }
    ProcessDialog #error.shown { display: block; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("space", "mark", "Mark", show=False),
    ]

    def __init__(self, current: Sequence[int]) -> None:
        super().__init__()
        self.marked: Set[int] = set(current)
        self.procs: RowList[ProcessInfo] = RowList(self._render_proc, id="procs")
        self.error: Optional[FtopError] = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Trace only these tasks (set_ftrace_pid)", classes="title")
            yield Input(placeholder="name, command line or pid", id="query", compact=True)
            yield self.procs
            yield Static(id="error")
            yield Static(
                f"{glyphs().down} list  space marks  Enter applies (none marked: every task)"
                "  Esc cancels",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._find("")

    @on(Input.Changed, "#query")
    def _changed(self, event: Input.Changed) -> None:
        self._find(event.value)

    @work(thread=True, exclusive=True, group="procs", exit_on_error=False)
    def _find(self, query: str) -> None:
        found = find_processes(query, limit=300)
        if not get_current_worker().is_cancelled:  # a newer query is on its way
            self.app.call_from_thread(self.procs.set_rows, found)

    def on_key(self, event: events.Key) -> None:
        if self.query_one("#query", Input).has_focus and event.key in ("down", "pagedown"):
            event.stop()
            self.procs.focus()

    def _render_proc(self, p: ProcessInfo, width: int) -> Text:
        t = Text()
        t.append(" [x] " if p.pid in self.marked else " [ ] ", style=self.procs.style_of("mark"))
        t.append(f"{p.pid:>7} ", style="bold")
        # Any user names their own process and its arguments: shown escaped.
        t.append(printable(f"{p.name:<16} "))
        t.append(printable(p.cmdline), style=self.procs.style_of("dim"))
        return t

    def action_mark(self) -> None:
        p = self.procs.current
        if p is None or not self.procs.has_focus:
            return
        self.marked ^= {p.pid}
        self.procs.move_to(self.procs.cursor + 1)

    @on(Input.Submitted, "#query")
    def _submitted(self, event: Input.Submitted) -> None:
        q = event.value.strip()
        if q.isdigit() and not self.marked:
            self.marked.add(int(q))
        self._apply(sorted(self.marked))

    def key_enter(self) -> None:
        if self.procs.has_focus:
            self._apply(sorted(self.marked))

    @work(thread=True, exclusive=True, group="procs-apply", exit_on_error=False)
    def _apply(self, pids: List[int]) -> None:
        try:
            app_backend(self.app).apply([plan_ftrace_pid(pids)])
        except FtopError as e:
            self.app.call_from_thread(self._refused, e)
            return
        self.app.call_from_thread(self.dismiss, pids)
