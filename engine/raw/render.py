"""Binary records back to the text the kernel writes in ``trace``, line for line.

The context prefix follows ``trace_print_context`` (kernel/trace/trace_output.c):
``%16s-%-7d``, the tgid column when ``record-tgid`` is on, ``[%03d]``, the
flags columns when ``irq-info`` is on, and the time stamp as ``%5lu.%06lu``
(rounded to the microsecond) on nanosecond clocks. The flags' letters depend
on the kernel: 6.13 and later have lazy preemption (``L``, ``b``, ``B``), the
6.1 PREEMPT_RT kernels add a need-resched-lazy and a preempt-lazy-depth column
(their records carry ``common_preempt_lazy_count``), older ones show ``X`` when
irq flags are not supported.

The events ftrace itself defines (function, print, the context switches of the
wakeup tracers, stacks) and the syscall events print their own way, not by
their ``print fmt``; they are written here. Everything else goes through
:mod:`ftop.engine.raw.print_fmt`; an event whose print fmt is beyond it is
shown as ``name: field=value ...`` and counted in :attr:`Renderer.rendered_raw`.

One piece on purpose (about 700 lines): the context prefix, the per-event body
compilers and the caches keyed on both (prefix per task and flags, text per
payload) share the Renderer's state; trace_output.c keeps them together too, and
the raw oracle tests compare this module's output with the kernel's line by line.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ftop.engine.raw.bprint import render_bprint
from ftop.engine.raw.format import EventFormat, Field
from ftop.engine.raw.page import Record
from ftop.engine.raw.print_fmt import BadRecord, Env, Unsupported, compile_print_fmt, raw_fields
from ftop.engine.raw.symbols import PrintkFormats, SymbolTable, Tasks

__all__ = ["FlagStyle", "Renderer", "TextOptions", "flag_style_for"]

# Clocks whose stamps are nanoseconds (trace.c, trace_clocks[].in_ns).
NS_CLOCKS = frozenset({"local", "global", "perf", "mono", "mono_raw", "boot", "tai"})
# task_index_to_char's table (include/linux/sched.h TASK_REPORT order).
_TASK_STATES = "RSDTtXZPI"

# TRACE_FLAG_* (kernel/trace/trace.h)
_IRQS_OFF = 0x01
_BIT1 = 0x02  # NEED_RESCHED_LAZY since 6.13; IRQS_NOSUPPORT before (and on 6.1-rt)
_NEED_RESCHED = 0x04
_HARDIRQ = 0x08
_SOFTIRQ = 0x10
_PREEMPT_RESCHED = 0x20  # NEED_RESCHED_LAZY on 6.1-rt (the bit is shared there)
_NMI = 0x40
_BH_OFF = 0x80


class FlagStyle:
    CLASSIC = "classic"  # before 6.13: bit 1 is IRQS_NOSUPPORT ('X')
    LAZY = "lazy"  # 6.13+: bit 1 is NEED_RESCHED_LAZY, combined letters
    RT_LAZY = "rt-lazy"  # 6.1-rt: separate need-resched-lazy and preempt-lazy-depth columns


def _version(release: str) -> Tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def syscall_style_for(release: str) -> str:
    return "modern" if _version(release) >= (6, 18) or not release else "classic"


def flag_style_for(release: str, has_lazy_count: bool) -> str:
    if has_lazy_count:
        return FlagStyle.RT_LAZY
    if _version(release) >= (6, 13):
        return FlagStyle.LAZY
    return FlagStyle.CLASSIC


def trace_options_on(text: str) -> Dict[str, bool]:
    """``trace_options`` as read ("print-parent", "nosym-offset" ...): name -> on."""
    return {w[2:] if w.startswith("no") else w: not w.startswith("no") for w in text.split()}


@dataclass
class TextOptions:
    """The ``trace_options`` that change how a line reads."""

    irq_info: bool = True
    record_tgid: bool = False
    context_info: bool = True
    print_parent: bool = True
    sym_offset: bool = False
    sym_addr: bool = False
    clock: str = "local"
    flag_style: str = FlagStyle.LAZY
    # How syscall arguments print: "modern" (6.18+: below 10 in decimal, else 0x...),
    # "classic" (bare hex).
    syscall_style: str = "modern"

    @classmethod
    def from_trace_options(
        cls,
        text: str,
        clock: str = "local",
        flag_style: str = FlagStyle.LAZY,
        syscall_style: str = "modern",
    ) -> TextOptions:
        on = trace_options_on(text)
        return cls(
            irq_info=on.get("irq-info", True),
            record_tgid=on.get("record-tgid", False),
            context_info=on.get("context-info", True),
            print_parent=on.get("print-parent", True),
            sym_offset=on.get("sym-offset", False),
            sym_addr=on.get("sym-addr", False),
            clock=clock,
            flag_style=flag_style,
            syscall_style=syscall_style,
        )

    @property
    def in_ns(self) -> bool:
        return self.clock in NS_CLOCKS


def current_clock(trace_clock: str) -> str:
    """The bracketed word of ``trace_clock`` ("[local] global counter ...")."""
    m = re.search(r"\[(\S+)\]", trace_clock)
    return m.group(1) if m else trace_clock.strip() or "local"


def ts_text(ts: int, in_ns: bool = True) -> str:
    """trace_print_time: microseconds rounded, ``%5lu.%06lu``; raw counts as ``%12llu``."""
    if not in_ns:
        return f"{ts:12d}"
    usecs = (ts + 500) // 1000
    return f"{usecs // 1_000_000:5d}.{usecs % 1_000_000:06d}"


def lat_flags(flags: int, preempt: int, style: str, lazy_count: int = 0) -> str:
    """trace_print_lat_fmt: the irqs-off, need-resched, hardirq/softirq, preempt-depth
    and migrate-disable columns."""
    nmi = flags & _NMI
    hardirq = flags & _HARDIRQ
    softirq = flags & _SOFTIRQ
    bh_off = flags & _BH_OFF
    irqs = flags & _IRQS_OFF
    if irqs and bh_off:
        irqs_off = "D"
    elif irqs:
        irqs_off = "d"
    elif bh_off:
        irqs_off = "b"
    elif style != FlagStyle.LAZY and flags & _BIT1:
        irqs_off = "X"
    else:
        irqs_off = "."
    if style == FlagStyle.RT_LAZY:
        # 6.1-rt (CONFIG_PREEMPT_LAZY) ran out of bits: need-resched-lazy took
        # PREEMPT_RESCHED's bit (0x20), so the need-resched column is only 'n'
        # (NEED_RESCHED, 0x04) or '.'; 0x02 stays IRQS_NOSUPPORT.
        need = "n" if flags & _NEED_RESCHED else "."
    elif style == FlagStyle.LAZY:
        nr = flags & (_NEED_RESCHED | _BIT1 | _PREEMPT_RESCHED)
        need = {
            _NEED_RESCHED | _BIT1 | _PREEMPT_RESCHED: "B",
            _NEED_RESCHED | _PREEMPT_RESCHED: "N",
            _BIT1 | _PREEMPT_RESCHED: "L",
            _NEED_RESCHED | _BIT1: "b",
            _NEED_RESCHED: "n",
            _PREEMPT_RESCHED: "p",
            _BIT1: "l",
        }.get(nr, ".")
    else:
        nr = flags & (_NEED_RESCHED | _PREEMPT_RESCHED)
        need = {
            _NEED_RESCHED | _PREEMPT_RESCHED: "N",
            _NEED_RESCHED: "n",
            _PREEMPT_RESCHED: "p",
        }.get(nr, ".")
    if nmi and hardirq:
        hs = "Z"
    elif nmi:
        hs = "z"
    elif hardirq and softirq:
        hs = "H"
    elif hardirq:
        hs = "h"
    elif softirq:
        hs = "s"
    else:
        hs = "."
    depth = f"{preempt & 0xF:x}" if preempt & 0xF else "."
    migrate = f"{preempt >> 4:x}" if preempt & 0xF0 else "."
    if style == FlagStyle.RT_LAZY:
        lazy = "L" if flags & _PREEMPT_RESCHED else "."
        lazy_depth = f"{lazy_count:x}" if lazy_count else "."
        return f"{irqs_off}{need}{lazy}{hs}{depth}{lazy_depth}{migrate}"
    return f"{irqs_off}{need}{hs}{depth}{migrate}"


@dataclass
class _Common:
    """Where the common fields are (the same for every event of a kernel)."""

    type: Field
    flags: Field
    preempt: Field
    pid: Field
    lazy: Optional[Field]


def _common_of(formats: Mapping[int, EventFormat]) -> _Common:
    for f in formats.values():
        by = f.by_name
        if all(
            n in by for n in ("common_type", "common_flags", "common_preempt_count", "common_pid")
        ):
            return _Common(
                by["common_type"],
                by["common_flags"],
                by["common_preempt_count"],
                by["common_pid"],
                by.get("common_preempt_lazy_count"),
            )
    # header_page-only captures: the layout every kernel since 2.6.3x has used.
    return _Common(
        Field("common_type", "unsigned short", 0, 2, False),
        Field("common_flags", "unsigned char", 2, 1, False),
        Field("common_preempt_count", "unsigned char", 3, 1, False),
        Field("common_pid", "int", 4, 4, True),
        None,
    )


Body = Callable[[Record], str]


@dataclass
class Renderer:
    """Records to ``trace`` text. Counts what it could only show raw."""

    formats: Dict[int, EventFormat]
    symbols: SymbolTable
    tasks: Tasks = field(default_factory=Tasks)
    printk: PrintkFormats = field(default_factory=PrintkFormats)
    options: TextOptions = field(default_factory=TextOptions)
    long_size: int = 8
    endian: str = "<"
    rendered_raw: int = 0
    raw_events: Dict[str, int] = field(default_factory=dict)
    unknown_ids: int = 0
    # Asked for an id no format names (a kprobe, uprobe or synthetic event made after
    # the formats were read): the format, read now, or None.
    find_format: Optional[Callable[[int], Optional[EventFormat]]] = None

    def __post_init__(self) -> None:
        self._common = _common_of(self.formats)
        self._bodies: Dict[int, Body] = {}
        self._heads: Dict[Tuple[int, int, int, int, int], str] = {}
        # Events whose text depends on their payload alone (print fmts, syscalls),
        # and the rendered text of payloads seen lately.
        self._pure: set[int] = set()
        self._texts: Dict[Tuple[int, bytes], str] = {}
        c0 = self._common
        self._payload = max(f.offset + f.size for f in (c0.type, c0.flags, c0.preempt, c0.pid))
        if c0.lazy is not None:
            self._payload = max(self._payload, c0.lazy.offset + c0.lazy.size)
        self.env = Env(symbol=self._sym, long_size=self.long_size, endian=self.endian)
        c = self._common
        e = self.endian
        self._hdr = struct.Struct(
            e
            + {1: "B", 2: "H"}[c.type.size]
            + {1: "B"}.get(c.flags.size, "B")
            + {1: "B"}.get(c.preempt.size, "B")
            + {4: "i"}.get(c.pid.size, "i")
        )
        self._hdr_ok = (
            c.type.offset == 0
            and c.flags.offset == c.type.size
            and c.preempt.offset == c.flags.offset + 1
            and c.pid.offset == 4
        )

    # -- symbols as the kernel's two symbol printers do it
    def _sym(self, addr: int, offset: bool) -> str:
        return self.symbols.name(addr, offset=offset, module=True)

    def ip_sym(self, ip: int) -> str:
        """seq_print_ip_sym: 0 as "0", the name (with +off/size under sym-offset), the
        address under sym-addr."""
        return self.seq_ip_sym(ip, self.options.sym_offset)

    def seq_ip_sym(self, ip: int, offset: bool) -> str:
        """seq_print_ip_sym with the offset flag given (the probes force it)."""
        if ip == 0:
            return "0"
        o = self.options
        text = self.symbols.name(ip, offset=offset, module=offset)
        if text.startswith("__kretprobe_trampoline") or text.startswith("kretprobe_trampoline"):
            text = "[unknown/kretprobe'd]"
        if o.sym_addr:
            text += f" <{ip:016x}>"
        return text

    # -- the whole line
    def name_of(self, rec: Record) -> str:
        f = self.formats.get(rec.type_id)
        return f.name if f is not None else f"<id {rec.type_id}>"

    def context(self, rec: Record) -> str:
        data = rec.data
        if self._hdr_ok and len(data) >= 8:
            _t, flags, preempt, pid = self._hdr.unpack_from(data, 0)
        else:
            c = self._common
            flags = c.flags.value(data, self.endian)
            preempt = c.preempt.value(data, self.endian)
            pid = c.pid.value(data, self.endian)
        lazy = 0
        lf = self._common.lazy
        if lf is not None and len(data) > lf.offset:
            lazy = data[lf.offset]
        # Everything before the time stamp repeats from record to record: made once
        # per (task, CPU, flags). A name learnt later (saved_cmdlines) clears it.
        key = (pid, rec.cpu, flags, preempt, lazy)
        head = self._heads.get(key)
        if head is None:
            head = self._head(pid, rec.cpu, flags, preempt, lazy)
            if len(self._heads) > 65536:
                self._heads.clear()
            self._heads[key] = head
        return head + ts_text(rec.ts, self.options.in_ns) + ": "

    def _head(self, pid: int, cpu: int, flags: int, preempt: int, lazy: int) -> str:
        o = self.options
        comm = self.tasks.comm(pid)
        width = len(comm.encode("utf-8", "surrogateescape"))
        # %16s pads by bytes, as the kernel does.
        out = [" " * max(0, 16 - width), comm, "-", f"{pid:<7d} "]
        if o.record_tgid:
            tgid = self.tasks.tgids.get(pid, 0)
            out.append(f"({tgid:7d}) " if tgid else "(-------) ")
        out.append(f"[{cpu:03d}] ")
        if o.irq_info:
            out.append(lat_flags(flags, preempt, o.flag_style, lazy))
        out.append(" ")
        return "".join(out)

    def tasks_changed(self) -> None:
        """saved_cmdlines was read again: names in the cached prefixes may be stale."""
        self._heads.clear()

    def text(self, rec: Record) -> str:
        """The kernel's text for one record (several lines for stacks and markers
        with newlines; no trailing newline)."""
        body = self.body(rec)
        if not self.options.context_info:
            return body
        return self.context(rec) + body

    def body(self, rec: Record) -> str:
        data = rec.data
        tid = data[0] | (data[1] << 8) if self.endian == "<" else (data[0] << 8) | data[1]
        fn = self._bodies.get(tid)
        if fn is None:
            fn = self._compile(tid)
            self._bodies[tid] = fn
        pure = tid in self._pure
        if pure:
            # The same payload renders the same (a syscall in a loop, a timer tick):
            # the record past its common header is the key.
            key = (tid, data[self._payload :])
            hit = self._texts.get(key)
            if hit is not None:
                return hit
        try:
            out = fn(rec)
            if pure:
                if len(self._texts) > 65536:
                    self._texts.clear()
                self._texts[key] = out
            return out
        except BadRecord as e:
            # The print fmt's best text for a record it could not read in full.
            self._count_raw(tid)
            return e.text
        except (ValueError, IndexError, KeyError, struct.error, OverflowError):
            fmt = self.formats.get(tid)
            return self._raw(fmt, rec) if fmt is not None else f"<unknown event {tid}>"

    def _count_raw(self, tid: int) -> None:
        fmt = self.formats.get(tid)
        name = fmt.full_name if fmt is not None else f"<id {tid}>"
        self.rendered_raw += 1
        self.raw_events[name] = self.raw_events.get(name, 0) + 1

    def _raw(self, fmt: EventFormat, rec: Record) -> str:
        self._count_raw(fmt.id)
        try:
            fields = raw_fields(fmt, rec.data, self.env)
        except (ValueError, IndexError, KeyError, struct.error):
            fields = rec.data.hex()
        return f"{fmt.name}: {fields}"

    def _compile(self, tid: int) -> Body:
        fmt = self.formats.get(tid)
        if fmt is None and self.find_format is not None:
            fmt = self.find_format(tid)
            if fmt is not None:
                self.formats[tid] = fmt
        if fmt is None:
            self.unknown_ids += 1

            def unknown(rec: Record) -> str:
                # Asked again next time: the event may be being made right now.
                self._bodies.pop(rec.type_id, None)
                return f"<unknown event {rec.type_id}>"

            return unknown
        special = _SPECIAL.get((fmt.system, fmt.name))
        if special is not None:
            return special(self, fmt)
        if fmt.system == "syscalls":
            self._pure.add(tid)
            return self._syscall(fmt)
        if "__probe_ip" in fmt.by_name or "__probe_func" in fmt.by_name:
            probe = _probe(self, fmt)
            if probe is not None:
                return probe
        try:
            printer = compile_print_fmt(fmt, self.long_size, self.endian)
        except Unsupported:
            return lambda rec: self._raw(fmt, rec)
        env = self.env
        prefix = fmt.name + ": "
        if "common_" not in fmt.print_fmt:
            self._pure.add(tid)

        def event(rec: Record) -> str:
            return prefix + printer(rec.data, env)

        return event

    # -- syscalls print "sys_openat(dfd: 0xffffff9c, ...)" and "sys_openat -> 0x3"
    # (kernel/trace/trace_syscalls.c, print_syscall_enter/exit; not their print fmt).
    def _syscall(self, fmt: EventFormat) -> Body:
        e = self.endian
        modern = self.options.syscall_style == "modern"
        if fmt.name.startswith("sys_enter_"):
            name = "sys_" + fmt.name[len("sys_enter_") :]
            args = [
                f
                for f in fmt.fields
                if f.name != "__syscall_nr" and not (f.data_loc and f.name.endswith("_val"))
            ]
            # 6.18+: arguments pointing at user memory carry a copy in "__<arg>_val".
            vals = {f.name[2:-4]: f for f in fmt.fields if f.data_loc and f.name.endswith("_val")}

            def enter(rec: Record) -> str:
                parts = []
                for a in args:
                    v = a.value(rec.data, e) & ((1 << (8 * a.size)) - 1)
                    if modern:
                        part = f"{a.name}: {v}" if v < 10 else f"{a.name}: 0x{v:x}"
                    else:
                        part = f"{a.name}: {v:x}"
                    user = vals.get(a.name)
                    if user is not None:
                        part += f' "{user.text(rec.data, e)}"'
                    parts.append(part)
                return f"{name}({', '.join(parts)})"

            return enter
        if fmt.name.startswith("sys_exit_"):
            name = "sys_" + fmt.name[len("sys_exit_") :]
            ret = fmt.by_name.get("ret")
            if ret is not None:

                def leave(rec: Record) -> str:
                    v = ret.value(rec.data, e) & ((1 << (8 * ret.size)) - 1)
                    return f"{name} -> 0x{v:x}"

                return leave
        return lambda rec: self._raw(fmt, rec)

    def note_comm(self, pid: int, comm: str) -> None:
        self.tasks.comms[pid] = comm


# -- probes print their address their own way (print_kprobe_event and friends in
# trace_kprobe.c, print_uprobe_event in trace_uprobe.c), not by their print fmt:
# a kprobe "(sym+off/size)" (seq_print_ip_sym with the offset forced), a
# kretprobe "(ret_ip_sym+off/size <- func)" (the return address first, the
# function without offset), a uprobe "(0xaddr)", a uretprobe "(0xret <- 0xfunc)".
# Their arguments follow as the rest of the print fmt says.
_PROBE_HEAD = re.compile(r'^"\(%lx(?: <- %lx)?\)')
_PROBE_ARGS = {
    False: re.compile(r"^\s*,\s*REC->__probe_ip\b"),
    True: re.compile(r"^\s*,\s*REC->__probe_func\s*,\s*REC->__probe_ret_ip\b"),
}
_KERNEL_HALF = 1 << 63


def _string_end(text: str) -> int:
    """The index just past the closing quote of the C string ``text`` starts with."""
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def _probe_rest(fmt: EventFormat, ret: bool) -> Optional[EventFormat]:
    """The probe's format with the address part cut from its print fmt."""
    text = fmt.text
    at = text.find("\nprint fmt:")
    if at < 0:
        return None
    pf = text[at + len("\nprint fmt:") :].strip(" \t\n")
    m = _PROBE_HEAD.match(pf)
    if m is None or ("<-" in m.group(0)) != ret:
        return None
    try:
        end = _string_end(pf)
    except ValueError:
        return None
    args = _PROBE_ARGS[ret].match(pf[end:])
    if args is None:
        return None
    rest = '"' + pf[m.end() : end] + pf[end + args.end() :]
    return replace(fmt, print_fmt=rest, text=text[: at + 1] + "print fmt: " + rest + "\n")


