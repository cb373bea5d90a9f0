"""Narrowing, searching and saving the ring's lines, without touching the kernel.

A view over the ring is either every held line or the sequence numbers a
:class:`LineFilter` accepts. Filtering and searching work on whole chunks of
text with one compiled multi-line regex (``finditer`` over a joined chunk,
``str.count`` to turn offsets into line numbers), so the per-line work is C,
not a Python loop: a filtered view keeps up with the stream.

One piece on purpose (about 680 lines): the filter grammar, the search, the index
that follows the ring and its background scan share one chunked-regex engine; the
oracle tests check all of them against parse.py line by line on real captures.
"""

from __future__ import annotations

import re
import threading
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from typing import IO, Callable, List, Optional, Pattern, Sequence, Tuple, Union

from ftop.engine.errors import ConfigError
from ftop.engine.stream import grammar as g
from ftop.engine.stream.ring import Ring

__all__ = [
    "FilteredIndex",
    "Found",
    "LineFilter",
    "SearchPattern",
    "ftrace_header",
    "rows_lines",
    "save_lines",
    "search_rows",
]

CHUNK = 16384
# The scanning thread's step: a few ms of work, then a sleep hands the GIL back at
# once (a third of the time at least), so the UI's event loop and the trace reader
# never queue behind a long scan for their turn (the switch interval is 5 ms).
THREAD_CHUNK = 4096
THREAD_PAUSE = 0.001
THREAD_DUTY = 0.5  # sleep this share of the time the last step took

# Characters of a kernel symbol or event name.
_NAME_CHARS = g.NAME_CHARS
_KEYS = {
    "task": "tasks",
    "comm": "tasks",
    "pid": "pids",
    "cpu": "cpus",
    "ev": "names",
    "event": "names",
    "fn": "names",
    "func": "names",
    "function": "names",
    "name": "names",
    "re": "regex",
}


def _glob(text: str, chars: str) -> str:
    """A shell glob as a regex fragment; ``*`` and ``?`` stay within ``chars``."""
    out = []
    for ch in text:
        if ch == "*":
            out.append(chars + "*")
        elif ch == "?":
            out.append(chars)
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _smart_case(text: str) -> int:
    """Ignore case unless the pattern has an upper-case letter (as vim and less do)."""
    return 0 if any(c.isupper() for c in text) else re.IGNORECASE


@dataclass(frozen=True)
class LineFilter:
    """What the filter bar narrows the view to; every part given must match.

    Written as words: ``task:NAME`` (``comm:``), ``pid:N``, ``cpu:N``,
    ``ev:NAME`` (``fn:``, ``name:``; globs allowed), ``re:REGEX``; several
    values are comma-separated (``pid:1,2``); any other word is part of a
    regex searched anywhere in the line. ``CPU:N [LOST M EVENTS]`` lines
    always pass, so loss stays visible in a narrowed view.
    """

    tasks: Tuple[str, ...] = ()
    pids: Tuple[int, ...] = ()
    cpus: Tuple[int, ...] = ()
    names: Tuple[str, ...] = ()
    regex: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> LineFilter:
        """Parse the filter bar's text.

        Raises:
            ConfigError: a pid or CPU that is not a number, or a bad regex.
        """
        parts: dict[str, List[str]] = {"tasks": [], "pids": [], "cpus": [], "names": []}
        free: List[str] = []
        for word in text.split():
            key, sep, value = word.partition(":")
            if not sep:
                key, sep, value = word.partition("=")
            field = _KEYS.get(key.lower()) if sep else None
            if field is None:
                free.append(word)
                continue
            if field == "regex":
                free.append(value)
                continue
            values = [v for v in value.split(",") if v]
            if not values:
                raise ConfigError(f"'{word}': give a value after '{key}{sep}'")
            if field in ("pids", "cpus"):
                bad = [v for v in values if not v.isdigit()]
                if bad:
                    raise ConfigError(f"'{word}': {key} wants numbers, not '{bad[0]}'")
            parts[field].extend(values)
        regex = " ".join(free) or None
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as e:
                raise ConfigError(f"bad regex '{regex}': {e}") from None
        return cls(
            tasks=tuple(parts["tasks"]),
            pids=tuple(int(p) for p in parts["pids"]),
            cpus=tuple(int(c) for c in parts["cpus"]),
            names=tuple(parts["names"]),
            regex=regex,
        )

    def is_empty(self) -> bool:
        return not (self.tasks or self.pids or self.cpus or self.names or self.regex)

    def __str__(self) -> str:
        words = []
        for key, vals in (("task", self.tasks), ("pid", self.pids), ("cpu", self.cpus)):
            if vals:
                words.append(f"{key}:{','.join(str(v) for v in vals)}")
        if self.names:
            words.append(f"ev:{','.join(self.names)}")
        if self.regex:
            words.append(self.regex)
        return " ".join(words)

    def matcher(self) -> _Matcher:
        """What scans chunks of text for the lines this filter accepts."""
        return _Matcher(self)


