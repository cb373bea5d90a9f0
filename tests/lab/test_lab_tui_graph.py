"""The function_graph view on the real 6.1-rt kernel: the call tree built from the lines
trace_pipe delivered, and 'f' on a node really setting set_graph_function; quit restores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engine_lab import kernel_reads, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change
from ftop.engine.ftrace.filter import (
    parse_filter,
    plan_clear,
    plan_ftrace_pid,
    plan_max_graph_depth,
    plan_set,
)
from ftop.engine.ftrace.options import plan_option
from ftop.engine.stream.graph import CallGraph
from ftop.tui.screens.graph import GraphScreen
from tui_lab import SIZE, lab_app, quit_app, show, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


async def test_graph_tree_from_real_lines_and_f_sets_set_graph_function(
    session: Session, tmp_path: Path
) -> None:
    session.apply(
        [
            # Whatever an earlier test left must not hide vfs_read (restored at the end).
            Change("tracing_on", "1"),
            *plan_clear("set_ftrace_filter"),
            *plan_clear("set_ftrace_notrace"),
            *plan_clear("set_graph_notrace"),
            *plan_set("set_graph_function", ["vfs_read"]),
            plan_ftrace_pid([os.getpid()]),  # this thread only: the reader is not traced
            plan_max_graph_depth(3),
            plan_option("funcgraph-proc", True),
            Change("current_tracer", "function_graph"),
        ]
    )
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: GraphScreen = await show(app, pilot, "6", GraphScreen)
        kernel_reads(10)
        await until(pilot, lambda: any(n.name == "vfs_read" for n in screen.calls.rows))
        # The tree is the engine's, fed the very lines the ring holds.
        await until(pilot, lambda: screen.seq == session.ring.next_seq and not screen.feeding)
        ref = CallGraph("cpu")
        ref.feed_lines(session.ring.window(session.ring.first_seq, len(session.ring)))
        assert screen.graph.lines == ref.lines > 0
        assert screen.graph.nodes == ref.nodes
        vr = [n for n in ref.find(("vfs_read",))]
        mine = [n for n in screen.graph.find(("vfs_read",))]
        assert sum(n.count for n in mine) == sum(n.count for n in vr) >= 10
        assert max(n.depth for r in screen.graph.roots.values() for n in r.walk()) <= 2
        # Per task: our own comm-pid root.
        await pilot.press("g")
        await until(pilot, lambda: screen.graph.group_by == "task" and screen.graph.lines > 0)
        roots = [r.name for r in screen.graph.sorted_roots()]
        assert any(name.endswith(f"-{os.getpid()}") for name in roots), roots
        # A callee of vfs_read becomes the graph filter.
        callee = next(
            n for n in screen.calls.rows if n.parent is not None and n.parent.name == "vfs_read"
        )
        screen.calls.move_to(screen.calls.rows.index(callee))
        await pilot.press("f")
        want = callee.name.split(" ", 1)[0]
        await until(
            pilot,
            lambda: parse_filter(raw("set_graph_function"), "set_graph_function").names == [want],
        )
        await quit_app(app, pilot, session)
