"""The trace view under NO_COLOR (the mono theme): the cursor row and marked lines are told
apart from the others without any colour."""

from __future__ import annotations

from typing import Callable, FrozenSet, Tuple

import pytest
from ftop.tui.app import FtopApp
from ftop.tui.screens.live import LiveScreen
from ftop.tui.widgets.trace_view import TraceView
from pilot_util import until
from rich.segment import Segment
from textual.strip import Strip

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)

Look = FrozenSet[Tuple[bool, bool, bool]]


def look(strip: Strip) -> Look:
    """What is left of a row's styles once colour is gone: (reverse, underline, bold) per
    segment that draws text. Colour is what NO_COLOR takes away, so only these can tell rows
    apart."""
    out = set()
    for seg in strip:
        assert isinstance(seg, Segment)
        if not seg.text.strip() or seg.style is None:
            continue
        st = seg.style.without_color
        out.add((bool(st.reverse), bool(st.underline), bool(st.bold)))
    return frozenset(out)


def view(app: FtopApp) -> TraceView:
    screen = app.screen
    assert isinstance(screen, LiveScreen) and screen.view is not None
    return screen.view


async def test_cursor_and_marked_rows_differ_from_plain_rows_without_colour(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(theme="mono")
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows > 10)
        # Top of the ring: mark row 1, leave the cursor on row 3; row 5 is plain.
        await pilot.press("home", "down", "m", "down", "down")
        await until(pilot, lambda: v.cursor == 3 and len(v.marks) == 1)
        top = int(v.scroll_y)
        cursor = look(v.render_line(3 - top))
        marked = look(v.render_line(1 - top))
        plain = look(v.render_line(5 - top))
        assert cursor and marked and plain
        assert cursor != plain, "the cursor row looks like any other row without colour"
        assert marked != plain, "a marked row looks like any other row without colour"
        assert marked != cursor, "a marked row looks like the cursor row without colour"
        # How: reverse video for the cursor, underline for a mark.
        assert all(rev for rev, _, _ in cursor)
        assert all(under for _, under, _ in marked)
