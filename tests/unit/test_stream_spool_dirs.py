"""Where `ftop stream`'s spool goes (ftop.stream_spool): the first folder that takes
one, a bound the filesystem can hold, and the spools of dead streams swept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftop.stream_spool import PREFIX, make_spool, room, spool_bases, sweep_spools


def test_a_base_that_takes_no_folder_is_passed_over(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    ok = tmp_path / "ok"
    ok.mkdir()
    d = make_spool([missing, ok])
    assert d.parent == ok and d.name.startswith(f"{PREFIX}{os.getpid()}-")


def test_no_base_at_all_is_the_last_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        make_spool([tmp_path / "a", tmp_path / "b"])


def test_tmpdir_comes_first_then_disk_then_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/somewhere")
    assert spool_bases() == [Path(p) for p in ("/somewhere", "/var/tmp", "/tmp", "/dev/shm")]
    monkeypatch.delenv("TMPDIR")
    assert spool_bases()[0] == Path("/var/tmp")


def test_the_bound_is_at_most_half_the_free_space(tmp_path: Path) -> None:
    st = os.statvfs(tmp_path)
    free = st.f_bavail * st.f_frsize
    assert room(tmp_path, 1 << 62) == max(1 << 20, free // 2)
    assert room(tmp_path, 1 << 20) == 1 << 20


def test_only_dead_streams_spools_are_swept(tmp_path: Path) -> None:
    dead = tmp_path / f"{PREFIX}999999999-x"
    live = tmp_path / f"{PREFIX}{os.getpid()}-x"
    other = tmp_path / "ftop-spoolish"
    for d in (dead, live, other):
        d.mkdir()
    assert sweep_spools(tmp_path) == [dead.name]
    assert not dead.exists() and live.exists() and other.exists()


def test_a_renderer_is_brought_back_from_idle_priority_niced() -> None:
    """After the stop the renderer prints the rest promptly: SCHED_IDLE off, nice 10
    (what ``SpoolStream.release`` and the renderer's own ``_Priority`` both use)."""
    import os
    import subprocess
    import sys

    from ftop.stream_render import NICE, to_normal

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        os.sched_setscheduler(child.pid, os.SCHED_IDLE, os.sched_param(0))
        assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
        left = to_normal(child.pid)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == NICE
        if os.geteuid() == 0:
            assert left is True
        if left:
            assert os.sched_getscheduler(child.pid) == os.SCHED_OTHER
        else:  # an unprivileged user may not leave SCHED_IDLE (RLIMIT_NICE)
            assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
    finally:
        child.kill()
        child.wait()
    assert to_normal(child.pid) is False  # gone: refused, never raised
