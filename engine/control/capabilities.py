"""What this kernel's tracefs can do here: probed by reading, never assumed.

Probing only reads. Whether function tracing is permitted shows in whether
``set_ftrace_filter`` can be read (a locked-down kernel answers EPERM there as
it does for ``current_tracer``); which tracers an instance may use shows in the
instance's own ``available_tracers`` (the kernel lists only those it allows).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.errors import TracefsError

CONTROL_FILES = (
    "current_tracer",
    "tracing_on",
    "trace_pipe",
    "trace_marker",
    "set_event",
    "set_event_pid",
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
    "set_ftrace_pid",
    "max_graph_depth",
    "available_filter_functions",
    "stack_trace",
    "stack_max_size",
    "stack_trace_filter",
    "kprobe_events",
    "uprobe_events",
    "dynamic_events",
    "synthetic_events",
    "snapshot",
    "tracing_max_latency",
    "tracing_thresh",
    "error_log",
    "instances",
    "buffer_size_kb",
    "trace_clock",
    "tracing_cpumask",
)

# One-line descriptions, for `doctor` and the tracer screen.
TRACER_DESCRIPTIONS = {
    "nop": "no tracer: trace events only",
    "function": "every kernel function entry (filter it first: unfiltered costs a lot)",
    "function_graph": "function entry and exit with durations, as a call graph",
    "wakeup": "max latency from wakeup to running, for the highest-priority task",
    "wakeup_rt": "wakeup latency of RT tasks only",
    "wakeup_dl": "wakeup latency of SCHED_DEADLINE tasks only",
    "irqsoff": "longest time with interrupts disabled",
    "preemptoff": "longest time with preemption disabled",
    "preemptirqsoff": "longest time with interrupts or preemption disabled",
    "hwlat": "hardware/firmware latency detector (SMIs); busy-loops a CPU",
    "osnoise": "operating-system noise seen by a busy thread",
    "timerlat": "timer wakeup latency of a periodic thread",
    "blk": "block I/O tracer (driven by blktrace)",
    "mmiotrace": "memory-mapped I/O tracer for driver reverse engineering",
}


@dataclass
class Capabilities:
    tracers: List[str] = field(default_factory=list)
    files: Dict[str, bool] = field(default_factory=dict)
    function_tracing: Optional[bool] = None
    function_refusal: Optional[str] = None
    subsystems: int = 0
    events: int = 0
    instance_tracers: Dict[str, List[str]] = field(default_factory=dict)

    def has(self, rel: str) -> bool:
        return self.files.get(rel, False)

    def tracer_refusal(self, tracer: str) -> Optional[str]:
        """Why ``tracer`` cannot be used here, or None when it can."""
        if tracer not in self.tracers:
            return "not built into this kernel (not in available_tracers)"
        if tracer.startswith("function") and self.function_tracing is False:
            return self.function_refusal or "function tracing is refused here (EPERM)"
        return None


def probe(tfs: Tracefs) -> Capabilities:
    """Probe ``tfs`` (top level or instance). Reads only."""
    caps = Capabilities()
    tracers = tfs.read_or("available_tracers")
    caps.tracers = tracers.split() if tracers else []
    for rel in CONTROL_FILES:
        caps.files[rel] = os.path.exists(tfs.path / rel)
    if caps.files.get("set_ftrace_filter"):
        try:
            tfs.read("set_ftrace_filter")
            caps.function_tracing = True
        except TracefsError as e:
            caps.function_tracing = False
            caps.function_refusal = f"{e.errno_name}: {e.reason}"
    elif "function" not in caps.tracers:
        caps.function_tracing = False
        caps.function_refusal = "the function tracer is not built into this kernel"
    # available_events lists what can be enabled (the ftrace/ system's internal
    # events have directories but are not in it): one read, and the right count.
    avail = tfs.read_or("available_events")
    if avail is not None:
        names = [ln.split(":", 1) for ln in avail.splitlines() if ":" in ln]
        caps.events = len(names)
        caps.subsystems = len({sys_ for sys_, _ in names})
    else:
        systems = tfs.dirs("events")
        caps.subsystems = len(systems)
        caps.events = sum(len(tfs.dirs(f"events/{s}")) for s in systems)
    if tfs.instance is None:
        for name in list_dir(tfs, "instances"):
            t = tfs.sub(name).read_or("available_tracers")
            caps.instance_tracers[name] = t.split() if t else []
    return caps
