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

The tree is broken where the stream is: after a LOST marker, or after a
switch to a task whose open calls the trace never showed, the calls whose
callers are unknown hang under a break node (:data:`BREAK_LOST`,
:data:`BREAK_SWITCH`) instead of under callers seen before the break. Unknown
callers are private to the stretch of stream that created them until they
close: two unrelated stretches never share one ``?`` that a later
``funcgraph-tail`` comment would then name for both.

:class:`TreeFeed` feeds a graph from the ring a slice at a time, so that a
UI can build a tree from a million lines off its event loop, show progress
and stop between slices.

One piece on purpose (about 700 lines): the per-task stacks, the unknown callers
and the break nodes are one state machine over the line stream; the unit tests
feed it real function_graph captures and check the tree as a whole.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Protocol, Tuple

from ftop.engine.stream.parse import Record, parse_line

__all__ = [
    "BREAKS",
    "BREAK_LOST",
    "BREAK_SWITCH",
    "UNKNOWN",
    "CallGraph",
    "CallNode",
    "SlowCall",
    "TreeFeed",
    "flatten",
    "is_function",
]

#: Name of a caller whose entry the trace does not contain.
UNKNOWN = "?"
#: Break nodes: what follows them had callers the trace lost (a LOST marker),
#: or that ran before the trace showed the task (a context switch).
BREAK_LOST = "[after LOST events]"
BREAK_SWITCH = "[after task switch]"
BREAKS = frozenset((BREAK_LOST, BREAK_SWITCH))


