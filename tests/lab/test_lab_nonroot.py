"""Not root, let in by the tracefs mount's group (issue 11, least privilege).

The guest's tracefs is remounted with ``gid=`` of a group and ``mode=0750``, two
files are made group-writable, and ``nobody`` (in that group only) runs
``ftop stream``, ``ftop doctor`` and ``ftop restore``: it streams, enables what
it may, refuses the rest with the file's modes, never asks for root, journals in
a private folder of its own, and a kill -9 is put right by its ``ftop restore``.
The mount options, owners and modes are then put back and checked, as is every
tracing file (the lab's session-wide check, and this test's own).
"""

from __future__ import annotations

import grp
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from conftest import TRACEFS, dump_state

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]

# Made group-writable for the test (what an admin would grant the group).
GRANTED = ["events/sched/sched_switch/enable", "trace_marker"]
# A sample whose owner and modes must be exactly as before at the end.
SAMPLE = [
    "",
    "current_tracer",
    "tracing_on",
    "set_event",
    "trace_pipe",
    "trace_marker",
    "events",
    "events/sched",
    "events/sched/sched_switch",
    "events/sched/sched_switch/enable",
    "events/sched/sched_wakeup/enable",
    "per_cpu/cpu0/trace_pipe_raw",
    "instances",
]
REPO = Path(__file__).resolve().parents[2]


def _mount_line() -> str:
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == str(TRACEFS) and parts[2] == "tracefs":
            return line
    raise AssertionError(f"no tracefs mounted at {TRACEFS}")


def _modes() -> Dict[str, Tuple[int, int, int]]:
    out = {}
    for rel in SAMPLE:
        st = os.stat(TRACEFS / rel)
        out[rel] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    return out


def _group() -> int:
    """A group nobody is not in by default (adm), so only gid= can let it in."""
    try:
        return grp.getgrnam("adm").gr_gid
    except KeyError:
        return 4


@pytest.fixture()
def granted() -> Iterator[int]:
    """tracefs remounted gid=G,mode=0750, GRANTED made g+w; all put back after."""
    gid = _group()
    line, modes, state = _mount_line(), _modes(), dump_state()
    root_mode = modes[""][2]
    old = {rel: stat.S_IMODE(os.stat(TRACEFS / rel).st_mode) for rel in GRANTED}
    subprocess.run(
        ["mount", "-o", f"remount,gid={gid},mode=0750", str(TRACEFS)], check=True, timeout=60
    )
    try:
        for rel, mode in old.items():
            os.chmod(TRACEFS / rel, mode | stat.S_IWGRP)
        assert os.stat(TRACEFS / "current_tracer").st_gid == gid  # gid= reaches every file
        yield gid
    finally:
        for rel, mode in old.items():
            os.chmod(TRACEFS / rel, mode)
        subprocess.run(
            ["mount", "-o", f"remount,gid=0,mode={root_mode:04o}", str(TRACEFS)],
            check=True,
            timeout=60,
        )
    assert _mount_line() == line
    assert _modes() == modes
    assert dump_state() == state


@pytest.fixture()
def home() -> Iterator[Path]:
    """nobody's private runtime folder (XDG_RUNTIME_DIR): 0700, theirs."""
    d = Path(tempfile.mkdtemp(prefix="ftop-nobody-"))
    os.chown(d, 65534, -1)
    os.chmod(d, 0o700)
    yield d
    subprocess.run(["rm", "-rf", str(d)], check=False)


@pytest.fixture(scope="module")
def python() -> Iterator[Path]:
    """The project's venv as nobody can run it. Its interpreter lives under /root
    (0700), so the install is bind-mounted elsewhere and a venv made around it
    that shares the project's site-packages (ftop installed editable)."""
    d = Path(tempfile.mkdtemp(prefix="ftop-nobody-py-"))
    os.chmod(d, 0o755)
    base = d / "base"
    base.mkdir()
    subprocess.run(["mount", "--bind", sys.base_prefix, str(base)], check=True, timeout=60)
    try:
        venv = d / "venv"
        (venv / "bin").mkdir(parents=True)
        ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        (venv / "bin" / "python").symlink_to(base / "bin" / ver)
        (venv / "pyvenv.cfg").write_text(
            f"home = {base / 'bin'}\ninclude-system-site-packages = false\n"
        )
        (venv / "lib" / ver).mkdir(parents=True, exist_ok=True)
        (venv / "lib" / ver / "site-packages").symlink_to(
            Path(sys.prefix) / "lib" / ver / "site-packages"
        )
        for p in (venv, venv / "bin", venv / "lib", venv / "lib" / ver):
            os.chmod(p, 0o755)
        yield venv / "bin" / "python"
    finally:
        subprocess.run(["umount", str(base)], check=False, timeout=60)


