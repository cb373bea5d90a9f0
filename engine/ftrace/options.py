"""Trace options (``options/*``), ``buffer_size_kb``, ``trace_clock`` and ``tracing_cpumask``.

Every ``plan_*`` function returns a :class:`~ftop.engine.control.transaction.Change`;
nothing here writes. Options are per instance; the ``options/`` directory
lists every option of every tracer, ``trace_options`` only the generic ones
and those of the current tracer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError

__all__ = [
    "OPTION_DESCRIPTIONS",
    "TRACER_OPTIONS",
    "Option",
    "cpumask_text",
    "list_options",
    "parse_cpumask",
    "plan_buffer_size_kb",
    "plan_cpumask",
    "plan_option",
    "plan_trace_clock",
    "read_buffer_size_kb",
    "read_cpumask",
    "read_trace_clock",
]

#: One line per option (Documentation/trace/ftrace.rst, "trace_options").
OPTION_DESCRIPTIONS: Dict[str, str] = {
    "print-parent": "function tracer: show the caller after '<-'",
    "sym-offset": "show the offset in the function (func+0x12/0x40)",
    "sym-addr": "show the function's address next to its name",
    "verbose": "latency format: more detail per line",
    "raw": "print raw numbers instead of formatted events",
    "hex": "like raw, in hexadecimal",
    "bin": "like raw, in binary",
    "block": "trace_pipe does not block when empty (poll returns)",
    "fields": "print every event field with its type (newer kernels)",
    "trace_printk": "let trace_printk() write into the buffer",
    "annotate": "mark where a CPU buffer starts after others lost events",
    "userstacktrace": "record the user-space stack after each event",
    "sym-userobj": "with userstacktrace, resolve addresses to file and offset",
    "trace_printk_dest": "this instance receives trace_printk() output (one at a time)",
    "copy_trace_marker": "this instance also gets what is written to the top trace_marker",
    "printk-msg-only": "trace_printk(): print only the message",
    "context-info": "show comm, pid, CPU, flags and timestamp on each line",
    "latency-format": "print lines in the latency tracers' format",
    "record-cmd": "remember task names (comm) for pids in the trace",
    "record-tgid": "remember thread-group ids and show them",
    "overwrite": "when the buffer is full, drop the oldest events (else the newest)",
    "disable_on_free": "stop tracing when the free_buffer file is closed",
    "irq-info": "show the irqs-off/need-resched/hardirq/preempt flags",
    "markers": "allow writes to trace_marker",
    "event-fork": "add children of set_event_pid tasks as they fork",
    "pause-on-trace": "stop tracing while the trace file is open for reading",
    "hash-ptr": "print %p pointers hashed, as printk does",
    "function-trace": "latency tracers: also trace functions (costly)",
    "function-fork": "add children of set_ftrace_pid tasks as they fork",
    "display-graph": "latency tracers: show functions as a call graph",
    "stacktrace": "record a kernel stack trace after each event",
    "branch": "branch tracer: trace branches",
    "func_stack_trace": "function tracer: record a stack trace at each traced function",
    "func-no-repeats": "function tracer: fold repeated calls into one line with a count",
    "funcgraph-overrun": "function_graph: show overruns of the return stack",
    "funcgraph-cpu": "function_graph: show the CPU column",
    "funcgraph-overhead": "function_graph: mark long durations with + ! # * @ $",
    "funcgraph-proc": "function_graph: show the task (comm-pid) column",
    "funcgraph-duration": "function_graph: show each call's duration",
    "funcgraph-abstime": "function_graph: show a timestamp on each line",
    "funcgraph-irqs": "function_graph: also trace functions run in interrupts",
    "funcgraph-tail": "function_graph: name the function at each closing brace",
    "funcgraph-retval": "function_graph: show return values (newer kernels)",
    "sleep-time": "function_graph: count time a task slept in its functions",
    "graph-time": "function profiler: include callees' time",
    "blk_classic": "blk tracer: classic blktrace output",
    "blk_cgroup": "blk tracer: record cgroup info",
    "blk_cgname": "blk tracer: show cgroup names",
    "test_nop_accept": "nop tracer test option (accepts writes)",
    "test_nop_refuse": "nop tracer test option (refuses writes)",
}

#: Options that only mean something under these tracers.
TRACER_OPTIONS: Dict[str, Tuple[str, ...]] = {
    "func_stack_trace": ("function",),
    "func-no-repeats": ("function",),
    "funcgraph-overrun": ("function_graph",),
    "funcgraph-cpu": ("function_graph",),
    "funcgraph-overhead": ("function_graph",),
    "funcgraph-proc": ("function_graph",),
    "funcgraph-duration": ("function_graph",),
    "funcgraph-abstime": ("function_graph",),
    "funcgraph-irqs": ("function_graph",),
    "funcgraph-tail": ("function_graph",),
    "funcgraph-retval": ("function_graph",),
    "sleep-time": ("function_graph",),
    "graph-time": ("function_graph",),
    "function-trace": (
        "wakeup",
        "wakeup_rt",
        "wakeup_dl",
        "irqsoff",
        "preemptoff",
        "preemptirqsoff",
    ),
    "display-graph": (
        "wakeup",
        "wakeup_rt",
        "wakeup_dl",
        "irqsoff",
        "preemptoff",
        "preemptirqsoff",
    ),
    "blk_classic": ("blk",),
    "blk_cgroup": ("blk",),
    "blk_cgname": ("blk",),
    "test_nop_accept": ("nop",),
    "test_nop_refuse": ("nop",),
}


@dataclass(frozen=True)
class Option:
    """A trace option as a toggle.

    Attributes:
        name: as in ``options/`` (``funcgraph-proc``).
        enabled: its value now.
        description: one line for the user (``""`` if unknown to ftop).
        tracers: the tracers it applies to (empty: all).
    """

    name: str
    enabled: bool
    description: str
    tracers: Tuple[str, ...] = ()

    def applies_to(self, tracer: str) -> bool:
        return not self.tracers or tracer in self.tracers


def list_options(tfs: Tracefs) -> List[Option]:
    """Every option of this instance, from ``options/`` (``trace_options`` as fallback)."""
    values: Dict[str, bool] = {}
    names = list_dir(tfs, "options")
    for name in names:
        v = tfs.read_or(f"options/{name}")
        if v is not None:
            values[name] = v.strip() == "1"
    if not names:
        for word in (tfs.read_or("trace_options") or "").split():
            if word.startswith("no"):
                values.setdefault(word[2:], False)
            else:
                values[word] = True
    return [
        Option(n, values[n], OPTION_DESCRIPTIONS.get(n, ""), TRACER_OPTIONS.get(n, ()))
        for n in sorted(values)
    ]


def plan_option(name: str, on: bool) -> Change:
    """Set one option."""
    if not re.fullmatch(r"[\w-]+", name):
        raise ConfigError(f"'{name}' is not an option name")
    return Change(f"options/{name}", "1" if on else "0")


# -- buffer size ------------------------------------------------------------------------


def read_buffer_size_kb(tfs: Tracefs, cpu: Optional[int] = None) -> Optional[int]:
    """Per-CPU buffer size in KB; None when CPUs differ (``X``) or unreadable.

    Before the buffer is first used the kernel reads ``7 (expanded: 1408)``:
    1408 is the size it will have, and what is returned.
    """
    rel = f"per_cpu/cpu{cpu}/buffer_size_kb" if cpu is not None else "buffer_size_kb"
    text = tfs.read_or(rel)
    if text is None:
        return None
    m = re.search(r"expanded:\s*(\d+)", text)
    if m:
        return int(m.group(1))
    t = text.strip()
    return int(t) if t.isdigit() else None


def plan_buffer_size_kb(kb: int, cpu: Optional[int] = None) -> Change:
    """Set the ring buffer size per CPU (or of one CPU) in KB."""
    if kb < 1:
        raise ConfigError(f"buffer_size_kb must be at least 1 (got {kb})")
    rel = f"per_cpu/cpu{cpu}/buffer_size_kb" if cpu is not None else "buffer_size_kb"
    return Change(rel, str(kb))


# -- clock ------------------------------------------------------------------------------


def read_trace_clock(tfs: Tracefs) -> Tuple[str, List[str]]:
    """(current clock, every clock offered) from ``trace_clock`` (``local [global] ...``)."""
    words = (tfs.read_or("trace_clock") or "").split()
    current = next((w.strip("[]") for w in words if w.startswith("[")), "")
    return current, [w.strip("[]") for w in words]


def plan_trace_clock(name: str, available: Optional[Iterable[str]] = None) -> Change:
    """Switch the timestamp clock (checked against ``available`` when given)."""
    offered = list(available) if available is not None else None
    if offered is not None and name not in offered:
        raise ConfigError(f"trace_clock '{name}' is not offered here ({' '.join(offered)})")
    if not re.fullmatch(r"[\w-]+", name):
        raise ConfigError(f"'{name}' is not a clock name")
    return Change("trace_clock", name)


# -- cpumask ------------------------------------------------------------------------------


def parse_cpumask(text: str) -> Set[int]:
    """CPUs in a cpumask as the kernel prints it: hex, 32-bit groups split by commas."""
    digits = text.strip().replace(",", "")
    if not digits:
        return set()
    try:
        value = int(digits, 16)
    except ValueError:
        raise ConfigError(f"'{text.strip()}' is not a cpumask") from None
    return {i for i in range(value.bit_length()) if value >> i & 1}


def cpumask_text(cpus: Iterable[int]) -> str:
    """A set of CPUs in the kernel's cpumask format (``ff,ffffffff`` for 40 CPUs)."""
    value = 0
    for c in cpus:
        if c < 0:
            raise ConfigError(f"not a CPU number: {c}")
        value |= 1 << c
    text = f"{value:x}"
    groups: List[str] = []
    while len(text) > 8:
        groups.insert(0, text[-8:])
        text = text[:-8]
    groups.insert(0, text)
    return ",".join(groups)


def read_cpumask(tfs: Tracefs) -> Set[int]:
    """CPUs whose events are recorded (``tracing_cpumask``)."""
    return parse_cpumask(tfs.read("tracing_cpumask"))


def plan_cpumask(cpus: Iterable[int]) -> Change:
    """Record only on ``cpus`` (at least one)."""
    chosen = sorted(set(cpus))
    if not chosen:
        raise ConfigError("tracing_cpumask needs at least one CPU")
    return Change("tracing_cpumask", cpumask_text(chosen), describe=f"tracing_cpumask {chosen}")
