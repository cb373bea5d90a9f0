"""The function_graph view: a call tree built from the graph stream, per CPU or per task.

Lines come from the session's ring (what trace_pipe delivered), fed to the
engine's :class:`~ftop.engine.stream.graph.CallGraph` on a worker while the screen is
shown; every call path is one row with its calls, total and self time and
its slowest single call, the slowest paths marked. Rows fold and unfold
(the way ``uftrace tui`` navigates, but live), and ``f`` turns the function
under the cursor into the graph filter (``set_graph_function``).
"""

from __future__ import annotations

import threading
from typing import Callable, Dict, Iterable, List, Optional, Set

from ftop.engine.errors import ConfigError
from ftop.engine.ftrace.filter import plan_add, plan_set
from ftop.engine.stream.graph import UNKNOWN, CallGraph, CallNode, flatten
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors
from ftop.tui.widgets.kit import ChangesMixin, RowList, fmt_us
from ftop.tui.widgets.printable import printable
from rich.text import Text
from textual import events, work
from textual.widget import Widget
from textual.widgets import Static

__all__ = ["GraphScreen"]

S = "graph"
command("graph.fold", "enter", "fold", "Fold", "fold or unfold the call", key_display="⏎")
command(
    "graph.group", "g", "group", "By task", "one tree per CPU or per task (rebuilt from the ring)"
)
command(
    "graph.sort", "s", "sort", "Sort", "order callees: as seen, by total, by self time, by calls"
)
command("graph.slowest", "x", "slowest", "Slowest", "jump to the next of the slowest calls")
command(
    "graph.filter",
    "f",
    "filter",
    "Filter",
    "trace only this function from now on (set_graph_function)",
)
command(
    "graph.notrace", "n", "notrace", "Notrace", "stop graphing this function (set_graph_notrace)"
)
command("graph.expand", "e", "expand_all", "Expand", "unfold everything, or fold to the top level")
command("graph.clear", "c", "clear", "Clear", "forget the tree and start from the next lines")

_SORTS: Dict[str, Optional[Callable[[CallNode], float]]] = {
    "seen": None,
    "total": lambda n: n.total_us,
    "self": lambda n: n.self_us,
    "calls": lambda n: float(n.count),
}
FEED_CHUNK = 20_000


def function_of(node: CallNode) -> Optional[str]:
    """The function a node stands for, as a filter word (module suffix dropped)."""
    if node.parent is None or node.name == UNKNOWN:
        return None
    return node.name.split(" ", 1)[0].rstrip("()")


