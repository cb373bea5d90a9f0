"""The function filter editor on the real 6.1-rt kernel: picks land in set_ftrace_filter
(by index) and set_graph_function (by name), :mod: selections, a counted trigger and its
removal, set_ftrace_pid from the process picker, a refused name explained; quit restores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from engine_lab import raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.ftrace.filter import parse_filter
from ftop.tui.screens.functions import FuncRow, FunctionsScreen, ProcessDialog, TriggerDialog
from ftop.tui.widgets.kit import ChoiceDialog, RefusalDialog
from textual.widgets import Input, Select
from tui_lab import SIZE, lab_app, quit_app, show, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


def names_in(file: str) -> list:  # type: ignore[type-arg]
    return parse_filter(raw(file), file).names


async def search(pilot: Any, screen: FunctionsScreen, text: str) -> None:
    # Escape bubbles from the search box to the screen on the screen's own queue: a key
    # typed at once can reach the box first and be cleared with it ('fs_rea' for
    # 'vfs_rea' in the slow guest). Type once the Escape has been handled.
    await pilot.press("escape")
    await pilot.pause()
    await until(
        pilot,
        lambda: screen.results.has_focus and not screen.query_one("#search", Input).value,
        what=lambda: repr(screen.query_one("#search", Input).value),
    )
    await pilot.press(*text)
    await until(pilot, lambda: screen.query_text == text, what=lambda: repr(screen.query_text))


def cursor_on(screen: FunctionsScreen, name: str) -> None:
    rows = screen.results.rows
    screen.results.move_to(
        next(i for i, r in enumerate(rows) if isinstance(r, FuncRow) and r.name == name)
    )


async def test_functions_screen_sets_the_real_filter_files_and_quit_restores(
    session: Session, tmp_path: Path
) -> None:
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: FunctionsScreen = await show(app, pilot, "5", FunctionsScreen)
        await until(pilot, lambda: screen.loaded, timeout=240)
        assert screen.read_only is None and screen.catalog is not None
        assert len(screen.catalog) == raw("available_filter_functions").count("\n")

        # vfs_read into set_ftrace_filter (written as its catalog index).
        await search(pilot, screen, "vfs_rea")
        await pilot.press("down")
        cursor_on(screen, "vfs_read")
        await pilot.press("space", "enter")
        await until(pilot, lambda: names_in("set_ftrace_filter") == ["vfs_read"])

        # Every function of a module, as the kernel's own :mod: pattern.
        await search(pilot, screen, "overlay:")
        total = screen.result.total if screen.result else 0
        assert total > 100
        await pilot.press("down", "f3", "enter")
        await until(pilot, lambda: len(names_in("set_ftrace_filter")) == total + 1, timeout=240)
        assert "ovl_lookup [overlay]" in raw("set_ftrace_filter")
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("y")
        await until(pilot, lambda: names_in("set_ftrace_filter") == [])

        # set_graph_function takes names only: F2 twice, then Enter.
        await search(pilot, screen, "vfs_rea")
        await pilot.press("down", "f2", "f2")
        assert screen.target == "set_graph_function"
        cursor_on(screen, "vfs_read")
        await pilot.press("enter")
        await until(pilot, lambda: names_in("set_graph_function") == ["vfs_read"])
        await pilot.press("f2", "f2")
        assert screen.target == "set_ftrace_filter"

        # A counted trigger (stacktrace: harmless when it fires), then removed in the pane.
        cursor_on(screen, "vfs_read")
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, TriggerDialog))
        dialog: Any = app.screen
        dialog.query_one("#command", Select).value = "stacktrace"
        dialog.query_one("#count").value = "2"
        dialog.query_one("#count").focus()
        await pilot.press("enter")
        await until(pilot, lambda: "vfs_read:stacktrace:count=" in raw("set_ftrace_filter"))
        await until(pilot, lambda: any(r.kind == "trigger" for r in screen.now.rows))
        await pilot.press("tab")
        screen.now.move_to(next(i for i, r in enumerate(screen.now.rows) if r.kind == "trigger"))
        await pilot.press("delete")
        await until(pilot, lambda: ":stacktrace" not in raw("set_ftrace_filter"))

        # set_ftrace_pid from the picker, by pid.
        await pilot.press("tab", "f6")
        await until(pilot, lambda: isinstance(app.screen, ProcessDialog))
        await pilot.press(*str(os.getpid()), "enter")
        await until(pilot, lambda: raw("set_ftrace_pid").split() == [str(os.getpid())])

        # A name the kernel refuses: the reason, and nothing changed.
        before = raw("set_ftrace_filter")
        screen._plan("add", ["no_such_function_q"])
        await until(pilot, lambda: isinstance(app.screen, RefusalDialog))
        body = str(app.screen.body)  # type: ignore[attr-defined]
        assert "not in available_filter_functions" in body and "EINVAL" in body
        assert raw("set_ftrace_filter") == before
        await pilot.press("escape")
        await quit_app(app, pilot, session)
