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
  (``C 0=8192 1=4096``; ``E`` at the end, also left in an ``end`` file). When the
  pipe is full the line is left out; the next one reaches further.
* The reader (:class:`SpoolReader`, in the renderer's process) takes every line as
  it comes and reads the pages up to the furthest reach, in windows of a bounded
  size per CPU; it deletes a segment once it has read past it. The records of a
  window are merged by time as ``trace_pipe`` merges what it has, and those a later
  window could still precede wait for it (:func:`spool_text`).
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
from typing import (
    TYPE_CHECKING,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

from ftop.engine.raw.page import page_info
from ftop.engine.raw.page_text import Item, page_items, render_items

if TYPE_CHECKING:
    from ftop.engine.raw.stream import RawSource

__all__ = ["END_FILE", "SEGMENT_BYTES", "SpoolReader", "SpoolWriter", "segment_path", "spool_text"]

SEGMENT_BYTES = 32 << 20
# The writer's last reach and end mark, also left in the folder (see SpoolReader).
END_FILE = "end"
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
        # Also in a file: a renderer far behind may not make room in the pipe in time,
        # and reads this when the pipe closes without the mark.
        with contextlib.suppress(OSError):
            tmp = self.directory / (END_FILE + ".new")
            tmp.write_bytes(data)
            os.replace(tmp, self.directory / END_FILE)
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
    """The renderer's side: windows of ``(cpu, page)`` pairs, each CPU's in its order.

    The lines are read as soon as they come, between windows, and only the furthest
    reach is kept: a renderer far behind would otherwise leave the pipe full for
    minutes, and the writer's last reach and end mark, sent at the stop, would not
    fit (it gives up after a while; the pages after the last reach seen were then
    never printed, bench/ingest.py's ``printed`` figure). The writer also leaves them
    in an ``end`` file, read when the pipe closes without the mark.

    With ``page_ts`` (a page's header time stamp), a window where some CPU has more
    pages than ``window_bytes`` sets :attr:`cutoff`: the first time stamp not yet read
    of that CPU. Every page read from then on starts at or after it, so the items of
    this window before it can be printed in their final order and the rest are held
    back (:func:`spool_text`) -- trace_pipe's merge, in windows of bounded size.
    """

    def __init__(
        self,
        directory: Path,
        page_size: int,
        notify_fd: int,
        segment_bytes: int = SEGMENT_BYTES,
        window_bytes: int = WINDOW_BYTES,
        page_ts: Optional[Callable[[bytes], int]] = None,
    ) -> None:
        self.directory = directory
        self.page_size = page_size
        self.segment_bytes = _segment_bytes(segment_bytes, page_size)
        self.window_bytes = max(page_size, window_bytes - window_bytes % page_size)
        self.notify_fd = notify_fd
        os.set_blocking(notify_fd, False)  # this process's own end of the pipe
        self.page_ts = page_ts
        self.read_to: Dict[int, int] = {}
        self.reach: Dict[int, int] = {}  # the furthest reach told
        self.cutoff: Optional[int] = None  # see the class
        self._fds: Dict[int, Tuple[int, int]] = {}
        self._buf = b""
        self._eof = False
        self.ended = False  # the writer's end mark was seen (else it died)

    # -- the lines ---------------------------------------------------------------

    def _take(self, block: bool) -> None:
        """Every line waiting in the pipe (after waiting for one, if ``block``)."""
        if self._eof:
            return
        if block:
            select.select([self.notify_fd], [], [])
        while True:
            try:
                chunk = os.read(self.notify_fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            if not chunk:
                self._eof = True
                if not self.ended:
                    self._tell(_read_end(self.directory))
                return
            *whole, self._buf = (self._buf + chunk).split(b"\n")
            self._tell(whole)

    def _tell(self, lines: Sequence[bytes]) -> None:
        for ln in lines:
            if ln == b"E":
                self.ended = True
            elif ln.startswith(b"C "):
                for kv in ln[2:].split():
                    c, _, n = kv.partition(b"=")
                    cpu, reach = int(c), int(n)
                    if reach > self.reach.get(cpu, 0):
                        self.reach[cpu] = reach

    def _pending(self) -> bool:
        return any(n > self.read_to.get(c, 0) for c, n in self.reach.items())

    def passes(self) -> Iterator[List[Tuple[int, bytes]]]:
        """Until the end mark (or the writer's death, with no ``end`` file): windows
        of at most ``window_bytes`` per CPU."""
        while True:
            self._take(block=not self._pending() and not self.ended)
            window = self._window()
            if window:
                yield window
            elif self.ended or self._eof:
                break
            elif self._pending():
                # Told of pages the spool does not hold (someone removed them): the
                # stream cannot go on from here.
                break
        self._close()

    # -- the pages ---------------------------------------------------------------

    def _window(self) -> List[Tuple[int, bytes]]:
        ps = self.page_size
        plan: Dict[int, Tuple[int, int]] = {}
        for cpu in sorted(self.reach):
            start = self.read_to.get(cpu, 0)
            n = min(self.reach[cpu] - start, self.window_bytes)
            if n >= ps:
                plan[cpu] = (start, n)
        self.cutoff = None
        first = -1
        if self.page_ts is not None:
            for cpu, (start, n) in plan.items():
                if self.reach[cpu] - start - n < ps:
                    continue  # read to its reach: the pages after it are not told yet
                nxt = self._pread(cpu, start + n, ps)
                if len(nxt) == ps:
                    ts = self.page_ts(nxt)
                    if self.cutoff is None or ts < self.cutoff:
                        self.cutoff, first = ts, cpu
        out: List[Tuple[int, bytes]] = []
        for cpu, (start, n) in plan.items():
            data = self._pread(cpu, start, n)
            pages = [data[i : i + ps] for i in range(0, len(data) - ps + 1, ps)]
            if self.cutoff is not None and cpu != first:
                keep = 0
                while keep < len(pages) and self._ts(pages[keep]) < self.cutoff:
                    keep += 1
                del pages[keep:]
            self._advance(cpu, start + len(pages) * ps)
            out.extend((cpu, p) for p in pages)
        return out

    def _ts(self, page: bytes) -> int:
        assert self.page_ts is not None
        return self.page_ts(page)

    def _pread(self, cpu: int, start: int, n: int) -> bytes:
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
        return b"".join(parts)

    def _advance(self, cpu: int, to: int) -> None:
        # A segment read to its end goes: the writer counts its bytes free once the
        # file is gone.
        was = self.read_to.get(cpu, 0)
        self.read_to[cpu] = to
        for index in range(was // self.segment_bytes, to // self.segment_bytes):
            cur = self._fds.get(cpu)
            if cur is not None and cur[0] == index:
                os.close(self._fds.pop(cpu)[1])
            with contextlib.suppress(FileNotFoundError):
                segment_path(self.directory, cpu, index).unlink()

    def _fd(self, cpu: int, index: int) -> int:
        cur = self._fds.get(cpu)
        if cur is not None and cur[0] == index:
            return cur[1]
        fd = os.open(segment_path(self.directory, cpu, index), os.O_RDONLY | os.O_CLOEXEC)
        if cur is not None:
            os.close(cur[1])
        self._fds[cpu] = (index, fd)
        return fd

    def _close(self) -> None:
        for _, fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def _read_end(directory: Path) -> List[bytes]:
    try:
        return (directory / END_FILE).read_bytes().split(b"\n")
    except OSError:
        return []


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
    if reader.page_ts is None:  # the windows' cutoff needs the pages' time stamps
        reader.page_ts = lambda page: page_info(page, layout).ts
    read_at = time.monotonic()
    held: List[Item] = []  # after the last window's cutoff: printed with what follows

    for window in reader.passes():
        if tasks_from is not None and time.monotonic() - read_at >= tasks_refresh_s:
            read_at = time.monotonic()
            renderer.tasks.update(
                _read(tasks_from / "saved_cmdlines"),
                _read(tasks_from / "saved_tgids") if renderer.options.record_tgid else "",
            )
            renderer.tasks_changed()
        items = held
        cpus = {t[1] for t in held}
        for cpu, page in window:
            items.extend(page_items((page,), layout, cpu))
            cpus.add(cpu)
        if len(cpus) > 1:
            # As trace_pipe merges: by time stamp, ties to the lower CPU, a LOST note
            # first. (One CPU's records stay in the order its buffer has them, as in
            # trace_pipe, and a flood is often one CPU's: no sort.)
            items.sort(key=lambda t: (t[0], t[1], t[2]))
        held = []
        if reader.cutoff is not None:
            # What waits is the tail, usually short: found from the end.
            cut = len(items)
            while cut and items[cut - 1][0] >= reader.cutoff:
                cut -= 1
            items, held = items[:cut], items[cut:]
        lines = render_items(renderer, graph, items)
        if lines:
            yield lines
    if held:
        lines = render_items(renderer, graph, held)
        if lines:
            yield lines


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return ""
