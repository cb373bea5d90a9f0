"""The latency view: tracing_max_latency live, the max-latency report parsed, new maxima kept.

For the wakeup, wakeup_rt and wakeup_dl tracers (and irqsoff/preemptoff where
the kernel has them). Each status poll reads ``tracing_max_latency``; when it
rises, the engine's :class:`~ftop.engine.ftrace.latency.LatencyMonitor` reads and
parses the report in ``trace`` (on a worker; it stops recording for the read
so the reader does not trace itself). ``r`` resets the maximum, ``h`` sets
``tracing_thresh``, ``t`` switches to a latency tracer.
"""

from __future__ import annotations

import time
from typing import Iterable, List, Optional, Tuple

from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError, FtopError
from ftop.engine.ftrace.latency import (
    LATENCY_TRACERS,
    LatencyMax,
    LatencyMonitor,
    plan_reset_max,
    plan_thresh,
    read_max_latency,
    read_thresh,
)
from ftop.engine.ftrace.options import plan_option
from ftop.engine.stream.parse import LatencyTrace
from ftop.tui.registry import ScreenSpec, bindings_for, command, commands_for, register_screen
from ftop.tui.screens.saved_trace import SavedTraceNote, is_saved_trace, saved_trace_allows
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors, noun, plural
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChangesMixin, ChoiceDialog, fmt_us
from ftop.tui.widgets.printable import printable, shown
from rich.text import Text
from textual import on, work
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Label, Static

__all__ = ["LatencyScreen"]

S = "latency"
command(
    "latency.tracer",
    "t",
    "choose_tracer",
    "Tracer",
    "switch to a latency tracer (wakeup, wakeup_rt...)",
)
command("latency.reset", "r", "reset", "Reset max", "reset tracing_max_latency: measure afresh")
command(
    "latency.thresh", "h", "edit_thresh", "Thresh", "set tracing_thresh (us; 0: only new maxima)"
)
command(
    "latency.show", "enter", "show_entry", "Show", "show that maximum's report", key_display="⏎"
)


def _entries(shown: int, total: Optional[int]) -> str:
    """The report header's ``#shown/total``, in words: "12 of 1,024 entries shown"."""
    if total is None:
        return f"{plural(shown, 'entry', 'entries')} shown"
    return f"{shown:,} of {plural(total, 'entry', 'entries')} shown"


_POLICIES = {0: "normal", 1: "FIFO", 2: "RR", 3: "batch", 5: "idle", 6: "deadline"}


_OWN_ACTIONS = tuple(c.action for c in commands_for(S))