def _ctx(pid: str, cpu: str) -> str:
    """Context columns "-pid [(tgid)] [cpu]" for these pid and cpu alternatives."""
    return g.ctx_pid_cpu_sp(pid, cpu)


def _after_name_start(text: str, pos: int) -> bool:
    """Is ``pos`` where an event or function name starts (not inside a payload)?"""
    two = text[pos - 2 : pos]
    if two == ": ":
        # "ts: name" (not "key: value" inside a payload): digits before ": ".
        return text[pos - 3 : pos - 2].isdigit()
    if two == "* ":
        return text[pos - 3 : pos] == "/* "
    if two == "  ":
        # function_graph "|  <indent>name(": only spaces back to the bar.
        j = pos - 1
        while j > 0 and text[j] == " ":
            j -= 1
        return text[j] == "|"
    return False


def _line_start_or_space(text: str, pos: int) -> bool:
    return pos == 0 or text[pos - 1] in " \n"


def _lowercase_pattern(text: str) -> Optional[Pattern[str]]:
    """For a smart-case (all lower-case) regex: the same regex, to run over
    ``text.lower()``, which is much faster than ``re.IGNORECASE``."""
    if _smart_case(text):
        return re.compile(text)
    return None


_LOST_RE = g.LOST_RE


class _Matcher:
    """Line numbers a filter accepts in ``"\n" + "\n".join(lines)``.

    Each criterion is one unanchored regex that starts with a literal where it
    can (the regex engine then skips ahead in C); a few candidates are checked
    in Python; criteria are intersected as sets of line numbers.
    """

    def __init__(self, flt: LineFilter) -> None:
        # Each part: alternatives (regex, candidate check, run over lower-cased text)
        # whose matches are united; parts are intersected.
        self.parts: List[List[_Alt]] = []
        cpu = "|".join(str(c) for c in flt.cpus) if flt.cpus else r"\d+"
        if flt.pids:
            pid = "|".join(str(p) for p in flt.pids)
            self.parts.append([(re.compile(_ctx(pid, cpu)), None, False)])
        elif flt.cpus:
            self.parts.append(
                [
                    (re.compile(r"\[0*(?:" + cpu + r")\]"), _after_pid, False),
                    (re.compile(r"\n" + g.GRAPH_ABS_SP + r"0*(?:" + cpu + r")\) "), _GRAPH, False),
                ]
            )
        if flt.tasks:
            alts = "|".join(_glob(t, "[^\n]") for t in flt.tasks)
            rx = re.compile("(?:" + alts + ")" + _ctx(r"\d+", r"\d+"))
            self.parts.append([(rx, _line_start_or_space, False)])
        if flt.names:
            alts = "|".join(_glob(n, _NAME_CHARS) for n in flt.names)
            rx = re.compile("(?:" + alts + r")(?=[:\s+(]|$)", re.M)
            self.parts.append([(rx, _after_name_start, False)])
        if flt.regex:
            low = _lowercase_pattern(flt.regex)
            if low is not None:
                self.parts.append([(low, None, True)])
            else:
                self.parts.append([(re.compile(flt.regex), None, False)])

    def lines(self, text: str) -> List[int]:
        result: Optional[set[int]] = None
        lowered: Optional[str] = None
        for alts in self.parts:
            found: set[int] = set()
            for rx, check, lower in alts:
                if check is _GRAPH:
                    # Only function_graph text has the "N) " CPU column.
                    if not _GRAPH_SAMPLE.search(text, 0, 4096):
                        continue
                    check = None
                if lower:
                    if lowered is None:
                        lowered = text.lower()
                    found.update(_match_lines(rx, lowered, check))
                else:
                    found.update(_match_lines(rx, text, check))
            result = found if result is None else result & found
            if not result:
                break
        if result is None:
            result = set()
        if "LOST" in text:
            result.update(_match_lines(_LOST_RE, text, None))
        return sorted(result)


