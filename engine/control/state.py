"""Snapshot of everything ftop may change in tracefs, and exact restore by diff.

A :class:`State` is plain data (it round-trips through JSON for the journal).
:func:`restore` compares the state now with a target state and writes only what
differs, in an order the kernel accepts: triggers off first (they can flip
``tracing_on`` while we work), the tracer, filters, events, knobs, probes and
instances, and ``tracing_on`` last.

Snapshot and restore stay in one module (about 720 lines) on purpose: each file's
read-back format (what the kernel prints) and how to write it back are two halves of
one piece of knowledge, and keeping them side by side is what keeps them in step.
The restore itself is a sequence of named phases (:class:`_Restorer`), each tested
on its own (tests/unit/test_restore_phases.py).
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Collection, Dict, List, Optional, Set

from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.errors import TracefsError

STACK_TRACER_SYSCTL = "/proc/sys/kernel/stack_tracer_enabled"

# Function-filter files: one value per line, triggers (set_ftrace_filter only)
# as `func:cmd[:args]:count=N|unlimited`.
FUNCTION_FILTER_FILES = (
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
)

# One-value knobs, in the order restore writes them.
SCALAR_FILES = (
    "trace_clock",
    "tracing_thresh",
    # A measurement, but someone's: a latency tracer run by ftop must not leave
    # its maximum in place of the one an earlier user recorded.
    "tracing_max_latency",
    # The same for the stack tracer's maximum (top level only; the stack screen resets it).
    "stack_max_size",
    "max_graph_depth",
    "tracing_cpumask",
    "buffer_percent",
    # The function profiler's switch (top level only): the dashboard's exact counts.
    "function_profile_enabled",
)

PID_FILES = ("set_ftrace_pid", "set_ftrace_notrace_pid", "set_event_pid", "set_event_notrace_pid")

PROBE_FILES = ("kprobe_events", "uprobe_events")

_COUNT_RE = re.compile(r":count=(\d+)")
_FUNC_MOD_RE = re.compile(r"^(\S+) \[(\S+)\]$")


@dataclass
class State:
    """What one tracefs directory (top level or an instance) is set to.

    ``None`` for a value means the file is absent or unreadable here (EPERM on a
    locked-down kernel): restore leaves such files alone.
    """

    root: str
    instance: Optional[str] = None
    current_tracer: Optional[str] = None
    tracing_on: Optional[str] = None
    function_filters: Dict[str, Optional[List[str]]] = field(default_factory=dict)
    function_triggers: Optional[List[str]] = None
    scalars: Dict[str, Optional[str]] = field(default_factory=dict)
    pids: Dict[str, Optional[List[str]]] = field(default_factory=dict)
    buffer_size_kb: Optional[str] = None
    # "7 (expanded: 1408)": the kernel has not allocated the buffer yet; it does
    # on first use (any event or tracer), at the expanded size rounded up to
    # whole sub-buffers (1410). That cannot be undone and is not a setting.
    buffer_unallocated: bool = False
    per_cpu_buffer_kb: Dict[str, str] = field(default_factory=dict)
    options: Dict[str, str] = field(default_factory=dict)
    events_enabled: List[str] = field(default_factory=list)
    event_filters: Dict[str, str] = field(default_factory=dict)
    event_triggers: Dict[str, List[str]] = field(default_factory=dict)
    # Top level only (global to the machine):
    stack_tracer_enabled: Optional[str] = None
    stack_trace_filter: Optional[List[str]] = None
    probes: Dict[str, Optional[List[str]]] = field(default_factory=dict)
    instances: List[str] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> State:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def comparable(self) -> Dict[str, Any]:
        """The state as a dict for equality checks, trigger counts left out.

        A count is the kernel's own bookkeeping (it falls each time the trigger
        fires), not a setting: restoring it would re-arm someone's trigger.
        """
        data = self.to_json()
        data["event_triggers"] = {
            ev: [trigger_identity(t) for t in ts] for ev, ts in self.event_triggers.items()
        }
        if self.function_triggers is not None:
            data["function_triggers"] = sorted(trigger_identity(t) for t in self.function_triggers)
        return data


# -- reading ---------------------------------------------------------------------


def _lines(text: Optional[str]) -> Optional[List[str]]:
    if text is None:
        return None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _selected(text: str) -> str:
    """The bracketed choice in a `[a] b c` list (trace_clock)."""
    m = re.search(r"\[([^\]]+)\]", text)
    return m.group(1) if m else text.strip()


def _buffer_kb(text: str) -> str:
    # "7 (expanded: 1408)": the buffer is not allocated yet; 1408 is what it will
    # be, and what any write would make it, so that is the value that matters.
    m = re.search(r"expanded:\s*(\d+)", text)
    return m.group(1) if m else text.strip()


def _pids(text: Optional[str]) -> Optional[List[str]]:
    lines = _lines(text)
    if lines is None:
        return None
    return sorted(ln for ln in lines if ln != "no pid")


def split_function_filter(lines: List[str]) -> tuple[List[str], List[str]]:
    """(functions, triggers) from a read of set_ftrace_filter."""
    funcs, triggers = [], []
    for ln in lines:
        if ":" in ln and not _FUNC_MOD_RE.match(ln):
            triggers.append(ln)
        else:
            funcs.append(ln)
    return funcs, triggers


def read_event_list(tfs: Tracefs) -> List[str]:
    """Enabled events as `sys/event`, from set_event (one read, not 2,000)."""
    out = []
    for ln in tfs.read_lines("set_event"):
        sys_, _, ev = ln.partition(":")
        out.append(f"{sys_}/{ev}")
    return sorted(out)


def snapshot(tfs: Tracefs) -> State:
    """Read the full state of one tracefs directory. Changes nothing."""
    st = State(root=str(tfs.root), instance=tfs.instance)
    r = tfs.read_or
    t = r("current_tracer")
    st.current_tracer = t.strip() if t is not None else None
    t = r("tracing_on")
    st.tracing_on = t.strip() if t is not None else None
    for name in FUNCTION_FILTER_FILES:
        lines = _lines(r(name))
        if lines is not None and name == "set_ftrace_filter":
            lines, st.function_triggers = split_function_filter(lines)
        st.function_filters[name] = sorted(lines) if lines is not None else None
    for name in SCALAR_FILES:
        v = r(name)
        if v is not None:
            v = _selected(v) if name == "trace_clock" else v.strip()
        st.scalars[name] = v
    for name in PID_FILES:
        st.pids[name] = _pids(r(name))
    b = r("buffer_size_kb")
    if b is not None:
        st.buffer_size_kb = _buffer_kb(b)
        st.buffer_unallocated = "expanded" in b
        if st.buffer_size_kb == "X":
            for cpu in list_dir(tfs, "per_cpu"):
                v = r(f"per_cpu/{cpu}/buffer_size_kb")
                if v is not None:
                    st.per_cpu_buffer_kb[cpu] = _buffer_kb(v)
    for opt in list_dir(tfs, "options"):
        v = r(f"options/{opt}")
        if v is not None:
            st.options[opt] = v.strip()
    try:
        st.events_enabled = read_event_list(tfs)
    except TracefsError:
        st.events_enabled = []
    for sys_ in tfs.dirs("events"):
        for ev in tfs.dirs(f"events/{sys_}"):
            base = f"events/{sys_}/{ev}"
            f = r(f"{base}/filter")
            # A refused filter stays readable with its parse error but is disabled:
            # for the kernel's behaviour that is the same as no filter.
            if f is not None and f.strip() not in ("none", "") and "parse_error:" not in f:
                st.event_filters[f"{sys_}/{ev}"] = f.strip()
            trig = _lines(r(f"{base}/trigger"))
            if trig:
                st.event_triggers[f"{sys_}/{ev}"] = trig
    if tfs.instance is None:
        # An absolute rel addresses the sysctl through the same Tracefs (and the demo's
        # simulated one through its own), as the stack tracer's enable step does.
        on = tfs.read_or(STACK_TRACER_SYSCTL)
        st.stack_tracer_enabled = on.strip() if on is not None else None
        st.stack_trace_filter = _lines(r("stack_trace_filter"))
        for name in PROBE_FILES:
            st.probes[name] = _lines(r(name))
        st.instances = list_dir(tfs, "instances")
    return st


# -- writing ---------------------------------------------------------------------


def trigger_spec(readback: str) -> str:
    """A trigger as read back (`traceoff:count=3`) in the form the kernel accepts (`traceoff:3`)."""
    s = re.sub(r"\s*\[(active|paused)\]\s*$", "", readback.strip())
    s = _COUNT_RE.sub(r":\1", s)
    return s.replace(":unlimited", "")


def trigger_identity(readback: str) -> str:
    """A trigger without its count: what it is, not how often it may still fire."""
    s = trigger_spec(readback)
    head, sep, cond = s.partition(" if ")
    return re.sub(r":\d+$", "", head) + sep + cond


def trigger_removal(readback: str) -> str:
    """The `!`-form that removes a trigger: command and target, no filter.

    A function trigger (set_ftrace_filter, `func:cmd...`) with a count keeps
    `:0` in its removal: the kernel keeps counted and plain triggers apart and
    answers ENODEV to `!func:cmd` for a counted one. Event triggers are
    matched by command alone.
    """
    spec = trigger_spec(readback).split(" if ", 1)[0]
    counted = re.search(r":\d+$", spec) is not None
    base = re.sub(r":\d+$", "", spec)
    if counted and _is_function_trigger(base):
        return "!" + base + ":0"
    return "!" + base


# Commands of function triggers (ftrace_func_command); the first word of a
# function trigger is the function, of an event trigger the command.
_FUNCTION_TRIGGER_COMMANDS = (
    "traceon",
    "traceoff",
    "stacktrace",
    "snapshot",
    "enable_event",
    "disable_event",
    "dump",
    "cpudump",
)


def _is_function_trigger(spec: str) -> bool:
    parts = spec.split(":")
    return len(parts) >= 2 and parts[1] in _FUNCTION_TRIGGER_COMMANDS


GRAPH_FILTER_FILES = ("set_graph_function", "set_graph_notrace")


def function_filter_line(entry: str, name: str = "set_ftrace_filter") -> str:
    """`func [mod]` as read back, in the form the filter file accepts.

    set_ftrace_filter and friends take `func:mod:module`; the graph files take
    neither `:mod:` nor catalog indices, only the bare name.
    """
    m = _FUNC_MOD_RE.match(entry)
    if not m:
        return entry
    return m.group(1) if name in GRAPH_FILTER_FILES else f"{m.group(1)}:mod:{m.group(2)}"


Writer = Callable[[str, str, bool], None]


class RestoreReport:
    """What a restore did, and what the kernel refused (restore goes on past refusals)."""

    def __init__(self) -> None:
        self.writes: List[str] = []
        self.errors: List[TracefsError] = []

    @property
    def ok(self) -> bool:
        return not self.errors


def _attempt(report: RestoreReport, fn: Callable[[], None], what: str) -> None:
    try:
        fn()
        report.writes.append(what)
    except TracefsError as e:
        report.errors.append(e)


def write_function_list(tfs: Tracefs, name: str, entries: List[str], append: bool = False) -> None:
    """Set a function-filter file in one write. Large lists go by catalog index.

    Writing names makes the kernel scan the whole catalog once per name; since
    5.13 it also takes line numbers of available_filter_functions, which is
    O(1) each.
    """
    lines = [function_filter_line(e, name.rsplit("/", 1)[-1]) for e in entries]
    if len(lines) > 64 and name.rsplit("/", 1)[-1] not in GRAPH_FILTER_FILES:
        catalog = tfs.top().read_or("available_filter_functions")
        if catalog is not None:
            index = {ln: i for i, ln in enumerate(catalog.splitlines(), 1)}
            nums = [index.get(e) for e in entries]
            if all(n is not None for n in nums):
                try:
                    tfs.write(name, " ".join(str(n) for n in nums), append=append)
                    return
                except TracefsError:
                    pass  # an older kernel without index support: fall back to names
    tfs.write(name, " ".join(lines) if lines else "", append=append)


def restore(
    tfs: Tracefs,
    target: State,
    created_instances: Optional[List[str]] = None,
    created_probes: Optional[Dict[str, List[str]]] = None,
    touched: Optional[Collection[str]] = None,
) -> RestoreReport:
    """Make ``tfs`` equal to ``target``, writing only what differs.

    ``created_instances`` and ``created_probes`` are what ftop itself made
    (from the journal); only those are removed, so someone else's instance or
    probe that appeared meanwhile is left alone.

    ``touched`` lists the files ftop wrote (tracefs-relative, as in a
    ``Change``); when given, only what those files govern is put back, so a
    change someone else made while ftop ran (another tool, another ftop in
    another instance) is not undone. None restores everything (``reset``,
    journals of older versions).
    """
    return _Restorer(tfs, target, created_instances, created_probes, touched).run()


def _widen_touched(touched: Optional[Collection[str]]) -> Optional[Set[str]]:
    """The files ftop wrote, plus those the kernel changed because of them.

    None (restore everything) stays None.
    """
    if touched is None:
        return None
    wrote = set(touched)
    # Side effects the kernel produces from what ftop wrote: a trigger can
    # flip tracing_on; a latency tracer records a new maximum.
    if any(r.endswith("trigger") or r == "set_ftrace_filter" for r in wrote):
        # traceon/traceoff flip tracing_on; enable_event/disable_event
        # switch events on and off (seen on 6.1-rt: a fired
        # `func:enable_event:sched:sched_switch` leaves the event enabled).
        wrote.update(("tracing_on", "set_event"))
    if "current_tracer" in wrote:
        wrote.add("tracing_max_latency")
    return wrote


class _Restorer:
    """One restore of one tracefs directory, one method per phase.

    :meth:`run` calls the phases in the order the kernel needs; each phase
    compares ``now`` (the snapshot taken at the start) with ``target`` and
    writes only what differs and what ``wrote`` says is ftop's, recording each
    write or refusal in ``report``.
    """

    def __init__(
        self,
        tfs: Tracefs,
        target: State,
        created_instances: Optional[List[str]] = None,
        created_probes: Optional[Dict[str, List[str]]] = None,
        touched: Optional[Collection[str]] = None,
    ) -> None:
        self.tfs = tfs
        self.target = target
        self.created_instances = created_instances or []
        self.created_probes = created_probes or {}
        self.report = RestoreReport()
        self.now = snapshot(tfs)
        self.wrote = _widen_touched(touched)

    def run(self) -> RestoreReport:
        # 1. Triggers first: a live traceoff trigger would undo our tracing_on later.
        self.remove_function_triggers()
        self.event_triggers()
        # 2. The tracer, before filters: switching it resets tracer-specific state.
        self.tracer()
        # 3. Function filters, pids.
        self.function_filters()
        self.add_function_triggers()
        self.pids()
        # 4. Events: disable, filters, enable (a filter is in place before events flow).
        self.disable_events()
        self.event_filters()
        self.enable_events()
        # 5. Knobs and options.
        self.scalars()
        self.buffer_size()
        self.options()
        if self.tfs.instance is None:
            # 6. Global: the stack tracer and probes.
            self.stack_tracer()
            self.stack_trace_filter()
            self.probes()
            # 7. Instances ftop made.
            self.instances()
        # 8. tracing_on last: after every trigger is gone and every write is done.
        self.tracing_on()
        return self.report

    # -- helpers -------------------------------------------------------------------

    def mine(self, *rels: str) -> bool:
        """Whether ftop wrote any of ``rels`` (always, when restoring everything)."""
        return self.wrote is None or any(r in self.wrote for r in rels)

    def put(self, rel: str, value: str, append: bool = False, what: str = "") -> None:
        tfs = self.tfs
        _attempt(self.report, lambda: tfs.write(rel, value, append), what or f"{rel} {value}")

    def _function_triggers(self) -> Optional[tuple[List[str], List[str]]]:
        """(wanted, present) set_ftrace_filter triggers, or None to leave them alone."""
        want, have = self.target.function_triggers, self.now.function_triggers
        if self.mine("set_ftrace_filter") and want is not None and have is not None:
            return want, have
        return None

    def _mine_enable(self, ev: str) -> bool:
        system = ev.split("/", 1)[0]
        return self.mine(
            f"events/{ev}/enable", f"events/{system}/enable", "events/enable", "set_event"
        )

    def _mine_filter(self, ev: str) -> bool:
        system = ev.split("/", 1)[0]
        return self.mine(f"events/{ev}/filter", f"events/{system}/filter", "events/filter")

    # -- phases, in run() order ----------------------------------------------------

    def remove_function_triggers(self) -> None:
        """Remove the set_ftrace_filter triggers the target does not have."""
        pair = self._function_triggers()
        if pair is None:
            return
        want, have = pair
        want_ids = {trigger_identity(t) for t in want}
        for raw in have:
            if trigger_identity(raw) not in want_ids:
                self.put("set_ftrace_filter", trigger_removal(raw), True, f"remove trigger {raw}")

    def event_triggers(self) -> None:
        """Replace the triggers of each event whose set differs from the target's."""
        now, target = self.now, self.target
        for ev in sorted(set(now.event_triggers) | set(target.event_triggers)):
            if not self.mine(f"events/{ev}/trigger"):
                continue
            want_t = target.event_triggers.get(ev, [])
            have_t = now.event_triggers.get(ev, [])
            if sorted(map(trigger_identity, have_t)) == sorted(map(trigger_identity, want_t)):
                continue
            for raw in have_t:
                self.put(
                    f"events/{ev}/trigger", trigger_removal(raw), True, f"remove {ev} trigger {raw}"
                )
            for raw in want_t:
                self.put(f"events/{ev}/trigger", trigger_spec(raw), True, f"add {ev} trigger {raw}")

    def tracer(self) -> None:
        want = self.target.current_tracer
        if self.mine("current_tracer") and want is not None and self.now.current_tracer != want:
            self.put("current_tracer", want)

    def function_filters(self) -> None:
        """Each function-filter file whose list differs, in one write."""
        for name, want_f in self.target.function_filters.items():
            have_f = self.now.function_filters.get(name)
            if (
                not self.mine(name)
                or want_f is None
                or have_f is None
                or sorted(have_f) == sorted(want_f)
            ):
                continue
            _attempt(
                self.report,
                functools.partial(write_function_list, self.tfs, name, want_f),
                f"{name} ({len(want_f)} entries)",
            )

    def add_function_triggers(self) -> None:
        """Add back the set_ftrace_filter triggers the target has and now lacks."""
        pair = self._function_triggers()
        if pair is None:
            return
        want, have = pair
        have_ids = {trigger_identity(t) for t in have}
        for raw in want:
            if trigger_identity(raw) not in have_ids:
                self.put("set_ftrace_filter", trigger_spec(raw), True, f"add trigger {raw}")

    def pids(self) -> None:
        for name, want_p in self.target.pids.items():
            have_p = self.now.pids.get(name)
            if self.mine(name) and want_p is not None and have_p is not None and have_p != want_p:
                self.put(name, " ".join(want_p))

    def disable_events(self) -> None:
        want_ev, have_ev = set(self.target.events_enabled), set(self.now.events_enabled)
        for ev in sorted(have_ev - want_ev):
            if self._mine_enable(ev):
                self.put(f"events/{ev}/enable", "0", what=f"disable {ev}")

    def event_filters(self) -> None:
        now, target = self.now, self.target
        for ev in sorted(set(now.event_filters) | set(target.event_filters)):
            want_flt = target.event_filters.get(ev)
            if self._mine_filter(ev) and now.event_filters.get(ev) != want_flt:
                self.put(
                    f"events/{ev}/filter",
                    want_flt or "0",
                    what=f"{ev} filter {want_flt or 'cleared'}",
                )

    def enable_events(self) -> None:
        want_ev, have_ev = set(self.target.events_enabled), set(self.now.events_enabled)
        for ev in sorted(want_ev - have_ev):
            if self._mine_enable(ev):
                self.put(f"events/{ev}/enable", "1", what=f"enable {ev}")

    def scalars(self) -> None:
        for name, want_s in self.target.scalars.items():
            if (
                self.mine(name)
                and want_s is not None
                and self.now.scalars.get(name) not in (None, want_s)
            ):
                self.put(name, want_s)

    def buffer_size(self) -> None:
        """buffer_size_kb, or each CPU's when the target's sizes differed (`X`)."""
        target, now = self.target, self.now
        buffer_mine = self.wrote is None or any(r.endswith("buffer_size_kb") for r in self.wrote)
        if (
            buffer_mine
            and target.buffer_size_kb
            and now.buffer_size_kb not in (None, target.buffer_size_kb)
            and not (
                target.buffer_unallocated
                and _same_buffer(target.buffer_size_kb, now.buffer_size_kb)
            )
        ):
            if target.buffer_size_kb == "X":
                for cpu, kb in target.per_cpu_buffer_kb.items():
                    self.put(f"per_cpu/{cpu}/buffer_size_kb", kb)
            else:
                self.put("buffer_size_kb", target.buffer_size_kb)

    def options(self) -> None:
        for opt, want_o in self.target.options.items():
            if self.mine(f"options/{opt}", "trace_options") and self.now.options.get(opt) not in (
                None,
                want_o,
            ):
                self.put(f"options/{opt}", want_o, what=f"option {opt}={want_o}")

    def stack_tracer(self) -> None:
        """The stack tracer's sysctl (top level only)."""
        stack_on = self.target.stack_tracer_enabled
        if (
            self.mine(STACK_TRACER_SYSCTL)
            and stack_on is not None
            and self.now.stack_tracer_enabled not in (None, stack_on)
        ):
            _attempt(
                self.report,
                functools.partial(self.tfs.write, STACK_TRACER_SYSCTL, stack_on),
                f"stack_tracer_enabled {stack_on}",
            )

    def stack_trace_filter(self) -> None:
        """stack_trace_filter (top level only)."""
        stf = self.target.stack_trace_filter
        have = self.now.stack_trace_filter
        if (
            self.mine("stack_trace_filter")
            and stf is not None
            and have is not None
            and sorted(stf) != sorted(have)
        ):
            tfs = self.tfs
            _attempt(
                self.report,
                lambda: write_function_list(tfs, "stack_trace_filter", stf),
                "stack_trace_filter",
            )

    def probes(self) -> None:
        """kprobes and uprobes (top level only): ftop's removed, the target's re-created."""
        for pfile in PROBE_FILES:
            _restore_probes(
                self.tfs,
                pfile,
                self.target.probes.get(pfile),
                self.now.probes.get(pfile),
                self.created_probes.get(pfile, []),
                self.report,
            )

    def instances(self) -> None:
        """Remove the instances ftop made that the target does not have (top level only)."""
        for name in self.created_instances:
            if name in self.now.instances and name not in self.target.instances:
                _attempt(
                    self.report,
                    functools.partial(self.tfs.remove_instance, name),
                    f"remove instance {name}",
                )

    def tracing_on(self) -> None:
        """tracing_on, read afresh rather than from the snapshot taken at the start."""
        if self.mine("tracing_on") and self.target.tracing_on is not None:
            cur = self.tfs.read_or("tracing_on")
            if cur is not None and cur.strip() != self.target.tracing_on:
                self.put("tracing_on", self.target.tracing_on)


