"""A saved ftrace text as a read-only session: ``ftop FILE`` needs no root and no tracefs.

:class:`FileSession` offers what a viewer uses from :class:`~ftop.engine.control.session.Session`
(``ring``, ``aggregates``, ``poll``, ``start_stream``, ``restore``...) over a
file; every operation that would change tracing raises :class:`ReadOnly`.
Rates are measured over the trace's own timestamps, not the time it took to
load, so the dashboard describes the capture.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
from array import array
from dataclasses import replace
from pathlib import Path
from typing import IO, Callable, Dict, Iterator, List, Optional, Sequence, cast

from ftop.engine.control.capabilities import Capabilities
from ftop.engine.control.config import TraceConfig
from ftop.engine.control.journal import Journal
from ftop.engine.control.session import Recovery, Status
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change, TransactionResult
from ftop.engine.errors import FtopError
from ftop.engine.stream import grammar as g
from ftop.engine.stream.ring import Ring
from ftop.engine.stream.stats import Aggregates, AggregateSnapshot, NameRate
from ftop.engine.stream.trace_pipe import LineReader

__all__ = ["FileSession", "NotFtraceText", "ReadOnly", "sniff"]

_TRACER = re.compile(g.TRACER_HEADER)
_CPUS = re.compile(g.CPUS_HEADER)
# The default context's "[cpu] [flags] secs.usecs: " tail: the timestamp.
_TS = re.compile(r"\] +(?:\S+ +)?(" + g.TS_DOTTED + r"): ")
_TS_ALL = _TS
_SAMPLE = 8
_CHUNK = 1 << 20


class _CaptureAggregates(Aggregates):
    """Counts over the whole file; rates per second of the capture's own timestamps."""

    def __init__(self, span: Callable[[], float]) -> None:
        # One bucket wide enough for any capture: nothing ever leaves the window.
        super().__init__(window_s=1e7, bucket_s=1e7, top_n=50)
        self._span = span

    def snapshot(self, now: float, top_n: Optional[int] = None) -> AggregateSnapshot:
        snap = super().snapshot(0.0, top_n)
        span = max(self._span(), 1e-6)
        return replace(
            snap,
            now=now,
            span_s=span,
            total_rate=snap.total / span,
            cpu_rates={c: r * snap.span_s / span for c, r in snap.cpu_rates.items()},
            top_events=[NameRate(n.name, n.count, n.count / span) for n in snap.top_events],
            top_functions=[NameRate(n.name, n.count, n.count / span) for n in snap.top_functions],
        )

    def cpu_counts(self) -> Dict[int, int]:
        """Events per CPU over the whole file (counted from its lines)."""
        snap = super().snapshot(0.0, 1)
        return {c: round(r * snap.span_s) for c, r in snap.cpu_rates.items()}


class ReadOnly(FtopError):
    """A saved trace cannot be changed."""


class NotFtraceText(FtopError):
    """A file that is not ftrace text: refused in one line, never printed."""


# trace-cmd's files start with these bytes (trace-cmd.dat(5)).
TRACE_DAT_MAGIC = b"\x17\x08\x44tracing"
SNIFF_BYTES = 64 * 1024


def sniff(head: bytes, name: str) -> None:
    """Refuse ``head`` (a file's first bytes) unless it reads as ftrace text.

    A file opened with ``ftop FILE`` may be anything; shown as text, a binary
    file would write its bytes to root's terminal. Text is judged as the kernel
    writes it: UTF-8 with no NUL bytes, and most non-blank lines of the sample
    recognised by the parser (context lines, headers, LOST markers, stack
    frames, graph lines). A hostile task name inside a real trace does not make
    it binary: the bytes are shown escaped.

    Raises:
        NotFtraceText: with one line that says what the file is instead.
    """
    from ftop.engine.stream.parse import parse_line

    if head.startswith(TRACE_DAT_MAGIC):
        return  # trace-cmd's file: read by ftop.engine.tracedat
    if b"\x00" in head:
        raise NotFtraceText(f"{name} is binary data, not ftrace text (not shown)")
    cut = head.rfind(b"\n")
    sample = head if cut < 0 or len(head) < SNIFF_BYTES else head[: cut + 1]
    text = sample.decode("utf-8", "replace")
    lines = [ln for ln in text.split("\n") if ln.strip()][:400]
    if not lines:
        return
    bad = text.count("\ufffd")
    known = sum(1 for ln in lines if parse_line(ln).kind != "other")
    if known * 2 < len(lines) or bad > len(text) // 4:
        what = "text in another encoding" if bad else "text, but not ftrace output"
        raise NotFtraceText(
            f"{name} is {what} (not shown): ftop opens saved ftrace text or trace.dat"
        )


