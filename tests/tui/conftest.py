"""TUI test fixtures: the app on the demo backend with a frozen clock, a private HOME, and the
Pilot set-up of each screen (`open_screen`)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, Iterator, NamedTuple, Optional, Tuple

import pytest
from ftop.engine.demo.session import DemoSession, open_demo
from ftop.tui.app import FtopApp
from ftop.tui.screens.dashboard import DashboardScreen
from ftop.tui.screens.events import EventsScreen
from ftop.tui.screens.functions import FunctionsScreen
from ftop.tui.screens.graph import GraphScreen
from ftop.tui.screens.latency import LatencyScreen
from ftop.tui.screens.probes import ProbesScreen
from ftop.tui.screens.setup import SetupScreen
from ftop.tui.screens.stack import StackScreen
from ftop.tui.screens.tracers import TracersScreen
from ftop.tui.settings import Settings
from ftrace_util import OpenScreen
from pilot_util import show, until


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
    # The demo restores through the live restore (journal, phases): whatever a test
    # changed through the screens must go back without a refusal.
    report = sess.restore()
    assert report is None or report.ok, f"the demo's restore was refused: {report.errors}"


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


class ScreenSpec(NamedTuple):
    key: str  # the number key that shows it
    cls: type
    ready: Callable[[Any], Any]  # the screen has loaded what the tests look at
    timeout: float = 5.0


SCREENS: Dict[str, ScreenSpec] = {
    "events": ScreenSpec("2", EventsScreen, lambda s: s.loaded),
    "dashboard": ScreenSpec("3", DashboardScreen, lambda s: True),
    "tracers": ScreenSpec(
        "4", TracersScreen, lambda s: s.loaded is not None and s.tracer_list.rows
    ),
    "functions": ScreenSpec("5", FunctionsScreen, lambda s: s.loaded, timeout=10),
    "graph": ScreenSpec("6", GraphScreen, lambda s: s.graph.lines > 0 and s.calls.rows),
    "stack": ScreenSpec("7", StackScreen, lambda s: s.loaded),
    "latency": ScreenSpec("8", LatencyScreen, lambda s: s.loaded),
    "setup": ScreenSpec("9", SetupScreen, lambda s: s.settings is not None and s.options.rows),
    "probes": ScreenSpec("0", ProbesScreen, lambda s: s.loaded),
}


@pytest.fixture()
def open_screen(make_app: AppFactory) -> OpenScreen:
    """``async with open_screen("functions", size=(120, 40)) as (app, pilot, screen)``: the app
    (``make_app(**app_kw)``, or ``app=``) under ``run_test``, the screen shown by its number key
    and loaded."""

    @asynccontextmanager
    async def open_(
        name: str,
        size: Tuple[int, int] = (120, 40),
        app: Optional[FtopApp] = None,
        **app_kw: Any,
    ) -> AsyncIterator[Tuple[FtopApp, Any, Any]]:
        spec = SCREENS[name]
        the_app = app if app is not None else make_app(**app_kw)
        async with the_app.run_test(size=size) as pilot:
            screen = await show(the_app, pilot, spec.key, spec.cls)
            await until(pilot, lambda: spec.ready(screen), timeout=spec.timeout)
            yield the_app, pilot, screen

    return open_
