"""End to end: ``ftop --demo`` in a real terminal (tmux) survives what a terminal does to it.

SIGSTOP/SIGCONT (Ctrl-Z's harder cousin, a debugger), a storm of resizes (a tiling
window manager, a dragged window), and SIGHUP (the ssh connection dropping) in the
middle of a transaction. The demo's tracefs is a simulated one in a private folder:
nothing here touches the machine's tracefs, so these run anywhere tmux does.

ftop runs under ``sh -c '...; echo $? > rc'``: the shell outlives it and records
its exit status; the pane keeps what it printed on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest
from tmux_util import FTOP, Tmux, env_for, wait

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# Right-aligned on the live view's key bar, the last row: it ends at the last column
# but one, so it moves with every width.
FOOTER = "^p palette"


class Demo:
    """One ``ftop --demo`` in tmux: its pid, its exit status, what it printed."""

    def __init__(self, t: Tmux, tmp_path: Path, width: int = 100, height: int = 30) -> None:
        self.t = t
        self.rc_file = tmp_path / "rc"
        # Not stderr to a file: Textual draws on stderr. What ftop says on the way out
        # stays on the pane's main screen, after the alternate screen is left.
        inner = f"{FTOP} --demo; echo $? > {self.rc_file}"
        t.start(f"sh -c '{inner}'", width, height, env=env_for(tmp_path, tmp_path / "journals"))
        self.t.wait_for(lambda s: "DEMO" in s and FOOTER in s)
        shell = t.pane_pid()
        assert wait(lambda: bool(_children(shell))), "no ftop process under the shell"
        self.pid = _children(shell)[0]

    def rc(self, timeout: float = 15.0) -> Optional[int]:
        if not wait(
            lambda: self.rc_file.exists() and self.rc_file.read_text().strip() != "", timeout
        ):
            return None
        return int(self.rc_file.read_text())

    def said(self) -> str:
        """The pane once ftop has left its alternate screen: what it printed on exit."""
        return self.t.capture()

    def workdir(self) -> Path:
        """The demo's simulated tracefs and journal folder (its journal names our pid)."""
        hits: List[Path] = []

        def look() -> bool:
            hits[:] = list(Path("/dev/shm").glob(f"ftop-demo-*/journal/journal-{self.pid}.json"))
            hits.extend(Path("/tmp").glob(f"ftop-demo-*/journal/journal-{self.pid}.json"))
            return bool(hits)

        assert wait(look), "the demo wrote no journal"
        return hits[0].parent.parent


def _children(pid: int) -> List[int]:
    out: List[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _threads_in(pid: int, wchan: str) -> bool:
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "wchan").read_text().strip() == wchan:
                return True
        except OSError:
            continue
    return False