def _probe(r: Renderer, fmt: EventFormat) -> Optional[Body]:
    ret = "__probe_func" in fmt.by_name
    rest_fmt = _probe_rest(fmt, ret)
    if rest_fmt is None:
        return None
    try:
        rest = compile_print_fmt(rest_fmt, r.long_size, r.endian)
    except Unsupported:
        return None
    e = r.endian
    env = r.env
    user = fmt.system.startswith("uprobes")
    guess = not user and not fmt.system.startswith("kprobes")
    prefix = fmt.name + ": ("

    def addr(v: int, offset: bool) -> str:
        if user or (guess and v < _KERNEL_HALF):
            return f"0x{v:x}"
        return r.seq_ip_sym(v, offset)

    if ret:
        func, ret_ip = fmt.by_name["__probe_func"], fmt.by_name["__probe_ret_ip"]

        def body_ret(rec: Record) -> str:
            d = rec.data
            head = addr(ret_ip.value(d, e), True) + " <- " + addr(func.value(d, e), False)
            return prefix + head + ")" + rest(d, env)

        return body_ret
    ip = fmt.by_name["__probe_ip"]

    def body(rec: Record) -> str:
        d = rec.data
        return prefix + addr(ip.value(d, e), True) + ")" + rest(d, env)

    return body


