"""Finding tracefs and the one layer every read and write of it goes through."""

from __future__ import annotations

import contextlib
import errno as _errno
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List, NamedTuple, Optional

from ftop.engine.errors import TracefsError, TracefsNotFound, error_class

CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")

# Files whose refusals the kernel explains in error_log; only around writes to
# these do we pay for reading error_log before and after.
_ERROR_LOG_USERS = (
    "filter",
    "trigger",
    "kprobe_events",
    "uprobe_events",
    "dynamic_events",
    "synthetic_events",
    "set_event",
    "hist",
)


def _mounts(proc_mounts: str = "/proc/mounts") -> List[tuple[str, str]]:
    """(mountpoint, fstype) pairs from /proc/mounts."""
    out = []
    try:
        with open(proc_mounts) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    # Mount points escape spaces as \040.
                    out.append((parts[1].replace("\\040", " "), parts[2]))
    except OSError:
        pass
    return out


def find_tracefs(
    override: Optional[str] = None, mount: bool = True, proc_mounts: str = "/proc/mounts"
) -> Path:
    """Where tracefs is, mounting it when we are root and it is not mounted.

    Reads /proc/mounts rather than guessing: a directory that exists but is empty
    (``/sys/kernel/tracing`` before mounting) is not tracefs.
    """
    if override:
        p = Path(override)
        if not (p / "trace").exists() and not (p / "current_tracer").exists():
            raise TracefsNotFound(f"{p} does not look like tracefs (no 'trace' file there)")
        return p
    mounts = _mounts(proc_mounts)
    by_point = {point: fs for point, fs in mounts}
    for cand in CANDIDATES:
        if by_point.get(cand) == "tracefs":
            return Path(cand)
    # debugfs mounted: its tracing/ directory is an automount of tracefs.
    if by_point.get("/sys/kernel/debug") == "debugfs" and Path(CANDIDATES[1], "trace").exists():
        return Path(CANDIDATES[1])
    for point, fs in mounts:
        if fs == "tracefs":
            return Path(point)
    if not mount:
        raise TracefsNotFound("tracefs is not mounted")
    if os.geteuid() != 0:
        # Said to a user who may have no sudo: what root would do, once, for good.
        raise TracefsNotFound(
            "tracefs is not mounted and only root can mount it: as root, "
            "`mount -t tracefs -o gid=tracing,mode=0750 nodev /sys/kernel/tracing` "
            "lets the members of group tracing use ftop without root"
        )
    target = CANDIDATES[0]
    if not os.path.isdir(target):
        raise TracefsNotFound(
            f"{target} does not exist: this kernel was built without tracefs (CONFIG_TRACING)"
        )
    rc = os.system(f"mount -t tracefs nodev {target} 2>/dev/null")
    if rc != 0 or not Path(target, "trace").exists():
        raise TracefsNotFound(
            f"could not mount tracefs on {target} (mount exited {rc}); "
            "in a container, the host must expose /sys/kernel/tracing"
        )
    return Path(target)


def lockdown_mode() -> Optional[str]:
    """The active kernel lockdown mode (``none``, ``integrity``, ``confidentiality``), if readable."""
    try:
        text = Path("/sys/kernel/security/lockdown").read_text()
    except OSError:
        return None
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return None


class OpenFile(NamedTuple):
    """A file another process has open, as ``/proc/PID/fd`` shows it."""

    pid: int
    comm: str
    target: str


def open_files(match: Callable[[str], bool], proc: str = "/proc") -> List[OpenFile]:
    """The first open file of each other process whose path ``match`` accepts: one pass
    over ``proc``, reading the links in ``PID/fd``.

    Never raises: processes and their fds come and go during the walk, another user's
    fd folder is refused (EACCES without root) and ``proc`` may be unreadable; all of
    these are passed over. ``comm`` is the kernel's bytes, undecodable ones kept as
    surrogates (a task may name itself anything; the UI escapes it when shown).
    """
    found: List[OpenFile] = []
    me = os.getpid()
    try:
        with os.scandir(proc) as procs:
            pids = [int(e.name) for e in procs if e.name.isdigit() and int(e.name) != me]
    except OSError:
        return found
    for pid in pids:
        base = os.path.join(proc, str(pid))
        try:
            with os.scandir(os.path.join(base, "fd")) as fds:
                for fd in fds:
                    try:
                        target = os.readlink(fd.path)
                    except OSError:
                        continue  # closed since the folder was listed
                    if match(target):
                        with open(os.path.join(base, "comm"), "rb") as f:
                            raw = f.read()
                        comm = raw.decode("utf-8", "surrogateescape").strip()
                        found.append(OpenFile(pid, comm, target))
                        break
        except OSError:
            continue  # the process exited, or its fds are not ours to see
    return found


