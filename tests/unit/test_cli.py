"""The headless command line on real captures (no root): `ftop stream --input`, argument errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "host-6.18"


def ftop(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ftop", *args], input=stdin, capture_output=True, timeout=60
    )


def test_stream_input_reproduces_the_kernel_text_and_counts_unparsed() -> None:
    src = FIX / "sched.trace_pipe.txt"
    out = ftop("stream", "--input", str(src))
    assert out.returncode == 0
    assert out.stdout.decode().splitlines() == src.read_text().splitlines()
    n = len(src.read_text().splitlines())
    assert f"ftop: {n} lines, 0 not parsed" in out.stderr.decode()


def test_stream_input_json_from_stdin_matches_file_input() -> None:
    src = FIX / "sched.trace.txt"
    a = ftop("stream", "--json", "--input", str(src))
    b = ftop("stream", "--json", "--input", "-", stdin=src.read_bytes())
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    recs = [json.loads(ln) for ln in a.stdout.decode().splitlines()]
    # Header lines of `cat trace` are not records.
    assert not any(r["raw"].startswith("#") for r in recs)
    body = [ln for ln in src.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(recs) == len(body)
    first = recs[0]
    assert first["raw"] == body[0]
    assert first["kind"] == "event" and first["name"].startswith("sched_")
    assert isinstance(first["ts"], float) and isinstance(first["cpu"], int)


def test_stream_input_keeps_unparseable_lines_and_counts_them(tmp_path: Path) -> None:
    f = tmp_path / "mixed.txt"
    good = (FIX / "sched.trace_pipe.txt").read_text().splitlines()[:3]
    f.write_text(
        "\n".join([good[0], "this is not ftrace output", good[1], "\x00\x01garbage", good[2]])
        + "\n"
    )
    out = ftop("stream", "--input", str(f))
    assert out.returncode == 0
    assert "this is not ftrace output" in out.stdout.decode()
    assert "5 lines, 2 not parsed (kept raw)" in out.stderr.decode()


def test_missing_input_file_is_one_clear_line(tmp_path: Path) -> None:
    out = ftop("stream", "--input", str(tmp_path / "nope.txt"))
    assert out.returncode != 0
    err = out.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "cannot read" in err[0] and "No such file" in err[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["stream", "-f", "prev_pid == 0"], "-f must follow the -e"),
        (["stream", "-P", "abc"], "-P abc: not a process id"),
        (["stream", "-b", "lots"], "-b lots: the buffer size is a number"),
        (["stream", "-B", "../etc"], "instance names are"),
    ],
)
def test_bad_flags_are_refused_in_one_line(args: list[str], words: str) -> None:
    out = ftop(*args)
    assert out.returncode != 0
    assert words in out.stderr.decode()


def test_reset_without_a_terminal_asks_for_yes(tmp_path: Path) -> None:
    out = ftop("reset", "--tracefs", str(tmp_path), stdin=b"")
    assert out.returncode != 0
