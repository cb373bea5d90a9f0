"""End to end: an unprivileged user puts escape sequences into the trace while root
watches it with ``ftop`` in a real terminal (tmux), on the real tracefs.

``nobody`` (via ``su``) runs a program whose file name is an escape sequence:
the kernel makes that name its ``comm`` (so it heads every line the task
causes, ``sched_process_exit`` included) and puts the whole path, with more
sequences in its directory name, into ``sched_process_exec filename=``. A
``trace_marker`` write with the same kind of text comes from root here
(``trace_marker`` is root-only on this kernel; elsewhere its mode may let
others write). ftop shows all of it in its own instance.

What would happen if any of it reached the terminal, and what is checked:

- ``OSC 2`` sets the pane title: ``#{pane_title}`` is unchanged;
- ``OSC 52`` writes the clipboard (``set-clipboard on`` makes tmux keep it as
  a paste buffer): no buffer appears;
- ``CSI ?1049l`` leaves the alternate screen and ``CSI 2J`` clears root's
  shell: after ftop exits, the normal screen holds exactly the lines the shell
  printed before and after it;
- and the escapes are visible on ftop's screen as text (``\\x1b]2;``), so the
  user sees what was there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from tmux_util import FTOP, env_for, no_journal, wait

pytestmark = [pytest.mark.e2e, pytest.mark.live, pytest.mark.timeout(180)]

# What an unprivileged user controls, and what it would do to a terminal.
COMM = "\x1b]2;PWNED\x07z"  # the file name, so the comm (at most 15 bytes)
DIR = "d\x1b]52;c;UFdORUQ=\x07\x1b[?1049l\x1b[H\x1b[2JOWNED"
MARKER = "mark\x1b]2;MARKED\x07\x1b[6n\u202eevil"


def _as_nobody(script: str, env: dict) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    if shutil.which("su"):
        cmd = ["su", "-s", "/bin/sh", "nobody", "-c", script]
    else:  # pragma: no cover - su is in util-linux on Debian
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c", script]
    return subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, timeout=30)


def test_hostile_names_from_an_unprivileged_user_never_act_on_the_terminal(
    tmux, tracefs_root: Path, unchanged, journal_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    instance = f"ftop-e2e-hostile-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="ftop-hostile-", dir="/tmp"))
    os.chown(work, 65534, 65534)
    t = tmux("hostile")
    events = "-e sched:sched_process_exec -e sched:sched_process_exit"
    # The shell prints a line before and after ftop: the normal screen must hold just those.
    # (It waits for the options below first: setting one resizes a client-less server.)
    t.start(
        f"sh -c 'sleep 1; echo BEFORE-FTOP; {FTOP} -B {instance} {events}; echo AFTER-FTOP; sleep 60'",
        250,  # wide: the path's escapes come late in its line
        36,
        env=env_for(tmp_path, journal_dir),
    )
    t.tmux("set-option", "-g", "set-clipboard", "on", check=False)
    t.tmux("set-option", "-g", "allow-rename", "on", check=False)
    # A global option makes a client-less server fall back to default-size: size again.
    t.tmux("set-option", "-g", "default-size", "250x36", check=False)
    t.tmux("resize-window", "-t", t.target, "-x", "250", "-y", "36", check=False)
    title_before = t.tmux("display-message", "-t", t.target, "-p", "#{pane_title}")
    buffers_before = t.tmux("list-buffers", check=False)
    try:
        # Drawn at the full width (after the resize): the status band names the instance.
        t.wait_for(lambda s: "2 events" in s and f"[{instance}]" in s)
        # Only the hostile lines in the view: every other exec on a busy machine would
        # push them off the 36 rows before the screen is read (the filter is ftop's
        # own, over the raw text, which holds the control bytes as they came).
        t.send("f")
        # Typed only once the filter box is up: a key sent earlier goes to the view.
        t.wait_for(lambda s: "filter: task:NAME" in s)
        t.type("PWNED|MARKED")
        t.send("Enter")
        t.wait_for(lambda s: "PWNED|MARKED" in s)
        run = _as_nobody(
            'mkdir "$W/$D" && cp /bin/sleep "$W/$D/$C" && "$W/$D/$C" 0.1',
            {"W": str(work), "D": DIR, "C": COMM},
        )
        assert run.returncode == 0, run.stderr.decode(errors="replace")
        marker = tracefs_root / "instances" / instance / "trace_marker"
        marker.write_bytes(MARKER.encode() + b"\n")
        # The exec and the exit may come in different batches: wait for both.
        screen = t.wait_for(
            lambda s: (
                "sched_process_exec" in s and "sched_process_exit" in s and "\\x1b]2;PWNED" in s
            )
        )
        assert "\\x1b]52;c;UFdORUQ=\\x07\\x1b[?1049l" in screen  # the path, visible
        t.wait_for(lambda s: "\\x1b]2;MARKED\\x07" in s and "\\u202e" in s)
        # Nothing acted while ftop ran...
        assert t.tmux("display-message", "-t", t.target, "-p", "#{pane_title}") == title_before
        assert t.tmux("list-buffers", check=False) == buffers_before
        assert t.tmux("display-message", "-t", t.target, "-p", "#{alternate_on}").strip() == "1"
        t.send("F10")
        end = time.monotonic() + 20
        while time.monotonic() < end and "AFTER-FTOP" not in t.capture():
            time.sleep(0.2)
        # ...nor after: root's shell screen is exactly what the shell printed.
        lines = [ln for ln in t.capture().splitlines() if ln.strip()]
        assert lines == ["BEFORE-FTOP", "AFTER-FTOP"], lines
        assert t.tmux("display-message", "-t", t.target, "-p", "#{pane_title}") == title_before
        assert t.tmux("list-buffers", check=False) == buffers_before
    finally:
        t.kill()
        wait(lambda: not (tracefs_root / "instances" / instance).exists())
        shutil.rmtree(work, ignore_errors=True)
    assert not (tracefs_root / "instances" / instance).exists()
    assert no_journal(journal_dir)