def _as_nobody(python: Path, gid: int, home: Path, args: List[str]) -> List[str]:
    return [
        "setpriv",
        "--reuid=nobody",
        f"--regid={gid}",
        "--clear-groups",
        "env",
        "-i",
        f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}",
        f"XDG_RUNTIME_DIR={home}",
        "HOME=/nonexistent",
        "PYTHONDONTWRITEBYTECODE=1",
        str(python),
        "-m",
        "ftop",
        *args,
    ]


def _run(
    python: Path, gid: int, home: Path, args: List[str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_nobody(python, gid, home, args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
    )


def _enable(rel: str) -> str:
    return (TRACEFS / rel).read_text().strip()


def test_nobody_in_the_mount_group_traces_as_far_as_the_modes_go(
    granted: int, home: Path, python: Path
) -> None:
    gid = granted
    said: List[str] = []

    # doctor: the user's access, no call for root.
    doc = _run(python, gid, home, ["doctor"])
    said.append(doc.stdout + doc.stderr)
    assert doc.returncode == 0, doc.stdout + doc.stderr
    assert "not root" in doc.stdout and "NONE" not in doc.stdout, doc.stdout
    assert "not writable for nobody: current_tracer" in doc.stdout, doc.stdout
    assert f"gid={gid}" in doc.stdout, doc.stdout

    # A stream of the one event the group may enable: it streams, then restores.
    ok = _run(python, gid, home, ["stream", "-e", "sched:sched_switch", "--duration", "4"])
    said.append(ok.stderr)
    assert ok.returncode == 0, ok.stderr
    assert "sched_switch:" in ok.stdout, (ok.stdout[-2000:], ok.stderr)
    assert "not writable for nobody: current_tracer" in ok.stderr, ok.stderr
    assert _enable("events/sched/sched_switch/enable") == "0"
    assert not list((home / "ftop").glob("journal-*.json"))  # its journal, dropped

    # What the group may not write: refused before any write, with the modes.
    for args, rel in (
        (["-e", "sched:sched_wakeup"], "events/sched/sched_wakeup/enable"),
        (["-p", "function"], "current_tracer"),
    ):
        bad = _run(python, gid, home, ["stream", *args, "--duration", "2"])
        said.append(bad.stderr)
        assert bad.returncode != 0, bad.stderr
        assert f"{rel} is not writable for nobody" in bad.stderr, bad.stderr
        assert "nothing was changed" in bad.stderr, bad.stderr
    assert _enable("events/sched/sched_wakeup/enable") == "0"
    assert (TRACEFS / "current_tracer").read_text().strip() == "nop"

    # kill -9 mid-stream: nobody's own journal lets `ftop restore` put it back.
    proc = subprocess.Popen(
        _as_nobody(python, gid, home, ["stream", "-e", "sched:sched_switch", "--duration", "120"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
    )
    try:
        deadline = time.monotonic() + 120
        while _enable("events/sched/sched_switch/enable") != "1":
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the stream never enabled sched_switch"
            time.sleep(0.2)
        journals = list((home / "ftop").glob("journal-*.json"))
        assert len(journals) == 1
        st = os.stat(journals[0])
        assert st.st_uid == 65534 and stat.S_IMODE(st.st_mode) == 0o600
        assert stat.S_IMODE(os.stat(home / "ftop").st_mode) == 0o700
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert _enable("events/sched/sched_switch/enable") == "1"
    rest = _run(python, gid, home, ["restore"])
    said.append(rest.stdout + rest.stderr)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "restored the state saved by ftop pid" in rest.stdout, rest.stdout
    assert _enable("events/sched/sched_switch/enable") == "0"
    assert not list((home / "ftop").glob("journal-*.json"))

    # Never "run it with sudo" (the box may have none), never "needs root".
    for text in said:
        assert "sudo" not in text and "needs root" not in text, text


def test_nobody_without_the_group_is_told_whose_tracefs_it_is(home: Path, python: Path) -> None:
    """The guest's default mount (root's, 0700): one line naming the mount, its
    owner, group and mode, and what would let a user in."""
    line = _mount_line()
    res = _run(python, 65534, home, ["stream", "--duration", "1"])
    assert res.returncode != 0
    assert f"cannot read tracefs at {TRACEFS}" in res.stderr, res.stderr
    assert "gid=" in res.stderr and "mode 0700" in res.stderr, res.stderr
    assert "sudo" not in res.stderr
    assert _mount_line() == line
