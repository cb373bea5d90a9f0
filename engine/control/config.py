"""A tracing configuration with trace-cmd's flags, validated before anything is written.

``-p tracer -e sys[:event] -f filter -l/-n/-g functions -P pid -B instance
-b kb -C clock -O option`` mean what they mean to trace-cmd. :func:`plan`
checks every value against this kernel and returns the ordered changes: knobs
and filters first, events, then the tracer, so the function tracer starts
already narrowed.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ftop.engine.control.capabilities import Capabilities
from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError

_INSTANCE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class EventSpec:
    """``-e system[:event]`` with the ``-f`` filter that followed it."""

    system: str
    event: Optional[str] = None
    filter: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> EventSpec:
        text = text.strip()
        if not text:
            raise ConfigError("-e needs an event: system[:event] (e.g. sched:sched_switch)")
        sys_, sep, ev = text.partition(":")
        if not sep:
            sys_, sep, ev = text.partition("/")
        return cls(sys_, ev or None) if sep else cls(text, None)

    def __str__(self) -> str:
        return f"{self.system}:{self.event}" if self.event else self.system


@dataclass
class TraceConfig:
    tracer: Optional[str] = None
    events: List[EventSpec] = field(default_factory=list)
    filter_functions: List[str] = field(default_factory=list)
    notrace_functions: List[str] = field(default_factory=list)
    graph_functions: List[str] = field(default_factory=list)
    pids: List[int] = field(default_factory=list)
    instance: Optional[str] = None
    buffer_size_kb: Optional[int] = None
    clock: Optional[str] = None
    options: List[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """No configuration flag given: stream what is set now and change nothing."""
        return not (
            self.tracer
            or self.events
            or self.filter_functions
            or self.notrace_functions
            or self.graph_functions
            or self.pids
            or self.buffer_size_kb is not None
            or self.clock
            or self.options
        )


def resolve_events(tfs: Tracefs, spec: EventSpec) -> List[Tuple[str, Optional[str]]]:
    """(system, event-or-None) pairs for a spec; event=None means the whole system.

    Like trace-cmd, ``-e sched_switch`` finds the event in whatever system has
    it, and globs (``sched:sched_wak*``) are accepted.
    """
    systems = tfs.dirs("events")
    if spec.event is None:
        if spec.system == "all":
            return [("", None)]
        matches = [s for s in systems if fnmatch.fnmatchcase(s, spec.system)]
        if matches:
            return [(s, None) for s in matches]
        found: List[Tuple[str, Optional[str]]] = [
            (s, spec.system) for s in systems if tfs.is_dir(f"events/{s}/{spec.system}")
        ]
        if found:
            return found
        raise ConfigError(f"no such event or system: '{spec.system}' (see available_events)")
    sys_matches = [s for s in systems if fnmatch.fnmatchcase(s, spec.system)]
    if not sys_matches:
        raise ConfigError(f"no such event system: '{spec.system}' (see available_events)")
    out: List[Tuple[str, Optional[str]]] = []
    for s in sys_matches:
        for e in tfs.dirs(f"events/{s}"):
            if fnmatch.fnmatchcase(e, spec.event):
                out.append((s, e))
    if not out:
        raise ConfigError(f"no such event: '{spec}' (see available_events)")
    return out


def _event_dir(system: str, event: Optional[str]) -> str:
    if not system:
        return "events"
    return f"events/{system}/{event}" if event else f"events/{system}"


def plan(tfs: Tracefs, cfg: TraceConfig, caps: Capabilities) -> List[Change]:
    """Validate ``cfg`` against this kernel and return the ordered changes.

    Raises :class:`ConfigError` with one clear sentence on the first bad
    value; nothing is written by this function.
    """
    changes: List[Change] = []
    if cfg.buffer_size_kb is not None:
        if cfg.buffer_size_kb <= 0:
            raise ConfigError(
                f"-b {cfg.buffer_size_kb}: the buffer size must be a positive number of KiB"
            )
        changes.append(Change("buffer_size_kb", str(cfg.buffer_size_kb)))
    if cfg.clock:
        clocks = (tfs.read_or("trace_clock") or "").replace("[", " ").replace("]", " ").split()
        if cfg.clock not in clocks:
            raise ConfigError(
                f"-C {cfg.clock}: no such trace clock; this kernel has: {', '.join(clocks)}"
            )
        changes.append(Change("trace_clock", cfg.clock))
    options = set(list_dir(tfs, "options"))
    for opt in cfg.options:
        name, value = (opt[2:], "0") if opt.startswith("no") and opt[2:] in options else (opt, "1")
        if name not in options:
            raise ConfigError(f"-O {opt}: no such option (see trace_options)")
        changes.append(Change(f"options/{name}", value))
    for pid in cfg.pids:
        if pid <= 0:
            raise ConfigError(f"-P {pid}: not a process id")
    if cfg.pids:
        pid_text = " ".join(str(p) for p in cfg.pids)
        if caps.has("set_event_pid"):
            changes.append(Change("set_event_pid", pid_text))
        if caps.function_tracing and caps.has("set_ftrace_pid"):
            changes.append(Change("set_ftrace_pid", pid_text))
    func_lists = (
        ("-l", "set_ftrace_filter", cfg.filter_functions),
        ("-n", "set_ftrace_notrace", cfg.notrace_functions),
        ("-g", "set_graph_function", cfg.graph_functions),
    )
    if any(lst for _, _, lst in func_lists):
        if caps.function_tracing is False:
            raise ConfigError(f"function filters cannot be set here: {caps.function_refusal}")
        catalog = tfs.top().read_or("available_filter_functions")
        names = None
        if catalog is not None:
            names = [ln.split()[0] for ln in catalog.splitlines() if ln]
        for flag, fname, lst in func_lists:
            if not lst:
                continue
            if not caps.has(fname):
                raise ConfigError(f"{flag}: {fname} is not in this kernel")
            for pat in lst:
                base = pat.lstrip("!").split(":", 1)[0]
                if names is not None and base and not pat.startswith(":mod:"):
                    if not any(fnmatch.fnmatchcase(n, base) for n in names):
                        raise ConfigError(
                            f"{flag} {pat}: no traceable function matches "
                            "(not in available_filter_functions: inlined, notrace, "
                            "or in a module that is not loaded)"
                        )
            changes.append(Change(fname, " ".join(lst)))
    for spec in cfg.events:
        targets = resolve_events(tfs, spec)
        if spec.filter is not None:
            for system, event in targets:
                changes.append(Change(f"{_event_dir(system, event)}/filter", spec.filter))
        for system, event in targets:
            changes.append(
                Change(f"{_event_dir(system, event)}/enable", "1", describe=f"enable {spec}")
            )
    if cfg.tracer:
        refusal = caps.tracer_refusal(cfg.tracer)
        if refusal:
            avail = ", ".join(caps.tracers)
            raise ConfigError(f"-p {cfg.tracer}: {refusal} (available here: {avail})")
        changes.append(Change("current_tracer", cfg.tracer))
    if changes:
        changes.append(Change("tracing_on", "1"))
    return changes


def validate_instance_name(name: str) -> None:
    if not _INSTANCE_RE.match(name):
        raise ConfigError(f"-B {name}: instance names are letters, digits, '_', '.', '-'")
