"""Bounded ring of raw trace lines, addressed by a sequence number that never goes back."""

from __future__ import annotations

import threading
from bisect import bisect_left
from itertools import accumulate
from typing import List, Optional, Sequence, cast

__all__ = ["Ring"]


class Ring:
    """A bounded, preallocated ring of raw trace lines.

    Every line gets a sequence number, counting up from 0 for the life of the
    ring (``clear()`` does not reset it), so a viewer can hold on to positions
    while lines stream in: ``first_seq`` is the oldest line still held,
    ``next_seq`` the number the next appended line will get.

    The ring is bounded twice: by ``max_entries`` lines and by ``max_bytes``
    characters of text (``len(line)`` summed; for the ASCII text tracefs
    prints that is the text's size in bytes, not counting the ~57 bytes of
    CPython object and list slot per line). When either bound would be
    exceeded, the oldest lines are evicted and counted in ``evicted``.

    Storage is one list of ``max_entries`` slots used circularly: appending is
    O(1), ``extend`` writes a batch with at most two slice assignments, and any
    held line is reachable in O(1) by its sequence number. Evicted slots are set
    to ``None`` so their strings are freed at once, which keeps memory flat.

    Thread-safety: every public method takes one internal ``threading.Lock``
    for a few slice operations, never for Python work per line, so one writer
    thread (the trace_pipe reader) and readers on other threads (the UI) can
    share a ring. A reader asking for a line that was evicted meanwhile gets
    ``IndexError`` from ``get`` or a shorter (clamped) list from ``window``,
    never a torn read or ``None``.
    """

    __slots__ = (
        "_buf",
        "_bytes",
        "_cap",
        "_evicted",
        "_first",
        "_lock",
        "_max_bytes",
        "_next",
    )

    # The default byte bound keeps a full default ring under 300 MB of RSS even
    # with long lines: str overhead is ~57 B per entry on top of the text.
    def __init__(self, max_entries: int = 1_000_000, max_bytes: int = 160 * 2**20) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
        self._cap = max_entries
        self._max_bytes = max_bytes
        self._buf: List[Optional[str]] = [None] * max_entries
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
        n = len(line)
        with self._lock:
            seq = self._next
            if seq - self._first == self._cap:
                self._drop_oldest_locked(1)
            self._buf[seq % self._cap] = line
            self._next = seq + 1
            self._bytes += n
            if self._bytes > self._max_bytes:
                self._trim_bytes_locked()
            return seq

    def extend(self, lines: Sequence[str]) -> int:
        """Append a batch of lines; return the sequence number of the first one.

        The text is summed with ``sum(map(len, lines))`` and copied in with slice
        assignment, so the per-line cost is C code. A batch longer than the ring
        keeps only its last ``max_entries`` lines; the ones before count as
        evicted.
        """
        count = len(lines)
        with self._lock:
            start = self._next
            if count == 0:
                return start
            cap = self._cap
            if count > cap:
                skipped = count - cap
                lines = lines[skipped:]
                count = cap
                self._drop_oldest_locked(len(self))
                self._evicted += skipped
                self._first += skipped
                self._next += skipped
            else:
                overflow = (self._next - self._first) + count - cap
                if overflow > 0:
                    self._drop_oldest_locked(overflow)
            added = sum(map(len, lines))
            pos = self._next % cap
            head = cap - pos
            buf = self._buf
            if count <= head:
                buf[pos : pos + count] = lines
            else:
                buf[pos:cap] = lines[:head]
                buf[0 : count - head] = lines[head:]
            self._next += count
            self._bytes += added
            if self._bytes > self._max_bytes:
                self._trim_bytes_locked()
            return start

    def clear(self) -> None:
        """Drop every line. Sequence numbers keep counting; ``evicted`` is unchanged."""
        with self._lock:
            self._buf = [None] * self._cap
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
            line = self._buf[seq % self._cap]
        assert line is not None
        return line

    def window(self, start_seq: int, count: int) -> List[str]:
        """Return up to ``count`` lines from ``start_seq`` on, clamped to what is held.

        A start before ``first_seq`` (evicted lines) begins at ``first_seq``
        instead; a range past ``next_seq`` is cut short. Returns a new list; the
        strings themselves are shared, not copied.
        """
        if count <= 0:
            return []
        with self._lock:
            lo = max(start_seq, self._first)
            hi = min(start_seq + count, self._next)
            if hi <= lo:
                return []
            cap = self._cap
            a = lo % cap
            b = a + (hi - lo)
            buf = self._buf
            out = buf[a:b] if b <= cap else buf[a:cap] + buf[0 : b - cap]
        # Slots in [first_seq, next_seq) never hold None.
        return cast(List[str], out)

    def tail(self, count: int) -> List[str]:
        """Return the newest ``count`` lines (fewer if the ring holds fewer)."""
        with self._lock:
            start = max(self._first, self._next - count)
        return self.window(start, count)

    # -- eviction (lock held) ---------------------------------------------------

    def _drop_oldest_locked(self, k: int) -> None:
        """Evict the ``k`` oldest held lines."""
        if k <= 0:
            return
        cap = self._cap
        buf = self._buf
        a = self._first % cap
        b = a + k
        if b <= cap:
            freed = sum(map(len, buf[a:b]))  # type: ignore[arg-type]
            buf[a:b] = [None] * k
        else:
            freed = sum(map(len, buf[a:cap])) + sum(map(len, buf[0 : b - cap]))  # type: ignore[arg-type]
            buf[a:cap] = [None] * (cap - a)
            buf[0 : b - cap] = [None] * (b - cap)
        self._first += k
        self._bytes -= freed
        self._evicted += k

    def _trim_bytes_locked(self) -> None:
        """Evict oldest lines until the text held fits ``max_bytes``."""
        cap = self._cap
        while self._bytes > self._max_bytes and self._next > self._first:
            excess = self._bytes - self._max_bytes
            held = self._next - self._first
            # Look at a chunk of the oldest lines, big enough in the usual case
            # (a batch's worth of text over the bound) to need a single pass.
            chunk = min(held, 4096)
            a = self._first % cap
            b = min(a + chunk, cap)
            sizes = list(accumulate(map(len, self._buf[a:b])))  # type: ignore[arg-type]
            k = bisect_left(sizes, excess) + 1
            self._drop_oldest_locked(min(k, len(sizes)))
