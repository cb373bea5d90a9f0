"""The live view: follow, new-lines count, pause vs tracing_on, search, filter, marks, scroll, save, fields."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ftop.engine.demo.session import DemoSession
from ftop.engine.stream.parse import parse_line
from ftop.tui.app import FtopApp
from ftop.tui.screens.live import LiveScreen
from ftop.tui.widgets.dialogs import FieldsDialog, SaveDialog
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


async def test_enter_opens_parsed_fields(make_app: AppFactory, demo: DemoSession) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f", *"ev:sched_switch", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FieldsDialog)
        rec = app.screen.record
        assert rec.name == "sched_switch" and rec.kind == "event" and rec.pid is not None
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen)


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
