"""The function_graph call tree (ftop.engine.stream.graph), on real 6.1-rt graph traces."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from captures import lab_text
from ftop.engine.stream.graph import (
    BREAK_LOST,
    BREAK_SWITCH,
    BREAKS,
    UNKNOWN,
    CallGraph,
    CallNode,
    TreeFeed,
    flatten,
    is_function,
)
from ftop.engine.stream.ring import Ring

DEMO_GRAPH = (
    Path(__file__).resolve().parents[2] / "engine" / "demo" / "data" / "trace-function_graph.txt.gz"
)


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

    def shape(g: CallGraph) -> List[Tuple[Any, ...]]:
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


# -- breaks: LOST markers and task switches (issue 10) ----------------------------------------

# A trace that begins inside p9 calls, loses events, and goes on in a later call whose
# callers are again unknown. Before the fix the unknown callers of both stretches were one
# shared ``?`` chain, which the second stretch's funcgraph-tail comment then named:
# ``p9_req_put -> p9_client_prepare_req``, as the demo's capture showed.
ACROSS_LOST = """\
 0)   1.000 us    |          pdu_write();
 0)   9.000 us    |        } /* p9_client_prepare_req */
CPU:0 [LOST 10 EVENTS]
 0)   2.000 us    |          kmem_cache_free();
 0)  20.000 us    |        } /* kfree */
 0)  30.000 us    |      } /* p9_req_put */
"""

ACROSS_SWITCH = """\
 0)   1.000 us    |          pdu_write();
 0)   9.000 us    |        } /* p9_client_prepare_req */
 ------------------------------------------
 0)    cat-187     =>    cat-188
 ------------------------------------------
 0)   2.000 us    |          kmem_cache_free();
 0)  20.000 us    |        } /* kfree */
 0)  30.000 us    |      } /* p9_req_put */
