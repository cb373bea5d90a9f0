"""The dashboard: events/s over time, per-CPU rates and loss, top events and top functions.

Tables are small and updated by diff (rows added, removed, cells changed) so
the cursor stays on its row; Enter on a row narrows the live view to it.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ftop.engine.errors import FtopError
from ftop.engine.ftrace.counts import (
    ExactCounts,
    counts_unavailable,
    plan_counts_off,
    plan_counts_on,
    read_counts,
)
from ftop.engine.ftrace.event_catalog import enabled_events
from ftop.engine.stream.stats import NameRate
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.screens.saved_trace import saved_trace_allows
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors, human, plural, span_text
from ftop.tui.widgets.printable import printable, shown
from ftop.tui.widgets.sparkline import Sparkline
from rich.text import Text
from textual import on, work
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Label

__all__ = ["DashboardScreen"]

S = "dashboard"
command(
    "dashboard.drill",
    "enter",
    "drill",
    "Show in live",
    "narrow the live view to this event or function",
    key_display="⏎",
)
command("dashboard.sort", "s", "sort", "Sort", "sort the table by the next column")
command(
    "dashboard.exact",
    "x",
    "exact",
    "Exact counts",
    "count in the kernel: function profiler, hist triggers (journaled, restored)",
)
command("dashboard.reverse", "r", "reverse", "Reverse", "reverse the sort order")
command(
    "dashboard.next_table",
    "tab",
    "app.focus_next",
    "Next table",
    "move to the next table",
    show=False,
)

_SORT_COLUMNS = ("name", "count", "rate")


class NameTable(DataTable[Text]):
    """Top names with count and rate, sortable, updated by diff."""

    def __init__(self, kind: str, id: Optional[str] = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.kind = kind  # "event" or "function"
        self.sort_by = "count"
        self.reverse = True
        self.values: Dict[str, Tuple[int, float]] = {}

    def on_mount(self) -> None:
        # Numbers first, the name last (it may be long), as htop puts the command last.
        self.add_column("/s", key="rate", width=6)
        self.add_column("count", key="count", width=9)
        self.add_column(self.kind, key="name")

    def update_rows(self, rows: Sequence[NameRate]) -> None:
        want = {r.name: (r.count, r.rate) for r in rows}
        keep_key = self._cursor_key()
        for name in [n for n in self.values if n not in want]:
            self.remove_row(name)
            del self.values[name]
        for name, (count, rate) in want.items():
            cells = (Text(f"{count:,}", justify="right"), Text(human(rate), justify="right"))
            if name not in self.values:
                self.add_row(cells[1], cells[0], shown(name), key=name)
            elif self.values[name] != (count, rate):
                self.update_cell(name, "count", cells[0])
                self.update_cell(name, "rate", cells[1])
            self.values[name] = (count, rate)
        self.apply_sort(keep_key)

    def _cursor_key(self) -> Optional[str]:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def apply_sort(self, keep_key: Optional[str] = None) -> None:
        if keep_key is None:
            keep_key = self._cursor_key()
        if not self.row_count:
            return
        values = self.values
        # The name cells show the escaped name (tui/printable.py): map back to the key.
        by_shown = {printable(n): n for n in values}
        if self.sort_by == "name":
            self.sort("name", key=str, reverse=self.reverse)
        else:
            idx = 0 if self.sort_by == "count" else 1
            self.sort(
                "name",
                key=lambda cell: values.get(by_shown.get(str(cell), ""), (0, 0.0))[idx],
                reverse=self.reverse,
            )
        if keep_key is not None and keep_key in values:
            self.move_cursor(row=self.get_row_index(keep_key))

    def current_name(self) -> Optional[str]:
        return self._cursor_key()


class DashboardScreen(FtopScreen):
    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    DashboardScreen #spark-box { height: 6; padding: 0 1; background: $surface; }
    DashboardScreen #spark-title { height: 1; }
    DashboardScreen Sparkline { height: 4; }
    DashboardScreen Sparkline > .sparkline--max-color { color: $accent; }
    DashboardScreen Sparkline > .sparkline--min-color { color: $primary; }
    DashboardScreen #replay-notes { height: auto; padding: 0 1; color: $warning; display: none; }
    DashboardScreen #replay-notes.shown { display: block; }
    DashboardScreen #tables { height: 1fr; }
    DashboardScreen #cpus { width: 34; }
    DashboardScreen .caption { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    DashboardScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: List[float] = []
        # While on: what the kernel counts for us (events with a hist trigger, the
        # function profiler) and its last read.
        self.exact_events: List[str] = []
        self.exact_profiler = False
        self.exact: Optional[ExactCounts] = None

    def compose_body(self) -> Iterable[Widget]:
        yield Vertical(
            Label(id="spark-title"),
            Sparkline([], summary_function=max, id="spark"),
            id="spark-box",
        )
        # The demo's replay says here what of the user's settings it cannot apply.
        yield Label(id="replay-notes")
        cpu: DataTable[Text] = DataTable(id="cpu-table", cursor_type="row")
        yield Horizontal(
            Vertical(Label("Per CPU", classes="caption"), cpu, id="cpus"),
            Vertical(
                Label("Top events", id="events-caption", classes="caption"),
                NameTable("event", id="top-events"),
                Label("Top functions", id="functions-caption", classes="caption"),
                NameTable("function", id="top-functions"),
            ),
            id="tables",
        )

    def on_mount(self) -> None:
        cpu = self.query_one("#cpu-table", DataTable)
        cpu.add_column("cpu", key="cpu", width=3)
        cpu.add_column("/s", key="rate", width=6)
        cpu.add_column("lost", key="lost", width=7)
        cpu.add_column("entries", key="entries", width=9)
        self.ftop.status_signal.subscribe(self, self.on_status)
        self.query_one("#top-events", NameTable).focus()
        if self.ftop.status_info is not None:
            self.on_status(self.ftop.status_info)

    def check_action(self, action: str, parameters: Tuple[object, ...]) -> Optional[bool]:
        # A saved trace has no kernel to count in: "x" would only be refused.
        if not saved_trace_allows(self.backend, action, ("exact",)):
            return False
        return super().check_action(action, parameters)

    def on_status(self, info: StatusInfo) -> None:
        snap = info.snap
        self.history = list(self.ftop.rate_history)
        spark = self.query_one("#spark", Sparkline)
        spark.data = self.history or [0.0]
        self.query_one("#spark-title", Label).update(self._rate_title(info))
        self._show_replay_notes()
        window = f"last {snap.window_s:.0f} s" if snap.window_s < 1e6 else "whole file"
        self.query_one("#events-caption", Label).update(f"Top events ({window})")
        self.query_one("#functions-caption", Label).update(
            f"Top functions ({window})"
            if snap.top_functions
            else "Top functions: none (no function tracer)"
        )
        exact = self.exact
        if self.exact_events or self.exact_profiler:
            self._read_exact()
        with self.app.batch_update():
            self._update_cpus(info)
            if exact is not None and exact.events:
                self.query_one("#events-caption", Label).update(
                    "Top events (exact: hist triggers, since x"
                    + (f"; {exact.dropped:,} dropped by a full table" if exact.dropped else "")
                    + ")"
                )
                rows = [NameRate(n, c, 0.0) for n, c in exact.events[:20]]
                self.query_one("#top-events", NameTable).update_rows(rows)
            else:
                self.query_one("#top-events", NameTable).update_rows(snap.top_events[:20])
            if exact is not None and exact.functions:
                self.query_one("#functions-caption", Label).update(
                    "Top functions (exact: the kernel's function profiler, since x)"
                )
                frows = [NameRate(n, c, 0.0) for n, c, _t in exact.functions[:20]]
                self.query_one("#top-functions", NameTable).update_rows(frows)
            else:
                self.query_one("#top-functions", NameTable).update_rows(snap.top_functions[:20])

    def _rate_title(self, info: StatusInfo) -> Text:
        snap = info.snap
        title = Text()
        title.append("events/s ", style="bold")
        if info.kind == "file":
            # A saved trace: its own figures over its own time span, not a "now" that
            # never moves. The sparkline is the capture cut into equal slices.
            title.append(f"average {human(snap.total_rate)}", style="bold")
            if self.history:
                title.append(f"  peak {human(max(self.history))}")
            title.append(f"   {plural(snap.total, 'event')} over {span_text(snap.span_s)} of trace")
            return title
        span = len(self.history) * self.ftop.poll_interval if self.history else 0
        title.append(f"now {human(snap.total_rate)}", style="bold")
        if self.history:
            peak = max(max(self.history), snap.total_rate)
            title.append(f"  peak {human(peak)}  over the last {span:.0f} s")
        title.append(f"   {plural(snap.lifetime_events, 'event')} since start")
        if snap.predates:
            title.append(f"   {plural(snap.predates, 'event')} from before ftop (not counted)")
        elif snap.predates_unknown:
            title.append(f"   events from before ftop counted as live: {snap.predates_unknown}")
        return title

    def _show_replay_notes(self) -> None:
        sess = self.backend
        notes: List[str] = []
        if sess.kind == "demo":
            # Imported here, as app.py does: a live run never loads the demo.
            from ftop.engine.demo.session import DemoSession

            notes = sess.replay_notes() if isinstance(sess, DemoSession) else []
        label = self.query_one("#replay-notes", Label)
        label.update("\n".join(f"demo replay: {n}" for n in notes))
        label.set_class(bool(notes), "shown")

    # -- exact counts, kept by the kernel -------------------------------------------

    def action_exact(self) -> None:
        self._toggle_exact()

    @work(thread=True, exclusive=True, group="exact", exit_on_error=False)
    def _toggle_exact(self) -> None:
        sess = self.backend
        tfs = sess.tfs
        if tfs is None:
            self.app.call_from_thread(
                self.app.notify, "a saved trace: nothing to count in a kernel", severity="warning"
            )
            return
        try:
            if self.exact_events or self.exact_profiler:
                sess.apply(plan_counts_off(tfs, self.exact_events, self.exact_profiler))
                self.exact_events, self.exact_profiler, self.exact = [], False, None
                self.app.call_from_thread(
                    self.app.notify, "exact counts off: figures from the trace lines again"
                )
                return
            events = sorted(enabled_events(tfs))
            tracer = sess.status.tracer
            why = counts_unavailable(tfs, tracer, events)
            if why is not None:
                self.app.call_from_thread(
                    self.app.notify, f"no exact counts: {why}", severity="warning"
                )
                return
            changes = plan_counts_on(tfs, tracer, events)
            sess.apply(changes)
            self.exact_events = [
                c.rel[len("events/") : -len("/trigger")]
                for c in changes
                if c.rel.endswith("/trigger")
            ]
            self.exact_profiler = any(c.rel == "function_profile_enabled" for c in changes)
        except FtopError as e:
            self.app.call_from_thread(
                self.app.notify, str(e).splitlines()[0], title="Refused", severity="error"
            )
            return
        what = []
        if self.exact_profiler:
            what.append("the function profiler")
        if self.exact_events:
            what.append(f"hist triggers on {plural(len(self.exact_events), 'event')}")
        self.app.call_from_thread(
            self.app.notify, "counting in the kernel: " + " and ".join(what), title="Exact counts"
        )

    @work(thread=True, exclusive=True, group="exact-read", exit_on_error=False)
    def _read_exact(self) -> None:
        tfs = self.backend.tfs
        if tfs is None:
            return
        self.exact = read_counts(tfs, self.exact_events, self.exact_profiler)

    def _update_cpus(self, info: StatusInfo) -> None:
        table = self.query_one("#cpu-table", DataTable)
        snap = info.snap
        cpus = sorted(set(snap.cpu_rates) | set(snap.lost_per_cpu) | set(info.status.cpu_stats))
        err = ThemeColors(self.app).get("error", "red")
        want = {}
        for c in cpus:
            lost = snap.lost_per_cpu.get(c)
            n = lost.total if lost is not None else 0
            entries = int(info.status.cpu_stats.get(c, {}).get("entries", 0))
            before = snap.lost_before_per_cpu.get(c, 0)
            lost_cell = Text(f"{n:,}", justify="right", style=f"bold {err}" if n else "")
            if before:
                # Lost before ftop started: the kernel's count, not this session's.
                lost_cell.append(f" (before ftop: {before:,})", style="dim")
            want[str(c)] = (
                Text(str(c)),
                Text(human(snap.cpu_rates.get(c, 0.0)), justify="right"),
                lost_cell,
                Text(f"{entries:,}", justify="right"),
            )
        have = {str(k.value) for k in table.rows}
        for key in have - set(want):
            table.remove_row(key)
        for key, cells in want.items():
            if key not in have:
                table.add_row(*cells, key=key)
            else:
                for col, cell in zip(("cpu", "rate", "lost", "entries"), cells):
                    table.update_cell(key, col, cell)

    def _focused_table(self) -> Optional[NameTable]:
        f = self.focused
        return f if isinstance(f, NameTable) else None

    def action_sort(self) -> None:
        t = self._focused_table()
        if t is None:
            return
        i = _SORT_COLUMNS.index(t.sort_by)
        t.sort_by = _SORT_COLUMNS[(i + 1) % len(_SORT_COLUMNS)]
        t.reverse = t.sort_by != "name"
        t.apply_sort()
        self.app.notify(f"sorted by {t.sort_by}", timeout=1.5)

    def action_reverse(self) -> None:
        t = self._focused_table()
        if t is not None:
            t.reverse = not t.reverse
            t.apply_sort()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        t = event.data_table
        if isinstance(t, NameTable):
            key = str(event.column_key.value)
            if t.sort_by == key:
                t.reverse = not t.reverse
            else:
                t.sort_by, t.reverse = key, key != "name"
            t.apply_sort()

    def action_drill(self) -> None:
        t = self._focused_table()
        if t is None:
            return
        name = t.current_name()
        if name:
            prefix = "ev" if t.kind == "event" else "fn"
            self.ftop.filter_live(f"{prefix}:{name}")

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, NameTable):
            self.action_drill()


register_screen(
    ScreenSpec(
        S, "Dashboard", "3", DashboardScreen, "rates, loss, top events and functions", order=30
    )
)
