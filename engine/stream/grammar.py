"""The ftrace text grammar: the pieces of a trace line every reader of the text shares.

Several modules read the text tracefs prints (``trace``, ``trace_pipe``), each
for its own purpose: the line parser (``parse``) wants every field, the
per-batch counters (``stats``) and the filter (``lineview``) scan whole chunks
of joined lines, the offline loader (``offline``) and the demo replay only pick
a timestamp or a CPU, the trace view colours the columns. The shapes they look
for are written here once, so that a change to one (a new flags column width, a
new marker) is made for all of them; ``tests/unit/test_grammar.py`` checks on
real captures that the readers still agree on which lines are which.

Formats follow kernel/trace/trace_output.c (``trace_print_context``,
``trace_print_lat_context``, ``trace_ctxwake_print``, ``trace_stack_print``,
``trace_user_stack_print``), kernel/trace/trace.c (``print_trace_header``,
``print_event_info``, the ring buffer's lost-events and "buffer started"
notes) and kernel/trace/trace_functions_graph.c (``print_graph_*``).

Two flavours of the same column exist on purpose:

* per-line patterns (no suffix) separate columns with ``\\s`` and are run with
  ``match`` on one line;
* chunk scanners (``_SP`` suffix) separate columns with spaces only, so a match
  never runs on across the newline between two lines of a joined chunk.

Fragments are regex source strings; a fragment with named groups can be used
where groups are unwanted (two alternatives naming the same group, a
``findall`` that must return one value) through :func:`plain`. Nothing here
imports beyond the standard library.
"""

from __future__ import annotations

import re
from typing import Pattern, Tuple

__all__ = [
    "BUFFER_STARTED",
    "BUFFER_STARTED_LINE",
    "CONTEXT",
    "CPUS_HEADER",
    "CTXWAKE_OP",
    "CTXWAKE_TASK",
    "CTXWAKE_TASK_SP",
    "CTX_CPU_SP",
    "CTX_FLAGS",
    "CTX_PID_SP",
    "CTX_TGID",
    "CTX_TGID_ANY",
    "CTX_TGID_SP",
    "CTX_TS",
    "DELAY_MARK",
    "FLAGS",
    "GRAPH_ABS",
    "GRAPH_ABS_SP",
    "GRAPH_BAR_SP",
    "GRAPH_COMMENT_OPEN",
    "GRAPH_CPU",
    "GRAPH_DURATION",
    "GRAPH_EXIT_OPEN",
    "GRAPH_FLAGS",
    "GRAPH_PROC",
    "IRQS_OFF",
    "LAT_COMM",
    "LAT_DELAY_SP",
    "LAT_FLAGS",
    "LAT_MARK",
    "LAT_REL",
    "LAT_VERBOSE",
    "LOSS_MARKER_LINE",
    "LOST",
    "LOST_B",
    "LOST_LINE",
    "LOST_RE",
    "NAME",
    "NAME_CHARS",
    "STACK_FRAME_ARROW",
    "STACK_TRACE_HEADS",
    "SYM_MODULE",
    "SYM_OFFSET",
    "TGID",
    "TGID_ANY",
    "TRACER_HEADER",
    "TS",
    "TS_DOTTED",
    "ctx_pid_cpu_sp",
    "plain",
]


def plain(fragment: str) -> str:
    """``fragment`` with its named groups made non-capturing (same matches, no groups)."""
    return re.sub(r"\(\?P<\w+>", "(?:", fragment)


# --------------------------------------------------------------------------
# Atoms
# --------------------------------------------------------------------------

# Characters of a kernel symbol or event name ("vfs_read", "sched_switch",
# "foo.isra.0", "$x").
NAME_CHARS = r"[\w.$]"
NAME = NAME_CHARS + "+"
# seq_print_sym() with the sym-offset option: "+0x1c/0x40"; "%ps" of module
# code adds " [module]".
SYM_OFFSET = r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?"
SYM_MODULE = r"(?: \[[\w-]+\])?"

# The delay marks trace_find_mark() puts next to a duration or latency-format
# delay: "$" > 1s, "@" > 100ms, "*" > 10ms, "#" > 1ms, "!" > 100us, "+" > 10us.
DELAY_MARK = r"[+!#*@$]"
# The latency-format context prints the mark, or a space when there is none.
LAT_MARK = r"[ +!#*@$]"
# First flag character (irqs-off) of trace_print_lat_fmt(): "d" irqs off, "D"
# irqs and bottom halves off, "b" bottom halves off, "X" irqs-off state not
# supported, "." none.
IRQS_OFF = r"[.dDbX]"

