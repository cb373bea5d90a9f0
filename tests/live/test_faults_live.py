"""Others acting on the tracefs while ftop works (issue 11), on the machine's real tracefs.

Someone else changes the events or the clock, removes ftop's instance, or reads the
same buffer: ftop's poll says so within one poll, does not fight it, and its
restore leaves the other party's change in place. Each test leaves the tracefs
as it found it (the ``unchanged`` fixture checks), undoing the other party's
change itself at the end.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List

import pytest
from ftop.engine.control.session import Session
from ftop.engine.control.state import snapshot
from ftop.engine.control.tracefs import Tracefs, list_dir

pytestmark = pytest.mark.live


def _shell(cmd: str) -> None:
    """The other party: a shell, another process."""
    subprocess.run(["sh", "-c", cmd], check=True, timeout=20)


def _outside(sess: Session) -> List[str]:
    return sess.poll().outside_changes


def test_someone_elses_event_and_clock_changes_are_shown_and_kept(
    tfs: Tracefs, unchanged: object, journal_dir: Path, tracefs_root: Path
) -> None:
    clock_before = snapshot(tfs).scalars["trace_clock"]
    other_clock = "global" if clock_before != "global" else "local"
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.set_event("sched", "sched_switch", True)
        sess.poll()
        assert _outside(sess) == []  # a quiet poll after ftop's own change: nothing
        _shell(f"echo sched:sched_wakeup >> {tracefs_root}/set_event")
        _shell(f"echo {other_clock} > {tracefs_root}/trace_clock")
        notes = _outside(sess)
        assert any("+sched:sched_wakeup" in n for n in notes), notes
        assert any(n.startswith("trace_clock: ") and other_clock in n for n in notes), notes
        assert sess.outside_log[-len(notes) :] == notes
        assert _outside(sess) == []  # told once
        sess.restore()
        # ftop's change is undone, the other party's stays
        st = snapshot(tfs)
        assert "sched/sched_wakeup" in st.events_enabled
        assert "sched/sched_switch" not in st.events_enabled
        assert st.scalars["trace_clock"] == other_clock
    finally:
        sess.restore()
        _shell(f"echo '!sched:sched_wakeup' >> {tracefs_root}/set_event")
        _shell(f"echo {clock_before} > {tracefs_root}/trace_clock")


def test_the_instance_removed_under_ftop_is_noticed_and_the_restore_finishes(
    tfs: Tracefs, unchanged: object, journal_dir: Path
) -> None:
    name = f"ftop-test-gone-{os.getpid()}"
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.use_instance(name)
        sess.set_event("sched", "sched_switch", True)
        sess.start_stream()
        assert not sess.poll().instance_gone
        # The kernel refuses to remove an instance whose files are open (EBUSY): the
        # other party can remove it once ftop's reader is paused (a tracer switch, a
        # restart), which is when this happens for real.
        sess.stop_stream()
        _shell(f"echo 0 > {tfs.path}/instances/{name}/events/enable")
        os.rmdir(tfs.path / "instances" / name)
        st = sess.poll()
        assert st.instance_gone
        assert st.outside_changes == []  # the vanished files are not reported as changes
    finally:
        report = sess.restore()
    assert name not in list_dir(tfs, "instances")
    assert not list(journal_dir.glob("journal-*.json")), "the journal is done with"
    assert report is not None


def test_another_reader_of_the_same_buffer_is_named(
    tfs: Tracefs, unchanged: object, journal_dir: Path
) -> None:
    name = f"ftop-test-reader-{os.getpid()}"
    sess = Session(tfs, journal_dir=journal_dir)
    cat = None
    try:
        sess.use_instance(name)
        sess.start_stream()
        assert sess.poll().other_readers == []
        cat = subprocess.Popen(
            ["cat", str(tfs.path / "instances" / name / "per_cpu" / "cpu0" / "trace_pipe_raw")],
            stdout=subprocess.DEVNULL,
        )
        sess._readers_at = 0.0  # the scan runs every 5 s: now
        readers = []
        for _ in range(50):
            readers = sess.poll().other_readers
            if readers:
                break
            sess._readers_at = 0.0
            os.sched_yield()
        assert readers == [f"cat (pid {cat.pid})"], readers
        # A reader of the top level's buffer is not one of this instance's.
        cat.kill()
        cat.wait()
        cat = subprocess.Popen(["cat", str(tfs.path / "trace_pipe")], stdout=subprocess.DEVNULL)
        sess._readers_at = 0.0
        for _ in range(20):
            sess._readers_at = 0.0
            assert sess.poll().other_readers == []
    finally:
        if cat is not None:
            cat.kill()
            cat.wait()
        sess.restore()
    assert name not in list_dir(tfs, "instances")


def test_a_sampled_view_saves_every_event_its_pages_hold(
    tfs: Tracefs, unchanged: object, journal_dir: Path, tmp_path: Path
) -> None:
    """The text save from the raw pages (what the live view uses once its decoder has
    skipped pages) holds every marker written, in the kernel's text."""
    import time

    name = f"ftop-test-pages-{os.getpid()}"
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.use_instance(name)
        sess.start_stream()
        assert sess.stream_kind == "raw", sess.raw_why
        tokens = [f"ftop-page-save-{i}-{os.getpid()}" for i in range(50)]
        for t in tokens:
            sess.write_marker(t)
        end = time.monotonic() + 10
        while time.monotonic() < end and (sess.pages is None or len(sess.pages) == 0):
            time.sleep(0.05)
        time.sleep(0.5)
        out = tmp_path / "pages.txt"
        n = sess.save_pages_text(str(out), tracer="nop", cpus=2)
        text = out.read_text(errors="replace")
        assert text.startswith("# tracer: nop"), text[:200]
        assert n >= len(tokens)
        assert all(f"tracing_mark_write: {t}" in text for t in tokens), text[-2000:]
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    finally:
        sess.restore()
