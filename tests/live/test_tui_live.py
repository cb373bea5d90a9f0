"""The app (``run_test()``) on this machine's real tracefs.

The full flow runs in a private instance (``instances/ftop-tui-<pid>``, created
and journaled by the session, removed on quit) so that other people's tests on
the same host neither disturb it nor lose trace_pipe lines to it; one test
works on the top level with an event nobody else uses. Every test checks that
the top level is exactly as before (``unchanged``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pilot_util
import pytest
from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.ftrace.event_catalog import enabled_events
from ftop.engine.stream.parse import parse_line
from ftop.tui.app import FtopApp
from ftop.tui.screens.events import EventsScreen, Row
from ftop.tui.screens.live import LiveScreen
from ftop.tui.settings import Settings
from ftop.tui.widgets.dialogs import EditDialog

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


# A real kernel answers more slowly than the demo: a longer default wait.
until = functools.partial(pilot_util.until, timeout=10.0)


def make_app(sess: Session, tmp_path: Path) -> FtopApp:
    sess.start_stream()
    sess.poll()
    label = str(sess.tfs.root) + (f" [{sess.tfs.instance}]" if sess.tfs.instance else "")
    return FtopApp(sess, kind="live", label=label, settings=Settings(tmp_path / "config.toml"))


async def type_text(pilot: Any, selector: str, text: str) -> None:
    """Put text in an input as typing would (Changed events), without a key press per
    character: under a flood of trace lines the app is never idle, and Pilot waits
    up to 2 s for idleness after every key. Keys proper are still pressed."""
    from textual.widgets import Input

    inp = pilot.app.screen.query_one(selector, Input)
    inp.focus()
    inp.value = text
    inp.cursor_position = len(text)
    await pilot.pause(0.1)


async def open_events(app: FtopApp, pilot: Any) -> EventsScreen:
    await pilot.press("2")
    screen = app.screen
    assert isinstance(screen, EventsScreen)
    await until(pilot, lambda: screen.loaded)
    return screen


async def test_events_screen_enables_sched_switch_lines_stream_filter_narrows_bad_filter_refused_quit_restores(
    tracefs_root: Path, tfs: Tracefs, unchanged: Any, journal_dir: Path, tmp_path: Path
) -> None:
    instance = f"ftop-tui-{os.getpid()}"
    sess = Session.open(str(tracefs_root), instance=instance, journal_dir=journal_dir)
    inst = tfs.sub(instance)
    app = make_app(sess, tmp_path)
    try:
        await _full_flow(app, pilot_size=(120, 40), sess=sess, inst=inst)
    finally:
        sess.restore()  # a no-op after the quit below; the safety net when an assert fails
    assert app.return_code == 0
    assert instance not in os.listdir(tracefs_root / "instances")
    assert not list(journal_dir.glob("*.json")), "the journal is dropped after a clean restore"


async def _full_flow(app: FtopApp, pilot_size: Any, sess: Session, inst: Tracefs) -> None:
    async with app.run_test(size=pilot_size) as pilot:
        # 1. Enable sched:sched_switch from the events screen.
        screen = await open_events(app, pilot)
        assert screen.list is not None
        await pilot.press(*"sched_switch", "down")
        assert screen.list.current == Row("sched", "sched_switch")
        await pilot.press("space")
        await until(pilot, lambda: "sched/sched_switch" in enabled_events(inst))

        # 2. Its lines appear in the live view.
        await pilot.press("1")
        live = app.screen
        assert isinstance(live, LiveScreen) and live.view is not None
        view = live.view
        await until(pilot, lambda: view.rows > 20)
        recs = [
            parse_line(sess.ring.get(view.seq_at(r) or 0))
            for r in range(max(0, view.rows - 20), view.rows)
        ]
        assert any(r.name == "sched_switch" for r in recs)

        # 3. A filter narrows them (the view only; the kernel is not touched).
        await pilot.press("f")
        await type_text(pilot, "#filter", "cpu:0")
        await pilot.press("enter")
        await until(
            pilot, lambda: view.index is not None and view.index.behind == 0 and view.rows > 0
        )
        first = max(0, view.rows - 2000)
        shown = [parse_line(sess.ring.get(view.seq_at(r) or 0)) for r in range(first, view.rows)]
        assert all(r.cpu == 0 for r in shown if r.kind != "lost")
        held = [parse_line(ln) for ln in sess.ring.tail(4000)]
        assert any(r.cpu != 0 for r in held if r.kind == "event"), "a 2-CPU box traces on both"

        # 4. A bad event filter shows the kernel's error_log text; nothing changes.
        screen = await open_events(app, pilot)
        await pilot.press("escape")
        await type_text(pilot, "#search", "sched_switch")
        await pilot.press("down", "f4")
        await until(pilot, lambda: isinstance(app.screen, EditDialog))
        dialog = app.screen
        assert isinstance(dialog, EditDialog)
        await type_text(pilot, "#value", "prev_pid === 0")
        await pilot.press("enter")
        await until(pilot, lambda: dialog.error is not None)
        shown_text = str(dialog.query_one("#error").render())
        assert "Invalid value (did you forget quotes)?" in shown_text
        assert "Command: prev_pid === 0" in shown_text
        assert any(ln.strip() == "^" for ln in shown_text.splitlines())
        assert (inst.read_or("events/sched/sched_switch/filter") or "").strip() == "none"
        await pilot.press("escape")

        # 5. Quit puts everything back (the instance goes, the top level is untouched).
        await pilot.press("f10")
        await pilot.pause(0.5)


async def test_quit_restores_the_top_level_exactly(
    tracefs_root: Path, tfs: Tracefs, unchanged: Any, journal_dir: Path, tmp_path: Path
) -> None:
    """The top level itself, with an event other tests do not use."""
    system, event = "alarmtimer", "alarmtimer_cancel"
    if not (tracefs_root / "events" / system / event).is_dir():
        pytest.skip(f"{system}:{event} is not in this kernel")
    if f"{system}/{event}" in enabled_events(tfs):
        pytest.skip(f"{system}:{event} is already enabled by someone else")
    sess = Session.open(str(tracefs_root), journal_dir=journal_dir)
    app = make_app(sess, tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await open_events(app, pilot)
            await pilot.press(*f"{system}:{event}", "down", "space")
            await until(pilot, lambda: f"{system}/{event}" in enabled_events(tfs))
            await pilot.press("f10")
            await pilot.pause(0.5)
        assert f"{system}/{event}" not in enabled_events(tfs)
    finally:
        sess.restore()


async def test_tracing_on_toggle_is_restored(
    tracefs_root: Path, tfs: Tracefs, unchanged: Any, journal_dir: Path, tmp_path: Path
) -> None:
    instance = f"ftop-tui-t-{os.getpid()}"
    sess = Session.open(str(tracefs_root), instance=instance, journal_dir=journal_dir)
    inst = tfs.sub(instance)
    app = make_app(sess, tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("T")
            await until(pilot, lambda: (inst.read_or("tracing_on") or "").strip() == "0")
            await pilot.press("f10")
            await pilot.pause(0.5)
    finally:
        sess.restore()
    assert instance not in os.listdir(tracefs_root / "instances")


async def test_live_view_saves_the_raw_pages_as_a_trace_dat_trace_cmd_reads(
    tracefs_root: Path, tfs: Tracefs, unchanged: Any, journal_dir: Path, tmp_path: Path
) -> None:
    """The session reads trace_pipe_raw here; `s` with a .dat name writes the pages
    it kept; trace-cmd report lists the events the view showed."""
    import shutil
    import subprocess

    from textual.widgets import Input

    trace_cmd = shutil.which("trace-cmd")
    assert trace_cmd is not None, "trace-cmd is not installed (scripts/test installs it)"
    instance = f"ftop-tui-dat-{os.getpid()}"
    sess = Session.open(str(tracefs_root), instance=instance, journal_dir=journal_dir)
    app = make_app(sess, tmp_path)
    out = tmp_path / "view.dat"
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            assert sess.stream_kind == "raw", sess.raw_why
            await open_events(app, pilot)
            await pilot.press(*"sched_switch", "down", "space")
            await until(pilot, lambda: "sched/sched_switch" in enabled_events(tfs.sub(instance)))
            await pilot.press("1")
            await until(pilot, lambda: len(sess.ring) > 20 and sess.pages is not None)
            await pilot.press("s")
            await until(pilot, lambda: bool(app.screen.query("#path")))
            app.screen.query_one("#path", Input).value = str(out)
            await pilot.press("enter")
            await until(pilot, lambda: out.exists())
            await pilot.press("f10")
            await pilot.pause(0.5)
    finally:
        sess.restore()
    report = subprocess.run(
        [trace_cmd, "report", str(out)], capture_output=True, text=True, errors="replace"
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.count("sched_switch:") >= 20, report.stdout[:1000]
    assert instance not in os.listdir(tracefs_root / "instances")
