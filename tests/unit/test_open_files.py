"""The one /proc walk behind ``holders`` (who keeps tracefs busy) and ``other_readers``
(who shares a buffer's trace_pipe), on a fake /proc tree: processes and fds that vanish
mid-walk and fd folders that are refused are passed over, never an error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from ftop.engine.control import tracefs as tracefs_mod
from ftop.engine.control.tracefs import OpenFile, open_files


def proc_entry(
    proc: Path, pid: int, comm: Optional[bytes], fds: Dict[str, str], with_fd_dir: bool = True
) -> Path:
    """``proc/PID`` with ``comm`` (None: gone) and ``fd/N`` links to ``fds``' targets."""
    base = proc / str(pid)
    base.mkdir(parents=True)
    if comm is not None:
        (base / "comm").write_bytes(comm + b"\n")
    if with_fd_dir:
        (base / "fd").mkdir()
        for fd, target in fds.items():
            (base / "fd" / fd).symlink_to(target)
    return base


@pytest.fixture()
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    root.mkdir()
    (root / "self").mkdir()  # not a pid: passed over
    (root / "meminfo").write_text("MemTotal: 1 kB\n")
    return root


def test_the_first_matching_fd_of_each_process_with_its_comm(proc: Path) -> None:
    proc_entry(proc, 10, b"cat", {"0": "/dev/null", "3": "/sys/kernel/tracing/trace_pipe"})
    proc_entry(
        proc,
        11,
        b"trace-cmd",
        {
            "4": "/sys/kernel/tracing/per_cpu/cpu0/trace_pipe_raw",
            "5": "/sys/kernel/tracing/per_cpu/cpu1/trace_pipe_raw",
        },
    )
    proc_entry(proc, 12, b"bash", {"0": "/dev/pts/0"})
    got = sorted(open_files(lambda t: t.startswith("/sys/kernel/tracing"), str(proc)))
    assert [(o.pid, o.comm) for o in got] == [(10, "cat"), (11, "trace-cmd")]
    assert got[0].target == "/sys/kernel/tracing/trace_pipe"
    # One entry a process, however many of its fds match.
    assert got[1].target.endswith("trace_pipe_raw")


def test_ftop_itself_is_left_out(proc: Path) -> None:
    proc_entry(proc, os.getpid(), b"ftop", {"3": "/sys/kernel/tracing/trace_pipe"})
    assert open_files(lambda t: True, str(proc)) == []


def test_a_process_that_vanished_mid_walk_is_passed_over(proc: Path) -> None:
    # Listed in /proc, gone by the time its fds are read (no fd folder), or gone
    # between its fd and its comm (no comm).
    proc_entry(proc, 20, b"gone", {}, with_fd_dir=False)
    proc_entry(proc, 21, None, {"3": "/sys/kernel/tracing/trace_pipe"})
    proc_entry(proc, 22, b"cat", {"3": "/sys/kernel/tracing/trace_pipe"})
    got = open_files(lambda t: "tracing" in t, str(proc))
    assert got == [OpenFile(22, "cat", "/sys/kernel/tracing/trace_pipe")]


def test_an_fd_closed_mid_walk_is_passed_over(proc: Path) -> None:
    base = proc_entry(proc, 30, b"cat", {"5": "/sys/kernel/tracing/trace"})
    # Listed, but no longer a link when read (readlink fails: EINVAL here, ENOENT live).
    (base / "fd" / "4").write_text("")
    assert open_files(lambda t: "tracing" in t, str(proc)) == [
        OpenFile(30, "cat", "/sys/kernel/tracing/trace")
    ]


def test_an_unreadable_fd_folder_is_passed_over(
    proc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc_entry(proc, 40, b"sshd", {"3": "/sys/kernel/tracing/trace_pipe"})
    proc_entry(proc, 41, b"cat", {"3": "/sys/kernel/tracing/trace_pipe"})
    refused = str(proc / "40" / "fd")
    real = os.scandir

    # chmod cannot refuse root (who runs ftop): EACCES as a non-root walk meets it.
    def scandir(path: Any = ".") -> Any:
        if str(path) == refused:
            raise PermissionError(13, "Permission denied", refused)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert [o.pid for o in open_files(lambda t: True, str(proc))] == [41]


def test_no_proc_at_all_finds_nobody(tmp_path: Path) -> None:
    assert open_files(lambda t: True, str(tmp_path / "no-proc")) == []


def test_a_comm_that_is_not_utf8_is_kept_not_raised(proc: Path) -> None:
    """A task may name itself any bytes (prctl PR_SET_NAME): the walk must not raise
    UnicodeDecodeError; the bytes come back as surrogates for the UI to escape."""
    proc_entry(proc, 50, b"evil\xff\x1b[2J", {"3": "/sys/kernel/tracing/trace_pipe"})
    (got,) = open_files(lambda t: True, str(proc))
    assert got.comm.encode("utf-8", "surrogateescape") == b"evil\xff\x1b[2J"


def test_holders_and_other_readers_say_who_from_the_same_walk(
    proc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc_entry(proc, 60, b"cat", {"3": "/sys/kernel/tracing/instances/a/trace_pipe"})
    proc_entry(proc, 61, b"perf", {"7": "/sys/kernel/debug/tracing/per_cpu/cpu2/trace_pipe_raw"})
    real = tracefs_mod.open_files
    monkeypatch.setattr(
        tracefs_mod, "open_files", lambda match, proc_=str(proc): real(match, proc_)
    )
    assert tracefs_mod.holders("/sys/kernel/tracing") == [
        "cat (pid 60) has /sys/kernel/tracing/instances/a/trace_pipe open"
    ]
    top = Path("/sys/kernel/tracing")
    mounts = proc.parent / "mounts"
    mounts.write_text(
        "tracefs /sys/kernel/tracing tracefs rw,nosuid,nodev,noexec,relatime 0 0\n"
        "debugfs /sys/kernel/debug debugfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    )
    m = str(mounts)
    # The top level's readers, through either mount; an instance's, by its tail.
    assert tracefs_mod.other_readers(top, m) == ["perf (pid 61)"]
    assert tracefs_mod.other_readers(top / "instances" / "a", m) == ["cat (pid 60)"]
    assert tracefs_mod.other_readers(top / "instances" / "b", m) == []
    # A folder that is no tracefs (the demo's tree) is nobody's buffer but its own:
    # the machine's readers are not its readers.
    fake = proc.parent / "demo-tracefs"
    assert tracefs_mod.other_readers(fake, m) == []
    assert tracefs_mod.other_readers(fake / "instances" / "a", m) == []
    proc_entry(proc, 62, b"tail", {"4": f"{fake}/trace_pipe"})
    assert tracefs_mod.other_readers(fake, m) == ["tail (pid 62)"]