@pytest.fixture()
def demo(tmux: Callable[[str], Tmux], tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    made: List[Demo] = []

    def make(name: str, width: int = 100, height: int = 30) -> Demo:
        d = Demo(tmux(name), tmp_path, width, height)
        made.append(d)
        return d

    yield make
    for d in made:  # a failed test must not leave its ftop running
        if d.rc(timeout=0) is None:
            with contextlib.suppress(OSError):
                os.kill(d.pid, signal.SIGTERM)


def _body(screen: str) -> List[str]:
    return [ln for ln in screen.splitlines() if "sched_" in ln]


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _names(pid: int) -> List[str]:
    """The process's threads by name (Textual's input thread, ftop's workers...)."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            out.append(Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip())
    return sorted(out)


def _steady_threads(pid: int) -> int:
    """The thread count once workers come and go: the least of a second's samples."""
    samples = []
    for _ in range(10):
        samples.append(_threads(pid))
        time.sleep(0.1)
    return min(samples)


# Textual's driver takes every SIGCONT for the end of its own Ctrl-Z suspend and starts
# application mode again: a second input thread (and writer) beside the first, which
# then races the exit (threading._shutdown waits for it: ftop hangs after restoring).
# tui/job_control.py makes it resume only after a suspend (see docs/reliability.md).


def test_sigstop_then_sigcont_redraws_and_answers_keys(demo: Callable[..., Demo]) -> None:
    d = demo("stop")
    # Counted once the app runs in full (the replay streams into the live view).
    d.t.wait_for(lambda s: len(_body(s)) > 5, timeout=15)
    before = _steady_threads(d.pid)
    names = _names(d.pid)
    for cycle in range(3):  # a debugger, `kill -STOP`: no SIGTSTP first
        os.kill(d.pid, signal.SIGSTOP)
        try:
            time.sleep(0.7)
            frozen = d.t.capture()
            time.sleep(0.3)
            assert d.t.capture() == frozen, "a stopped ftop does not draw"
            if cycle == 2:
                d.t.send("2")  # typed while stopped: it waits in the pty
        finally:
            os.kill(d.pid, signal.SIGCONT)
        # It goes on drawing: the live view moves.
        d.t.wait_for(lambda s, f=frozen: s != f, timeout=5)  # type: ignore[misc]
    # ...and takes the key typed meanwhile, and the next ones.
    d.t.wait_for(lambda s: "events enabled" in s, timeout=10)
    d.t.send("1")
    d.t.wait_for(lambda s: len(_body(s)) > 5, timeout=10)
    after = _steady_threads(d.pid)
    assert after <= before + 1, (
        f"{after - before} more threads after 3 SIGCONTs: {_names(d.pid)} (before: {names})"
    )
    d.t.send("q")
    assert d.rc(timeout=15) == 0, "ftop did not exit after q"
    assert "Traceback" not in d.said()


def test_a_storm_of_100_resizes_in_2s(demo: Callable[..., Demo]) -> None:
    d = demo("resize")
    sizes = [(60 + (i * 37) % 100, 15 + (i * 13) % 35) for i in range(99)] + [(91, 27)]
    start = time.monotonic()
    for w, h in sizes:
        d.t.tmux("resize-window", "-t", d.t.target, "-x", str(w), "-y", str(h))
    spent = time.monotonic() - start
    assert spent < 2.5, f"the storm took {spent:.1f}s (tmux too slow here to storm)"
    assert d.rc(timeout=0) is None and not d.t.dead(), "ftop died in the storm"
    # A key answered within a second of the storm...
    t0 = time.monotonic()
    d.t.tmux("send-keys", "-t", d.t.target, "2")
    d.t.wait_for(lambda s: "events enabled" in s, timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    # ...and the last frame is laid out for the final size: the key bar on the last
    # row, ending at the last column; no row wider than the window.

    def fits(screen: str) -> bool:
        rows = screen.split("\n")
        rows = rows[:-1] if rows and rows[-1] == "" else rows
        return (
            len(rows) == 27
            and rows[-1].rstrip().endswith(FOOTER)
            # Textual leaves the last column blank (capture-pane trims it).
            and len(rows[-1].rstrip()) in (90, 91)
            and all(len(r) <= 91 for r in rows)
        )

    d.t.send("1")  # back to the live view, whose key bar ends in FOOTER
    d.t.wait_for(fits, timeout=3)
    d.t.send("q")
    assert d.rc() == 0
    assert "Traceback" not in d.said()


def test_sighup_during_a_transaction_restores_and_exits(
    demo: Callable[..., Demo], tmp_path: Path
) -> None:
    """The ssh connection drops while a change is being applied: ftop waits for the
    change in flight (the restore takes the session's lock), restores the demo's
    tracefs through the real restore code, and exits 129 saying nothing went wrong.

    The apply is held in flight by a FIFO put in place of the option file it writes:
    the open blocks (wchan ``wait_for_partner``) until the test opens the other end.
    Hard links keep the option files readable after the demo removes its folder.
    """
    d = demo("hup")
    d.t.send("9")
    d.t.wait_for(lambda s: "[x] annotate" in s and "[ ] bin" in s)
    d.t.send("Down", "Space")  # bin 0 -> 1, the first change: the journal is written
    work = d.workdir()
    opts = work / "tracefs" / "options"
    assert wait(lambda: (opts / "bin").read_text() == "1\n")
    links = work.parent / f"ftop-faults-{os.getpid()}"  # hard links: work's filesystem
    links.mkdir()
    try:
        os.link(opts / "bin", links / "bin")
        # annotate 1 -> 0 hangs in tracefs, under the session's lock.
        (opts / "annotate").unlink()
        os.mkfifo(opts / "annotate")
        d.t.send("Up", "Space")
        assert wait(lambda: _threads_in(d.pid, "wait_for_partner"), timeout=10), d.t.capture()
        os.kill(d.pid, signal.SIGHUP)
        time.sleep(1.0)
        assert d.rc(timeout=0) is None, "exited with the transaction still in flight"
        assert (work / "journal" / f"journal-{d.pid}.json").exists()
        # The write completes: the other end opens, and later opens find a plain file
        # holding what the change wrote.
        plain = links / "annotate"
        plain.write_text("0\n")
        fd = os.open(opts / "annotate", os.O_RDWR | os.O_NONBLOCK)
        try:
            os.write(fd, b"1\n")  # for a read of the old value, if that is what waits
            os.link(plain, opts / "annotate.plain")
            os.replace(opts / "annotate.plain", opts / "annotate")
            time.sleep(0.3)
        finally:
            os.close(fd)
        assert d.rc() == 128 + signal.SIGHUP
        # Both options put back by the real restore, after the change in flight; the
        # demo then removed its simulated tracefs and journal folder.
        assert (links / "bin").read_text() == "0\n"
        assert (links / "annotate").read_text() == "1\n"
        assert not work.exists()
        err = d.said()
        assert "restore" not in err and "Traceback" not in err, err
    finally:
        for p in links.glob("*"):
            p.unlink()
        links.rmdir()
