"""The trace_pipe reader: batches of whole lines, bytes fast path, prompt cancellation when idle.

A FIFO stands in for trace_pipe here (same blocking-read semantics); the real
pipe is exercised in tests/live.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from ftop.engine.stream.trace_pipe import TracePipeReader

LINES = [
    "          <idle>-0       [001] d..2.  1467.951719: sched_switch: prev_comm=swapper/1 prev_pid=0",
    " kworker/u8:1-events_unbound-57  [000] d..2.  1467.951800: sched_wakeup: comm=bash pid=1234",
]


@pytest.fixture()
def fifo(tmp_path: Path) -> Path:
    p = tmp_path / "trace_pipe"
    os.mkfifo(p)
    return p


def _writer(path: Path) -> int:
    return os.open(path, os.O_WRONLY)


def test_lines_split_across_reads_arrive_whole(fifo: Path) -> None:
    got: list[str] = []
    r = TracePipeReader(str(fifo), got.extend, poll_interval=0.02)
    r.start()
    w = _writer(fifo)
    try:
        data = ("\n".join(LINES * 500) + "\n").encode()
        # Cut in the middle of a line: the tail waits for its newline.
        os.write(w, data[:1001])
        time.sleep(0.1)
        os.write(w, data[1001:])
        deadline = time.monotonic() + 5
        while len(got) < 1000 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.close(w)
        r.stop()
    assert got == LINES * 500
    assert r.lines_read == 1000 and r.bytes_read == len(data)


def test_bytes_fast_path_skips_decoding(fifo: Path) -> None:
    chunks: list[bytes] = []
    r = TracePipeReader(str(fifo), None, poll_interval=0.02, on_bytes=chunks.append)
    r.start()
    w = _writer(fifo)
    try:
        os.write(w, b"a line\npartial")
        time.sleep(0.2)
        os.write(w, b" line\n")
        time.sleep(0.2)
    finally:
        os.close(w)
        r.stop()
    assert b"".join(chunks) == b"a line\npartial line\n"
    assert r.lines_read == 2


def test_stop_returns_promptly_when_the_pipe_is_idle(fifo: Path) -> None:
    r = TracePipeReader(str(fifo), lambda lines: None, poll_interval=0.05)
    r.start()
    w = _writer(fifo)  # a writer that never writes: reads would block forever
    try:
        time.sleep(0.2)
        t0 = time.monotonic()
        r.stop()
        assert time.monotonic() - t0 < 0.5
        assert not r.running
    finally:
        os.close(w)


def test_open_refusal_is_raised_on_the_callers_thread(tmp_path: Path) -> None:
    r = TracePipeReader(str(tmp_path / "missing"), lambda lines: None)
    with pytest.raises(FileNotFoundError):
        r.start()