class GraphScreen(ChangesMixin, FtopScreen):
    """Call tree of the function_graph stream, live."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    GraphScreen #head { height: auto; max-height: 3; background: $surface; padding: 0 1; }
    GraphScreen #cols { height: 1; background: $panel; text-style: bold; }
    GraphScreen #tree { height: 1fr; }
    GraphScreen #detail { height: 2; background: $surface; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.graph = CallGraph("cpu", keep_slowest=20)
        # Not ``self.lock``: that is Textual's own (async) lock of every widget.
        self.graph_lock = threading.Lock()
        self.seq: Optional[int] = None
        self.skipped = 0
        self.closed: Set[int] = set()
        self.sort_by = "seen"
        self.tracer = "?"
        self.slow: List[CallNode] = []
        self.slow_at = -1
        self.feeding = False
        self.calls: RowList[CallNode] = RowList(self._render_node, id="tree")

    def compose_body(self) -> Iterable[Widget]:
        yield Static(id="head")
        yield Static(id="cols")
        yield self.calls
        yield Static(id="detail")

    def on_mount(self) -> None:
        self.ftop.tick_signal.subscribe(self, self.on_tick)
        self.ftop.status_signal.subscribe(self, self.on_status)
        self.calls.focus()
        info = self.ftop.status_info
        if info is not None:
            self.tracer = info.status.tracer
        self.feed()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.feed()

    def on_status(self, info: StatusInfo) -> None:
        if info.status.tracer != self.tracer:
            self.tracer = info.status.tracer
            if self.is_active:
                self.update_head()

    def on_tick(self, _: object = None) -> None:
        if self.is_active:
            self.feed()

    # -- feeding (worker) --------------------------------------------------------------

    def feed(self) -> None:
        if not self.feeding:
            self.feeding = True
            self._feed()

    @work(thread=True, exclusive=True, group="graph-feed", exit_on_error=False)
    def _feed(self) -> None:
        ring = self.backend.ring
        try:
            with self.graph_lock:
                if self.seq is None:
                    self.seq = ring.first_seq
                while True:
                    if self.seq < ring.first_seq:
                        self.skipped += ring.first_seq - self.seq
                        self.seq = ring.first_seq
                    lines = ring.window(self.seq, FEED_CHUNK)
                    if not lines:
                        break
                    self.graph.feed_lines(lines)
                    self.seq += len(lines)
                    if len(lines) < FEED_CHUNK:
                        break
                slow = self.graph.mark_slowest(10)
        finally:
            self.feeding = False
        self.app.call_from_thread(self._fed, slow)

    def _fed(self, slow: List[CallNode]) -> None:
        self.slow = sorted(slow, key=lambda n: -n.max_us)
        self.rebuild()

    # -- rows ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        key = _SORTS[self.sort_by]
        rows: List[CallNode] = []
        with self.graph_lock:
            for root in self.graph.sorted_roots():
                rows.append(root)
                if id(root) not in self.closed:
                    rows.extend(flatten(root, lambda n: id(n) not in self.closed, key=key))
        keep = self.calls.current
        self.calls.set_rows(rows, keep=(lambda n: n is keep) if keep is not None else None)
        self.update_head()

    def update_head(self) -> None:
        tv = ThemeColors(self.app)
        muted = tv.get("foreground-muted", "")
        g = self.graph
        t = Text()
        if self.tracer != "function_graph":
            t.append(f"tracer is {self.tracer}: ", style=f"bold {tv.get('warning', 'yellow')}")
            t.append("the tree grows from function_graph output; switch on 4 Tracers", style=muted)
            t.append(" (f on a function there narrows it first)\n", style=muted)
        t.append("call tree ", style="bold")
        t.append("by CPU" if g.group_by == "cpu" else "by task", style=tv.get("primary", "blue"))
        t.append(f" │ {g.lines:,} lines │ {g.nodes:,} call paths", style=muted)
        t.append(f" │ sort {self.sort_by}", style=muted)
        if g.lost_events or self.skipped:
            t.append(
                f" │ lost {g.lost_events + self.skipped:,}", style=f"bold {tv.get('error', 'red')}"
            )
        if g.orphan_exits:
            t.append(f" │ {g.orphan_exits:,} exits began before the trace", style=muted)
        self.query_one("#head", Static).update(t)
        cols = Text(f"{'total':>9} {'self':>9} {'calls':>7} {'max':>9}  function")
        self.query_one("#cols", Static).update(cols)
        self.show_detail(self.calls.current)

    def on_row_list_moved(self, event: RowList.Moved) -> None:
        if event.rowlist is self.calls:
            self.show_detail(event.row)

    def show_detail(self, node: Optional[CallNode]) -> None:
        tv = ThemeColors(self.app)
        t = Text()
        if node is not None and node.parent is not None:
            path = " → ".join(node.path())
            t.append(printable(path[-200:]), style="bold")
            t.append(
                f"\navg {fmt_us(node.avg_us)}  max {fmt_us(node.max_us)}"
                + (f"  {node.open} open" if node.open else "")
                + (
                    "  (times are lower bounds: part of a call was not in the trace)"
                    if node.partial
                    else ""
                ),
                style=tv.get("foreground-muted", ""),
            )
        elif node is not None:
            t.append(printable(node.name), style="bold")
            t.append(
                f"\n{len(node.children)} top-level calls", style=tv.get("foreground-muted", "")
            )
        self.query_one("#detail", Static).update(t)

    def _render_node(self, node: CallNode, width: int) -> Text:
        lst = self.calls
        t = Text()
        if node.parent is None:
            total = sum(c.total_us for c in node.children)
            t.append(f"{fmt_us(total):>9} {'':>9} {'':>7} {'':>9}  ", style=lst.style_of("dim"))
            arrow = "▸ " if id(node) in self.closed else "▾ "
            t.append(arrow + printable(node.name), style=f"bold {lst.style_of('accent')}")
            return t
        part = "~" if node.partial else " "
        t.append(f"{fmt_us(node.total_us):>8}{part}")
        t.append(f"{fmt_us(node.self_us):>9} ", style=lst.style_of("dim"))
        t.append(f"{node.count:>7,} ")
        t.append(f"{fmt_us(node.max_us):>9}", style=lst.style_of("dim"))
        t.append(" ▲" if node.slow else "  ", style=f"bold {lst.style_of('accent')}")
        t.append("  " * (node.depth + 1))
        if node.children:
            t.append("▸ " if id(node) in self.closed else "▾ ", style=lst.style_of("dim"))
        else:
            t.append("  ")
        t.append(printable(node.name), style="bold" if node.slow else "")
        return t

    # -- actions --------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if not self.calls.has_focus:
            return
        node = self.calls.current
        if node is None:
            return
        if event.key == "right" and (node.children or node.parent is None):
            event.stop()
            self.closed.discard(id(node))
            self.rebuild()
        elif event.key == "left":
            event.stop()
            if id(node) not in self.closed and (node.children or node.parent is None):
                self.closed.add(id(node))
                self.rebuild()
            elif node.parent is not None:
                parent = node.parent
                idx = next((i for i, n in enumerate(self.calls.rows) if n is parent), None)
                if idx is not None:
                    self.calls.move_to(idx)

    def action_fold(self) -> None:
        node = self.calls.current
        if node is None or not (node.children or node.parent is None):
            return
        self.closed ^= {id(node)}
        self.rebuild()

    def action_expand_all(self) -> None:
        if self.closed:
            self.closed.clear()
        else:
            with self.graph_lock:
                self.closed = {
                    id(n)
                    for r in self.graph.roots.values()
                    for n in r.walk()
                    if n.parent is not None and n.children
                }
        self.rebuild()

    def action_sort(self) -> None:
        names = list(_SORTS)
        self.sort_by = names[(names.index(self.sort_by) + 1) % len(names)]
        self.rebuild()

    def action_group(self) -> None:
        with self.graph_lock:
            group = "task" if self.graph.group_by == "cpu" else "cpu"
            self.graph = CallGraph(group, keep_slowest=20)
            self.seq = None
            self.skipped = 0
            self.closed.clear()
        self.feed()

    def action_clear(self) -> None:
        with self.graph_lock:
            self.graph.reset()
            self.seq = self.backend.ring.next_seq
            self.skipped = 0
            self.closed.clear()
        self.rebuild()

    def action_slowest(self) -> None:
        if not self.slow:
            self.app.notify("no completed calls yet")
            return
        self.slow_at = (self.slow_at + 1) % len(self.slow)
        node = self.slow[self.slow_at]
        p = node.parent
        while p is not None:
            self.closed.discard(id(p))
            p = p.parent
        self.rebuild()
        idx = next((i for i, n in enumerate(self.calls.rows) if n is node), None)
        if idx is not None:
            self.calls.move_to(idx)

    def _filter_word(self) -> Optional[str]:
        node = self.calls.current
        name = function_of(node) if node is not None else None
        if name is None:
            self.app.notify("put the cursor on a function (not a root or an unknown caller)")
        return name

    def action_filter(self) -> None:
        name = self._filter_word()
        if name is None:
            return
        try:
            changes = plan_set("set_graph_function", [name])
        except ConfigError as e:
            self.app.notify(str(e), severity="error")
            return

        def done() -> None:
            if self.last_refusal is None:
                self.app.notify(
                    f"set_graph_function = {name}: the graph now starts at {name}",
                    title="graph filter",
                )

        self.apply_changes(changes, f"set_graph_function {name}", done)

    def action_notrace(self) -> None:
        name = self._filter_word()
        if name is None:
            return
        try:
            changes = plan_add("set_graph_notrace", [name])
        except ConfigError as e:
            self.app.notify(str(e), severity="error")
            return

        def done() -> None:
            if self.last_refusal is None:
                self.app.notify(f"set_graph_notrace += {name}", title="graph filter")

        self.apply_changes(changes, f"set_graph_notrace {name}", done)


register_screen(
    ScreenSpec(
        S,
        "Graph",
        "6",
        GraphScreen,
        "function_graph call tree: per CPU or task, total/self time, slowest calls",
        order=60,
    )
)