def holders(prefix: str) -> List[str]:
    """Processes with a file under ``prefix`` open, as ``comm (pid N)``: who may hold an EBUSY."""
    return [
        f"{o.comm} (pid {o.pid}) has {o.target} open"
        for o in open_files(lambda target: target.startswith(prefix))
    ]


class SlowWrites:
    """Tells when a write to tracefs keeps the kernel busy for long.

    Switching to function or function_graph patches every traced call site (tens
    of thousands, under stop_machine); on an emulated machine that can take a
    minute, and the write(2) cannot be interrupted: a signal waits for it. So the
    user is told what ftop is waiting for instead of a frozen screen. One daemon
    thread, started when ``on_slow`` is first set, looks at the
    write in flight every quarter second; ``on_slow(what, seconds)`` is called
    after ``after`` seconds and then every ``every`` seconds while it lasts.
    """

    def __init__(self, after: float = 1.0, every: float = 10.0) -> None:
        self.after = after
        self.every = every
        self._on_slow: Optional[Callable[[str, float], None]] = None
        self._what: Optional[str] = None
        self._since = 0.0
        self._told = 0.0
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    @property
    def on_slow(self) -> Optional[Callable[[str, float], None]]:
        return self._on_slow

    @on_slow.setter
    def on_slow(self, fn: Optional[Callable[[str, float], None]]) -> None:
        # The watcher starts with the first listener: its thread is there from then on,
        # not born in the middle of a session (a thread count stays steady).
        self._on_slow = fn
        if fn is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ftop-slow-writes", daemon=True)
            self._thread.start()

    @contextlib.contextmanager
    def watch(self, what: str) -> Iterator[None]:
        if self._on_slow is None:
            yield
            return
        with self._lock:
            self._what, self._since, self._told = what, time.monotonic(), 0.0
        try:
            yield
        finally:
            with self._lock:
                self._what = None

    def _run(self) -> None:
        while True:
            time.sleep(0.25)
            with self._lock:
                what, since, told = self._what, self._since, self._told
            if what is None:
                continue
            now = time.monotonic()
            waited = now - since
            if waited >= self.after and (not told or now - told >= self.every):
                with self._lock:
                    if self._what == what:
                        self._told = now
                cb = self._on_slow
                if cb is not None:
                    cb(what, waited)


# The one watcher of the process (a CLI or the TUI sets on_slow).
SLOW = SlowWrites()


def slow_note(what: str, seconds: float) -> str:
    """The message for a write the kernel has taken ``seconds`` over so far."""
    return f"waiting for the kernel ({seconds:.0f} s): {what}{slow_hint(what)}"


def slow_hint(what: str) -> str:
    """Why a write may be slow, for the message that says ftop is waiting for it."""
    if "current_tracer <- function" in what or "current_tracer <- nop" in what:
        return " (the kernel patches every traced call site; slow on an emulated machine)"
    if "buffer_size_kb" in what:
        return " (the kernel allocates the ring buffer)"
    return ""


def tracefs_roots(proc_mounts: str = "/proc/mounts") -> List[str]:
    """Every place this kernel's tracefs is reachable: its mounts, and debugfs's
    ``tracing`` automount."""
    out = []
    for point, fs in _mounts(proc_mounts):
        if fs == "tracefs":
            out.append(point)
        elif fs == "debugfs":
            out.append(point.rstrip("/") + "/tracing")
    return out


def other_readers(path: Path, proc_mounts: str = "/proc/mounts") -> List[str]:
    """Other processes with this buffer's ``trace_pipe`` or a ``trace_pipe_raw`` open, as
    ``comm (pid N)``: reads consume, so they and ftop each get part of the events.
    ``path`` is a tracefs top level or an instance. Where it is on a real tracefs, the
    same buffer opened through another mount (/sys/kernel/debug/tracing) counts; a
    folder that is no tracefs (the demo's, a test's) matches only itself, so that the
    machine's own readers are never reported for it.
    """
    if path.parent.name == "instances":
        top_dir, inner = path.parent.parent, f"instances/{re.escape(path.name)}/"
    else:
        top_dir, inner = path, ""
    roots = {str(top_dir).rstrip("/")}
    mounts = tracefs_roots(proc_mounts)
    if str(top_dir).rstrip("/") in mounts:
        roots.update(m.rstrip("/") for m in mounts)
    pattern = re.compile(
        "^(?:" + "|".join(re.escape(r) for r in sorted(roots)) + ")/" + inner
        + r"(?:per_cpu/cpu\d+/)?trace_pipe(?:_raw)?$"
    )  # fmt: skip

    def match(target: str) -> bool:
        return target.endswith(("trace_pipe", "trace_pipe_raw")) and bool(pattern.match(target))

    return [f"{o.comm} (pid {o.pid})" for o in open_files(match)]


