"""``ftop record`` end to end, judged by trace-cmd: the installed command records a
private instance while a command runs; ``trace-cmd report`` reads the file and
lists the same events, in the same order, as ``ftop stream --input FILE.dat``;
the machine is left as found. ``ftop stream`` reads raw by default and says so
in ``ftop doctor``; ``--text`` forces trace_pipe.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import List, Tuple

import pytest

FTOP = [sys.executable, "-m", "ftop"]
# trace-cmd report -t: "  comm-pid  [cpu] secs.nsecs: name: ..." (an instance prefix first)
_REPORT = re.compile(r"^(?:\S+: )?\s*.*?-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d+):\s")
# ftop's (the kernel's) text: "  comm-pid  [cpu] flags secs.usecs: ..."
_OURS = re.compile(r"^\s*.*?-(\d+)\s+\[(\d+)\] \S+ +(\d+)\.(\d{6}): ")


def _ftop(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FTOP, *args], capture_output=True, text=True, timeout=timeout, errors="replace"
    )


@pytest.fixture()
def trace_cmd() -> str:
    exe = shutil.which("trace-cmd")
    # Not a skip: scripts/test installs trace-cmd, the judge here.
    assert exe is not None, "trace-cmd is not installed (scripts/test installs it)"
    return exe


def _report_rows(text: str) -> List[Tuple[int, int, int]]:
    rows = []
    for line in text.splitlines():
        m = _REPORT.match(line)
        if m:
            pid, cpu, sec, ns = m.groups()
            usecs = (int(sec) * 1_000_000_000 + int(ns.ljust(9, "0")) + 500) // 1000
            rows.append((int(pid), int(cpu), usecs))
    return rows


def _our_rows(text: str) -> List[Tuple[int, int, int]]:
    rows = []
    for line in text.splitlines():
        m = _OURS.match(line)
        if m:
            pid, cpu, sec, usec = m.groups()
            rows.append((int(pid), int(cpu), int(sec) * 1_000_000 + int(usec)))
    return rows


def test_record_writes_what_trace_cmd_reports_and_ftop_reads_back(
    tracefs_root: Path, unchanged: object, journal_dir: Path, tmp_path: Path, trace_cmd: str
) -> None:
    out = tmp_path / "ftop.dat"
    inst = f"ftop_rec_{uuid.uuid4().hex[:6]}"
    r = _ftop(
        "record",
        "-o",
        str(out),
        "-B",
        inst,
        "-e",
        "sched:sched_switch",
        "-e",
        "sched:sched_wakeup",
        "-e",
        "syscalls:sys_enter_openat",
        "--",
        "sh",
        "-c",
        "for i in 1 2 3; do cat /proc/version >/dev/null; sleep 0.05; done",
    )
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "lost while recording" in r.stderr, r.stderr
    assert not (tracefs_root / "instances" / inst).exists(), "the instance was left behind"
    report = subprocess.run(
        [trace_cmd, "report", "-t", str(out)], capture_output=True, text=True, errors="replace"
    )
    assert report.returncode == 0, report.stderr
    theirs = _report_rows(report.stdout)
    ours_text = _ftop("stream", "--input", str(out))
    assert ours_text.returncode == 0, ours_text.stderr
    ours = _our_rows(ours_text.stdout)
    assert len(theirs) > 10, report.stdout[:2000]
    assert ours == theirs
    # The recorded command's opens are in it (the file is a recording of this run).
    assert "sys_openat(" in ours_text.stdout


def test_stream_reads_raw_by_default_and_text_on_request(
    tracefs_root: Path, unchanged: object, journal_dir: Path
) -> None:
    doctor = _ftop("doctor")
    assert re.search(r"^stream\s+raw ", doctor.stdout, re.M), doctor.stdout
    inst = f"ftop_str_{uuid.uuid4().hex[:6]}"
    for extra in ([], ["--text"]):
        r = _ftop("stream", "-B", inst, "-e", "sched:sched_switch", "--duration", "1.5", *extra)
        assert r.returncode == 0, r.stderr
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        assert lines and all("sched_switch: prev_comm=" in ln for ln in lines), lines[:5]
    assert not (tracefs_root / "instances" / inst).exists()


def _flood(root: Path, *args: str) -> Tuple[subprocess.CompletedProcess[str], int]:
    """``ftop stream`` on a private instance while dd writes one byte at a time
    (millions of syscalls a second, far more than Python renders): the result with
    stdout's last 200 lines, and dd's pid."""
    dd = subprocess.Popen(
        ["taskset", "-c", "0", "dd", "if=/dev/zero", "of=/dev/null", "bs=1"],
        stderr=subprocess.DEVNULL,
    )
    try:
        inst = f"ftop_flood_{uuid.uuid4().hex[:6]}"
        proc = subprocess.Popen(
            [*FTOP, "stream", "-B", inst, "-e", "syscalls:sys_enter_write", "-P", str(dd.pid),
             *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        # Read as it comes (hundreds of MB), keeping only the count and the tail.
        count, tail = 0, []
        for raw in proc.stdout:
            count += 1
            tail.append(raw)
            if len(tail) > 400:
                del tail[:200]
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait(timeout=300)
    finally:
        dd.kill()
        dd.wait()
    out = f"{count}\n" + b"".join(tail[-200:]).decode(errors="replace")
    assert not (root / "instances" / inst).exists()
    return subprocess.CompletedProcess(proc.args, rc, out, err), dd.pid


def test_stream_under_a_flood_prints_every_event_it_took(
    tracefs_root: Path, unchanged: object
) -> None:
    """The reader only copies pages into the spool; the renderer prints them behind
    it, all of them (the count it says is the count that came out), in the kernel's
    format, and the kernel lost few: the reader kept up.

    Half a second: the renderer prints about 13 k lines/s here, and the reader takes
    about 750 k events/s of the flood, so 2 s of it took 110 to 120 s to print (the
    test's timeout is 120 s; CI timed out on it)."""
    r, dd_pid = _flood(tracefs_root, "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    count = int(r.stdout.split("\n", 1)[0])
    said = re.findall(r"ftop: (\d+) lines printed", r.stderr)
    assert said and int(said[-1]) == count, r.stderr
    lines = r.stdout.split("\n")[1:]
    dd_lines = [ln for ln in lines if "sys_write(" in ln]
    assert dd_lines and all(f"dd-{dd_pid}" in ln for ln in dd_lines), lines[:3]
    lost = sum(int(n) for n in re.findall(r"\[LOST (\d+) EVENTS\]", "\n".join(lines)))
    assert count > 100_000, f"only {count} lines in 0.5 s of a flood"
    assert "fell behind" not in r.stderr, r.stderr
    assert lost < count, (lost, count)


def test_stream_without_a_spool_goes_over_to_text_when_the_decoder_falls_behind(
    tracefs_root: Path, unchanged: object
) -> None:
    """--spool-size 0 renders on the reader's thread: in a flood the kernel overwrites
    pages it had not taken; in auto mode ftop says so and reads trace_pipe's text,
    and the lines keep coming in the kernel's format."""
    r, dd_pid = _flood(tracefs_root, "--duration", "4", "--spool-size", "0")
    assert r.returncode == 0, r.stderr
    assert "the raw decoder fell behind" in r.stderr, r.stderr
    tail = [ln for ln in r.stdout.splitlines()[-50:] if "sys_write(" in ln]
    assert tail and all(f"dd-{dd_pid}" in ln for ln in tail), tail[:3]
