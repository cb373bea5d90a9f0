"""Modal dialogs: a line's parsed fields, saving, editing a value the kernel may refuse, text."""

from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple, cast

from ftop.engine.errors import FtopError, TracefsError
from ftop.engine.stream.parse import Record
from ftop.tui.widgets.base import worker_failure
from ftop.tui.widgets.printable import shown
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static
from textual.worker import Worker

__all__ = ["EditDialog", "FieldsDialog", "SaveDialog", "TextDialog", "error_lines"]

_KV = re.compile(r"(\w+)=(\S+)")

DIALOG_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > Vertical {{
    width: 90%;
    max-width: 110;
    height: auto;
    max-height: 90%;
    border: round $primary;
    background: $surface;
    padding: 0 1;
}}
{name} .title {{ text-style: bold; color: $primary; }}
{name} .hint {{ color: $foreground-muted; }}
{name} Input {{ border: tall $panel; }}
{name} Input:focus {{ border: tall $primary; }}
"""


class FieldsDialog(ModalScreen[None]):
    """Enter on a trace line: every parsed attribute, and an event's key=value fields."""

    DEFAULT_CSS = DIALOG_CSS.format(name="FieldsDialog")
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        rec = self.record
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, value in rec.to_json().items():
            if value is None or key == "raw":
                continue
            table.add_row(key, shown(str(value)))
        if rec.kind == "event" and rec.fields:
            pairs = _KV.findall(rec.fields)
            if pairs:
                table.add_row("", "")
                for k, v in pairs:
                    table.add_row(shown(f"  {k}", style="italic"), shown(v))
        with Vertical():
            yield Label(shown(f"{rec.kind}: {rec.name or ''}"), classes="title")
            with VerticalScroll():
                yield Static(table)
                yield Static(shown(rec.raw, style="dim"), classes="hint")
            yield Label("Esc or Enter closes", classes="hint")


class TextDialog(ModalScreen[None]):
    """A read-only text (an event's format) in a scrollable box."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="TextDialog")
        + """
    TextDialog VerticalScroll { height: auto; max-height: 30; }
    """
    )
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            with VerticalScroll():
                yield Static(shown(self.text, lines=True))
            yield Label("Esc closes", classes="hint")


class SaveDialog(ModalScreen[Optional[Tuple[str, bool]]]):
    """Where to save, and whether only the filtered view."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SaveDialog")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str, filtered: bool) -> None:
        super().__init__()
        self.default = default
        self.filtered = filtered

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                "Save as ftrace text, or as trace.dat (a name ending in .dat)", classes="title"
            )
            yield Input(self.default, id="path")
            yield Checkbox("only the lines the filter shows", self.filtered, id="only")
            yield Static(
                "Enter saves, Esc cancels · .dat: the raw pages, for trace-cmd and KernelShark",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#only", Checkbox).display = self.filtered
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def _submit(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self.dismiss((path, self.query_one("#only", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


def error_lines(err: FtopError) -> Text:
    """The refusal as the kernel put it: errno and reason, then error_log verbatim (caret line too)."""
    t = Text()
    if isinstance(err, TracefsError):
        t.append(shown(f"{err.errno_name}: {err.reason}\n", style="bold", lines=True))
        for line in err.error_log:
            # The command it quotes may hold anyone's text; the caret stays aligned
            # because only control characters change (rarely in a command).
            t.append(shown(line + "\n", lines=True))
        if not err.error_log:
            t.append("(the kernel wrote nothing to error_log for this)\n", style="italic")
        t.append("nothing was changed", style="italic")
    else:
        t.append(shown(str(err), style="bold", lines=True))
    return t


class RefusalShown:
    """For dialogs that apply through the engine: the kernel's refusal (errno and
    error_log text, caret line verbatim) goes into their ``#error`` Static, and the
    dialog stays open; Esc cancels."""

    error: Optional[FtopError] = None

    def _as_dialog(self) -> ModalScreen[object]:
        # Mixed into ModalScreen subclasses only (EditDialog, TriggerDialog, ProcessDialog).
        return cast("ModalScreen[object]", self)

    def _refused(self, err: FtopError) -> None:
        self.error = err
        box = self._as_dialog().query_one("#error", Static)
        # error_log's caret line is aligned to "  Command: <value>": keep it verbatim.
        box.update(error_lines(err))
        box.add_class("shown")

    def action_cancel(self) -> None:
        self._as_dialog().dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A worker that raised something other than a refusal (its workers catch
        # those): shown in the dialog as a refusal would be, not the app's end.
        err = worker_failure(self._as_dialog().app, event)
        if err is not None:
            self._refused(err)


class EditDialog(RefusalShown, ModalScreen[Optional[str]]):
    """Edit one value that goes to the kernel through the engine.

    ``submit`` runs on a worker thread; if it raises, the kernel's refusal is
    shown under the input (error_log lines verbatim, so the caret points at
    the right column) and the dialog stays open.
    """

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="EditDialog")
        + """
    EditDialog #error { color: $error; display: none; }
    EditDialog #error.shown { display: block; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        value: str,
        submit: Callable[[str], None],
        hints: Optional[List[str]] = None,
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.submit = submit
        self.hints = hints or []
        self.placeholder = placeholder
        self.error: Optional[FtopError] = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            for h in self.hints:
                # A Static wraps (a Label is as wide as its text, and was cut past
                # the dialog's width, 110 columns at most).
                yield Static(h, classes="hint")
            yield Input(self.value, placeholder=self.placeholder, id="value")
            yield Static(id="error")
            yield Label("Enter applies, Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    @on(Input.Submitted, "#value")
    def _submitted(self, event: Input.Submitted) -> None:
        self.query_one("#value", Input).disabled = True
        self._apply(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _apply(self, value: str) -> None:
        try:
            self.submit(value)
        except FtopError as e:
            self.app.call_from_thread(self._refused, e)
            return
        self.app.call_from_thread(self.dismiss, value)

    def _refused(self, err: FtopError) -> None:
        super()._refused(err)
        inp = self.query_one("#value", Input)
        inp.disabled = False
        inp.focus()