class Tracefs:
    """One tracefs directory (the top level or an instance) and typed access to its files.

    Every refusal becomes a :class:`~ftop.engine.errors.TracefsError` subclass with
    the errno explained, and for files the kernel reports on in ``error_log``, the
    lines that this very write added.
    """

    def __init__(self, root: Path, instance: Optional[str] = None) -> None:
        self.root = Path(root)
        self.instance = instance
        self.path = self.root / "instances" / instance if instance else self.root

    def __repr__(self) -> str:
        return f"Tracefs({str(self.root)!r}, instance={self.instance!r})"

    def top(self) -> Tracefs:
        """The top-level tracefs this directory belongs to."""
        return self if self.instance is None else Tracefs(self.root)

    def sub(self, instance: Optional[str]) -> Tracefs:
        """The same tracefs, another instance (None: the top level)."""
        return Tracefs(self.root, instance)

    def file(self, rel: str) -> Path:
        return self.path / rel

    def exists(self, rel: str) -> bool:
        return (self.path / rel).exists()

    def is_dir(self, rel: str) -> bool:
        return (self.path / rel).is_dir()

    def listdir(self, rel: str) -> List[str]:
        """Entries of a directory here, sorted; empty if missing."""
        try:
            return sorted(os.listdir(self.path / rel))
        except OSError:
            return []

    def dirs(self, rel: str) -> List[str]:
        """The directories in ``rel`` (event systems, a system's events), sorted; empty
        if missing. One scandir: the entry types come with the names, no stat each."""
        try:
            with os.scandir(self.path / rel) as entries:
                return sorted(e.name for e in entries if e.is_dir())
        except OSError:
            return []

    def label(self, rel: str) -> str:
        """A path as a user would type it after cd into tracefs."""
        return f"instances/{self.instance}/{rel}" if self.instance else rel

    # -- reads -----------------------------------------------------------------

    def read(self, rel: str) -> str:
        """The whole file as text. Raises a TracefsError on refusal."""
        try:
            with open(self.path / rel, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError as e:
            raise self.refusal(rel, "read", e, None, []) from None

    def read_or(self, rel: str, default: Optional[str] = None) -> Optional[str]:
        """The file as text, or ``default`` if it is absent or refused."""
        try:
            return self.read(rel)
        except TracefsError:
            return default

    def read_value(self, rel: str) -> str:
        """A one-value file, stripped."""
        return self.read(rel).strip()

    def read_lines(self, rel: str, skip_comments: bool = True) -> List[str]:
        lines = self.read(rel).splitlines()
        if skip_comments:
            lines = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
        return lines

    def error_log(self) -> List[str]:
        """Current ``error_log`` lines (instances have their own since 5.x)."""
        text = self.read_or("error_log")
        if text is None and self.instance is not None:
            text = self.top().read_or("error_log")
        return (text or "").splitlines()

    # -- writes ----------------------------------------------------------------

    def write(self, rel: str, value: str, append: bool = False) -> None:
        """Write ``value`` in one write(2), as ``echo value > rel`` (or ``>>`` with append).

        The kernel treats open-with-truncate as "replace" for the function filter
        files and plain open as "add": the flag matters, not only the content.
        """
        with SLOW.watch(f"{self._where(rel)} <- {value.strip()[:60]}"):
            self._write(rel, value, append)

    def _where(self, rel: str) -> str:
        return f"instances/{self.instance}/{rel}" if self.instance else rel

    def _write(self, rel: str, value: str, append: bool) -> None:
        data = value.encode()
        if not data.endswith(b"\n"):
            data += b"\n"
        wants_log = any(rel.endswith(name) for name in _ERROR_LOG_USERS)
        before = self.error_log() if wants_log else []
        flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
        try:
            fd = os.open(self.path / rel, flags)
        except OSError as e:
            raise self.refusal(rel, "append" if append else "write", e, value, []) from None
        try:
            # The filter files take one word per write(2) and return a short
            # count: keep writing until the kernel has taken everything.
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                if n <= 0:
                    break
                view = view[n:]
            # Some refusals only surface at close (release() validates the filter files).
            os.close(fd)
            fd = -1
        except OSError as e:
            new_log = self._new_log_lines(before) if wants_log or e.errno == _errno.EINVAL else []
            raise self.refusal(rel, "append" if append else "write", e, value, new_log) from None
        finally:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _new_log_lines(self, before: List[str]) -> List[str]:
        """The entries of error_log that were not there in ``before``.

        error_log keeps only the last few entries and drops the oldest, so
        compare entries by their `[timestamp] ...` header line (unique), not by
        position; a caret line alone says nothing.
        """
        seen = {ln for ln in before if ln.startswith("[")}
        out: List[str] = []
        keep = False
        for ln in self.error_log():
            if ln.startswith("["):
                keep = ln not in seen
            if keep:
                out.append(ln)
        return out

    # -- instances ---------------------------------------------------------------------

    def make_instance(self, name: str) -> None:
        """``mkdir instances/<name>`` under the top level (the kernel fills it in)."""
        try:
            os.mkdir(self.top().root / "instances" / name)
        except OSError as e:
            raise self.top().refusal(f"instances/{name}", "write", e, "mkdir", []) from None

    def remove_instance(self, name: str, wait_s: float = 5.0) -> None:
        """``rmdir instances/<name>``, the one retry policy for every caller.

        Any open file of the instance (a reader just closing its trace_pipe, a
        poll reading per_cpu stats) holds it for a moment (EBUSY): retry for up to
        ``wait_s``, which a loaded machine needs, before calling it a refusal.
        """
        top = self.top()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                os.rmdir(top.root / "instances" / name)
                return
            except OSError as e:
                if e.errno == _errno.EBUSY and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise top.refusal(f"instances/{name}", "write", e, "rmdir", []) from None

    # -- explaining refusals ------------------------------------------------------

    def refusal(
        self, rel: str, op: str, e: OSError, value: Optional[str], log: List[str]
    ) -> TracefsError:
        """The kernel's refusal of ``op`` on ``rel`` as a typed error: errno, why, error_log."""
        err = e.errno or 0
        return error_class(err)(
            self.label(rel), op, err, self.explain(rel, err, op, log), value, log
        )

    def _not_permitted(self, rel: str) -> str:
        """A non-root user refused: the file's owner, group and mode, and who may."""
        target = self.path / rel
        if not target.exists():
            target = target.parent  # a mkdir/rmdir under instances/
        try:
            st = os.stat(target)
            modes = f"{st.st_uid}:{st.st_gid} mode {st.st_mode & 0o7777:04o}"
        except OSError:
            modes = "its modes unreadable"
        return (
            f"permission denied for uid {os.getuid()} ({self.label(rel)}: {modes}): root may, "
            "or a group the tracefs mount (gid=) or the file's modes allow"
        )

    def explain(self, rel: str, err: int, op: str, log: List[str]) -> str:
        """One sentence on why the kernel said ``err`` for this file."""
        if err in (_errno.EPERM, _errno.EACCES):
            if os.geteuid() != 0:
                return self._not_permitted(rel)
            mode = lockdown_mode()
            if mode and mode != "none":
                return f"refused by the kernel: lockdown is in '{mode}' mode"
            if rel in ("current_tracer",) or "ftrace" in rel or "filter_functions" in rel:
                return (
                    "refused although we are root: function tracing is not permitted on "
                    "this kernel (lockdown, a security module or the hypervisor forbids it)"
                )
            return "refused although we are root (lockdown or a security module)"
        if err == _errno.EBUSY:
            who = holders(str(self.root))
            base = "busy"
            if rel.endswith("current_tracer"):
                base = "busy: the tracer cannot change while trace_pipe is open for reading"
            elif "instances/" in rel or rel == "instances":
                base = "busy: the instance is in use (a reader has one of its files open)"
            elif rel.endswith("_events"):
                base = "busy: a probe is still enabled; disable it before removing it"
            return base + (f" ({'; '.join(who[:3])})" if who else "")
        if log:
            # Whatever the errno, the kernel's own words are the best reason.
            return "the kernel rejected it (its error_log says why, below)"
        if err == _errno.EINVAL:
            if "ftrace" in rel or "graph" in rel:
                return (
                    "the kernel rejected it: no such traceable function (not in "
                    "available_filter_functions: inlined, notrace, or in a module not loaded)"
                )
            return "the kernel rejected the value as invalid"
        if err in (_errno.ENODEV, _errno.ENOENT):
            if (self.path / rel).exists():
                # The file is there: what the value names is not.
                if rel.endswith(("kprobe_events", "dynamic_events")):
                    return "no such kernel symbol (or module) for this probe"
                if rel.endswith("uprobe_events"):
                    return "no such file, or no such offset in it, for this uprobe"
                return "the kernel found nothing the value names"
            return "not available: this kernel was built without it"
        if err in (_errno.ENOMEM, _errno.ENOSPC):
            return "the kernel ran out of memory or room for this request"
        return os.strerror(err) if err else "failed"


def list_dir(tfs: Tracefs, rel: str) -> List[str]:
    """Entries of a tracefs directory, sorted; empty if missing."""
    return tfs.listdir(rel)
