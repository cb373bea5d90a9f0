"""The live view: follow, new-lines count, pause vs tracing_on, search, filter, marks, scroll, save, fields."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

import pytest
from ftop.engine.demo.session import DemoSession
from ftop.engine.stream import lineview
from ftop.engine.stream.lineview import FilteredIndex, LineFilter, SearchPattern
from ftop.engine.stream.parse import parse_line
from ftop.engine.stream.ring import Ring
from ftop.tui.app import FtopApp
from ftop.tui.screens.live import LiveScreen, filter_word
from ftop.tui.widgets.dialogs import FieldsDialog, SaveDialog
from ftop.tui.widgets.line_menu import LineMenu
from ftop.tui.widgets.trace_view import TraceView, _columns
from pilot_util import until

AppFactory = Callable[..., FtopApp]  # the make_app fixture (tests/tui/conftest.py)


def view(app: FtopApp) -> TraceView:
    screen = app.screen
    assert isinstance(screen, LiveScreen) and screen.view is not None
    return screen.view


def info(app: FtopApp) -> str:
    return str(app.screen.query_one("#info").render())


async def test_follow_mode_shows_the_newest_line(make_app: AppFactory, demo: DemoSession) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        v = view(app)
        assert v.follow and "FOLLOW" in info(app)
        rows = v.rows
        demo.pump(40)
        await until(pilot, lambda: v.rows == rows + 40)
        assert v.cursor == v.rows - 1
        assert int(v.scroll_y) == v.rows - v.scrollable_content_region.height


async def test_scrolling_up_leaves_follow_counts_new_lines_and_end_returns(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        v = view(app)
        await pilot.press("up", "up", "pageup")
        assert not v.follow
        top = int(v.scroll_y)
        demo.pump(25)
        await until(pilot, lambda: v.new_lines == 25)
        assert "25 new lines" in info(app)
        assert int(v.scroll_y) == top, "the view must not jump while the user reads"
        await pilot.press("end")
        assert v.follow and v.new_lines == 0 and v.cursor == v.rows - 1


async def test_mouse_scroll_up_leaves_follow(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        v = view(app)
        # What the wheel handler does: a relative scroll the view did not ask for.
        v.scroll_relative(y=-3, animate=False, immediate=True)
        await pilot.pause()
        assert not v.follow


async def test_pause_freezes_the_display_but_not_the_kernel(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        v = view(app)
        await pilot.press("p")
        assert v.paused and "PAUSED" in info(app)
        rows = v.rows
        n = demo.pump(30)
        assert n == 30 and demo.kernel.tracing_on, "pausing the display leaves tracing on"
        await until(pilot, lambda: v.new_lines == 30)
        assert v.rows == rows
        await pilot.press("p")
        await until(pilot, lambda: v.rows == rows + 30)
        assert not v.paused


async def test_search_finds_highlights_and_n_N_step(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("home")
        await pilot.press("slash", *"sched_wakeup:", "enter")
        await until(pilot, lambda: "sched_wakeup:" in demo.ring.get(v.seq_at(v.cursor) or 0))
        first = v.cursor
        await pilot.press("n")
        await until(pilot, lambda: v.cursor > first)
        assert "sched_wakeup:" in demo.ring.get(v.seq_at(v.cursor) or 0)
        second = v.cursor
        await pilot.press("N")
        await until(pilot, lambda: v.cursor == first)
        assert second > first
        # The match is highlighted in the rendered line.
        line = demo.ring.get(v.seq_at(first) or 0)
        assert v.search is not None and v.search.spans(line)
        strip = v._strip(v.seq_at(first) or 0, line)
        styled = [seg for seg in strip if seg.text == "sched_wakeup:"]
        assert styled and styled[0].style is not None and styled[0].style.bgcolor is not None


async def test_search_not_found_says_so(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("slash", *"no-such-thing-anywhere", "enter")
        await until(pilot, lambda: "not found" in info(app))


async def test_filter_bar_narrows_by_event_without_touching_the_kernel(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        gen = demo.kernel.generation
        total = v.rows
        await pilot.press("f", *"ev:sched_switch", "enter")
        await pilot.pause()
        assert 0 < v.rows < total
        lines = [demo.ring.get(v.seq_at(r) or 0) for r in range(v.rows)]
        assert all(": sched_switch:" in ln for ln in lines)
        assert demo.kernel.generation == gen, "the filter bar must not write to tracefs"
        assert "filter ev:sched_switch" in info(app)
        await pilot.press("escape")
        assert v.rows == total and v.index is None


async def test_filter_by_task_pid_cpu_and_regex(make_app: AppFactory, demo: DemoSession) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        rec = parse_line(demo.ring.get(demo.ring.first_seq + 3))
        assert rec.pid is not None and rec.comm and rec.cpu is not None
        for text, check in (
            (f"pid:{rec.pid}", lambda r: r.pid == rec.pid),
            (f"cpu:{rec.cpu}", lambda r: r.cpu == rec.cpu),
            (f"task:{rec.comm}", lambda r: r.comm == rec.comm),
            ("prio=120", lambda r: "prio=120" in r.raw),
        ):
            await pilot.press("f", "ctrl+a", "ctrl+k", *text, "enter")
            await pilot.pause()
            assert v.rows > 0, text
            recs = [parse_line(demo.ring.get(v.seq_at(r) or 0)) for r in range(v.rows)]
            assert all(check(r) for r in recs), text


async def test_bad_filter_is_reported_and_view_unchanged(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        rows = v.rows
        await pilot.press("f", *"pid:abc", "enter")
        await pilot.pause()
        assert v.rows == rows and v.index is None
        assert app.screen.query_one("#filter").has_focus, "the bar stays open to fix the typo"


async def test_lost_markers_stand_out_and_survive_filters(
    make_app: AppFactory, demo: DemoSession
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        demo.ring.extend(["CPU:1 [LOST 4242 EVENTS]"])
        await pilot.press("f", *"ev:sched_switch", "enter")
        await pilot.pause(0.2)
        last = demo.ring.get(v.seq_at(v.rows - 1) or 0)
        assert last == "CPU:1 [LOST 4242 EVENTS]"
        assert _columns(last) == [(0, len(last), "lost")]
        strip = v._strip(demo.ring.next_seq - 1, last)
        style = next(iter(strip)).style
        assert style is not None and style.reverse and style.bold


def test_graph_duration_marks_keep_their_own_colour() -> None:
    line = " 1) + 12.345 us   |    } /* vfs_read */"
    spans = _columns(line)
    kinds = [k for _, _, k in spans]
    assert "mark" in kinds and "cpu" in kinds and "name" in kinds
    a, b, _ = next(s for s in spans if s[2] == "mark")
    assert line[a:b] == "+"


async def test_two_marks_show_the_time_between(make_app: AppFactory, demo: DemoSession) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("home", "m", "down", "down", "down", "m")
        assert len(v.marks) == 2
        a, b = (parse_line(demo.ring.get(s)) for s in v.marks)
        assert a.ts is not None and b.ts is not None
        assert f"Δ {abs(b.ts - a.ts):.6f} s" in info(app)
        assert "(3 rows)" in info(app)
        await pilot.press("M")
        assert v.marks == []


async def test_horizontal_scroll(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        v = view(app)
        await pilot.press("right", "right")
        assert int(v.scroll_x) == 16
        await pilot.press("left")
        assert int(v.scroll_x) == 8


async def test_enter_offers_fields_or_a_filter_by_the_lines_pid_task_event(
    make_app: AppFactory, demo: DemoSession
) -> None:
    """Enter on a row: a small choice; Fields as before, or the filter narrowed by this row."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("f", *"ev:sched_switch", "enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, LineMenu))
        menu = app.screen
        assert isinstance(menu, LineMenu)
        assert [c for c, _ in menu.choices] == ["fields", "pid", "task", "event"]
        await pilot.press("enter")  # the first choice: the parsed fields
        await until(pilot, lambda: isinstance(app.screen, FieldsDialog))
        fields = app.screen
        assert isinstance(fields, FieldsDialog)
        rec = fields.record
        assert rec.name == "sched_switch" and rec.kind == "event" and rec.pid is not None
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen)

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LineMenu))
        await pilot.press("down", "enter")  # filter by pid
        await until(pilot, lambda: isinstance(app.screen, LiveScreen) and v.filter.pids != ())
        assert v.filter.pids == (rec.pid,) and v.filter.names == ("sched_switch",)
        assert f"filter pid:{rec.pid} ev:sched_switch" in info(app)
        recs = [parse_line(demo.ring.get(v.seq_at(r) or 0)) for r in range(v.rows)]
        assert recs and all(r.kind == "lost" or r.pid == rec.pid for r in recs)

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LineMenu))
        await pilot.press("down", "down", "enter")  # filter by task
        await until(pilot, lambda: v.filter.tasks != ())
        assert v.filter.tasks == (filter_word(rec.comm or ""),)
        assert all(
            parse_line(demo.ring.get(v.seq_at(r) or 0)).comm == rec.comm for r in range(v.rows)
        )


