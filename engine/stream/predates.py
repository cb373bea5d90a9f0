"""What the buffer held before ftop started reading it: the start mark, and the split of
the first batches into "from before ftop started" and "live".

A reader's first read drains whatever the kernel buffer already held, then goes on
with what happens now; both look alike in the text. Just before it starts reading, the
session notes the buffer clock's "now" per CPU (``per_cpu/cpuN/stats``, ``now ts``)
and the wall time (:func:`note_start`). A line whose time stamp is before its CPU's
"now" was in the buffer before ftop started. :class:`PreSessionSplit` counts those
lines off the head of the stream and puts one ``[ftop: ...]`` line where they end.

It marks only when the comparison is exact: the kernel prints ``now ts`` as
``secs.usecs`` (rounded as the lines' own time stamps) only for the clocks it keeps
in nanoseconds (``trace_clocks[].in_ns`` in kernel/trace/trace.c: local, global,
perf, mono, mono_raw, boot, tai); for counter, uptime and x86-tsc both are counts in
the clock's own units, and a latency-format line or a function_graph line without
funcgraph-abstime carries no absolute time stamp at all. Then nothing is marked and
:attr:`StartMark.why_unmarked` says why.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

from ftop.engine.stream import grammar as g

__all__ = [
    "NS_CLOCKS",
    "PreSessionSplit",
    "Split",
    "StartMark",
    "note_start",
    "separator_line",
    "unmarked_line",
]

# trace_clocks[] entries with in_ns = 1 (kernel/trace/trace.c): tracing_stats_read
# prints their "now ts" as "%5llu.%06lu" after ns2usecs(), as trace_print_context
# prints an event's time stamp. The others print raw counts (of events, jiffies, cycles).
NS_CLOCKS = frozenset({"local", "global", "perf", "mono", "mono_raw", "boot", "tai"})

# This many lines in a row without a time stamp while the head is still open: the
# stream's format carries none ftop can read (the start checks missed a case); stop
# looking rather than scan every batch for ever.
GIVE_UP_AFTER = 1000

Stats = Dict[str, Union[int, float]]

_CONTEXT = re.compile(g.CONTEXT)
# function_graph with funcgraph-abstime: "  4022.542431 |   1)  ...".
_GRAPH_ABS = re.compile(r"\s*(?P<ts>" + g.TS_DOTTED + r")\s+\|\s+" + g.GRAPH_CPU)
# The decoder's skipped span (ftop.engine.raw.behind.skipped_line): its estimate of
# the events it stands for.
_SKIPPED = re.compile(r"\[ftop: about (?P<events>[\d,]+) events? \([\d,]+ pages?\) not decoded")


@dataclass(frozen=True)
class StartMark:
    """The moment ftop started reading one buffer.

    Attributes:
        wall: wall-clock time (``time.time()``) of the mark.
        now_ts: per CPU, the buffer clock's "now" in seconds; empty when unmarked.
        stats: per CPU, ``per_cpu/cpuN/stats`` as parsed at the mark (the loss base).
        entries: events the buffer held at the mark (all CPUs).
        why_unmarked: None when lines are compared with ``now_ts``; else why they
            cannot be (said to the user, nothing is marked).
    """

    wall: float
    now_ts: Dict[int, float] = field(default_factory=dict)
    stats: Dict[int, Stats] = field(default_factory=dict)
    entries: int = 0
    why_unmarked: Optional[str] = None

    @property
    def lost_before(self) -> Dict[int, int]:
        """Per CPU, the events the buffer had lost (overwritten, dropped) before the mark."""
        return {
            cpu: int(st.get("overrun", 0)) + int(st.get("dropped events", 0))
            for cpu, st in self.stats.items()
        }


def _why_unmarked(
    clock: str, options: Callable[[str], Optional[str]], tracer: str
) -> Optional[str]:
    if clock not in NS_CLOCKS:
        return (
            f"trace_clock {clock or '?'} counts in its own units, not in seconds like the "
            "buffer's 'now'"
        )
    if (options("latency-format") or "").strip() == "1":
        return "latency-format prints times since the trace's start, not time stamps"
    if (options("context-info") or "1").strip() == "0":
        return "context-info is off: the lines carry no time stamp"
    if tracer == "function_graph" and (options("funcgraph-abstime") or "").strip() != "1":
        return "function_graph prints no time stamps (funcgraph-abstime is off)"
    return None


def note_start(
    stats: Dict[int, Stats],
    clock: str,
    tracer: str,
    options: Callable[[str], Optional[str]],
    wall: Optional[float] = None,
) -> StartMark:
    """The mark for a buffer whose per-CPU stats (as ``parse_cpu_stats`` gives them)
    were just read; ``options(name)`` reads ``options/<name>`` (None: no such file)."""
    wall = time.time() if wall is None else wall
    entries = sum(int(st.get("entries", 0)) for st in stats.values())
    why = _why_unmarked(clock, options, tracer)
    now_ts: Dict[int, float] = {}
    if why is None:
        for cpu, st in stats.items():
            v = st.get("now ts")
            # A dotless value is a count, whatever the clock's name says.
            if isinstance(v, float):
                now_ts[cpu] = v
        if not now_ts:
            why = "the buffer's stats give no 'now ts' in seconds"
    return StartMark(wall, now_ts, dict(stats), entries, why)


def _clock_text(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


def separator_line(events: int, skipped: int, wall: float, live: bool = True) -> str:
    """ftop's line where what the buffer held before ftop started ends (``live``: the
    first line after it is at or after the start; else ftop could not tell)."""
    if skipped:
        what = f"the about {events:,} events above ({skipped:,} of them not decoded)"
    else:
        what = f"the {events:,} {'event' if events == 1 else 'events'} above"
    verb = "was" if events == 1 and not skipped else "were"
    tail = "what follows is live" if live else "ftop cannot tell what follows (no time stamps)"
    return f"[ftop: {what} {verb} in the buffer before ftop started at {_clock_text(wall)}; {tail}]"


def unmarked_line(mark: StartMark) -> str:
    """ftop's line, first in the view, when what predates the start cannot be told apart."""
    n = mark.entries
    return (
        f"[ftop: the buffer held {n:,} {'event' if n == 1 else 'events'} from before ftop "
        f"started at {_clock_text(mark.wall)}, shown and counted as live: {mark.why_unmarked}]"
    )


