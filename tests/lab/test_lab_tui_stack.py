"""The stack tracer view on the real 6.1-rt kernel: on/off through the sysctl, the table equal
to stack_trace, reset, stack_trace_filter; quit puts the sysctl, the maximum and the filter back."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_lab import SYSCTL, deep_work, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.ftrace.filter import parse_filter
from ftop.engine.ftrace.stack_tracer import parse_stack_trace
from ftop.tui.screens.stack import StackScreen
from ftop.tui.widgets.dialogs import EditDialog
from textual.widgets import DataTable
from tui_lab import SIZE, lab_app, quit_app, show, text_of, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


async def test_stack_screen_drives_the_stack_tracer_and_quit_restores(
    session: Session, tmp_path: Path
) -> None:
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: StackScreen = await show(app, pilot, "7", StackScreen)
        await until(pilot, lambda: screen.loaded)
        assert "global to the machine" in text_of(screen.query_one("#note"))
        await pilot.press("e")
        await until(pilot, lambda: SYSCTL.read_text().strip() == "1")
        # A maximum can come without its frames ("(0 entries)"): reset and retry.
        for _ in range(3):
            await pilot.press("r")
            await until(pilot, lambda: screen.stack is not None)
            deep_work()
            if parse_stack_trace(raw("stack_trace")).frames:
                break
        await pilot.press("e")
        await until(pilot, lambda: SYSCTL.read_text().strip() == "0")
        await pilot.press("ctrl+r")
        want = parse_stack_trace(raw("stack_trace"))
        size = int(raw("stack_max_size"))
        await until(
            pilot,
            lambda: (
                screen.stack is not None
                and screen.stack.frames == want.frames
                and screen.stack.max_size == size
            ),
        )
        table = screen.query_one("#frames", DataTable)
        assert table.row_count == len(want.frames) > 0
        for i, f in enumerate(want.frames):
            row = [str(getattr(c, "plain", c)) for c in table.get_row_at(i)]
            assert row[2] == str(f.size) and row[4] == f.function and row[6] == f.module
        assert f"{size:,} B" in text_of(screen.query_one("#summary"))

        await pilot.press("r")  # off: the reset stays at 0
        await until(pilot, lambda: raw("stack_max_size").strip() == "0")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        app.screen.query_one("#value").value = "vfs_read"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (
                parse_filter(raw("stack_trace_filter"), "stack_trace_filter").names == ["vfs_read"]
            ),
        )
        await quit_app(app, pilot, session)
