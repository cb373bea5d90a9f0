"""Polls never pile up: the next one waits for the previous to finish."""

from __future__ import annotations

import threading
import time

from ftop.engine.poller import Poller


def test_slow_polls_do_not_overlap_or_queue() -> None:
    active = 0
    max_active = 0
    lock = threading.Lock()
    results: list[int] = []

    def slow_poll() -> int:
        nonlocal active, max_active
        with lock:
            active += 1
            max_active = max(max_active, active)
        time.sleep(0.05)  # slower than the interval
        with lock:
            active -= 1
        return len(results)

    p = Poller(slow_poll, results.append, interval=0.01)
    p.start()
    time.sleep(0.4)
    p.stop()
    assert max_active == 1
    # At most one poll per (poll time + a tenth of the interval): no backlog.
    assert 3 <= len(results) <= 0.4 / 0.05 + 1
    assert results == list(range(len(results)))


def test_errors_are_reported_and_polling_goes_on() -> None:
    calls = []
    errors: list[BaseException] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("EIO")
        return 1

    got: list[int] = []
    p = Poller(flaky, got.append, interval=0.01, on_error=errors.append)
    p.start()
    time.sleep(0.1)
    p.stop()
    assert isinstance(errors[0], OSError)
    assert got and got[0] == 1


def test_poll_now_skips_while_a_poll_runs() -> None:
    gate = threading.Event()
    p = Poller(lambda: gate.wait(1), lambda r: None, interval=10)
    t = threading.Thread(target=p.poll_now)
    t.start()
    time.sleep(0.05)
    p.poll_now()
    gate.set()
    t.join()
    assert p.overlaps == 1 and p.polls == 1
