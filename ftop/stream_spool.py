"""`ftop stream`'s raw path: pages copied here, the kernel's text rendered in a child.

The reader (this process, one thread) only copies every CPU's ``trace_pipe_raw``
into a spool (:mod:`ftop.engine.raw.spool`); ``python -m ftop.stream_render``
reads the spool behind it and prints. The two never share a GIL, so the reader
takes pages at the kernel's pace however slow the rendering, and what the
renderer has not printed yet waits on disk, bounded by ``--spool-size``.

On Ctrl-C, the duration's end or the command's exit, reading stops and the
tracing state is restored at once; the renderer then prints what was read
before (a second Ctrl-C drops it, and says how much). The renderer ignores
SIGINT, so this process decides.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

from ftop.cli import DEFAULT_SPOOL_MIB, _say
from ftop.engine.raw.page import Layout
from ftop.engine.raw.spool import SpoolWriter
from ftop.engine.raw.trace_pipe_raw import RawReader, online_cpus
from ftop.stream_render import to_normal

if TYPE_CHECKING:
    from ftop.engine.control.session import Session

__all__ = ["SpooledStream", "make_spool", "room", "spool_bases", "sweep_spools"]

PREFIX = "ftop-spool-"
# Pages waiting before stderr says the text lags the trace; then every NOTE_EVERY_S.
NOTE_BYTES = 64 << 20
NOTE_EVERY_S = 10.0


def spool_bases() -> List[Path]:
    """Where spools may go, in order: $TMPDIR, /var/tmp (on disk on Debian; /tmp may
    be RAM), /tmp, /dev/shm (a box whose disk is read-only: a rescue shell, the
    kernel lab's guest)."""
    env = os.environ.get("TMPDIR")
    out = [Path(env)] if env else []
    return out + [Path(p) for p in ("/var/tmp", "/tmp", "/dev/shm") if Path(p) not in out]


def make_spool(bases: List[Path]) -> Path:
    """A private folder in the first base that takes one; OSError (the last) if none."""
    last: Optional[OSError] = None
    for base in bases:
        try:
            sweep_spools(base)
            return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
        except OSError as e:
            last = e
    raise last or OSError("no folder for the spool")


def room(path: Path, want: int) -> int:
    """``want`` bytes, or half the free space of ``path``'s filesystem if less: the
    spool must not fill the disk (or, on tmpfs, the memory) of the box it watches."""
    try:
        st = os.statvfs(path)
    except OSError:
        return want
    return max(1 << 20, min(want, st.f_bavail * st.f_frsize // 2))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_spools(base: Path) -> List[str]:
    """Remove the spools of ftop streams that are gone (a kill -9 leaves one)."""
    swept = []
    for d in base.glob(PREFIX + "*"):
        pid_text = d.name[len(PREFIX) :].split("-", 1)[0]
        if d.is_dir() and pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(d, ignore_errors=True)
            swept.append(d.name)
    return swept


class SpooledStream:
    """The reader thread, the spool and the renderer process of one ``ftop stream``."""

    def __init__(
        self,
        sess: Session,
        as_json: bool = False,
        count: Optional[int] = None,
        max_bytes: int = DEFAULT_SPOOL_MIB << 20,
        base: Optional[Path] = None,
    ) -> None:
        self.sess = sess
        self.as_json = as_json
        self.count = count
        self.max_bytes = max_bytes
        self.bases = [base] if base is not None else spool_bases()
        self.stopping = threading.Event()
        self.dir: Optional[Path] = None
        self.child: Optional[subprocess.Popen[bytes]] = None
        self.writer: Optional[SpoolWriter] = None
        self.reader: Optional[RawReader] = None
        self._noted_at = 0.0
        self._full_noted = 0

    def start(self) -> None:
        """Spawn the renderer, then start reading. OSError when the spool or the
        pages cannot be opened."""
        from ftop.engine.raw.stream import RawPipe

        top, where = self.sess.top.path, self.sess.tfs.path
        layout: Layout = RawPipe._layout_of(top)
        cpus = online_cpus(where / "per_cpu")
        self.dir = make_spool(self.bases)
        self.max_bytes = room(self.dir, self.max_bytes)
        r, w = os.pipe2(os.O_CLOEXEC)
        writer = SpoolWriter(
            self.dir, layout.page_size, w, self.max_bytes, len(cpus), stopping=self.stopping
        )
        argv = [
            sys.executable,
            "-m",
            "ftop.stream_render",
            "--top", str(top),
            "--where", str(where),
            "--release", self.sess.kernel_release or "",
            "--dir", str(self.dir),
            "--fd", str(r),
            "--page-size", str(layout.page_size),
            "--segment-bytes", str(writer.segment_bytes),
        ]  # fmt: skip
        if self.as_json:
            argv.append("--json")
        if self.count:
            argv += ["--count", str(self.count)]
        if threading.current_thread() is threading.main_thread():
            # Ignored here, so ignored in the child until it sets its handler (an
            # ignored signal stays ignored across exec): a stop that comes before the
            # renderer is ready must not kill it.
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        # The renderer stays in this session and process group. In a session of its
        # own it would be a scheduling group of its own where the kernel has
        # autogroups (Debian's default, with no cpu cgroup): one as heavy as the
        # reader's, whatever its idle priority, and the reader then lost 10 to 20 %
        # of a flood on a CPU they share (bench/ingest.py). So the terminal's Ctrl-C
        # reaches it too: it ignores SIGINT from its first instruction, since it is
        # blocked here across the spawn (a blocked signal stays blocked across exec)
        # and the renderer ignores it before it unblocks it. A Ctrl-C in between
        # waits here and reaches this process when unblocked.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.child = subprocess.Popen(argv, pass_fds=(r,), stdin=subprocess.DEVNULL)
        finally:
            os.close(r)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.writer = writer
        self.reader = RawReader(
            where / "per_cpu",
            layout.page_size,
            writer.add,
            cpus=cpus,
            on_cycle=writer.commit,
            # What is left stays in the kernel buffer, as with cat: Ctrl-C stops now.
            drain_on_stop=False,
        )
        self.reader.start()

    @property
    def pids(self) -> List[int]:
        return [self.child.pid] if self.child is not None else []

    @property
    def running(self) -> bool:
        """Reading, and the renderer still wants text (not gone, --count not reached)."""
        return (
            self.reader is not None
            and self.reader.running
            and not self.stopping.is_set()
            and self.child is not None
            and self.child.poll() is None
        )

    @property
    def error(self) -> Optional[str]:
        if self.reader is not None and self.reader.error is not None:
            return f"trace_pipe_raw: {self.reader.error.strerror or self.reader.error}"
        if self.writer is not None and self.writer.error is not None:
            e = self.writer.error
            return f"spool {self.dir}: {e.strerror or e}"
        return None

    def notes(self) -> List[str]:
        """What stderr should say now about the lag (at most every NOTE_EVERY_S)."""
        w = self.writer
        if w is None:
            return []
        out = []
        if w.waits > self._full_noted:
            self._full_noted = w.waits
            out.append(
                f"the spool is full ({self.max_bytes >> 20} MiB of pages not printed yet): "
                "the kernel overwrites events until the text catches up (--spool-size "
                "raises the bound)"
            )
        pending = w.pending_bytes()
        now = time.monotonic()
        if pending >= NOTE_BYTES and now - self._noted_at >= NOTE_EVERY_S:
            self._noted_at = now
            out.append(
                f"the text lags the trace: {pending >> 20} MiB of pages read and not "
                f"printed yet (in {self.dir}); nothing is lost while they wait"
            )
        return out

    def stop_reading(self) -> None:
        """Stop taking pages (the restore may then run: nothing here waits on the
        renderer)."""
        self.stopping.set()
        if self.reader is not None:
            self.reader.stop()

    def release(self) -> None:
        """After the restore: the renderer to normal priority, told where the pages
        end, and that output nobody takes may now be given up."""
        child = self.child
        if child is not None and child.poll() is None:
            # Set from here too: an idle-priority process on a busy box may take a
            # while to run its own signal handler.
            to_normal(child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGUSR1)
        if self.writer is not None:
            self.writer.close()

    def finish(self) -> int:
        """Wait for the renderer to print what was read (a Ctrl-C drops the rest);
        the renderer's exit status. Removes the spool."""
        child = self.child
        rc = 0
        try:
            if child is not None:
                try:
                    rc = child.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pending = self.writer.pending_bytes() if self.writer is not None else 0
                    _say(
                        f"ftop: printing the {max(1, pending >> 20)} MiB of pages read "
                        "before the stop (Ctrl-C drops them)",
                        sys.stderr,
                    )
                    try:
                        rc = child.wait()
                    except SystemExit:
                        child.kill()  # SIGTERM, SIGHUP: no one to print for
                        raise
                    except KeyboardInterrupt:
                        pending = self.writer.pending_bytes() if self.writer else 0
                        child.terminate()
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            child.wait(timeout=5)
                        if child.poll() is None:
                            child.kill()
                            child.wait()
                        _say(
                            f"ftop: dropped about {max(1, pending >> 20)} MiB of pages "
                            "read and not printed",
                            sys.stderr,
                        )
                        rc = 0
        finally:
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def kill(self) -> None:
        """No terminal to print to (SIGHUP, SIGTERM): the renderer goes too."""
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
