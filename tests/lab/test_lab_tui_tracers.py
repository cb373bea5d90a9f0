"""The tracers screen on the real 6.1-rt kernel: the list is available_tracers, a switch with
staged options reaches the kernel as one transaction while trace_pipe streams, the unfiltered
function tracer asks first, and quitting puts everything back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engine_lab import kernel_reads, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change
from ftop.engine.ftrace.filter import plan_clear, plan_ftrace_pid, plan_set
from ftop.engine.stream.parse import parse_line
from ftop.tui.screens.tracers import TracersScreen
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChoiceDialog
from tui_lab import SIZE, lab_app, quit_app, show, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


def cursor_to(screen: TracersScreen, name: str) -> None:
    rows = screen.tracer_list.rows
    screen.tracer_list.move_to(next(i for i, r in enumerate(rows) if r.name == name))


async def test_tracers_screen_switches_the_kernel_with_staged_options_and_quit_restores(
    session: Session, tmp_path: Path
) -> None:
    session.apply(
        [
            # Whatever an earlier test left must not narrow or stop tracing (restored at the end).
            Change("tracing_on", "1"),
            *plan_clear("set_ftrace_filter"),
            plan_ftrace_pid([]),
            *plan_set("set_graph_function", ["vfs_read"]),
        ]
    )
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: TracersScreen = await show(app, pilot, "4", TracersScreen)
        await until(pilot, lambda: screen.loaded is not None and screen.tracer_list.rows)
        rows = {r.name: r for r in screen.tracer_list.rows}
        for name in raw("available_tracers").split():
            assert rows[name].refusal is None, (name, rows[name].refusal)
        assert [r.name for r in rows.values() if r.current] == [raw("current_tracer").strip()]

        # function with set_ftrace_filter and set_ftrace_pid empty: the screen asks
        # first; Esc keeps things as they are.
        cursor_to(screen, "function")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("escape")
        assert raw("current_tracer").strip() == "nop"

        # The graph narrowed to vfs_read in this very thread (trace_pipe's reader, another
        # thread, does not feed on itself).
        session.apply([plan_ftrace_pid([os.getpid()])])
        # Stage funcgraph-proc and max_graph_depth 2, then switch: one transaction.
        cursor_to(screen, "function_graph")
        await pilot.pause(0.2)
        await pilot.press("tab")
        names = [r.name for r in screen.option_list.rows]
        screen.option_list.move_to(names.index("funcgraph-proc"))
        await pilot.press("space")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        app.screen.query_one("#value").value = "2"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: screen.staged_depth == 2)
        assert raw("options/funcgraph-proc").strip() == "0"
        await pilot.press("enter")
        await until(pilot, lambda: raw("current_tracer").strip() == "function_graph")
        assert raw("options/funcgraph-proc").strip() == "1"
        assert raw("max_graph_depth").strip() == "2"
        # Still streaming (the session paused trace_pipe for the switch, then went on):
        # graph lines of our own reads arrive.
        await until(pilot, lambda: not screen.staged_changes())
        assert session.reader is not None and session.reader.running
        seq = session.ring.next_seq
        kernel_reads(5)

        def graph_lines_arrived() -> bool:
            kernel_reads(1)  # keep calling: a failure then cannot be one missed burst
            return any(
                parse_line(ln).kind == "graph"
                for ln in session.ring.window(seq, session.ring.next_seq - seq)
            )

        def why() -> str:
            reader = session.reader
            tail = raw("trace").splitlines()[-6:]
            # What the reader took and what its decoder made of it (a CI failure
            # once had nothing else to go on).
            took = (
                f"{reader.kind}: {getattr(reader, 'pages_read', '?')} pages read, "
                f"sampled {getattr(reader, 'sampled', '?')}, "
                f"{reader.lines_read} lines, error {reader.error!r}, decoder "
                f"{getattr(getattr(reader, '_behind', None), 'error', None)!r}"
                if reader is not None
                else "no reader"
            )
            return (
                f"ring {seq}..{session.ring.next_seq}, {took}, reader "
                f"{'running' if reader is not None and reader.running else 'stopped'}, "
                f"set_ftrace_pid {raw('set_ftrace_pid').split()}, tracing_on "
                f"{raw('tracing_on').strip()}, trace ends {tail}"
            )

        await until(pilot, graph_lines_arrived, what=why)

        cursor_to(screen, "nop")
        await pilot.press("enter")
        await until(pilot, lambda: raw("current_tracer").strip() == "nop")
        await quit_app(app, pilot, session)
    # The session fixture then checks every file these tests touch reads as before.
