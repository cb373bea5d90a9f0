"""TUI test fixtures: the app on the demo backend with a frozen clock, and a private HOME."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
from ftop.engine.demo.session import DemoSession, open_demo
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every TUI test gets its own HOME and config dir; NO_COLOR is never inherited."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture()
def demo() -> Iterator[DemoSession]:
    """A demo session with the replay frozen: the ring is filled once, deterministically."""
    sess = open_demo(realtime=False)
    sess.start_stream()
    sess.poll()  # as run() does: the first frame shows real status, not placeholders
    yield sess
    sess.restore()


AppFactory = Callable[..., FtopApp]


@pytest.fixture()
def make_app(demo: DemoSession, private_home: Path) -> AppFactory:
    def make(
        theme: str = "dark",
        first_screen: str = "live",
        settings: Optional[Settings] = None,
    ) -> FtopApp:
        return FtopApp(
            demo,
            kind="demo",
            label=demo.label,
            theme=theme,
            settings=settings or Settings.load(),
            first_screen=first_screen,
        )

    return make
