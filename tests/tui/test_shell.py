"""The shell: status band, screen keys, help, palette, quit, themes, keymap, unavailable screen."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List

import pytest
from ftop.engine.control.session import Status
from ftop.engine.demo.session import DemoSession
from ftop.engine.stream.stats import Aggregates
from ftop.tui.app import FtopApp
from ftop.tui.registry import COMMANDS, SCREENS
from ftop.tui.screens.dashboard import DashboardScreen
from ftop.tui.screens.events import EventsScreen
from ftop.tui.screens.help import HelpScreen
from ftop.tui.screens.live import LiveScreen
from ftop.tui.screens.unavailable import UnavailableScreen
from ftop.tui.settings import Settings
from ftop.tui.widgets.base import StatusBand
from ftop.tui.widgets.kit import RowList
from ftop.tui.widgets.trace_view import TraceView
from pilot_util import until

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)


def band_text(app: FtopApp) -> str:
    return str(app.screen.query_one(StatusBand).render())


async def test_status_band_shows_demo_tracer_tracing_events_rate_and_loss(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        text = band_text(app)
        for part in ("DEMO", "tracer nop", "● on", "11 events", "0 filters", "/s", "lost 0"):
            assert part in text, (part, text)
        assert app.release in text


async def test_loss_turns_the_status_band_red_with_the_count(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        demo.ring.extend(["CPU:1 [LOST 1234 EVENTS]"])
        demo.aggregates.ingest(["CPU:1 [LOST 1234 EVENTS]"], demo.clock())
        app.poll_now()
        # The band follows on the app's next tick: on a loaded machine a fixed 0.3 s
        # pause was not always enough.
        await until(pilot, lambda: "lost 1,234" in band_text(app), what=lambda: band_text(app))
        band = app.screen.query_one(StatusBand)
        assert app.status_info is not None
        text = band.render_status(app.status_info, 140)
        styled = [
            s
            for s in text.spans
            if "reverse" in str(s.style) and "1,234" in text.plain[s.start : s.end]
        ]
        assert styled, "the loss is not highlighted"


async def test_number_keys_switch_between_registered_screens(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("2")
        assert isinstance(app.screen, EventsScreen)
        await pilot.press("3")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("1")
        assert isinstance(app.screen, LiveScreen)
        # Each screen is one registered module with its own key.
        assert {s.key for s in SCREENS.values()} >= {"1", "2", "3"}


async def test_clicking_a_tab_switches_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        # " 1 Live  2 Events ..." on the second line.
        await pilot.click("ScreenTabs", offset=(12, 0))
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)


@pytest.mark.parametrize("key", ["f1", "question_mark"])
async def test_help_lists_every_command_of_the_table(make_app: AppFactory, key: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {text for _, _, text in app.screen.rows()}
        for cmd in COMMANDS.values():
            assert f"{cmd.title}: {cmd.help}" in shown, cmd.id
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen)


async def test_every_command_is_a_binding_with_its_id(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)):
        ids = set()
        screens = [spec.factory for spec in SCREENS.values()]
        assert {LiveScreen, EventsScreen, DashboardScreen} <= set(screens)
        # The views' own keys are bindings of the views (issue 8: in the registry too).
        for scope_cls in (FtopApp, *screens, TraceView, RowList):
            for b in scope_cls.BINDINGS:  # type: ignore[attr-defined]
                ids.add(b.id)  # type: ignore[union-attr]
        assert ids == set(COMMANDS)


async def test_palette_offers_table_commands_and_runs_them(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Dashboard")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DashboardScreen)


async def test_palette_theme_choice_is_applied_and_remembered(
    make_app: AppFactory, private_home: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Theme: light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert app.theme == "light"
    saved = Settings.load()
    assert saved.theme == "light"
    assert (
        saved.path.is_relative_to(private_home) if hasattr(saved.path, "is_relative_to") else True
    )


@pytest.mark.parametrize("key", ["q", "f10"])
async def test_quit_keys_exit(make_app: AppFactory, key: str) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(key)
        await pilot.pause()
    assert app.return_code == 0
    assert app._stopping.is_set()


async def test_T_toggles_tracing_on_through_the_session(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("T")
        await _until(pilot, lambda: not demo.kernel.tracing_on)
        await _until(pilot, lambda: "○ off" in band_text(app))
        assert demo.pump(50) == 0, "tracing is off: the kernel writes nothing"
        await pilot.press("f9")
        await _until(pilot, lambda: demo.kernel.tracing_on)


async def test_keymap_from_config_rebinds_a_command(
    make_app: AppFactory, private_home: Path
) -> None:
    s = Settings.load()
    s.keys["live.search"] = "ctrl+f"
    s.save()
    app = make_app(settings=Settings.load())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert app.screen.query_one("#search").has_focus


async def test_the_first_screen_parses_each_stylesheet_source_once_and_themes_reach_every_screen(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual counted each new mode screen as never styled and reparsed the whole
    stylesheet twice in ``switch_mode``, and the theme set once the app ran reparsed
    it again and cleared the parse cache, so every source was parsed three or four
    times before the first frame (issue 10). Now: no reparse, each source parsed once,
    and the first frame already wears the chosen theme. A theme changed while a screen
    is not shown still restyles it when it is."""
    from textual.css.stylesheet import Stylesheet

    reparses: List[str] = []
    real_reparse = Stylesheet.reparse

    def reparse(self: Stylesheet) -> None:
        reparses.append(type(app.screen).__name__)
        real_reparse(self)

    monkeypatch.setattr(Stylesheet, "reparse", reparse)
    from textual.css import stylesheet as stylesheet_mod

    real_parse = stylesheet_mod.parse
    misses: List[Any] = []

    def parse(scope: str, css: str, read_from: Any, **k: Any) -> Any:
        # Called on the parse cache's misses only. Textual parses a base class's CSS
        # again when a deeper screen gives it a new tie-breaker: a new input, not a
        # repeat; the same input twice means the cache was thrown away.
        if app.first_frame_at is None:
            misses.append((read_from, k.get("tie_breaker"), scope))
        return real_parse(scope, css, read_from, **k)

    monkeypatch.setattr(stylesheet_mod, "parse", parse)
    app = make_app(theme="light")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        assert reparses == []
        assert misses, "the stylesheet was never parsed"
        twice = sorted({str(m) for m in misses if misses.count(m) > 1})
        assert twice == [], twice
        assert app.has_class("-theme-light") and app.has_class("-light-mode")
        band = app.screen.query_one(StatusBand)
        first_bg = band.styles.background
        app.theme = "dark"
        await until(pilot, lambda: band.styles.background != first_bg)
        app.theme = "light"  # the first frame's colours were the light theme's own
        await until(pilot, lambda: band.styles.background == first_bg)
        await pilot.press("2")  # a screen made now: styled as it mounts, no reparse
        await until(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.pause(0.1)
        assert len(reparses) == 2, reparses  # the two theme changes only
        band = app.screen.query_one(StatusBand)
        light_bg = band.styles.background
        app.theme = "dark"  # on the events screen: the live one is not shown
        await until(pilot, lambda: band.styles.background != light_bg)
        dark_bg = band.styles.background
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        await pilot.pause(0.1)
        assert app.screen.query_one(StatusBand).styles.background == dark_bg


async def test_the_first_screen_is_not_held_back_but_later_switches_are_masked(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``switch_mode`` holds repaints 50 ms (``delay_update``) to hide one screen giving
    way to the next: the first screen replaces nothing, and its frame waited those
    50 ms (issue 10). Later switches keep Textual's mask."""
    from textual.app import App

    held: List[float] = []
    real_delay = App.delay_update

    def delay_update(self: App[Any], delay: float = 0.05) -> None:
        held.append(delay)
        real_delay(self, delay)

    monkeypatch.setattr(App, "delay_update", delay_update)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        assert held == []
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen))
        assert held == [0.05]