def test_a_task_name_becomes_a_filter_word_that_matches_it() -> None:
    word = filter_word("my task,1*")
    assert word == "my?task?1?"
    flt = LineFilter.parse(f"task:{word}")
    ring = Ring(10)
    ring.extend(["      my task,1*-42    [001] d..2.   10.000001: sched_switch: x"])
    idx = FilteredIndex(flt, ring)
    idx.update()
    assert list(idx.seqs) == [0]


def _fill(demo: DemoSession, at_least: int) -> None:
    """Copies of the demo's lines, so the ring holds more than a refresh tick scans."""
    lines = demo.ring.window(demo.ring.first_seq, len(demo.ring))
    while len(demo.ring) < at_least:
        demo.ring.extend(lines)


def _slow_scan(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make every chunk of a filter scan take ``seconds`` (a ring of millions, in small)."""
    orig = lineview._Matcher.lines

    def slow(self: lineview._Matcher, text: str) -> List[int]:
        time.sleep(seconds)
        return orig(self, text)

    monkeypatch.setattr(lineview._Matcher, "lines", slow)
    monkeypatch.setattr(lineview, "CHUNK", 500)


async def _loop_lag(seconds: float = 0.6) -> float:
    """The worst lateness of a 10 ms timer in the app's event loop (what bench/ui_load.py
    measures): a scan on the loop makes it as long as the scan."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    end = loop.time() + seconds
    while loop.time() < end:
        expected = loop.time() + 0.010
        await asyncio.sleep(0.010)
        worst = max(worst, loop.time() - expected)
    return worst