def probe_name(definition: str) -> str:
    """`p:grp/name sym args` -> `grp/name` (or `name`)."""
    words = definition.split()
    if not words:
        return ""
    head = words[0]
    return head.split(":", 1)[1] if ":" in head else head


def _restore_probes(
    tfs: Tracefs,
    pfile: str,
    want: Optional[List[str]],
    have: Optional[List[str]],
    created: List[str],
    report: RestoreReport,
) -> None:
    if want is None or have is None:
        return
    want_names = {probe_name(d) for d in want}
    for d in have:
        name = probe_name(d)
        if name in want_names or name not in {probe_name(c) for c in created}:
            continue
        group = "kprobes" if pfile == "kprobe_events" else "uprobes"
        grp, _, ev = name.rpartition("/")
        enable = f"events/{grp or group}/{ev}/enable"
        if tfs.exists(enable):
            with contextlib.suppress(TracefsError):
                tfs.write(enable, "0")
        _attempt(
            report, functools.partial(tfs.write, pfile, f"-:{name}", True), f"remove probe {name}"
        )
    have_names = {probe_name(d) for d in have}
    for d in want:
        if probe_name(d) not in have_names:
            _attempt(report, functools.partial(tfs.write, pfile, d, True), f"re-create probe {d}")


def _same_buffer(planned: str, actual: Optional[str]) -> bool:
    """An unallocated buffer of ``planned`` KiB that became ``actual`` on first use."""
    if actual is None or not planned.isdigit() or not actual.isdigit():
        return False
    # Allocation rounds up to whole sub-buffer pages (4 KiB on x86).
    return 0 <= int(actual) - int(planned) < 8


def differences(a: State, b: State) -> List[str]:
    """Human-readable list of what differs between two states (empty when equal).

    The kernel allocating an unallocated buffer at its planned size is not a
    difference (see ``State.buffer_unallocated``).
    """
    da, db = a.comparable(), b.comparable()
    for d in (da, db):
        d.pop("buffer_unallocated", None)
    if (a.buffer_unallocated or b.buffer_unallocated) and (
        _same_buffer(a.buffer_size_kb or "", b.buffer_size_kb)
        or _same_buffer(b.buffer_size_kb or "", a.buffer_size_kb)
    ):
        da.pop("buffer_size_kb", None)
        db.pop("buffer_size_kb", None)
    out = []
    for k in da:
        if da[k] != db.get(k):
            if isinstance(da[k], dict) and isinstance(db.get(k), dict):
                sub_b = db[k]
                for sk in sorted(set(da[k]) | set(sub_b)):
                    if da[k].get(sk) != sub_b.get(sk):
                        out.append(f"{k}[{sk}]: {da[k].get(sk)!r} -> {sub_b.get(sk)!r}")
            else:
                out.append(f"{k}: {da[k]!r} -> {db.get(k)!r}")
    return out
