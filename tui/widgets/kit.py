"""Pieces the ftrace screens share: a cursor list over many rows, a choice dialog,
a refusal dialog, and the worker that sends changes through the session.

Every change a screen makes goes through :meth:`ChangesMixin.apply_changes`:
one ``Session.apply`` (one transaction) on a worker thread; a refusal comes
back as the kernel's own words (errno, error_log lines and caret) and changes
nothing.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, List, Optional, Sequence, Tuple, TypeVar

from ftop.engine.errors import FtopError, TracefsError
from ftop.tui.registry import view_commands
from ftop.tui.widgets.base import app_backend
from ftop.tui.widgets.dialogs import DIALOG_CSS, error_lines
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.trace_view import _overlay
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Label, Static

__all__ = [
    "ChangesMixin",
    "ChoiceDialog",
    "RefusalDialog",
    "RowList",
    "bar",
    "fmt_us",
]

T = TypeVar("T")


def fmt_us(us: float) -> str:
    """Microseconds for a narrow column: ``812us``, ``12.4ms``, ``3.21s``."""
    if us >= 1_000_000:
        return f"{us / 1e6:.2f}s"
    if us >= 10_000:
        return f"{us / 1e3:.1f}ms"
    if us >= 1_000:
        return f"{us / 1e3:.2f}ms"
    if us >= 100:
        return f"{us:.0f}us"
    return f"{us:.1f}us"


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar of ``width`` cells, eighths for the last cell."""
    if top <= 0 or width <= 0:
        return ""
    eighths = round(max(0.0, min(1.0, value / top)) * width * 8)
    full, rest = divmod(eighths, 8)
    g = glyphs()  # the Linux console's font has no eighth blocks (tui/widgets/glyphs.py)
    return (g.full * full + (g.eighths[rest - 1] if rest else "")).rstrip(" ")


def scroll_row_into_view(view: ScrollView, row: int) -> None:
    """Scroll a one-line-per-row view just enough that ``row`` is visible."""
    height = view.scrollable_content_region.height or view.size.height or 1
    top = int(view.scroll_y)
    if row < top:
        top = row
    elif row >= top + height:
        top = row - height + 1
    view.scroll_to(y=top, animate=False, immediate=True)


LIST_SCOPE = "list"


