"""`ftop stream`'s spool on the real tracefs: its renderer process and its folder never
outlive what they are for (ftop.stream_spool, ftop.engine.raw.spool)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

import pytest

pytestmark = pytest.mark.live

FTOP = [sys.executable, "-m", "ftop"]


def _renderers(spool_base: Path) -> List[int]:
    """Pids of the renderer processes whose spool is under ``spool_base``."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() != "ftop-render":
                continue
            if str(spool_base) in (d / "cmdline").read_bytes().decode(errors="replace"):
                out.append(int(d.name))
        except OSError:
            continue
    return out


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie (its parent was killed; init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _until(pred, timeout: float, what: str, proc=None) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise AssertionError(f"ftop stream exited ({proc.returncode}) before {what}: {err}")
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout:g} s")


def test_a_hard_kill_of_the_reader_leaves_no_renderer_and_no_spool(
    tfs: object, unchanged: object, journal_dir: Path, tmp_path: Path
) -> None:
    """kill -9 of `ftop stream`: its renderer sees the pipe close, prints what was
    spooled and removes the spool; `ftop restore` then puts tracefs back (the
    ``unchanged`` fixture checks)."""
    tmp_path = tmp_path / "spool"  # beside the journals
    tmp_path.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp_path), FTOP_JOURNAL_DIR=str(journal_dir))
    proc = subprocess.Popen(
        [*FTOP, "stream", "-e", "sched:sched_switch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        _until(lambda: bool(_renderers(tmp_path)), 15, "a renderer runs", proc)
        _until(lambda: any(tmp_path.glob("ftop-spool-*/cpu*")), 15, "the spool gets pages")
        renderers = _renderers(tmp_path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert renderers
        # Wait on the pids themselves: an exiting process's cmdline reads empty
        # (its memory is gone) a moment before its state turns Z, so matching on
        # cmdline would call it gone too early (a CI run caught it there).
        _until(lambda: all(_gone(p) for p in renderers), 20, "the renderer exits")
        assert not list(tmp_path.glob("ftop-spool-*")), list(tmp_path.iterdir())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _renderers(tmp_path):
            os.kill(pid, signal.SIGKILL)
        out = subprocess.run(
            [*FTOP, "restore"], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr


def test_the_next_stream_sweeps_a_dead_streams_spool(
    unchanged: object, journal_dir: Path, tmp_path: Path
) -> None:
    """A spool whose ftop is gone (both processes killed) is removed by the next
    `ftop stream`; a live one's is left alone."""
    tmp_path = tmp_path / "spool"  # beside the journals
    tmp_path.mkdir()
    dead = tmp_path / "ftop-spool-999999999-abc"  # no such pid
    dead.mkdir()
    (dead / "cpu0.000000").write_bytes(b"\0" * 4096)
    mine = tmp_path / f"ftop-spool-{os.getpid()}-abc"  # this test's pid: alive
    mine.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp_path), FTOP_JOURNAL_DIR=str(journal_dir))
    r = subprocess.run(
        [*FTOP, "stream", "--duration", "0.3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert not dead.exists()
    assert mine.exists()
    # Its own spool is gone too once it ends.
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]


def _stop_a_stream_with_a_marker(
    tfs: object, journal_dir: Path, tmp_path: Path, inst: str, marker_text: str, to_group: bool
) -> Tuple[subprocess.Popen[bytes], bytes, bytes, Path, Path]:
    """`ftop stream -B inst` (markers are recorded with no event on), a marker written,
    then SIGINT: to ftop alone, or to its whole process group as a terminal sends it.
    Returns the process, its stdout and stderr, the tracefs root and the spool base."""
    tmp_path = tmp_path / "spool"  # beside the journals
    tmp_path.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp_path), FTOP_JOURNAL_DIR=str(journal_dir))
    proc = subprocess.Popen(
        [*FTOP, "stream", "-B", inst],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=to_group,  # its own group, as a shell's foreground job is
    )
    root = Path(str(tfs.path))  # type: ignore[attr-defined]
    try:
        _until(lambda: bool(_renderers(tmp_path)), 15, "a renderer runs", proc)
        if to_group:
            (renderer,) = _renderers(tmp_path)
            assert os.getsid(renderer) == os.getsid(proc.pid)
            assert os.getpgid(renderer) == os.getpgid(proc.pid)
        marker = root / "instances" / inst / "trace_marker"
        _until(marker.exists, 15, "the instance is made")
        time.sleep(0.3)
        marker.write_text(marker_text + "\n")
        time.sleep(0.5)
        if to_group:
            os.killpg(os.getpgid(proc.pid), signal.SIGINT)  # what the terminal's Ctrl-C does
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc, out, err, root, tmp_path


def test_a_stopped_stream_prints_what_it_read_then_exits(
    tfs: object, unchanged: object, journal_dir: Path, tmp_path: Path
) -> None:
    """Ctrl-C stops the reading at once; the marker written before it is printed."""
    inst = f"ftop_spool_{os.getpid()}"
    proc, out, err, root, spool = _stop_a_stream_with_a_marker(
        tfs, journal_dir, tmp_path, inst, "ftop-spool-marker", to_group=False
    )
    assert proc.returncode == 0, err
    assert b"ftop-spool-marker" in out, (out[-500:], err)
    assert not (root / "instances" / inst).exists()
    assert not list(spool.glob("ftop-spool-*"))


def test_the_terminals_ctrl_c_reaches_the_renderer_too_and_it_prints_the_rest(
    tfs: object, unchanged: object, journal_dir: Path, tmp_path: Path
) -> None:
    """The renderer shares the reader's session and process group: in a session of its
    own it was a scheduling group of its own where the kernel has autogroups (as
    here, with no cpu cgroup), as heavy as the reader whatever its idle priority, and
    the reader lost 10 to 20 % of a flood (bench/ingest.py). So a terminal's Ctrl-C,
    sent to the whole foreground group, reaches the renderer too: it must go on and
    print what was read."""
    inst = f"ftop_spool_pg_{os.getpid()}"
    proc, out, err, root, spool = _stop_a_stream_with_a_marker(
        tfs, journal_dir, tmp_path, inst, "ftop-spool-group-marker", to_group=True
    )
    assert proc.returncode == 0, err
    assert b"ftop-spool-group-marker" in out, (out[-500:], err)
    assert b"lines printed" in err, err  # the renderer ran to its end
    assert not (root / "instances" / inst).exists()
    assert not list(spool.glob("ftop-spool-*"))


def test_latency_format_set_by_the_flags_reads_the_kernels_text(
    unchanged: object, journal_dir: Path, tmp_path: Path
) -> None:
    """-O latency-format: its columns need the kernel's text, so no spool and no raw
    pages; ftop says why."""
    env = dict(os.environ, TMPDIR=str(tmp_path), FTOP_JOURNAL_DIR=str(journal_dir))
    inst = f"ftop_latfmt_{os.getpid()}"
    r = subprocess.run(
        [*FTOP, "stream", "-B", inst, "-O", "latency-format", "--duration", "0.5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "latency-format" in r.stderr and "trace_pipe (text)" in r.stderr, r.stderr
    assert not list(tmp_path.glob("ftop-spool-*"))
