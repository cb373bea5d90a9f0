"""The function_graph view on the demo kernel (the lab kernel's function_graph capture):
the tree from the stream, per CPU or task, folding, sorting, slowest calls, filters from a node."""

from __future__ import annotations

from typing import Any, List

from ftop.engine.control.transaction import Change
from ftop.engine.demo.session import DemoSession
from ftop.engine.ftrace.filter import read_filter
from ftop.engine.stream.graph import CallGraph, CallNode, flatten
from ftop.tui.screens.graph import GraphScreen, function_of
from ftrace_util import OpenScreen
from pilot_util import text_of, until


def start_graph(demo: DemoSession, lines: int = 1500) -> None:
    demo.apply([Change("current_tracer", "function_graph")])
    assert demo.pump(lines) == lines


def row_names(screen: GraphScreen) -> List[str]:
    return [n.name for n in screen.calls.rows]


def index_of(screen: GraphScreen, pred: Any) -> int:
    return next(i for i, n in enumerate(screen.calls.rows) if pred(n))


async def test_tree_is_built_from_the_streamed_graph_lines_one_root_per_cpu(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo)
    async with open_screen("graph") as (_, _, screen):
        # The same lines fed straight to the engine give the same tree.
        ref = CallGraph("cpu")
        ref.feed_lines(demo.ring.window(demo.ring.first_seq, len(demo.ring)))
        assert screen.graph.lines == ref.lines and screen.graph.nodes == ref.nodes
        roots = [r.name for r in screen.graph.sorted_roots()]
        assert roots == [r.name for r in ref.sorted_roots()] and roots[0].startswith("CPU ")
        assert screen.calls.rows[0].parent is None  # a root heads the list
        vfs = ref.find(("vfs_read",))
        assert vfs and any(n.name == "vfs_read" for n in screen.calls.rows)
        head = text_of(screen.query_one("#head"))
        assert "by CPU" in head and f"{ref.lines:,} lines" in head


async def test_new_lines_grow_the_tree_on_the_next_tick(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo, 300)
    async with open_screen("graph") as (app, pilot, screen):
        before = screen.graph.lines
        demo.pump(600)
        app._dirty.set()  # as the reader's listener does
        await until(pilot, lambda: screen.graph.lines > before)


async def test_g_regroups_per_task_from_the_ring(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo)
    async with open_screen("graph") as (_, pilot, screen):
        await pilot.press("g")
        await until(pilot, lambda: screen.graph.group_by == "task" and screen.graph.lines > 0)
        await until(pilot, lambda: "by task" in text_of(screen.query_one("#head")))
        await pilot.press("g")
        await until(pilot, lambda: screen.graph.group_by == "cpu" and screen.graph.lines > 0)


async def test_enter_left_right_fold_and_unfold(open_screen: OpenScreen, demo: DemoSession) -> None:
    start_graph(demo)
    async with open_screen("graph") as (_, pilot, screen):
        i = index_of(screen, lambda n: n.name == "vfs_read" and n.children)
        screen.calls.move_to(i)
        node = screen.calls.current
        assert node is not None
        n_open = len(screen.calls.rows)
        await pilot.press("enter")
        assert id(node) in screen.closed and len(screen.calls.rows) < n_open
        assert screen.calls.current is node
        await pilot.press("right")
        assert id(node) not in screen.closed and len(screen.calls.rows) == n_open
        await pilot.press("left")
        assert id(node) in screen.closed
        # Left on a folded node goes to its caller.
        await pilot.press("left")
        assert screen.calls.current is node.parent
        # e unfolds everything when something is folded, else folds to the top level.
        await pilot.press("e")
        assert not screen.closed and len(screen.calls.rows) == n_open
        await pilot.press("e")
        shown = screen.calls.rows
        assert all(n.parent is None or n.parent.parent is None for n in shown)
        await pilot.press("e")
        assert len(screen.calls.rows) == n_open


async def test_s_sorts_callees_and_totals_and_self_times_are_shown(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo)
    async with open_screen("graph") as (_, pilot, screen):
        await pilot.press("s")
        assert screen.sort_by == "total"
        root = screen.graph.sorted_roots()[0]
        kids = [n for n in screen.calls.rows if n.parent is root]
        assert [k.total_us for k in kids] == sorted((k.total_us for k in kids), reverse=True)
        assert kids == flatten(root, lambda n: False, key=lambda n: n.total_us)
        await pilot.press("s", "s", "s")
        assert screen.sort_by == "seen"
        node = next(n for n in screen.calls.rows if n.name == "vfs_read")
        text = screen._render_node(node, 120).plain
        assert "vfs_read" in text and "calls" not in text
        assert f"{node.count:>7,}" in text


async def test_x_jumps_to_the_slowest_calls_which_are_marked(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo)
    async with open_screen("graph") as (_, pilot, screen):
        await pilot.press("e")  # fold everything: x must unfold the way
        await pilot.press("x")
        node = screen.calls.current
        assert node is not None and node.slow
        top = max(
            (n for r in screen.graph.roots.values() for n in r.walk() if n.parent is not None),
            key=lambda n: n.max_us,
        )
        assert node is top
        assert "▲" in screen._render_node(node, 120).plain
        await pilot.press("x")
        second = screen.calls.current
        assert second is not None and second is not node and second.max_us <= node.max_us


async def test_f_turns_the_function_under_the_cursor_into_set_graph_function(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo)
    async with open_screen("graph") as (_, pilot, screen):
        i = index_of(screen, lambda n: n.name == "rw_verify_area")
        screen.calls.move_to(i)
        await pilot.press("f")
        await until(
            pilot, lambda: read_filter(demo.tfs, "set_graph_function").names == ["rw_verify_area"]
        )
        i = index_of(screen, lambda n: n.name == "__rcu_read_lock")
        screen.calls.move_to(i)
        await pilot.press("n")
        await until(
            pilot, lambda: read_filter(demo.tfs, "set_graph_notrace").names == ["__rcu_read_lock"]
        )
        # A root or an unknown caller is not a function: nothing is written.
        screen.calls.move_to(0)
        await pilot.press("f")
        await pilot.pause(0.2)
        assert read_filter(demo.tfs, "set_graph_function").names == ["rw_verify_area"]


def test_function_of_drops_roots_unknown_callers_and_module_suffixes() -> None:
    root = CallNode("CPU 0")
    assert function_of(root) is None
    assert function_of(root.child("?")) is None
    assert function_of(root.child("p9_client_rpc [9pnet]")) == "p9_client_rpc"
    assert function_of(root.child("vfs_read")) == "vfs_read"


async def test_c_clears_the_tree_and_a_hint_when_the_tracer_is_not_function_graph(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    start_graph(demo)
    async with open_screen("graph") as (app, pilot, screen):
        await pilot.press("c")
        assert screen.graph.lines == 0 and screen.calls.rows == []
        demo.apply([Change("current_tracer", "nop")])
        app.poll_now()
        await until(pilot, lambda: "tracer is nop" in text_of(screen.query_one("#head")))
