"""Issue 10: the first frame shows the status polled before the app ran; polling starts after it."""

from __future__ import annotations

from typing import Any, List

import pytest
from ftop.engine.demo.session import DemoSession
from ftop.tui.app import FtopApp
from ftrace_util import AppFactory
from pilot_util import until


async def test_the_poll_loop_starts_only_after_the_first_frame(
    make_app: AppFactory, demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll of its own before the first paint only competed with it (the status shown
    is the one build_app polled); the loop starts once the frame is out."""
    events: List[str] = []
    poll = demo.poll

    def counted() -> Any:
        events.append("poll")
        return poll()

    monkeypatch.setattr(demo, "poll", counted)
    first_frame = FtopApp._first_frame

    def marked(self: FtopApp) -> None:
        events.append("first frame")
        first_frame(self)

    monkeypatch.setattr(FtopApp, "_first_frame", marked)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "poll" in events)
        assert app.status_info is not None
        assert events[0] == "first frame", events
        await app.action_quit()


async def test_the_access_notes_come_after_the_first_frame_and_are_shown(
    demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writability scan (every event's files) ran before the first paint; it now
    runs on a thread after it, and what it finds is still told."""
    events: List[str] = []
    first_frame = FtopApp._first_frame

    def marked(self: FtopApp) -> None:
        events.append("first frame")
        first_frame(self)

    def late() -> List[str]:
        events.append("access scan")
        return ["not writable for uid 1000: current_tracer"]

    monkeypatch.setattr(FtopApp, "_first_frame", marked)
    app = FtopApp(demo, kind="demo", label=demo.label, late_notes=late)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "access scan" in events)
        assert events == ["first frame", "access scan"]
        await until(
            pilot,
            lambda: any("current_tracer" in n.message for n in app._notifications),
        )
        await app.action_quit()


@pytest.mark.parametrize("first_screen", ["live", "events"])
async def test_the_stream_starts_after_a_display_textual_wrote_of_the_first_screen(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, first_screen: str
) -> None:
    """Textual's start is one batch update: the displays inside it are not written. A
    call_after_refresh from on_mount ran after one of those, and the stream's start
    (0.1 s on the loop) and the screens' imports then held the real first paint back
    0.2 s (bench/ui_startup.py). The stream now starts after a display of the first
    screen outside any batch."""
    from ftop.tui.widgets.base import FtopScreen, StatusBand

    seen: List[Any] = []
    first_frame = FtopApp._first_frame

    def marked(self: FtopApp) -> None:
        if self.first_frame_at is None:
            band = self.screen.query(StatusBand)
            seen.append((self.screen, self._batch_count, bool(band)))
        first_frame(self)

    monkeypatch.setattr(FtopApp, "_first_frame", marked)
    app = make_app(first_screen=first_screen)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        ((screen, batch, has_band),) = seen
        assert isinstance(screen, FtopScreen)
        assert (screen.SCREEN_ID, batch, has_band) == (first_screen, 0, True)
        await app.action_quit()


def test_build_app_hands_the_late_notes_to_the_app(
    demo: DemoSession, monkeypatch: pytest.MonkeyPatch, private_home: Any
) -> None:
    """open_backend's late notes (the non-root access scan) reach the app: a keyword
    dropped on the way would lose them without a sound."""
    import argparse

    from ftop.engine.control.config import TraceConfig
    from ftop.tui import app as app_mod

    def late() -> List[str]:
        return ["a late note"]

    opened = app_mod.OpenedBackend(session=demo, late_notes=late)
    monkeypatch.setattr(app_mod, "open_backend", lambda *a, **k: opened)
    app = app_mod.build_app(argparse.Namespace(), TraceConfig())
    assert app.late_notes is late
    assert app.session is demo


async def test_the_app_hands_slow_writes_back_when_it_leaves(make_app: AppFactory) -> None:
    """Slow tracefs writes are told in the app while it runs; after it (the restore
    that follows) they must not go to its closed loop: the note was lost there, and a
    coroutine was never awaited."""
    from ftop.engine.control import tracefs as tracefs_mod

    def before(what: str, seconds: float) -> None:
        pass

    tracefs_mod.SLOW.on_slow = before
    try:
        app = make_app()
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.first_frame_at is not None)
            assert tracefs_mod.SLOW.on_slow == app._slow_write
            await app.action_quit()
        assert tracefs_mod.SLOW.on_slow is before
    finally:
        tracefs_mod.SLOW.on_slow = None


async def test_the_live_screen_mounts_its_bars_only_after_the_first_frame(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search and filter Inputs are not in the first frame: mounted after a
    refresh Textual did not write, they were styled into it (about 10 ms of it). They
    come once the frame is out, and a key for them before that still finds them."""
    bars_at_first_frame: List[int] = []
    first_frame = FtopApp._first_frame

    def marked(self: FtopApp) -> None:
        if self.first_frame_at is None:
            bars_at_first_frame.append(len(self.screen.query("#search, #filter")))
        first_frame(self)

    monkeypatch.setattr(FtopApp, "_first_frame", marked)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        assert bars_at_first_frame == [0]
        await until(pilot, lambda: len(app.screen.query("#search, #filter")) == 2)
        await app.action_quit()


async def test_after_first_frame_runs_a_callback_at_once_once_the_frame_is_out(
    make_app: AppFactory,
) -> None:
    """A screen mounted later (not the first) gets its after-frame work soon, not never."""
    ran: List[str] = []
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        app.after_first_frame(lambda: ran.append("late"))
        await until(pilot, lambda: ran == ["late"])
        await app.action_quit()


async def test_a_quit_before_the_first_frame_starts_nothing_after_it(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key pressed as ftop starts can quit before the first frame is out: the restore
    is then under way, and the poll loop, the stream and the notes must not start
    behind it (the poll reads the instance that the restore removes)."""
    started: List[str] = []
    monkeypatch.setattr(FtopApp, "_poll_loop", lambda self: started.append("poll"))
    monkeypatch.setattr(FtopApp, "_detect_foreign", lambda self: started.append("foreign"))
    first_frame = FtopApp._first_frame

    def quit_first(self: FtopApp) -> None:
        self._stopping.set()  # what action_quit does first
        first_frame(self)

    monkeypatch.setattr(FtopApp, "_first_frame", quit_first)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        await pilot.pause(0.2)
        assert started == []
        await app.action_quit()
