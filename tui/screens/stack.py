"""The stack tracer view: the deepest kernel stack seen, live, with its frames as bars.

The stack tracer is global to the machine (a sysctl, not a tracefs file, not
per instance); the screen says so. ``e`` switches it on and off through the
session (journaled, restored on exit), ``r`` resets the maximum, ``f`` edits
``stack_trace_filter``. ``stack_max_size`` is polled with the status and drawn
over time; when it changes the stack is read again (on a worker).
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

from ftop.engine.backend import Backend, tracefs_of
from ftop.engine.errors import FtopError
from ftop.engine.ftrace.filter import plan_set, read_filter
from ftop.engine.ftrace.stack_tracer import (
    GLOBAL_NOTE,
    STACK_TRACER_SYSCTL,
    StackHistory,
    StackTrace,
    parse_stack_trace,
    plan_enable,
    plan_reset_max,
)
from ftop.tui.registry import ScreenSpec, bindings_for, command, commands_for, register_screen
from ftop.tui.screens.saved_trace import SavedTraceNote, is_saved_trace, saved_trace_allows
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors, plural
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import ChangesMixin, bar
from ftop.tui.widgets.sparkline import Sparkline
from rich.text import Text
from textual import work
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

__all__ = ["StackScreen", "read_stack"]

S = "stack"
command(
    "stack.enable",
    "e",
    "toggle_enable",
    "On/off",
    "switch the stack tracer on or off (machine-wide)",
)
command(
    "stack.reset", "r", "reset", "Reset max", "reset stack_max_size: record the next deepest stack"
)
command(
    "stack.filter",
    "f",
    "edit_filter",
    "Filter",
    "edit stack_trace_filter (which functions are checked)",
)
command("stack.refresh", "ctrl+r", "refresh_stack", "Reread", "read stack_trace again", show=False)

BAR_WIDTH = 16


# How many times to read stack_max_size, stack_trace, stack_max_size before taking
# what the last read gave (the kernel can record a new maximum in between).
READ_TRIES = 4


def read_stack(sess: Backend) -> StackTrace:
    """stack_trace and stack_max_size (top level) and the sysctl, through the session's tracefs.

    The two files are separate reads, and the kernel records a new deepest stack
    whenever it meets one: right after a reset, ``stack_trace`` can be read empty
    and ``stack_max_size`` a moment later full (4,448 B over 0 frames). So the size
    is read before and after the frames, and the pair is taken only when the size
    did not move in between and agrees with the frames (the deepest frame's depth).

    Raises:
        FtopError: a read refused (NoTracefs: a saved trace has no tracefs).
    """
    top = tracefs_of(sess).top()

    def size() -> Optional[int]:
        v = (top.read_or("stack_max_size") or "").strip()
        return int(v) if v.isdigit() else None

    st = StackTrace()
    for _ in range(READ_TRIES):
        before = size()
        st = parse_stack_trace(top.read("stack_trace"))
        after = size()
        if after is not None:
            st.max_size = after
        if before == after and _consistent(st):
            break
    # Read through tracefs (not open()): the demo's simulated kernel answers it too.
    on = top.read_or(STACK_TRACER_SYSCTL)
    st.enabled = None if on is None else on.strip() == "1"
    return st


def _consistent(st: StackTrace) -> bool:
    """A size with no frames is a read caught mid-record. (Frames with size 0 are
    not: after a reset the kernel keeps the last stack until it records a deeper one.)"""
    return bool(st.frames) or not st.max_size


_OWN_ACTIONS = tuple(c.action for c in commands_for(S))


class StackScreen(ChangesMixin, FtopScreen):
    """stack_max_size over time and the deepest stack, frame by frame."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    StackScreen #note { height: auto; padding: 0 1; color: $warning; background: $surface; }
    StackScreen #top { height: 5; background: $surface; }
    StackScreen #summary { width: 36; padding: 0 1; }
    StackScreen #spark-box { width: 1fr; padding: 0 1; }
    StackScreen Sparkline { height: 3; }
    StackScreen Sparkline > .sparkline--max-color { color: $accent; }
    StackScreen Sparkline > .sparkline--min-color { color: $primary; }
    StackScreen #frames { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.history = StackHistory(limit=240)
        self.stack: Optional[StackTrace] = None
        self.filter_words: List[str] = []
        self.error: Optional[str] = None
        self.loaded = False
        self._last_size: Optional[int] = None

    def compose_body(self) -> Iterable[Widget]:
        if is_saved_trace(self.backend):
            yield SavedTraceNote(self.backend, "the stack tracer's deepest stack and its filter")
            return
        yield Static(Text(GLOBAL_NOTE), id="note")
        yield Horizontal(
            Static(id="summary"),
            Vertical(
                Static(id="spark-title"),
                Sparkline([], summary_function=max, id="spark"),
                id="spark-box",
            ),
            id="top",
        )
        table: DataTable[object] = DataTable(id="frames", cursor_type="row", zebra_stripes=False)
        yield table

    def on_mount(self) -> None:
        if is_saved_trace(self.backend):
            return  # nothing to read: the note says why
        table = self.query_one("#frames", DataTable)
        table.add_column("#", key="idx", width=3)
        table.add_column("depth", key="depth", width=6)
        table.add_column("size", key="size", width=5)
        table.add_column("", key="bar", width=BAR_WIDTH)
        table.add_column("function", key="func")
        table.add_column("offset", key="off")
        table.add_column("module", key="mod")
        table.focus()
        self.ftop.status_signal.subscribe(self, self.on_status)
        self.reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.loaded:
            self.reload()

    def check_action(self, action: str, parameters: Tuple[object, ...]) -> Optional[bool]:
        # Over a saved trace the screen's own keys are off (and out of the footer).
        if not saved_trace_allows(self.backend, action, _OWN_ACTIONS):
            return False
        return super().check_action(action, parameters)

    # -- loading ---------------------------------------------------------------------

    def on_status(self, info: StatusInfo) -> None:
        size = info.status.stack_max_size
        if size is None:
            return
        self.history.add(size, info.status.polled_at or None)
        if self.is_active:
            self.update_spark()
            if size != self._last_size:
                self.reload()

    def reload(self) -> None:
        self._load(self.begin_read("stack-load"))

    @work(thread=True, exclusive=True, group="stack-load", exit_on_error=False)
    def _load(self, gen: int) -> None:
        sess = self.backend
        err: Optional[str] = None
        st: Optional[StackTrace] = None
        words: List[str] = []
        try:
            st = read_stack(sess)
        except FtopError as e:
            err = str(e).splitlines()[0]
        try:
            words = [
                f"{e.name}:mod:{e.module}" if e.module else e.name
                for e in read_filter(tracefs_of(sess), "stack_trace_filter").functions
            ]
        except FtopError:
            words = []
        # A newer load was asked for (a reset, a poll that saw the size move): its
        # answer is the one to show, never this older one after it.
        self.deliver_read("stack-load", gen, self._loaded, st, words, err)

    def _loaded(self, st: Optional[StackTrace], words: List[str], err: Optional[str]) -> None:
        self.loaded = True
        self.stack = st
        self.filter_words = words
        self.error = err
        if st is not None:
            self._last_size = st.max_size
            if not self.history.samples:
                self.history.add(st.max_size)
        self.update_summary()
        self.update_spark()
        self.update_table()

    # -- display ---------------------------------------------------------------------------

    def update_summary(self) -> None:
        tv = ThemeColors(self.app)
        t = Text()
        st = self.stack
        if st is None:
            t.append("the stack tracer is not available here\n", style="bold")
            if self.error:
                t.append(self.error, style=tv.get("error", "red"))
            self.query_one("#summary", Static).update(t)
            return
        t.append("stack tracer ", style="bold")
        if st.enabled:
            t.append(f"{glyphs().on} on", style=f"bold {tv.get('success', 'green')}")
        elif st.enabled is False:
            t.append(f"{glyphs().off} off", style=f"bold {tv.get('foreground-muted', '')}")
        else:
            t.append("? (sysctl unreadable)")
        t.append("\nstack_max_size ")
        t.append(f"{st.max_size:,}", style=f"bold {tv.get('accent', 'yellow')}")
        t.append(" B", style="bold")
        t.append(f" · {plural(len(st.frames), 'frame')}", style=tv.get("foreground-muted", ""))
        if st.frames and not st.max_size:
            t.append(" (from before the reset)", style=tv.get("foreground-muted", ""))
        if self.filter_words:
            shown = " ".join(self.filter_words[:3]) + (
                f" {glyphs().ellipsis}" if len(self.filter_words) > 3 else ""
            )
            t.append(f"\nfilter: {shown}", style=tv.get("primary", "blue"))
        else:
            t.append("\nfilter: every function", style=tv.get("foreground-muted", ""))
        self.query_one("#summary", Static).update(t)

    def update_spark(self) -> None:
        values = [float(v) for _, v in self.history.samples] or [0.0]
        if len(values) == 1:
            values = values * 2
        self.query_one("#spark", Sparkline).data = values
        top = max(v for _, v in self.history.samples) if self.history.samples else 0
        self.query_one("#spark-title", Static).update(
            Text(f"stack_max_size over time · max {top:,} B")
        )

    def update_table(self) -> None:
        table = self.query_one("#frames", DataTable)
        table.clear()
        st = self.stack
        if st is None:
            return
        biggest = max((f.size for f in st.frames), default=0)
        tv = ThemeColors(self.app)
        accent = tv.get("accent", "yellow")
        for f in st.frames:
            off = f"+0x{f.offset:x}/0x{f.length:x}" if f.offset is not None and f.length else ""
            table.add_row(
                Text(str(f.index), justify="right"),
                Text(f"{f.depth:,}", justify="right"),
                Text(str(f.size), justify="right"),
                Text(bar(f.size, biggest, BAR_WIDTH), style=accent),
                Text(f.function, style="bold" if f.size == biggest else ""),
                Text(off, style=tv.get("foreground-muted", "")),
                Text(f.module, style=tv.get("primary", "blue")),
                key=str(f.index),
            )

    # -- actions ----------------------------------------------------------------------------

    def _after(self) -> None:
        self.reload()

    def action_toggle_enable(self) -> None:
        st = self.stack
        if st is None:
            self.app.notify("the stack tracer is not available here", severity="warning")
            return
        on = not bool(st.enabled)
        what = "stack tracer on" if on else "stack tracer off"
        self.apply_changes([plan_enable(on)], what, self._after)
        if on:
            self.app.notify(GLOBAL_NOTE, title="stack tracer on (machine-wide)", timeout=6)

    def action_reset(self) -> None:
        if self.stack is None:
            return
        self.apply_changes([plan_reset_max()], "reset stack_max_size", self._after)

    def action_refresh_stack(self) -> None:
        self.reload()

    def action_edit_filter(self) -> None:
        if self.stack is None:
            return
        sess = self.backend

        def submit(value: str) -> None:
            sess.apply(plan_set("stack_trace_filter", value.split()))

        def done(result: Optional[str]) -> None:
            if result is not None:
                self.reload()

        self.app.push_screen(
            EditDialog(
                "stack_trace_filter: the functions the stack tracer checks",
                " ".join(self.filter_words),
                submit,
                hints=["names or globs (vfs_*, :mod:ext4), space separated; empty: every function"],
                placeholder="empty: every function",
            ),
            done,
        )


register_screen(
    ScreenSpec(
        S,
        "Stack",
        "7",
        StackScreen,
        "the stack tracer: deepest kernel stack, stack_max_size over time (machine-wide)",
        order=70,
    )
)
