"""Snapshots of every screen at 80x24 and 120x40, dark and light, on the frozen demo.

Regenerate after an intended change: ``pytest tests/tui/test_snapshots.py --snapshot-update``
(and look at ``snapshot_report.html`` when one fails).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

import pytest
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings
from pilot_util import until

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)


SIZES = [(80, 24), (120, 40)]
THEMES = ["dark", "light"]


def steps(
    *keys: str, wait: Optional[Callable[[FtopApp], bool]] = None
) -> Callable[[Any], Awaitable[None]]:
    async def run_before(pilot: Any) -> None:
        app: FtopApp = pilot.app
        await until(pilot, lambda: app.status_info is not None)
        for k in keys:
            await pilot.press(k)
        if wait is not None:
            await until(pilot, lambda: wait(app))
        await pilot.pause(0.2)

    return run_before


def events_loaded(app: FtopApp) -> bool:
    """The catalog is listed and the rates of a poll are in it (a CI run under load
    took its shot before the first poll that had any)."""
    screen = app.screen
    lst = getattr(screen, "list", None)
    return bool(getattr(screen, "loaded", False)) and lst is not None and any(lst.rates.values())


SCREENS = {
    "live": steps(),
    "events": steps("2", *"sched", "down", wait=events_loaded),
    "dashboard": steps("3", wait=lambda app: app.screen.query_one("#top-events").row_count > 0),
    "help": steps("f1"),
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    snap_compare: Any, make_app: AppFactory, screen: str, size: Any, theme: str
) -> None:
    assert snap_compare(make_app(theme=theme), run_before=SCREENS[screen], terminal_size=size)


def test_event_filter_refused_shows_error_log(snap_compare: Any, make_app: AppFactory) -> None:
    async def run_before(pilot: Any) -> None:
        from ftop.tui.widgets.dialogs import EditDialog

        await steps("2", *"sched_switch", "down", wait=events_loaded)(pilot)
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(pilot.app.screen, EditDialog))
        await pilot.press(*"prev_pid === 0", "enter")
        await until(pilot, lambda: getattr(pilot.app.screen, "error", None) is not None)
        await pilot.pause(0.2)

    assert snap_compare(make_app(), run_before=run_before, terminal_size=(80, 24))


def test_live_filtered_with_marks_and_search(snap_compare: Any, make_app: AppFactory) -> None:
    run_before = steps(
        "f",
        *"ev:sched_switch",
        "enter",
        "home",
        "m",
        "down",
        "down",
        "m",
        "slash",
        *"python",
        "enter",
    )
    assert snap_compare(make_app(), run_before=run_before, terminal_size=(120, 40))


def test_unavailable(snap_compare: Any, tmp_path: Any) -> None:
    app = FtopApp(
        None,
        error="tracefs is not mounted and only root can mount it: run ftop with sudo, "
        "or `sudo mount -t tracefs nodev /sys/kernel/tracing`",
        settings=Settings(tmp_path / "c.toml"),
    )
    assert snap_compare(app, terminal_size=(80, 24))


def test_footer_at_80_columns_with_the_search_focused(
    snap_compare: Any, make_app: AppFactory
) -> None:
    """The footer fits 80 columns (it overflowed into "^p paletteq") and, with the search
    box focused, offers F10 for quit, not q (q types there)."""
    run_before = steps("2", "slash", wait=events_loaded)
    assert snap_compare(make_app(), run_before=run_before, terminal_size=(80, 24))
