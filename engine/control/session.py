"""A tracing session: the one object a CLI, a test or the TUI drives.

It owns the journal (written before the first change), applies changes as
transactions, streams trace_pipe into the ring and the aggregates, polls the
cheap state, and restores the exact prior state on every way out.

One piece on purpose (about 800 lines): every method that writes takes the one
lock that a restore also takes, so a quit can never race a change, a stream
restart or an instance switch; the pieces that need no lock live elsewhere
(config, transaction, state, journal, the readers).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence

from ftop.engine.control import journal as journal_mod
from ftop.engine.control import state as state_mod
from ftop.engine.control.access import AccessFn, access_note, check_readable, write_refusal
from ftop.engine.control.capabilities import Capabilities, probe
from ftop.engine.control.config import TraceConfig, plan, validate_instance_name
from ftop.engine.control.journal import Journal
from ftop.engine.control.state import RestoreReport, State
from ftop.engine.control.tracefs import Tracefs, find_tracefs, list_dir, other_readers
from ftop.engine.control.transaction import Change, TransactionResult
from ftop.engine.control.transaction import apply as apply_changes
from ftop.engine.errors import FtopError, JournalError, TracefsError
from ftop.engine.stream.ring import Ring
from ftop.engine.stream.stats import Aggregates, parse_cpu_stats
from ftop.engine.stream.trace_pipe import BATCH_BYTES, LineReader, TracePipeReader

if TYPE_CHECKING:
    from ftop.engine.raw.page_ring import PageRing
    from ftop.engine.raw.stream import RawSource
    from ftop.engine.stream.predates import PreSessionSplit, StartMark


@dataclass
class Status:
    """The cheap state, polled on a timer."""

    tracer: str = "?"
    tracing_on: bool = True
    events_enabled: int = 0
    function_filters: int = 0
    buffer_size_kb: str = ""
    clock: str = ""
    cpu_stats: Dict[int, Dict[str, float]] = field(default_factory=dict)
    overrun: int = 0
    dropped: int = 0
    stack_max_size: Optional[int] = None
    max_latency: Optional[int] = None
    polled_at: float = 0.0
    # Changes someone else made since the last poll ("current_tracer: nop -> function
    # (not ftop)"): shown once each, never undone by ftop while it runs.
    outside_changes: List[str] = field(default_factory=list)
    # Other processes reading this buffer's trace_pipe / trace_pipe_raw: each read
    # consumes, so the events are split between them and ftop.
    other_readers: List[str] = field(default_factory=list)
    # The instance ftop works in was removed by someone else.
    instance_gone: bool = False


@dataclass
class Recovery:
    """A stale journal found at start and what restoring it did."""

    journal: Journal
    report: RestoreReport


def _other_ftop(j: Journal, tfs: Tracefs) -> str:
    """What another running ftop works on, and how to keep out of its way."""
    if j.tracefs != str(tfs.root):
        return f"another ftop is running (pid {j.pid}) on {j.tracefs}"
    where = sorted(j.touched or {})
    mine = tfs.instance or ""
    names = ", ".join(f"instance {w}" if w else "the top-level buffer" for w in where)
    if mine in where or j.touched is None:
        return (
            f"another ftop (pid {j.pid}) works on {names or 'this buffer'} too: you share "
            "its events and settings; use an instance of your own (-B NAME, or the Setup "
            "screen's instance) to keep out of each other's way"
        )
    return f"another ftop is running (pid {j.pid}), on {names or 'nothing yet'}"


# How often a view's raw reader looks at an idle CPU's partial page: a view's frame.
VIEW_POLL_S = 1 / 30

READONLY_REFUSAL = (
    "ftop was started with --readonly: it writes nothing to tracefs (and keeps no "
    "journal); start it without --readonly to change tracing"
)


def _outside_changes(last: Dict[str, str], seen: Dict[str, str]) -> List[str]:
    out = []
    for key, now in seen.items():
        before = last.get(key)
        if before is None or before == now:
            continue
        if key == "set_event":
            old, new = set(before.split()), set(now.split())
            diff = [f"+{e}" for e in sorted(new - old)] + [f"-{e}" for e in sorted(old - new)]
            shown = " ".join(diff[:4]) + (f" (+{len(diff) - 4} more)" if len(diff) > 4 else "")
            out.append(f"events changed outside ftop: {shown}")
        elif key == "tracing_on":
            out.append(f"tracing_on {before} -> {now}, not by ftop (someone else, or a trigger)")
        else:
            out.append(f"{key}: {before or '(empty)'} -> {now or '(empty)'}, not by ftop")
    return out


def _describe_foreign(st: State, caps: Capabilities) -> List[str]:
    notes = []
    if st.current_tracer not in (None, "nop"):
        notes.append(f"current_tracer is '{st.current_tracer}'")
    if st.tracing_on == "0":
        notes.append("tracing_on is 0")
    if st.events_enabled:
        notes.append(f"{len(st.events_enabled)} events enabled")
    if st.event_filters:
        notes.append(f"{len(st.event_filters)} event filters set")
    if st.event_triggers:
        notes.append(f"{len(st.event_triggers)} event triggers set")
    for name, lst in st.function_filters.items():
        if lst:
            notes.append(f"{name} has {len(lst)} entries")
    if st.function_triggers:
        notes.append(f"{len(st.function_triggers)} function triggers")
    for name, probes in st.probes.items():
        if probes:
            notes.append(f"{len(probes)} entries in {name}")
    if st.instances:
        notes.append("instances: " + ", ".join(st.instances))
    for name, pids in st.pids.items():
        if pids:
            notes.append(f"{name}: {' '.join(pids)}")
    if st.stack_tracer_enabled == "1":
        notes.append("the stack tracer is enabled")
    return notes


def _shapes_text(rel: str) -> bool:
    """Does writing ``rel`` change how the kernel prints what is in the buffer?"""
    return rel.startswith("options/") or rel in ("trace_options", "trace_clock")


class Session:
    """Drive one tracefs (top level or an instance) with restore guaranteed.

    Args:
        tfs: the tracefs to work in. ``Session.open()`` finds it for you.
        keep: leave the configuration in place on exit (``--keep``).
        journal_dir: where journals go (default: ``/run/ftop`` for root, a private
            folder of the user's otherwise; see :func:`journal.default_dir`).
        ring: the ring the stream goes into.
        access: ``os.access``'s shape; decides which files this user may write
            (injectable: root passes every mode check, so tests pass a fake).

    It is a :class:`~ftop.engine.backend.Backend` (``kind`` "live").
    """

    kind = "live"
    # --readonly: nothing is written, not even the journal (like htop --readonly);
    # every change is refused with the reason. Reading trace_pipe still consumes the
    # events it reads, as any reader does.
    read_only = False

    @property
    def label(self) -> str:
        """Where the session works: the tracefs mount, and its instance (``/sys/... [x]``)."""
        return str(self.tfs.root) + (f" [{self.tfs.instance}]" if self.tfs.instance else "")

    # The clock moves (only the demo can freeze it).
    realtime = True

    def __init__(
        self,
        tfs: Tracefs,
        keep: bool = False,
        journal_dir: Optional[Path] = None,
        ring: Optional[Ring] = None,
        aggregates: Optional[Aggregates] = None,
        access: AccessFn = os.access,
    ) -> None:
        self.tfs = tfs
        self.access = access
        self.keep = keep
        self.journal_dir = journal_dir
        self.ring = ring if ring is not None else Ring()
        self.aggregates = aggregates if aggregates is not None else Aggregates()
        self.journal: Optional[Journal] = None
        self.caps: Capabilities = probe(tfs)
        self.reader: Optional[LineReader] = None
        # "auto": the raw pages when the kernel allows it, else the text;
        # "text" (``--text``) or "raw" force one.
        self.stream_mode = "auto"
        # What the running (or last) stream reads, and why not raw when text.
        self.stream_kind = ""
        self.raw_why: Optional[str] = None
        # ftop's own threads are left out of what it traces (set_event_notrace_pid,
        # set_ftrace_notrace_pid), as trace-cmd and perf leave themselves out.
        self.trace_self = False
        self.self_notrace_error: Optional[str] = None
        # The raw pages as read (a viewer's save as trace.dat); None until a raw stream.
        self.pages: Optional[PageRing] = None
        self.status = Status()
        self.listeners: List[Callable[[Sequence[str]], None]] = []
        self.byte_listeners: List[Callable[[bytes], None]] = []
        # A headless stream to stdout needs neither ring nor aggregates.
        self.keep_ring = True
        # Bytes the reader gathers before handing a batch over (see TracePipeReader).
        self.batch_bytes = BATCH_BYTES
        # None: this machine's kernel (a viewer shows platform.release()).
        self.kernel_release: Optional[str] = None
        self._lock = threading.RLock()
        # What the last poll saw (outside changes are told from ours by _own_applies).
        self._own_applies = 0
        self._seen: Dict[str, str] = {}
        self._seen_applies = 0
        self.outside_log: List[str] = []
        self._readers: List[str] = []
        # None until the first poll: that one comes before a view's first frame, and
        # the scan of every process's open files (tens of ms on a box with a thousand
        # processes) is left to the next, on the poll worker.
        self._readers_at: Optional[float] = None
        self._restored = False
        self._raw_source: Optional[RawSource] = None
        self._raw_source_for: Optional[Path] = None
        # How the raw pipe gets its source (formats, kallsyms): a save builds it itself
        # when the decoder has not yet (it does on its first take, which can come after
        # the first pages are kept; reading every format takes a while).
        self._raw_source_factory: Optional[Callable[[], RawSource]] = None
        self._raw_source_lock = threading.Lock()
        self._prev_handlers: Dict[int, object] = {}
        self.initial_state: Optional[State] = None
        self.foreign: List[str] = []
        self.last_error: Optional[FtopError] = None
        # When ftop started reading each buffer (by its folder), and the split of that
        # buffer's head into what was there before and what is live. A restart of the
        # stream in the same buffer (a tracer switch, raw to text) is not a new start:
        # what it reads was left there during the session.
        self.start_marks: Dict[str, StartMark] = {}
        self._splits: Dict[str, PreSessionSplit] = {}
        self._split: Optional[PreSessionSplit] = None

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        tracefs: Optional[str] = None,
        instance: Optional[str] = None,
        keep: bool = False,
        journal_dir: Optional[Path] = None,
        ring: Optional[Ring] = None,
        access: AccessFn = os.access,
    ) -> Session:
        """The session on this machine's tracefs (or ``tracefs``).

        Raises TracefsNotFound, or its TracefsUnreadable when this user may not
        read it (decided by access, not by uid: a ``gid=`` mount lets a group in).
        """
        root = find_tracefs(tracefs)
        check_readable(root, access)
        if instance:
            validate_instance_name(instance)
        sess = cls(Tracefs(root), keep=keep, journal_dir=journal_dir, ring=ring, access=access)
        if instance:
            sess.use_instance(instance)
        return sess

    @property
    def top(self) -> Tracefs:
        return self.tfs.top()

    # -- what this user may do -------------------------------------------------------

    def may_write(self, rel: str) -> Optional[str]:
        """Why this session may not write ``rel`` (``instances`` for a mkdir), or None.

        --readonly refuses everything; otherwise the file's modes for this user
        decide (a tracefs mounted with ``gid=``, files made ``g+w``). A refusal is
        found before the journal and before any write: nothing is changed.
        """
        if self.read_only:
            return READONLY_REFUSAL
        where = self.top.path if rel == "instances" else self.tfs.path
        why = write_refusal(where, rel, self.access)
        return None if why is None else f"{why}: nothing was changed"

    def _writable(self, changes: List[Change]) -> List[Change]:
        """``changes`` without those to files this user may not write that would only
        write what the file already holds (``tracing_on`` 1 after ``-e``: a plan's
        habit, not a change); FtopError naming the first file that would change."""
        out = []
        for ch in changes:
            why = self.may_write("instances" if ch.mkdir else ch.rel)
            if why is None:
                out.append(ch)
                continue
            if not self.read_only and not (ch.mkdir or ch.append):
                now = self.tfs.read_or(ch.rel)
                if now is not None and now.strip() == ch.value.strip():
                    continue  # already so: nothing to write, so nothing refused
            raise FtopError(why)
        return out

    def access_note(self) -> Optional[str]:
        """What this user cannot write here, for the note at start; None if nothing."""
        if self.read_only:
            return None
        return access_note(self.top.root, self.tfs.path, self.access)

    def recover(self) -> List[Recovery]:
        """Restore every journal left by an ftop that died (SIGKILL, crash; also
        one killed half-way through its own restore: restoring is idempotent).

        Never raises: a journal that is not one ftop wrote is moved aside as
        ``*.corrupt`` and comes back as a stand-in whose ``journal.problem`` says
        which file and why; one whose restore fails outright is kept for a retry,
        its ``problem`` saying so. The session goes on either way.
        """
        out = []
        journals, corrupt = journal_mod.scan_journals(self.journal_dir, set_aside=True)
        for bad in corrupt:
            out.append(Recovery(journal_mod.stand_in(bad), RestoreReport()))
        for j in journals:
            if j.alive():
                continue
            try:
                report = restore_journal(j)
            except (FtopError, OSError) as e:
                # A tracefs gone or not mounted now: the journal stays for the next run.
                j.problem = (
                    f"could not restore the state left by ftop pid {j.pid} from {j.path}: "
                    f"{str(e).splitlines()[0]} (journal kept: `ftop restore` retries)"
                )
                report = RestoreReport()
            else:
                if report.ok and j.path.exists():
                    # Restored, but the folder went read-only: the next run would put
                    # the same state back again, over any change made since. Say so.
                    j.problem = (
                        f"restored the state left by ftop pid {j.pid} "
                        f"({len(report.writes)} writes), but could not remove {j.path}"
                    )
            out.append(Recovery(j, report))
        return out

    def detect_foreign(self) -> List[str]:
        """What someone else set up before us (reported, left alone, restored)."""
        st = state_mod.snapshot(self.top)
        self.initial_state = st
        self.foreign = _describe_foreign(st, self.caps)
        for j in journal_mod.live_journals(self.journal_dir):
            self.foreign.append(_other_ftop(j, self.tfs))
        return self.foreign

    # -- journal -------------------------------------------------------------------

    def ensure_journal(self, extra_instance: Optional[str] = None) -> Journal:
        """Snapshot and write the journal, once, before the first change."""
        with self._lock:
            if self.journal is None:
                j = journal_mod.new_journal(str(self.tfs.root), self.journal_dir)
                j.states.append(state_mod.snapshot(self.top))
                j.save()
                self.journal = j
            if self.tfs.instance and self.journal.state_for(self.tfs.instance) is None:
                if self.tfs.instance not in self.journal.created_instances:
                    self.journal.states.append(state_mod.snapshot(self.tfs))
                    try:
                        self.journal.save()
                    except JournalError:
                        # Not on disk: drop it, or the next call would find the
                        # state "journaled" and let writes through without it.
                        self.journal.states.pop()
                        raise
            return self.journal

    def use_instance(self, name: Optional[str]) -> None:
        """Work in instance ``name`` (created, journaled, if it does not exist).

        Under the restore's lock, like :meth:`apply`: a quit while the reader
        restarts waits for it instead of racing it, and no switch starts after it.
        """
        if name is not None:
            validate_instance_name(name)
        with self._lock:
            if self._restored:
                raise FtopError("tracing was already put back as it was: nothing changed")
            if self.read_only and name is not None and name not in list_dir(self.top, "instances"):
                raise FtopError(f"instance {name} does not exist, and {READONLY_REFUSAL}")
            was_streaming = self.reader is not None and self.reader.running
            self.stop_stream()
            if name is None:
                self.tfs = self.top
            else:
                if name not in list_dir(self.top, "instances"):
                    why = self.may_write("instances")
                    if why is not None:
                        # Before the journal: a user who may not mkdir changes nothing.
                        if was_streaming:
                            self.start_stream()
                        raise FtopError(f"instance {name} does not exist, and {why}")
                    j = self.ensure_journal()
                    j.created_instances.append(name)
                    try:
                        j.save()
                    except JournalError:
                        # Not on disk, so not ours to remove at restore: another
                        # process may make an instance of that name.
                        j.created_instances.remove(name)
                        raise
                    try:
                        self.top.make_instance(name)
                    except TracefsError:
                        j.created_instances.remove(name)
                        j.save()
                        raise
                self.tfs = self.top.sub(name)
                if self.journal is not None:
                    self.ensure_journal()
            self.caps = probe(self.tfs)
            if was_streaming:
                self.start_stream()

    # -- changing ---------------------------------------------------------------

    def apply(self, changes: List[Change]) -> TransactionResult:
        """Apply changes as one transaction (journal first; reader paused for the tracer).

        One transaction at a time, for every caller (each screen's worker, the CLI):
        the session's lock serialises them, and a restore waits for the one in flight.
        """
        if not changes:
            return TransactionResult()
        # Under the restore's lock: a quit while a change is under way (a UI worker)
        # waits for it, instead of racing its stream restart; none starts after.
        with self._lock:
            if self._restored:
                raise FtopError("tracing was already put back as it was: nothing changed")
            changes = self._writable(changes)
            if not changes:
                return TransactionResult()
            return self._apply_locked(changes)

    def _apply_locked(self, changes: List[Change]) -> TransactionResult:
        # A poll that sees a change across one of ours cannot tell whose it was.
        self._own_applies += 1
        j = self.ensure_journal()
        # Journal what is about to be written before writing it (SIGKILL may come
        # between): restore then undoes only what ftop changed.
        if j.touch(self.tfs.instance, [ch.rel for ch in changes if not ch.mkdir]):
            j.save()
        for ch in changes:
            if "probe_events" in ch.rel or ch.rel == "dynamic_events":
                self._note_probe(ch)
        needs_pause = any(ch.rel.endswith("current_tracer") for ch in changes)
        was_streaming = self.reader is not None and self.reader.running
        # The raw renderer reads the options that shape the text when it starts; the
        # kernel formats trace_pipe's text with the options of the moment.
        reshapes = (
            was_streaming
            and self.reader is not None
            and self.reader.kind == "raw"
            and any(_shapes_text(ch.rel) for ch in changes)
        )
        if needs_pause and was_streaming:
            # The kernel refuses to switch tracers while trace_pipe is open (EBUSY).
            self.stop_stream()
        try:
            return apply_changes(self.tfs, changes)
        finally:
            if needs_pause and was_streaming:
                self.start_stream()
            elif reshapes:
                self.stop_stream()
                self.start_stream()
            self.caps = probe(self.tfs) if needs_pause else self.caps

    def _note_probe(self, ch: Change) -> None:
        value = ch.value.strip()
        if not value or value.startswith("-:") or self.journal is None:
            return
        pfile = ch.rel.rsplit("/", 1)[-1]
        probes = self.journal.created_probes.setdefault(pfile, [])
        probes.append(value)
        try:
            self.journal.save()
        except JournalError:
            probes.remove(value)
            if not probes:
                del self.journal.created_probes[pfile]
            raise

    def validate(self, cfg: TraceConfig) -> None:
        """Check a configuration against this kernel without changing anything.

        Raises ConfigError. An instance that does not exist yet is judged by
        the top level, so a bad flag never creates an instance first.
        """
        target = self.tfs
        if cfg.instance and cfg.instance != self.tfs.instance:
            validate_instance_name(cfg.instance)
            exists = cfg.instance in list_dir(self.top, "instances")
            target = self.top.sub(cfg.instance) if exists else self.top
        plan(target, cfg, self.caps if target is self.tfs else probe(target))

    def apply_config(self, cfg: TraceConfig) -> TransactionResult:
        """Validate a trace-cmd-style configuration and apply it as one transaction."""
        self.validate(cfg)
        if cfg.instance and cfg.instance != self.tfs.instance:
            self.use_instance(cfg.instance)
        return self.apply(plan(self.tfs, cfg, self.caps))

    def write(self, rel: str, value: str, append: bool = False) -> None:
        """One change, as a one-step transaction."""
        self.apply([Change(rel, value, append)])

    def set_tracer(self, name: str) -> None:
        refusal = self.caps.tracer_refusal(name)
        if refusal:
            raise FtopError(f"tracer '{name}': {refusal}")
        self.write("current_tracer", name)

    def set_tracing_on(self, on: bool) -> None:
        self.write("tracing_on", "1" if on else "0")

    def set_event(self, system: str, event: Optional[str], on: bool) -> None:
        base = f"events/{system}/{event}" if event else f"events/{system}"
        self.write(f"{base}/enable", "1" if on else "0")

    def set_event_filter(self, system: str, event: str, text: str) -> None:
        self.write(f"events/{system}/{event}/filter", text.strip() or "0")

    def add_event_trigger(self, system: str, event: str, spec: str) -> None:
        self.write(f"events/{system}/{event}/trigger", spec, append=True)

    # -- reading ----------------------------------------------------------------------

    def clock(self) -> float:
        """Now, for the aggregates' windows: wall-clock time."""
        return time.time()

    def rate_series(self) -> Optional[List[float]]:
        """None: the rate is measured as the stream goes (only a saved trace has a series)."""
        return None

    def read(self, rel: str) -> str:
        return self.tfs.read(rel)

    def poll(self) -> Status:
        """Read the cheap state (about a dozen small files). Safe from any thread."""
        self.check_stream()
        t = self.tfs
        applies = self._own_applies
        st = Status(polled_at=time.time())
        if t.instance and not t.path.is_dir():
            st.instance_gone = True
        st.tracer = (t.read_or("current_tracer") or "?").strip()
        st.tracing_on = (t.read_or("tracing_on") or "1").strip() == "1"
        set_event = t.read_or("set_event") or ""
        st.events_enabled = len(set_event.split())
        n = 0
        for name in ("set_ftrace_filter", "set_ftrace_notrace", "set_graph_function"):
            text = t.read_or(name) if self.caps.function_tracing else None
            if text:
                n += sum(1 for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
        st.function_filters = n
        st.buffer_size_kb = (t.read_or("buffer_size_kb") or "").strip()
        clock = t.read_or("trace_clock") or ""
        st.clock = state_mod._selected(clock) if clock else ""
        for cpu_dir in list_dir(t, "per_cpu"):
            text = t.read_or(f"per_cpu/{cpu_dir}/stats")
            if text is None or not cpu_dir.startswith("cpu"):
                continue
            cpu = int(cpu_dir[3:])
            parsed = parse_cpu_stats(text)
            st.cpu_stats[cpu] = parsed
            st.overrun += int(parsed.get("overrun", 0))
            st.dropped += int(parsed.get("dropped events", 0))
            self.aggregates.update_cpu_stats(cpu, parsed)
        v = self.top.read_or("stack_max_size")
        st.stack_max_size = int(v) if v and v.strip().isdigit() else None
        v = t.read_or("tracing_max_latency")
        st.max_latency = int(v) if v and v.strip().isdigit() else None
        seen = {
            "current_tracer": st.tracer,
            "tracing_on": "1" if st.tracing_on else "0",
            "set_event": " ".join(sorted(set_event.split())),
            "buffer_size_kb": st.buffer_size_kb,
            "trace_clock": st.clock,
            "function filters": str(st.function_filters),
        }
        last, self._seen = self._seen, seen
        # Only across a quiet interval: no transaction of ours began since the last
        # poll, and none is under way now (it holds the lock).
        quiet = applies == self._seen_applies == self._own_applies
        self._seen_applies = self._own_applies
        if last and quiet and not st.instance_gone:
            st.outside_changes = _outside_changes(last, seen)
            self.outside_log.extend(st.outside_changes)
            del self.outside_log[:-20]
        now = time.monotonic()
        if self._readers_at is None:
            self._readers_at = now - 5.0
        elif now - self._readers_at >= 5.0:
            self._readers_at = now
            self._readers = other_readers(t.path)
        st.other_readers = list(self._readers)
        self.status = st
        return st

    # -- streaming ---------------------------------------------------------------

    def _on_batch(self, lines: Sequence[str]) -> None:
        if self.keep_ring:
            split = self._split
            if split is not None and split.open:
                # The head of the stream: what the buffer held before ftop started is
                # shown (with ftop's line where it ends) but not counted as live.
                cut = split.split(lines)
                lines = cut.lines
                self.ring.extend(lines)
                if cut.predates:
                    self.aggregates.note_predates(cut.predates)
                if split.why_closed is not None:
                    self.aggregates.note_predates_unknown(split.why_closed)
                self.aggregates.ingest(cut.live, time.time())
            else:
                self.ring.extend(lines)
                self.aggregates.ingest(lines, time.time())
        for fn in self.listeners:
            fn(lines)

    def _on_sampled(self, decoded_bytes: int, skipped_bytes: int) -> None:
        # A skipped span that predates the start is not part of the live sample.
        split = self._split
        if split is not None and split.take_skipped():
            skipped_bytes = 0
        self.aggregates.note_sampled(decoded_bytes, skipped_bytes)

    def _mark_start(self) -> None:
        """Note when ftop starts reading this buffer (the first time only): the buffer
        clock's "now" per CPU, the wall time, and the loss so far (see
        :mod:`ftop.engine.stream.predates`). A view's stream only: a headless one
        passes the kernel's text on untouched."""
        # Imported here: the stream starts after the first frame, which does not need it.
        from ftop.engine.stream.predates import PreSessionSplit, note_start, unmarked_line

        where = str(self.tfs.path)
        if not self.keep_ring:
            self._split = None
            return
        if where in self.start_marks:
            self._split = self._splits[where]
            return
        t = self.tfs
        stats = {}
        for cpu_dir in list_dir(t, "per_cpu"):
            text = t.read_or(f"per_cpu/{cpu_dir}/stats")
            if text is not None and cpu_dir.startswith("cpu") and cpu_dir[3:].isdigit():
                stats[int(cpu_dir[3:])] = parse_cpu_stats(text)
        clock = t.read_or("trace_clock") or ""
        mark = note_start(
            stats,
            state_mod._selected(clock) if clock else "",
            (t.read_or("current_tracer") or "").strip(),
            lambda name: t.read_or(f"options/{name}"),
        )
        self.start_marks[where] = mark
        self.aggregates.mark_start(mark.wall, mark.stats)
        self._split = self._splits[where] = PreSessionSplit(mark)
        if mark.entries and mark.why_unmarked is not None:
            self.aggregates.note_predates_unknown(mark.why_unmarked)
            self.ring.extend([unmarked_line(mark)])

    def start_stream(self) -> None:
        """Stream into the ring on a reader thread: ``trace_pipe_raw`` decoded to the
        kernel's text when the kernel allows it (see :mod:`ftop.engine.raw`), else
        ``trace_pipe``. ``stream_kind`` and ``raw_why`` say which and why.

        With ``keep_ring`` off and no line listeners, only ``byte_listeners``
        run: the text is never split into lines (the headless stream's path).
        """
        if self.reader is not None and self.reader.running:
            return
        wants_lines = self.keep_ring or bool(self.listeners)
        on_bytes = self._on_bytes if self.byte_listeners else None
        on_batch = self._on_batch if wants_lines else None
        self._mark_start()
        if self.stream_mode != "text":
            why = self._start_raw(on_batch, on_bytes)
            if why is None:
                return
            if self.stream_mode == "raw":
                raise FtopError(f"cannot read the raw buffer: {why}")
            self.raw_why = why
        else:
            self.raw_why = "--text"
        reader = TracePipeReader(
            str(self.tfs.file("trace_pipe")),
            on_batch,
            on_bytes=on_bytes,
            batch_bytes=self.batch_bytes,
        )
        self.reader = reader
        try:
            reader.start()
        except OSError as e:
            self.reader = None
            raise self.tfs.refusal("trace_pipe", "read", e, None, []) from None
        self.stream_kind = "text"
        self.leave_self_out()

    def save_tracedat(self, path: str) -> int:
        """The raw pages kept so far, as trace-cmd's trace.dat (version 6); the number
        of pages. FtopError when there are none (a text stream, the demo)."""
        from ftop.engine.tracedat.record import save_pages

        src = self._kept_source()
        if self.pages is None or src is None or not len(self.pages):
            why = self.raw_why or "nothing read yet"
            raise FtopError(f"no raw pages to save as trace.dat ({why}); save as text instead")
        return save_pages(src, self.pages.snapshot(), self.top.path, self.tfs.path, path)

    def _kept_source(self) -> Optional[RawSource]:
        """The raw source the kept pages go with, built now if the decoder has not yet;
        None without a raw pipe."""
        if self._raw_source_factory is None or self.pages is None or not len(self.pages):
            return self._raw_source
        return self._raw_source_factory()  # the decoder's (cached), or read now

    def save_pages_text(self, path: str, tracer: str = "nop", cpus: int = 1) -> int:
        """Every raw page kept, rendered to the kernel's text in ``path`` (all or
        nothing); the number of lines. What a sampled view saves: all the events it
        holds, not only those it had time to decode. FtopError when there are no pages."""
        from ftop.engine.raw.page_text import page_items, render_items, render_pages
        from ftop.engine.stream.save_text import save_text_batches

        src = self._kept_source()
        if self.pages is None or src is None or not len(self.pages):
            raise FtopError(f"no raw pages kept ({self.raw_why or 'nothing read yet'})")
        renderer = src.renderer()  # its own: the live decoder's stays on its thread
        graph = src.graph(renderer)
        layout = src.layout
        # A reader's pass (all CPUs) merges by time as trace_pipe does; pages of a
        # CPU are in order, so a window of pages is merged at a time.
        batches = render_pages(
            self.pages.snapshot(),
            lambda cpu, pages: page_items(pages, layout, cpu),
            lambda items: render_items(renderer, graph, items),
            window=256,
        )
        return save_text_batches(path, (b.lines for b in batches), tracer=tracer, cpus=cpus)

    def check_stream(self) -> Optional[str]:
        """In "auto" mode, go over to trace_pipe's text when the raw decoder falls
        behind the trace (the kernel overwrote pages it had not read): the kernel
        formats text faster than ftop decodes pages in Python. Returns what was
        done, to be shown, or None. Called by the poll loops."""
        reader = self.reader
        if self.stream_mode != "auto" or reader is None or reader.kind != "raw":
            return None
        behind = reader.fell_behind
        if not behind:
            return None
        with self._lock:
            if self._restored or self.reader is not reader:
                return None
            self.stop_stream()
            self.stream_mode = "text"
            try:
                self.start_stream()
            finally:
                self.stream_mode = "auto"
            self.raw_why = (
                f"the raw decoder fell behind the trace ({behind:,} events lost): "
                "reading trace_pipe's text, which the kernel formats faster"
            )
        return self.raw_why

    def set_trace_self(self, on: bool) -> None:
        """Trace ftop's own threads again (on), or leave them out (off, the default)."""
        self.trace_self = on
        if not on:
            self.leave_self_out()
            return
        try:
            tids = {int(t) for t in os.listdir("/proc/self/task")}
        except OSError:
            return
        changes = []
        for rel in ("set_event_notrace_pid", "set_ftrace_notrace_pid"):
            if not self.tfs.exists(rel):
                continue
            current = {int(x) for x in (self.tfs.read_or(rel) or "").split() if x.isdigit()}
            if current & tids:
                changes.append(Change(rel, " ".join(str(p) for p in sorted(current - tids))))
        self.apply(changes)

    def leave_self_out(self, also: Sequence[int] = ()) -> None:
        """Add ftop's threads, and the processes ``also`` (``ftop stream``'s renderer),
        to the notrace pid lists (journaled, restored on exit). A kernel without the
        files, or one that refuses, leaves ftop traced: the reason is kept in
        ``self_notrace_error``."""
        if self.trace_self or self._restored or self.read_only:
            return
        try:
            tids = {int(t) for t in os.listdir("/proc/self/task")} | set(also)
        except OSError:
            return
        for rel in ("set_event_notrace_pid", "set_ftrace_notrace_pid"):
            if rel == "set_ftrace_notrace_pid" and not self.caps.function_tracing:
                continue  # nothing to leave out where function tracing is refused
            if not self.tfs.exists(rel):
                continue
            text = self.tfs.read_or(rel) or ""
            current = {int(x) for x in text.split() if x.isdigit()}
            if tids <= current:
                continue
            value = " ".join(str(p) for p in sorted(current | tids))
            try:
                self.apply([Change(rel, value)])
            except FtopError as e:
                self.self_notrace_error = f"{rel}: {str(e).splitlines()[0]}"

    def _start_raw(
        self,
        on_batch: Optional[Callable[[Sequence[str]], None]],
        on_bytes: Optional[Callable[[bytes], None]],
    ) -> Optional[str]:
        """Start the raw pipe; None when it runs, else why it cannot."""
        from ftop.engine.raw.format import FormatError
        from ftop.engine.raw.stream import RawPipe, RawSource, raw_unavailable

        why = raw_unavailable(self.top.path / "events", self.tfs.path / "per_cpu")
        if why is not None:
            return why
        top, where, release = self.top.path, self.tfs.path, self.kernel_release or ""

        def source() -> RawSource:
            # Read once per folder, on the decoder's thread or a save's (the lock: not
            # both at once); kept for the next restart.
            with self._raw_source_lock:
                if self._raw_source is None or self._raw_source_for != where:
                    self._raw_source = RawSource.from_tracefs(top, where, release=release)
                    self._raw_source_for = where
                return self._raw_source

        self._raw_source_factory = source
        if self.keep_ring and self.pages is None:
            from ftop.engine.raw.page_ring import PageRing, budget_for

            # Sized with the ring (--ring): a small ring's pages do not grow on for
            # minutes after its lines are full.
            self.pages = PageRing(budget_for(self.ring.max_entries, self.ring.max_bytes))
        try:
            pipe = RawPipe(
                top,
                where,
                on_batch,
                on_bytes=on_bytes,
                source_factory=source,
                keep_pages=self.pages if self.keep_ring else None,
                # A view shows a quiet trace's partial pages at its own pace (a frame
                # every 1/30 s): read every 0.1 s, new lines came in bursts ten times
                # a second and the view moved ten times a second. trace-cmd polls
                # every millisecond; a headless stream keeps the longer wait.
                poll_interval=VIEW_POLL_S if self.keep_ring else 0.1,
                # A view decodes behind the reader and samples in a flood; a headless
                # stream (bytes out) renders every record.
                behind=self.keep_ring,
                on_sampled=self._on_sampled if self.keep_ring else None,
            )
            pipe.start()
        except FormatError as e:
            return str(e)
        except OSError as e:
            return f"trace_pipe_raw: {e.strerror or e}"
        self.reader = pipe
        self.stream_kind = "raw"
        self.raw_why = None
        self.leave_self_out()
        return None

    def limit_batch_bytes(self, limit: int) -> None:
        """Batches of at most ``limit`` bytes from the next reader on (a UI's lag stays low)."""
        self.batch_bytes = min(self.batch_bytes, limit)

    def _on_bytes(self, data: bytes) -> None:
        for fn in self.byte_listeners:
            fn(data)

    def stop_stream(self) -> None:
        if self.reader is not None:
            self.reader.stop()

    def write_marker(self, text: str) -> None:
        why = write_refusal(self.tfs.path, "trace_marker", self.access)
        if why is not None:
            raise FtopError(why)
        self.tfs.write("trace_marker", text)

    # -- leaving ------------------------------------------------------------------------

    def restore(self) -> Optional[RestoreReport]:
        """Put back exactly what was there before our first change (idempotent).

        With ``keep`` the configuration stays, but instances and probes are still
        listed in the journal... the journal is dropped so no later run undoes it.
        """
        with self._lock:
            if self._restored:
                return None
            self._restored = True
            # Held from the start: a second SIGHUP (ssh's, then the shell's) must not
            # kill us between closing trace_pipe and the last write.
            with _signals_held():
                self.stop_stream()
                if self.journal is None:
                    return None
                if self.keep:
                    self.journal.remove()
                    return RestoreReport()
                return restore_journal(self.journal, self.top)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGHUP (ssh dropping) become SystemExit, so ``finally`` blocks
        and the restore run; atexit covers the rest. Main thread only."""

        def handler(signum: int, frame: Optional[FrameType]) -> None:
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._prev_handlers[sig] = signal.signal(sig, handler)
        # SIGINT is KeyboardInterrupt even when it came ignored (a script's background
        # job inherits SIGINT ignored, and Python keeps it so): `kill -INT` must stop
        # and restore, as trace-cmd's own SIGINT handler does.
        self._prev_handlers[signal.SIGINT] = signal.signal(
            signal.SIGINT, signal.default_int_handler
        )
        atexit.register(self.restore)

    def close(self) -> Optional[RestoreReport]:
        return self.restore()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM/SIGHUP while restoring: a second Ctrl-C or the ssh
    session's SIGHUP must not cut a restore in half (the journal would cover it,
    but only at the next run). Main thread only; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def restore_journal(j: Journal, top: Optional[Tracefs] = None) -> RestoreReport:
    """Restore every state a journal holds, remove what its ftop created, drop it.

    ``top`` is the tracefs to restore through: the session's own (the demo's is
    simulated); a dead ftop's journal (``ftop restore``) opens its mount path.
    """
    total = RestoreReport()
    root = Path(j.tracefs)
    if top is None:
        top = Tracefs(root)
    # Instances first (their files vanish with rmdir), then the top level, which
    # also removes created instances and probes and sets tracing_on last.
    for st in j.states:
        if st.instance is not None and st.instance not in j.created_instances:
            if (root / "instances" / st.instance).is_dir():
                rep = state_mod.restore(top.sub(st.instance), st, touched=j.touched_in(st.instance))
                total.writes += rep.writes
                total.errors += rep.errors
    for name in j.created_instances:
        sub = top.sub(name)
        if (root / "instances" / name).is_dir():
            # Tracing in a doomed instance may hold it busy: turn it off first.
            for rel, val in (
                ("tracing_on", "0"),
                ("current_tracer", "nop"),
                ("events/enable", "0"),
            ):
                with contextlib.suppress(TracefsError):
                    sub.write(rel, val)
    top_state = j.state_for(None)
    if top_state is not None:
        rep = state_mod.restore(
            top, top_state, j.created_instances, j.created_probes, touched=j.touched_in(None)
        )
        total.writes += rep.writes
        total.errors += rep.errors
    if total.errors:
        # Something could not be put back (an instance held busy, a refused write):
        # keep the journal so `ftop restore` or the next run tries again, and say why.
        j.restore_errors = [str(e) for e in total.errors]
        with contextlib.suppress(JournalError):
            j.save()
    else:
        j.remove()
    return total


def reset_to_defaults(tfs: Tracefs) -> RestoreReport:
    """Like `trace-cmd reset`: kernel defaults, whatever was set (asks first in the CLI)."""
    st = state_mod.snapshot(tfs)
    target = State(root=st.root, instance=st.instance)
    target.current_tracer = "nop"
    target.tracing_on = "1"
    target.function_filters = {
        k: ([] if v is not None else None) for k, v in st.function_filters.items()
    }
    target.function_triggers = [] if st.function_triggers is not None else None
    target.pids = {k: ([] if v is not None else None) for k, v in st.pids.items()}
    target.scalars = {"trace_clock": "local", "tracing_thresh": "0", "max_graph_depth": "0"}
    target.options = {}
    target.buffer_size_kb = None
    target.stack_tracer_enabled = "0" if st.stack_tracer_enabled is not None else None
    target.stack_trace_filter = [] if st.stack_trace_filter is not None else None
    target.probes = {}
    target.instances = list(st.instances)
    return state_mod.restore(tfs, target)
