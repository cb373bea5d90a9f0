"""The latency view on the real 6.1-rt kernel: wakeup_rt chosen from the screen, the
max-latency report's header (latency, task, CPU, priority) and stack parsed, the history of
maxima, reset and tracing_thresh; quit restores."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from engine_lab import raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.tui.screens.latency import LatencyScreen
from ftop.tui.screens.tracers import TracersScreen
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChoiceDialog, fmt_us
from textual.widgets import DataTable
from tui_lab import SIZE, lab_app, quit_app, show, text_of, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


async def test_latency_screen_parses_the_wakeup_rt_report_and_quit_restores(
    session: Session, tmp_path: Path
) -> None:
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: LatencyScreen = await show(app, pilot, "8", LatencyScreen)
        await until(pilot, lambda: screen.loaded)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        key = next(k for k, v in app.screen.choices if v == "wakeup_rt")  # type: ignore[attr-defined]
        await pilot.press(key)
        await until(pilot, lambda: raw("current_tracer").strip() == "wakeup_rt")
        assert raw("options/function-trace").strip() == "0"
        for _ in range(5):
            subprocess.run(["chrt", "-f", "50", "sleep", "0.01"], check=True, timeout=20)
        app.poll_now()
        await until(pilot, lambda: screen.report is not None and screen.monitor.history)
        rep = screen.report
        assert rep is not None and rep.tracer == "wakeup_rt" and rep.latency_us
        assert rep.task_comm and rep.task_pid and rep.cpu is not None
        assert rep.policy is not None and rep.rt_prio is not None
        assert rep.preempt_model == "preempt_rt" and rep.stacks and rep.stacks[0]
        header = text_of(screen.query_one("#header"))
        assert f"latency {rep.latency_us:,} us" in header
        assert f"{rep.task_comm}-{rep.task_pid}" in header
        stack = text_of(screen.query_one("#stack"))
        assert rep.stacks[0][0] in stack
        # Every row of the history is a maximum that was seen, the last one shown.
        table = screen.query_one("#history", DataTable)
        assert table.row_count == len(screen.monitor.history) >= 1
        last = screen.monitor.history[-1]
        assert str(table.get_row_at(table.row_count - 1)[1]) == fmt_us(last.latency_us)
        assert int(raw("tracing_max_latency")) >= last.latency_us

        # Reset with no latency tracer running (it would record again at once).
        tracers: TracersScreen = await show(app, pilot, "4", TracersScreen)
        await until(pilot, lambda: tracers.tracer_list.rows)
        rows = tracers.tracer_list.rows
        tracers.tracer_list.move_to(next(i for i, r in enumerate(rows) if r.name == "nop"))
        await pilot.press("enter")
        await until(pilot, lambda: raw("current_tracer").strip() == "nop")
        await show(app, pilot, "8", LatencyScreen)
        await pilot.press("r")
        await until(pilot, lambda: raw("tracing_max_latency").strip() == "0")
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        app.screen.query_one("#value").value = "100"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: raw("tracing_thresh").strip() == "100")
        await quit_app(app, pilot, session)
