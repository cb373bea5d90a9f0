"""A thread worker that raises is told, never the app's end, and is moot once quitting.

Textual ends the whole app with a traceback when a worker with ``exit_on_error`` raises
(its default). A CI run failed so: the Events screen, first on the screen, was still
reading the demo's events folder when a quick quit ended the session and took the
simulated tracefs with it; the read raised FileNotFoundError and the app ended with it.
On the demo kernel.
"""

from __future__ import annotations

import threading
from typing import Any, List

import pytest
from ftop.engine.ftrace import event_catalog as catalog_mod
from ftrace_util import AppFactory, OpenScreen
from pilot_util import until
from textual.widgets import Input, Static


async def test_a_read_still_under_way_when_quitting_does_not_end_the_app_with_it(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    quitting = threading.Event()

    def read_after_the_quit(tfs: Any) -> Any:
        started.set()
        quitting.wait(10)
        raise FileNotFoundError(2, "No such file or directory", "events/clk/clk_disable")

    monkeypatch.setattr(catalog_mod, "read_catalog", read_after_the_quit)
    app = make_app(first_screen="events")
    # run_test raises the app's exception on leaving, as the app's run would end with it.
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, started.is_set)
        app._stopping.set()  # what action_quit does first
        quitting.set()
        await pilot.pause(0.3)
        await app.action_quit()
    assert app._exception is None
    assert app.return_code in (None, 0)


async def test_a_worker_that_raises_while_running_is_told_and_the_app_goes_on(
    open_screen: OpenScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[int] = []

    def broken(tfs: Any) -> Any:
        calls.append(1)
        raise PermissionError(13, "Permission denied", "events")

    async with open_screen("events") as (app, pilot, screen):
        monkeypatch.setattr(catalog_mod, "read_catalog", broken)
        screen.reload()
        await until(pilot, lambda: bool(calls))
        await until(
            pilot,
            lambda: any("events-load: failed" in n.title for n in app._notifications),
        )
        (note,) = [n for n in app._notifications if "events-load" in n.title]
        assert note.severity == "error"
        assert "PermissionError" in note.message and "Permission denied" in note.message
        assert app.is_running and app._exception is None
        await pilot.press("1")  # the app still answers keys
        await until(pilot, lambda: app.screen.SCREEN_ID == "live")
        await app.action_quit()


async def test_a_dialog_whose_submit_raises_shows_why_and_stays_open(
    open_screen: OpenScreen,
) -> None:
    from ftop.tui.widgets.dialogs import EditDialog

    def submit(value: str) -> None:
        raise RuntimeError("the engine broke")

    async with open_screen("events") as (app, pilot, _screen):
        dialog = EditDialog("A value", "", submit)
        app.push_screen(dialog)
        await until(pilot, lambda: app.screen is dialog)
        await pilot.press("x", "enter")
        await until(pilot, lambda: dialog.query_one("#error", Static).has_class("shown"))
        assert "RuntimeError: the engine broke" in str(dialog.query_one("#error", Static).render())
        assert not dialog.query_one("#value", Input).disabled
        assert app.screen is dialog and app._exception is None
        await app.action_quit()
