"""Bounded ring of raw trace lines, addressed by a sequence number that never goes back."""

from __future__ import annotations

import os
import threading
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import List, Sequence

__all__ = ["Ring", "pin_mmap_threshold"]


_NO_OFFS = array("I")

# glibc's mallopt(M_MMAP_THRESHOLD): blocks this big or bigger get pages of their own.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024


def pin_mmap_threshold() -> bool:
    """Keep glibc from raising its mmap threshold; True when it was set.

    A ring's blocks are a batch of text each (1 MiB from the engine's readers). glibc
    gives the first ones pages of their own, but each one freed raises its threshold
    to that size, and later blocks come from the heap, where the ring's churn leaves
    holes the process never gives back: RSS rose 5-6 % over the 1 M lines held
    (bench/ring_memory.py; 0.6 % with the threshold pinned). Setting it by hand
    switches the raising off. Elsewhere than glibc (musl) nothing is done.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError, AttributeError):
        return False
    import ctypes  # here: 3-4 ms of import the first frame need not wait for

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))


class _Block:
    """A batch of lines stored as one string: the lines joined by ``\\n``, and where
    each begins (``offs[j]``; ``offs[count]`` is the text's length plus one).

    One object per batch instead of one per line: a million lines of trace text
    take their characters and four bytes each, not a further ~57 bytes of str
    object and list slot (bench/ring_memory.py measures it)."""

    __slots__ = ("count", "nl", "offs", "start", "text")

    def __init__(self, start: int, lines: Sequence[str]) -> None:
        self.start = start
        self.count = len(lines)
        self.text = "\n".join(lines)
        offs = array("I", [0])
        offs.extend(accumulate(len(x) + 1 for x in lines))
        self.offs = offs
        # A line holding a newline itself cannot be split back out with split().
        self.nl = self.text.count("\n") != max(0, self.count - 1)

    def chars(self, a: int, b: int) -> int:
        """Characters of lines a..b-1 (without the separators)."""
        return self.offs[b] - self.offs[a] - (b - a)

    def line(self, j: int) -> str:
        o = self.offs
        return self.text[o[j] : o[j + 1] - 1]

    def lines(self, a: int, b: int) -> List[str]:
        if b <= a:
            return []
        o = self.offs
        if not self.nl:
            return self.text[o[a] : o[b] - 1].split("\n")
        t = self.text
        return [t[o[j] : o[j + 1] - 1] for j in range(a, b)]


class Ring:
    """A bounded ring of raw trace lines.

    Every line gets a sequence number, counting up from 0 for the life of the
    ring (``clear()`` does not reset it), so a viewer can hold on to positions
    while lines stream in: ``first_seq`` is the oldest line still held,
    ``next_seq`` the number the next appended line will get.

    The ring is bounded twice: by ``max_entries`` lines and by ``max_bytes``
    characters of text (``len(line)`` summed; for the ASCII text tracefs
    prints that is the text's size in bytes). When either bound would be
    exceeded, the oldest lines are evicted and counted in ``evicted``.

    Storage is a list of blocks, one per batch ``extend`` was given (see
    :class:`_Block`); single ``append`` calls gather in a short open list that
    is sealed into a block. Any held line is found by a bisection over the
    blocks' first sequence numbers. A block is freed as soon as its last line
    is evicted, so memory stays within one batch of the bounds.

    Thread-safety: every public method takes one internal ``threading.Lock``
    for a few list operations (the joining of a batch happens before, outside
    it), so one writer thread (the trace_pipe reader) and readers on other
    threads (the UI) can share a ring. A reader asking for a line that was
    evicted meanwhile gets ``IndexError`` from ``get`` or a shorter (clamped)
    list from ``window``, never a torn read.
    """

    __slots__ = (
        "_blocks",
        "_bytes",
        "_cap",
        "_evicted",
        "_first",
        "_head",
        "_lock",
        "_max_bytes",
        "_next",
        "_open",
        "_open_start",
        "_starts",
    )

    # Lines gathered from single appends before they are sealed into a block.
    OPEN_LINES = 256

    def __init__(self, max_entries: int = 1_000_000, max_bytes: int = 160 * 2**20) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
        self._cap = max_entries
        self._max_bytes = max_bytes
        self._blocks: List[_Block] = []
        self._starts: List[int] = []
        self._head = 0  # blocks before this index are dropped (compacted lazily)
        self._open: List[str] = []
        self._open_start = 0
        self._first = 0
        self._next = 0
        self._bytes = 0
        self._evicted = 0
        self._lock = threading.Lock()

    # -- read-only properties -------------------------------------------------

    @property
    def max_entries(self) -> int:
        """Capacity in lines."""
        return self._cap

    @property
    def max_bytes(self) -> int:
        """Capacity in characters of text."""
        return self._max_bytes

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest line held (== ``next_seq`` when empty)."""
        return self._first

    @property
    def next_seq(self) -> int:
        """Sequence number the next appended line will get."""
        return self._next

    @property
    def evicted(self) -> int:
        """How many lines were pushed out by either bound since creation."""
        return self._evicted

    @property
    def bytes(self) -> int:
        """Characters of text held now (sum of ``len(line)``)."""
        return self._bytes

    @property
    def blocks(self) -> int:
        """Blocks of storage held (a test's view of what is kept alive)."""
        return len(self._blocks) - self._head + (1 if self._open else 0)

    def __len__(self) -> int:
        return self._next - self._first

    def __repr__(self) -> str:
        return (
            f"Ring(len={len(self)}, first_seq={self._first}, next_seq={self._next}, "
            f"bytes={self._bytes}, evicted={self._evicted}, max_entries={self._cap}, "
            f"max_bytes={self._max_bytes})"
        )

    # -- writing --------------------------------------------------------------

    def append(self, line: str) -> int:
        """Append one line; return its sequence number."""
        with self._lock:
            seq = self._next
            if not self._open:
                self._open_start = seq
            self._open.append(line)
            self._next = seq + 1
            self._bytes += len(line)
            if len(self._open) >= self.OPEN_LINES:
                self._seal_locked()
            self._bound_locked()
            return seq

    def extend(self, lines: Sequence[str]) -> int:
        """Append a batch of lines; return the sequence number of the first one.

        A batch longer than the ring keeps only its last ``max_entries`` lines;
        the ones before count as evicted.
        """
        count = len(lines)
        if count == 0:
            return self._next
        skipped = max(0, count - self._cap)
        if skipped:
            lines = lines[skipped:]
        block = _Block(0, lines)  # joined outside the lock: C work, but a batch's worth
        added = block.chars(0, block.count)
        with self._lock:
            start = self._next
            self._seal_locked()
            if skipped:
                self._drop_oldest_locked(len(self))
                self._evicted += skipped
                self._first += skipped
                self._next += skipped
            block.start = self._next
            self._blocks.append(block)
            self._starts.append(block.start)
            self._next += block.count
            self._bytes += added
            self._bound_locked()
            return start

    def clear(self) -> None:
        """Drop every line. Sequence numbers keep counting; ``evicted`` is unchanged."""
        with self._lock:
            self._blocks = []
            self._starts = []
            self._head = 0
            self._open = []
            self._first = self._next
            self._bytes = 0

    # -- reading --------------------------------------------------------------

    def get(self, seq: int) -> str:
        """Return the line numbered ``seq``.

        Raises:
            IndexError: ``seq`` was evicted (or cleared) or is not written yet.
        """
        with self._lock:
            if seq < self._first or seq >= self._next:
                raise IndexError(
                    f"sequence {seq} not held (ring holds {self._first}..{self._next - 1})"
                )
            if self._open and seq >= self._open_start:
                return self._open[seq - self._open_start]
            b = self._blocks[bisect_right(self._starts, seq, self._head) - 1]
            return b.line(seq - b.start)

    def window(self, start_seq: int, count: int) -> List[str]:
        """Return up to ``count`` lines from ``start_seq`` on, clamped to what is held.

        A start before ``first_seq`` (evicted lines) begins at ``first_seq``
        instead; a range past ``next_seq`` is cut short. Returns a new list.
        """
        if count <= 0:
            return []
        with self._lock:
            lo = max(start_seq, self._first)
            hi = min(start_seq + count, self._next)
            if hi <= lo:
                return []
            out: List[str] = []
            open_start = self._open_start if self._open else self._next
            if lo < open_start:
                i = bisect_right(self._starts, lo, self._head) - 1
                blocks = self._blocks
                while i < len(blocks) and lo < min(hi, open_start):
                    b = blocks[i]
                    end = min(hi, b.start + b.count)
                    out.extend(b.lines(lo - b.start, end - b.start))
                    lo = end
                    i += 1
            if lo < hi:
                out.extend(self._open[lo - open_start : hi - open_start])
        return out

    def tail(self, count: int) -> List[str]:
        """Return the newest ``count`` lines (fewer if the ring holds fewer)."""
        with self._lock:
            start = max(self._first, self._next - count)
        return self.window(start, count)

    # -- storage (lock held) ------------------------------------------------------

    def _seal_locked(self) -> None:
        """Turn the open lines of single appends into a block."""
        if not self._open:
            return
        b = _Block(self._open_start, self._open)
        self._blocks.append(b)
        self._starts.append(b.start)
        self._open = []

    def _bound_locked(self) -> None:
        overflow = len(self) - self._cap
        if overflow > 0:
            self._drop_oldest_locked(overflow)
        if self._bytes > self._max_bytes:
            self._trim_bytes_locked()

    def _drop_oldest_locked(self, k: int) -> None:
        """Evict the ``k`` oldest held lines."""
        k = min(k, len(self))
        if k <= 0:
            return
        target = self._first + k
        blocks = self._blocks
        while self._head < len(blocks) and self._first < target:
            b = blocks[self._head]
            end = min(target, b.start + b.count)
            self._bytes -= b.chars(self._first - b.start, end - b.start)
            self._first = end
            if end == b.start + b.count:
                # Its text goes now; the list slot goes with the next compaction.
                b.text, b.offs = "", _NO_OFFS
                self._head += 1
        if self._first < target:  # into the open lines
            n = target - self._first
            self._bytes -= sum(map(len, self._open[:n]))
            del self._open[:n]
            self._open_start += n
            self._first = target
        self._evicted += k
        # Dropped blocks go in one slice now and then, not one by one from the front.
        if self._head > 64 and self._head * 2 > len(blocks):
            del blocks[: self._head]
            del self._starts[: self._head]
            self._head = 0

    def _trim_bytes_locked(self) -> None:
        """Evict oldest lines until the text held fits ``max_bytes``."""
        while self._bytes > self._max_bytes and self._next > self._first:
            excess = self._bytes - self._max_bytes
            if self._head < len(self._blocks):
                b = self._blocks[self._head]
                j0 = self._first - b.start
                # The fewest oldest lines of this block whose text covers the excess.
                k = bisect_left(range(j0 + 1, b.count + 1), excess, key=lambda j: b.chars(j0, j))
                self._drop_oldest_locked(min(k + 1, b.count - j0))
            else:
                sizes = list(accumulate(map(len, self._open)))
                self._drop_oldest_locked(min(bisect_left(sizes, excess) + 1, len(sizes)))