def _stamp(line: str) -> Optional[Tuple[float, int]]:
    """(time stamp in seconds, cpu) of a line that carries both, else None."""
    m = _CONTEXT.match(line) or _GRAPH_ABS.match(line)
    if m is None:
        return None
    ts = m.group("ts")
    if "." not in ts:
        return None
    return float(ts), int(m.group("cpu"))


@dataclass
class Split:
    """One batch, split: ``lines`` for the ring (the separator in place), ``live`` for
    the aggregates, ``predates`` events of the batch that were in the buffer before."""

    lines: Sequence[str]
    live: Sequence[str]
    predates: int = 0
    skipped: int = 0


class PreSessionSplit:
    """Splits the head of a stream into what predates a :class:`StartMark` and the rest.

    ``split`` is called by the reader's thread with each batch; once the first line at
    or after the start has gone by (or no time stamps come), every batch passes as is.
    """

    def __init__(self, mark: StartMark) -> None:
        self.mark = mark
        self._first = min(mark.now_ts.values()) if mark.now_ts else 0.0
        self.open = bool(mark.now_ts) and mark.entries > 0
        self.predates = 0
        self.skipped = 0
        self._stampless = 0
        # Why the head was closed without a line at or after the start (None: it was not).
        self.why_closed: Optional[str] = None
        # A skipped span counted as predating: the decoder's sampling note for it
        # must not scale the live rates (see ``take_skipped``).
        self._skipped_pending = False

    def take_skipped(self) -> bool:
        """True once after a skipped span was counted as predating the start."""
        was, self._skipped_pending = self._skipped_pending, False
        return was

    def split(self, lines: Sequence[str]) -> Split:
        if not self.open:
            return Split(lines, lines)
        now_ts, first = self.mark.now_ts, self._first
        events = skipped = 0
        for i, line in enumerate(lines):
            st = _stamp(line)
            if st is None:
                m = _SKIPPED.match(line)
                if m is not None:
                    skipped += int(m.group("events").replace(",", ""))
                    self._skipped_pending = True
                self._stampless += 1
                if self._stampless >= GIVE_UP_AFTER:
                    self.why_closed = f"{GIVE_UP_AFTER:,} lines in a row carry no time stamp"
                    return self._close(lines, i + 1, events, skipped, live=False)
                continue
            self._stampless = 0
            ts, cpu = st
            if ts >= now_ts.get(cpu, first):
                return self._close(lines, i, events, skipped, live=True)
            events += 1
        self.predates += events
        self.skipped += skipped
        return Split(lines, [], events + skipped, skipped)

    def _close(self, lines: Sequence[str], at: int, events: int, skipped: int, live: bool) -> Split:
        self.open = False
        self.predates += events
        self.skipped += skipped
        head, tail = list(lines[:at]), list(lines[at:])
        if self.predates + self.skipped == 0:
            return Split(lines, tail)
        sep = separator_line(self.predates + self.skipped, self.skipped, self.mark.wall, live)
        return Split([*head, sep, *tail], tail, events + skipped, skipped)
