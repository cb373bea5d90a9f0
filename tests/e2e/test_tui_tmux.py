"""End to end: the installed ``ftop`` command in a real terminal (tmux), on the real tracefs.

Keys go in with ``send-keys``, the screen comes back with ``capture-pane``.
Streaming runs in a private instance (``-B``) so concurrent tests on this host
keep their trace_pipe lines; one test drives the top level with an event
nobody else uses. Each test checks that tracefs is exactly as before.
Needs: tmux (Debian package ``tmux``), root, tracefs.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Optional

import pytest
from tmux_util import FTOP, env_for, journal_report, no_journal, wait

pytestmark = [pytest.mark.e2e, pytest.mark.live, pytest.mark.timeout(180)]


@pytest.mark.parametrize(
    "term,size",
    [("xterm-256color", (120, 36)), ("screen", (80, 24))],
    ids=["xterm-256color", "screen-80x24"],
)
def test_ftop_in_tmux_streams_filters_toggles_and_quit_restores(
    tmux, tracefs_root: Path, unchanged, journal_dir: Path, tmp_path: Path, term: str, size: tuple
) -> None:  # type: ignore[no-untyped-def]
    instance = f"ftop-e2e-{os.getpid()}"
    t = tmux("stream")
    t.start(
        f"{FTOP} -B {instance} -e sched:sched_switch",
        *size,
        env=env_for(tmp_path, journal_dir, term),
    )
    try:
        screen = t.wait_for(lambda s: "sched_switch:" in s and "tracer" in s)
        assert "● on" in screen and "1 event " in screen
        assert (tracefs_root / "instances" / instance).is_dir()
        # Filter bar: narrows the view to CPU 0.
        t.send("f")
        # Typed only once the filter box is up: a key sent earlier goes to the view.
        t.wait_for(lambda s: "filter: task:NAME" in s)
        t.type("cpu:0")
        t.send("Enter")
        screen = t.wait_for(lambda s: "filter cpu:0" in s)
        body = [ln for ln in screen.splitlines() if "sched_switch:" in ln]
        assert body and all("[000]" in ln for ln in body)
        # Events screen: search and toggle sched_wakeup on.
        t.send("2")
        t.wait_for(lambda s: "events enabled" in s)
        t.type("sched_wakeup")
        t.send("Down", "Space")
        enable = tracefs_root / "instances" / instance / "events/sched/sched_wakeup/enable"
        assert wait(lambda: enable.read_text().strip() == "1"), t.capture()
        t.wait_for(lambda s: "2 events" in s)
        # Help lists the keys.
        t.send("F1")
        t.wait_for(lambda s: "ftop keys" in s)
        # q types into the events search (event names start with q too): F10 quits.
        t.send("Escape", "F10")
        assert wait(t.dead), "ftop did not exit on F10"
        last = t.capture()  # what ftop printed on its way out (restore errors, if any)
    finally:
        t.kill()
        # A hangup (the kill) restores too; wait for it before the state is compared.
        wait(lambda: not (tracefs_root / "instances" / instance).exists())
    assert not (tracefs_root / "instances" / instance).exists(), last
    assert no_journal(journal_dir)


def test_top_level_quit_restores_exactly(
    tmux, tracefs_root: Path, tfs, unchanged, journal_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from ftop.engine.ftrace.event_catalog import enabled_events

    ev = "alarmtimer/alarmtimer_cancel"
    if not (tracefs_root / "events" / ev).is_dir():
        pytest.skip(f"{ev} is not in this kernel")
    if ev in enabled_events(tfs):
        pytest.skip(f"{ev} already enabled by someone else")
    t = tmux("top")
    t.start(f"{FTOP} -e {ev.replace('/', ':')}", 100, 30, env=env_for(tmp_path, journal_dir))
    try:
        t.wait_for(lambda s: "tracer" in s)
        assert wait(lambda: ev in enabled_events(tfs))
        t.send("q")
        assert wait(t.dead)
    finally:
        t.kill()
        wait(lambda: ev not in enabled_events(tfs))
    assert ev not in enabled_events(tfs)
    assert no_journal(journal_dir)


def test_plain_ftop_opens_on_this_machine_and_changes_nothing(
    tmux, tracefs_root: Path, unchanged, journal_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`ftop` with no flags: the status of the machine as it is; quitting leaves no trace."""
    t = tmux("plain")
    t.start(str(FTOP), 100, 30, env=env_for(tmp_path, journal_dir))
    try:
        screen = t.wait_for(lambda s: "tracer" in s and "FOLLOW" in s)
        assert str(tracefs_root) in screen or "events" in screen
        t.send("F10")
        assert wait(t.dead)
    finally:
        t.kill()
    assert no_journal(journal_dir), "nothing was changed, so no journal was needed"


def _ftop_pid(journal_dir: Path) -> Optional[int]:
    """ftop's own pid: its journal is named after it (written before its first change).

    Not pgrep on the command line: where tmux's shell does not exec the command,
    the shell matches too, and the shell is not the process that restores.
    """
    for p in journal_dir.glob("journal-*.json") if journal_dir.exists() else []:
        return int(p.stem.split("-", 1)[1])
    return None


def test_sigterm_restores_before_leaving(
    tmux, tracefs_root: Path, unchanged, journal_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    instance = f"ftop-e2e-term-{os.getpid()}"
    t = tmux("term")
    t.start(
        f"{FTOP} -B {instance} -e sched:sched_switch", 100, 30, env=env_for(tmp_path, journal_dir)
    )
    try:
        t.wait_for(lambda s: "sched_switch:" in s)
        pid = _ftop_pid(journal_dir)
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        assert wait(t.dead, 10), "ftop did not leave after SIGTERM"
    finally:
        t.kill()
        wait(lambda: not (tracefs_root / "instances" / instance).exists())
    assert not (tracefs_root / "instances" / instance).exists()
    assert no_journal(journal_dir)


def test_hangup_of_the_terminal_restores(
    tmux, tracefs_root: Path, unchanged, journal_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Killing the tmux server closes the pty: the kernel sends SIGHUP, ftop restores."""
    instance = f"ftop-e2e-hup-{os.getpid()}"
    t = tmux("hup")
    t.start(
        f"{FTOP} -B {instance} -e sched:sched_switch", 100, 30, env=env_for(tmp_path, journal_dir)
    )
    t.wait_for(lambda s: "sched_switch:" in s)
    pid = _ftop_pid(journal_dir)
    assert pid is not None
    t.kill()
    assert wait(lambda: not os.path.exists(f"/proc/{pid}"), 10), "ftop survived the hangup"
    assert not (tracefs_root / "instances" / instance).exists(), journal_report(journal_dir)
    assert no_journal(journal_dir), journal_report(journal_dir)