# -- ftrace's own events (kernel/trace/trace_output.c)


def _u(f: EventFormat, name: str) -> Field:
    return f.by_name[name]


def _function(r: Renderer, fmt: EventFormat) -> Body:
    ip, parent = _u(fmt, "ip"), _u(fmt, "parent_ip")
    e = r.endian

    def body(rec: Record) -> str:
        text = r.ip_sym(ip.value(rec.data, e))
        p = parent.value(rec.data, e)
        if r.options.print_parent and p:
            text += " <-" + r.ip_sym(p)
        return text

    return body


def _print(r: Renderer, fmt: EventFormat) -> Body:
    ip, buf = _u(fmt, "ip"), _u(fmt, "buf")
    e = r.endian

    def body(rec: Record) -> str:
        text = buf.text(rec.data, e)
        if text.endswith("\n"):
            text = text[:-1]
        return f"{r.ip_sym(ip.value(rec.data, e))}: {text}"

    return body


def _bputs(r: Renderer, fmt: EventFormat) -> Body:
    ip, ptr = _u(fmt, "ip"), _u(fmt, "str")
    e = r.endian

    def body(rec: Record) -> str:
        s = r.printk.get(ptr.value(rec.data, e))
        if s is None:
            raise ValueError("bputs string not in printk_formats")
        return f"{r.ip_sym(ip.value(rec.data, e))}: {s.rstrip(chr(10))}"

    return body


