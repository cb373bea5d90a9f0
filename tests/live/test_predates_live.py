"""What a buffer held before ftop started, on this machine's real tracefs (issue 10).

A private instance (``instances/ftop-predates-<pid>``, created and journaled by the
session, removed by its restore) gets a marker written into its buffer BEFORE the
session starts reading it, and one after. The view's ring must hold ftop's separator
line between the two, the aggregates must count the first as predating (not live), and
the status band must say over what period its loss counts. The top level is checked
to be exactly as found (``unchanged``), and the instance and journal to be gone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, List

import pilot_util
import pytest
from ftop.engine.control.session import Session
from ftop.engine.control.state import snapshot
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.stream.predates import NS_CLOCKS
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings
from ftop.tui.widgets.base import StatusBand

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


def _ring(sess: Session) -> List[str]:
    r = sess.ring
    return r.window(r.first_seq, r.next_seq - r.first_seq)


def _index(lines: List[str], text: str) -> int:
    found = [i for i, ln in enumerate(lines) if text in ln]
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.mark.parametrize("mode", ["auto", "text"])
async def test_a_marker_left_before_the_start_is_set_apart_and_the_loss_says_since(
    mode: str,
    tracefs_root: Path,
    tfs: Tracefs,
    unchanged: Any,
    journal_dir: Path,
    tmp_path: Path,
) -> None:
    name = f"ftop-predates-{os.getpid()}"
    before, after = f"ftop-before-{os.getpid()}", f"ftop-after-{os.getpid()}"
    sess = Session.open(str(tracefs_root), instance=name, journal_dir=journal_dir)
    sess.stream_mode = mode
    inst = tfs.sub(name)
    try:
        clock = snapshot(inst).scalars["trace_clock"]
        assert clock in NS_CLOCKS, f"a fresh instance's clock is {clock}"
        # Someone else's marker, left in the buffer before ftop reads it.
        (inst.path / "trace_marker").write_text(before + "\n")
        time.sleep(0.01)
        sess.start_stream()
        mark = sess.start_marks[str(inst.path)]
        assert mark.why_unmarked is None and mark.entries >= 1
        sess.write_marker(after)
        # The engine first, with no app: the ring and the aggregates.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not any(after in ln for ln in _ring(sess)):
            time.sleep(0.05)
        ring = _ring(sess)
        i_before, i_after = _index(ring, before), _index(ring, after)
        i_sep = _index(ring, "in the buffer before ftop started at")
        assert i_before < i_sep < i_after, ring
        assert ring[i_sep].startswith("[ftop: ") and "what follows is live" in ring[i_sep]
        snap = sess.aggregates.snapshot(time.time())
        assert snap.predates >= 1 and snap.loss_since == mark.wall
        # Then the band, in the app over the same session.
        hm = time.strftime("%H:%M", time.localtime(mark.wall))
        app = FtopApp(sess, kind="live", label=sess.label, settings=Settings(tmp_path / "c.toml"))
        async with app.run_test(size=(160, 40)) as pilot:

            def band() -> str:
                return str(app.screen.query_one(StatusBand).render())

            app.poll_now()
            await pilot_util.until(pilot, lambda: f" since {hm}" in band(), 10.0, what=band)
            assert "lost " in band()
    finally:
        report = sess.restore()
    assert report is None or report.ok, report
    assert name not in os.listdir(tracefs_root / "instances")
    assert not list(journal_dir.glob("journal-*.json")), "the journal is done with"
