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
