"""End to end: the installed ``ftop`` command in a real terminal (tmux), on the real tracefs.

Keys go in with ``send-keys``, the screen comes back with ``capture-pane``.
Streaming runs in a private instance (``-B``) so concurrent tests on this host
keep their trace_pipe lines; one test drives the top level with an event
nobody else uses. Each test checks that tracefs is exactly as before.
Needs: tmux (Debian package ``tmux``), root, tracefs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.live, pytest.mark.timeout(180)]

FTOP = Path(sys.executable).with_name("ftop")


class Tmux:
    """One tmux server on a private socket, one window running a command."""

    def __init__(self, name: str) -> None:
        self.socket = f"ftop-e2e-{name}-{os.getpid()}"
        self.target = "t"

    def tmux(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def start(self, command: str, width: int, height: int, env: Dict[str, str]) -> None:
        # remain-on-exit keeps the pane (and its exit status) after ftop quits.
        env_prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self.tmux(
            "new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
            f"env {env_prefix} {command}",
        )  # fmt: skip
        self.tmux("set-option", "-w", "-t", self.target, "remain-on-exit", "on", check=False)

    def send(self, *keys: str) -> None:
        for k in keys:
            self.tmux("send-keys", "-t", self.target, k)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.target, "-l", text)
        time.sleep(0.2)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-t", self.target, "-p")

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-t", self.target, "-p", "#{pane_pid}").strip())

    def dead(self) -> bool:
        """The command has exited (its pane is dead, or the server went away with it)."""
        out = subprocess.run(
            ["tmux", "-L", self.socket, "display-message", "-t", self.target, "-p", "#{pane_dead}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.returncode != 0 or out.stdout.strip() == "1"

    def wait_for(self, pred: Callable[[str], bool], timeout: float = 15.0) -> str:
        end = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < end:
            screen = self.capture()
            if pred(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"screen never matched; last screen:\n{screen}")

    def kill(self) -> None:
        self.tmux("kill-server", check=False)


def wait(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


@pytest.fixture()
def tmux():  # type: ignore[no-untyped-def]
    if shutil.which("tmux") is None:
        print("\nSKIP e2e: tmux is not installed (Debian package tmux)", file=sys.stderr)
        pytest.skip("tmux is not installed (Debian package tmux)")
    if not FTOP.exists():
        pytest.skip(f"{FTOP} is not installed (pip install -e .)")
    sessions: List[Tmux] = []

    def make(name: str) -> Tmux:
        t = Tmux(name)
        sessions.append(t)
        return t

    yield make
    for t in sessions:
        t.kill()


def env_for(tmp_path: Path, journal_dir: Path, term: str = "xterm-256color") -> Dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "TERM": term,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "FTOP_JOURNAL_DIR": str(journal_dir),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
    }


def no_journal(journal_dir: Path) -> bool:
    return not list(journal_dir.glob("*.json")) if journal_dir.exists() else True


def journal_report(journal_dir: Path) -> str:
    """What a journal left behind says the restore could not do (for a failure message)."""
    import json

    out = []
    for p in sorted(journal_dir.glob("*.json")) if journal_dir.exists() else []:
        data = json.loads(p.read_text())
        out.append(f"{p.name}: restore errors {data.get('restore_errors')}")
    return "; ".join(out) or "no journal left (the restore never ran to its end)"


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
        assert "● on" in screen and "1 events" in screen
        assert (tracefs_root / "instances" / instance).is_dir()
        # Filter bar: narrows the view to CPU 0.
        t.send("f")
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
    from ftop.engine.event_catalog import enabled_events

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
