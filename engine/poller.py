"""Polling cheap state on a timer, without polls ever piling up.

The next poll is scheduled only after the previous one finished, so a slow
tracefs read (a busy box, a hung file) delays polls instead of stacking them.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, Optional, TypeVar

T = TypeVar("T")


class Poller(Generic[T]):
    """Call ``poll`` every ``interval`` seconds on a daemon thread; hand results to ``on_result``.

    Exceptions from ``poll`` go to ``on_error`` (the loop keeps going).
    """

    def __init__(
        self,
        poll: Callable[[], T],
        on_result: Callable[[T], None],
        interval: float = 1.0,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> None:
        self.poll = poll
        self.on_result = on_result
        self.on_error = on_error
        self.interval = interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.polls = 0
        self.overlaps = 0
        self._busy = False

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ftop-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def poll_now(self) -> None:
        """Run one poll on the caller's thread (skipped if one is running)."""
        self._once()

    def _once(self) -> None:
        if self._busy:
            self.overlaps += 1
            return
        self._busy = True
        try:
            result = self.poll()
            self.polls += 1
            self.on_result(result)
        except Exception as e:
            if self.on_error is not None:
                self.on_error(e)
        finally:
            self._busy = False

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._once()
            # Sleep what is left of the interval, never less than a tenth of it.
            elapsed = time.monotonic() - started
            if self._stop.wait(max(self.interval - elapsed, self.interval / 10)):
                break
