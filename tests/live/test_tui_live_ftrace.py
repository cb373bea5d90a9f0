"""The ftrace screens on this machine's real tracefs, which refuses function tracing (EPERM)
and lacks the stack tracer, the latency tracers and kprobes (tracefs-field-notes.md, kernel A).

Each screen must say plainly what this kernel does not allow or have, and stay usable
read-only; nothing is written (``unchanged``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pilot_util
import pytest
from ftop.engine.control.session import Session
from ftop.tui.app import FtopApp
from ftop.tui.screens.functions import FunctionsScreen
from ftop.tui.screens.latency import LatencyScreen
from ftop.tui.screens.probes import ProbesScreen
from ftop.tui.screens.stack import StackScreen
from ftop.tui.screens.tracers import TracersScreen
from ftop.tui.settings import Settings
from pilot_util import text_of

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


# A real kernel answers more slowly than the demo: a longer default wait.
until = functools.partial(pilot_util.until, timeout=15.0)


async def test_locked_down_host_each_ftrace_screen_says_what_is_refused_or_missing(
    tracefs_root: Path, unchanged: Any, journal_dir: Path, tmp_path: Path
) -> None:
    sess = Session.open(str(tracefs_root), journal_dir=journal_dir)
    if sess.caps.function_tracing is not False:
        pytest.skip("function tracing is allowed on this machine: nothing refused to show")
    sess.poll()
    app = FtopApp(
        sess, kind="live", label=str(tracefs_root), settings=Settings(tmp_path / "c.toml")
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            await until(pilot, lambda: isinstance(app.screen, FunctionsScreen))
            fs: FunctionsScreen = app.screen  # type: ignore[assignment]
            await until(pilot, lambda: fs.loaded)
            banner = text_of(fs.query_one("#banner"))
            assert "Function tracing is refused on this kernel" in banner and "EPERM" in banner
            if fs.catalog is not None:  # browsing /proc/kallsyms
                await pilot.press(*"vfs_read", "down")
                assert fs.results.rows
            await pilot.press("enter")  # refused here, without a write
            await pilot.pause(0.2)

            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, TracersScreen))
            ts: TracersScreen = app.screen  # type: ignore[assignment]
            await until(pilot, lambda: ts.tracer_list.rows)
            rows = {r.name: r for r in ts.tracer_list.rows}
            assert "EPERM" in (rows["function"].refusal or "")
            assert "not built" in (rows["wakeup"].refusal or "")

            await pilot.press("7")
            await until(pilot, lambda: isinstance(app.screen, StackScreen))
            ss: StackScreen = app.screen  # type: ignore[assignment]
            await until(pilot, lambda: ss.loaded)
            if not (tracefs_root / "stack_trace").exists():
                assert "not available here" in text_of(ss.query_one("#summary"))

            await pilot.press("8")
            await until(pilot, lambda: isinstance(app.screen, LatencyScreen))
            ls: LatencyScreen = app.screen  # type: ignore[assignment]
            await until(pilot, lambda: ls.loaded)
            if not ls.available:
                assert "no latency tracer" in text_of(ls.query_one("#header"))

            await pilot.press("0")
            await until(pilot, lambda: isinstance(app.screen, ProbesScreen))
            ps: ProbesScreen = app.screen  # type: ignore[assignment]
            await until(pilot, lambda: ps.loaded)
            if not (tracefs_root / "kprobe_events").exists():
                assert "kprobe_events" not in ps.available
                await pilot.press("k")
                await pilot.pause(0.2)
                assert not isinstance(app.screen, type(None)) and isinstance(
                    app.screen, ProbesScreen
                )
            await pilot.press("f10")
            await pilot.pause(0.5)
    finally:
        sess.restore()
    # The one write of a visit: ftop's own threads into the notrace pid list (so that
    # it does not trace itself), journaled and put back by the restore.
    touched = sess.journal.touched if sess.journal is not None else {}
    assert touched in ({}, {"": ["set_event_notrace_pid"]}), (
        f"the screens wrote something on a read-only visit: {touched}"
    )
