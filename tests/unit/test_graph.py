"""The function_graph call tree (ftop.engine.stream.graph), on real 6.1-rt graph traces."""

from __future__ import annotations

import re
from typing import List

import pytest
from captures import lab_text
from ftop.engine.stream.graph import UNKNOWN, CallGraph, CallNode, flatten


def check_times(node: CallNode) -> None:
    """total = self + callees' total, for every node whose calls all completed."""
    for n in node.walk():
        if n.parent is None or n.partial or n.open:
            continue
        if any(c.partial or c.open for c in n.children):
            continue
        kids = sum(c.total_us for c in n.children)
        assert n.total_us == pytest.approx(n.self_us + kids, abs=0.01 * n.count + 1e-6), n.path()
        assert n.max_us <= n.total_us + 1e-9


# -- real traces -----------------------------------------------------------------------------


def test_default_graph_of_vfs_read() -> None:
    """set_graph_function vfs_read: every root child is vfs_read, counted per top-level call."""
    lines = lab_text("function_graph.default.trace.txt").splitlines()
    g = CallGraph()
    g.feed_lines(lines)
    assert g.roots and all(k[0] == "cpu" for k in g.roots)
    top = [c for r in g.roots.values() for c in r.children if c.name != UNKNOWN]
    assert {c.name for c in top} == {"vfs_read"}
    entries = sum(1 for ln in lines if re.search(r"\|  vfs_read\(\) \{$", ln))
    completed = sum(c.count for c in top)
    open_ = sum(c.open for c in top)
    assert completed + open_ == entries
    for r in g.roots.values():
        check_times(r)
    # Durations are real: the slowest call recorded is the largest top-level duration.
    slow = g.slowest()
    assert slow and slow[0].duration_us == max(c.max_us for c in top)
    assert slow == sorted(slow, key=lambda s: s.duration_us, reverse=True)


def test_proc_columns_give_task_roots() -> None:
    lines = lab_text("function_graph.funcgraph-proc.trace.txt").splitlines()
    g = CallGraph(group_by="task")
    g.feed_lines(lines)
    assert g.roots and all(k[0] == "task" for k in g.roots)
    names = {r.name for r in g.roots.values()}
    assert all(re.fullmatch(r".+-\d+", n) for n in names), names
    for r in g.roots.values():
        check_times(r)


def test_abstime_and_filter_variants_build_trees() -> None:
    for name in (
        "function_graph.funcgraph-abstime.trace.txt",
        "function_graph.filter-vfs.trace.txt",
    ):
        g = CallGraph()
        g.feed_lines(lab_text(name).splitlines())
        assert g.nodes > 0 and g.lines > 0, name
        for r in g.roots.values():
            check_times(r)


def test_filter_vfs_every_completed_call_is_counted() -> None:
    """set_ftrace_filter vfs_*: each leaf line and each closing brace completes one call."""
    lines = lab_text("function_graph.filter-vfs.trace.txt").splitlines()
    leaves = sum(1 for ln in lines if re.search(r"\|\s+vfs_\w+\(\);$", ln))
    exits = sum(1 for ln in lines if re.search(r"\|\s+\}", ln))
    g = CallGraph()
    g.feed_lines(lines)
    counted = sum(n.count for r in g.roots.values() for n in r.walk() if n.parent is not None)
    assert leaves > 0 and counted == leaves + exits
    assert g.lost_events == 0


def test_trace_pipe_batches_equal_one_feed() -> None:
    """Incremental: the same lines fed in odd-sized batches give the same tree."""
    lines = lab_text("function_graph.default.trace_pipe.txt").splitlines()
    whole = CallGraph()
    whole.feed_lines(lines)
    parts = CallGraph()
    for i in range(0, len(lines), 37):
        parts.feed_lines(lines[i : i + 37])

    def shape(g: CallGraph) -> List[tuple]:
        return [
            (n.path(), n.count, round(n.total_us, 3), n.open)
            for r in g.sorted_roots()
            for n in r.walk()
        ]

    assert shape(whole) == shape(parts)


# -- the stream as it comes --------------------------------------------------------------------