"""


def callers_of(g: CallGraph, name: str) -> List[Tuple[Any, ...]]:
    return [n.path() for r in g.roots.values() for n in r.walk() if n.name == name]


@pytest.mark.parametrize(
    ("text", "mark"), [(ACROSS_LOST, BREAK_LOST), (ACROSS_SWITCH, BREAK_SWITCH)]
)
def test_the_tree_breaks_at_lost_markers_and_task_switches(text: str, mark: str) -> None:
    g = CallGraph("cpu")
    g.feed_lines(text.splitlines())
    # Nothing of the first stretch hangs under a caller named by the second one.
    for node in (n for r in g.roots.values() for n in r.walk()):
        if node.name in ("p9_req_put", "kfree"):
            assert node.get("p9_client_prepare_req") is None, node.path()
    before = callers_of(g, "p9_client_prepare_req")
    assert before and all(mark not in p for p in before)
    # What follows the break hangs under a marked break node.
    root = g.roots[("cpu", 0)]
    brk = root.get(mark)
    assert brk is not None and brk.count == 1
    after = callers_of(g, "kmem_cache_free")
    assert after and all(p[0] == mark for p in after), after
    assert [p[-3:] for p in after] == [("p9_req_put", "kfree", "kmem_cache_free")]
    assert not is_function(brk)


def test_a_switch_back_to_a_known_stack_is_no_break() -> None:
    g = CallGraph(group_by="cpu")
    g.feed_lines(SWITCH.splitlines())
    assert all(n.name not in BREAKS for r in g.roots.values() for n in r.walk())
    vr = g.find(("vfs_read",))
    assert vr and vr[0].total_us == pytest.approx(510.0) and vr[0].self_known


def test_a_call_whose_entry_is_not_in_the_trace_has_an_unknown_self_time() -> None:
    g = CallGraph()
    g.feed_lines(MID_CALL.splitlines())
    root = g.roots[("cpu", 1)]
    named = g.find(("?", "?", "hrtimer_interrupt"))[0]
    assert named.count == 1 and not named.self_known  # not 0.0 us: unknown
    inner = named.get(UNKNOWN)
    assert inner is not None and not inner.self_known
    vr = root.get("vfs_read")
    assert vr is not None and vr.self_known and vr.self_us == pytest.approx(4.0)
    read_hpet = inner.get("read_hpet")
    assert read_hpet is not None and read_hpet.self_known  # a leaf: all its own time
    # An exit with no open call at all (the trace began in it).
    g2 = CallGraph()
    g2.feed_lines([" 0) + 12.000 us   |  } /* vfs_write */"])
    vw = g2.find(("vfs_write",))[0]
    assert vw.count == 1 and vw.total_us == pytest.approx(12.0) and not vw.self_known


def test_an_unknown_caller_is_never_the_slowest_call() -> None:
    lines = [
        " 0) ! 999.000 us  |  }",  # the exit of a call whose name the trace never gave
        " 0)               |  vfs_read() {",
        " 0)   1.000 us    |    rw_verify_area();",
        " 0)   5.000 us    |  }",
    ]
    g = CallGraph()
    g.feed_lines(lines)
    unknown = g.roots[("cpu", 0)].get(UNKNOWN)
    assert unknown is not None and unknown.max_us == pytest.approx(999.0)
    marked = g.mark_slowest(1)
    assert [n.name for n in marked] == ["vfs_read"] and not unknown.slow
    assert [s.path for s in g.slowest()] == [("vfs_read",), ("vfs_read", "rw_verify_area")]


def test_the_demo_capture_has_no_cross_break_joins_and_counts_its_nodes() -> None:
    """The demo's function_graph capture (LOST markers, ``=>`` switches) fed three times:
    ``p9_req_put -> p9_client_prepare_req`` is gone, and ``nodes`` is the number of call
    paths (merging unknown callers used to leave it growing with every repeat)."""
    with gzip.open(DEMO_GRAPH, "rt") as f:
        lines = f.read().splitlines()
    g = CallGraph()
    g.feed_lines(lines * 3)
    paths = [n for r in g.roots.values() for n in r.walk() if n.parent is not None]
    assert g.nodes == len(paths)
    once = CallGraph()
    once.feed_lines(lines)
    assert g.nodes <= once.nodes * 1.5  # bounded by distinct paths, not by repeats
    for n in paths:
        if n.name.startswith("p9_req_put"):
            assert not any(c.name.startswith("p9_client_prepare_req") for c in n.children)
    assert any(n.name == BREAK_LOST for n in paths) and any(n.name == BREAK_SWITCH for n in paths)


def test_tree_feed_reads_the_ring_a_slice_at_a_time() -> None:
    lines = lab_text("function_graph.default.trace_pipe.txt").splitlines()
    ring = Ring(max_entries=len(lines))
    ring.extend(lines)
    feed = TreeFeed(CallGraph(), ring)
    assert feed.pending() == len(lines)
    steps = 0
    while feed.step(100):
        steps += 1
    assert steps == -(-len(lines) // 100) and feed.pending() == 0
    whole = CallGraph()
    whole.feed_lines(lines)
    assert feed.graph.lines == whole.lines and feed.graph.nodes == whole.nodes
    # Lines evicted before they were read are counted, not fed.
    small = Ring(max_entries=50)
    late = TreeFeed(CallGraph(), small)
    small.extend(lines[:200])
    assert late.step(1000) == 50 and late.skipped == 150
    small.extend(lines[200:210])
    assert late.skip_to_end() == 10 and late.pending() == 0


def test_every_call_after_a_break_hangs_under_it_until_the_task_is_back_at_the_top() -> None:
    """Exits right after a LOST marker push no frame: each one, not only the first,
    goes under the break, and the break counts once."""
    lines = [
        " 0)               |  vfs_read() {",
        "CPU:0 [LOST 5 EVENTS]",
        " 0)   2.077 us    |              } /* check_spread */",
        " 0) + 12.240 us   |            } /* put_prev_entity */",
        " 0) + 16.334 us   |          } /* put_prev_task_fair */",
        " 0)               |          pick_next_task_idle() {",
        " 0)   1.000 us    |            put_prev_task_idle();",
        " 0)   3.000 us    |          }",
        " 0)               |  vfs_write() {",
        " 0)   4.000 us    |  }",
    ]
    g = CallGraph()
    g.feed_lines(lines)
    root = g.roots[("cpu", 0)]
    brk = root.get(BREAK_LOST)
    assert brk is not None and brk.count == 1
    for name in ("check_spread", "put_prev_entity", "put_prev_task_fair", "pick_next_task_idle"):
        paths = callers_of(g, name)
        assert paths and all(p[0] == BREAK_LOST for p in paths), (name, paths)
    assert [c.name for c in root.children] == ["vfs_read", BREAK_LOST, "vfs_write"]
