"""The app tells what others do on the same tracefs (issue 11), and a sampled view.

The engine side (which changes, which readers) is checked on the real tracefs in
tests/live/test_faults_live.py; here the app's side: each said once, as text
(a reader's task name is anyone's choice), and the status band's "sampled".
"""

from __future__ import annotations

import dataclasses
from typing import Any

from conftest import AppFactory
from ftop.engine.control.session import Status
from ftop.tui.widgets.base import StatusBand
from pilot_util import until


def _messages(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_outside_changes_and_other_readers_are_told_once(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        st = dataclasses.replace(
            Status(),
            outside_changes=["current_tracer: nop -> function, not by ftop"],
            other_readers=["[b]cat\x1b]2;x\x07 (pid 42)"],
        )
        app._publish(st, None)
        app._publish(dataclasses.replace(st, outside_changes=[]), None)
        await pilot.pause()
        said = _messages(app)
        assert said.count("current_tracer: nop -> function, not by ftop") == 1
        readers = [m for m in said if m.startswith("also reading this buffer")]
        assert len(readers) == 1, said
        # the name is shown as text, its control bytes visible
        assert "\\x1b]2;x\\x07" in readers[0] and "[b]cat" in readers[0]
        app._publish(dataclasses.replace(Status(), instance_gone=True), None)
        app._publish(dataclasses.replace(Status(), instance_gone=True), None)
        await pilot.pause()
        gone = [m for m in _messages(app) if "removed by someone else" in m]
        assert len(gone) == 1


async def test_a_sampled_window_says_so_in_the_status_band(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        agg = app.backend.aggregates
        now = app.clock()
        agg.ingest(
            [
                f"            bash-1234    [000] .....  100.{i:06d}: sys_enter_write: fd: 1"
                for i in range(50)
            ],
            now,
        )
        agg.note_sampled(1000, 3000, now)
        app._publish(app.backend.status, None)
        band = app.screen.query_one(StatusBand)
        await until(pilot, lambda: "sampled 25%" in str(band.render_status(app.status_info, 160)))