def _bprint(r: Renderer, fmt: EventFormat) -> Body:
    ip, fmt_ptr, buf = _u(fmt, "ip"), _u(fmt, "fmt"), _u(fmt, "buf")
    e = r.endian

    def symbol(addr: int, offset: bool) -> str:
        return r.symbols.name(addr, offset=offset, module=True)

    def body(rec: Record) -> str:
        s = r.printk.get(fmt_ptr.value(rec.data, e))
        if s is None:
            raise ValueError("trace_printk format not in printk_formats")
        try:
            text = render_bprint(s, rec.data[buf.offset :], symbol, r.long_size, e)
        except Unsupported as err:
            raise ValueError(str(err)) from None
        return f"{r.ip_sym(ip.value(rec.data, e))}: {text.rstrip(chr(10))}"

    return body


def _ctxwake(delim: str) -> Callable[[Renderer, EventFormat], Body]:
    def make(r: Renderer, fmt: EventFormat) -> Body:
        e = r.endian
        f = fmt.by_name

        def state(v: int) -> str:
            return _TASK_STATES[v] if v < len(_TASK_STATES) else "?"

        def body(rec: Record) -> str:
            d = rec.data
            nxt = f["next_pid"].value(d, e)
            return (
                f" {f['prev_pid'].value(d, e):7d}:{f['prev_prio'].value(d, e):3d}:"
                f"{state(f['prev_state'].value(d, e))} {delim} "
                f"[{f['next_cpu'].value(d, e):03d}] {nxt:7d}:{f['next_prio'].value(d, e):3d}:"
                f"{state(f['next_state'].value(d, e))} {r.tasks.comm(nxt)}"
            )

        return body

    return make