class RowList(ScrollView, Generic[T], can_focus=True):
    """Rows of anything, drawn one line each by ``render_row``, with a cursor.

    Only the visible rows are rendered (the Line API), so a list of a hundred
    thousand rows scrolls as cheaply as ten.
    """

    BINDINGS = view_commands(
        LIST_SCOPE,
        (
            ("up", "up", "cursor_up", "Up", "previous row"),
            ("down", "down", "cursor_down", "Down", "next row"),
            ("page_up", "pageup", "page_up", "Page up", "a screenful up"),
            ("page_down", "pagedown", "page_down", "Page down", "a screenful down"),
            ("first", "home", "first", "First", "the first row"),
            ("last", "end", "last", "Last", "the last row"),
        ),
    )
    COMPONENT_CLASSES = {"rowlist--cursor", "rowlist--dim", "rowlist--accent", "rowlist--mark"}
    DEFAULT_CSS = """
    RowList { background: $background; scrollbar-size-vertical: 1; }
    RowList > .rowlist--cursor { background: $trace-cursor; text-style: $trace-cursor-style; }
    RowList:focus > .rowlist--cursor {
        background: $trace-cursor; text-style: $trace-cursor-focus-style;
    }
    RowList > .rowlist--dim { color: $foreground-muted; }
    RowList > .rowlist--accent { color: $accent; }
    RowList > .rowlist--mark { color: $success; text-style: bold; }
    """

    class Moved(Message):
        """The cursor moved (or the rows changed under it)."""

        def __init__(self, rowlist: RowList[Any], row: Any) -> None:
            super().__init__()
            self.rowlist = rowlist
            self.row = row

        @property
        def control(self) -> RowList[Any]:
            return self.rowlist

    def __init__(
        self,
        render_row: Callable[[Any, int], Text],
        id: Optional[str] = None,
        classes: Optional[str] = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.render_row = render_row
        self.rows: List[T] = []
        self.cursor = 0

    @property
    def current(self) -> Optional[T]:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def style_of(self, name: str) -> Style:
        return self.get_component_rich_style(f"rowlist--{name}", partial=True)

    def set_rows(self, rows: Sequence[T], keep: Optional[Callable[[T], bool]] = None) -> None:
        """Replace the rows; the cursor stays on the row ``keep`` picks, if any."""
        self.rows = list(rows)
        if keep is not None:
            for i, r in enumerate(self.rows):
                if keep(r):
                    self.cursor = i
                    break
        self.cursor = max(0, min(self.cursor, len(self.rows) - 1))
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Moved(self, self.current))

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, index))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Moved(self, self.current))

    def _scroll_to_cursor(self) -> None:
        scroll_row_into_view(self, self.cursor)

    # Keys are registry commands (scope "list"): in F1, the palette and [keys].

    def _page(self) -> int:
        return max(1, (self.scrollable_content_region.height or 1) - 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_to(self.cursor - self._page())

    def action_page_down(self) -> None:
        self.move_to(self.cursor + self._page())

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        self.move_to(int(self.scroll_y) + event.y)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        i = int(self.scroll_y) + y
        base = self.rich_style
        if not (0 <= i < len(self.rows)):
            return Strip.blank(width, base)
        t = self.render_row(self.rows[i], width)
        t.no_wrap = True
        t.truncate(width, overflow="ellipsis", pad=True)
        strip = Strip(list(t.render(self.app.console, end=""))).apply_style(base)
        strip = strip.crop_extend(0, width, base)
        if i == self.cursor:
            strip = _overlay(strip, self.style_of("cursor"))
        return strip


class ChoiceDialog(ModalScreen[Optional[str]]):
    """A question with a few answers, each on a key; Esc answers None."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ChoiceDialog")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, body: Text, choices: Sequence[Tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Static(self.body)
            line = Text()
            for key, label in self.choices:
                line.append(f" {key} ", style="bold reverse")
                line.append(f" {label}   ")
            line.append(" Esc ", style="bold reverse")
            line.append(" cancel")
            yield Static(line, classes="hint")

    def on_key(self, event: events.Key) -> None:
        for key, _ in self.choices:
            if event.key == key or event.character == key:
                event.stop()
                self.dismiss(key)
                return

    def action_cancel(self) -> None:
        self.dismiss(None)


class RefusalDialog(ModalScreen[None]):
    """What the kernel said when it refused: errno, error_log verbatim (caret aligned)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="RefusalDialog")
        + """
    RefusalDialog #why { color: $error; }
    RefusalDialog VerticalScroll { height: auto; max-height: 20; }
    """
    )
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, title: str, body: Text, note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            with VerticalScroll():
                yield Static(self.body, id="why")
                if self.note:
                    yield Static(Text(self.note), classes="hint")
            yield Label("Esc closes", classes="hint")


class ChangesMixin:
    """For screens: send changes through the session on a worker, report a refusal.

    ``explain`` turns a refusal into the sentence to show above the kernel's
    own lines (e.g. the catalog's "not in available_filter_functions").
    """

    app: Any
    last_refusal: Optional[FtopError] = None

    def apply_changes(
        self,
        changes: Sequence[Any],
        what: str,
        done: Optional[Callable[[], None]] = None,
        explain: Optional[Callable[[FtopError], Optional[str]]] = None,
    ) -> None:
        self._apply_worker(list(changes), what, done, explain)

    @work(thread=True, group="ftop-change", exit_on_error=False)
    def _apply_worker(
        self,
        changes: List[Any],
        what: str,
        done: Optional[Callable[[], None]],
        explain: Optional[Callable[[FtopError], Optional[str]]],
    ) -> None:
        sess = app_backend(self.app)
        try:
            # One transaction at a time is the engine's rule (Session.apply holds the
            # session's lock): two keys pressed quickly never interleave writes.
            sess.apply(changes)
        except FtopError as e:
            note = explain(e) if explain is not None else None
            self.app.call_from_thread(self.show_refusal, what, e, note)
        else:
            self.last_refusal = None
        if done is not None:
            self.app.call_from_thread(done)
        self.app.poll_now()

    def show_refusal(self, what: str, err: FtopError, note: Optional[str] = None) -> None:
        self.last_refusal = err
        body = Text()
        if note:
            body.append(note + "\n\n", style="bold")
        if isinstance(err, TracefsError) and err.op != "read":
            # The step the kernel refused, as a shell user would have typed it.
            arrow = ">>" if err.op == "append" else ">"
            value = (err.value or "").strip()
            shown = value if len(value) <= 60 else value[:57] + "..."
            body.append(f"echo '{shown}' {arrow} {err.path}\n", style="italic")
        body.append_text(error_lines(err))
        self.app.push_screen(RefusalDialog(f"{what}: refused", body))
