"""function_graph's records back to the call tree text the kernel prints.

Follows kernel/trace/trace_functions_graph.c: an entry whose next record on
the same CPU is its own return is a leaf (``func();`` with its duration), any
other entry opens a brace; a return closes it (``} /* func */`` when its entry
is not the one open at that depth, or under ``funcgraph-tail``); a task
switch on a CPU prints the ``=>`` banner; entries into irq code print
``==========>``; any other record is a ``/* comment */`` at the current
depth. State (depth, open functions, last pid) is per CPU and carries over
from one batch to the next, as the kernel keeps it per reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ftop.engine.raw.format import EventFormat, Field
from ftop.engine.raw.page import Record
from ftop.engine.raw.render import Renderer, trace_options_on

__all__ = ["GraphOptions", "GraphRenderer", "graph_duration"]

INDENT = 2
PROCINFO = 14
# trace_find_mark's thresholds (ns) and marks, largest first.
_MARKS = (
    (1_000_000_000, "$"),
    (100_000_000, "@"),
    (10_000_000, "*"),
    (1_000_000, "#"),
    (100_000, "!"),
    (10_000, "+"),
)
_FILL_FULL = "              |  "
_FILL_START = "  "
_FILL_END = " |"


@dataclass
class GraphOptions:
    cpu: bool = True
    overhead: bool = True
    proc: bool = False
    duration: bool = True
    abstime: bool = False
    irqs: bool = True
    tail: bool = False
    overrun: bool = False
    context_info: bool = True

    @classmethod
    def from_trace_options(cls, text: str) -> GraphOptions:
        on = trace_options_on(text)
        return cls(
            cpu=on.get("funcgraph-cpu", True),
            overhead=on.get("funcgraph-overhead", True),
            proc=on.get("funcgraph-proc", False),
            duration=on.get("funcgraph-duration", True),
            abstime=on.get("funcgraph-abstime", False),
            irqs=on.get("funcgraph-irqs", True),
            tail=on.get("funcgraph-tail", False),
            overrun=on.get("funcgraph-overrun", False),
            context_info=on.get("context-info", True),
        )


def graph_duration(ns: int) -> str:
    """trace_print_graph_duration: microseconds with up to 7 digits in all, " us ",
    padded to the column."""
    usecs, nsecs = divmod(ns, 1000)
    text = str(usecs)
    n = len(text)
    if n < 7:
        # snprintf(nsecs_str, min(5, 8 - len), "%03lu"): the kernel's buffer cuts digits.
        digits = f"{nsecs:03d}"[: min(5, 8 - n) - 1]
        text += "." + digits
        n += len(digits) + 1
    return text + " us " + " " * max(0, 8 - n)


def _mark(ns: int) -> str:
    for limit, sym in _MARKS:
        if ns > limit:
            return sym
    return " "


@dataclass
class _Cpu:
    depth: int = 0
    last_pid: int = -1
    enter: Dict[int, int] = field(default_factory=dict)


Item = Union[Record, str]  # a record, or a line to pass through (a LOST note)


class GraphRenderer:
    """Graph text for records merged across CPUs (oldest first)."""

    def __init__(
        self,
        base: Renderer,
        options: GraphOptions,
        ncpus: int,
        irq_text: Optional[Tuple[int, int]] = None,
    ) -> None:
        self.base = base
        self.options = options
        self.cpu_width = len(str(max(0, ncpus - 1)))
        self.irq_text = irq_text
        self._cpus: Dict[int, _Cpu] = {}
        self._ids: Dict[str, int] = {}
        self._fields: Dict[int, Dict[str, Field]] = {}
        for f in base.formats.values():
            if f.system == "ftrace" and f.name in ("funcgraph_entry", "funcgraph_exit"):
                self._ids[f.name] = f.id
                self._fields[f.id] = dict(f.by_name)
        self.entry_id = self._ids.get("funcgraph_entry", -1)
        self.exit_id = self._ids.get("funcgraph_exit", -1)

    # -- pieces
    def _val(self, rec: Record, name: str) -> int:
        return self._fields[rec.type_id][name].value(rec.data, self.base.endian)

    def _pid(self, rec: Record) -> int:
        return self.base._common.pid.value(rec.data, self.base.endian)

    def _proc(self, pid: int) -> str:
        comm = self.base.tasks.comm(pid).encode("utf-8", "surrogateescape")[:7]
        text = comm.decode("utf-8", "surrogateescape") + "-" + str(pid)
        length = len(comm) + len(str(pid)) + 1
        spaces = PROCINFO - length if length < PROCINFO else 0
        return " " * (spaces // 2) + text + " " * (spaces - spaces // 2)

    def _cpu_col(self, cpu: int) -> str:
        return f" {cpu:{self.cpu_width}d}) "

    def _abs(self, ts: int) -> str:
        secs, rem = divmod(ts, 1_000_000_000)
        return f"{secs:5d}.{rem // 1000:06d} |  "

    def _duration(self, ns: Optional[int], fill: str = "") -> str:
        o = self.options
        if not o.duration or not o.context_info:
            return ""
        if fill:
            return fill
        assert ns is not None
        return (f"{_mark(ns)} " if o.overhead else "  ") + graph_duration(ns) + "|  "

    def _in_irq_text(self, addr: int) -> bool:
        return self.irq_text is not None and self.irq_text[0] <= addr < self.irq_text[1]

    def _prefix(self, rec: Record, out: List[str], irq_type: int = 0, addr: int = 0) -> str:
        """print_graph_prologue: the task-switch banner (into ``out``), the irq arrow,
        then the columns of this line."""
        o = self.options
        cpu = rec.cpu
        st = self._cpus.setdefault(cpu, _Cpu())
        pid = self._pid(rec)
        if st.last_pid != pid:
            prev, st.last_pid = st.last_pid, pid
            if prev != -1:
                out.append(" ------------------------------------------")
                out.append(self._cpu_col(cpu) + self._proc(prev) + " => " + self._proc(pid))
                out.append(" ------------------------------------------")
                out.append("")
        if irq_type:
            self._irq(rec, out, irq_type, addr)
        if not o.context_info:
            return ""
        parts = []
        if o.abstime:
            parts.append(self._abs(rec.ts))
        if o.cpu:
            parts.append(self._cpu_col(cpu))
        if o.proc:
            parts.append(self._proc(pid) + " | ")
        return "".join(parts)

    def _irq(self, rec: Record, out: List[str], kind: int, addr: int) -> None:
        o = self.options
        if not o.context_info or not self._in_irq_text(addr):
            return
        parts = []
        if o.abstime:
            parts.append(self._abs(rec.ts))
        if o.cpu:
            parts.append(self._cpu_col(rec.cpu))
        if o.proc:
            parts.append(self._proc(self._pid(rec)) + " | ")
        parts.append(self._duration(None, _FILL_START))
        parts.append("==========>" if kind == 1 else "<==========")
        parts.append(self._duration(None, _FILL_END))
        out.append("".join(parts))

    def _sym(self, addr: int) -> str:
        return self.base.symbols.name(addr, offset=False, module=True)

    # -- the walk
    def lines(self, items: Sequence[Item]) -> List[str]:
        out: List[str] = []
        n = len(items)
        # The next record of the same CPU, for the leaf test (get_return_for_leaf).
        nxt: List[int] = [-1] * n
        last: Dict[int, int] = {}
        for i in range(n - 1, -1, -1):
            it = items[i]
            if isinstance(it, str):
                continue
            nxt[i] = last.get(it.cpu, -1)
            last[it.cpu] = i
        skip = set()
        for i, it in enumerate(items):
            if isinstance(it, str):
                out.append(it)
                continue
            if i in skip:
                continue
            tid = it.type_id
            if tid == self.entry_id:
                j = nxt[i]
                ret = items[j] if j >= 0 else None
                if (
                    isinstance(ret, Record)
                    and ret.type_id == self.exit_id
                    and self._pid(ret) == self._pid(it)
                    and self._val(ret, "func") == self._val(it, "func")
                ):
                    skip.add(j)
                    self._leaf(it, ret, out)
                else:
                    self._nested(it, out)
            elif tid == self.exit_id:
                self._return(it, out)
            else:
                self._comment(it, out)
        return out

    def _leaf(self, ent: Record, ret: Record, out: List[str]) -> None:
        func = self._val(ent, "func")
        depth = self._val(ent, "depth")
        st = self._cpus.setdefault(ent.cpu, _Cpu())
        line = self._prefix(ent, out, 1, func)
        st.depth = depth - 1
        st.enter.pop(depth, None)
        dur = self._val(ret, "rettime") - self._val(ret, "calltime")
        line += self._duration(dur) + " " * (depth * INDENT) + f"{self._sym(func)}();"
        out.append(line)
        self._irq(ret, out, 2, func)

    def _nested(self, ent: Record, out: List[str]) -> None:
        func = self._val(ent, "func")
        depth = self._val(ent, "depth")
        st = self._cpus.setdefault(ent.cpu, _Cpu())
        line = self._prefix(ent, out, 1, func)
        st.depth = depth
        st.enter[depth] = func
        out.append(
            line
            + self._duration(None, _FILL_FULL)
            + " " * (depth * INDENT)
            + f"{self._sym(func)}() {{"
        )

    def _return(self, ret: Record, out: List[str]) -> None:
        func = self._val(ret, "func")
        depth = self._val(ret, "depth")
        st = self._cpus.setdefault(ret.cpu, _Cpu())
        st.depth = depth - 1
        matched = st.enter.pop(depth, None) == func
        line = self._prefix(ret, out)
        dur = self._val(ret, "rettime") - self._val(ret, "calltime")
        line += self._duration(dur) + " " * (depth * INDENT)
        if matched and not self.options.tail:
            line += "}"
        else:
            line += f"}} /* {self._sym(func)} */"
        out.append(line)
        if self.options.overrun:
            out.append(f" (Overruns: {self._val(ret, 'overrun')})")
        self._irq(ret, out, 2, func)

    def _comment(self, rec: Record, out: List[str]) -> None:
        st = self._cpus.setdefault(rec.cpu, _Cpu())
        line = self._prefix(rec, out) + self._duration(None, _FILL_FULL)
        if st.depth > 0:
            line += " " * ((st.depth + 1) * INDENT)
        fmt: Optional[EventFormat] = self.base.formats.get(rec.type_id)
        if fmt is not None and fmt.system == "ftrace" and fmt.name in ("print", "bprint", "bputs"):
            body = self.base.body(rec)
            # The message only: trace_print_*_msg_only drop the "ip: " part.
            body = body.split(": ", 1)[1] if ": " in body else body
        else:
            body = self.base.body(rec)
        if body.endswith("\n"):
            body = body[:-1]
        text = line + "/* " + body + " */"
        out.extend(text.split("\n"))
