"""What the binary records point at, resolved as the kernel resolves it when it
writes ``trace``: kernel addresses to symbols (``/proc/kallsyms``, or
``available_filter_functions_addrs``), trace_printk's format pointers
(``printk_formats``) and pids to task names (``saved_cmdlines``,
``saved_tgids``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Tuple

__all__ = ["Kallsyms", "PrintkFormats", "SymbolTable", "Tasks"]


class SymbolTable(Protocol):
    """What a renderer asks of a symbol table (Kallsyms, or a test's recorded answers)."""

    def name(self, addr: int, offset: bool = False, module: bool = True) -> str: ...


_KALLSYMS = re.compile(r"^([0-9a-fA-F]+)\s+(\S)\s+(\S+)(?:\s+\[(\S+)\])?")
_ADDRS = re.compile(r"^([0-9a-fA-F]+)\s+(\S+)(?:\s+\[(\S+)\])?")


class Kallsyms:
    """Addresses to names. The kernel names an address after the nearest symbol at
    or below it, the first listed of several at one address, and sizes it up to
    the next one (``%pS``'s ``name+0x1a/0x40``)."""

    def __init__(self, entries: List[Tuple[int, str, Optional[str]]]) -> None:
        # Stable sort: of aliases at one address, the first listed wins.
        entries = sorted(entries, key=lambda e: e[0])
        addrs: List[int] = []
        names: List[str] = []
        mods: List[Optional[str]] = []
        for addr, name, mod in entries:
            if addrs and addrs[-1] == addr:
                continue
            addrs.append(addr)
            names.append(name)
            mods.append(mod)
        self._addrs = addrs
        self._names = names
        self._mods = mods
        self._cache: Dict[Tuple[int, bool, bool], str] = {}

    @classmethod
    def from_kallsyms(cls, text: str) -> Kallsyms:
        """``/proc/kallsyms`` (read as root; a zero address means kptr_restrict hid them)."""
        out: List[Tuple[int, str, Optional[str]]] = []
        for line in text.splitlines():
            m = _KALLSYMS.match(line)
            if m is None:
                continue
            addr = int(m.group(1), 16)
            if addr == 0:
                continue
            out.append((addr, m.group(3), m.group(4)))
        return cls(out)

    @classmethod
    def from_filter_addrs(cls, text: str) -> Kallsyms:
        """``available_filter_functions_addrs``: traceable functions only, which is
        enough for function and function_graph records, and much shorter."""
        out: List[Tuple[int, str, Optional[str]]] = []
        for line in text.splitlines():
            m = _ADDRS.match(line)
            if m is not None:
                out.append((int(m.group(1), 16), m.group(2), m.group(3)))
        return cls(out)

    def __len__(self) -> int:
        return len(self._addrs)

    def lookup(self, addr: int) -> Optional[Tuple[str, int, int, Optional[str]]]:
        """(name, offset, size, module) or None outside every symbol."""
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0 or i + 1 >= len(self._addrs):
            return None
        start = self._addrs[i]
        size = self._addrs[i + 1] - start
        return self._names[i], addr - start, size, self._mods[i]

    def name(self, addr: int, offset: bool = False, module: bool = True) -> str:
        """As the kernel prints it: ``%ps`` (module appended, ``name [mod]``), ``%pS``
        (``name+0x1a/0x40 [mod]``); ``module=False`` for the function tracer's own
        lines (kallsyms_lookup, no module). Unknown addresses as ``0x%lx``."""
        key = (addr, offset, module)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        found = self.lookup(addr)
        if found is None:
            text = f"0x{addr:x}" if module else f"0x{addr:08x}"
        else:
            name, off, size, mod = found
            text = f"{name}+0x{off:x}/0x{size:x}" if offset else name
            if mod and module:
                text += f" [{mod}]"
        if len(self._cache) > 65536:
            self._cache.clear()
        self._cache[key] = text
        return text


_PRINTK = re.compile(r'^0x([0-9a-fA-F]+)\s*:\s*"(.*)"\s*$')


class PrintkFormats:
    """``printk_formats``: the format strings trace_printk's records point at."""

    def __init__(self, text: str = "") -> None:
        self._by_addr: Dict[int, str] = {}
        for line in text.splitlines():
            m = _PRINTK.match(line)
            if m is not None:
                self._by_addr[int(m.group(1), 16)] = _unescape(m.group(2))

    def get(self, addr: int) -> Optional[str]:
        return self._by_addr.get(addr)

    def __len__(self) -> int:
        return len(self._by_addr)


def _unescape(s: str) -> str:
    # The kernel writes \n, \t, \" and \\ escaped in printk_formats.
    out: List[str] = []
    i = 0
    table = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in table:
            out.append(table[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


@dataclass
class Tasks:
    """pid -> comm (``saved_cmdlines``) and pid -> tgid (``saved_tgids``)."""

    comms: Dict[int, str] = field(default_factory=dict)
    tgids: Dict[int, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, cmdlines: str = "", tgids: str = "") -> Tasks:
        t = cls()
        t.update(cmdlines, tgids)
        return t

    def update(self, cmdlines: str = "", tgids: str = "") -> None:
        for line in cmdlines.splitlines():
            pid, _, comm = line.partition(" ")
            if pid.isdigit():
                self.comms[int(pid)] = comm
        for line in tgids.splitlines():
            pid, _, tgid = line.partition(" ")
            if pid.isdigit() and tgid.strip().isdigit():
                self.tgids[int(pid)] = int(tgid)

    def comm(self, pid: int) -> str:
        # trace_find_cmdline: pid 0 is the idle task; an unrecorded pid is "<...>".
        if pid == 0:
            return "<idle>"
        return self.comms.get(pid, "<...>")
