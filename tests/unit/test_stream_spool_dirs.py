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
