"""ftop leaves its own threads out of what it traces (set_event_notrace_pid), and puts
them back in on request; the restore leaves the list as it found it."""

from __future__ import annotations

import os
from pathlib import Path

from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs


def _pids(tfs: Tracefs, rel: str) -> set[int]:
    return {int(x) for x in (tfs.read_or(rel) or "").split() if x.isdigit()}


def test_own_threads_left_out_then_traced_on_request_and_restored(
    tracefs_root: Path, tfs: Tracefs, unchanged: object, journal_dir: Path
) -> None:
    instance = f"ftop-self-{os.getpid()}"
    sess = Session.open(str(tracefs_root), instance=instance, journal_dir=journal_dir)
    inst = tfs.sub(instance)
    try:
        sess.start_stream()
        mine = {int(t) for t in os.listdir("/proc/self/task")}
        assert mine <= _pids(inst, "set_event_notrace_pid"), "every thread of ftop left out"
        sess.set_trace_self(True)
        assert not (mine & _pids(inst, "set_event_notrace_pid"))
        sess.set_trace_self(False)
        assert mine <= _pids(inst, "set_event_notrace_pid")
    finally:
        sess.restore()
    assert instance not in os.listdir(tracefs_root / "instances")
    # The top level was never touched (the unchanged fixture checks the rest).
    assert not (_pids(tfs, "set_event_notrace_pid") & {os.getpid()})