def is_function(node: CallNode) -> bool:
    """A real function: not a root, an unknown caller or a break marker."""
    return node.parent is not None and node.name != UNKNOWN and node.name not in BREAKS


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
        unknown_self: completed calls whose self time is unknown (their entry,
            hence their earlier callees, was not in the trace); ``self_us``
            sums the other calls only.
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
    unknown_self: int = 0
    _by_name: Dict[str, CallNode] = field(default_factory=dict, repr=False)
    # A private node is a child its parent does not look up by name (an unknown
    # caller while its frame is open); ``_moved_to`` is where a merged node went.
    _private: bool = field(default=False, repr=False)
    _moved_to: Optional[CallNode] = field(default=None, repr=False)

    def child(self, name: str) -> CallNode:
        """The callee named ``name``, created on first use."""
        node = self._by_name.get(name)
        if node is None:
            node = CallNode(name, self.depth + 1, self)
            self._by_name[name] = node
            self.children.append(node)
        return node

    def private_child(self, name: str) -> CallNode:
        """A new callee only its creator holds: ``get`` does not find it."""
        node = CallNode(name, self.depth + 1, self, _private=True)
        self.children.append(node)
        return node

    def get(self, name: str) -> Optional[CallNode]:
        return self._by_name.get(name)

    @property
    def self_known(self) -> bool:
        """Some completed call has a known self time."""
        return self.count > self.unknown_self

    def current(self) -> CallNode:
        """Where this node's figures live now (itself unless it was merged)."""
        node = self
        while node._moved_to is not None:
            node = node._moved_to
        return node

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
        parent = self.parent
        if parent is not None:
            parent.children.remove(self)
            if parent._by_name.get(self.name) is self:
                del parent._by_name[self.name]
            self.parent = None

    def _attach(self, parent: CallNode) -> None:
        self.parent = parent
        if not self._private:
            parent._by_name[self.name] = self
        parent.children.append(self)
        self._redepth(parent.depth + 1)

    def _merge_into(self, other: CallNode) -> int:
        """Add this node's figures and subtree to ``other`` (same call path).

        Returns how many nodes were merged away (this one included)."""
        other.count += self.count
        other.total_us += self.total_us
        other.self_us += self.self_us
        other.max_us = max(other.max_us, self.max_us)
        other.open += self.open
        other.partial = other.partial or self.partial
        other.unknown_self += self.unknown_self
        self._moved_to = other
        gone = 1
        for ch in list(self.children):
            ch._detach()
            existing = None if ch._private else other._by_name.get(ch.name)
            if existing is None:
                ch._attach(other)
            else:
                gone += ch._merge_into(existing)
        return gone

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
    """Open calls of one task (or one CPU while its task is unknown).

    ``broken`` names the break node (``BREAK_LOST``, ``BREAK_SWITCH``) under
    which calls with unknown callers go, until the task is back at depth 0;
    ``mark`` is that node once the first such call used it."""

    root: CallNode
    frames: List[_Frame] = field(default_factory=list)
    cpu: Optional[int] = None
    broken: Optional[str] = None
    mark: Optional[CallNode] = None

    def set_break(self, name: Optional[str]) -> None:
        self.broken = name
        self.mark = None


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
                s.set_break(BREAK_LOST)

    def _abandon(self, s: _Stream) -> None:
        frames = s.frames
        while frames:
            self._drop(frames.pop())

    def _drop(self, fr: _Frame) -> None:
        """An open call whose exit will not come: its figures are lower bounds."""
        node = fr.node.current()
        node.open = max(0, node.open - 1)
        node.partial = True
        if fr.placeholder:
            self._settle(node)

    def _settle(self, node: CallNode) -> CallNode:
        """A private unknown caller is done: merge it into its parent's shared ``?``."""
        parent = node.parent
        if not node._private or parent is None:
            return node
        shared = parent.get(node.name)
        if shared is None:
            node._private = False
            parent._by_name[node.name] = node
            return node
        node._detach()
        self.nodes -= node._merge_into(shared)
        return shared

    def _graph(self, rec: Record) -> None:
        gk = rec.graph_kind
        if gk == "switch":
            self._switch(rec)
            return
        if gk == "overrun":
            self.lost_events += rec.lost or 0
            for s in self._streams.values():
                self._abandon(s)
                s.set_break(BREAK_LOST)
            return
        if gk not in ("entry", "exit", "leaf") or rec.depth is None:
            return
        self.lines += 1
        s = self._stream(rec)
        depth = rec.depth
        frames = s.frames
        if depth == 0 and gk != "exit" and s.broken is not None:
            s.set_break(None)  # back at the top: a fresh call, whatever came before
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
                node.unknown_self += 1
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
            node = fr.node.current()
            if fr.placeholder:
                # Its entry was not in the trace: so were callees run before the
                # trace began, and its self time is unknown.
                node = self._rename(node, rec.name) if rec.name else self._settle(node)
                node.partial = True
            node.open = max(0, node.open - 1)
            if dur is None:
                node.partial = True
                node.count += 1
                node.unknown_self += 1
            else:
                own = None if fr.placeholder else max(0.0, dur - fr.child_us)
                self._complete(node, dur, own, s, rec)
            if frames and dur is not None:
                frames[-1].child_us += dur
            return
        # An exit whose entry the trace never showed (it began mid-call, or the
        # entry was lost): count it under its caller, by name when funcgraph-tail
        # gives one; its callees' time is unknown, so self time is not.
        self.orphan_exits += 1
        parent = frames[-1].node.current() if frames else self._base(s)
        node = self._child(parent, rec.name or UNKNOWN)
        node.partial = True
        node.count += 1
        node.unknown_self += 1
        if dur is not None:
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
            node._private = False
            node._attach(parent)
            return node
        self.nodes -= node._merge_into(target)
        return target

    def _unwind(self, frames: List[_Frame], depth: int) -> None:
        """Drop open calls at ``depth`` or deeper: their exits were never printed."""
        while frames and frames[-1].depth >= depth:
            self._drop(frames.pop())

    def _base(self, s: _Stream) -> CallNode:
        """Where a call with no known caller goes: the root, or the break node."""
        if s.broken is None:
            return s.root
        if s.mark is not None:
            return s.mark.current()
        mark = s.root.get(s.broken)
        if mark is None:
            mark = self._child(s.root, s.broken)
            mark.partial = True
        if mark is not s.root:
            mark.count += 1  # one more stretch of stream that began at this break
        s.mark = mark
        return mark

    def _parent(self, s: _Stream, depth: int) -> CallNode:
        """The caller at ``depth - 1``, inventing UNKNOWN callers the trace lacks."""
        frames = s.frames
        top_depth = frames[-1].depth if frames else -1
        parent = frames[-1].node.current() if frames else self._base(s)
        for d in range(top_depth + 1, depth):
            if self.nodes >= self.max_nodes:
                self.dropped += 1
                node = parent
            else:
                self.nodes += 1
                node = parent.private_child(UNKNOWN)
            node.open += 1
            # Past the node cap the caller folds into its parent: not a placeholder
            # a later funcgraph-tail could rename.
            frames.append(_Frame(node, d, placeholder=node is not parent))
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
        self, node: CallNode, dur: float, self_us: Optional[float], s: _Stream, rec: Record
    ) -> None:
        node.count += 1
        node.total_us += dur
        if self_us is None:
            node.unknown_self += 1
        else:
            node.self_us += self_us
        if dur > node.max_us:
            node.max_us = dur
        self._note_slow(node, dur, s, rec)

    def _note_slow(self, node: CallNode, dur: float, s: _Stream, rec: Record) -> None:
        if self.keep_slowest <= 0 or not is_function(node):
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
        # The task switched in resumes calls the trace never showed opening (it was
        # switched out before the trace began, or its lines were lost): what it
        # returns through must not join the calls of whoever ran before.
        key: RootKey = ("task", pid)
        s = self._streams.get(key)
        if s is None:
            s = _Stream(self._root_for(cpu, pid), cpu=cpu)
            self._streams[key] = s
        if not s.frames:
            s.set_break(BREAK_SWITCH)

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
            old_root.depth = s.root.depth
            self.nodes -= old_root._merge_into(s.root) - 1  # roots are not counted
            for fr in anon.frames:
                fr.node = fr.node.current()
        if anon.frames and not s.frames:
            s.frames = anon.frames
            s.broken, s.mark = anon.broken, anon.mark

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
        # An unknown caller or a break marker is not a call one can look into.
        calls = [node for node in every if is_function(node)]
        top = heapq.nlargest(n, calls, key=lambda nd: nd.max_us)
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


