"""The C expression grammar of a print fmt's arguments (precedence climbing over
ternary, binary, unary, cast, postfix and primary expressions, and GNU statement
expressions), compiled to Python code as it is parsed.
"""

from __future__ import annotations

import re
import struct
from typing import Dict, List, Optional

from ftop.engine.raw.print_fmt.compiler_base import _CompilerBase
from ftop.engine.raw.print_fmt.ctype import (
    _LONG_TYPEDEFS,
    _TYPE_WORDS,
    _TYPEDEFS,
    BUF,
    INT,
    PTR,
    STR,
    T_INT,
    T_STR,
    CType,
    _int_t,
    _lo_hi,
    _wrap_code,
)
from ftop.engine.raw.print_fmt.errors import Unsupported
from ftop.engine.raw.print_fmt.expr import Expr, _const
from ftop.engine.raw.print_fmt.lexer import _unescape

_PRIMARY_CALLS = {
    "__get_str",
    "__get_rel_str",
    "__get_dynamic_array",
    "__get_rel_dynamic_array",
    "__get_dynamic_array_len",
    "__get_rel_dynamic_array_len",
    "__get_bitmask",
    "__get_rel_bitmask",
    "__get_cpumask",
    "__get_rel_cpumask",
    "__get_sockaddr",
    "__get_rel_sockaddr",
    "__get_sockaddr_len",
    "__get_rel_sockaddr_len",
    "__print_flags",
    "__print_flags_u64",
    "__print_symbolic",
    "__print_symbolic_u64",
    "__print_hex",
    "__print_hex_str",
    "__print_array",
    "__print_dynamic_array",
    "__print_ns_to_secs",
    "__print_ns_without_secs",
    "__builtin_expect",
    "sizeof",
}

# binary operators: precedence (higher binds tighter)
_BINPREC = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    ">": 7,
    "<=": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}


