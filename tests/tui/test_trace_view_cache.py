"""The trace view's cache of rows as shown: a row is rebuilt when its width, the theme,
the search, the scroll column or its line changes, and never shows a stale picture;
and the info line under the view repaints without a layout of the whole screen."""

from __future__ import annotations

import re
from typing import Callable, List, Optional

import pytest
from ftop.engine.demo.session import DemoSession
from ftop.engine.printable import printable
from ftop.engine.stream.lineview import SearchPattern
from ftop.tui.app import FtopApp
from ftop.tui.screens.live import LiveScreen
from ftop.tui.widgets.trace_view import TraceView
from pilot_util import until
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)

ROW = 5


def view(app: FtopApp) -> TraceView:
    screen = app.screen
    assert isinstance(screen, LiveScreen) and screen.view is not None
    return screen.view


def shown(v: TraceView, y: int = ROW) -> Strip:
    return v.render_line(y)


def line_at(v: TraceView, y: int = ROW) -> str:
    seq = v.seq_at(int(v.scroll_y) + y)
    assert seq is not None
    return printable(v.ring.get(seq))


def styles_of(strip: Strip) -> List[Optional[Style]]:
    return [seg.style for seg in strip]


async def test_a_row_is_rebuilt_at_the_new_width_after_a_resize(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows > 30)
        wide = v.scrollable_content_region.width
        seq = v.seq_at(int(v.scroll_y) + ROW)
        assert shown(v).cell_length == wide
        await pilot.resize_terminal(90, 30)
        await until(pilot, lambda: v.scrollable_content_region.width < wide)
        # The same line on the same row (the height did not change): only the width did.
        assert v.seq_at(int(v.scroll_y) + ROW) == seq
        narrow = v.scrollable_content_region.width
        assert shown(v).cell_length == narrow
        assert shown(v).text == line_at(v)[:narrow].ljust(narrow)


async def test_a_row_takes_the_new_theme_s_colours(make_app: AppFactory) -> None:
    app = make_app(theme="dark")
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows > 30)
        dark = styles_of(shown(v))
        app.theme = "light"
        await pilot.pause(0.1)
        light = styles_of(shown(v))
        assert light != dark, "the row kept the old theme's colours"
        # The same colours as the whole line built afresh in the new theme.
        seq = v.seq_at(int(v.scroll_y) + ROW) or 0
        fresh = v._strip(seq, v.ring.get(seq))
        assert light[0] == next(iter(fresh)).style


async def test_a_row_shows_a_new_search_s_hits_and_loses_them_when_it_is_cleared(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows > 30)
        word = line_at(v).split()[0]  # the task and pid: on screen at any width
        plain = v.rich_style.bgcolor

        def hit(strip: Strip) -> bool:
            # What the search highlights: the cells on another background.
            lit = [
                seg.text for seg in strip if seg.style is not None and seg.style.bgcolor != plain
            ]
            return "".join(lit) == word

        assert not hit(shown(v))
        v.set_search(SearchPattern(re.escape(word)))
        assert hit(shown(v)), "the row kept the picture from before the search"
        v.set_search(None)
        assert not hit(shown(v)), "the row kept the search's highlight"


async def test_a_row_follows_horizontal_scrolling(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(60, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows > 30)
        width = v.scrollable_content_region.width
        assert shown(v).text == line_at(v)[:width].ljust(width)
        await until(pilot, lambda: v.line_width > width + 8)
        v.scroll_horizontal(8)
        await until(pilot, lambda: int(v.scroll_x) == 8)
        assert shown(v).text == line_at(v)[8 : 8 + width].ljust(width)


async def test_every_row_shows_its_own_line_as_new_lines_scroll_in(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows > 30)
        height = v.scrollable_content_region.height
        width = v.scrollable_content_region.width
        before = [shown(v, y).text for y in range(height)]
        rows = v.rows
        demo.pump(7)
        await until(pilot, lambda: v.rows == rows + 7)
        after = [shown(v, y).text for y in range(height)]
        assert after != before
        assert after == [line_at(v, y)[:width].ljust(width) for y in range(height)]


async def test_the_info_line_repaints_without_a_layout_of_the_screen(
    make_app: AppFactory, demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (issue 10): each tick's new text under the view asked for a layout,
    so under load every frame reflowed the screen and redrew the view's scrollbar."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("up")  # not following: the info line counts new lines
        info = app.screen.query_one("#info", Static)
        layouts: List[bool] = []
        refresh = info.refresh

        def spy(*regions: Region, **kw: bool) -> Static:
            layouts.append(kw.get("layout", False))
            return refresh(*regions, **kw)

        monkeypatch.setattr(info, "refresh", spy)
        demo.pump(5)
        await until(pilot, lambda: v.new_lines == 5 and "5 new lines" in str(info.render()))
        assert layouts and not any(layouts), "the info line asked for a layout"
