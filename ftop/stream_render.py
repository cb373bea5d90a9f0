"""The renderer process of `ftop stream` (see :mod:`ftop.stream_spool`): the spooled
pages to the kernel's text on stdout. Not a command for users; started by
``ftop stream`` with the spool's folder and the pipe its reader tells it through.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import signal
import stat
import sys
import time
from pathlib import Path
from types import FrameType
from typing import List, Optional, TextIO, cast

__all__ = ["OutputBlocked", "main", "to_normal"]

# After the reader stopped (SIGUSR1), output that takes nothing for this long is
# given up: nobody reads it (a pipe never read, a pager left stopped).
PATIENCE_S = 2.0
PIPE_BUF = select.PIPE_BUF


class OutputBlocked(Exception):
    pass


NICE = 10


class _Priority:
    """Idle priority while the text is far behind the reader (a flood), niced normal
    priority otherwise.

    In a flood the reader comes first: what it does not take in time the kernel
    overwrites, and a CPU it shares with this process went partly to this one even
    niced (bench/ingest.py, reader and renderer on one CPU: 21 to 37 % lost at nice
    10 or 19, none at SCHED_IDLE, which takes only CPU time nobody else wants and
    yields at once to a waking reader). Caught up, idle priority would starve the
    text of a few events on a busy box, so it is niced normal again. Behind means
    more closed segments in the spool than its CPUs have open ones (a segment's
    worth, at least). After the stop it stays normal: the rest is printed promptly.
    """

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.idle = False
        self.stopped = False
        self._at = 0.0

    def look(self, cpus: int) -> None:
        now = time.monotonic()
        if now - self._at < 0.25:
            return
        self._at = now
        try:
            segments = len(os.listdir(self.spool))
        except OSError:
            return
        behind = segments > max(1, cpus) + 1
        if behind and not self.idle and not self.stopped:
            self.to_idle()
        elif not behind and self.idle:
            self.normal()

    def to_idle(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            self.idle = True

    def normal(self) -> None:
        if to_normal(0):
            self.idle = False


def to_normal(pid: int) -> bool:
    """Process ``pid`` (0: this one) from idle priority back to normal, niced
    :data:`NICE`. False when leaving SCHED_IDLE was refused: that may need privilege
    (RLIMIT_NICE) for a non-root user, and then it stays idle, which only delays the
    text."""
    left = True
    try:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        left = False
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, NICE)
    return left


class _Bytes:
    """stdout's bytes, written so that a stop can give up on a reader that reads
    nothing (a blocking write would wait for ever)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.stopped = False
        # A file never keeps a write waiting; a pipe or a terminal can. (The fd is
        # not made non-blocking: its file description is shared with the shell's.)
        self.file = stat.S_ISREG(os.fstat(fd).st_mode)

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        waited_from = 0.0
        while view:
            if not self.file:
                _, ready, _ = select.select([], [self.fd], [], 0.2)
                if not ready:
                    if self.stopped:
                        waited_from = waited_from or time.monotonic()
                        if time.monotonic() - waited_from >= PATIENCE_S:
                            raise OutputBlocked()
                    continue
                waited_from = 0.0
            # Writable: a pipe takes PIPE_BUF bytes without blocking.
            n = os.write(self.fd, view if self.file else view[:PIPE_BUF])
            view = view[n:]
        return len(data)

    def flush(self) -> None:
        pass


class _Out:
    """What the stream's printer writes to: text and ``buffer`` (bytes)."""

    def __init__(self, fd: int) -> None:
        self.buffer = _Bytes(fd)

    def write(self, text: str) -> int:
        self.buffer.write(text.encode("utf-8", "surrogateescape"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return os.isatty(self.buffer.fd)


def main(argv: Optional[List[str]] = None) -> int:
    # The reader decides when to stop (it restores first, then lets us finish). It
    # spawned us with SIGINT blocked: ignored first, then unblocked (a Ctrl-C that
    # came in between is dropped with it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # Named in ps, top and the trace itself for what it is, not "python".
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text("ftop-render")
    # Niced: a busy box's own work comes first. In a flood see _Priority.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
    p = argparse.ArgumentParser(prog="ftop.stream_render")
    p.add_argument("--top", required=True)
    p.add_argument("--where", required=True)
    p.add_argument("--release", default="")
    p.add_argument("--dir", required=True)
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--page-size", type=int, required=True)
    p.add_argument("--segment-bytes", type=int, required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--count", type=int, default=0)
    ns = p.parse_args(argv)

    from ftop.engine.raw.spool import SpoolReader, spool_text
    from ftop.engine.raw.stream import RawSource
    from ftop.stream_cmd import _Printer

    out = _Out(sys.stdout.fileno())

    prio = _Priority(Path(ns.dir))

    def stopped(signum: int, frame: Optional[FrameType]) -> None:
        out.buffer.stopped = True
        prio.stopped = True
        prio.normal()

    # The reader tells us it stopped: from now on, output nobody reads is given up.
    signal.signal(signal.SIGUSR1, stopped)
    top = Path(ns.top)
    source = RawSource.from_tracefs(top, Path(ns.where), release=ns.release)
    reader = SpoolReader(Path(ns.dir), ns.page_size, ns.fd, ns.segment_bytes)
    printer = _Printer(cast(TextIO, out), ns.json)  # the part of TextIO it uses
    early = False
    try:
        for lines in spool_text(reader, source, tasks_from=top):
            prio.look(len(reader.read_to))
            if ns.count:
                lines = lines[: max(0, ns.count - printer.lines)]
            if ns.json:
                printer(lines)
            elif lines:
                printer.raw(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
            if printer.broken.is_set() or (ns.count and printer.lines >= ns.count):
                early = True  # the reader sees us gone, stops and clears the spool
                break
    except OutputBlocked:
        early = True
        print(
            f"ftop: the output took nothing for {PATIENCE_S:.0f} s after the stop: "
            "the rest of the pages read was not printed",
            file=sys.stderr,
        )
    if not early and not reader.ended:
        # The pipe closed without the end mark: the reader died (kill -9). Nobody
        # else will clear the spool.
        shutil.rmtree(ns.dir, ignore_errors=True)
    # Always said: the reader stopped long ago, this is what it read (bench/ingest.py
    # checks it against the kernel's count of events read).
    print(
        f"ftop: {printer.lines} lines printed"
        + (f", {printer.unparsed} not parsed (kept raw)" if ns.json else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