class _ExprParser(_CompilerBase):
    """The expression grammar; kernel helper calls are left to _KernelHelpers."""

    # -- the grammar
    def parse_expr(self) -> Expr:
        return self.parse_ternary()

    def parse_ternary(self) -> Expr:
        cond = self.parse_binary(1)
        if not self.accept("?"):
            return cond
        a = self.parse_expr()
        self.expect(":")
        b = self.parse_ternary()
        return self.ternary(cond, a, b)

    def ternary(self, cond: Expr, a: Expr, b: Expr) -> Expr:
        if cond.t.kind in (STR, BUF):
            cond_const: Optional[bool] = True
        elif cond.is_const:
            cond_const = bool(cond.const)
        else:
            cond_const = None
        kinds = {a.t.kind, b.t.kind}
        if (
            kinds <= {INT, PTR}
            and not (a.null and b.t.kind == PTR)
            and not (b.null and a.t.kind == PTR)
        ):
            if a.t.kind == PTR or b.t.kind == PTR:
                t = self.t_ulong
                t = CType(PTR, self.ls, False)
                ca = Expr(a.code, t, a.const, a.is_const, a.null)
                cb = Expr(b.code, t, b.const, b.is_const, b.null)
            else:
                t = self.common(self.promote(a).t, self.promote(b).t)
                ca, cb = self.convert(self.promote(a), t), self.convert(self.promote(b), t)
        else:
            ca, cb = self.as_string(a), self.as_string(b)
            t = T_STR
        if cond_const is not None:
            return ca if cond_const else cb
        nullable = ca.null or cb.null or ca.nullable or cb.nullable
        return Expr(f"({ca.code} if {self.truth(cond)} else {cb.code})", t, nullable=nullable)

    def parse_binary(self, minprec: int) -> Expr:
        left = self.parse_unary()
        while True:
            k, op = self.peek()
            p = _BINPREC.get(op) if k == "op" else None
            if p is None or p < minprec:
                return left
            self.next()
            right = self.parse_binary(p + 1)
            left = self.binary(op, left, right)

    def binary(self, op: str, a: Expr, b: Expr) -> Expr:
        if op in ("&&", "||"):
            if a.t.kind in (STR, BUF) or b.t.kind in (STR, BUF) or not (a.is_const and b.is_const):
                code = (
                    f"(1 if {self.truth(a)} {'and' if op == '&&' else 'or'} {self.truth(b)} else 0)"
                )
                e = Expr(code, T_INT)
                if a.is_const and op == "&&" and not a.const:
                    return _const(0, T_INT)
                if a.is_const and op == "||" and a.const:
                    return _const(1, T_INT)
                return e
            return self.fold(
                Expr(f"(1 if ({a.code}) {'and' if op == '&&' else 'or'} ({b.code}) else 0)", T_INT)
            )
        pa, pb = self.promote(a), self.promote(b)
        if op in ("<<", ">>"):
            t = pa.t
            if op == "<<":
                e = Expr(_wrap_code(f"{pa.code} << {pb.code}", t), t)
            else:
                e = Expr(f"({pa.code} >> {pb.code})", t)
        else:
            t = self.common(pa.t, pb.t)
            ca, cb = self.convert(pa, t), self.convert(pb, t)
            if op in ("==", "!=", "<", ">", "<=", ">="):
                e = Expr(f"({ca.code} {op} {cb.code})", T_INT)
            elif op in ("&", "|", "^"):
                e = Expr(f"({ca.code} {op} {cb.code})", t)
            elif op in ("+", "-", "*"):
                e = Expr(_wrap_code(f"{ca.code} {op} {cb.code}", t), t)
            elif op == "/":
                if t.signed:
                    e = Expr(_wrap_code(f"_sdiv({ca.code}, {cb.code})", t), t)
                else:
                    e = Expr(f"({ca.code} // {cb.code})", t)
            elif op == "%":
                if t.signed:
                    e = Expr(f"_smod({ca.code}, {cb.code})", t)
                else:
                    e = Expr(f"({ca.code} % {cb.code})", t)
            else:  # pragma: no cover
                raise Unsupported(f"operator {op}")
        if a.is_const and b.is_const:
            return self.fold(e)
        return e

    def parse_unary(self) -> Expr:
        k, v = self.peek()
        if k == "op":
            if v == "(" and self.is_type_start():
                self.next()
                t = self.parse_type()
                self.expect(")")
                return self.cast(t, self.parse_unary())
            if v in ("-", "+", "~", "!"):
                self.next()
                e = self.parse_unary()
                return self.unary(v, e)
            if v in ("*", "&"):
                raise Unsupported(f"unary {v} (a pointer dereference or address)")
        return self.parse_postfix(self.parse_primary())

    def unary(self, op: str, e: Expr) -> Expr:
        if op == "!":
            if e.t.kind in (STR, BUF):
                return _const(1 if e.null else 0, T_INT)
            r = Expr(f"(0 if {e.code} else 1)", T_INT)
        else:
            p = self.promote(e)
            if op == "+":
                return p
            if op == "-":
                r = Expr(_wrap_code(f"-{p.code}", p.t), p.t)
            else:
                r = (
                    Expr(f"(~{p.code})", p.t)
                    if p.t.signed
                    else Expr(_wrap_code(f"~{p.code}", p.t), p.t)
                )
        return self.fold(r) if e.is_const else r

    def parse_postfix(self, e: Expr) -> Expr:
        while True:
            if self.accept("["):
                idx = self.parse_expr()
                self.expect("]")
                e = self.index(e, idx)
                continue
            k, v = self.peek()
            if k == "op" and v == "->" and e.t.kind == "rec":
                self.next()
                nk, name = self.next()
                if nk != "id":
                    raise Unsupported("REC-> without a field name")
                e = self.field_expr(self.field(name))
                continue
            if k == "op" and v in (".", "->"):
                raise Unsupported("a struct member")
            if e.t.kind == "rec" and (k, v) != ("op", ")"):
                raise Unsupported("REC used other than as REC->field")
            return e

    def index(self, arr: Expr, idx: Expr) -> Expr:
        if arr.t.kind == STR and arr.is_const:
            if idx.is_const:
                b = arr.const or b""
                i = int(idx.const)
                return _const(b[i] if 0 <= i < len(b) else 0, T_INT)
        if arr.t.kind != BUF:
            raise Unsupported("indexing something not in the record")
        es, sg = arr.t.elem, arr.t.elem_signed
        if arr.t.base is not None and idx.is_const:
            off = arr.t.base + int(idx.const) * es
            return Expr(self.read(off, es, sg), _int_t(es, sg))
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}.get(es)
        if code is None:
            raise Unsupported(f"an element of {es} bytes")
        if sg:
            code = code.lower()
        st = self.name_const(struct.Struct(self.endian + code))
        ix = self.convert(self.promote(idx), self.t_long).code
        return Expr(f"{st}.unpack_from({arr.code}, ({ix}) * {es})[0]", _int_t(es, sg))

    def parse_primary(self) -> Expr:
        k, v = self.next()
        if k == "num":
            return self.number(v)
        if k == "chr":
            b = _unescape(v[1:-1])
            return _const(b[0] if b else 0, T_INT)
        if k == "str":
            b = _unescape(v[1:-1])
            while self.peek()[0] == "str":
                b += _unescape(self.next()[1][1:-1])
            return _const(b, T_STR)
        if k == "op" and v == "(":
            if self.peek() == ("op", "{"):
                return self.statement_expr()
            e = self.parse_expr()
            self.expect(")")
            return e
        if k == "id":
            if v == "REC":
                return Expr("", CType("rec"))
            for scope in reversed(self.scopes):
                if v in scope:
                    return scope[v]
            if v in _PRIMARY_CALLS and self.peek() == ("op", "("):
                return self.call(v)
            if v in ("true", "false"):
                return _const(1 if v == "true" else 0, CType(INT, 1, False))
            if v == "NULL":
                return _const(0, CType(PTR, self.ls, False))
            if self.peek() == ("op", "("):
                raise Unsupported(f"a call to {v}()")
            raise Unsupported(f"the symbol {v} (not resolved by the kernel)")
        raise Unsupported(f"unexpected {v!r}")

    def number(self, text: str) -> Expr:
        m = re.match(r"(0[xX][0-9a-fA-F]+|[0-9]+)([uUlL]*)$", text)
        if m is None:
            raise Unsupported(f"number {text}")
        digits, suffix = m.groups()
        s = suffix.lower()
        if digits.lower().startswith("0x"):
            v = int(digits, 16)
            decimal = False
        elif len(digits) > 1 and digits.startswith("0"):
            v = int(digits, 8)
            decimal = False
        else:
            v = int(digits)
            decimal = True
        uns = "u" in s
        nl = s.count("l")
        cands: List[CType] = []
        sizes = [4, self.ls, 8] if nl == 0 else ([self.ls, 8] if nl == 1 else [8])
        for size in sizes:
            if not uns:
                cands.append(_int_t(size, True))
            if uns or not decimal:
                cands.append(_int_t(size, False))
        for t in cands:
            lo, hi = _lo_hi(t)
            if lo <= v <= hi:
                return _const(v, t)
        return _const(v & ((1 << 64) - 1), _int_t(8, False))

    def statement_expr(self) -> Expr:
        """({ type a = (x); type b = (y); expr; }) with plain declarations only."""
        self.expect("{")
        scope: Dict[str, Expr] = {}
        self.scopes.append(scope)
        try:
            while True:
                k, v = self.peek()
                is_decl = k == "id" and (
                    v == "__auto_type"
                    or (
                        (
                            v in _TYPE_WORDS
                            or v in _TYPEDEFS
                            or v in _LONG_TYPEDEFS
                            or v.endswith("_t")
                        )
                        and self.peek(1)[0] in ("id", "op")
                    )
                )
                if is_decl:
                    if v == "__auto_type":
                        self.next()
                        t: Optional[CType] = None
                    else:
                        t = self.parse_type()
                    nk, var = self.next()
                    if nk != "id":
                        raise Unsupported("a statement expression")
                    self.expect("=")
                    init = self.parse_expr()
                    self.expect(";")
                    if t is not None:
                        init = self.cast(t, init)
                    scope[var] = init
                    continue
                e = self.parse_expr()
                self.expect(";")
                self.expect("}")
                self.expect(")")
                return e
        finally:
            self.scopes.pop()

    def call(self, name: str) -> Expr:
        """A call of a kernel helper (``name`` is in _PRIMARY_CALLS, the ``(`` next):
        compiled by kernel_helpers._KernelHelpers, which the compiler mixes in."""
        raise NotImplementedError(name)
