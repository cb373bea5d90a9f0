"""The function_graph view on the demo kernel (the lab kernel's function_graph capture):
the tree from the stream, per CPU or task, folding, sorting, slowest calls, filters from a node."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, List

from ftop.engine.control.transaction import Change
from ftop.engine.demo.session import DemoSession
from ftop.engine.ftrace.filter import read_filter
from ftop.engine.stream.graph import BREAK_LOST, CallGraph, CallNode, flatten, is_function
from ftop.tui.app import FtopApp
from ftop.tui.screens.graph import GraphScreen, function_of, total_of
from ftop.tui.screens.help import HelpScreen
from ftop.tui.screens.live import LiveScreen
from ftrace_util import AppFactory, OpenScreen
from pilot_util import text_of, until
from textual import events

DEMO_GRAPH = (
    Path(__file__).resolve().parents[2] / "engine" / "demo" / "data" / "trace-function_graph.txt.gz"
)


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
        # A break marker sorts by the time of the calls under it.
        assert [total_of(k) for k in kids] == sorted((total_of(k) for k in kids), reverse=True)
        assert kids == flatten(root, lambda n: False, key=total_of)
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
        # The slowest call, not an unknown caller (``?``) or a break marker.
        top = max(
            (n for r in screen.graph.roots.values() for n in r.walk() if is_function(n)),
            key=lambda n: n.max_us,
        )
        assert node is top and is_function(node)
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


def test_function_of_refuses_break_markers() -> None:
    root = CallNode("CPU 0")
    assert function_of(root.child(BREAK_LOST)) is None


async def test_unknown_self_times_show_as_unknown_and_breaks_are_marked(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    """The demo's capture begins mid-call and has LOST markers: a call whose entry is
    not in it shows ``?`` as its self time, not ``0.0us``, and the break is a row."""
    start_graph(demo)
    async with open_screen("graph") as (_, pilot, screen):
        unknown = [n for n in screen.calls.rows if is_function(n) and not n.self_known]
        assert unknown
        node = unknown[0]
        cols = screen._render_node(node, 120).plain.split()
        assert cols[1] == "?", cols
        assert any(n.name == BREAK_LOST for n in screen.calls.rows)
        brk = next(n for n in screen.calls.rows if n.name == BREAK_LOST)
        screen.calls.move_to(screen.calls.rows.index(brk))
        await until(pilot, lambda: "stream broke" in text_of(screen.query_one("#detail")))


# -- a ring too large to build the tree in a frame (issue 10) ------------------------------


def fill_ring(demo: DemoSession, n: int) -> int:
    """``n`` real function_graph lines (the demo's capture, repeated) into the ring."""
    demo.apply([Change("current_tracer", "function_graph")])
    with gzip.open(DEMO_GRAPH, "rt") as f:
        one = f.read().splitlines()
    lines = (one * (n // len(one) + 1))[:n]
    demo.ring.clear()
    demo.ring.extend(lines)
    return n


def send_key(app: FtopApp, key: str) -> None:
    """A key as the terminal delivers it. ``pilot.press`` also waits for the process to
    be CPU-idle, which it is not while a tree builds: it would hide how long keys take."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    driver = app._driver
    assert driver is not None
    driver.send_message(event)


def head(screen: GraphScreen) -> str:
    return text_of(screen.query_one("#head"))


BIG = 250_000


async def test_a_large_ring_builds_on_a_worker_with_a_sign_and_keys_answered(
    make_app: AppFactory, demo: DemoSession
) -> None:
    """Regression: the first ``6`` over a full ring blocked the UI for seconds, no sign."""
    fill_ring(demo, BIG)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        send_key(app, "6")
        await until(pilot, lambda: isinstance(app.screen, GraphScreen), timeout=2)
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        await until(pilot, lambda: "building call tree by CPU" in head(screen), timeout=2)
        assert f"/ {BIG:,} lines" in head(screen)
        # The loop answers keys meanwhile: help opens and closes, the build goes on.
        send_key(app, "f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=1)
        assert screen.building
        send_key(app, "escape")
        await until(pilot, lambda: app.screen is screen, timeout=1)
        assert screen.building
        await until(pilot, lambda: screen.call_tree is not None and not screen.feeding, 60)
        ref = CallGraph("cpu")
        ref.feed_lines(demo.ring.window(demo.ring.first_seq, len(demo.ring)))
        assert screen.graph.lines == ref.lines and screen.graph.nodes == ref.nodes
        assert "building" not in head(screen) and screen.calls.rows


async def test_g_regroups_on_a_worker_while_the_old_tree_stays_shown(
    make_app: AppFactory, demo: DemoSession
) -> None:
    """Regression: each ``g`` blocked the UI for 8 to 10 s."""
    fill_ring(demo, BIG)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        send_key(app, "6")
        await until(pilot, lambda: isinstance(app.screen, GraphScreen), timeout=2)
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        await until(pilot, lambda: screen.graph.lines > 0 and not screen.feeding, 60)
        by_cpu = screen.graph
        send_key(app, "g")
        await until(pilot, lambda: "building call tree by task" in head(screen), timeout=2)
        assert screen.graph is by_cpu and "shown meanwhile: by CPU" in head(screen)
        send_key(app, "s")  # answered during the build
        await until(pilot, lambda: screen.sort_by == "total", timeout=1)
        assert screen.building
        await until(pilot, lambda: screen.graph.group_by == "task" and not screen.feeding, 60)
        assert screen.graph.lines == by_cpu.lines and "by task" in head(screen)


async def test_a_cancelled_build_never_overwrites_a_newer_one(
    make_app: AppFactory, demo: DemoSession
) -> None:
    """``g`` during a build, leaving the screen and Escape each stop the running build."""
    fill_ring(demo, BIG)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        send_key(app, "6")
        await until(pilot, lambda: isinstance(app.screen, GraphScreen), timeout=2)
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        await until(pilot, lambda: screen.building, timeout=2)
        # g in the middle of the build by CPU: only the build by task lands.
        first = screen.job
        send_key(app, "g")
        await until(pilot, lambda: screen.job is not first and screen.building, timeout=2)
        assert screen.job is not None and screen.job.feed.graph.group_by == "task"
        # Leaving the screen stops it; coming back builds again.
        send_key(app, "1")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=2)
        assert screen.job is None
        send_key(app, "6")
        await until(pilot, lambda: screen.building, timeout=2)
        await until(pilot, lambda: screen.call_tree is not None and not screen.feeding, 60)
        assert screen.graph.group_by == "task" and screen.graph.lines > 0
        # Escape during a build: the build stops, the shown tree stays, and the stopped
        # build never replaces it.
        shown = screen.graph
        send_key(app, "g")
        await until(pilot, lambda: screen.building, timeout=2)
        send_key(app, "escape")
        await until(pilot, lambda: not screen.feeding, timeout=1)
        await pilot.pause(0.5)
        assert screen.graph is shown and screen.want_group == "task"
        assert screen.passed_over == 0  # nothing new came in meanwhile


async def test_escape_stops_the_first_build_and_the_tree_grows_from_new_lines(
    make_app: AppFactory, demo: DemoSession
) -> None:
    fill_ring(demo, BIG)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        send_key(app, "6")
        await until(pilot, lambda: isinstance(app.screen, GraphScreen), timeout=2)
        screen = app.screen
        assert isinstance(screen, GraphScreen)
        await until(pilot, lambda: screen.building, timeout=2)
        send_key(app, "escape")
        await until(pilot, lambda: not screen.feeding and screen.call_tree is not None, 1)
        assert screen.graph.lines == 0
        await until(pilot, lambda: f"{BIG:,} lines skipped" in head(screen), timeout=1)
        demo.pump(300)
        app._dirty.set()  # as the reader's listener does
        await until(pilot, lambda: screen.graph.lines > 0 and not screen.feeding)
        assert screen.graph.lines <= 300