class LatencyScreen(ChangesMixin, FtopScreen):
    """tracing_max_latency, its report and the maxima seen while ftop runs."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    LatencyScreen #top { height: 1fr; }
    LatencyScreen #header { width: 1fr; padding: 0 1; background: $surface; }
    LatencyScreen #stack-box { width: 1fr; border-left: vkey $panel; }
    LatencyScreen .caption { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    LatencyScreen #stack { height: 1fr; padding: 0 1; background: $surface; }
    LatencyScreen #history { height: 8; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.monitor = LatencyMonitor(fetch_reports=True, limit=200)
        self.max_us: Optional[int] = None
        self.thresh: Optional[int] = None
        self.tracer = "?"
        self.available: List[str] = []
        self.shown: Optional[LatencyMax] = None
        self.report: Optional[LatencyTrace] = None
        self.loaded = False
        self.polling = False
        self.has_function_trace = False
        self.started_at = time.time()  # set again at mount, from the app's clock

    def compose_body(self) -> Iterable[Widget]:
        if is_saved_trace(self.backend):
            yield SavedTraceNote(self.backend, "the latency tracers' maximum and its report")
            return
        yield Horizontal(
            Static(id="header"),
            Vertical(
                Label("stack of the maximum", classes="caption"), Static(id="stack"), id="stack-box"
            ),
            id="top",
        )
        yield Label("new maxima seen while ftop runs", classes="caption", id="history-caption")
        table: DataTable[object] = DataTable(id="history", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        if is_saved_trace(self.backend):
            return  # nothing to read: the note says why
        table = self.query_one("#history", DataTable)
        table.add_column("seen", key="seen", width=8)
        table.add_column("latency", key="lat", width=9)
        table.add_column("tracer", key="tracer", width=10)
        table.add_column("task", key="task")
        table.add_column("cpu", key="cpu", width=4)
        table.add_column("prio", key="prio")
        self.ftop.status_signal.subscribe(self, self.on_status)
        self.started_at = self.ftop.clock()
        table.focus()
        self.poll()

    def check_action(self, action: str, parameters: Tuple[object, ...]) -> Optional[bool]:
        # Over a saved trace every key of this screen would be refused: not offered.
        if not saved_trace_allows(self.backend, action, _OWN_ACTIONS):
            return False
        return super().check_action(action, parameters)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.loaded:
            self.poll()

    # -- polling (worker) -------------------------------------------------------------

    def on_status(self, info: StatusInfo) -> None:
        if self.is_active:
            self.poll()

    def poll(self) -> None:
        if not self.polling:
            self.polling = True
            self._poll()

    @work(thread=True, exclusive=True, group="latency-poll", exit_on_error=False)
    def _poll(self) -> None:
        sess = self.backend
        tfs = self.tracefs
        try:
            available = [t for t in LATENCY_TRACERS if t in sess.caps.tracers]
            tracer = (tfs.read_or("current_tracer") or "?").strip()
            new: Optional[LatencyMax] = None
            if tracer in LATENCY_TRACERS:
                new = self.monitor.poll(tfs, now=self.ftop.clock())
            max_us = read_max_latency(tfs)
            thresh = read_thresh(tfs)
            self.has_function_trace = tfs.exists("options/function-trace")
        except FtopError as e:
            self.app.call_from_thread(self.app.notify, str(e), severity="error")
            return
        finally:
            self.polling = False
        self.app.call_from_thread(self._polled, tracer, available, max_us, thresh, new)

    def _polled(
        self,
        tracer: str,
        available: List[str],
        max_us: Optional[int],
        thresh: Optional[int],
        new: Optional[LatencyMax],
    ) -> None:
        self.loaded = True
        self.tracer, self.available, self.max_us, self.thresh = tracer, available, max_us, thresh
        if new is not None:
            self.add_history(new)
            if new.report is not None:
                self.shown = new
                self.report = new.report
        self.update_header()
        self.update_stack()

    # -- display --------------------------------------------------------------------------

    def add_history(self, entry: LatencyMax) -> None:
        table = self.query_one("#history", DataTable)
        rep = entry.report
        task = f"{rep.task_comm}-{rep.task_pid}" if rep and rep.task_comm else ""
        prio = _prio(rep) if rep else ""
        cpu = str(rep.cpu) if rep and rep.cpu is not None else ""
        key = str(len(self.monitor.history))
        table.add_row(
            _since(entry.seen_at - self.started_at),
            Text(fmt_us(entry.latency_us), justify="right", style="bold"),
            entry.tracer,
            shown(task),
            cpu,
            prio,
            key=key,
        )
        table.move_cursor(row=table.row_count - 1)

    def update_header(self) -> None:
        tv = ThemeColors(self.app)
        muted = tv.get("foreground-muted", "")
        accent = tv.get("accent", "yellow")
        t = Text()
        t.append("tracer ", style=muted)
        t.append(self.tracer, style=f"bold {tv.get('primary', 'blue')}")
        if self.tracer not in LATENCY_TRACERS:
            t.append("  (not a latency tracer)\n", style=muted)
            if self.available:
                t.append("t", style="bold")
                t.append(" switches to " + ", ".join(self.available) + "\n", style=muted)
            else:
                t.append("this kernel has no latency tracer\n", style=muted)
        else:
            t.append("\n")
        t.append("tracing_max_latency ", style=muted)
        if self.max_us is None:
            t.append("(not in this kernel)\n")
        elif self.max_us == 0:
            t.append("0", style="bold")
            t.append("  (nothing measured yet)\n", style=muted)
        else:
            t.append(f"{self.max_us:,} us", style=f"bold {accent}")
            t.append(f"  ({fmt_us(self.max_us)})\n", style=muted)
        t.append("tracing_thresh ", style=muted)
        t.append("off (0)" if not self.thresh else f"{self.thresh:,} us")
        t.append("\n\n")
        rep = self.report
        if rep is None:
            t.append("no max-latency report yet", style=muted)
        else:
            if self.shown is not None and self.shown is not self.monitor.history[-1:][0]:
                t.append("(an earlier maximum)\n", style=muted)
            t.append("latency ", style=muted)
            t.append(f"{rep.latency_us or 0:,} us", style=f"bold {accent}")
            if rep.entries_shown is not None:
                t.append(f"  {_entries(rep.entries_shown, rep.entries_total)}", style=muted)
            t.append("\ntask    ", style=muted)
            t.append(
                printable(f"{rep.task_comm}-{rep.task_pid}") if rep.task_comm else "?", style="bold"
            )
            t.append("\ncpu     ", style=muted)
            t.append("?" if rep.cpu is None else str(rep.cpu))
            t.append("\nprio    ", style=muted)
            t.append(_prio(rep) or "?")
            if rep.preempt_model:
                t.append("\nmodel   ", style=muted)
                t.append(
                    f"{rep.preempt_model}"
                    + (f", {plural(rep.online_cpus, 'CPU')}" if rep.online_cpus else "")
                )
            if rep.started_at:
                t.append(f"\nfrom    {rep.started_at}\nto      {rep.ended_at}", style=muted)
        self.query_one("#header", Static).update(t)

    def update_stack(self) -> None:
        tv = ThemeColors(self.app)
        t = Text()
        rep = self.report
        if rep is None or not rep.stacks:
            t.append("(no stack in the report)", style=tv.get("foreground-muted", ""))
        else:
            for frame in rep.stacks[0]:
                t.append(" => ", style=tv.get("foreground-muted", ""))
                t.append(printable(frame) + "\n")
            if len(rep.stacks) > 1:
                t.append(
                    f"\n({len(rep.stacks) - 1} more {noun(len(rep.stacks) - 1, 'stack')}"
                    " in the report)",
                    style=tv.get("foreground-muted", ""),
                )
        self.query_one("#stack", Static).update(t)

    @on(DataTable.RowSelected, "#history")
    def _selected(self, event: DataTable.RowSelected) -> None:
        # Enter on the table is the table's own binding: it arrives as RowSelected.
        self.action_show_entry()

    def action_show_entry(self) -> None:
        table = self.query_one("#history", DataTable)
        if not table.row_count:
            return
        i = table.cursor_row
        hist = self.monitor.history
        if 0 <= i < len(hist) and hist[i].report is not None:
            self.shown = hist[i]
            self.report = hist[i].report
            self.update_header()
            self.update_stack()

    # -- actions ----------------------------------------------------------------------------

    def _after(self) -> None:
        self.poll()

    def action_reset(self) -> None:
        if self.max_us is None:
            self.app.notify("tracing_max_latency is not in this kernel", severity="warning")
            return
        self.apply_changes([plan_reset_max()], "reset tracing_max_latency", self._after)

    def action_edit_thresh(self) -> None:
        if self.thresh is None:
            self.app.notify("tracing_thresh is not in this kernel", severity="warning")
            return
        sess = self.backend

        def submit(value: str) -> None:
            v = value.strip()
            if not v.isdigit():
                raise ConfigError(f"tracing_thresh: microseconds, 0 or more (got '{v}')")
            sess.apply([plan_thresh(int(v))])

        self.app.push_screen(
            EditDialog(
                "tracing_thresh (us)",
                str(self.thresh),
                submit,
                hints=["record every latency above this, not only new maxima; 0: off"],
            ),
            lambda _: self.poll(),
        )

    def action_choose_tracer(self) -> None:
        if not self.available:
            self.app.notify("this kernel has no latency tracer", severity="warning")
            return
        keys = "abcdef"
        choices = [(keys[i], t) for i, t in enumerate(self.available[: len(keys)])]
        body = Text(
            "The tracer records the worst latency it sees in tracing_max_latency and "
            "keeps that case's trace. function-trace (tracing every function in the "
            "window too) is switched off with it: it is costly, and reading the report "
            "would trace itself."
        )

        def answer(key: Optional[str]) -> None:
            tracer = dict(choices).get(key or "")
            if tracer:
                changes = [
                    plan_option("function-trace", False),
                    Change("current_tracer", tracer, describe=f"current_tracer {tracer}"),
                ]
                if not self.has_function_trace:
                    changes = changes[1:]
                self.apply_changes(changes, f"tracer {tracer}", self._after)

        self.app.push_screen(ChoiceDialog("Latency tracer", body, choices), answer)


def _since(seconds: float) -> str:
    """When a maximum was seen, from the screen's start: ``+0s``, ``+2m05s``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"+{s}s"
    if s < 3600:
        return f"+{s // 60}m{s % 60:02d}s"
    return f"+{s // 3600}h{s % 3600 // 60:02d}m"


def _prio(rep: LatencyTrace) -> str:
    parts = []
    if rep.policy is not None:
        parts.append(_POLICIES.get(rep.policy, f"policy {rep.policy}"))
    if rep.rt_prio:
        parts.append(f"rt_prio {rep.rt_prio}")
    elif rep.nice is not None:
        parts.append(f"nice {rep.nice}")
    return " ".join(parts)


register_screen(
    ScreenSpec(
        S,
        "Latency",
        "8",
        LatencyScreen,
        "wakeup/wakeup_rt/wakeup_dl: max latency, its report and stack, new maxima",
        order=80,
    )
)
