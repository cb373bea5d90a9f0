"""The tracers screen on the demo kernel: the list, staged options, the one-transaction switch,
the unfiltered-function warning, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from ftop.engine.control.capabilities import TRACER_DESCRIPTIONS
from ftop.engine.demo.session import DemoSession
from ftop.engine.ftrace.filter import plan_set
from ftop.tui.screens.functions import FunctionsScreen
from ftop.tui.screens.tracers import TracersScreen
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChoiceDialog
from ftrace_util import OpenScreen, app_for, locked, read
from pilot_util import text_of, until


def cursor_to(screen: TracersScreen, name: str) -> None:
    rows = screen.tracer_list.rows
    screen.tracer_list.move_to(next(i for i, r in enumerate(rows) if r.name == name))


@pytest.fixture()
def locked_demo(private_home: Path) -> Iterator[DemoSession]:
    yield from locked(private_home)


async def test_every_available_tracer_listed_with_its_description_and_the_current_marked(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("tracers") as (_, _, screen):
        rows = {r.name: r for r in screen.tracer_list.rows}
        for name in demo.caps.tracers:
            assert rows[name].refusal is None
            assert rows[name].description == TRACER_DESCRIPTIONS.get(name, "")
        assert [r.name for r in rows.values() if r.current] == ["nop"]
        # Tracers this kernel was built without are shown, with the reason, after the usable ones.
        assert "not built" in (rows["irqsoff"].refusal or "")
        names = [r.name for r in screen.tracer_list.rows]
        assert names.index("irqsoff") > max(names.index(t) for t in demo.caps.tracers)
        assert screen.tracer_list.current is not None and screen.tracer_list.current.name == "nop"


async def test_enter_switches_tracer_in_the_kernel_while_streaming(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("tracers") as (_, pilot, screen):
        cursor_to(screen, "wakeup_rt")
        await pilot.press("enter")
        await until(pilot, lambda: demo.kernel.tracer == "wakeup_rt")
        await until(
            pilot, lambda: screen.loaded is not None and screen.loaded.current == "wakeup_rt"
        )
        current = [r.name for r in screen.tracer_list.rows if r.current]
        assert current == ["wakeup_rt"]
        # The stream goes on after the switch (the session paused and restarted it).
        assert demo.pump(5) == 5


async def test_options_that_matter_are_beside_the_tracer_and_staged_until_the_switch(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    demo.apply(plan_set("set_graph_function", ["vfs_read"]))
    async with open_screen("tracers") as (app, pilot, screen):
        cursor_to(screen, "function_graph")
        await pilot.pause()
        names = [r.name for r in screen.option_list.rows]
        assert "funcgraph-proc" in names and "max_graph_depth" in names
        assert "tracing_thresh" in names and "func_stack_trace" not in names
        # Stage funcgraph-proc on and max_graph_depth 3: nothing reaches the kernel yet.
        await pilot.press("tab")
        assert screen.option_list.has_focus
        proc = names.index("funcgraph-proc")
        screen.option_list.move_to(proc)
        await pilot.press("space")
        assert screen.staged_options == {"funcgraph-proc": True}
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        await pilot.press("end", "backspace", "3", "enter")
        await until(pilot, lambda: screen.staged_depth == 3)
        assert read(demo, "options/funcgraph-proc").strip() == "0"
        assert read(demo, "max_graph_depth").strip() == "0"
        assert "2 staged" in text_of(screen.query_one("#info"))
        # Enter: tracer, option and depth in one transaction.
        await pilot.press("enter")
        await until(pilot, lambda: demo.kernel.tracer == "function_graph")
        assert read(demo, "options/funcgraph-proc").strip() == "1"
        assert read(demo, "max_graph_depth").strip() == "3"
        await until(pilot, lambda: not screen.staged_changes())


async def test_escape_drops_staged_changes(open_screen: OpenScreen, demo: DemoSession) -> None:
    async with open_screen("tracers") as (_, pilot, screen):
        cursor_to(screen, "function")
        await pilot.press("tab", "space")
        assert screen.staged_options
        await pilot.press("escape")
        assert not screen.staged_changes()


async def test_unfiltered_function_tracer_asks_first_and_offers_the_filter_editor(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("tracers") as (app, pilot, screen):
        cursor_to(screen, "function")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        body = str(app.screen.body)  # type: ignore[attr-defined]
        assert "every function" in body and "39,191" in body and "slows" in body
        await pilot.press("n")  # narrow first
        await until(pilot, lambda: isinstance(app.screen, FunctionsScreen))
        assert demo.kernel.tracer == "nop"
        # Back, and this time start anyway.
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, TracersScreen))
        cursor_to(screen, "function")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("y")
        await until(pilot, lambda: demo.kernel.tracer == "function")


async def test_a_filter_set_means_no_question(open_screen: OpenScreen, demo: DemoSession) -> None:
    demo.apply(plan_set("set_ftrace_filter", ["vfs_read"]))
    async with open_screen("tracers") as (app, pilot, screen):
        cursor_to(screen, "function")
        await pilot.press("enter")
        await until(pilot, lambda: demo.kernel.tracer == "function")
        assert not isinstance(app.screen, ChoiceDialog)


async def test_f_opens_the_filter_editor(open_screen: OpenScreen) -> None:
    async with open_screen("tracers") as (app, pilot, _):
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FunctionsScreen))


async def test_locked_down_kernel_function_tracers_shown_refused_with_eperm_and_nothing_changes(
    open_screen: OpenScreen, locked_demo: DemoSession, private_home: Path
) -> None:
    app = app_for(locked_demo, private_home)
    async with open_screen("tracers", app=app) as (app, pilot, screen):
        rows = {r.name: r for r in screen.tracer_list.rows}
        assert "EPERM" in (rows["function"].refusal or "")
        assert "EPERM" in (rows["function_graph"].refusal or "")
        assert rows["wakeup"].refusal is None
        cursor_to(screen, "function")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert locked_demo.kernel.tracer == "nop"
        assert "EPERM" in text_of(screen.query_one("#about"))


async def test_a_refused_switch_shows_the_kernel_reason_and_changes_nothing(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    from ftop.tui.widgets.kit import RefusalDialog

    async with open_screen("tracers") as (app, pilot, screen):
        cursor_to(screen, "wakeup")
        # Stage an option the kernel refuses (test_nop_refuse does not exist in the
        # demo's options/: EINVAL), with the switch: the whole transaction is undone.
        screen.staged_options["no_such_option"] = True
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RefusalDialog))
        assert demo.kernel.tracer == "nop"
        body = str(app.screen.body)  # type: ignore[attr-defined]
        assert "options/no_such_option" in body and "nothing was changed" in body
        await pilot.press("escape")
        assert screen.staged_options  # kept, to fix and retry


async def test_h_stages_tracing_thresh_for_a_latency_tracer(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    async with open_screen("tracers") as (app, pilot, screen):
        cursor_to(screen, "wakeup_rt")
        await pilot.pause()
        assert "tracing_thresh" in [r.name for r in screen.option_list.rows]
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        await pilot.press("end", "backspace", *"250", "enter")
        await until(pilot, lambda: screen.staged_thresh == 250)
        assert read(demo, "tracing_thresh").strip() == "0"
        await pilot.press("enter")
        await until(pilot, lambda: demo.kernel.tracer == "wakeup_rt")
        assert read(demo, "tracing_thresh").strip() == "250"


async def test_over_a_saved_trace_the_tracers_screen_says_it_needs_a_live_tracefs(
    tmp_path: Path, demo: DemoSession
) -> None:
    """Regression: `ftop FILE` showed a blank Tracers screen and offered keys that were refused."""
    from ftop.tui.screens.tracers import TracersScreen
    from pilot_util import show
    from saved_trace_util import saved_trace_app

    app = saved_trace_app(tmp_path, demo)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await show(app, pilot, "4", TracersScreen)
        note = text_of(screen.query_one("#saved-trace"))
        assert "saved.txt is a saved trace: it holds the trace lines only" in note
        assert "need a live tracefs" in note
        assert screen.check_action("switch", ()) is False
        assert screen.loaded is None