class RingLines(Protocol):
    """What :class:`TreeFeed` reads: a :class:`~ftop.engine.stream.ring.Ring`."""

    @property
    def first_seq(self) -> int: ...

    @property
    def next_seq(self) -> int: ...

    def window(self, start_seq: int, count: int) -> List[str]: ...


class TreeFeed:
    """A :class:`CallGraph` and how far into a ring it has read.

    ``step`` feeds one slice, so the caller decides when to stop (a newer
    build, the screen left) and can show ``done`` of ``pending()`` between
    slices. Not thread-safe by itself: one thread steps it at a time.

    Args:
        graph: the tree to grow.
        ring: where the lines are.
        seq: the first line to read; None starts at the oldest line held.
    """

    def __init__(self, graph: CallGraph, ring: RingLines, seq: Optional[int] = None) -> None:
        self.graph = graph
        self.ring = ring
        self.seq = ring.first_seq if seq is None else seq
        #: Lines evicted from the ring before they were read.
        self.skipped = 0

    def pending(self) -> int:
        """Lines in the ring not fed yet."""
        return max(0, self.ring.next_seq - max(self.seq, self.ring.first_seq))

    def step(self, max_lines: int) -> int:
        """Feed up to ``max_lines`` lines; return how many (0: caught up)."""
        first = self.ring.first_seq
        if self.seq < first:
            self.skipped += first - self.seq
            self.seq = first
        lines = self.ring.window(self.seq, max_lines)
        if lines:
            self.graph.feed_lines(lines)
            self.seq += len(lines)
        return len(lines)

    def skip_to_end(self) -> int:
        """Stop reading the backlog: continue from the ring's next line; return how many
        lines were passed over."""
        passed = self.pending()
        self.seq = self.ring.next_seq
        return passed


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
