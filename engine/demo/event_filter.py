"""The kernel's event filter grammar, checked as the recorded kernel checks it, and
evaluated on the recorded lines.

A bad filter is refused with the kernel's own messages and the caret position
(kernel/trace/trace_events_filter.c), from the event's ``format`` fields. A good
one becomes a test of a recorded line's printed fields (:func:`compile_filter`),
so that the replay drops what the kernel would have dropped."""

from __future__ import annotations

import fnmatch
import re
from typing import Callable, Dict, List, Optional, Tuple

__all__ = ["FilterError", "Predicate", "check_filter", "compile_filter", "printed_fields"]

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


# -- evaluation on the recorded lines ---------------------------------------------------

# One recorded event's fields as its line prints them ("prev_pid=0 prev_state=R").
_PRINTED_FIELD = re.compile(r"(?:^|[\s(,])(?P<k>[A-Za-z_][A-Za-z0-9_]*)[=:] ?(?P<v>[^\s,)]*)")

Fields = Dict[str, str]
# True/False: the line passes or not; None: a field it names is not in the line.
Predicate = Callable[[Fields], Optional[bool]]


def printed_fields(text: str) -> Fields:
    """``{field: value}`` of an event's printed text (what follows ``name: ``)."""
    return {m.group("k"): m.group("v") for m in _PRINTED_FIELD.finditer(text)}


def _as_int(text: str) -> Optional[int]:
    try:
        return int(text, 0)
    except ValueError:
        try:
            return int(text)  # leading zeros: "target_cpu=001"
        except ValueError:
            return None


def _predicate(field: str, op: str, value: str, is_string: bool) -> Predicate:
    if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) >= 2:
        value = value[1:-1]
    if is_string:
        if op == "~":
            # The kernel's glob (filter_parse_regex): *, ?, [...] as fnmatch has them.
            return lambda f: None if field not in f else fnmatch.fnmatchcase(f[field], value)
        if op == "==":
            return lambda f: None if field not in f else f[field] == value
        return lambda f: None if field not in f else f[field] != value
    want = int(value, 0)
    compare: Callable[[int], bool] = {
        "==": lambda x: x == want,
        "!=": lambda x: x != want,
        "<": lambda x: x < want,
        "<=": lambda x: x <= want,
        ">": lambda x: x > want,
        ">=": lambda x: x >= want,
        "&": lambda x: bool(x & want),
    }[op]

    def test(f: Fields) -> Optional[bool]:
        got = _as_int(f.get(field, ""))
        return None if got is None else compare(got)

    return test


def compile_filter(text: str, fields: Dict[str, bool]) -> Predicate:
    """The filter ``text`` as a test of one recorded line's fields.

    The text is checked first, as the kernel checks it (:func:`check_filter`).
    ``&&`` binds tighter than ``||``; ``!`` negates what follows. A comparison
    on a field the line does not print yields None (cannot tell), and None
    spreads unless the other side of ``&&``/``||`` decides alone.

    Raises:
        FilterError: the kernel would refuse the text.
    """
    check_filter(text, fields)
    toks = [
        (m.lastgroup or "word", m.group(m.lastgroup or "word"))
        for m in _FILTER_TOKEN.finditer(text)
        if m.lastgroup
    ]
    pos = 0

    def peek() -> Optional[str]:
        return toks[pos][1] if pos < len(toks) and toks[pos][0] == "op" else None

    def parse_or() -> Predicate:
        nonlocal pos
        left = parse_and()
        while peek() == "||":
            pos += 1
            left = _or(left, parse_and())
        return left

    def parse_and() -> Predicate:
        nonlocal pos
        left = parse_not()
        while peek() == "&&":
            pos += 1
            left = _and(left, parse_not())
        return left

    def parse_not() -> Predicate:
        nonlocal pos
        if peek() == "!":
            pos += 1
            inner = parse_not()
            return lambda f: None if (r := inner(f)) is None else not r
        if peek() == "(":
            pos += 1
            inner = parse_or()
            pos += 1  # ")": balanced, check_filter said so
            return inner
        field, op, value = toks[pos][1], toks[pos + 1][1], toks[pos + 2][1]
        pos += 3
        return _predicate(field, op, value, fields[field])

    return parse_or()


def _and(a: Predicate, b: Predicate) -> Predicate:
    def test(f: Fields) -> Optional[bool]:
        x, y = a(f), b(f)
        if x is False or y is False:
            return False
        return None if x is None or y is None else True

    return test


def _or(a: Predicate, b: Predicate) -> Predicate:
    def test(f: Fields) -> Optional[bool]:
        x, y = a(f), b(f)
        if x is True or y is True:
            return True
        return None if x is None or y is None else False

    return test
