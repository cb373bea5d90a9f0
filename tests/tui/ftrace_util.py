"""Helpers for the tests of the ftrace screens (tracers, functions, graph, stack, latency, setup, probes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ftop.engine.demo.session import DemoData, DemoSession, open_demo
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)


async def until(pilot: Any, pred: Callable[[], Any], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await pilot.pause(0.05)
    assert pred(), "condition not reached in time"


async def show(app: FtopApp, pilot: Any, key: str, cls: type) -> Any:
    """Press a screen's number key; wait until it is shown."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, cls))
    return app.screen


def locked_demo() -> DemoSession:
    """The demo kernel locked down like the build machine's: function files EPERM."""
    data = DemoData.load()
    data.meta = dict(data.meta, functions=None, function_refusal="EPERM")
    sess = open_demo(realtime=False, data=data)
    sess.start_stream()
    sess.poll()
    return sess


def app_for(sess: DemoSession, home: Path, first_screen: str = "live") -> FtopApp:
    return FtopApp(
        sess,
        kind="demo",
        label=sess.label,
        settings=Settings(home / "config.toml"),
        first_screen=first_screen,
    )


def locked(home: Path) -> Iterator[DemoSession]:
    sess = locked_demo()
    try:
        yield sess
    finally:
        sess.restore()


def read(sess: DemoSession, rel: str) -> str:
    return sess.tfs.read(rel)


def text_of(widget: Any) -> str:
    """What a Static shows, as plain text."""
    r = widget.render()
    return str(getattr(r, "plain", r))


def maybe(x: Optional[Any]) -> Any:
    assert x is not None
    return x
