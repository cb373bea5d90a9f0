"""Parse the text tracefs prints (``trace``, ``trace_pipe``) one line at a time, on demand.

The ring keeps raw lines; a line is parsed only when someone looks at it, so
this module favours being right and tolerant over raw speed. Formats follow
kernel/trace/trace_output.c (``trace_print_context``,
``trace_print_lat_context``, ``trace_fn_trace``, ``trace_ctxwake_print``,
``trace_stack_print``), kernel/trace/trace_functions_graph.c
(``print_graph_*``) and kernel/trace/trace_syscalls.c (``print_syscall_enter``,
``print_syscall_exit``). Nothing here raises on odd input: a line it does not
recognise becomes a ``Record`` of kind ``"other"`` with the raw text kept.

One piece on purpose (about 720 lines): it is the slow, exact oracle that every
fast path (stats, lineview, the trace view's colouring) is tested against, line by
line on real captures; the shared grammar pieces live in grammar.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ftop.engine.stream import grammar as g

__all__ = [
    "GRAPH_KINDS",
    "KINDS",
    "LatencyTrace",
    "Record",
    "is_unparsed",
    "parse_latency_trace",
    "parse_line",
]

#: Every value ``Record.kind`` takes.
KINDS = ("function", "event", "graph", "lost", "stack", "marker", "header", "note", "other")

#: How ftop's own lines in a stream begin (a span not decoded, what predates the
#: start): ``[ftop: ...]``, never the kernel's.
NOTE_PREFIX = "[ftop: "

#: Every value ``Record.graph_kind`` takes (``None`` outside function_graph output).
GRAPH_KINDS = ("entry", "exit", "leaf", "comment", "switch", "irq_entry", "irq_exit", "overrun")


@dataclass(frozen=True)
class Record:
    """One parsed line. Fields that do not apply to the line's kind are ``None``.

    Attributes:
        kind: one of ``KINDS``.
        raw: the line exactly as the kernel printed it (no trailing newline).
        ts: timestamp in seconds. Lines from a counter clock (``trace_clock``
            ``counter``, ``x86-tsc``, printed without a dot) carry the raw
            counter value instead; latency-format lines carry the time since
            the start of the trace.
        cpu: CPU number.
        pid: task (thread) id.
        tgid: thread-group id when the ``record-tgid`` column is shown.
        comm: task name as the kernel printed it (``<...>`` when it had none).
        flags: the irqs-off/need-resched/hardirq/preempt column, e.g. ``d..2.``.
        name: function name (function, graph and stack lines) or event name.
        parent: the function tracer's caller (``<-parent``), offset stripped.
        depth: function_graph nesting depth.
        duration_us: function_graph duration in microseconds.
        duration_mark: the ``+ ! # * @ $`` mark next to a graph duration or a
            latency-format delay.
        graph_kind: one of ``GRAPH_KINDS`` for graph lines.
        lost: events lost, from ``CPU:N [LOST M EVENTS]``.
        fields: the rest of the line: an event's payload, a marker's text, a
            comment's text, a stack frame with its offset, a context switch.
    """

    __slots__ = (
        "comm",
        "cpu",
        "depth",
        "duration_mark",
        "duration_us",
        "fields",
        "flags",
        "graph_kind",
        "kind",
        "lost",
        "name",
        "parent",
        "pid",
        "raw",
        "tgid",
        "ts",
    )

    kind: str
    raw: str
    ts: Optional[float]
    cpu: Optional[int]
    pid: Optional[int]
    tgid: Optional[int]
    comm: Optional[str]
    flags: Optional[str]
    name: Optional[str]
    parent: Optional[str]
    depth: Optional[int]
    duration_us: Optional[float]
    duration_mark: Optional[str]
    graph_kind: Optional[str]
    lost: Optional[int]
    fields: Optional[str]

    def to_json(self) -> Dict[str, Any]:
        """The ``--json`` record: every attribute, ``None`` where not applicable."""
        return {
            "ts": self.ts,
            "cpu": self.cpu,
            "pid": self.pid,
            "tgid": self.tgid,
            "comm": self.comm,
            "flags": self.flags,
            "kind": self.kind,
            "name": self.name,
            "parent": self.parent,
            "depth": self.depth,
            "duration_us": self.duration_us,
            "duration_mark": self.duration_mark,
            "graph_kind": self.graph_kind,
            "lost": self.lost,
            "fields": self.fields,
            "raw": self.raw,
        }


def _rec(
    kind: str,
    raw: str,
    *,
    ts: Optional[float] = None,
    cpu: Optional[int] = None,
    pid: Optional[int] = None,
    tgid: Optional[int] = None,
    comm: Optional[str] = None,
    flags: Optional[str] = None,
    name: Optional[str] = None,
    parent: Optional[str] = None,
    depth: Optional[int] = None,
    duration_us: Optional[float] = None,
    duration_mark: Optional[str] = None,
    graph_kind: Optional[str] = None,
    lost: Optional[int] = None,
    fields: Optional[str] = None,
) -> Record:
    return Record(
        kind,
        raw,
        ts,
        cpu,
        pid,
        tgid,
        comm,
        flags,
        name,
        parent,
        depth,
        duration_us,
        duration_mark,
        graph_kind,
        lost,
        fields,
    )


def is_unparsed(rec: Record) -> bool:
    """True for a line the parser did not recognise; blank lines do not count."""
    return rec.kind == "other" and bool(rec.raw.strip())


# --------------------------------------------------------------------------
# Line shapes
# --------------------------------------------------------------------------

# The context prefixes (trace_print_context, trace_print_lat_context and its
# verbose form) are described in ftop.engine.stream.grammar.
_CONTEXT = re.compile(g.CONTEXT + r"(?: (?P<body>.*))?$")
_LAT_CONTEXT = re.compile(
    r"\s*(?P<comm>" + g.LAT_COMM + r")-(?P<pid>\d+)\s+(?P<cpu>\d+)"
    r"(?P<flags>" + g.LAT_FLAGS + r")\s+"
    r"(?P<rel>\d+)(?:us)?(?P<mark>" + g.LAT_MARK + r")?:(?: (?P<body>.*))?$"
)
_LAT_VERBOSE = re.compile(g.LAT_VERBOSE + r"(?: (?P<body>.*))?$")

_LOST = g.LOST_LINE
_BUFFER_STARTED = g.BUFFER_STARTED_LINE

_SYM_OFFSET = g.SYM_OFFSET
_SYM_MODULE = g.SYM_MODULE
_GRAPH_ABS = g.GRAPH_ABS
_GRAPH_CPU = r"(?:" + g.GRAPH_CPU + r"\s+)?"
_GRAPH_PROC = g.GRAPH_PROC

# Event body "name: payload"; the name may carry a symbol offset and module
# when it is a trace_printk()'s caller printed with sym-offset.
_EVENT_BODY = re.compile(
    r"(?P<name>" + g.NAME + r")" + _SYM_OFFSET + _SYM_MODULE + r":(?: (?P<fields>.*))?$",
    re.DOTALL,
)
# Syscall events (kernel/trace/trace_syscalls.c) have no "name:" head:
# print_syscall_enter() prints "sys_read(fd: 3, buf: 7ffd1c2a, count: 340)"
# ("%s(" name, "%s: %lx" per argument with ", " between, each value led by its
# type with the verbose option, ")") and print_syscall_exit() "sys_read -> 0x154"
# ("%s -> 0x%lx"). The printed name is the syscall's metadata name, "sys" +
# sname; the events are syscalls:sys_enter<sname> and syscalls:sys_exit<sname>.
# "[^():=]+: " keeps the function tracer's func-args "name(arg=val)" out.
_SYSCALL = re.compile(
    r"sys_(?P<sname>\w+)(?:\((?P<args>(?:[^():=]+: [^()]*)?)\)| -> (?P<ret>0x[0-9a-f]+))$"
)
# A function tracer line without its parent (noprint-parent): just a symbol.
# seq_print_ip_sym() prints "0" for a null ip and "0x%08lx" for one without a
# symbol (the wakeup tracers record such entries).
_BARE_SYMBOL = re.compile(
    r"(?P<name>[A-Za-z_.$][\w.$]*|0x[0-9a-f]+|0)"
    + _SYM_OFFSET
    + r"(?:\(.*\))?"
    + _SYM_MODULE
    + r"(?: <[0-9a-f]+>)?$"
)
# trace_ctxwake_print(): " %7d:%3d:%c %s [%03d] %7d:%3d:%c %s" (sched_switch and
# wakeup tracers' own records).
_CTXWAKE = re.compile(
    r"\s*(?P<prev>" + g.CTXWAKE_TASK + r")\s+(?P<op>" + g.CTXWAKE_OP + r")\s+\[(?P<cpu>\d+)\]\s+"
    r"(?P<next>" + g.CTXWAKE_TASK + r")(?: (?P<comm>.*))?$"
)
# Tracers with their own record shapes (trace_output.c): hwlat, timerlat, osnoise.
_HWLAT = re.compile(r"#\d+\s+inner/outer\(us\):")
_TIMERLAT = re.compile(r"#\d+\s+context\s+\w+\s+timer_latency\s+\d+ ns")
_OSNOISE = re.compile(r"\d+\s+\d+\s+\d+\.\d+\s+\d+(?:\s+\d+){5}\s*$")
_RAW_DATA = re.compile(r"# [0-9a-f]+ buf:")

# function_graph (print_graph_prologue + print_graph_duration; the columns are
# described in ftop.engine.stream.grammar): abstime, cpu, proc, latency flags
# [" | "], mark, duration, "|", then 2 spaces per depth level and the call.
_GRAPH = re.compile(
    _GRAPH_ABS
    + _GRAPH_CPU
    + _GRAPH_PROC
    + r"(?:"
    + g.GRAPH_FLAGS
    + r"\s+(?:\|\s+)?)?"
    + r"(?:(?P<mark>"
    + g.DELAY_MARK
    + r")\s+)?"
    + r"(?:"
    + g.GRAPH_DURATION
    + r"\s+)?"
    + r"\|(?P<rest>.*)$"
)
# Graph output with the duration column off: no "|" before the call.
_GRAPH_NODUR = re.compile(_GRAPH_ABS + g.GRAPH_CPU + r" (?P<rest>.*)$")
_GRAPH_HINT = re.compile(g.plain(_GRAPH_ABS + g.GRAPH_CPU) + r"\s")
_GRAPH_SWITCH = re.compile(
    r"\s*" + g.GRAPH_CPU + r"\s+(?P<prev>\S.*?-\d+)\s+=>\s+(?P<next>\S.*?)-(?P<pid>\d+)\s*$"
)
_GRAPH_SEPARATOR = re.compile(r"\s*-{20,}\s*$")
_GRAPH_IRQ = re.compile(
    _GRAPH_ABS + _GRAPH_CPU + _GRAPH_PROC + r".*?(?P<arrow>==========>|<==========)"
)
_GRAPH_OVERRUN = re.compile(r"\s*\(Overruns: (?P<n>\d+)\)\s*$")
# "%ps()" prints a module's symbol as "name [module]".
_GRAPH_CALL = re.compile(
    r"(?P<name>[^\s(){};/]+)" + _SYM_MODULE + r"\((?P<args>.*)\)\s*(?P<end>;|\{)(?P<tail>.*)$"
)
_GRAPH_EXIT_TAIL = re.compile(r"\}\s*/\*\s*(?P<name>[^\s=*]+)")
_GRAPH_COMMENT = re.compile(r"/\*\s?(?P<text>.*?)\s?\*/\s*$")

# /sys/kernel/tracing/stack_trace (the stack tracer's report).
_STACK_TRACE_ROW = re.compile(
    r"\s*(?P<idx>\d+)\)\s+(?P<depth>\d+)\s+(?P<size>\d+)\s+(?P<loc>\S.*)$"
)
_STACK_TRACE_HEAD = re.compile(r"\s*(?:Depth\s+Size\s+Location|-----\s+----\s+--------)")


_SYM_HEAD = re.compile(r"[^+( ]+")


def _base_symbol(text: str) -> str:
    """``foo+0x12/0x40 [mod]`` or ``foo(args)`` -> ``foo``."""
    m = _SYM_HEAD.match(text)
    return m.group() if m else text


def _frame_symbol(frame: str) -> str:
    """Function name of a stack frame; user-space frames (paths, addresses) stay whole."""
    if frame[:1].isalpha() or frame[:1] == "_":
        return _base_symbol(frame)
    return frame


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def parse_line(line: str) -> Record:
    """Parse one line of ftrace text output. Never raises."""
    raw = line.rstrip("\r\n")
    try:
        return _parse(raw)
    except Exception:  # a parser bug must not lose the line
        return _rec("other", raw)


def _parse(raw: str) -> Record:
    stripped = raw.strip()
    if not stripped:
        return _rec("other", raw)
    first = stripped[0]

    if first == "#":
        m = _BUFFER_STARTED.match(stripped)
        if m:
            # Printed when the trace file shows this CPU's buffer from a later
            # point than the others' because older entries were overwritten.
            return _rec("lost", raw, cpu=int(m.group("cpu")))
        return _rec("header", raw)

    if first == "C" and stripped.startswith("CPU:"):
        m = _LOST.match(stripped)
        if m:
            return _rec("lost", raw, cpu=int(m.group("cpu")), lost=int(m.group("lost")))

    if first == "=" and stripped.startswith(g.STACK_FRAME_ARROW):
        frame = stripped[len(g.STACK_FRAME_ARROW) :].strip()
        return _rec("stack", raw, name=_frame_symbol(frame), fields=frame)

    if first == "<" and stripped in g.STACK_TRACE_HEADS:
        return _rec("stack", raw, fields=stripped)

    graphish = first.isdigit() and _GRAPH_HINT.match(raw) is not None
    if not graphish:
        m = _CONTEXT.match(raw)
        if m:
            comm, pid, tgid, cpu, flags, ts, body = m.groups()
            kind, name, parent, fields = _classify(body or "", False)
            return Record(
                kind,
                raw,
                float(ts),
                int(cpu),
                int(pid),
                int(tgid) if tgid and tgid[0] != "-" else None,
                comm.strip(),
                flags,
                name,
                parent,
                None,
                None,
                None,
                None,
                None,
                fields,
            )

    rec = _graph(raw)
    if rec is not None:
        return rec

    if not graphish:
        m = _LAT_CONTEXT.match(raw)
        if m:
            comm, pid, cpu, flags, rel, mark, body = m.groups()
            kind, name, parent, fields = _classify(body or "", False)
            return Record(
                kind,
                raw,
                int(rel) / 1e6,
                int(cpu),
                int(pid),
                None,
                comm.strip(),
                flags,
                name,
                parent,
                None,
                None,
                mark if mark and mark != " " else None,
                None,
                None,
                fields,
            )

        m = _LAT_VERBOSE.match(raw)
        if m:
            comm, pid, cpu, flags, usecs, body = m.groups()
            kind, name, parent, fields = _classify(body or "", False)
            return _rec(
                kind,
                raw,
                ts=int(usecs, 16) / 1e6,
                cpu=int(cpu),
                pid=int(pid),
                comm=comm.strip(),
                flags=flags,
                name=name,
                parent=parent,
                fields=fields,
            )

    m = _STACK_TRACE_ROW.match(raw)
    if m:
        loc = m.group("loc").strip()
        return _rec("stack", raw, name=_frame_symbol(loc), depth=int(m.group("idx")), fields=loc)
    if _STACK_TRACE_HEAD.match(raw):
        return _rec("header", raw)

    # ftop's own note, last: a task can name itself "[ftop: ..." and its lines must
    # still parse as what they are (the context matched above).
    if raw.startswith(NOTE_PREFIX) and raw.endswith("]"):
        return _rec("note", raw)

    # Lines printed with the context-info option off: just the body.
    kind, name, parent, fields = _classify(stripped, True)
    return _rec(kind, raw, name=name, parent=parent, fields=fields)


_Classified = Tuple[str, Optional[str], Optional[str], Optional[str]]
_OTHER: _Classified = ("other", None, None, None)


def _classify(body: str, bare: bool) -> _Classified:
    """Classify what follows the context columns: (kind, name, parent, fields).

    ``bare`` is set for a line that had no context columns at all, where only
    the unmistakable shapes are accepted.
    """
    text = body.strip()
    if not text:
        return _OTHER
    first = text[0]

    if first.isdigit():
        # Before the event test: "17: 98:I ==> [000] ..." (the prio is printed
        # "%3d") would otherwise read as an event named "17".
        m = _CTXWAKE.match(text)
        if m:
            name = "sched_switch" if m.group("op") == "==>" else "sched_wakeup"
            return ("event", name, None, text)

    if first == "s" and text.startswith("sys_"):
        m = _SYSCALL.match(text)
        if m:
            return _syscall(m)

    if first == "<":
        if text in g.STACK_TRACE_HEADS:
            return ("stack", None, None, text)
    else:
        # "name: payload": cheap test on the first word before the regex.
        sp = text.find(" ")
        head = text if sp < 0 else text[:sp]
        if head[-1] == ":" or (sp > 0 and ": " in text):
            m = _EVENT_BODY.match(text)
            if m:
                name = m.group("name")
                kind = "marker" if name == "tracing_mark_write" else "event"
                return (kind, name, None, m.group("fields"))

    arrow = text.find(" <-")
    if arrow > 0:
        right = text[arrow + 3 :].strip()
        parent_tok, _, tail = right.partition(" ")
        tail = tail.strip()
        # " <addr>" after the parent (sym-addr option) is not payload.
        if tail.startswith("<") and tail.find(">") > 0:
            tail = tail[tail.find(">") + 1 :].strip()
        return ("function", _base_symbol(text[:arrow]), _base_symbol(parent_tok), tail or None)

    if first == "#":
        if _RAW_DATA.match(text):  # trace_marker_raw
            return ("marker", None, None, text)
        if _HWLAT.match(text):
            return ("event", "hwlat", None, text)
        if _TIMERLAT.match(text):
            return ("event", "timerlat", None, text)

    if not bare:
        m = _BARE_SYMBOL.match(text)
        if m:
            return ("function", m.group("name"), None, None)
        if _OSNOISE.match(text):
            return ("event", "osnoise", None, text)

    return _OTHER


def _syscall(m: re.Match[str]) -> _Classified:
    """A syscall enter or exit line, named after its event (``sys_enter_read``)."""
    ret = m.group("ret")
    if ret is not None:
        return ("event", "sys_exit_" + m.group("sname"), None, ret)
    return ("event", "sys_enter_" + m.group("sname"), None, m.group("args") or None)


def _graph(raw: str) -> Optional[Record]:
    """Parse a function_graph line, or return None when it is not one."""
    if "--" in raw and _GRAPH_SEPARATOR.match(raw):
        return _rec("graph", raw, graph_kind="switch")

    if "=>" in raw and "|" not in raw:
        m = _GRAPH_SWITCH.match(raw)
        if m:
            nxt = m.group("next").strip()
            return _rec(
                "graph",
                raw,
                cpu=int(m.group("cpu")),
                pid=int(m.group("pid")),
                comm=nxt,
                graph_kind="switch",
                fields=f"{m.group('prev').strip()} => {nxt}-{m.group('pid')}",
            )

    if "==========" in raw:
        m = _GRAPH_IRQ.match(raw)
        if m:
            i_abs, i_cpu, i_comm, i_pid, arrow = m.groups()
            return _rec(
                "graph",
                raw,
                ts=float(i_abs) if i_abs else None,
                cpu=int(i_cpu) if i_cpu else None,
                pid=int(i_pid) if i_pid else None,
                comm=i_comm.strip() if i_comm else None,
                graph_kind="irq_entry" if arrow[0] == "=" else "irq_exit",
            )

    if "Overruns" in raw:
        m = _GRAPH_OVERRUN.match(raw)
        if m:
            return _rec("graph", raw, graph_kind="overrun", lost=int(m.group("n")))

    comm: Optional[str] = None
    pid: Optional[str] = None
    flags: Optional[str] = None
    mark: Optional[str] = None
    dur: Optional[str] = None
    m = _GRAPH.match(raw)
    if m is not None:
        has_bar = True
        abs_ts, cpu, comm, pid, flags, mark, dur, rest = m.groups()
    else:
        m = _GRAPH_NODUR.match(raw)
        if m is None:
            return None
        has_bar = False
        abs_ts, cpu, rest = m.groups()
    call = rest.lstrip(" ")
    indent = len(rest) - len(call)
    # With the duration column the call follows "|  ", then 2 spaces per level.
    depth = max(0, (indent - 2) // 2) if has_bar else indent // 2
    call = call.rstrip()
    if not call:
        return None

    head = call[0]
    if head == "}":
        graph_kind = "exit"
        t = _GRAPH_EXIT_TAIL.match(call)
        name = t.group("name") if t else None
        fields = call[1:].strip() or None
        duration = float(dur) if dur else None
    elif head == "/" and call.startswith("/*"):
        graph_kind = "comment"
        c = _GRAPH_COMMENT.match(call)
        fields = c.group("text") if c else call[2:].strip()
        ev = _EVENT_BODY.match(fields)
        name = ev.group("name") if ev else None
        if name is None and fields.startswith("sys_"):
            sc = _SYSCALL.match(fields)
            name = _syscall(sc)[1] if sc else None
        duration = None
        mark = None
    else:
        c = _GRAPH_CALL.match(call)
        if c is None or (not has_bar and not cpu):
            return None
        fname, args, end, tail = c.groups()
        leaf = end == ";"
        graph_kind = "leaf" if leaf else "entry"
        name = _base_symbol(fname)
        tail = tail.strip()
        fields = ", ".join(x for x in (args, tail) if x) or None
        duration = float(dur) if dur and leaf else None
        if not leaf:
            mark = None
    return Record(
        "graph",
        raw,
        float(abs_ts) if abs_ts else None,
        int(cpu) if cpu else None,
        int(pid) if pid else None,
        None,
        comm.strip() if comm else None,
        flags,
        name,
        None,
        depth,
        duration,
        mark,
        graph_kind,
        None,
        fields,
    )


# --------------------------------------------------------------------------
# Latency traces (wakeup, wakeup_rt, wakeup_dl, irqsoff, preemptoff...)
# --------------------------------------------------------------------------

_LT_TRACER = re.compile(g.TRACER_HEADER)
_LT_VERSION = re.compile(r"#\s*(?P<tracer>\S+) latency trace v[\d.]+ on (?P<release>\S+)")
_LT_LATENCY = re.compile(
    r"#\s*latency:\s*(?P<lat>\d+) us, #(?P<shown>\d+)/(?P<total>\d+), CPU#(?P<cpu>\d+)"
    r"(?:\s*\|\s*\(M:(?P<model>[^\s,]+)(?P<rest>[^)]*)\))?"
)
_LT_CPUS = re.compile(g.CPUS_HEADER)
_LT_TASK = re.compile(
    r"#\s*\|\s*task:\s*(?P<comm>.*)-(?P<pid>\d+)\s+\(uid:(?P<uid>-?\d+)\s+nice:(?P<nice>-?\d+)\s+"
    r"policy:(?P<policy>-?\d+)\s+rt_prio:(?P<prio>-?\d+)\)"
)
_LT_STARTED = re.compile(r"#\s*=>\s*started at:\s*(?P<sym>\S+)")
_LT_ENDED = re.compile(r"#\s*=>\s*ended at:\s*(?P<sym>\S+)")


@dataclass
class LatencyTrace:
    """A latency tracer's report (the ``trace`` file after wakeup*/irqsoff/preemptoff).

    Attributes:
        tracer: tracer name from ``# tracer:`` (or the ``latency trace`` line).
        kernel_release: the ``on <release>`` part of the version line.
        latency_us: the maximum latency recorded, in microseconds.
        entries_shown: entries in this report (``#a/b``: a).
        entries_total: entries written (``#a/b``: b).
        cpu: CPU the latency was measured on.
        preempt_model: the ``M:`` field (``preempt``, ``preempt_rt``, ``server``...).
        online_cpus: the ``#P:`` field.
        task_comm, task_pid, uid, nice, policy, rt_prio: the task the latency is about.
        started_at, ended_at: critical-section start/end (irqsoff/preemptoff tracers).
        records: every non-header line, parsed.
        stacks: each ``<stack trace>`` block's frames, as printed after ``=>``.
        unparsed: lines ``is_unparsed`` is true for.
    """

    tracer: Optional[str] = None
    kernel_release: Optional[str] = None
    latency_us: Optional[int] = None
    entries_shown: Optional[int] = None
    entries_total: Optional[int] = None
    cpu: Optional[int] = None
    preempt_model: Optional[str] = None
    online_cpus: Optional[int] = None
    task_comm: Optional[str] = None
    task_pid: Optional[int] = None
    uid: Optional[int] = None
    nice: Optional[int] = None
    policy: Optional[int] = None
    rt_prio: Optional[int] = None
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    records: List[Record] = field(default_factory=list)
    stacks: List[List[str]] = field(default_factory=list)
    unparsed: int = 0


def parse_latency_trace(text: str) -> LatencyTrace:
    """Parse a whole latency-tracer report: header fields, records and stack blocks."""
    lt = LatencyTrace()
    current: Optional[List[str]] = None
    for line in text.splitlines():
        rec = parse_line(line)
        if rec.kind == "header":
            _latency_header(lt, line.strip())
            current = None
            continue
        if rec.kind == "other" and not rec.raw.strip():
            continue
        lt.records.append(rec)
        if is_unparsed(rec):
            lt.unparsed += 1
        if rec.kind == "stack":
            if rec.name is None:  # "<stack trace>" opener
                current = []
                lt.stacks.append(current)
            else:
                if current is None:
                    current = []
                    lt.stacks.append(current)
                current.append(rec.fields or rec.name)
        else:
            current = None
    return lt


def _latency_header(lt: LatencyTrace, line: str) -> None:
    m = _LT_TRACER.match(line)
    if m:
        lt.tracer = m.group("tracer")
        return
    m = _LT_VERSION.match(line)
    if m:
        lt.tracer = lt.tracer or m.group("tracer")
        lt.kernel_release = m.group("release")
        return
    m = _LT_LATENCY.match(line)
    if m:
        lt.latency_us = int(m.group("lat"))
        lt.entries_shown = int(m.group("shown"))
        lt.entries_total = int(m.group("total"))
        lt.cpu = int(m.group("cpu"))
        lt.preempt_model = m.group("model")
        p = _LT_CPUS.search(m.group("rest") or "")
        if p:
            lt.online_cpus = int(p.group("n"))
        return
    m = _LT_TASK.match(line)
    if m:
        lt.task_comm = m.group("comm").strip()
        lt.task_pid = int(m.group("pid"))
        lt.uid = int(m.group("uid"))
        lt.nice = int(m.group("nice"))
        lt.policy = int(m.group("policy"))
        lt.rt_prio = int(m.group("prio"))
        return
    m = _LT_STARTED.match(line)
    if m:
        lt.started_at = m.group("sym")
        return
    m = _LT_ENDED.match(line)
    if m:
        lt.ended_at = m.group("sym")
