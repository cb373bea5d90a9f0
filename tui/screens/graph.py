"""The function_graph view: a call tree built from the graph stream, per CPU or per task.

Lines come from the session's ring (what trace_pipe delivered), fed to the
engine's :class:`~ftop.engine.stream.graph.CallGraph` on a worker while the screen is
shown; every call path is one row with its calls, total and self time and
its slowest single call, the slowest paths marked. Rows fold and unfold
(the way ``uftrace tui`` navigates, but live), and ``f`` turns the function
under the cursor into the graph filter (``set_graph_function``).

A tree built from the whole ring (the first show, ``g``) is built into a new
graph on a thread, a slice at a time, while the old tree stays on screen and
the head counts the lines; it is swapped in only if no newer build, Escape
or leaving the screen cancelled it (each bumps ``gen``, which the worker
checks between slices). Growing the shown tree with new lines takes the
graph lock one slice at a time, so the event loop never waits on it for
longer than a slice.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager, Dict, Iterable, List, Optional, Set

from ftop.engine.errors import ConfigError
from ftop.engine.ftrace.filter import plan_add, plan_set
from ftop.engine.stream.graph import (
    BREAKS,
    CallGraph,
    CallNode,
    TreeFeed,
    flatten,
    is_function,
)
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors, plural
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import ChangesMixin, RowList, fmt_us
from ftop.tui.widgets.printable import printable
from rich.text import Text
from textual import events, work
from textual.message import Message
from textual.screen import ModalScreen
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
command(
    "graph.cancel",
    "escape",
    "cancel_build",
    "Cancel",
    "stop building the call tree (it goes on from the next lines)",
    show=False,
)


def total_of(node: CallNode) -> float:
    """A call's total time; a break marker's is that of the calls under it."""
    if node.name in BREAKS and node.parent is not None:
        return sum(c.total_us for c in node.children)
    return node.total_us


_SORTS: Dict[str, Optional[Callable[[CallNode], float]]] = {
    "seen": None,
    "total": total_of,
    "self": lambda n: n.self_us,
    "calls": lambda n: float(n.count),
}
#: Lines fed per slice: ~10 ms of parsing, the longest the UI can wait on the lock.
SLICE = 1_000
#: A build is shown as one ("building call tree… n / m lines") once it runs this long.
SHOW_AFTER_S = 0.15
PROGRESS_EVERY_S = 0.1


def function_of(node: CallNode) -> Optional[str]:
    """The function a node stands for, as a filter word (module suffix dropped)."""
    if not is_function(node):
        return None
    return node.name.split(" ", 1)[0].rstrip("()")


@dataclass(eq=False)
class FeedJob:
    """One run of the feeding worker.

    ``fresh``: the job builds ``feed`` (a new tree) from the ring; the shown
    tree is replaced by it when it finishes. Otherwise it grows the shown tree.
    """

    gen: int
    feed: TreeFeed
    fresh: bool
    total: int
    done: int = 0
    started: float = 0.0
    shown: bool = False  # the head says "building"


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

    class Progress(Message):
        """The worker fed another batch of slices (posted at most every 0.1 s)."""

        def __init__(self, job: FeedJob) -> None:
            super().__init__()
            self.job = job

    class Fed(Message):
        """The worker caught up with the ring (or a fresh build is complete)."""

        def __init__(self, job: FeedJob, slow: List[CallNode]) -> None:
            super().__init__()
            self.job = job
            self.slow = slow

    def __init__(self) -> None:
        super().__init__()
        # The shown tree; None until the first build from the ring is complete.
        self.call_tree: Optional[TreeFeed] = None
        self.want_group = "cpu"
        # Not ``self.lock``: that is Textual's own (async) lock of every widget.
        self.graph_lock = threading.Lock()
        self.gen = 0
        self.job: Optional[FeedJob] = None
        self.passed_over = 0  # lines Escape skipped
        self.closed: Set[int] = set()
        self.sort_by = "seen"
        self.tracer = "?"
        self.slow: List[CallNode] = []
        self.slow_at = -1
        self.calls: RowList[CallNode] = RowList(self._render_node, id="tree")
        self._empty = CallGraph(self.want_group)

    @property
    def graph(self) -> CallGraph:
        """The tree on screen (an empty one before the first build is complete)."""
        return self.call_tree.graph if self.call_tree is not None else self._empty

    @property
    def seq(self) -> Optional[int]:
        """The next ring line the shown tree reads (None before the first build)."""
        return self.call_tree.seq if self.call_tree is not None else None

    @property
    def feeding(self) -> bool:
        """The worker is building or growing a tree."""
        return self.job is not None

    @property
    def building(self) -> bool:
        """A build long enough to say so is under way."""
        return self.job is not None and self.job.shown

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

    def on_screen_suspend(self) -> None:
        # Another screen shown: nobody waits for the tree, so stop (it is built again
        # on return). An overlay (help, a prompt) leaves this screen in view: go on.
        stack = self.app.screen_stack
        if stack and isinstance(stack[-1], ModalScreen):
            return
        self.cancel()

    def on_unmount(self) -> None:
        self.cancel()

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
        """Bring the tree up to date with the ring: build it, or grow the shown one."""
        if self.job is not None:
            return
        tree = self.call_tree
        if tree is None or tree.graph.group_by != self.want_group:
            self.start_build()
        else:
            self._start(tree, fresh=False)

    def start_build(self) -> None:
        """Build a new tree (grouped by ``want_group``) from every line in the ring."""
        self.cancel()
        ring = self.backend.ring
        self._start(TreeFeed(CallGraph(self.want_group, keep_slowest=20), ring), fresh=True)

    def cancel(self) -> Optional[FeedJob]:
        """Stop the running job, if any: the worker drops it at its next slice."""
        job, self.job = self.job, None
        if job is not None:
            self.gen += 1
        return job

    def _start(self, feed: TreeFeed, fresh: bool) -> None:
        self.gen += 1
        job = FeedJob(self.gen, feed, fresh, feed.pending())
        job.started = time.monotonic()
        self.job = job
        self._feed(job)

    def _current(self, job: FeedJob) -> bool:
        return job.gen == self.gen

    @work(thread=True, group="graph-feed", exit_on_error=False)
    def _feed(self, job: FeedJob) -> None:
        # A fresh tree is this thread's alone until it is handed over; the shown
        # one is read by the UI, which holds the lock to walk it.
        lock: ContextManager[object] = nullcontext() if job.fresh else self.graph_lock
        feed = job.feed
        posted = job.started
        while self._current(job):
            with lock:
                n = feed.step(SLICE)
            if n == 0:
                break
            job.done += n
            now = time.monotonic()
            if now - job.started >= SHOW_AFTER_S and now - posted >= PROGRESS_EVERY_S:
                posted = now
                job.total = max(job.total, job.done + feed.pending())
                self.post_message(self.Progress(job))
            # Let the event loop have the GIL between slices: a pure-Python
            # thread otherwise keeps it for a whole switch interval at a time.
            time.sleep(0)
        else:
            return  # cancelled: a newer job or nothing owns the screen now
        with lock:
            slow = feed.graph.mark_slowest(10)
        self.post_message(self.Fed(job, slow))

    def on_graph_screen_progress(self, message: Progress) -> None:
        job = message.job
        if job is self.job and self._current(job):
            job.shown = True
            if self.is_active:
                self.update_head()

    def on_graph_screen_fed(self, message: Fed) -> None:
        job = message.job
        if job is not self.job or not self._current(job):
            return  # a newer build, Escape or leaving the screen cancelled it
        self.job = None
        if job.fresh:
            self.call_tree = job.feed
            self.closed.clear()
            self.slow_at = -1
        self.slow = sorted(message.slow, key=lambda n: -n.max_us)
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
        job = self.job
        if job is not None and job.shown:
            # The sign that the tree is being built: keys still work meanwhile.
            what = "building call tree" if job.fresh else "adding lines to the call tree"
            group = "by CPU" if job.feed.graph.group_by == "cpu" else "by task"
            t.append(
                f"{what} {group}{glyphs().ellipsis} ", style=f"bold {tv.get('warning', 'yellow')}"
            )
            t.append(f"{job.done:,} / {max(job.total, job.done):,} lines", style="bold")
            t.append(" │ Esc stops", style=muted)
            if job.fresh and self.call_tree is not None:
                shown = "by CPU" if g.group_by == "cpu" else "by task"
                t.append(f" │ shown meanwhile: {shown}", style=muted)
            self.query_one("#head", Static).update(t)
            return
        skipped = self.call_tree.skipped if self.call_tree is not None else 0
        t.append("call tree ", style="bold")
        t.append("by CPU" if g.group_by == "cpu" else "by task", style=tv.get("primary", "blue"))
        t.append(f" │ {plural(g.lines, 'line')} │ {plural(g.nodes, 'call path')}", style=muted)
        t.append(f" │ sort {self.sort_by}", style=muted)
        if g.lost_events or skipped:
            t.append(f" │ lost {g.lost_events + skipped:,}", style=f"bold {tv.get('error', 'red')}")
        if self.passed_over:
            t.append(f" │ {plural(self.passed_over, 'line')} skipped (Esc)", style=muted)
        if g.orphan_exits:
            t.append(f" │ {plural(g.orphan_exits, 'exit')} began before the trace", style=muted)
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
        if node is not None and node.name in BREAKS and node.parent is not None:
            t.append(printable(node.name), style="bold")
            t.append(
                f"\n{plural(node.count, 'time')} the stream broke here: the callers of what follows"
                " are not in the trace",
                style=tv.get("foreground-muted", ""),
            )
        elif node is not None and node.parent is not None:
            path = f" {glyphs().arrow} ".join(node.path())
            t.append(printable(path[-200:]), style="bold")
            t.append(
                f"\navg {fmt_us(node.avg_us)}  max {fmt_us(node.max_us)}"
                + ("" if node.self_known or not node.count else "  self time unknown")
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
                f"\n{plural(len(node.children), 'top-level call')}",
                style=tv.get("foreground-muted", ""),
            )
        self.query_one("#detail", Static).update(t)

    def _fold_mark(self, node: CallNode) -> str:
        g = glyphs()
        return f"{g.collapsed} " if id(node) in self.closed else f"{g.expanded} "

    def _render_node(self, node: CallNode, width: int) -> Text:
        lst = self.calls
        t = Text()
        if node.parent is None:
            total = sum(total_of(c) for c in node.children)
            t.append(f"{fmt_us(total):>9} {'':>9} {'':>7} {'':>9}  ", style=lst.style_of("dim"))
            arrow = self._fold_mark(node)
            t.append(arrow + printable(node.name), style=f"bold {lst.style_of('accent')}")
            return t
        if node.name in BREAKS:
            # A break in the stream, not a call: the time of what hangs under it, and
            # how often the stream broke there.
            under = fmt_us(total_of(node))
            t.append(f"{under:>8}~ {'':>9} {node.count:>7,} {'':>9}  ", style=lst.style_of("dim"))
            t.append("  " * (node.depth + 1))
            t.append(self._fold_mark(node), style=lst.style_of("dim"))
            t.append(node.name, style=f"italic {lst.style_of('accent')}")
            return t
        part = "~" if node.partial else " "
        t.append(f"{fmt_us(node.total_us):>8}{part}")
        # Unknown, not zero: the call's entry (and earlier callees) was not in the trace.
        own = fmt_us(node.self_us) if node.self_known or not node.count else "?"
        t.append(f"{own:>9} ", style=lst.style_of("dim"))
        t.append(f"{node.count:>7,} ")
        t.append(f"{fmt_us(node.max_us):>9}", style=lst.style_of("dim"))
        t.append(f" {glyphs().slow}" if node.slow else "  ", style=f"bold {lst.style_of('accent')}")
        t.append("  " * (node.depth + 1))
        if node.children:
            t.append(self._fold_mark(node), style=lst.style_of("dim"))
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
        self.want_group = "task" if self.want_group == "cpu" else "cpu"
        self.cancel()
        self.feed()  # builds anew unless the shown tree is grouped so already
        self.update_head()

    def action_clear(self) -> None:
        self.cancel()
        graph = CallGraph(self.want_group, keep_slowest=20)
        with self.graph_lock:
            self.call_tree = TreeFeed(graph, self.backend.ring, self.backend.ring.next_seq)
            self.closed.clear()
            self.passed_over = 0
        self.slow = []
        self.rebuild()

    def action_cancel_build(self) -> None:
        job = self.cancel()
        if job is None:
            return
        ring = self.backend.ring
        with self.graph_lock:
            if self.call_tree is None:
                # Nothing built yet: an empty tree, grown from the next lines on.
                graph = CallGraph(self.want_group, keep_slowest=20)
                self.call_tree = TreeFeed(graph, ring, ring.first_seq)
            elif job.fresh:
                self.want_group = self.call_tree.graph.group_by  # keep what is shown
            # New lines, not this backlog, are what the next tick adds.
            self.passed_over += self.call_tree.skip_to_end()
        self.app.notify("call tree: build stopped; it goes on from the next lines")
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
