"""A write the kernel takes long over is named while it lasts (SlowWrites).

A FIFO stands in for the slow file: open(2) for writing blocks until a reader
comes, as a tracer switch's write(2) blocks while the kernel patches call sites.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import List, Tuple

from ftop.engine.control import tracefs as tfs_mod
from ftop.engine.control.tracefs import SlowWrites, Tracefs, slow_hint


def test_a_blocked_write_is_told_after_a_second_and_again_while_it_lasts(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "current_tracer")
    told: List[Tuple[str, float]] = []
    watch = SlowWrites(after=0.5, every=0.6)
    watch.on_slow = lambda what, s: told.append((what, s))
    old, tfs_mod.SLOW = tfs_mod.SLOW, watch
    got: List[bytes] = []

    def reader() -> None:
        time.sleep(1.6)
        with open(tmp_path / "current_tracer", "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=reader)
    t.start()
    try:
        Tracefs(tmp_path).write("current_tracer", "function_graph")
    finally:
        tfs_mod.SLOW = old
        t.join()
    assert got == [b"function_graph\n"]
    assert len(told) >= 2, told
    assert told[0][0] == "current_tracer <- function_graph" and told[0][1] >= 0.5
    assert told[1][1] > told[0][1]
    assert "patches every traced call site" in slow_hint(told[0][0])


def test_a_quick_write_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "tracing_on").write_text("1\n")
    told: List[Tuple[str, float]] = []
    watch = SlowWrites(after=0.3)
    watch.on_slow = lambda what, s: told.append((what, s))
    old, tfs_mod.SLOW = tfs_mod.SLOW, watch
    try:
        Tracefs(tmp_path).write("tracing_on", "0")
        time.sleep(0.6)
    finally:
        tfs_mod.SLOW = old
    assert told == []
    assert (tmp_path / "tracing_on").read_text() == "0\n"