def line_batches(f: IO[bytes], chunk: int = _CHUNK) -> Iterator[List[str]]:
    """Whole lines of ``f`` in batches of about ``chunk`` bytes, decoded as the
    trace_pipe reader decodes them (a last line without its newline included)."""
    rest = b""
    while True:
        data = f.read(chunk)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        yield data[:cut].decode("utf-8", "replace").split("\n")
    if rest:
        yield [rest.decode("utf-8", "replace")]


def open_trace_file(path: str | Path) -> IO[bytes]:
    """A saved trace for reading, gunzipped when its name ends in .gz."""
    path = Path(path)
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


class FileSession:
    """A saved trace (ftrace text, optionally gzipped) loaded into a bounded ring."""

    kind = "file"
    read_only = True
    # Not frozen: only a test's demo stops its clock (the capture's span is the clock here).
    realtime = True

    def __init__(self, path: str, ring: Optional[Ring] = None) -> None:
        self.path = Path(path)
        self.ring = ring if ring is not None else Ring()
        # One bucket that spans any capture: counts are kept, rates are over
        # the capture's own time span (see ``clock``).
        self.aggregates = _CaptureAggregates(self.clock)
        self.listeners: List[Callable[[Sequence[str]], None]] = []
        self.caps = Capabilities()
        self.status = Status(tracer="?", tracing_on=False)
        # No tracefs, no trace_pipe reader, nothing journaled: a saved trace.
        self.tfs: Optional[Tracefs] = None
        self.reader: Optional[LineReader] = None
        self.raw_why: Optional[str] = None
        self.trace_self = False
        self.journal: Optional[Journal] = None
        self.keep = True
        self.label = path  # as the user gave it
        self.kernel_release = self.path.name
        self.cpus = 0
        self._ts_samples: array[float] = array("d")
        self.first_ts: Optional[float] = None
        self.last_ts: Optional[float] = None
        self.loaded = threading.Event()
        self.error: Optional[str] = None
        self._thread: Optional[threading.Thread] = None
        # Opening now raises a readable error before any UI is drawn.
        try:
            with open_trace_file(self.path) as f:
                head = f.read(SNIFF_BYTES)
        except (OSError, EOFError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise FtopError(f"cannot read {self.path}: {reason}") from None
        sniff(head, str(self.path))
        self.is_tracedat = head.startswith(TRACE_DAT_MAGIC)
        if self.is_tracedat:
            # Opened now too: a damaged file is refused before any UI is drawn.
            from ftop.engine.tracedat.common import TraceDatError
            from ftop.engine.tracedat.read import TraceDat

            try:
                with TraceDat.open(self.path) as td:
                    if td.uname:
                        parts = td.uname.split()
                        self.kernel_release = parts[2] if len(parts) >= 3 else td.uname
                    self.cpus = max(td.cpu_count, len(td.cpus))
            except TraceDatError as e:
                raise FtopError(str(e)) from None

    # -- the Session interface a viewer uses -----------------------------------

    def clock(self) -> float:
        """The capture's time span so far: rates are per second of the capture."""
        if self.first_ts is None or self.last_ts is None:
            return 1.0
        return max(self.last_ts - self.first_ts, 1e-6)

    def rate_series(self, bins: int = 60) -> List[float]:
        """Events per second over the capture, in ``bins`` equal slices (the sparkline)."""
        samples = self._ts_samples
        if len(samples) < 2 or self.first_ts is None or self.last_ts is None:
            return [0.0]
        lo, hi = self.first_ts, self.last_ts
        width = max((hi - lo) / bins, 1e-9)
        counts = [0] * bins
        for t in samples:
            counts[min(bins - 1, max(0, int((t - lo) / width)))] += _SAMPLE
        return [c / width for c in counts]

    def poll(self) -> Status:
        """The file's own figures: a saved trace has no per_cpu/cpuN/stats, so each
        CPU's ``entries`` is the number of the file's lines recorded on it."""
        self.status.polled_at = time.time()
        self.status.cpu_stats = {
            cpu: {"entries": float(n)} for cpu, n in self.aggregates.cpu_counts().items()
        }
        return self.status

    def start_stream(self) -> None:
        """Load the file on a thread (the ring keeps the newest lines if it is huge)."""
        if self._thread is not None or self.loaded.is_set():
            return
        self._thread = threading.Thread(target=self._load, name="ftop-file", daemon=True)
        self._thread.start()

    def load(self) -> None:
        """Load the whole file now, on this thread."""
        self._load()

    def stop_stream(self) -> None:
        pass

    def limit_batch_bytes(self, limit: int) -> None:
        """Nothing to limit: the file is read in its own batches (no trace_pipe reader)."""

    def restore(self) -> None:
        return None

    def close(self) -> None:
        return None

    def recover(self) -> List[Recovery]:
        return []

    def detect_foreign(self) -> List[str]:
        return []

    # -- changes: all refused ------------------------------------------------------

    def _read_only(self) -> ReadOnly:
        return ReadOnly(f"{self.path.name} is a saved trace: nothing in it can be changed")

    def apply(self, changes: List[Change]) -> TransactionResult:
        raise self._read_only()

    def apply_config(self, cfg: TraceConfig) -> TransactionResult:
        raise self._read_only()

    def set_tracer(self, name: str) -> None:
        raise self._read_only()

    def set_tracing_on(self, on: bool) -> None:
        raise self._read_only()

    def set_trace_self(self, on: bool) -> None:
        raise self._read_only()

    def set_event(self, system: str, event: Optional[str], on: bool) -> None:
        raise self._read_only()

    def set_event_filter(self, system: str, event: str, text: str) -> None:
        raise self._read_only()

    def add_event_trigger(self, system: str, event: str, spec: str) -> None:
        raise self._read_only()

    def write(self, rel: str, value: str, append: bool = False) -> None:
        raise self._read_only()

    def write_marker(self, text: str) -> None:
        raise self._read_only()

    def save_pages_text(self, path: str, tracer: str = "nop", cpus: int = 1) -> int:
        raise FtopError(f"{self.path.name} holds no raw pages of this session")

    def save_tracedat(self, path: str) -> int:
        raise FtopError(
            f"{self.path.name} holds no raw pages of this session: save as text instead"
        )

    def use_instance(self, name: Optional[str]) -> None:
        raise self._read_only()

    def read(self, rel: str) -> str:
        raise ReadOnly(f"{self.path.name} is a saved trace: there is no {rel} to read")

    # -- loading ------------------------------------------------------------------

    def _load(self) -> None:
        try:
            if self.is_tracedat:
                self._load_tracedat()
                return
            with open_trace_file(self.path) as f:
                for lines in line_batches(f):
                    self._batch(lines)
        except (OSError, EOFError) as e:
            self.error = f"cannot read {self.path}: {e}"
        finally:
            self.loaded.set()

    def _load_tracedat(self) -> None:
        from ftop.engine.tracedat.common import TraceDatError
        from ftop.engine.tracedat.read import TraceDat
        from ftop.engine.tracedat.text import source_of, text_batches

        try:
            with TraceDat.open(self.path) as td:
                src = source_of(td)
                self.status.tracer = src.tracer
                cpus = self.cpus
                for lines in text_batches(td, source=src):
                    self._batch(lines)
                self.cpus = cpus
        except TraceDatError as e:
            self.error = str(e)

    def _batch(self, lines: Sequence[str]) -> None:
        if self.first_ts is None:
            for ln in lines[:64]:
                if ln.startswith("#"):
                    m = _TRACER.match(ln)
                    if m:
                        self.status.tracer = m.group(1)
                    m = _CPUS.search(ln)
                    if m:
                        self.cpus = int(m.group(1))
        body = [ln for ln in lines if ln and not ln.startswith("#")] if lines else []
        for ln in body[:64]:
            m = _TS.search(ln)
            if m:
                if self.first_ts is None:
                    self.first_ts = float(m.group(1))
                break
        for ln in reversed(body[-64:]):
            m = _TS.search(ln)
            if m:
                self.last_ts = float(m.group(1))
                break
        self.ring.extend(body)
        self.aggregates.ingest(body, 0.0)
        # Every _SAMPLE-th timestamp is enough for the rate-over-time sparkline.
        self._ts_samples.extend(float(t) for t in _TS_ALL.findall("\n".join(body))[::_SAMPLE])
        for fn in self.listeners:
            fn(body)