def _kernel_stack(r: Renderer, fmt: EventFormat) -> Body:
    caller = _u(fmt, "caller")
    e = r.endian
    word = r.long_size
    code = e + ("Q" if word == 8 else "I")
    end_marker = (1 << (8 * word)) - 1

    def body(rec: Record) -> str:
        d = rec.data
        lines = ["<stack trace>"]
        # The record's length bounds the stack, not the format's nominal [8].
        for at in range(caller.offset, len(d) - word + 1, word):
            (addr,) = struct.unpack_from(code, d, at)
            if addr == end_marker:
                break
            if addr == 0 and at > caller.offset + word * 7:
                break
            lines.append(" => " + r.ip_sym(addr))
        return "\n".join(lines)

    return body


_SPECIAL: Dict[Tuple[str, str], Callable[[Renderer, EventFormat], Body]] = {
    ("ftrace", "function"): _function,
    ("ftrace", "print"): _print,
    ("ftrace", "bputs"): _bputs,
    ("ftrace", "bprint"): _bprint,
    ("ftrace", "context_switch"): _ctxwake("==>"),
    ("ftrace", "wakeup"): _ctxwake("  +"),
    ("ftrace", "kernel_stack"): _kernel_stack,
}


def merge(streams: Sequence[List[Record]]) -> List[Record]:
    """Records of several CPUs in the order ``trace`` prints them: lowest time stamp
    first, ties to the lower CPU."""
    out = [r for s in streams for r in s]
    out.sort(key=lambda r: (r.ts, r.cpu))
    return out
