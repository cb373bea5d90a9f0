"""The raw pages as read, kept as bytes in a ring bounded in bytes.

What a live view saves as trace.dat: the pages exactly as the kernel handed
them out (records, padding, time stamps and the missed-events flags intact),
oldest dropped first when the budget is reached.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Deque, List, Tuple

__all__ = ["PageRing", "budget_for"]

DEFAULT_BYTES = 64 * 2**20
MIN_BYTES = 4 * 2**20
# A raw record is about 40 to 80 bytes where its text line is about 100: the default
# budget beside the default ring (a million lines), about 67 bytes of pages a line,
# keeps the pages about as long as the lines they made.
DEFAULT_LINES = 1_000_000


def budget_for(max_entries: int, max_bytes: int) -> int:
    """The pages' budget beside a ring of ``max_entries`` lines and ``max_bytes`` of
    text: what a save as trace.dat holds then spans about what the view holds (the
    default ring of a million lines: 64 MiB), never more than the text's own budget
    and never less than a few MiB (a save of a small ring still has whole pages)."""
    return max(MIN_BYTES, min(max_bytes, DEFAULT_BYTES * max_entries // DEFAULT_LINES))


class PageRing:
    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: Deque[Tuple[int, bytes]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.evicted = 0

    def extend(self, cpu: int, pages: List[bytes]) -> None:
        with self._lock:
            for p in pages:
                self._pages.append((cpu, p))
                self._bytes += len(p)
            while self._bytes > self.max_bytes and self._pages:
                _, old = self._pages.popleft()
                self._bytes -= len(old)
                self.evicted += 1

    def snapshot(self) -> List[Tuple[int, bytes]]:
        with self._lock:
            return list(self._pages)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._pages)
