"""The collector's pace while the app runs (tui/gc_pace.py), and that it is put back."""

from __future__ import annotations

import gc
from typing import Callable

from ftop.tui.app import FtopApp
from ftop.tui.gc_pace import APP_THRESHOLDS, GcPace

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)


def test_pace_is_set_frozen_and_put_back() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    pace = GcPace()
    pace.freeze()  # before start: nothing to freeze for
    assert gc.get_freeze_count() == frozen
    pace.start()
    try:
        assert gc.get_threshold() == APP_THRESHOLDS
        pace.freeze()
        assert gc.get_freeze_count() > frozen
    finally:
        pace.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    pace.stop()  # twice: harmless
    assert gc.get_threshold() == before


async def test_the_app_sets_the_pace_and_leaves_it_as_it_found_it(make_app: AppFactory) -> None:
    before = gc.get_threshold()
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        assert gc.get_threshold() == APP_THRESHOLDS
        # The screens' modules are imported after the first frame, one a turn; then
        # what the start built is frozen.
        for _ in range(100):
            if gc.get_freeze_count():
                break
            await pilot.pause(0.05)
        assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