# --------------------------------------------------------------------------
# Default context: trace_print_context()
# --------------------------------------------------------------------------
#
# "%16s-%-7d " comm-pid, [ "(%7d) " tgid | "(-------) " ] with record-tgid,
# "[%03d] " cpu, the irq-info flags (trace_print_lat_fmt(): 4 to 7 characters,
# "d..2." on current kernels, none with irq-info off), then " %5lu.%06lu" or,
# for counter clocks (``counter``, ``x86-tsc``), " %12llu", and ": ".

# The tgid as the kernel prints it, and the looser "digits and dashes" the
# scanners and the colouring accept.
TGID = r"\d+|-+"
TGID_ANY = r"[\d-]+"
CTX_TGID = r"(?:\(\s*(?P<tgid>" + TGID + r")\)\s+)?"
CTX_TGID_ANY = r"(?:\(\s*" + TGID_ANY + r"\)\s+)?"
CTX_TGID_SP = r"(?:\( *" + TGID_ANY + r"\) +)?"
# The flags column: not a digit (that would be the timestamp) nor ':'.
FLAGS = r"[^\s\d:][^\s:]*"
CTX_FLAGS = r"(?:(?P<flags>" + FLAGS + r")\s+)?"
# "secs.usecs", or a counter clock's dotless value.
TS = r"\d+(?:\.\d+)?"
TS_DOTTED = r"\d+\.\d+"
CTX_TS = r"(?P<ts>" + TS + r"):"

# The whole prefix, up to and including the ':' after the timestamp. The comm
# is right-aligned and may hold spaces, dashes and brackets, so it is matched
# lazily up to the "-pid" that is followed by the cpu column; it starts with a
# non-space so that the leading "\s*" cannot trade characters with it (every
# pattern must stay linear on a line of garbage).
CONTEXT = (
    r"\s*(?P<comm>\S.*?)-(?P<pid>\d+)\s+" + CTX_TGID + r"\[(?P<cpu>\d+)\]\s+" + CTX_FLAGS + CTX_TS
)

# Chunk-scanner pieces: "-pid [(tgid)] " before the "[cpu]" column.
CTX_PID_SP = r"-\d+ +" + CTX_TGID_SP
CTX_CPU_SP = r"\[\d+\]"


def ctx_pid_cpu_sp(pid: str = r"\d+", cpu: str = r"\d+") -> str:
    """ "-pid [(tgid)] [cpu]" for given pid and cpu alternatives (leading zeros of
    the "%03d" cpu column allowed)."""
    return r"-(?:" + pid + r") +" + CTX_TGID_SP + r"\[0*(?:" + cpu + r")\]"


# --------------------------------------------------------------------------
# Latency-format context: trace_print_lat_context()
# --------------------------------------------------------------------------
#
# The latency-format option (and the wakeup*/irqsoff tracers' trace file):
# "%8.8s-%-7d %3d" comm-pid cpu, the flags glued to the cpu (no space), then
# " %4lldus%c: " (time since the trace started, in microseconds, and a delay
# mark or a space). Without the "us" on older kernels.
LAT_COMM = r".{1,8}?"
LAT_FLAGS = r"[^\s\d]\S*"
LAT_REL = r"\d+(?:us)?"
# Scanner tail: " rel[us][mark]: ".
LAT_DELAY_SP = r" +" + LAT_REL + LAT_MARK + r"?: "

# Verbose latency format (print_lat_fmt with the verbose option):
# "%16s %7d %3d %d %08x %08lx " + "[%08llx] %ld.%03ldms (+%ld.%03ldms): ".
LAT_VERBOSE = (
    r"\s*(?P<comm>\S(?:.*?\S)?)\s+(?P<pid>\d+)\s+(?P<cpu>\d+)\s+(?P<flags>\d+)\s+"
    r"[0-9a-f]{8}\s+[0-9a-f]{8,}\s+\[(?P<usecs>[0-9a-f]+)\]\s+"
    r"[\d.]+(?:ms)?\s+\(\+[\d.]+(?:ms)?\):"
)

