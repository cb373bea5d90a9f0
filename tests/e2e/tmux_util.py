"""Driving a real terminal for the end-to-end tests: tmux on a private socket.

Keys go in with ``send-keys``, the screen comes back with ``capture-pane``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict

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
        # COLUMNS/LINES left in this process by the Pilot tests would override the
        # pane's real size (shutil.get_terminal_size reads them first).
        self.tmux(
            "new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
            f"env -u COLUMNS -u LINES {env_prefix} {command}",
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
    out = []
    for p in sorted(journal_dir.glob("*.json")) if journal_dir.exists() else []:
        data = json.loads(p.read_text())
        out.append(f"{p.name}: restore errors {data.get('restore_errors')}")
    return "; ".join(out) or "no journal left (the restore never ran to its end)"
