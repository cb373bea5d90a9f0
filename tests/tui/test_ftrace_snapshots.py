"""Snapshots of the ftrace screens (tracers, functions, graph, stack, latency, setup, probes) at
80x24 and 120x40, dark and light, on the frozen demo kernel; and of their key dialogs.

Regenerate after an intended change:
``pytest tests/tui/test_ftrace_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterator, Optional, Tuple

import pytest
from ftop.engine.control.transaction import Change
from ftop.engine.demo.session import DemoSession
from ftop.engine.ftrace.filter import plan_set, plan_trigger
from ftop.engine.ftrace.probes import kprobe, plan_create
from ftop.tui.app import FtopApp
from ftop.tui.screens.functions import FunctionsScreen
from ftop.tui.screens.graph import GraphScreen
from ftop.tui.screens.latency import LatencyScreen
from ftop.tui.screens.probes import ProbeDialog, ProbesScreen
from ftop.tui.screens.setup import SetupScreen
from ftop.tui.screens.stack import StackScreen
from ftop.tui.screens.tracers import TracersScreen
from ftop.tui.widgets.kit import ChoiceDialog
from ftrace_util import AppFactory, app_for, locked
from pilot_util import until

SIZES = [(80, 24), (120, 40)]
Prep = Callable[[DemoSession], None]
Steps = Callable[[Any], Awaitable[None]]


def prep_functions(demo: DemoSession) -> None:
    demo.apply(plan_set("set_ftrace_filter", ["vfs_read", "vfs_write"]))
    demo.apply([plan_trigger("vfs_write", "stacktrace", 5)])
    demo.apply(plan_set("set_graph_function", ["vfs_read"]))


def prep_graph(demo: DemoSession) -> None:
    demo.apply([Change("current_tracer", "function_graph")])
    demo.pump(1500)


def prep_latency(demo: DemoSession) -> None:
    demo.apply([Change("current_tracer", "wakeup_rt")])


def prep_probes(demo: DemoSession) -> None:
    demo.apply(plan_create(kprobe("do_sys_openat2", "ftop_open", ["dfd=%di:s32"]), enable=True))
    demo.apply(plan_create(kprobe("vfs_read", "vfs_read_ret", ["ret=$retval:s64"], ret=True)))


async def settle(pilot: Any) -> None:
    await pilot.pause(0.3)


def on(key: str, cls: type, ready: Callable[[Any], Any], *keys: str) -> Steps:
    async def run(pilot: Any) -> None:
        app: FtopApp = pilot.app
        await until(pilot, lambda: app.status_info is not None)
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, cls))
        screen = app.screen
        await until(pilot, lambda: ready(screen), timeout=10)
        for k in keys:
            await pilot.press(k)
        await settle(pilot)

    return run


def tracer_cursor(name: str) -> Callable[[Any], None]:
    def move(screen: TracersScreen) -> None:
        rows = screen.tracer_list.rows
        screen.tracer_list.move_to(next(i for i, r in enumerate(rows) if r.name == name))

    return move


async def tracers_steps(pilot: Any) -> None:
    await on("4", TracersScreen, lambda s: s.tracer_list.rows)(pilot)
    screen = pilot.app.screen
    tracer_cursor("function_graph")(screen)
    await pilot.pause(0.1)
    await pilot.press("tab", "down", "down", "space")  # stage an option
    await settle(pilot)


async def functions_steps(pilot: Any) -> None:
    await on("5", FunctionsScreen, lambda s: s.loaded and s.now.rows)(pilot)
    await pilot.press(*"vfs_rea", "down", "down", "space")
    await settle(pilot)


SCREENS: Dict[str, Tuple[Optional[Prep], Steps]] = {
    "tracers": (None, tracers_steps),
    "functions": (prep_functions, functions_steps),
    "graph": (prep_graph, on("6", GraphScreen, lambda s: s.calls.rows and not s.feeding)),
    "stack": (None, on("7", StackScreen, lambda s: s.loaded)),
    "latency": (prep_latency, on("8", LatencyScreen, lambda s: s.report is not None)),
    "setup": (None, on("9", SetupScreen, lambda s: s.settings is not None and s.options.rows)),
    "probes": (prep_probes, on("0", ProbesScreen, lambda s: s.list.rows)),
}


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    snap_compare: Any, make_app: AppFactory, demo: DemoSession, screen: str, size: Any, theme: str
) -> None:
    prep, steps = SCREENS[screen]
    if prep is not None:
        prep(demo)
    assert snap_compare(make_app(theme=theme), run_before=steps, terminal_size=size)


def test_unfiltered_function_warning(snap_compare: Any, make_app: AppFactory) -> None:
    async def run(pilot: Any) -> None:
        await on("4", TracersScreen, lambda s: s.tracer_list.rows)(pilot)
        tracer_cursor("function")(pilot.app.screen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog))
        await settle(pilot)

    assert snap_compare(make_app(), run_before=run, terminal_size=(80, 24))


def test_kprobe_refused_with_error_log_and_caret(snap_compare: Any, make_app: AppFactory) -> None:
    async def run(pilot: Any) -> None:
        await on("0", ProbesScreen, lambda s: s.loaded)(pilot)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(pilot.app.screen, ProbeDialog))
        dialog: Any = pilot.app.screen
        dialog.query_one("#value").value = "p:bad no_such_symbol_q"
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        await settle(pilot)

    assert snap_compare(make_app(), run_before=run, terminal_size=(100, 30))


@pytest.fixture()
def locked_demo(private_home: Path) -> Iterator[DemoSession]:
    yield from locked(private_home)


def test_functions_on_a_locked_down_kernel(
    snap_compare: Any, locked_demo: DemoSession, private_home: Path, monkeypatch: Any
) -> None:
    # The read-only browser falls back to /proc/kallsyms: the same few names on every machine.
    monkeypatch.setattr(
        "ftop.tui.screens.functions.load_kallsyms", lambda: {"vfs_read", "vfs_readv", "vfs_write"}
    )

    async def run(pilot: Any) -> None:
        await on("5", FunctionsScreen, lambda s: s.loaded)(pilot)

    assert snap_compare(app_for(locked_demo, private_home), run_before=run, terminal_size=(80, 24))
