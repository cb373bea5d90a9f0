"""The function_graph call tree, built incrementally from parsed graph lines.

Calls are merged by call path, as ``uftrace tui`` does: every distinct chain
of callers is one :class:`CallNode` holding how often it was called, its total
and self time and its slowest single call. Roots are per CPU or per task.

The kernel keeps a return stack per *task*, and the depth it prints is that
task's. A CPU's lines interleave tasks at context switches (the graph tracer
prints ``prev-pid => next-pid`` blocks then), so open calls are tracked per
task whenever the task is known, from ``funcgraph-proc`` columns or from
those switch lines, and per CPU before that.

The stream is taken as it comes: a trace that starts mid-call yields exits
with no entry (their callers become ``UNKNOWN`` nodes until a
``funcgraph-tail`` comment names them), and ``CPU:N [LOST M EVENTS]``
markers drop the calls open on that CPU: a late exit is then not paired with
the wrong entry.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ftop.engine.stream.parse import Record, parse_line

__all__ = ["UNKNOWN", "CallGraph", "CallNode", "SlowCall", "flatten"]

#: Name of a caller whose entry the trace does not contain.
UNKNOWN = "?"

RootKey = Tuple[str, int]


@dataclass(eq=False)
class CallNode:
    """One call path. Times in microseconds.

    Attributes:
        name: function name (a root's name is ``CPU 1`` or ``comm-pid``).
        depth: 0 for a root's children, as the kernel prints depth.
        children: callees in first-seen order.
        count: completed calls.
        total_us: summed duration of completed calls.
        self_us: ``total_us`` minus the time spent in traced callees.
        max_us: the slowest single call.
        open: calls entered and not exited yet.
        slow: set by :meth:`CallGraph.mark_slowest` on the slowest paths.
        partial: some durations are missing (exit lost, or entry before the
            trace began), so times are lower bounds.
    """

    name: str
    depth: int = -1
    parent: Optional[CallNode] = field(default=None, repr=False)
    children: List[CallNode] = field(default_factory=list, repr=False)
    count: int = 0
    total_us: float = 0.0
    self_us: float = 0.0
    max_us: float = 0.0
    open: int = 0
    slow: bool = False
    partial: bool = False
    _by_name: Dict[str, CallNode] = field(default_factory=dict, repr=False)

    def child(self, name: str) -> CallNode:
        """The callee named ``name``, created on first use."""
        node = self._by_name.get(name)
        if node is None:
            node = CallNode(name, self.depth + 1, self)
            self._by_name[name] = node
            self.children.append(node)
        return node

    def get(self, name: str) -> Optional[CallNode]:
        return self._by_name.get(name)

    def path(self) -> Tuple[str, ...]:
        """Names from the root (excluded) down to this node."""
        out: List[str] = []
        node: Optional[CallNode] = self
        while node is not None and node.parent is not None:
            out.append(node.name)
            node = node.parent
        return tuple(reversed(out))

    def walk(self) -> Iterator[CallNode]:
        """This node and every descendant, depth first, in display order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    @property
    def avg_us(self) -> float:
        return self.total_us / self.count if self.count else 0.0

    def _detach(self) -> None:
        if self.parent is not None:
            self.parent.children.remove(self)
            del self.parent._by_name[self.name]
            self.parent = None

    def _merge_into(self, other: CallNode) -> None:
        """Add this node's figures and subtree to ``other`` (same call path)."""
        other.count += self.count
        other.total_us += self.total_us
        other.self_us += self.self_us
        other.max_us = max(other.max_us, self.max_us)
        other.open += self.open
        other.partial = other.partial or self.partial
        for ch in list(self.children):
            ch._detach()
            existing = other._by_name.get(ch.name)
            if existing is None:
                ch.parent = other
                other._by_name[ch.name] = ch
                other.children.append(ch)
                ch._redepth(other.depth + 1)
            else:
                ch._merge_into(existing)

    def _redepth(self, depth: int) -> None:
        delta = depth - self.depth
        if delta:
            for n in self.walk():
                n.depth += delta


@dataclass(frozen=True)
class SlowCall:
    """One of the slowest single calls seen."""

    duration_us: float
    path: Tuple[str, ...]
    root: str
    cpu: Optional[int]
    pid: Optional[int]
    ts: Optional[float]


@dataclass
class _Frame:
    node: CallNode
    depth: int
    child_us: float = 0.0
    placeholder: bool = False


@dataclass
class _Stream:
    """Open calls of one task (or one CPU while its task is unknown)."""

    root: CallNode
    frames: List[_Frame] = field(default_factory=list)
    cpu: Optional[int] = None


class CallGraph:
    """A call tree fed with function_graph records, batch after batch.

    Args:
        group_by: ``"cpu"`` (one root per CPU) or ``"task"`` (one per pid;
            lines whose task is unknown go under their CPU's root).
        keep_slowest: how many of the slowest single calls to remember.
        max_nodes: stop adding new call paths past this many (counted in
            ``dropped``), so an endless stream cannot grow without bound.
    """

    def __init__(
        self, group_by: str = "cpu", keep_slowest: int = 20, max_nodes: int = 200_000
    ) -> None:
        if group_by not in ("cpu", "task"):
            raise ValueError("group_by is 'cpu' or 'task'")
        self.group_by = group_by
        self.keep_slowest = keep_slowest
        self.max_nodes = max_nodes
        self.roots: Dict[RootKey, CallNode] = {}
        self.nodes = 0
        self.lines = 0
        self.orphan_exits = 0
        self.lost_events = 0
        self.dropped = 0
        self._streams: Dict[RootKey, _Stream] = {}
        self._cpu_task: Dict[int, int] = {}
        self._comm: Dict[int, str] = {}
        self._slow: List[Tuple[float, int, SlowCall]] = []
        self._seq = 0

    # -- feeding ------------------------------------------------------------------------

    def feed_lines(self, lines: Iterable[str]) -> None:
        """Parse and feed raw trace lines (anything not a graph line is skipped)."""
        self.feed(parse_line(ln) for ln in lines)

    def feed(self, records: Iterable[Record]) -> None:
        """Feed parsed records (``parse_line`` output), in stream order."""
        for rec in records:
            kind = rec.kind
            if kind == "graph":
                self._graph(rec)
            elif kind == "lost":
                self._lost(rec)

    def _lost(self, rec: Record) -> None:
        self.lost_events += rec.lost or 0
        cpu = rec.cpu
        for s in self._streams.values():
            if cpu is None or s.cpu == cpu:
                self._abandon(s)

    def _abandon(self, s: _Stream) -> None:
        for fr in s.frames:
            fr.node.open = max(0, fr.node.open - 1)
            fr.node.partial = True
        s.frames.clear()

    def _graph(self, rec: Record) -> None:
        gk = rec.graph_kind
        if gk == "switch":
            self._switch(rec)
            return
        if gk == "overrun":
            self.lost_events += rec.lost or 0
            for s in self._streams.values():
                self._abandon(s)
            return
        if gk not in ("entry", "exit", "leaf") or rec.depth is None:
            return
        self.lines += 1
        s = self._stream(rec)
        depth = rec.depth
        frames = s.frames
        if gk == "entry":
            self._unwind(frames, depth)
            parent = self._parent(s, depth)
            node = self._child(parent, rec.name or UNKNOWN)
            node.open += 1
            frames.append(_Frame(node, depth))
        elif gk == "leaf":
            self._unwind(frames, depth)
            parent = self._parent(s, depth)
            node = self._child(parent, rec.name or UNKNOWN)
            dur = rec.duration_us
            if dur is None:
                node.partial = True
                node.count += 1
            else:
                self._complete(node, dur, dur, s, rec)
                if frames:
                    frames[-1].child_us += dur
        else:
            self._exit(s, rec, depth)

    def _exit(self, s: _Stream, rec: Record, depth: int) -> None:
        frames = s.frames
        self._unwind(frames, depth + 1)
        dur = rec.duration_us
        if frames and frames[-1].depth == depth:
            fr = frames.pop()
            node = fr.node
            if fr.placeholder and rec.name:
                node = self._rename(node, rec.name)
            node.open = max(0, node.open - 1)
            if dur is None:
                node.partial = True
                node.count += 1
            else:
                self._complete(node, dur, max(0.0, dur - fr.child_us), s, rec)
                if fr.placeholder:
                    node.partial = True
            if frames and dur is not None:
                frames[-1].child_us += dur
            return
        # An exit whose entry the trace never showed (it began mid-call, or the
        # entry was lost): count it under the root, by name when funcgraph-tail
        # gives one; its callees' time is unknown, so self time is not.
        self.orphan_exits += 1
        parent = frames[-1].node if frames else s.root
        node = self._child(parent, rec.name or UNKNOWN)
        node.partial = True
        if dur is not None:
            node.count += 1
            node.total_us += dur
            node.max_us = max(node.max_us, dur)
            self._note_slow(node, dur, s, rec)
            if frames:
                frames[-1].child_us += dur

    def _rename(self, node: CallNode, name: str) -> CallNode:
        """A placeholder caller got its name (funcgraph-tail): merge it under that name."""
        parent = node.parent
        if parent is None or name == node.name:
            return node
        target = parent.get(name)
        node._detach()
        if target is None:
            node.name = name
            node.parent = parent
            parent._by_name[name] = node
            parent.children.append(node)
            return node
        node._merge_into(target)
        return target

    def _unwind(self, frames: List[_Frame], depth: int) -> None:
        """Drop open calls at ``depth`` or deeper: their exits were never printed."""
        while frames and frames[-1].depth >= depth:
            fr = frames.pop()
            fr.node.open = max(0, fr.node.open - 1)
            fr.node.partial = True

    def _parent(self, s: _Stream, depth: int) -> CallNode:
        """The caller at ``depth - 1``, inventing UNKNOWN callers the trace lacks."""
        frames = s.frames
        top_depth = frames[-1].depth if frames else -1
        parent = frames[-1].node if frames else s.root
        for d in range(top_depth + 1, depth):
            node = self._child(parent, UNKNOWN)
            node.open += 1
            frames.append(_Frame(node, d, placeholder=True))
            parent = node
        return parent

    def _child(self, parent: CallNode, name: str) -> CallNode:
        node = parent.get(name)
        if node is not None:
            return node
        if self.nodes >= self.max_nodes:
            self.dropped += 1
            # Past the cap, new paths fold into their caller.
            return parent
        self.nodes += 1
        return parent.child(name)

    def _complete(
        self, node: CallNode, dur: float, self_us: float, s: _Stream, rec: Record
    ) -> None:
        node.count += 1
        node.total_us += dur
        node.self_us += self_us
        if dur > node.max_us:
            node.max_us = dur
        self._note_slow(node, dur, s, rec)

    def _note_slow(self, node: CallNode, dur: float, s: _Stream, rec: Record) -> None:
        if self.keep_slowest <= 0:
            return
        heap = self._slow
        if len(heap) >= self.keep_slowest and dur <= heap[0][0]:
            return
        self._seq += 1
        call = SlowCall(dur, node.path(), s.root.name, rec.cpu, rec.pid, rec.ts)
        if len(heap) < self.keep_slowest:
            heapq.heappush(heap, (dur, self._seq, call))
        else:
            heapq.heapreplace(heap, (dur, self._seq, call))

    # -- streams and roots ---------------------------------------------------------------

    def _switch(self, rec: Record) -> None:
        cpu, pid = rec.cpu, rec.pid
        if cpu is None or pid is None:
            return
        if rec.comm:
            self._comm[pid] = rec.comm
        prev = _prev_task(rec.fields)
        if prev is not None:
            self._comm.setdefault(prev[1], prev[0])
        if self._cpu_task.get(cpu) is None and prev is not None:
            self._adopt(cpu, prev[1])
        self._cpu_task[cpu] = pid

    def _adopt(self, cpu: int, pid: int) -> None:
        """The first switch on a CPU names the task that ran there so far: what
        was recorded for the CPU is that task's (its open calls and, grouped by
        task, its tree)."""
        anon_key: RootKey = ("cpu", cpu)
        anon = self._streams.pop(anon_key, None)
        key: RootKey = ("task", pid)
        s = self._streams.get(key)
        if s is None:
            s = _Stream(self._root_for(cpu, pid), cpu=cpu)
            self._streams[key] = s
        if anon is None:
            return
        if self.group_by == "task" and anon_key in self.roots:
            old_root = self.roots.pop(anon_key)
            paths = [fr.node.path() for fr in anon.frames]
            old_root.depth = s.root.depth
            old_root._merge_into(s.root)
            for fr, path in zip(anon.frames, paths):
                node: Optional[CallNode] = s.root
                for name in path:
                    node = node.get(name) if node is not None else None
                if node is not None:
                    fr.node = node
        if anon.frames and not s.frames:
            s.frames = anon.frames

    def _stream(self, rec: Record) -> _Stream:
        cpu = rec.cpu if rec.cpu is not None else -1
        pid = rec.pid if rec.pid is not None else self._cpu_task.get(cpu)
        if rec.pid is not None and rec.comm:
            self._comm[rec.pid] = rec.comm
        key: RootKey = ("task", pid) if pid is not None else ("cpu", cpu)
        s = self._streams.get(key)
        if s is None:
            s = _Stream(self._root_for(cpu, pid), cpu=cpu)
            self._streams[key] = s
        else:
            s.cpu = cpu
        return s

    def _root_for(self, cpu: int, pid: Optional[int]) -> CallNode:
        if self.group_by == "task" and pid is not None:
            key: RootKey = ("task", pid)
            comm = self._comm.get(pid)
            label = f"{comm}-{pid}" if comm else f"pid {pid}"
        else:
            key = ("cpu", cpu)
            label = f"CPU {cpu}" if cpu >= 0 else "CPU ?"
        root = self.roots.get(key)
        if root is None:
            root = CallNode(label)
            self.roots[key] = root
        elif root.name.startswith("pid ") and label != root.name:
            root.name = label  # the comm became known
        return root

    # -- reading ------------------------------------------------------------------------

    def sorted_roots(self) -> List[CallNode]:
        """Roots in key order (CPU number, or pid)."""
        return [self.roots[k] for k in sorted(self.roots)]

    def slowest(self) -> List[SlowCall]:
        """The slowest single calls seen, slowest first."""
        return [c for _, _, c in sorted(self._slow, reverse=True)]

    def mark_slowest(self, n: int = 10) -> List[CallNode]:
        """Set ``slow`` on the ``n`` nodes with the slowest single calls; return them."""
        every = [node for r in self.roots.values() for node in r.walk() if node.parent is not None]
        for node in every:
            node.slow = False
        top = heapq.nlargest(n, every, key=lambda nd: nd.max_us)
        for node in top:
            if node.max_us > 0:
                node.slow = True
        return [nd for nd in top if nd.slow]

    def find(self, path: Tuple[str, ...], root: Optional[RootKey] = None) -> List[CallNode]:
        """Nodes at ``path`` under one root, or under every root."""
        roots = [self.roots[root]] if root is not None and root in self.roots else []
        if root is None:
            roots = list(self.roots.values())
        out = []
        for r in roots:
            node: Optional[CallNode] = r
            for name in path:
                node = node.get(name) if node is not None else None
            if node is not None and node is not r:
                out.append(node)
        return out

    def reset(self) -> None:
        """Forget everything (e.g. after the filter changed)."""
        self.__init__(self.group_by, self.keep_slowest, self.max_nodes)  # type: ignore[misc]


def _prev_task(fields: Optional[str]) -> Optional[Tuple[str, int]]:
    """(comm, pid) of ``prev`` in a switch record's ``prev-pid => next-pid`` text."""
    if not fields or "=>" not in fields:
        return None
    prev = fields.split("=>", 1)[0].strip()
    comm, _, pid = prev.rpartition("-")
    return (comm.strip(), int(pid)) if pid.isdigit() else None


def flatten(
    root: CallNode,
    is_open: Callable[[CallNode], bool],
    key: Optional[Callable[[CallNode], float]] = None,
) -> List[CallNode]:
    """The visible rows of a collapsible tree: ``root``'s descendants, each
    node's children shown only when ``is_open(node)``.

    Args:
        key: sort siblings by this, largest first (e.g. ``lambda n: n.total_us``);
            None keeps first-seen order.
    """
    out: List[CallNode] = []

    def kids(n: CallNode) -> List[CallNode]:
        return sorted(n.children, key=key, reverse=True) if key else n.children

    stack = list(reversed(kids(root)))
    while stack:
        node = stack.pop()
        out.append(node)
        if node.children and is_open(node):
            stack.extend(reversed(kids(node)))
    return out
