"""A probe's fetch arguments, checked as the recorded x86_64 kernel checks them.

kernel/trace/trace_probe.c parses each argument (``NAME=FETCH[:TYPE]``) and
refuses with an error_log entry whose caret points into the command
(``trace_probe_log_err``). What can be judged without the kernel's symbol
table is judged here: register names, ``$`` variables and the argument
number, ``$retval`` on an entry probe, the type, the argument's name.
Spelled out here, not imported from engine/ftrace/probes.py, so that the
simulated kernel does not learn from the code it answers.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

__all__ = ["ProbeArgError", "check_probe_args"]

# arch/x86/kernel/ptrace.c regoffset_table (x86_64).
_REGS = frozenset(
    {"ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip", "flags", "orig_ax"}
    | {f"r{n}" for n in range(8, 16)}
    | {"cs", "ss", "ds", "es", "fs", "gs"}
)
_TYPES = frozenset(
    {f"{s}{n}" for s in "usx" for n in (8, 16, 32, 64)}
    | {"string", "ustring", "symbol", "symstr", "char"}
)
_MAX_ARGS = 128  # MAX_TRACE_ARGS
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BITFIELD = re.compile(r"b(\d+)@(\d+)/(8|16|32|64)")


class ProbeArgError(Exception):
    """The kernel's message and the caret's position in the command line."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def check_probe_args(line: str, is_return: bool, kind: str) -> None:
    """Check every fetch argument of the definition ``line``.

    Raises:
        ProbeArgError: with trace_probe.c's message; ``pos`` is the caret's
            column in ``line`` as the kernel's "Command:" line shows it.
    """
    words = line.split()
    start = 0
    offsets: List[int] = []
    for w in words:
        at = line.index(w, start)
        offsets.append(at)
        start = at + len(w)
    names: List[str] = []
    for i, arg in enumerate(words[2:], 2):
        base = offsets[i]
        name, fetch, off = _split_name(arg, i - 1)
        if not _IDENT.fullmatch(name):
            raise ProbeArgError("Argument name must follow the same rules as C identifiers", base)
        if name in names:
            raise ProbeArgError("This argument name is already used", base)
        names.append(name)
        body, typ = _split_type(fetch)
        problem = _check_fetch(body, is_return, kind)
        if problem is not None:
            raise ProbeArgError(problem[0], base + off + problem[1])
        if typ is not None and not _type_ok(typ):
            raise ProbeArgError("Unknown type is specified", base + off + len(body) + 1)


def _split_name(arg: str, n: int) -> Tuple[str, str, int]:
    head = arg.split("(", 1)[0]
    if "=" in head:
        name, _, fetch = arg.partition("=")
        return name, fetch, len(name) + 1
    return f"arg{n}", arg, 0


def _split_type(fetch: str) -> Tuple[str, Optional[str]]:
    depth = 0
    colon = -1
    for i, c in enumerate(fetch):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ":" and depth == 0:
            colon = i
    if colon < 0:
        return fetch, None
    return fetch[:colon], fetch[colon + 1 :]


def _type_ok(typ: str) -> bool:
    base = typ.split("[", 1)[0]
    if typ.endswith("]") and "[" in typ:
        if not typ[len(base) + 1 : -1].isdigit():
            return False
    return base in _TYPES or _BITFIELD.fullmatch(base) is not None


def _check_fetch(body: str, is_return: bool, kind: str) -> Optional[Tuple[str, int]]:
    """(message, offset in body) of the first thing the kernel refuses, or None."""
    if not body:
        return ("Invalid fetch argument", 0)
    c = body[0]
    if c == "%":
        if body[1:] not in _REGS:
            return ("Invalid register name", 1)
        return None
    if c == "$":
        var = body[1:]
        if var == "retval":
            return None if is_return else ("$retval can be used only on retprobe", 0)
        if var == "comm" or var == "stack":
            return None
        if var.startswith("stack"):
            return None if var[5:].isdigit() else ("Invalid stack number", 0)
        if var.startswith("arg") and kind == "kprobe":
            n = var[3:]
            if not n.isdigit() or not 1 <= int(n) <= _MAX_ARGS:
                return ("Invalid argument number", 0)
            return None
        return ("Invalid $-valiable specified", 0)  # sic: the kernel's spelling
    if c == "@":
        return None if len(body) > 1 else ("Invalid fetch argument", 0)
    if c in "+-":
        m = re.match(r"[+-](?:0x[0-9a-fA-F]+|\d+)\((?P<inner>.*)\)$", body)
        if m is None:
            return ("Invalid fetch argument", 0)
        inner = _check_fetch(m.group("inner"), is_return, kind)
        if inner is not None:
            return (inner[0], m.start("inner") + inner[1])
        return None
    if c == "\\":
        return None
    return ("Invalid fetch argument", 0)
