"""Shared pieces of the TUI lab tests: the app (headless ``run_test()``) on a real Session in
the guest, and waiting under emulation (TCG is slow: generous timeouts, small steps).

Not a test module (no ``test_`` prefix); the ``test_lab_tui_*`` files import from it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path
from typing import Any

import pilot_util
from ftop.engine.control.session import Session
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings
from pilot_util import text_of  # noqa: F401  (the test_lab_tui_* files import it from here)
from textual.screen import ModalScreen

SIZE = (120, 40)


def lab_app(sess: Session, tmp_path: Path) -> FtopApp:
    """The app as `ftop --trace-self` runs it on the top level: streaming, polled once.

    These tests make the kernel work in their own process (the reads function_graph
    shows, the opens that fire a kprobe): ftop's default of leaving its own threads
    out of the trace would hide exactly those."""
    sess.trace_self = True
    sess.start_stream()
    sess.poll()
    return FtopApp(
        sess,
        kind="live",
        label=str(sess.tfs.root),
        settings=Settings(tmp_path / "config.toml"),
    )


# The shared waits (tests/pilot_util.py), with TCG's pace: generous timeouts, coarser steps.
until = functools.partial(pilot_util.until, timeout=120.0, step=0.1)
show = functools.partial(pilot_util.show, timeout=120.0, step=0.1)


async def quit_app(app: FtopApp, pilot: Any, sess: Session) -> None:
    """F10 (q types into the search boxes): the app restores tracefs (on a thread) and exits."""
    await until(pilot, lambda: not isinstance(app.screen, ModalScreen))
    await pilot.press("f10")
    end = time.monotonic() + 300
    # asyncio.sleep, not pilot.pause: the app exits as soon as it has restored.
    while time.monotonic() < end and not (app.restore_report or app.restore_error):
        await asyncio.sleep(0.1)
    assert app.restore_error is None, app.restore_error
    assert app.restore_report is not None, "quit did not restore in time"
    assert app.restore_report.ok, app.restore_report.errors
