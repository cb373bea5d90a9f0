"""Reading every CPU's ``per_cpu/cpuN/trace_pipe_raw`` on one thread, as trace-cmd does.

The kernel hands out one page per ``read()``, so a reader that reads page by
page spends its time in system calls (and, in Python, waiting for the GIL
between them). Full pages are moved with ``splice()`` into a pipe, many per
call, and taken out of the pipe in one big read; the last, partly filled page
of an idle CPU is read with ``read()`` so that a quiet trace still shows up
within ``poll_interval``. Both are non-blocking: a blocking read of
``trace_pipe_raw`` waits for ``buffer_percent`` of the buffer to fill.

Pages go to ``on_pages(cpu, pages)`` on the reader thread as bytes, undecoded.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

__all__ = ["PageHandler", "RawReader", "online_cpus"]

PageHandler = Callable[[int, List[bytes]], None]

# Bytes moved per splice() (the pipe is grown to hold them).
SPLICE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031
_SPLICE_F_MOVE = 1
_SPLICE_F_NONBLOCK = 2


def online_cpus(per_cpu: Path) -> List[int]:
    """The CPUs with a ``per_cpu/cpuN`` folder (the kernel makes one per possible CPU
    that has a buffer)."""
    out = []
    for p in per_cpu.iterdir() if per_cpu.is_dir() else []:
        if p.name.startswith("cpu") and p.name[3:].isdigit() and (p / "trace_pipe_raw").exists():
            out.append(int(p.name[3:]))
    return sorted(out)


class _Cpu:
    def __init__(self, cpu: int, path: Path, page_size: int) -> None:
        self.cpu = cpu
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.page_size = page_size
        self.pipe: Optional[tuple[int, int]] = None
        self.splice_ok = hasattr(os, "splice")
        self.pages_read = 0

    def open_pipe(self) -> None:
        if self.pipe is not None or not self.splice_ok:
            return
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # The default pipe (64 KiB) still works if it cannot grow, with more calls.
        with contextlib.suppress(OSError):
            fcntl.fcntl(w, _F_SETPIPE_SZ, SPLICE_BYTES)
        self.pipe = (r, w)

    def close(self) -> None:
        for fd in (self.fd, *(self.pipe or ())):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pipe = None


class RawReader:
    """Pages of every CPU to ``on_pages`` from a daemon thread.

    ``start()`` opens the files on the caller's thread, so a refusal (EPERM,
    ENOENT, EBUSY) is raised there. ``stop()`` reads what is left (when
    ``drain_on_stop``) and closes every file: the kernel refuses a tracer change
    and an instance's removal while they are open.
    """

    def __init__(
        self,
        per_cpu: Path,
        page_size: int,
        on_pages: PageHandler,
        cpus: Optional[Sequence[int]] = None,
        poll_interval: float = 0.1,
        on_error: Optional[Callable[[OSError], None]] = None,
        on_idle: Optional[Callable[[], None]] = None,
        on_cycle: Optional[Callable[[], None]] = None,
        drain_on_stop: bool = True,
    ) -> None:
        self.per_cpu = per_cpu
        self.page_size = page_size
        self.on_pages = on_pages
        self.cpus = list(cpus) if cpus is not None else online_cpus(per_cpu)
        self.poll_interval = poll_interval
        self.on_error = on_error
        self.on_idle = on_idle
        # After each pass over every CPU: a consumer merges the CPUs' records here.
        self.on_cycle = on_cycle
        self.drain_on_stop = drain_on_stop
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._files: List[_Cpu] = []
        self.pages_read = 0
        self.bytes_read = 0
        self.spliced_pages = 0
        self.error: Optional[OSError] = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        if not self.cpus:
            raise OSError(errno.ENOENT, "no per_cpu/cpuN/trace_pipe_raw", str(self.per_cpu))
        self._stop.clear()
        files: List[_Cpu] = []
        try:
            for cpu in self.cpus:
                files.append(
                    _Cpu(cpu, self.per_cpu / f"cpu{cpu}" / "trace_pipe_raw", self.page_size)
                )
        except OSError:
            for f in files:
                f.close()
            raise
        self._files = files
        self._thread = threading.Thread(target=self._run, name="ftop-trace-pipe-raw", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    # -- the thread

    def _deliver(self, c: _Cpu, blob: bytes) -> None:
        ps = self.page_size
        n = len(blob) // ps
        if n == 0:
            return
        pages = [blob[i * ps : (i + 1) * ps] for i in range(n)]
        c.pages_read += n
        self.pages_read += n
        self.bytes_read += n * ps
        self.on_pages(c.cpu, pages)

    def _splice(self, c: _Cpu) -> bool:
        """Full pages through the pipe; True when any came."""
        if not c.splice_ok:
            return False
        c.open_pipe()
        assert c.pipe is not None
        r, w = c.pipe
        moved = 0
        while moved < SPLICE_BYTES:
            try:
                n = os.splice(
                    c.fd, w, SPLICE_BYTES - moved, flags=_SPLICE_F_MOVE | _SPLICE_F_NONBLOCK
                )
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    c.splice_ok = False  # an old kernel or a filesystem without splice
                    break
                raise
            if n <= 0:
                break
            moved += n
        if not moved:
            return False
        chunks = []
        left = moved
        while left > 0:
            try:
                data = os.read(r, left)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        blob = b"".join(chunks)
        self.spliced_pages += len(blob) // self.page_size
        self._deliver(c, blob)
        return True

    def _read(self, c: _Cpu, limit: int = 64) -> bool:
        """Pages by read(): what splice leaves (a partial page), or everything where
        splice is not offered."""
        got = False
        for _ in range(limit):
            try:
                data = os.read(c.fd, self.page_size)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                raise
            if not data:
                break
            got = True
            if len(data) < self.page_size:
                data = data + bytes(self.page_size - len(data))
            self._deliver(c, data)
        return got

    def _run(self) -> None:
        files = self._files
        try:
            while not self._stop.is_set():
                busy = False
                for c in files:
                    if self._splice(c) or (not c.splice_ok and self._read(c)):
                        busy = True
                if not busy:
                    # Idle: the partial pages, so a slow trace still shows within a poll.
                    for c in files:
                        if self._read(c, limit=4):
                            busy = True
                if self.on_cycle is not None:
                    self.on_cycle()
                if busy:
                    continue
                if self.on_idle is not None:
                    self.on_idle()
                # trace_pipe_raw polls ready only at buffer_percent: wait with a timeout.
                select.select([c.fd for c in files], [], [], self.poll_interval)
            if self.drain_on_stop:
                # What is in the buffer now, bounded: under a flood it never empties.
                for c in files:
                    for _ in range(64):
                        if not self._splice(c):
                            break
                    self._read(c, limit=256)
                if self.on_cycle is not None:
                    self.on_cycle()
        except OSError as e:
            self.error = e
            if self.on_error is not None:
                self.on_error(e)
        finally:
            for c in files:
                c.close()
            self._files = []

    def per_cpu_pages(self) -> Dict[int, int]:
        return {c.cpu: c.pages_read for c in self._files}
