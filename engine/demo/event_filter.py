"""The kernel's event filter grammar, checked as the recorded kernel checks it.

A bad filter is refused with the kernel's own messages and the caret position
(kernel/trace/trace_events_filter.c), from the event's ``format`` fields."""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

__all__ = ["FilterError", "check_filter"]

_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<str>\"[^\"]*\"|'[^']*')|(?P<op>&&|\|\||==|!=|<=|>=|[<>&~!()=])|(?P<word>[^\s&|=!<>~()\"']+))"
)
_NUM = re.compile(r"^-?(?:0x[0-9a-fA-F]+|\d+)$")
_FIELD_DECL = re.compile(r"field:(?P<decl>[^;]+);")


class FilterError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _fields_of(fmt: Optional[str]) -> Dict[str, bool]:
    """``{field: is_string}`` from an event's format text (common_* included)."""
    out: Dict[str, bool] = {}
    for m in _FIELD_DECL.finditer(fmt or ""):
        decl = m.group("decl").strip()
        name = decl.split("[", 1)[0].split()[-1]
        out[name] = ("char" in decl and "[" in decl) or "__data_loc" in decl
    for common in ("common_pid", "common_flags", "common_preempt_count", "common_type", "CPU"):
        out.setdefault(common, False)
    out.setdefault("COMM", True)
    return out


def check_filter(text: str, fields: Dict[str, bool]) -> None:
    """Validate an event filter the way the kernel's parser does, in outline.

    Raises:
        FilterError: with the kernel's own message and the offending position.
    """
    toks: List[Tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _FILTER_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise FilterError("Invalid operator", pos)
        kind = m.lastgroup or "word"
        toks.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    depth = 0
    i = 0
    expect_pred = True
    while i < len(toks):
        kind, val, at = toks[i]
        if expect_pred:
            if kind == "op" and val == "(":
                depth += 1
                i += 1
                continue
            if kind == "op" and val == "!":
                i += 1
                continue
            if kind != "word":
                raise FilterError("Invalid operator", at)
            if val not in fields:
                raise FilterError("Field not found", at)
            if i + 1 >= len(toks) or toks[i + 1][0] != "op" or toks[i + 1][1] in ("(", ")", "!"):
                raise FilterError("Invalid operator", toks[i + 1][2] if i + 1 < len(toks) else at)
            op, op_at = toks[i + 1][1], toks[i + 1][2]
            if op in ("&&", "||"):
                raise FilterError("Invalid operator", op_at)
            if i + 2 >= len(toks):
                raise FilterError("Invalid value (did you forget quotes)?", op_at + len(op))
            vkind, value, v_at = toks[i + 2]
            if vkind == "op":
                raise FilterError("Invalid value (did you forget quotes)?", v_at + 1)
            if fields[val]:
                if op not in ("==", "!=", "~"):
                    raise FilterError("Illegal operation for field type", op_at)
            else:
                if op == "~":
                    raise FilterError("Illegal operation for field type", op_at)
                if vkind == "str" or not _NUM.match(value):
                    raise FilterError("Illegal integer value", v_at)
            i += 3
            expect_pred = False
            continue
        if kind == "op" and val == ")":
            depth -= 1
            if depth < 0:
                raise FilterError("Too few '('", at)
            i += 1
            continue
        if kind == "op" and val in ("&&", "||"):
            expect_pred = True
            i += 1
            continue
        raise FilterError("Invalid operator", at)
    if expect_pred:
        raise FilterError("Meaningless filter expression", len(text))
    if depth > 0:
        raise FilterError("Too many '('", len(text))