def _GRAPH(text: str, pos: int) -> bool:
    """Marker: this alternative applies to function_graph text only."""
    return True


_GRAPH_SAMPLE = re.compile(r"\n" + g.GRAPH_ABS_SP + r"\d+\) ")
_Alt = Tuple[Pattern[str], Optional[Callable[[str, int], bool]], bool]
_PID_BEFORE = re.compile(g.CTX_PID_SP + "$")


def _after_pid(text: str, pos: int) -> bool:
    """Is the ``[cpu]`` at ``pos`` the context column (right after ``comm-pid``)?"""
    return _PID_BEFORE.search(text, max(0, pos - 24), pos) is not None


def _match_lines(
    rx: Pattern[str], text: str, check: Optional[Callable[[str, int], bool]]
) -> List[int]:
    """0-based numbers of the lines of ``"\n" + body`` where ``rx`` matches."""
    out: List[int] = []
    count = 0
    pos = 0
    last = -1
    for m in rx.finditer(text):
        s = m.start()
        count += text.count("\n", pos, s + 1)
        pos = s + 1
        line = count - 1
        if line == last:
            continue
        if check is not None and not check(text, s):
            continue
        last = line
        out.append(line)
    return out


class FilteredIndex:
    """The sequence numbers of the ring's lines that a filter accepts, kept up to date.

    Two ways to drive it, never mixed after :meth:`start`:

    * ``update`` scans what arrived since the last call in the caller's thread
      (within a line budget and an optional time box) and forgets what the ring
      evicted; tests, scripts and the first slice of a new filter use it.
    * ``start`` hands the scanning to a background thread, so a rescan of a
      million held lines never runs on the UI's event loop; the owner then calls
      ``collect`` once per refresh tick, which only merges the arrays the thread
      produced (C-level ``array.extend``) and forgets evicted lines. ``close``
      stops the thread at its next chunk (a filter change cancels the old scan).

    ``seqs`` is only ever changed by its owner's thread (in ``update`` or
    ``collect``), so the owner reads it without locks; the scanning thread only
    reads the ring, which is thread-safe.
    """

    def __init__(self, flt: LineFilter, ring: Ring) -> None:
        self.filter = flt
        self.ring = ring
        self.matcher = flt.matcher()
        self.seqs: array[int] = array("q")
        self.scanned = ring.first_seq
        self.scan_seconds = 0.0
        # Where the scan began: progress is the share of [origin, next_seq) scanned.
        self.origin = ring.first_seq
        self.target = ring.next_seq  # the initial (re)scan is done once it gets here
        self.started_at = time.monotonic()
        # Background mode: the thread's output, handed over under the lock.
        self.limit: Optional[int] = None  # scan no further (a paused display); None: all
        self._lock = threading.Lock()
        self._pending: List[array[int]] = []
        self._pending_scanned = self.scanned
        self._thread: Optional[threading.Thread] = None
        self._wake = threading.Event()
        self._stop = threading.Event()

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def behind(self) -> int:
        """Lines arrived but not scanned yet (by what the owner has collected)."""
        return max(0, self.ring.next_seq - max(self.scanned, self.ring.first_seq))

    @property
    def caught_up(self) -> bool:
        """The scan of what the ring held when this index was made is complete."""
        target = self.target if self.limit is None else min(self.target, self.limit)
        # Lines evicted (or cleared) before the scan got to them need no scanning.
        return max(self.scanned, self.ring.first_seq) >= target

    def progress(self) -> float:
        """The share (0..1) of the initial (re)scan done."""
        origin = max(self.origin, self.ring.first_seq)
        total = self.target - origin
        if total <= 0:
            return 1.0
        return min(1.0, max(0, self.scanned - origin) / total)

    def scan(self, start: int, end: int, size: int = 0) -> Tuple[array[int], int]:
        """The accepted sequence numbers among ``start..end`` (one chunk at most:
        ``size`` lines, by default ``CHUNK``).

        Pure (touches nothing of ``self`` but the matcher), so any thread may call it.

        Returns:
            (accepted seqs, the seq the scan stopped at).
        """
        ring = self.ring
        n = min(size or CHUNK, end - start)
        if n <= 0:
            return array("q"), start
        lines = ring.window(start, n)
        if not lines:
            # Everything from start on was evicted meanwhile.
            return array("q"), max(start, min(ring.first_seq, start + n))
        # end <= next_seq, so a short window means its start was evicted
        # meanwhile (window() clamps the front, never the back here).
        base = start + (n - len(lines))
        found = self.matcher.lines("\n" + "\n".join(lines))
        # One C-level pass to turn line numbers into seqs (no per-match Python step).
        out = array("q", found)
        if base:
            out = array("q", map(base.__add__, out))
        return out, base + len(lines)

    def _drop_evicted(self) -> int:
        first = self.ring.first_seq
        if self.seqs and self.seqs[0] < first:
            dropped = bisect_left(self.seqs, first)
            del self.seqs[:dropped]
            return dropped
        return 0

    def update(
        self, upto: Optional[int] = None, budget: int = 250_000, seconds: Optional[float] = None
    ) -> Tuple[int, int]:
        """Scan new lines up to seq ``upto`` (default: all) and drop evicted ones.

        Args:
            budget: scan at most this many lines.
            seconds: and stop after the first chunk that ends past this much time.

        Returns:
            (lines added, lines dropped from the front).
        """
        ring = self.ring
        dropped = self._drop_evicted()
        end = ring.next_seq if upto is None else min(upto, ring.next_seq)
        start = max(self.scanned, ring.first_seq)
        end = min(end, start + budget)
        added = 0
        t0 = time.perf_counter()
        while start < end:
            found, stop = self.scan(start, end)
            self.seqs.extend(found)
            added += len(found)
            if stop <= start:
                break
            start = stop
            if seconds is not None and time.perf_counter() - t0 >= seconds:
                break
        self.scanned = max(self.scanned, start)
        self.scan_seconds += time.perf_counter() - t0
        return added, dropped

    # -- background scanning --------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Scan on a daemon thread from here on; ``collect`` takes its results."""
        if self._thread is not None:
            return
        self._pending_scanned = self.scanned
        self._thread = threading.Thread(target=self._run, name="ftop-filter-scan", daemon=True)
        self._thread.start()

    def poke(self, limit: Optional[int] = None) -> None:
        """New lines may have arrived: scan up to seq ``limit`` (None: all)."""
        self.limit = limit
        self._wake.set()

    def close(self) -> None:
        """Stop the scanning thread (at its next chunk); the index keeps what it has."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        pos = self._pending_scanned
        ring = self.ring
        while not self._stop.is_set():
            # Cleared before looking, so a poke that comes in meanwhile is not lost.
            self._wake.clear()
            limit = ring.next_seq if self.limit is None else min(self.limit, ring.next_seq)
            pos = max(pos, ring.first_seq)
            if pos >= limit:
                self._wake.wait(0.5)
                continue
            t0 = time.perf_counter()
            found, stop = self.scan(pos, limit, min(CHUNK, THREAD_CHUNK))
            took = time.perf_counter() - t0
            with self._lock:
                if len(found):
                    self._pending.append(found)
                self._pending_scanned = stop
                self.scan_seconds += took
            pos = max(pos, stop)
            time.sleep(max(THREAD_PAUSE, took * THREAD_DUTY))

    def collect(self) -> Tuple[int, int]:
        """Merge what the scanning thread found and drop evicted lines (owner's thread).

        Returns:
            (lines added, lines dropped from the front), as ``update``.
        """
        with self._lock:
            pending, self._pending = self._pending, []
            scanned = self._pending_scanned
        dropped = self._drop_evicted()
        first = self.ring.first_seq
        added = 0
        for part in pending:
            if part[0] < first:
                # Evicted before it was ever shown: not a row that went away.
                part = part[bisect_left(part, first) :]
            self.seqs.extend(part)
            added += len(part)
        self.scanned = max(self.scanned, scanned)
        return added, dropped


@dataclass(frozen=True)
class Found:
    """Where a search over the view landed."""

    row: int
    seq: int
    wrapped: bool  # it went past the end (or the start) and went on from the other end


def search_rows(
    pattern: SearchPattern,
    ring: Ring,
    seqs: Union[range, Sequence[int]],
    start: int,
    backward: bool = False,
    wrap: bool = True,
    cancelled: Optional[Callable[[], bool]] = None,
    progress: Optional[Callable[[float], None]] = None,
    chunk: int = 8192,
) -> Optional[Found]:
    """The first row at or after ``start`` (before it, ``backward``) whose line matches.

    Rows are indexes into ``seqs`` (the sequence numbers a view shows). With
    ``wrap``, the search goes on from the other end, as vim's ``wrapscan``, and
    says so in ``Found.wrapped``. Scans in chunks (one joined regex pass each);
    ``cancelled`` is asked between chunks, ``progress`` told the share done.
    Safe on any thread.
    """
    n = len(seqs)
    if n == 0:
        return None
    # The rows in the order they are looked at, as (lo, hi, wrapped) spans; a start
    # past either end (n from the last row, N from the first) wraps at once.
    spans: List[Tuple[int, int, bool]] = []
    if not backward:
        start = max(0, start)
        if start < n:
            spans.append((start, n, False))
        if wrap and start > 0:
            spans.append((0, min(start, n), True))
    else:
        start = min(start, n - 1)
        if start >= 0:
            spans.append((0, start + 1, False))
        if wrap and start + 1 < n:
            spans.append((start + 1, n, True))
    done = 0
    for lo, hi, wrapped in spans:
        pos = lo if not backward else hi
        while (pos < hi) if not backward else (pos > lo):
            if cancelled is not None and cancelled():
                return None
            a, b = (pos, min(pos + chunk, hi)) if not backward else (max(lo, pos - chunk), pos)
            part, lines = rows_lines(ring, seqs, a, b)
            i = pattern.find_in(lines, backward=backward)
            if i is not None:
                return Found(a + (b - a - len(part)) + i, part[i], wrapped)
            done += b - a
            if progress is not None:
                progress(done / n)
            pos = b if not backward else a
    return None


def rows_lines(
    ring: Ring, seqs: Union[range, Sequence[int]], lo: int, hi: int
) -> Tuple[List[int], List[str]]:
    """The sequence numbers and lines of rows lo..hi; rows evicted meanwhile are left out
    at the front of a range, or come back empty in a filtered view."""
    if isinstance(seqs, range):
        first = seqs[lo]
        lines = ring.window(first, hi - lo)
        skipped = (hi - lo) - len(lines)
        return list(range(first + skipped, first + hi - lo)), lines
    part = list(seqs[lo:hi])
    out = []
    for s in part:
        try:
            out.append(ring.get(s))
        except IndexError:
            out.append("")
    return part, out


class SearchPattern:
    """What `/` looks for: a regex (a literal when it is not valid regex), smart case."""

    def __init__(self, text: str) -> None:
        self.text = text
        flags = _smart_case(text)
        try:
            self.regex = re.compile(text, flags)
            source = text
        except re.error:
            source = re.escape(text)
            self.regex = re.compile(source, flags)
        low = _lowercase_pattern(source) if flags else None
        self._scan = low if low is not None else self.regex
        self._lower = low is not None

    def spans(self, line: str) -> List[Tuple[int, int]]:
        """Where the pattern matches in one line (non-empty matches only)."""
        return [m.span() for m in self.regex.finditer(line) if m.end() > m.start()]

    def find_in(self, lines: Sequence[str], backward: bool = False) -> Optional[int]:
        """Index of the first (or last) line in ``lines`` that matches."""
        if not lines:
            return None
        text = "\n" + "\n".join(lines)
        if self._lower:
            text = text.lower()
        if not backward:
            m = self._scan.search(text)
            return None if m is None else text.count("\n", 0, m.start() + 1) - 1
        found = _match_lines(self._scan, text, None)
        return found[-1] if found else None


def ftrace_header(tracer: str, entries: int, written: int, cpus: int) -> str:
    """The header the kernel prints atop ``trace`` (what trace viewers look for)."""
    return (
        f"# tracer: {tracer}\n"
        "#\n"
        f"# entries-in-buffer/entries-written: {entries}/{written}   #P:{cpus}\n"
        "#\n"
        "#                                _-----=> irqs-off/BH-disabled\n"
        "#                               / _----=> need-resched\n"
        "#                              | / _---=> hardirq/softirq\n"
        "#                              || / _--=> preempt-depth\n"
        "#                              ||| / _-=> migrate-disable\n"
        "#                              |||| /     delay\n"
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
        "#              | |         |   |||||     |         |\n"
    )


def save_lines(
    out: IO[str],
    ring: Ring,
    seqs: Optional[Sequence[int]] = None,
    start: Optional[int] = None,
    end: Optional[int] = None,
    tracer: str = "nop",
    cpus: int = 1,
) -> int:
    """Write lines of the ring as ftrace text (header first), in chunks.

    Args:
        seqs: the sequence numbers to write (a filtered view); None for a range.
        start, end: the range of sequence numbers (default: all the ring holds).

    Returns:
        How many lines were written (evicted ones are skipped).
    """
    body: List[str] = []
    count = 0
    if seqs is None:
        lo = ring.first_seq if start is None else max(start, ring.first_seq)
        hi = ring.next_seq if end is None else end
        total = max(0, hi - lo)
        header_written = False
        while lo < hi:
            step = min(CHUNK, hi - lo)
            lines = ring.window(lo, step)
            lo += step
            if not lines:
                continue
            lines = [ln for ln in lines if not ln.startswith("#")]
            if not header_written:
                out.write(ftrace_header(tracer, total, total, cpus))
                header_written = True
            if lines:
                out.write("\n".join(lines) + "\n")
            count += len(lines)
        if not header_written:
            out.write(ftrace_header(tracer, 0, 0, cpus))
        return count
    out.write(ftrace_header(tracer, len(seqs), len(seqs), cpus))
    for i in range(0, len(seqs), CHUNK):
        body.clear()
        for s in seqs[i : i + CHUNK]:
            try:
                body.append(ring.get(s))
            except IndexError:
                continue
        if body:
            out.write("\n".join(body) + "\n")
            count += len(body)
    return count
