"""Helpers for the tests of the ftrace screens (tracers, functions, graph, stack, latency, setup, probes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncContextManager, Callable, Iterator, Optional, Tuple

from ftop.engine.demo.captures import DemoData
from ftop.engine.demo.session import DemoSession, open_demo
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)
# The open_screen fixture (tests/tui/conftest.py): ``async with open_screen("functions") as
# (app, pilot, screen)``.
OpenScreen = Callable[..., AsyncContextManager[Tuple[FtopApp, Any, Any]]]


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


def maybe(x: Optional[Any]) -> Any:
    assert x is not None
    return x
