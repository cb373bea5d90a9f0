"""function_graph call tree from the real 6.1-rt kernel's graph stream (ftop.engine.stream.graph)."""

from __future__ import annotations

import pytest
from engine_lab import kernel_reads, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change
from ftop.engine.ftrace.filter import plan_max_graph_depth, plan_set
from ftop.engine.ftrace.options import plan_option
from ftop.engine.stream.graph import CallGraph

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]


def test_graph_tree_of_vfs_read_per_task(session: Session) -> None:
    session.apply(
        [
            *plan_set("set_graph_function", ["vfs_read"]),
            plan_max_graph_depth(4),
            plan_option("funcgraph-proc", True),
            plan_option("funcgraph-tail", True),
            Change("trace", ""),
            Change("current_tracer", "function_graph"),
        ]
    )
    kernel_reads(10)
    session.set_tracing_on(False)
    text = raw("trace")
    g = CallGraph(group_by="task")
    g.feed_lines(text.splitlines())
    assert g.lines > 0
    tops = {c.name for r in g.roots.values() for c in r.children}
    assert "vfs_read" in tops
    deepest = max(n.depth for r in g.roots.values() for n in r.walk())
    assert deepest <= 3  # max_graph_depth 4: depths 0..3
    ours = [
        r for (kind, pid), r in g.roots.items() if kind == "task" and r.name.startswith("python")
    ]
    assert ours, [r.name for r in g.roots.values()]
    vr = ours[0].get("vfs_read")
    assert vr is not None and vr.count >= 10 and vr.total_us > 0
    assert vr.total_us >= vr.self_us >= 0
    assert g.slowest()
