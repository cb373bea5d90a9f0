"""A spool of raw pages between a reader that keeps up and a renderer that may not.

``ftop stream`` prints the kernel's text. Rendering it from the raw pages in Python
runs at about half a million events a second; the kernel hands out pages several
times faster, and what a reader does not take in time the kernel overwrites. So the
headless stream works as ``trace-cmd record`` does: its reader only copies pages,
here into per-CPU segment files of a private folder, and a renderer in another
process (its own GIL: the reader never waits on it) turns them into text behind it.

* The writer (:class:`SpoolWriter`, on the reader's thread) appends each CPU's pages
  to ``cpuN.KKKKKK`` segments of ``segment_bytes`` and, after every pass of the
  reader over the CPUs, sends down a pipe how far each CPU's pages now reach
  (``C 0=8192 1=4096``; ``E`` at the end). A pass sent is a merge window: the
  renderer orders the records of one pass by time, as ``trace_pipe`` orders what it
  has. When the pipe is full the line is left out; the next one reaches further.
* The reader (:class:`SpoolReader`, in the renderer's process) follows those lines,
  yields each pass's pages and deletes a segment once it has read past it.
* Disk (or tmpfs) use is bounded by ``max_bytes`` of pages not yet rendered. When the
  renderer is that far behind, the writer waits for it: the reader stops taking
  pages, the kernel overwrites the oldest, and its own loss count (the page flag)
  reaches the text as ``[LOST n EVENTS]`` lines, as it would with ``cat``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Deque, Dict, Iterator, List, Optional, Sequence, Tuple

from ftop.engine.raw.page_text import Item, page_items, render_items, render_pages

if TYPE_CHECKING:
    from ftop.engine.raw.stream import RawSource

__all__ = ["SEGMENT_BYTES", "SpoolReader", "SpoolWriter", "segment_path", "spool_text"]

SEGMENT_BYTES = 32 << 20
# Pages of a CPU taken into one merge window at most (a pass can be bigger when
# lines were left out of a full pipe).
WINDOW_BYTES = 4 << 20


def segment_path(directory: Path, cpu: int, index: int) -> Path:
    return directory / f"cpu{cpu}.{index:06d}"


def _segment_bytes(segment_bytes: int, page_size: int) -> int:
    # Whole pages per segment, so that no page is split over two files.
    return max(page_size, segment_bytes - segment_bytes % page_size)


class SpoolWriter:
    """The reader's side: pages to segment files, each pass's reach to ``notify_fd``."""

    def __init__(
        self,
        directory: Path,
        page_size: int,
        notify_fd: int,
        max_bytes: int,
        cpus: int,
        segment_bytes: int = SEGMENT_BYTES,
        stopping: Optional[threading.Event] = None,
    ) -> None:
        self.directory = directory
        self.page_size = page_size
        # A segment is freed only once read to its end, and every CPU has one open:
        # with segments of at most a quarter of the bound per CPU, what the renderer
        # can always free leaves room (the writer never waits on a segment that can
        # only be freed by writing more).
        per_cpu = max_bytes // (4 * max(1, cpus))
        self.segment_bytes = _segment_bytes(min(segment_bytes, per_cpu), page_size)
        self.max_bytes = max(max_bytes, 4 * max(1, cpus) * self.segment_bytes)
        self.notify_fd = notify_fd
        os.set_blocking(notify_fd, False)
        self.stopping = stopping or threading.Event()
        self.written: Dict[int, int] = {}  # cpu: bytes of pages spooled
        self._fds: Dict[int, Tuple[int, int]] = {}  # cpu: (segment index, fd)
        # Segments written whole, oldest first: (path, size); gone once rendered.
        self._closed: Deque[Tuple[Path, int]] = deque()
        self._sent: Dict[int, int] = {}
        self.waited_s = 0.0  # time the reader waited for the renderer (disk bound)
        self.waits = 0
        self.lines_left_out = 0
        self.error: Optional[OSError] = None

    # -- writing -----------------------------------------------------------------

    def add(self, cpu: int, pages: Sequence[bytes]) -> None:
        """On the reader's thread; blocks while the spool is full (see the module)."""
        if self.error is not None or not pages:
            return
        data = b"".join(pages)
        self._wait_for_room(len(data))
        try:
            self._write(cpu, memoryview(data))
        except OSError as e:
            # Disk full, the folder removed: the stream ends; the caller says why.
            self.error = e
            self.stopping.set()

    def _write(self, cpu: int, data: memoryview) -> None:
        done = self.written.get(cpu, 0)
        while data:
            index, off = divmod(done, self.segment_bytes)
            fd = self._fd(cpu, index)
            n = os.write(fd, data[: self.segment_bytes - off])
            done += n
            data = data[n:]
            self.written[cpu] = done

    def _fd(self, cpu: int, index: int) -> int:
        cur = self._fds.get(cpu)
        if cur is not None and cur[0] == index:
            return cur[1]
        if cur is not None:
            os.close(cur[1])
            self._closed.append((segment_path(self.directory, cpu, cur[0]), self.segment_bytes))
        fd = os.open(
            segment_path(self.directory, cpu, index),
            os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
            0o600,
        )
        self._fds[cpu] = (index, fd)
        return fd

    def pending_bytes(self) -> int:
        """Bytes spooled and not yet rendered, to within the open segments."""
        while self._closed and not self._closed[0][0].exists():
            self._closed.popleft()
        open_bytes = sum(
            self.written.get(cpu, 0) - index * self.segment_bytes
            for cpu, (index, _) in self._fds.items()
        )
        return sum(size for _, size in self._closed) + open_bytes

    def _wait_for_room(self, n: int) -> None:
        if self.pending_bytes() + n <= self.max_bytes:
            return
        self.waits += 1
        t0 = time.monotonic()
        # The renderer frees a whole segment at a time; look a few times a second.
        while self.pending_bytes() + n > self.max_bytes and not self.stopping.is_set():
            self.commit()  # it must know there is more, or it would wait on us
            self.stopping.wait(0.05)
        self.waited_s += time.monotonic() - t0

    # -- telling the renderer ----------------------------------------------------

    def commit(self) -> None:
        """After a reader pass: how far every CPU's pages reach, if that moved."""
        if self.written == self._sent:
            return
        line = "C " + " ".join(f"{c}={n}" for c, n in sorted(self.written.items())) + "\n"
        try:
            os.write(self.notify_fd, line.encode())
        except BlockingIOError:
            # The renderer is behind by a pipe of lines; the next line covers this one.
            self.lines_left_out += 1
            return
        except OSError as e:
            if e.errno == errno.EPIPE:
                self.stopping.set()  # the renderer is gone: nothing to spool for
                return
            raise
        self._sent = dict(self.written)

    def close(self, patience: float = 2.0) -> bool:
        """The last reach and the end mark; True when the renderer got them. Waits at
        most ``patience`` seconds for room in the pipe: a renderer stuck on output
        nobody reads must not hold its reader (it sees the pipe close instead)."""
        for _, fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        line = "C " + " ".join(f"{c}={n}" for c, n in sorted(self.written.items())) + "\n"
        data = (line if self.written else "").encode() + b"E\n"  # < PIPE_BUF: atomic
        sent = False
        end = time.monotonic() + patience
        while not sent and time.monotonic() < end:
            try:
                os.write(self.notify_fd, data)
                sent = True
            except BlockingIOError:
                select.select([], [self.notify_fd], [], 0.05)
            except OSError:
                break  # the renderer is gone
        os.close(self.notify_fd)
        return sent


