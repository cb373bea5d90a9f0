"""Streaming `trace_pipe` off the event loop: big reads on a thread, batches of lines out.

The kernel hands out at most about a page per read(), so the thread keeps
reading while data is ready and only then splits and delivers one batch; the
per-line work is C (`bytes.split`, `list` slicing), never a Python loop.
Cancellation is prompt even when the pipe is idle: the thread waits in
``select`` with a short timeout and checks a stop flag.
"""

from __future__ import annotations

import os
import select
import threading
from typing import Callable, List, Optional, Protocol, Sequence

BatchHandler = Callable[[Sequence[str]], None]

READ_SIZE = 1 << 16
# Deliver at least every this many bytes even under a flood, so consumers see
# steady progress and the ring's bounds apply batch by batch.
BATCH_BYTES = 1 << 20


class LineReader(Protocol):
    """What a session needs of its stream's reader: this text one, or the raw
    pipeline's :class:`~ftop.engine.raw.stream.RawPipe`."""

    kind: str

    @property
    def running(self) -> bool: ...

    @property
    def rendered_raw(self) -> int:
        """Records shown as ``name: field=value`` (print fmt beyond the renderer)."""
        ...

    @property
    def fell_behind(self) -> int:
        """Events the kernel overwrote before this reader took them, since it started."""
        ...

    @property
    def pages_skipped(self) -> int:
        """Raw pages a live view's decoder had no time for (kept, not shown); 0 for text."""
        ...

    @property
    def error(self) -> Optional[OSError]: ...

    @property
    def lines_read(self) -> int: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> bool: ...


class TracePipeReader:
    """Reads a trace_pipe-like file on a daemon thread and calls ``on_batch`` with lines.

    ``on_batch`` runs on the reader thread: it should be cheap and thread-safe
    (append to the ring, update aggregates).
    """

    kind = "text"
    # The kernel formats the text itself: nothing is ever shown raw, and its
    # losses are the LOST lines in the text.
    rendered_raw = 0
    fell_behind = 0
    pages_skipped = 0

    def __init__(
        self,
        path: str,
        on_batch: Optional[BatchHandler],
        poll_interval: float = 0.1,
        on_error: Optional[Callable[[OSError], None]] = None,
        on_bytes: Optional[Callable[[bytes], None]] = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.path = path
        self.on_batch = on_batch
        # Consumers that only copy the text (``ftop stream`` to a file) take the
        # complete lines as one bytes object and skip decoding and splitting.
        self.on_bytes = on_bytes
        # A UI wants smaller batches: the consumer's per-batch C work holds the
        # GIL, and the event loop waits for it.
        self.batch_bytes = batch_bytes
        self.on_error = on_error
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.lines_read = 0
        self.bytes_read = 0
        self.error: Optional[OSError] = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        # Open on the caller's thread so a refusal (EPERM, ENOENT) is raised here.
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread = threading.Thread(
            target=self._run, args=(fd,), name="ftop-trace-pipe", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop and join; True when the pipe is closed (so the tracer may change and
        an instance may be removed: the kernel refuses both while it is open).

        The thread sees the stop within ``poll_interval`` once its current batch is
        handed over; the generous timeout is for a loaded machine, where a batch's
        listeners may wait seconds for the GIL.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    def _run(self, fd: int) -> None:
        partial = b""
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([fd], [], [], self.poll_interval)
                if not ready:
                    continue
                chunks: List[bytes] = []
                size = 0
                while size < self.batch_bytes:
                    try:
                        data = os.read(fd, READ_SIZE)
                    except BlockingIOError:
                        break
                    if not data:
                        break
                    chunks.append(data)
                    size += len(data)
                if not chunks:
                    # select said readable but nothing came: a plain file at EOF.
                    if self._stop.wait(self.poll_interval):
                        break
                    continue
                buf = partial + b"".join(chunks)
                cut = buf.rfind(b"\n")
                if cut < 0:
                    partial = buf
                    continue
                partial = buf[cut + 1 :]
                self.bytes_read += cut + 1
                if self.on_bytes is not None:
                    self.on_bytes(buf[: cut + 1])
                if self.on_batch is not None:
                    lines = buf[:cut].decode("utf-8", "replace").split("\n")
                    self.lines_read += len(lines)
                    self.on_batch(lines)
                else:
                    self.lines_read += buf.count(b"\n", 0, cut + 1)
        except OSError as e:
            self.error = e
            if self.on_error is not None:
                self.on_error(e)
        finally:
            os.close(fd)