async def test_filter_scan_runs_off_the_event_loop_with_progress_and_is_cancelled(
    make_app: AppFactory, demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: FilteredIndex.update ran on the event loop (10-28 ms of a 33 ms tick)."""
    _fill(demo, 100_000)
    _slow_scan(monkeypatch, 0.03)  # 200 chunks: a 6 s rescan (a tick used to scan 60)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("f", *"ev:sched_switch")
        measuring = asyncio.ensure_future(_loop_lag(1.0))
        await pilot.press("enter")
        lag = await measuring
        assert lag < 0.5, f"the filter's scan held the event loop for {lag:.2f} s"
        await until(pilot, lambda: "scanning the ring" in info(app) and "%" in info(app))
        first = v.index
        assert first is not None and first.running
        # Keys are answered while the scan goes on.
        # The view follows the scan's new rows until the first key lands: the cursor is
        # read after it. Rows keep coming as the scan goes on; the cursor stays where
        # the keys put it.
        await pilot.press("up")
        c = v.cursor
        await pilot.press("up", "down")
        assert not v.follow and v.cursor == c and v.cursor < v.rows
        assert first.running
        # A new filter cancels the old scan ...
        await pilot.press("f", "ctrl+a", "ctrl+k", *"ev:sched_wakeup", "enter")
        await until(pilot, lambda: not first.running, timeout=1.0)
        second = v.index
        assert second is not None and second is not first and second.running
        # ... and Esc (clearing the filter) cancels the new one.
        await pilot.press("escape")
        assert v.index is None
        await until(pilot, lambda: not second.running, timeout=1.0)


async def test_row_and_new_line_counts_are_right_after_a_filter_change(
    make_app: AppFactory, demo: DemoSession
) -> None:
    """Regression: after a filter change the status read `row 5,544/12,671  12,671 new lines`."""
    _fill(demo, 100_000)  # more than one tick's scan used to cover
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("up", "up", "up")
        assert not v.follow
        keep = v.seq_at(v.cursor)
        assert keep is not None and keep > 60_000
        await pilot.press("f", *"ev:sched_switch", "enter")
        await pilot.pause()
        # Nothing old counts as new, however far the rescan has got.
        assert v.new_lines == 0 and "new lines" not in info(app)
        matching = [
            s
            for s in range(demo.ring.first_seq, demo.ring.next_seq)
            if ": sched_switch:" in demo.ring.get(s)
        ]
        await until(pilot, lambda: v.rows == len(matching), what=lambda: v.rows)
        await pilot.pause()
        # The cursor stays on (the first match from) the line it was on ...
        assert v.seq_at(v.cursor) == next(s for s in matching if s >= keep)
        # ... nothing old counts as new, and the counters say what they count.
        assert v.new_lines == 0 and "new lines" not in info(app)
        assert f"row {v.cursor + 1:,} of {v.rows:,}" in info(app)
        assert f"{v.rows:,} lines match" in info(app)
        assert f"{len(demo.ring):,} lines in ring" in info(app)
        # Lines that arrive now are new, counted as the filter counts them.
        start = demo.ring.next_seq
        demo.pump(300)
        fresh = sum(": sched_switch:" in demo.ring.get(s) for s in range(start, demo.ring.next_seq))
        assert fresh > 0
        await until(pilot, lambda: v.new_lines == fresh, what=lambda: v.new_lines)
        assert f"{fresh:,} new lines" in info(app)


async def test_a_filter_change_keeps_following(make_app: AppFactory, demo: DemoSession) -> None:
    """Regression: the shorter filtered view clamped scroll_y, which read as the user
    scrolling up, so a filter set while following stopped following."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await pilot.press("f", *"ev:sched_switch", "enter")
        await pilot.pause()
        assert v.follow and "FOLLOW" in info(app) and v.cursor == v.rows - 1
        rows = v.rows
        demo.pump(300)
        await until(pilot, lambda: v.rows > rows)
        assert v.follow and v.cursor == v.rows - 1 and v.new_lines == 0


async def test_search_while_following_finds_the_newest_match_and_n_wraps(
    make_app: AppFactory, demo: DemoSession
) -> None:
    """Regression: `/` while following said 'not found' for matches that exist (`N` found them)."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        demo._on_batch(["an unrelated line, the newest"])  # as the reader delivers it
        await until(pilot, lambda: v.rows == len(demo.ring))
        assert v.follow
        rows = [r for r in range(v.rows) if "sched_wakeup:" in demo.ring.get(v.seq_at(r) or 0)]
        assert rows and rows[-1] < v.rows - 1
        await pilot.press("slash", *"sched_wakeup:", "enter")
        await until(pilot, lambda: v.cursor == rows[-1], what=lambda: (v.cursor, info(app)))
        assert "not found" not in info(app)
        # vim's wrapscan: past the last match n goes on from the top, and says so.
        await pilot.press("n")
        await until(pilot, lambda: v.cursor == rows[0], what=lambda: v.cursor)
        assert "search hit BOTTOM, continuing at TOP" in info(app)
        await pilot.press("N")
        await until(pilot, lambda: v.cursor == rows[-1], what=lambda: v.cursor)
        assert "search hit TOP, continuing at BOTTOM" in info(app)
        await pilot.press("N")
        await until(pilot, lambda: v.cursor == rows[-2], what=lambda: v.cursor)
        assert "search hit" not in info(app)


async def test_a_long_search_shows_progress_and_esc_stops_it(
    make_app: AppFactory, demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(demo, 100_000)
    orig = SearchPattern.find_in

    def slow(self: SearchPattern, lines: Sequence[str], backward: bool = False) -> Optional[int]:
        time.sleep(0.3)  # 13 chunks of 8192 rows: a 4 s search
        return orig(self, lines, backward)

    monkeypatch.setattr(SearchPattern, "find_in", slow)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:

        def searching() -> List[Any]:
            return [w for w in app.workers if w.group == "search" and not w.is_finished]

        await pilot.press("home", "slash", *"no-such-thing-anywhere", "enter")
        await until(pilot, lambda: "searching" in info(app) and "%" in info(app))
        lag = await _loop_lag(0.3)
        assert lag < 0.5, f"the search held the event loop for {lag:.2f} s"
        await pilot.press("escape")
        await until(pilot, lambda: not searching(), timeout=1.0)
        assert "searching" not in info(app) and "not found" not in info(app)


async def test_wide_lines_show_a_horizontal_scroll_hint(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        assert "←→ wider lines" in info(app)
        await pilot.press("right")
        await until(pilot, lambda: "col 9 ←→" in info(app))


async def test_the_scroll_hint_comes_with_the_first_wide_lines_not_a_tick_later(
    make_app: AppFactory,
) -> None:
    """The hint is due when the first frame draws lines wider than the view: a modal
    opened at once (F1) covered a hint that only the next busy tick would have
    written, and no tick runs under a modal."""
    app = make_app()
    app.refresh_interval = 3600.0  # no busy tick during the test
    async with app.run_test(size=(120, 40)) as pilot:
        live = app.screen
        await pilot.press("f1")  # at once, as the snapshot of the help screen does
        assert app.screen is not live

        def hint() -> bool:
            return "←→ wider lines" in str(live.query_one("#info").render())

        await until(pilot, hint, timeout=2.0)


async def test_save_writes_ftrace_text_of_ring_or_filtered_view(
    make_app: AppFactory, demo: DemoSession, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        whole = tmp_path / "whole.txt"
        await pilot.press("s")
        assert isinstance(app.screen, SaveDialog)
        await pilot.press("ctrl+a", "ctrl+k", *str(whole), "enter")
        await until(pilot, whole.exists)
        await until(pilot, lambda: whole.read_text().count("\n") >= len(demo.ring) + 12)
        text = whole.read_text()
        assert text.startswith("# tracer: nop\n")
        body = [ln for ln in text.splitlines() if not ln.startswith("#")]
        assert body == demo.ring.window(demo.ring.first_seq, len(demo.ring))

        part = tmp_path / "filtered.txt"
        await pilot.press("f", *"ev:sched_wakeup", "enter")
        await pilot.press("s", "ctrl+a", "ctrl+k", *str(part), "enter")
        await until(pilot, part.exists)
        await pilot.pause(0.3)
        body = [ln for ln in part.read_text().splitlines() if not ln.startswith("#")]
        assert len(body) == v.rows and all(": sched_wakeup:" in ln for ln in body)


async def test_saved_file_reopens_in_the_same_view(tmp_path: Path, demo: DemoSession) -> None:
    """`ftop FILE`: a saved trace opens read-only, with search and filter, no root needed."""
    from ftop.engine.stream.lineview import save_lines
    from ftop.engine.stream.offline import FileSession
    from ftop.tui.settings import Settings

    path = tmp_path / "t.txt"
    with open(path, "w") as f:
        save_lines(f, demo.ring)
    fs = FileSession(str(path))
    fs.load()
    app = FtopApp(fs, kind="file", label=str(path), settings=Settings(tmp_path / "c.toml"))
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        await until(pilot, lambda: v.rows == len(demo.ring))
        await pilot.press("f", *"ev:sched_switch", "enter")
        assert 0 < v.rows < len(demo.ring)
        await pilot.press("T")
        await until(pilot, lambda: any("saved trace" in str(n.message) for n in app._notifications))