def test_theme_choice_order_flag_then_no_color_then_saved() -> None:
    from ftop.themes import pick_theme

    assert pick_theme("light", "dark", {}) == "light"
    assert pick_theme(None, "light", {"NO_COLOR": "1"}) == "mono"
    assert pick_theme(None, "high-contrast", {}) == "high-contrast"
    assert pick_theme(None, None, {}) == "dark"
    with pytest.raises(KeyError):
        pick_theme("nope", None, {})


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast", "mono"])
async def test_every_theme_renders_every_screen(make_app: AppFactory, theme: str) -> None:
    app = make_app(theme=theme)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("1", "2", "3"):
            await pilot.press(key)
            await pilot.pause()
        assert app.theme == theme


async def test_unavailable_screen_explains_and_points_to_demo() -> None:
    app = FtopApp(None, error="tracefs is not mounted and only root can mount it")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnavailableScreen)
        text = str(app.screen.query_one("#explain").render())
        for needle in ("not mounted", "mount -t tracefs", "ftop --demo", "ftop doctor"):
            assert needle in text, needle
        # Root is told the command itself: the box may have no sudo.
        assert "sudo" not in text, text
        await pilot.press("d")
    assert app.return_value == "demo"


def test_not_root_opens_the_unavailable_screen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import argparse

    from ftop.engine.control import session as session_mod
    from ftop.engine.control.access import TracefsUnreadable
    from ftop.engine.control.config import TraceConfig
    from ftop.tui import app as app_mod
    from ftop.tui.screens.unavailable import explain

    # Not root is no refusal by itself (a tracefs mounted for a group lets a member
    # in): what refuses is a tracefs this user cannot read. Faked here, on a fake
    # tree, so that the host's real tracefs and journals are never touched.
    def unreadable(root: object, access: object = None) -> None:
        raise TracefsUnreadable(f"cannot read tracefs at {root}: mode 0700, owner root")

    monkeypatch.setattr(app_mod.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(session_mod, "check_readable", unreadable)
    fake = tmp_path / "tracefs"
    fake.mkdir()
    (fake / "trace").write_text("")  # enough to be taken for a tracefs folder
    ns = argparse.Namespace(
        tracefs=str(fake),
        keep=False,
        file=None,
        input=None,
        demo=False,
        theme=None,
        instance=None,
    )
    b = app_mod.open_backend(ns, TraceConfig())
    assert b.session is None and b.error is not None and "cannot read tracefs" in b.error
    text = explain(b.error, euid=1000).plain
    assert "gid=" in text and "sudo" in text  # the group way in first, root after


async def test_refresh_ticks_coalesce_batches(make_app: AppFactory, demo: DemoSession) -> None:
    """Many reader batches between two ticks make one tick message, not one per batch."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        before = app.ticks
        for _ in range(50):
            demo.pump(2)  # 50 batches, each calling the session's listeners
        await pilot.pause(0.2)
        assert 1 <= app.ticks - before <= 4


def test_tick_cadence_runs_from_when_the_tick_was_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tick the loop reached late does not push the next one back by the lateness
    (under a flood that held the view to 15-18 refreshes/s, not 30); after a pause the
    next tick comes no sooner than half an interval."""
    import ftop.tui.app as app_mod

    app = FtopApp(refresh_interval=0.1)
    clock = [100.0]
    monkeypatch.setattr(app_mod.time, "monotonic", lambda: clock[0])
    app._tick_at = 100.0
    app._dirty.set()
    clock[0] = 100.13  # due at 100.1, reached 30 ms late
    app._tick()
    assert app.ticks == 1 and app._tick_at == pytest.approx(100.1)
    app._dirty.set()
    clock[0] = 100.25  # already past the next due time (100.2): tick at once
    app._tick()
    assert app.ticks == 2 and app._tick_at == pytest.approx(100.2)
    app._dirty.set()
    clock[0] = 500.0  # a pause: the cadence restarts, with no burst of catch-up ticks
    app._tick()
    assert app._tick_at == pytest.approx(499.95)
    app._dirty.clear()
    app._tick()  # nothing new: no tick
    assert app.ticks == 3


class _SlowSession:
    """Polls take 0.15 s; counts how many run at once (the Backend members the app reads)."""

    kernel_release = None
    realtime = True
    reader = None

    def clock(self) -> float:
        return time.time()

    def rate_series(self) -> None:
        return None

    def limit_batch_bytes(self, limit: int) -> None:
        pass

    def __init__(self) -> None:
        from ftop.engine.stream.ring import Ring

        self.ring = Ring(1000)
        self.aggregates = Aggregates()
        self.listeners: list[Any] = []
        self.status = Status(tracer="nop")
        self.active = 0
        self.most = 0
        self.calls = 0
        self.lock = threading.Lock()

    def poll(self) -> Status:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.calls += 1
        time.sleep(0.15)
        with self.lock:
            self.active -= 1
        return self.status

    def start_stream(self) -> None:
        pass

    def restore(self) -> None:
        pass


async def test_polls_never_overlap_next_is_scheduled_after_the_last(tmp_path: Path) -> None:
    sess = _SlowSession()
    app = FtopApp(sess, kind="live", label="slow", settings=Settings(tmp_path / "c.toml"))
    app.poll_interval = 0.01
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(1.0)
    assert sess.calls >= 3
    assert sess.most == 1


async def _until(pilot: Any, pred: Any, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await pilot.pause(0.05)
    assert pred(), "condition not reached in time"


# -- keys, footer, colour and glyphs (issue 10) ------------------------------------------------


async def test_ctrl_c_quits_through_the_quit_path_and_restores(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    restored = []
    real_restore = demo.restore

    def restore() -> Any:
        restored.append(True)
        return real_restore()

    demo.restore = restore  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause(0.3)
    assert restored, "Ctrl-C left without putting tracing back"
    assert app._stopping.is_set() and app.return_code == 0
    # Not Textual's "press ctrl+q to quit" toast.
    assert not [n for n in app._notifications if "to quit" in n.message]


def footer_keys(app: FtopApp) -> list:  # type: ignore[type-arg]
    from ftop.tui.widgets.base import FtopFooter

    return list(app.screen.query_one(FtopFooter).shown)


async def test_footer_offers_the_key_that_quits_while_an_input_has_the_focus(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("2")  # the events screen: letters type into its search box
        await _until(pilot, lambda: isinstance(app.screen, EventsScreen))
        app.screen.query_one("#search").focus()
        # The footer is recomposed after the focus moves: wait for the box's own one.
        await _until(
            pilot,
            lambda: (
                bool(footer_keys(app))
                and not [k for k in footer_keys(app) if k.key in ("space", "q")]
                and any(k.key == "f10" for k in footer_keys(app))
            ),
        )
        shown = {(k.key, k.action) for k in footer_keys(app)}
        assert ("q", "quit") not in shown and ("f10", "quit") in shown
        # No key that types into the box is offered (space, letters, '/').
        assert not [k for k in footer_keys(app) if k.key in ("space", "T", "slash")], shown
        # Tracing's key_display is "T", which types here: the footer names F9.
        assert [k.display for k in footer_keys(app) if k.action == "toggle_tracing"] == ["F9"]
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code is None, "q typed into the box, it does not quit"
        assert app.screen.query_one("#search").value.endswith("q")  # type: ignore[attr-defined]
        # Out of the box the letters still search here (type-to-search): still F10.
        app.screen.set_focus(None)
        # The footer is recomposed after the focus moves (empty for a moment).
        await _until(pilot, lambda: any(k.key == "f10" for k in footer_keys(app)))
        assert not [k for k in footer_keys(app) if k.key == "q"]
        await pilot.press("7")  # the stack screen has no search: q quits, the footer says so
        await _until(pilot, lambda: any(k.key == "q" for k in footer_keys(app)))


async def test_the_footer_is_one_widget_drawn_again_only_when_its_keys_change(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual's footer is a widget per key, remounted on each change of the bindings
    (focus, screen, resize): mounting and restyling them was about 20 ms of CPU before
    the first frame. ftop's draws every key itself, and only when what it shows changes;
    a click on a key runs it."""
    from ftop.tui.screens.help import HelpScreen
    from ftop.tui.widgets.base import FtopFooter
    from textual.widgets._footer import FooterKey

    made: List[str] = []
    real_init = FooterKey.__init__

    def init(self: FooterKey, key: str, *a: Any, **k: Any) -> None:
        made.append(key)
        real_init(self, key, *a, **k)

    monkeypatch.setattr(FooterKey, "__init__", init)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await _until(pilot, lambda: bool(footer_keys(app)))
        await pilot.pause(0.3)
        footer = app.screen.query_one(FtopFooter)
        assert made == [] and not footer.children
        shown = footer.shown
        await pilot.resize_terminal(121, 30)  # the same keys fit: nothing changes
        await pilot.pause(0.3)
        assert footer.shown is shown
        # What is drawn is what is placed: every key's text at its cells.
        line = "".join(s.text for s in footer.render_line(0))
        for e, start, end in footer.placed():
            want = e.display + (" " + e.description if e.description else "")
            assert line[start:end] == want, (line, e)
        # A click on a key runs it.
        help_key = next((e, a) for e, a, _ in footer.placed() if e.action == "help")
        await pilot.click(FtopFooter, offset=(help_key[1], 0))
        await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("slash")  # the search box: its letters type, the keys change
        await _until(pilot, lambda: any(k.key == "f10" for k in footer_keys(app)))
        assert app.screen.query_one(FtopFooter).shown != shown
        assert made == []


@pytest.mark.parametrize("key", list("1234567890"))
async def test_the_footer_fits_80_columns_and_keeps_help_and_quit(
    make_app: AppFactory, key: str
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        await pilot.pause(0.3)
        from ftop.tui.widgets.base import FtopFooter

        placed = app.screen.query_one(FtopFooter).placed()
        assert {"help", "quit"} <= {e.action for e, _, _ in placed}
        for e, start, end in placed:
            assert 0 <= start < end <= 80, (e.key, start, end)
        # No two keys overlap (the palette key is drawn at the right of the others).
        spans = sorted((start, end) for _, start, end in placed)
        for (_, a_end), (b_start, _) in zip(spans, spans[1:]):
            assert a_end <= b_start, spans


def _ansi(app: FtopApp) -> str:
    import io

    from rich.console import Console

    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(console)


def _colour_sgr(ansi: str) -> list:  # type: ignore[type-arg]
    """The SGR parameters that set a colour (16, 256 or truecolor)."""
    import re

    out = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", ansi):
        codes = [int(p) for p in params.split(";") if p]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c in (38, 48, 58):
                out.append(params)
                break
            if 30 <= c <= 37 or 40 <= c <= 47 or 90 <= c <= 97 or 100 <= c <= 107:
                out.append(params)
                break
            i += 1
    return out


async def test_no_color_draws_no_colour_at_all(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(theme="mono")
    async with app.run_test(size=(100, 30)) as pilot:
        for key in ("1", "2", "7"):
            await pilot.press(key)
            await pilot.pause(0.3)
            ansi = _ansi(app)
            assert "\x1b[" in ansi
            assert _colour_sgr(ansi) == [], (key, _colour_sgr(ansi)[:5])
        # Emphasis survives without colour: the current tab is in reverse video.
        from ftop.tui.widgets.base import ScreenTabs

        tabs = app.screen.query_one(ScreenTabs).render_tabs()
        assert any("reverse" in str(s.style) for s in tabs.spans)


async def test_without_no_color_the_themes_do_draw_colour(make_app: AppFactory) -> None:
    # The check above can fail: with colour the same render has colour SGRs.
    app = make_app(theme="mono")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        assert _colour_sgr(_ansi(app))


async def test_the_linux_console_gets_glyphs_its_font_has(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftop.tui.widgets.glyphs import UNICODE, glyphs
    from ftop.tui.widgets.kit import bar

    monkeypatch.setenv("TERM", "linux")
    app = make_app()
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            await pilot.pause(0.3)
            text = band_text(app)
            assert "* on" in text and "● on" not in text
            assert set(bar(5, 8, 4)) <= {"█", "▌"}
            # Box drawing, blocks and the Latin-1 middle dot are in the console font;
            # these are not.
            lacking = set("●○…▸▾⚑↓⏎▏▎▍▋▊▉▁▂▃▅▆▇")
            for key in ("2", "5", "7", "0"):
                await pilot.press(key)
                await pilot.pause(0.3)
                shown = "".join(k.display for k in footer_keys(app))
                assert ("⏎" not in shown and "Enter" in shown) or key in "70", shown
                assert not lacking & set(_ansi(app)), (key, lacking & set(_ansi(app)))
    finally:
        monkeypatch.setenv("TERM", "xterm-256color")
        from ftop.tui.widgets.glyphs import select

        select()
    assert glyphs() is UNICODE


async def test_the_help_hint_is_whole_at_80_columns(make_app: AppFactory) -> None:
    import re

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.2)
        plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", _ansi(app))
        assert "config.toml [keys]." in plain


async def test_a_long_dialog_hint_wraps_instead_of_being_cut(make_app: AppFactory) -> None:
    import re

    from ftop.tui.widgets.dialogs import EditDialog

    hint = "p[:[GRP/]EVENT] [MOD:]SYM[+offs]|MEMADDR [FETCHARGS] " * 3 + "the-very-end"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(EditDialog("a probe", "", lambda v: None, hints=[hint]))
        await _until(pilot, lambda: isinstance(app.screen, EditDialog))
        await pilot.pause(0.2)
        plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", _ansi(app))
        assert "the-very-end" in plain


def _in_poll_loop() -> bool:
    """Some thread is inside FtopApp._poll_loop (anywhere down its stack)."""
    for frame in sys._current_frames().values():
        f: Any = frame
        while f is not None:
            if f.f_code.co_name == "_poll_loop":
                return True
            f = f.f_back
    return False


async def test_an_app_ended_any_way_lets_its_poll_thread_go(make_app: AppFactory) -> None:
    """Not only quit: an app that ends otherwise (here the test harness's exit) wakes its
    poll thread, which would sleep out its interval while the process waits for it."""
    app = make_app()
    app.poll_interval = 3600.0
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.first_frame_at is not None)
        await pilot.pause(0.2)  # the poll thread is in its wait now
        assert _in_poll_loop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _in_poll_loop():
        time.sleep(0.05)
    assert not _in_poll_loop()
