"""Live aggregates over a sliding window: events/s in total, per CPU, per event, per function, and loss.

The hot path is ``Aggregates.ingest``: it works on a whole batch of lines at
once (join, a few ``re.findall`` over the chunk, ``collections.Counter``), so
the per-line work is done in C, never in a Python loop. What it extracts is
deliberately shallow (the CPU column and the first word of the body); full
field parsing is ``ftop.engine.stream.parse``'s job, on demand.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ftop.engine.stream import grammar as g

__all__ = [
    "AggregateSnapshot",
    "Aggregates",
    "CpuLoss",
    "NameRate",
    "parse_cpu_stats",
]

# -- per-chunk extraction ------------------------------------------------------
#
# The patterns run over the batch joined and encoded to bytes (about 1.4x faster
# than over str); captured names stay bytes in the counters and are decoded per
# distinct name when a snapshot is taken.

# Default context (trace_print_context, see ftop.engine.stream.grammar):
# "comm-pid [(tgid)] [cpu] [flags] ts: body".
# One match per context line: the first word of the body, keeping its ':' when
# it is an event ("sched_switch:") and without when it is a function
# ("vfs_read", from "vfs_read+0x4/0x150 <-..."). A body that starts otherwise
# ("<stack trace>") gives b"" and counts only towards the totals.
#
# The usual timestamp is "secs.usecs"; anchoring on ": " preceded by ".dddddd"
# lets the regex engine scan for the literal ':' and runs about twice as fast
# as a pattern that walks the context from the "[cpu]" column. Counter clocks
# print the timestamp without a dot and take the slower, general pattern.
#
# Each pattern swallows the rest of its line (".*" stops at the newline and
# costs little) so that text in an event's payload cannot be counted again.
#
# Syscall events print no "name:" (kernel/trace/trace_syscalls.c): the enter
# event as "sys_read(fd: 3, ...)" or "sys_getpid()", the exit event as
# "sys_read -> 0x154". The first word then keeps "(" with the first argument's
# name (a function's func-args "name(arg=val)" does not match) or " ->", and
# ``_name_of`` turns it into the event's name, as the line parser does.
_NAME = rb"([\w.$]*(?::|\((?:\)|[^():=\n]+: )| ->)?)"
_CTX_NAME_FIND = re.compile(rb":(?<=\.\d{6}:) " + _NAME + rb".*")
_CTX_NAME_FIND_ANY_CLOCK = re.compile(g.CTX_CPU_SP.encode() + rb" [^:\n\[]*\d: " + _NAME + rb".*")
# The CPU column of the same lines.
_CTX_CPU_FIND = re.compile(rb"\[(\d+)\] .*")
# Latency-format context (trace_print_lat_context): "comm-pid cpu+flags rel[us][mark]: body";
# findall gives (task, cpu, name).
_LAT_FIND = re.compile(
    (r"^ *(" + g.LAT_COMM + r"-\d+) +(\d+)" + g.IRQS_OFF + r"\S*" + g.LAT_DELAY_SP).encode()
    + _NAME,
    re.MULTILINE,
)
# The wakeup tracers' own context-switch and wakeup records (trace_ctxwake_print),
# " prev_pid:prio:S ==> [cpu] next_pid:prio:S comm" and "...   + [cpu] ...": they
# have no event name, so they are counted as sched_switch and sched_wakeup, as
# the line parser names them.
_CTXWAKE_FIND = re.compile(
    (r": +" + g.CTXWAKE_TASK_SP + r" +(" + g.CTXWAKE_OP + r") \[.*").encode()
)
_CTXWAKE_NAMES = {b"==>": b"sched_switch:", b"+": b"sched_wakeup:"}
# function_graph: a line with a "N) " CPU column and a "|" after it (entries,
# leaves, exits, comments; not the context-switch banner).
_GRAPH_CPU_FIND = re.compile((r"^" + g.GRAPH_ABS_SP + r"(\d+)\)[^|\n]*\|").encode(), re.MULTILINE)
# function_graph calls, counted on entry and leaf: "|  <indent>name(" or,
# for a module's function, "|  <indent>name [module](".
_GRAPH_FUNC_FIND = re.compile(
    (g.GRAPH_BAR_SP + r"(" + g.NAME + r")" + g.SYM_MODULE + r"\(.*").encode()
)
# Events shown as graph comments: "|  <indent>/* name: ..." (or a syscall's
# "/* sys_read(fd: 3...) */", "/* sys_read -> 0x154 */").
_GRAPH_EVENT_FIND = re.compile(
    (
        g.GRAPH_BAR_SP
        + g.GRAPH_COMMENT_OPEN
        + r"("
        + g.NAME
        + r":|sys_\w+(?:\((?:\)|[^():=\n]+: )| ->)).*"
    ).encode()
)
# The pid of the same lines: the "-digits" before the CPU column (and the tgid, with
# record-tgid). As fast as the CPU pattern; matching the comm too ("%16s", right-
# aligned, spaces and dashes allowed) would cost a lazy scan from each line's start,
# so the comm is looked up once per new pid (``_comm_of``).
_CTX_PID_FIND = re.compile(rb"-(\d+) +(?:\( *[-\d]+\) +)?\[\d+\] .*")
# "CPU:N [LOST M EVENTS]": findall gives (cpu, lost) pairs.
_LOST_FIND = g.LOST_B

_GRAPH_HINT = re.compile(g.GRAPH_ABS_SP + r"\d+\) ")
_CTX_TS_HINT = re.compile(g.CTX_PID_SP + g.CTX_CPU_SP + r" [^:]*?\d+(\.\d{6})?: ")
_LAT_HINT = re.compile(r" *" + g.LAT_COMM + r"-\d+ +\d+" + g.IRQS_OFF + r"\S*" + g.LAT_DELAY_SP)
_SAMPLE = 4
_SCAN = 256

_first = itemgetter(0)
_second = itemgetter(1)
_third = itemgetter(2)


# -- per_cpu/cpuN/stats ---------------------------------------------------------


def parse_cpu_stats(text: str) -> Dict[str, Union[int, float]]:
    """Parse a ``per_cpu/cpuN/stats`` file.

    Keys are as the kernel names them: ``entries``, ``overrun``,
    ``commit overrun``, ``bytes``, ``oldest event ts``, ``now ts``,
    ``dropped events``, ``read events``. Counts are ints, timestamps
    (``... ts``, printed as seconds) floats. Lines that are not ``key: number``
    are skipped, so a kernel that adds a field does not break the parse.
    """
    out: Dict[str, Union[int, float]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if not key or not value:
            continue
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                continue
    return out


# -- results --------------------------------------------------------------------


@dataclass(frozen=True)
class NameRate:
    """A name (event or function) with its count in the window and rate per second."""

    __slots__ = ("count", "name", "rate")

    name: str
    count: int
    rate: float


@dataclass
class CpuLoss:
    """What one CPU lost.

    ``markers`` sums the ``CPU:N [LOST M EVENTS]`` lines the reader saw;
    ``overrun``, ``commit_overrun`` and ``dropped`` are growths of the
    ``per_cpu/cpuN/stats`` counters since the first sample, or since the
    session's start mark (``Aggregates.mark_start``) when there is one (resets
    of the buffer are bridged). Markers and ``overrun`` describe the same overwritten
    events seen from two sides, so ``total`` takes the larger, not the sum.
    """

    markers: int = 0
    overrun: int = 0
    commit_overrun: int = 0
    dropped: int = 0

    @property
    def total(self) -> int:
        return max(self.markers, self.overrun + self.dropped)


@dataclass(frozen=True)
class AggregateSnapshot:
    """A consistent copy of the aggregates at one moment, safe to hand to the UI.

    Attributes:
        now: the time the snapshot describes.
        window_s: configured window length.
        span_s: seconds the window really covers (shorter just after start).
        total: events in the window.
        total_rate: events per second over the window.
        cpu_rates: events per second per CPU.
        top_events: most frequent event names, with counts and rates.
        top_functions: most frequent functions (function and function_graph).
        top_tasks: most frequent tasks ("comm-pid") of lines with the default
            context (not function_graph's, which names no task by default).
        lost_per_cpu: loss per CPU since the aggregates started (since
            ``loss_since`` when a start was marked).
        lost_total: sum of ``CpuLoss.total`` over the CPUs.
        series: events per bucket, oldest first, ``window_s / bucket_s`` long;
            the last bucket is the one still filling.
        bucket_s: width of one ``series`` bucket.
        lifetime_events: events counted since start (not only in the window).
        cpu_stats: the latest parsed ``per_cpu/cpuN/stats`` per CPU.
        sampled: when a raw decoder could not keep up and skipped pages (see
            ``note_sampled``), the fraction of the window's bytes it decoded; the
            counts and rates above are then scaled up from that sample. None when
            every record was counted.
        predates: events that were in the buffer before ftop started reading it
            (``note_predates``): shown, never counted in the rates or totals above.
        predates_unknown: why what predates the start could not be told apart (it
            is then counted as live); None when it could, or nothing predated.
        loss_since: wall time from which ``lost_*`` count (the start of the
            session's reading, ``mark_start``); None when no start was marked (a
            demo, a saved file: their loss is what they replay or hold).
        lost_before: events the buffer had lost before ``loss_since`` (its
            ``overrun`` and ``dropped events`` at the mark), per CPU in
            ``lost_before_per_cpu``; never part of ``lost_total``.
    """

    now: float
    window_s: float
    span_s: float
    total: int
    total_rate: float
    cpu_rates: Dict[int, float]
    top_events: List[NameRate]
    top_functions: List[NameRate]
    lost_per_cpu: Dict[int, CpuLoss]
    lost_total: int
    series: List[int]
    bucket_s: float
    lifetime_events: int
    cpu_stats: Dict[int, Dict[str, Union[int, float]]] = field(default_factory=dict)
    sampled: Optional[float] = None
    top_tasks: List[NameRate] = field(default_factory=list)
    predates: int = 0
    predates_unknown: Optional[str] = None
    loss_since: Optional[float] = None
    lost_before: int = 0
    lost_before_per_cpu: Dict[int, int] = field(default_factory=dict)


class _Bucket:
    __slots__ = ("cpus", "decoded", "funcs", "names", "skipped", "tasks", "total")

    def __init__(self) -> None:
        self.total = 0
        # Bytes of raw pages decoded and skipped in this bucket (note_sampled).
        self.decoded = 0
        self.skipped = 0
        self.cpus: Counter[bytes] = Counter()
        # First word of bodies: b"name:" for events, b"name" for functions.
        self.names: Counter[bytes] = Counter()
        self.funcs: Counter[bytes] = Counter()
        self.tasks: Counter[bytes] = Counter()


@dataclass
class _StatsTrack:
    base: Dict[str, int] = field(default_factory=dict)
    last: Dict[str, int] = field(default_factory=dict)
    carried: Dict[str, int] = field(default_factory=dict)


_STAT_KEYS = ("overrun", "commit overrun", "dropped events")


class Aggregates:
    """Sliding-window counters fed with batches of raw trace lines.

    ``ingest`` is called from the reader thread, ``snapshot`` from the UI
    thread; a lock guards the counters, and the regex work of ``ingest`` runs
    outside it.

    Args:
        window_s: length of the sliding window in seconds.
        bucket_s: width of one bucket; the window keeps
            ``ceil(window_s / bucket_s)`` buckets, the newest still filling.
        top_n: how many names ``snapshot`` lists in ``top_events`` and
            ``top_functions`` unless asked otherwise.
    """

    def __init__(self, window_s: float = 10.0, bucket_s: float = 1.0, top_n: int = 10) -> None:
        if bucket_s <= 0 or window_s < bucket_s:
            raise ValueError("need 0 < bucket_s <= window_s")
        self.window_s = float(window_s)
        self.bucket_s = float(bucket_s)
        self.top_n = top_n
        self._nbuckets = max(1, math.ceil(window_s / bucket_s - 1e-9))
        self._buckets: Dict[int, _Bucket] = {}
        self._t0: Optional[float] = None
        self._lifetime = 0
        self._markers: Counter[int] = Counter()
        self._stats: Dict[int, _StatsTrack] = {}
        self._cpu_stats: Dict[int, Dict[str, Union[int, float]]] = {}
        # pid (bytes, as matched) -> the task name last seen with it.
        self._comms: Dict[bytes, str] = {}
        # What predates the session's start (ftop.engine.stream.predates).
        self._predates = 0
        self._predates_unknown: Optional[str] = None
        self._loss_since: Optional[float] = None
        self._lost_before: Dict[int, int] = {}
        self._lock = threading.Lock()

    # -- feeding ------------------------------------------------------------------

    def ingest(self, lines: Sequence[str], now: float) -> None:
        """Count one batch of raw lines as arriving at time ``now`` (seconds)."""
        if not lines:
            return
        chunk = "\n".join(lines).encode("utf-8", "surrogateescape")
        # Lists of matches; Counter.update() counts a list in C (a Counter
        # argument would be merged key by key in Python).
        shape = _batch_shape(lines)
        name_find = _CTX_NAME_FIND_ANY_CLOCK if shape == "counter" else _CTX_NAME_FIND
        names = name_find.findall(chunk)
        total = len(names)
        cpus = _CTX_CPU_FIND.findall(chunk) if total else []
        tasks = _CTX_PID_FIND.findall(chunk) if total else []
        funcs: List[bytes] = []
        more_cpus: List[bytes] = []
        more_names: List[bytes] = []

        if shape == "graph":
            more_cpus = _GRAPH_CPU_FIND.findall(chunk)
            funcs = _GRAPH_FUNC_FIND.findall(chunk)
            more_names = _GRAPH_EVENT_FIND.findall(chunk)
            total += len(more_cpus)
        elif shape == "latency":
            lat = _LAT_FIND.findall(chunk)
            more_cpus = list(map(_second, lat))
            more_names = list(map(_third, lat))
            for task in map(_first, lat):
                comm, _, pid = task.rpartition(b"-")
                tasks.append(pid)
                self._comms.setdefault(pid, comm.strip().decode("utf-8", "surrogateescape"))
            more_names += map(_CTXWAKE_NAMES.__getitem__, _CTXWAKE_FIND.findall(chunk))
            total += len(lat)

        # A LOST marker is not a record line; when every line was one (the usual
        # stream), the batch cannot hold a marker and the scan is skipped.
        lost: List[Tuple[bytes, bytes]] = []
        if total < len(lines) and b"LOST" in chunk:
            lost = _LOST_FIND.findall(chunk)

        comms = self._comms
        if len(comms) > 65536:
            comms.clear()  # bounded: pids come and go on a long run
        for pid in set(tasks).difference(comms):
            comms[pid] = _comm_of(chunk, pid)

        idx = math.floor(now / self.bucket_s)
        with self._lock:
            if self._t0 is None:
                self._t0 = now
            bucket = self._buckets.get(idx)
            if bucket is None:
                bucket = self._buckets[idx] = _Bucket()
                self._prune_locked(idx)
            bucket.total += total
            bucket.cpus.update(cpus)
            bucket.names.update(names)
            bucket.tasks.update(tasks)
            if more_cpus:
                bucket.cpus.update(more_cpus)
            if more_names:
                bucket.names.update(more_names)
            if funcs:
                bucket.funcs.update(funcs)
            self._lifetime += total
            for cpu, count in lost:
                self._markers[int(cpu)] += int(count)

    def note_sampled(
        self, decoded_bytes: int, skipped_bytes: int, now: Optional[float] = None
    ) -> None:
        """A raw decoder decoded ``decoded_bytes`` of pages and skipped ``skipped_bytes``
        (it could not keep up): the bucket's counts are a sample, scaled in snapshots."""
        if now is None:
            now = time.time()
        idx = math.floor(now / self.bucket_s)
        with self._lock:
            bucket = self._buckets.get(idx)
            if bucket is None:
                bucket = self._buckets[idx] = _Bucket()
                self._prune_locked(idx)
            bucket.decoded += decoded_bytes
            bucket.skipped += skipped_bytes

    def update_cpu_stats(self, cpu: int, parsed: Dict[str, Union[int, float]]) -> None:
        """Record one poll of ``per_cpu/cpu<cpu>/stats`` (as ``parse_cpu_stats`` returns it)."""
        with self._lock:
            self._cpu_stats[cpu] = dict(parsed)
            track = self._stats.get(cpu)
            if track is None:
                track = self._stats[cpu] = _StatsTrack()
            for key in _STAT_KEYS:
                value = parsed.get(key)
                if value is None:
                    continue
                v = int(value)
                if key not in track.base:
                    track.base[key] = v
                elif v < track.last.get(key, 0):
                    # The buffer was reset (tracer change, buffer resize): keep
                    # what was counted so far and count the new epoch from 0.
                    track.carried[key] = (
                        track.carried.get(key, 0) + track.last[key] - track.base[key]
                    )
                    track.base[key] = 0
                track.last[key] = v

    def mark_start(self, wall: float, stats: Dict[int, Dict[str, Union[int, float]]]) -> None:
        """The session starts reading a buffer whose per-CPU stats are ``stats``: loss
        counts from them (what the buffer had lost before is ``lost_before``, not loss
        of this session), from ``wall`` on. A second mark (another buffer) keeps what
        was counted so far and the first mark's time."""
        with self._lock:
            if self._loss_since is None:
                self._loss_since = wall
            self._lost_before = {}
            for cpu, parsed in stats.items():
                self._cpu_stats[cpu] = dict(parsed)
                track = self._stats.setdefault(cpu, _StatsTrack())
                for key in _STAT_KEYS:
                    value = parsed.get(key)
                    if value is None:
                        continue
                    if key in track.base:
                        track.carried[key] = (
                            track.carried.get(key, 0) + track.last[key] - track.base[key]
                        )
                    track.base[key] = track.last[key] = int(value)
                self._lost_before[cpu] = int(parsed.get("overrun", 0)) + int(
                    parsed.get("dropped events", 0)
                )

    def note_predates(self, events: int) -> None:
        """``events`` more were in the buffer before the session started (not ingested)."""
        with self._lock:
            self._predates += events

    def note_predates_unknown(self, why: str) -> None:
        """What predates the start cannot be told from live events, because ``why``."""
        with self._lock:
            self._predates_unknown = why

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self._buckets.clear()
            self._t0 = None
            self._lifetime = 0
            self._markers.clear()
            self._stats.clear()
            self._cpu_stats.clear()
            self._predates = 0
            self._predates_unknown = None
            self._loss_since = None
            self._lost_before = {}

    # -- reading ------------------------------------------------------------------

    def snapshot(self, now: float, top_n: Optional[int] = None) -> AggregateSnapshot:
        """Summarise the window ending at ``now``."""
        n = self.top_n if top_n is None else top_n
        idx = math.floor(now / self.bucket_s)
        first_idx = idx - self._nbuckets + 1
        with self._lock:
            self._prune_locked(idx)
            # Copy under the lock (dict copies run in C), merge outside it, so
            # the reader thread is never held up by a snapshot.
            held = [
                (
                    i,
                    b.total,
                    Counter(b.cpus),
                    Counter(b.names),
                    Counter(b.funcs),
                    Counter(b.tasks),
                    b.decoded,
                    b.skipped,
                )
                for i, b in self._buckets.items()
                if first_idx <= i <= idx
            ]
            t0 = self._t0
            lifetime = self._lifetime
            losses = self._losses_locked()
            cpu_stats = {c: dict(st) for c, st in self._cpu_stats.items()}
            predates, predates_unknown = self._predates, self._predates_unknown
            loss_since, lost_before = self._loss_since, dict(sorted(self._lost_before.items()))

        series = [0] * self._nbuckets
        total = 0
        cpus: Counter[bytes] = Counter()
        names: Counter[bytes] = Counter()
        funcs: Counter[bytes] = Counter()
        all_decoded = all_skipped = 0
        tasks: Counter[bytes] = Counter()
        for i, b_total, b_cpus, b_names, b_funcs, b_tasks, decoded, skipped in held:
            all_decoded += decoded
            all_skipped += skipped
            if skipped and decoded:
                # A sampled bucket stands for all its pages: scale its counts up.
                w = (decoded + skipped) / decoded
                b_total = round(b_total * w)
                for c in (b_cpus, b_names, b_funcs, b_tasks):
                    for k in c:
                        c[k] = round(c[k] * w)
            series[i - first_idx] = b_total
            total += b_total
            cpus.update(b_cpus)
            names.update(b_names)
            funcs.update(b_funcs)
            tasks.update(b_tasks)
        sampled = None
        if all_skipped and all_decoded + all_skipped:
            sampled = all_decoded / (all_decoded + all_skipped)

        # Seconds the window covers: from the start of its oldest bucket, or
        # from the first ingest when that came later; at least one bucket so a
        # snapshot taken right after the first batch does not spike.
        span = 0.0
        if t0 is not None:
            span = max(now - max(first_idx * self.bucket_s, t0), self.bucket_s)

        events: Counter[str] = Counter()
        functions: Counter[str] = Counter()
        for key, count in names.items():
            if not key:
                continue
            is_event, name = _name_of(key)
            if is_event:
                events[name] += count
            else:
                functions[name] += count
        for key, count in funcs.items():
            functions[key.decode("utf-8", "replace")] += count

        def rate(c: int) -> float:
            return c / span if span > 0 else 0.0

        return AggregateSnapshot(
            now=now,
            window_s=self.window_s,
            span_s=span,
            total=total,
            total_rate=rate(total),
            cpu_rates={int(c): rate(k) for c, k in sorted(cpus.items(), key=lambda x: int(x[0]))},
            top_events=[NameRate(k, c, rate(c)) for k, c in events.most_common(n)],
            top_functions=[NameRate(k, c, rate(c)) for k, c in functions.most_common(n)],
            lost_per_cpu=losses,
            lost_total=sum(x.total for x in losses.values()),
            series=series,
            bucket_s=self.bucket_s,
            lifetime_events=lifetime,
            cpu_stats=cpu_stats,
            sampled=sampled,
            top_tasks=[
                NameRate(f"{self._comms.get(k, '?')}-{k.decode()}", c, rate(c))
                for k, c in tasks.most_common(n)
            ],
            predates=predates,
            predates_unknown=predates_unknown,
            loss_since=loss_since,
            lost_before=sum(lost_before.values()),
            lost_before_per_cpu=lost_before,
        )

    # -- internals (lock held) ----------------------------------------------------

    def _prune_locked(self, idx: int) -> None:
        oldest = idx - self._nbuckets + 1
        if len(self._buckets) > self._nbuckets or any(i < oldest for i in self._buckets):
            for i in [i for i in self._buckets if i < oldest]:
                del self._buckets[i]

    def _losses_locked(self) -> Dict[int, CpuLoss]:
        out: Dict[int, CpuLoss] = {}
        for cpu, count in self._markers.items():
            out.setdefault(cpu, CpuLoss()).markers = count
        for cpu, track in self._stats.items():
            loss = out.setdefault(cpu, CpuLoss())

            def grown(key: str, track: _StatsTrack = track) -> int:
                if key not in track.base:
                    return 0
                return track.carried.get(key, 0) + track.last[key] - track.base[key]

            loss.overrun = grown("overrun")
            loss.commit_overrun = grown("commit overrun")
            loss.dropped = grown("dropped events")
        return dict(sorted(out.items()))


_PID_TAIL = re.compile(rb" +(?:\( *[-\d]+\) +)?\[\d+\] ")


def _comm_of(chunk: bytes, pid: bytes) -> str:
    """The comm printed before ``-pid`` on the first context line of that pid: the
    literal is found with bytes.find (C speed), then checked against the context."""
    needle = b"-" + pid + b" "
    at = chunk.find(needle)
    while at >= 0:
        if _PID_TAIL.match(chunk, at + len(needle) - 1):
            start = chunk.rfind(b"\n", 0, at) + 1
            return chunk[start:at].strip().decode("utf-8", "surrogateescape")
        at = chunk.find(needle, at + 1)
    return "?"


def _name_of(key: bytes) -> Tuple[bool, str]:
    """(is an event, name) of a first word as the ``_NAME`` group captures it."""
    text = key.decode("utf-8", "replace")
    paren = text.find("(")
    if paren >= 0:
        base = text[:paren]
        if base.startswith("sys_"):
            return True, "sys_enter_" + base[4:]
        return False, base
    if text.endswith(" ->"):
        base = text[:-3]
        if base.startswith("sys_"):
            return True, "sys_exit_" + base[4:]
        return False, base
    if text.endswith(":"):
        return True, text[:-1]
    return False, text


def _batch_shape(lines: Sequence[str]) -> str:
    """Tell apart the output formats a batch may be in.

    Returns ``"graph"`` (function_graph), ``"latency"`` (latency-format
    context), ``"counter"`` (default context with a counter clock's dotless
    timestamps) or ``"default"``. Looks at a few record lines from each end of
    the batch (skipping ``#`` headers and `` => `` stack frames, of which a
    ``trace`` file or a stack dump may have dozens in a row), so it costs the
    same for any batch size.
    """
    sample = _sample(lines, range(min(len(lines), _SCAN)))
    sample += _sample(lines, range(len(lines) - 1, max(len(lines) - _SCAN, _SCAN) - 1, -1))
    for line in sample:
        if _GRAPH_HINT.match(line):
            return "graph"
    for line in sample:
        m = _CTX_TS_HINT.search(line)
        if m:
            return "default" if m.group(1) else "counter"
    for line in sample:
        if _LAT_HINT.match(line):
            return "latency"
    return "default"


def _sample(lines: Sequence[str], indices: range) -> List[str]:
    out: List[str] = []
    for i in indices:
        line = lines[i]
        head = line.lstrip()[:2]
        if not head or head[0] == "#" or head == g.STACK_FRAME_ARROW:
            continue
        out.append(line)
        if len(out) == _SAMPLE:
            break
    return out