MID_CALL = """\
 1)   2.737 us    |          read_hpet();
 1)   7.162 us    |        }
 1)   1.560 us    |        _raw_spin_unlock_irqrestore();
 1) + 21.143 us   |      } /* hrtimer_interrupt */
 1)               |  vfs_read() {
 1)   1.000 us    |    rw_verify_area();
 1)   5.000 us    |  }
"""


def test_trace_starting_mid_call() -> None:
    """Exits without entries: callers become placeholders, named when funcgraph-tail says."""
    g = CallGraph()
    g.feed_lines(MID_CALL.splitlines())
    root = g.roots[("cpu", 1)]
    # hrtimer_interrupt closes at depth 2: two callers the trace never showed.
    hr = root.get(UNKNOWN)
    assert hr is not None
    hr2 = hr.get(UNKNOWN)
    assert hr2 is not None
    named = hr2.get("hrtimer_interrupt")
    assert named is not None and named.count == 1 and named.total_us == pytest.approx(21.143)
    assert named.partial
    # Its unnamed callee at depth 3 kept its measured time, and its own callee.
    inner = named.get(UNKNOWN)
    assert inner is not None and inner.total_us == pytest.approx(7.162)
    assert inner.get("read_hpet") is not None
    vr = root.get("vfs_read")
    assert vr is not None and vr.count == 1 and vr.self_us == pytest.approx(4.0)
    assert not vr.partial


LOST = """\
 0)               |  vfs_read() {
 0)               |    ksys_read() {
CPU:0 [LOST 1234 EVENTS]
 0)   3.000 us    |    }
 0)               |  vfs_read() {
 0)   1.000 us    |    rw_verify_area();
 0)   4.000 us    |  }
"""


def test_lost_events_drop_open_calls() -> None:
    g = CallGraph()
    g.feed_lines(LOST.splitlines())
    assert g.lost_events == 1234
    root = g.roots[("cpu", 0)]
    vr = root.get("vfs_read")
    assert vr is not None
    assert vr.count == 1 and vr.total_us == pytest.approx(4.0) and vr.partial
    assert g.orphan_exits == 1  # the 3 us exit is not paired with ksys_read's lost context
    ks = vr.get("ksys_read")
    assert ks is not None and ks.count == 0 and ks.open == 0


SWITCH = """\
 0)               |  vfs_read() {
 0)               |    schedule() {
 ------------------------------------------
 0)   python-147   =>    cat-150
 ------------------------------------------

 0)               |  vfs_write() {
 0)   2.000 us    |  }
 ------------------------------------------
 0)    cat-150     =>   python-147
 ------------------------------------------

 0) ! 500.000 us  |    }
 0) ! 510.000 us  |  }
"""


def test_context_switch_keeps_each_task_own_stack() -> None:
    g = CallGraph(group_by="task")
    g.feed_lines(SWITCH.splitlines())
    assert g.orphan_exits == 0
    py = g.roots[("task", 147)]
    cat = g.roots[("task", 150)]
    assert cat.name == "cat-150"
    vr = py.get("vfs_read")
    assert vr is not None and vr.count == 1 and vr.total_us == pytest.approx(510.0)
    sched = vr.get("schedule")
    assert sched is not None and sched.total_us == pytest.approx(500.0)
    assert vr.self_us == pytest.approx(10.0)
    vw = cat.get("vfs_write")
    assert vw is not None and vw.count == 1


def test_mark_slowest_and_flatten() -> None:
    g = CallGraph()
    g.feed_lines(MID_CALL.splitlines() + SWITCH.splitlines())
    marked = g.mark_slowest(2)
    assert [n.max_us for n in marked] == sorted((n.max_us for n in marked), reverse=True)
    assert all(n.slow for n in marked)
    root = g.roots[("cpu", 1)]
    closed = flatten(root, lambda n: False)
    assert closed == root.children
    opened = flatten(root, lambda n: True, key=lambda n: n.total_us)
    assert len(opened) == sum(1 for _ in root.walk()) - 1
    assert opened[0] is max(root.children, key=lambda n: n.total_us)


def test_node_cap_folds_new_paths() -> None:
    g = CallGraph(max_nodes=2)
    g.feed_lines(MID_CALL.splitlines())
    assert g.nodes == 2 and g.dropped > 0