# trace_ctxwake_print(): " %7d:%3d:%c %s [%03d] %7d:%3d:%c %s", the sched_switch
# ("==>") and wakeup ("+") records of the wakeup tracers: pid:prio:state.
CTXWAKE_TASK = r"\d+:\s*-?\d+:\S"
CTXWAKE_TASK_SP = r"\d+: *-?\d+:\S"
CTXWAKE_OP = r"==>|\+"

# --------------------------------------------------------------------------
# Loss markers (kernel/trace/trace.c)
# --------------------------------------------------------------------------

# print_trace_line()/trace_pipe: "CPU:%d [LOST %lu EVENTS]\n" when the ring
# buffer overwrote (or dropped) events this reader had not seen.
LOST = r"CPU:(?P<cpu>\d+) \[LOST (?P<lost>\d+) EVENTS\]"
# print_trace_header()/test_cpu_buff_start(): "##### CPU %u buffer started ####"
# in the ``trace`` file when a CPU's buffer is shown from a later point than
# the others' because its older entries were overwritten.
BUFFER_STARTED = r"#{3,} CPU (?P<cpu>\d+) buffer started"

#: A LOST marker anywhere (``search``/``finditer`` over a chunk).
LOST_RE: Pattern[str] = re.compile(LOST)
#: The same over bytes; ``findall`` gives ``(cpu, lost)`` pairs.
LOST_B: Pattern[bytes] = re.compile(LOST.encode())
#: A whole stripped line that is a LOST marker.
LOST_LINE: Pattern[str] = re.compile(LOST + r"\s*$")
#: A whole stripped line that is a "buffer started" note.
BUFFER_STARTED_LINE: Pattern[str] = re.compile(BUFFER_STARTED + r" #{3,}\s*$")
#: A line that starts with either marker (what a viewer shows as loss).
LOSS_MARKER_LINE: Pattern[str] = re.compile("^" + plain(LOST) + "|^" + plain(BUFFER_STARTED))

# --------------------------------------------------------------------------
# Headers (print_trace_header, print_event_info)
# --------------------------------------------------------------------------

TRACER_HEADER = r"#\s*tracer:\s*(?P<tracer>\S+)"
# "#P:%d" online CPUs (print_event_info).
CPUS_HEADER = r"#P:(?P<n>\d+)"

# --------------------------------------------------------------------------
# Stack frames (trace_stack_print, trace_user_stack_print)
# --------------------------------------------------------------------------

# Each frame is printed " => %ps\n" under a "<stack trace>" / "<user stack
# trace>" head (the head is the record's body after the context).
STACK_FRAME_ARROW = "=>"
STACK_TRACE_HEADS: Tuple[str, ...] = ("<stack trace>", "<user stack trace>")

# --------------------------------------------------------------------------
# function_graph (kernel/trace/trace_functions_graph.c)
# --------------------------------------------------------------------------
#
# print_graph_prologue(): "%5lu.%06lu |  " (funcgraph-abstime), " %*d) "
# (funcgraph-cpu), centered "comm-pid" + " | " (funcgraph-proc), latency
# flags + " | " (latency-format); print_graph_duration(): "%c " delay mark,
# "%s us " duration padded, then "|  " and 2 spaces per depth level before
# "func() {", "func();", "}" (with funcgraph-tail "} /* func */") or an event
# printed as a comment "/* name: payload */".
GRAPH_ABS = r"\s*(?:(?P<abs>" + TS_DOTTED + r")\s+\|\s+)?"
GRAPH_ABS_SP = r" *(?:" + TS_DOTTED + r" +\| +)?"
GRAPH_CPU = r"(?P<cpu>\d+)\)"
GRAPH_PROC = r"(?:(?P<comm>[^|\s][^|]*?)-(?P<pid>\d+)\s+\|\s+)?"
GRAPH_FLAGS = r"(?P<flags>" + IRQS_OFF + r"[^\s|]{3,7})"
GRAPH_DURATION = r"(?P<dur>\d+(?:\.\d+)?)\s+us"
# The "|  " before the call column, and the indent after it.
GRAPH_BAR_SP = r"\|  +"
GRAPH_COMMENT_OPEN = r"/\* "
GRAPH_EXIT_OPEN = r"\} /\* "
