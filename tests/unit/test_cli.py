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
    # (A NUL byte made this "garbage" line before files were sniffed; a file with NULs
    # is binary now and refused: test_binary_and_foreign_files_are_refused_unseen.)
    f = tmp_path / "mixed.txt"
    good = (FIX / "sched.trace_pipe.txt").read_text().splitlines()[:3]
    f.write_text(
        "\n".join([good[0], "this is not ftrace output", good[1], "\x01\x02garbage", good[2]])
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


# -- terminal safety: the traced system's text never acts on the terminal -------------

HOSTILE = (
    "  \x1b]2;PWNED\x07-4242  [001] d..2. 12345.678901: sched_process_exec: "
    "filename=/tmp/x\x1b]52;c;UFdO\x07\x1b[?1049l\x1b[2J\x9b6n\u202e pid=4242 "
    "old_pid=4242\n"
).encode("utf-8", "surrogateescape")


def _hostile_file(tmp_path: Path) -> Path:
    good = (FIX / "sched.trace_pipe.txt").read_bytes().splitlines(keepends=True)[:5]
    f = tmp_path / "hostile.txt"
    # A byte that is not UTF-8 at all (\xff) in a task name, too.
    f.write_bytes(b"".join(good[:2]) + HOSTILE + b"   bad\xffname-7  " + good[2][16:] + good[3])
    return f


def test_stream_to_a_pipe_passes_the_bytes_unchanged(tmp_path: Path) -> None:
    """Like `cat`: a pipe or a file gets the kernel's (the file's) bytes, escapes and all."""
    f = _hostile_file(tmp_path)
    out = ftop("stream", "--input", str(f))
    assert out.returncode == 0
    assert out.stdout == f.read_bytes()


def _run_on_a_pty(*args: str) -> bytes:
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: ftop with the pty as its terminal
        os.execv(sys.executable, [sys.executable, "-m", "ftop", *args])
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    os.close(fd)
    return b"".join(chunks)


def test_stream_to_a_terminal_shows_control_characters_escaped(tmp_path: Path) -> None:
    f = _hostile_file(tmp_path)
    out = _run_on_a_pty("stream", "--input", str(f))
    # ftop itself writes no escape sequence here: any ESC, BEL or C1 byte would be the file's.
    for bad in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xe2\x80\xae", b"\xff"):
        assert bad not in out, bad
    text = out.decode("utf-8")
    assert "\\x1b]2;PWNED\\x07" in text and "\\x1b]52;c;" in text
    assert "\\x9b6n" in text and "\\u202e" in text and "bad\\xffname" in text
    assert "sched_process_exec" in text


def test_json_stream_escapes_control_characters() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = _hostile_file(Path(d))
        out = ftop("stream", "--json", "--input", str(f))
    assert out.returncode == 0
    assert b"\x1b" not in out.stdout and b"\xc2\x9b" not in out.stdout
    recs = [json.loads(ln) for ln in out.stdout.decode().splitlines()]
    assert any("\x1b]2;PWNED" in r["raw"] for r in recs)  # the data itself is kept


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary data"),
        ("# tracer: nop\n  bash-1 [000] 1.0: x\n".encode("utf-16"), "binary data"),
        (b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n", "not ftrace"),
        (bytes(range(128, 256)) * 40, "another encoding"),
    ],
    ids=["elf", "utf-16", "passwd", "latin-noise"],
)
def test_binary_and_foreign_files_are_refused_unseen(
    tmp_path: Path, content: bytes, words: str
) -> None:
    """`ftop FILE` and `ftop stream --input FILE`: one line, nothing of the file printed."""
    f = tmp_path / "not-a-trace"
    f.write_bytes(content)
    for args in (["stream", "--input", str(f)], [str(f)], ["stream", "--input", "-"]):
        out = ftop(*args, stdin=content if "-" in args else None)
        assert out.returncode == 2, (args, out.stderr)
        assert out.stdout == b"", args
        err = out.stderr.decode("utf-8").strip().splitlines()
        assert len(err) == 1 and words in err[0] and "not shown" in err[0], (args, err)


def test_a_damaged_trace_dat_is_refused_in_one_line(tmp_path: Path) -> None:
    """trace.dat is read now, but a truncated one is one line and nothing printed."""
    f = tmp_path / "cut.dat"
    f.write_bytes(b"\x17\x08\x44tracing6\x00\x00")
    for args in (["stream", "--input", str(f)], [str(f)], ["stream", "--input", "-"]):
        out = ftop(*args, stdin=f.read_bytes() if "-" in args else None)
        assert out.returncode == 2, (args, out.stderr)
        assert out.stdout == b"", args
        err = out.stderr.decode("utf-8").strip().splitlines()
        assert len(err) == 1 and "trace.dat" in err[0], (args, err)


def test_error_messages_escape_what_they_quote(tmp_path: Path) -> None:
    name = str(tmp_path / "x\x1b]2;PWNED\x07.txt")
    out = ftop("stream", "--input", name)
    assert out.returncode != 0
    assert b"\x1b" not in out.stderr and b"\x07" not in out.stderr
    assert "x\\x1b]2;PWNED\\x07.txt" in out.stderr.decode()
