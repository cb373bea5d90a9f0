"""The status band's loss says over what period it counts (issue 10), and the live view
shows where what the buffer held before ftop started ends.

A live session over a fake tracefs (tests/predates_util.py: a backlog of the host-6.18
sched capture in trace_pipe, stats whose "now ts" falls inside it); the demo and a saved
file keep their own wording.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable

from ftop.engine.control.session import Session, Status
from ftop.engine.stream.parse import parse_line
from ftop.engine.stream.stats import Aggregates
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings
from ftop.tui.widgets.base import StatusBand, StatusInfo
from pilot_util import until
from predates_util import fake_tracefs

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCHED = (FIXTURES / "host-6.18" / "sched.trace_pipe.txt").read_text().splitlines()
SINCE = 1_780_000_000.0


def band_text(app: FtopApp) -> str:
    return str(app.screen.query_one(StatusBand).render())


def info_of(kind: str, lost: int = 0, since: Any = SINCE) -> StatusInfo:
    agg = Aggregates()
    if since is not None:
        agg.mark_start(since, {0: {"overrun": 10}})
    if lost:
        agg.update_cpu_stats(0, {"overrun": 10 + lost})
    snap = agg.snapshot(SINCE + 60)
    return StatusInfo(Status(tracer="nop"), snap, kind, "/sys/kernel/tracing", "6.18.0")


async def test_live_loss_says_since_when_it_counts(make_app: AppFactory) -> None:
    hm = time.strftime("%H:%M", time.localtime(SINCE))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        band = app.screen.query_one(StatusBand)
        quiet = band.render_status(info_of("live"), 80).plain
        assert f"lost 0 since {hm}" in quiet, quiet
        loud = band.render_status(info_of("live", lost=1234), 80)
        assert f"lost 1,234 since {hm}" in loud.plain, loud.plain
        # The whole figure, period included, stands out: it is one thing to read.
        assert any(
            "reverse" in str(s.style) and "since" in loud.plain[s.start : s.end] for s in loud.spans
        )


async def test_a_file_says_its_loss_is_what_the_file_holds(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        band = app.screen.query_one(StatusBand)
        text = band.render_status(info_of("file", since=None), 100).plain
        assert "lost 0 in file" in text and "since" not in text


async def test_the_demo_band_is_as_before(make_app: AppFactory) -> None:
    """No start is marked in the demo (it replays): its band keeps its wording, so the
    screens' snapshots do not move."""
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        text = band_text(app)
        assert "lost 0" in text and "since" not in text and "in file" not in text


async def test_live_view_shows_the_separator_and_the_band_its_period(
    tmp_path: Path, private_home: Path
) -> None:
    now = parse_line(SCHED[1000]).ts
    assert now is not None
    tfs = fake_tracefs(tmp_path / "t", SCHED, f"{now:.6f}", overrun=500)
    sess = Session(tfs, journal_dir=tmp_path / "j")
    sess.stream_mode = "text"
    sess.trace_self = True  # no write to the fake tree
    app = FtopApp(sess, kind="live", label=sess.label, settings=Settings.load(), release="6.18")
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: sess.start_marks, what=lambda: sess.raw_why)
            mark = next(iter(sess.start_marks.values()))
            hm = time.strftime("%H:%M", time.localtime(mark.wall))

            def ring() -> list[str]:
                r = sess.ring
                return r.window(r.first_seq, r.next_seq - r.first_seq)

            await until(pilot, lambda: len(ring()) > len(SCHED), what=lambda: len(ring()))
            seps = [ln for ln in ring() if ln.startswith("[ftop: ")]
            assert len(seps) == 1 and "before ftop started" in seps[0]
            app.poll_now()
            # The buffer's 2 x 500 overwritten before the start are not ftop's loss.
            await until(
                pilot,
                lambda: f"lost 0 since {hm}" in band_text(app),
                what=lambda: band_text(app),
            )
            snap = app.status_info.snap if app.status_info else None
            assert snap is not None and snap.lost_before == 1000
            assert dataclasses.asdict(snap)["predates"] > 0
    finally:
        sess.restore()
