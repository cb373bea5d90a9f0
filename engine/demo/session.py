"""Demo backend: a real :class:`Session` over a simulated tracefs that replays real captures.

``ftop --demo`` needs no root and no tracefs. :func:`open_demo` builds a
temporary directory shaped like tracefs (``current_tracer``, ``events/...``,
``per_cpu/...``) from the captures bundled in ``data/``, and a
:class:`DemoTracefs` over it that answers writes the way the recorded kernel
did: enabling an event updates ``set_event`` and the system's ``enable``,
a bad event filter is refused with EINVAL and an ``error_log`` entry with its
caret line, an unknown function name in ``set_ftrace_filter`` is EINVAL.
Everything above that (transactions, journal, polling, the ring and the
aggregates) is the engine's own code, unchanged. Instead of ``trace_pipe`` a
replay thread feeds the captured lines that match the current settings
(tracer, enabled events, event filters evaluated on the recorded fields, the
function filters, ``max_graph_depth``, ``tracing_cpumask``, ``tracing_on``) into
the ring, at a realistic rate, with timestamps that move on. The recorded LOST
markers stay only while the replay is the recorded stream itself: narrowed, or
with a bigger buffer, those events would not have been lost. What the replay
cannot act on (triggers never fire, pid lists) it says in
:meth:`DemoSession.replay_notes`, which the dashboard shows.

For tests and screenshots, ``realtime=False`` freezes the clock and the
replay: the ring is filled once, deterministically, and :meth:`DemoSession.pump`
pushes more lines on demand.

The simulated kernel is demo/kernel.py (its ftrace files demo/ftrace.py, its event
filter check and evaluation demo/event_filter.py, its probe argument check
demo/probe_args.py, the captures demo/captures.py); the narrowed function_graph is
demo/graph_replay.py; this module is the replay and the session around it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ftop.engine.control.session import Recovery, Session
from ftop.engine.control.state import RestoreReport
from ftop.engine.demo.captures import DemoData
from ftop.engine.demo.kernel import DemoKernel, DemoTracefs, _build_tree
from ftop.engine.stream import grammar
from ftop.engine.stream.ring import Ring

if TYPE_CHECKING:
    from ftop.engine.demo.event_filter import Predicate

# The replay's filter evaluation (demo/event_filter.py) and function_graph narrowing
# (demo/graph_replay.py) are imported when the replay first selects lines, after the
# first frame (issue 10).

__all__ = ["FROZEN_AT", "DemoSession", "Replay", "open_demo"]

# The frozen clock of a non-realtime demo (any fixed value; 2026-01-01 UTC).
FROZEN_AT = 1767225600.0
_FROZEN_SHAPE = (31, 44, 38, 61, 52, 70, 41, 66, 58, 49)

_LINE = re.compile(
    r"^(?P<pre>.*?" + grammar.CTX_PID_SP + r"\[(?P<cpu>\d+)\] +(?:[^\s:]+ +)?)"
    r"(?P<ts>" + grammar.TS_DOTTED + r")(?P<post>: (?P<name>" + grammar.NAME + r")(?P<tail>.?).*)$"
)
_GRAPH_NAME = re.compile(
    r"\|\s+(?:"
    + grammar.GRAPH_COMMENT_OPEN
    + r"(?P<ev>"
    + grammar.NAME
    + r"):)?(?P<fn>"
    + grammar.NAME
    + r")?\(?"
)
_LOST = grammar.LOST_RE
_CTX = re.compile(r"^\s*(?P<comm>.*)-(?P<pid>\d+) +(?:\(.*?\) +)?\[")


@dataclass
class _Line:
    pre: str
    ts: Optional[float]
    post: str
    name: Optional[str]
    event: bool
    cpu: Optional[int]
    lost: int = 0
    # The context's "comm-pid" and the event's printed text (for event filters).
    comm: str = ""
    pid: int = -1


def _classify(
    line: str, event_system: Dict[str, str], graph_cpu: Callable[[str], Optional[int]]
) -> _Line:
    m = _LINE.match(line)
    if m:
        name = m.group("name")
        tail = m.group("tail")
        event = tail == ":"
        if name.startswith("sys_") and tail in ("(", " "):
            # Syscall events print as "sys_read(fd: 3...)" and "sys_read -> 0x0".
            guess = ("sys_enter_" if tail == "(" else "sys_exit_") + name[4:]
            if guess in event_system:
                name, event = guess, True
        ctx = _CTX.match(m.group("pre"))
        return _Line(
            m.group("pre"),
            float(m.group("ts")),
            m.group("post"),
            name,
            event,
            int(m.group("cpu")),
            comm=ctx.group("comm") if ctx else "",
            pid=int(ctx.group("pid")) if ctx else -1,
        )
    m2 = _LOST.match(line)
    if m2:
        return _Line(line, None, "", None, False, int(m2.group("cpu")), int(m2.group("lost")))
    g = _GRAPH_NAME.search(line)
    cpu = graph_cpu(line)
    if g and (g.group("ev") or g.group("fn")):
        return _Line(line, None, "", g.group("ev") or g.group("fn"), bool(g.group("ev")), cpu)
    return _Line(line, None, "", None, False, cpu)


def _fields_of_line(x: _Line, printed_fields: Callable[[str], Dict[str, str]]) -> Dict[str, str]:
    """The fields a filter may name, as the recorded line prints them."""
    text = x.post.split(": ", 2)[-1] if x.post.count(": ") >= 2 else ""
    out = printed_fields(text)
    out.setdefault("common_pid", str(x.pid))
    out.setdefault("COMM", x.comm)
    if x.cpu is not None:
        out.setdefault("CPU", str(x.cpu))
    return out


def _read_text(path: Path) -> Optional[str]:
    try:
        return path.read_text()
    except OSError:
        return None


def _read_int(path: Path) -> Optional[int]:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class Replay:
    """Feeds the captured lines that match the kernel's settings into ``emit``."""

    def __init__(
        self,
        kernel: DemoKernel,
        emit: Callable[[Sequence[str]], None],
        rate: float = 2000.0,
    ) -> None:
        self.kernel = kernel
        self.emit = emit
        self.rate = rate
        self._parsed: Dict[str, List[_Line]] = {}
        self._sel: List[_Line] = []
        self._sel_gen = -1
        self._recorded: Optional[Set[str]] = None
        # What the replay cannot apply of the current settings, in words (shown on screen).
        self.notes: List[str] = []
        self._pos = 0
        self._debt = 0.0
        self._stop = threading.Event()
        # The selection is rebuilt by whoever asks first (the replay thread's take, or
        # the UI asking for the notes): one at a time, never under a take in progress.
        self._guard = threading.RLock()
        self._thread: Optional[threading.Thread] = None
        self.last_step = kernel.clock()

    def parsed(self, name: str) -> List[_Line]:
        if name not in self._parsed:
            from ftop.engine.demo.graph_replay import graph_cpu

            es = self.kernel.event_system
            self._parsed[name] = [
                _classify(ln, es, graph_cpu) for ln in self.kernel.data.source(name)
            ]
        return self._parsed[name]

    def current_notes(self) -> List[str]:
        """What the replay cannot apply of the kernel's settings now."""
        with self._guard:
            self._select()
            return list(self.notes)

    def _select(self) -> None:
        from ftop.engine.demo.graph_replay import GraphLimits, graph_cpu, narrow_graph

        k = self.kernel
        with k.lock:
            gen = k.generation
            if gen == self._sel_gen:
                return
            tracer = k.tracer
            enabled = {e.split("/", 1)[1] for e in k.enabled}
            lists = {name: set(v) for name, v in k.func_lists.items()}
            filters = dict(k.filters)
            depth = _read_int(k.path("max_graph_depth"))
            buffer_kb = _read_int(k.path("buffer_size_kb"))
            cpus = k.cpumask()
        self._sel_gen = gen
        notes: List[str] = []
        sources = k.data.source_names()
        narrowed = False
        if tracer != "nop" and tracer in sources:
            lines = self.parsed(tracer)
            funcs, notrace = lists["set_ftrace_filter"], lists["set_ftrace_notrace"]
            if tracer == "function" and (funcs or notrace):
                narrowed = True
                lines = [
                    x
                    for x in lines
                    if x.lost
                    or x.event
                    or ((not funcs or x.name in funcs) and x.name not in notrace)
                ]
            elif tracer == "function_graph":
                limits = GraphLimits(
                    funcs,
                    notrace,
                    lists["set_graph_function"],
                    lists["set_graph_notrace"],
                    depth or 0,
                )
                if limits.narrowed:
                    narrowed = True
                    es = k.event_system
                    raw = k.data.source(tracer)
                    lines = [_classify(ln, es, graph_cpu) for ln in narrow_graph(raw, limits)]
        elif "events" in sources:
            lines = [x for x in self.parsed("events") if x.lost or (x.event and x.name in enabled)]
            narrowed = not self._recorded_events() <= enabled
            if filters:
                lines, unknown = self._filtered(lines, filters)
                narrowed = True
                notes.extend(unknown)
        else:
            lines = []
        if cpus != set(range(k.data.cpus)):
            # tracing_cpumask: the other CPUs record nothing (their losses neither).
            lines = [x for x in lines if x.cpu is None or x.cpu in cpus]
        recorded_kb = int(k.data.meta.get("initial", {}).get("buffer_size_kb", 1408))
        if narrowed or (buffer_kb is not None and buffer_kb > recorded_kb):
            # The recorded losses happened at the recorded rate into the recorded
            # buffer: fewer events, or a bigger buffer, would not have lost them.
            lines = [x for x in lines if not x.lost]
        notes.extend(self._unapplied())
        self._sel = lines
        self.notes = notes
        self._pos = self._pos % len(lines) if lines else 0

    def _unapplied(self) -> List[str]:
        """What the kernel accepted that the replay of recorded lines cannot act on."""
        k = self.kernel
        out: List[str] = []
        with k.lock:
            if any(k.triggers.values()) or k.ftrace.triggers:
                out.append("triggers are set and listed, but the replay never fires them")
            if any(k.ftrace.pids.values()) or (_read_text(k.path("set_event_pid")) or "").strip():
                out.append("pid lists are set, but the replay shows every task's lines")
        return out

    def _recorded_events(self) -> Set[str]:
        """The events the capture holds (the replay is narrowed without any of them)."""
        if self._recorded is None:
            self._recorded = {x.name for x in self.parsed("events") if x.event and x.name}
        return self._recorded

    def _filtered(
        self, lines: List[_Line], filters: Dict[str, str]
    ) -> Tuple[List[_Line], List[str]]:
        """Lines that pass their event's filter, evaluated on the fields the line prints.

        A filter on a field the recorded line does not print cannot be judged:
        the line stays and a note says so (the kernel would judge the binary
        field; the capture kept only its text)."""
        from ftop.engine.demo.event_filter import (
            FilterError,
            _fields_of,
            compile_filter,
            printed_fields,
        )

        es = self.kernel.event_system
        data = self.kernel.data
        tests: Dict[str, Predicate] = {}
        for key, text in filters.items():
            system, _, event = key.partition("/")
            try:
                tests[event] = compile_filter(text, _fields_of(data.format(system, event)))
            except FilterError:
                continue  # the kernel refused it when written; never stored
        out: List[_Line] = []
        unknown: Set[str] = set()
        for x in lines:
            test = tests.get(x.name or "") if x.event else None
            if test is None:
                out.append(x)
                continue
            verdict = test(_fields_of_line(x, printed_fields))
            if verdict is None:
                unknown.add(f"{es.get(x.name or '', '?')}/{x.name}")
            if verdict is not False:
                out.append(x)
        notes = [
            f"{name}: its filter names a field the recorded lines do not print; "
            "the replay shows the event unfiltered"
            for name in sorted(unknown)
        ]
        return out, notes

    def take(self, n: int, uptime_from: float, uptime_to: float) -> List[str]:
        """The next ``n`` selected lines, timestamps spread over the given interval."""
        with self._guard:
            return self._take(n, uptime_from, uptime_to)

    def _take(self, n: int, uptime_from: float, uptime_to: float) -> List[str]:
        self._select()
        sel = self._sel
        if not sel or n <= 0:
            return []
        with self.kernel.lock:
            if not self.kernel.tracing_on:
                return []
            markers = self.kernel.markers[:]
            self.kernel.markers.clear()
        out: List[str] = []
        step = (uptime_to - uptime_from) / max(n, 1)
        ts = uptime_from
        entries, overrun = self.kernel.entries, self.kernel.overrun
        ncpu = len(entries)
        for _ in range(n):
            x = sel[self._pos]
            self._pos = (self._pos + 1) % len(sel)
            ts += step
            if x.ts is None:
                out.append(x.pre)
            else:
                out.append(f"{x.pre}{ts:.6f}{x.post}")
            if x.cpu is not None and x.cpu < ncpu:
                if x.lost:
                    overrun[x.cpu] += x.lost
                else:
                    entries[x.cpu] += 1
        for text in markers:
            out.append(
                f"{'ftop':>16}-{1:<7} [000] .....  {uptime_to:.6f}: tracing_mark_write: {text}"
            )
        return out

    def step(self) -> None:
        now = self.kernel.clock()
        dt = max(0.0, now - self.last_step)
        self.last_step = now
        self._debt += dt * self.rate
        n = int(self._debt)
        self._debt -= n
        up = self.kernel.uptime()
        lines = self.take(n, up - dt, up)
        if lines:
            self.emit(lines)

    def start(self, interval: float = 0.1) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.last_step = self.kernel.clock()

        def run() -> None:
            while not self._stop.wait(interval):
                self.step()

        self._thread = threading.Thread(target=run, name="ftop-demo-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


# -- the session ------------------------------------------------------------------------


class DemoSession(Session):
    """A :class:`Session` over the simulated tracefs; the replay stands in for trace_pipe."""

    kind = "demo"
    read_only = False

    def __init__(
        self,
        workdir: Path,
        data: DemoData,
        realtime: bool = True,
        ring: Optional[Ring] = None,
        rate: float = 2000.0,
    ) -> None:
        self.workdir = workdir
        self.realtime = realtime
        self._frozen = FROZEN_AT
        clock: Callable[[], float] = time.time if realtime else self._frozen_clock
        root = workdir / "tracefs"
        root.mkdir()
        self.kernel = DemoKernel(root, data, clock)
        _build_tree(self.kernel)
        super().__init__(DemoTracefs(root, self.kernel), journal_dir=workdir / "journal", ring=ring)
        self.data = data
        self._clock = clock
        self.kernel_release = data.release
        self.replay = Replay(self.kernel, self._on_batch, rate=rate)

    @property
    def label(self) -> str:
        return "simulated tracefs, recorded traces"

    def replay_notes(self) -> List[str]:
        """What the replay cannot apply of the current settings (empty: it applies them all)."""
        return self.replay.current_notes()

    def _frozen_clock(self) -> float:
        return self._frozen

    def clock(self) -> float:
        """Wall-clock time, or the frozen instant of a non-realtime demo."""
        return self._clock()

    def _on_batch(self, lines: Sequence[str]) -> None:
        self.ring.extend(lines)
        self.aggregates.ingest(lines, self.clock())
        for fn in self.listeners:
            fn(lines)

    # -- streaming ----------------------------------------------------------------

    def start_stream(self) -> None:
        if self.replay.running:
            return
        if self.ring.next_seq == 0:
            self._prefill()
        if self.realtime:
            self.replay.start()

    def _prefill(self) -> None:
        """Fill the view at once, as a trace that has been running for ten seconds."""
        k = self.kernel
        now = self.clock()
        up = k.uptime()
        # Frozen: a small fixed fill. Realtime: about what the replay goes on with.
        mean = sum(_FROZEN_SHAPE) / len(_FROZEN_SHAPE)
        per_weight = 4.0 if not self.realtime else min(self.replay.rate, 500.0) / mean
        for i, weight in enumerate(_FROZEN_SHAPE):
            age = len(_FROZEN_SHAPE) - 1 - i
            lines = self.replay.take(int(weight * per_weight), up - age - 1, up - age)
            if lines:
                self.ring.extend(lines)
                self.aggregates.ingest(lines, now - age)
        self.replay.last_step = now

    def pump(self, n: int) -> int:
        """Push ``n`` more lines now (tests); returns how many there were to push."""
        up = self.replay.kernel.uptime()
        lines = self.replay.take(n, up, up + 0.001 * n)
        if lines:
            self._on_batch(lines)
        return len(lines)

    def stop_stream(self) -> None:
        self.replay.stop()

    def use_instance(self, name: Optional[str]) -> None:
        with self._lock:  # as the live switch: a restore waits for it
            super().use_instance(name)
            self._follow_instance()

    def _follow_instance(self) -> None:
        kernel = self.tfs.kernel if isinstance(self.tfs, DemoTracefs) else self.kernel
        if self.replay.kernel is not kernel:
            # Another instance: its own buffer, fed from its own settings (the replay
            # stands in for its trace_pipe).
            running = self.replay.running
            self.replay.stop()
            self.replay = Replay(kernel, self._on_batch, rate=self.replay.rate)
            if running:
                self.replay.start()

    def recover(self) -> List[Recovery]:
        return []

    def restore(self) -> Optional[RestoreReport]:
        """Put the simulated tracefs back through the live session's own restore (journal,
        phases and all, so the TUI tests exercise it), then remove it."""
        with self._lock:
            try:
                return super().restore()
            finally:
                self.remove_workdir()

    def remove_workdir(self) -> None:
        """Remove the simulated tracefs and the demo's journal folder."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def open_demo(
    realtime: bool = True,
    data: Optional[DemoData] = None,
    ring: Optional[Ring] = None,
    rate: float = 2000.0,
) -> DemoSession:
    """Build a demo session over a fresh temporary tracefs (removed by ``restore()``)."""
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    workdir = Path(tempfile.mkdtemp(prefix="ftop-demo-", dir=base))
    try:
        return DemoSession(
            workdir, data or DemoData.load(), realtime=realtime, ring=ring, rate=rate
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