class SpoolReader:
    """The renderer's side: each pass's ``(cpu, page)`` pairs, in the writer's order."""

    def __init__(
        self,
        directory: Path,
        page_size: int,
        notify_fd: int,
        segment_bytes: int = SEGMENT_BYTES,
        window_bytes: int = WINDOW_BYTES,
    ) -> None:
        self.directory = directory
        self.page_size = page_size
        self.segment_bytes = _segment_bytes(segment_bytes, page_size)
        self.window_bytes = max(page_size, window_bytes - window_bytes % page_size)
        self.notify_fd = notify_fd
        self.read_to: Dict[int, int] = {}
        self._fds: Dict[int, Tuple[int, int]] = {}
        self.ended = False  # the writer's end mark was seen (else it died)

    def _lines(self) -> Iterator[str]:
        buf = b""
        while True:
            try:
                chunk = os.read(self.notify_fd, 1 << 16)
            except InterruptedError:
                continue
            if not chunk:
                return
            buf += chunk
            *whole, buf = buf.split(b"\n")
            for ln in whole:
                yield ln.decode()

    def passes(self) -> Iterator[List[Tuple[int, bytes]]]:
        """Until the end mark (or the writer's death): the pages of each pass, in
        windows of at most ``window_bytes`` per CPU."""
        for line in self._lines():
            if line == "E":
                self.ended = True
                break
            if not line.startswith("C "):
                continue
            reach = {int(c): int(n) for c, n in (kv.split("=") for kv in line[2:].split())}
            while True:
                window = self._window(reach)
                if not window:
                    break
                yield window
        self._close()

    def _window(self, reach: Dict[int, int]) -> List[Tuple[int, bytes]]:
        out: List[Tuple[int, bytes]] = []
        ps = self.page_size
        for cpu in sorted(reach):
            start = self.read_to.get(cpu, 0)
            n = min(reach[cpu] - start, self.window_bytes)
            if n <= 0:
                continue
            data = self._read(cpu, start, n)
            self.read_to[cpu] = start + len(data)
            out.extend((cpu, data[i : i + ps]) for i in range(0, len(data) - ps + 1, ps))
        return out

    def _read(self, cpu: int, start: int, n: int) -> bytes:
        parts: List[bytes] = []
        pos = start
        while n > 0:
            index, off = divmod(pos, self.segment_bytes)
            fd = self._fd(cpu, index)
            data = os.pread(fd, min(n, self.segment_bytes - off), off)
            if not data:
                break  # cannot happen with a live writer: it wrote before it told
            parts.append(data)
            pos += len(data)
            n -= len(data)
            if pos % self.segment_bytes == 0:
                self._done(cpu, index)
        return b"".join(parts)

    def _fd(self, cpu: int, index: int) -> int:
        cur = self._fds.get(cpu)
        if cur is not None and cur[0] == index:
            return cur[1]
        fd = os.open(segment_path(self.directory, cpu, index), os.O_RDONLY | os.O_CLOEXEC)
        self._fds[cpu] = (index, fd)
        return fd

    def _done(self, cpu: int, index: int) -> None:
        # Read to its end: the writer counts its bytes free once the file is gone.
        cur = self._fds.pop(cpu, None)
        if cur is not None:
            os.close(cur[1])
        with contextlib.suppress(FileNotFoundError):
            segment_path(self.directory, cpu, index).unlink()

    def _close(self) -> None:
        for _, fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def spool_text(
    reader: SpoolReader,
    source: RawSource,
    tasks_from: Optional[Path] = None,
    tasks_refresh_s: float = 1.0,
) -> Iterator[List[str]]:
    """The kernel's text of everything spooled, a batch of lines per window.

    Task names are read again from ``tasks_from`` (a tracefs folder with
    ``saved_cmdlines``) at most every ``tasks_refresh_s`` while the writer runs: a
    task that starts while tracing gets its name as ``trace_pipe`` would show it."""
    renderer = source.renderer()
    graph = source.graph(renderer)
    layout = source.layout
    read_at = time.monotonic()

    def walk(cpu: int, pages: Sequence[bytes]) -> List[Item]:
        return page_items(pages, layout, cpu)

    def render(items: Sequence[Item]) -> List[str]:
        return render_items(renderer, graph, items)

    for window in reader.passes():
        if tasks_from is not None and time.monotonic() - read_at >= tasks_refresh_s:
            read_at = time.monotonic()
            renderer.tasks.update(
                _read(tasks_from / "saved_cmdlines"),
                _read(tasks_from / "saved_tgids") if renderer.options.record_tgid else "",
            )
            renderer.tasks_changed()
        for batch in render_pages(window, walk, render):
            if batch.lines:
                yield batch.lines


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return ""
