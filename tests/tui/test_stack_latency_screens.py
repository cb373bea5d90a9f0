"""The stack tracer and latency screens on the demo kernel (the lab kernel's stack_trace and
wakeup reports): table equals stack_trace, enable/reset/filter, max latency and its report,
history of maxima, reset, threshold, tracer choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftop.engine.control.transaction import Change
from ftop.engine.demo.session import DemoSession
from ftop.engine.ftrace.filter import read_filter
from ftop.engine.ftrace.latency import read_report
from ftop.engine.ftrace.stack_tracer import GLOBAL_NOTE, STACK_TRACER_SYSCTL, parse_stack_trace
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChoiceDialog
from ftrace_util import OpenScreen
from pilot_util import text_of, until
from textual.widgets import DataTable


def table_rows(screen: Any, table_id: str) -> list:  # type: ignore[type-arg]
    table = screen.query_one(table_id, DataTable)
    return [
        [str(getattr(c, "plain", c)) for c in table.get_row_at(i)] for i in range(table.row_count)
    ]


async def test_the_stack_table_is_stack_trace_with_frame_size_bars(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("stack") as (_, _, screen):
        want = parse_stack_trace(demo.tfs.read("stack_trace")).frames
        rows = table_rows(screen, "#frames")
        assert len(rows) == len(want) == 36
        for row, f in zip(rows, want):
            assert row[0] == str(f.index) and row[1] == f"{f.depth:,}" and row[2] == str(f.size)
            assert row[4] == f.function and row[6] == f.module
            if f.offset is not None:
                assert row[5] == f"+0x{f.offset:x}/0x{f.length:x}"
        # Bars are proportional to the frame size: the biggest frame has the full bar.
        biggest = max(range(len(want)), key=lambda i: want[i].size)
        assert rows[biggest][3] == "█" * 16
        assert len(rows[0][3]) < len(rows[biggest][3])
        summary = text_of(screen.query_one("#summary"))
        assert "○ off" in summary and "4,448 B" in summary and "36 frames" in summary
        assert GLOBAL_NOTE in text_of(screen.query_one("#note"))


async def test_e_switches_the_stack_tracer_through_the_session(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("stack") as (_, pilot, screen):
        await pilot.press("e")
        await until(pilot, lambda: demo.tfs.read(STACK_TRACER_SYSCTL).strip() == "1")
        await until(pilot, lambda: "● on" in text_of(screen.query_one("#summary")))
        assert demo.journal is not None  # journaled: the restore puts it back
        await pilot.press("e")
        await until(pilot, lambda: demo.tfs.read(STACK_TRACER_SYSCTL).strip() == "0")


async def test_r_resets_the_max_and_the_history_draws_stack_max_size_over_time(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("stack") as (app, pilot, screen):
        await pilot.press("r")
        await until(pilot, lambda: demo.tfs.read("stack_max_size").strip() == "0")
        app.poll_now()
        await until(pilot, lambda: [v for _, v in screen.history.samples][-1:] == [0])
        await until(pilot, lambda: screen.stack is not None and screen.stack.max_size == 0)
        # On again: the demo kernel meets the deepest stack again.
        await pilot.press("e")
        await until(pilot, lambda: demo.tfs.read(STACK_TRACER_SYSCTL).strip() == "1")
        app.poll_now()
        await until(pilot, lambda: [v for _, v in screen.history.samples][-2:] == [0, 4448])
        spark = screen.query_one("#spark")
        assert list(spark.data)[-2:] == [0.0, 4448.0]  # type: ignore[attr-defined]


async def test_a_reset_while_on_rereads_size_and_frames_together(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    # The tracer on, a reset lets the kernel record the deepest stack again between the
    # read of stack_trace (empty) and of stack_max_size (full): the screen used to show
    # "4,448 B · 0 frames" and an empty table until Ctrl-R.
    async with open_screen("stack") as (app, pilot, screen):
        await pilot.press("e")
        await until(pilot, lambda: screen.stack is not None and screen.stack.enabled)
        await pilot.press("r")
        await until(pilot, lambda: screen.stack is not None and screen.stack.max_size == 4448)
        app.poll_now()
        await pilot.pause(0.3)
        assert screen.stack is not None
        assert len(screen.stack.frames) == 36, "size and frames read at different moments"
        assert screen.query_one("#frames", DataTable).row_count == 36
        summary = text_of(screen.query_one("#summary"))
        assert "4,448 B" in summary and "36 frames" in summary


async def test_f_edits_stack_trace_filter_and_a_bad_name_is_refused_in_the_dialog(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("stack") as (app, pilot, screen):
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog: Any = app.screen
        await pilot.press(*"vfs_read no_such_function_q", "enter")
        await until(pilot, lambda: dialog.error is not None)
        assert read_filter(demo.tfs, "stack_trace_filter").names == []
        dialog.query_one("#value").value = "vfs_read vfs_write"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, EditDialog))
        assert read_filter(demo.tfs, "stack_trace_filter").names == ["vfs_read", "vfs_write"]
        await until(pilot, lambda: "vfs_read vfs_write" in text_of(screen.query_one("#summary")))


# -- latency ------------------------------------------------------------------------------


async def test_not_a_latency_tracer_says_so_and_t_switches_to_one(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("latency") as (app, pilot, screen):
        header = text_of(screen.query_one("#header"))
        assert "not a latency tracer" in header and "wakeup, wakeup_rt, wakeup_dl" in header
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        choices = dict(app.screen.choices)  # type: ignore[attr-defined]
        assert list(choices.values()) == ["wakeup", "wakeup_rt", "wakeup_dl"]
        key = next(k for k, v in choices.items() if v == "wakeup_rt")
        await pilot.press(key)
        await until(pilot, lambda: demo.kernel.tracer == "wakeup_rt")
        # function-trace goes off with it (costly; reading the report would trace itself).
        assert demo.tfs.read("options/function-trace").strip() == "0"


async def test_max_latency_header_and_stack_parsed_from_the_report_and_kept_in_history(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    demo.apply([Change("current_tracer", "wakeup_rt")])
    want = read_report(demo.tfs)
    async with open_screen("latency") as (_, pilot, screen):
        await until(pilot, lambda: screen.report is not None)
        header = text_of(screen.query_one("#header"))
        assert "tracing_max_latency 38,392 us" in header
        assert want.latency_us == 38392 and "latency 38,392 us" in header
        assert f"{want.task_comm}-{want.task_pid}" == "rcuc/0-19" and "rcuc/0-19" in header
        assert "cpu     0" in header and "FIFO rt_prio 1" in header and "preempt_rt" in header
        stack = text_of(screen.query_one("#stack"))
        assert want.stacks and all(f in stack for f in want.stacks[0])
        rows = table_rows(screen, "#history")
        assert len(rows) == 1
        assert rows[0][1:] == ["38.4ms", "wakeup_rt", "rcuc/0-19", "0", "FIFO rt_prio 1"]


async def test_r_resets_the_max_and_h_sets_tracing_thresh(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    demo.apply([Change("current_tracer", "wakeup_rt")])
    async with open_screen("latency") as (app, pilot, screen):
        await until(pilot, lambda: screen.max_us == 38392)
        await pilot.press("r")
        await until(pilot, lambda: demo.tfs.read("tracing_max_latency").strip() == "0")
        await until(pilot, lambda: screen.max_us == 0)
        # The history of maxima seen stays.
        assert len(table_rows(screen, "#history")) == 1
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog: Any = app.screen
        await pilot.press("end", "backspace", *"x", "enter")
        await until(pilot, lambda: dialog.error is not None)  # not a number: refused, stays
        dialog.query_one("#value").value = "150"
        await pilot.press("enter")
        await until(pilot, lambda: demo.tfs.read("tracing_thresh").strip() == "150")
        await until(pilot, lambda: "150 us" in text_of(screen.query_one("#header")))


async def test_a_new_maximum_adds_a_row_and_enter_shows_an_earlier_report(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    demo.apply([Change("current_tracer", "wakeup_rt")])
    async with open_screen("latency") as (app, pilot, screen):
        await until(pilot, lambda: len(screen.monitor.history) == 1)
        # The wakeup tracer's recorded maximum is higher: a new maximum.
        demo.apply([Change("current_tracer", "wakeup")])
        app.poll_now()
        await until(pilot, lambda: len(screen.monitor.history) == 2)
        assert screen.monitor.history[-1].latency_us == 189768
        assert screen.report is screen.monitor.history[-1].report
        table = screen.query_one("#history", DataTable)
        table.move_cursor(row=0)
        await pilot.press("enter")
        assert screen.report is screen.monitor.history[0].report
        assert "an earlier maximum" in text_of(screen.query_one("#header"))


async def test_ctrl_r_reads_stack_trace_again(open_screen: OpenScreen, demo: DemoSession) -> None:
    async with open_screen("stack") as (_, pilot, screen):
        before = screen.stack
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.stack is not before)
        assert screen.stack is not None and len(screen.stack.frames) == 36


async def test_over_a_saved_trace_latency_says_it_needs_a_live_tracefs(
    tmp_path: Path, demo: DemoSession
) -> None:
    """Regression: `ftop FILE` showed a blank Latency screen."""
    from ftop.tui.screens.latency import LatencyScreen
    from pilot_util import show
    from saved_trace_util import saved_trace_app

    app = saved_trace_app(tmp_path, demo)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await show(app, pilot, "8", LatencyScreen)
        note = text_of(screen.query_one("#saved-trace"))
        assert "is a saved trace" in note and "need a live tracefs" in note
        assert screen.check_action("reset", ()) is False
        assert not screen.loaded


async def test_over_a_saved_trace_stack_says_it_needs_a_live_tracefs(
    tmp_path: Path, demo: DemoSession
) -> None:
    """Regression: `ftop FILE` showed a blank Stack screen, and offered its keys."""
    from pilot_util import show
    from saved_trace_util import saved_trace_app

    app = saved_trace_app(tmp_path, demo)
    async with app.run_test(size=(120, 30)) as pilot:
        from ftop.tui.screens.stack import StackScreen

        screen = await show(app, pilot, "7", StackScreen)
        note = text_of(screen.query_one("#saved-trace"))
        assert "is a saved trace" in note and "deepest stack" in note
        assert screen.check_action("reset", ()) is False
        assert not screen.loaded
