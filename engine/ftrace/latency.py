"""The latency tracers (wakeup, wakeup_rt, wakeup_dl, irqsoff, preemptoff...):
the maximum, its report, a history of new maxima, reset and threshold.

The kernel keeps the worst latency seen in ``tracing_max_latency`` (µs) and
the trace of that worst case in ``trace`` (a snapshot swapped in when a new
maximum is hit). Writing 0 to ``tracing_max_latency`` starts over;
``tracing_thresh`` (µs, 0 = off) makes the tracer record every latency above
it instead of only new maxima.

Reading ``trace`` while one of these tracers runs with the ``function-trace``
option on makes the reading task's own wakeups traced: on the lab kernel this
looped for minutes. :func:`read_report` therefore stops recording
(``tracing_on`` 0) for the read and puts it back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import List, Optional

from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError, TracefsError
from ftop.engine.stream.parse import LatencyTrace, parse_latency_trace

__all__ = [
    "LATENCY_TRACERS",
    "LatencyMax",
    "LatencyMonitor",
    "available",
    "plan_reset_max",
    "plan_thresh",
    "read_max_latency",
    "read_report",
    "read_thresh",
]

#: Tracers whose ``trace`` is a max-latency report.
LATENCY_TRACERS = (
    "wakeup",
    "wakeup_rt",
    "wakeup_dl",
    "irqsoff",
    "preemptoff",
    "preemptirqsoff",
)


def available(tfs: Tracefs) -> List[str]:
    """The latency tracers this kernel (and this instance) offers, in our order."""
    have = set((tfs.read_or("available_tracers") or "").split())
    return [t for t in LATENCY_TRACERS if t in have]


def read_max_latency(tfs: Tracefs) -> Optional[int]:
    """``tracing_max_latency`` in µs; None when the file is absent."""
    text = tfs.read_or("tracing_max_latency")
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())


def read_thresh(tfs: Tracefs) -> Optional[int]:
    """``tracing_thresh`` in µs (0: off); None when absent."""
    text = tfs.read_or("tracing_thresh")
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())


def read_report(tfs: Tracefs, pause: bool = True) -> LatencyTrace:
    """The max-latency report in ``trace``, parsed (header, records, stacks).

    Args:
        pause: turn ``tracing_on`` off for the read when it is on, and back on
            after, so the reader does not trace itself (see module docstring).
    """
    was_on = pause and (tfs.read_or("tracing_on") or "0").strip() == "1"
    if was_on:
        tfs.write("tracing_on", "0")
    try:
        text = tfs.read("trace")
    finally:
        if was_on:
            tfs.write("tracing_on", "1")
    return parse_latency_trace(text)


def plan_reset_max() -> Change:
    """Forget the current maximum: the next latency seen becomes the new one."""
    return Change("tracing_max_latency", "0", describe="reset tracing_max_latency")


def plan_thresh(usecs: int) -> Change:
    """Record every latency above ``usecs`` (0: only new maxima)."""
    if usecs < 0:
        raise ConfigError(f"tracing_thresh is in microseconds, 0 or more (got {usecs})")
    return Change("tracing_thresh", str(usecs))


@dataclass(frozen=True)
class LatencyMax:
    """A new maximum seen by :class:`LatencyMonitor`.

    Attributes:
        seen_at: wall-clock time of the poll that saw it.
        latency_us: the new ``tracing_max_latency``.
        tracer: the tracer that was current.
        report: the parsed report, when the monitor fetched it.
    """

    seen_at: float
    latency_us: int
    tracer: str
    report: Optional[LatencyTrace] = None


@dataclass
class LatencyMonitor:
    """History of new maxima, driven by :meth:`poll` on a timer.

    A value lower than the last one means someone reset the maximum: the
    history keeps its entries and the next rise counts as a new maximum.

    Attributes:
        fetch_reports: read and parse the report with each new maximum.
        history: maxima seen, oldest first.
        limit: how many to keep.
    """

    fetch_reports: bool = True
    limit: int = 200
    history: List[LatencyMax] = field(default_factory=list)
    _last: Optional[int] = None

    def poll(self, tfs: Tracefs, now: Optional[float] = None) -> Optional[LatencyMax]:
        """Read the maximum; return the new entry when it rose since the last poll."""
        value = read_max_latency(tfs)
        if value is None:
            return None
        last = self._last
        self._last = value
        if value == 0 or (last is not None and value <= last):
            return None
        tracer = (tfs.read_or("current_tracer") or "").strip()
        report: Optional[LatencyTrace] = None
        if self.fetch_reports and tracer in LATENCY_TRACERS:
            try:
                report = read_report(tfs)
            except TracefsError:
                report = None
        entry = LatencyMax(time.time() if now is None else now, value, tracer, report)
        self.history.append(entry)
        if len(self.history) > self.limit:
            del self.history[: len(self.history) - self.limit]
        return entry

    def forget(self) -> None:
        """Clear the history (after a reset the caller made)."""
        self.history.clear()
        self._last = None
