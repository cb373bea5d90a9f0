"""The compiler's state and the pieces every part of it uses: the token cursor,
record field reads, C integer promotions and conversions, constant folding and
type names (casts).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ftop.engine.raw.format import EventFormat, Field
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
    _fits,
    _int_t,
    _wrap_code,
    _wrap_value,
)
from ftop.engine.raw.print_fmt.errors import Unsupported
from ftop.engine.raw.print_fmt.expr import Expr, _const
from ftop.engine.raw.print_fmt.runtime import _HELPERS


class _CompilerBase:
    """One print fmt being compiled. The compiler is one object split by concern into
    a chain of classes (_CompilerBase -> _ExprParser -> _KernelHelpers -> _Compiler),
    one module each; this first one holds the state they all share."""

    def __init__(self, fmt: EventFormat, long_size: int, endian: str) -> None:
        self.fmt = fmt
        self.ls = long_size
        self.endian = endian
        self.toks: List[Tuple[str, str]] = []
        self.i = 0
        # fixed-offset reads: (offset, struct code) -> variable name
        self.reads: Dict[Tuple[int, str], str] = {}
        self.consts: Dict[str, Any] = {}  # names for big constants (tables)
        self.scopes: List[Dict[str, Expr]] = []
        self.t_long = _int_t(long_size, True)
        self.t_ulong = _int_t(long_size, False)
        self.need_env = False

    # -- tokens
    def peek(self, k: int = 0) -> Tuple[str, str]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Tuple[str, str]:
        t = self.toks[self.i]
        if t[0] != "end":
            self.i += 1
        return t

    def expect(self, v: str) -> None:
        t = self.next()
        if t[1] != v or t[0] == "str":
            raise Unsupported(f"expected {v!r}, found {t[1]!r}")

    def accept(self, v: str) -> bool:
        k, t = self.peek()
        if k == "op" and t == v:
            self.i += 1
            return True
        return False

    def name_const(self, v: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = v
        return name

    # -- field reads
    def read(self, offset: int, size: int, signed: bool) -> str:
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}.get(size)
        if code is None:
            raise Unsupported(f"an integer of {size} bytes")
        if signed:
            code = code.lower()
        key = (offset, code)
        name = self.reads.get(key)
        if name is None:
            name = f"_f{len(self.reads)}"
            self.reads[key] = name
        return name

    def field(self, name: str) -> Field:
        f = self.fmt.by_name.get(name)
        if f is None:
            raise Unsupported(f"REC->{name}: no such field")
        return f

    def field_expr(self, f: Field) -> Expr:
        if f.data_loc or f.rel_loc or f.array_len is not None:
            if f.data_loc or f.rel_loc:
                start = self.loc_start(f)
                return Expr(
                    f"data[{start}:]",
                    CType(BUF, self.ls, False, f.elem_size, f.signed, None, f.is_string),
                )
            return Expr(
                f"data[{f.offset}:]",
                CType(BUF, self.ls, False, f.elem_size, f.signed, f.offset, f.is_string),
            )
        is_ptr = "*" in f.type
        if is_ptr:
            if f.size != self.ls:
                raise Unsupported(f"REC->{f.name}: a pointer of {f.size} bytes")
            return Expr(
                self.read(f.offset, f.size, False),
                CType(PTR, f.size, False, is_char="char" in f.type),
            )
        return Expr(self.read(f.offset, f.size, f.signed), _int_t(f.size, f.signed))

    def loc_word(self, f: Field) -> str:
        return self.read(f.offset, 4, False)

    def loc_start(self, f: Field) -> str:
        w = self.loc_word(f)
        if f.rel_loc:
            return f"(({w} & 0xffff) + {f.offset + f.size})"
        return f"({w} & 0xffff)"

    def loc_len(self, f: Field) -> str:
        return f"({self.loc_word(f)} >> 16)"

    # -- conversions
    def promote(self, e: Expr) -> Expr:
        if e.t.kind == INT and e.t.size < 4:
            return Expr(e.code, T_INT, e.const, e.is_const)
        if e.t.kind == PTR:
            return Expr(e.code, self.t_ulong, e.const, e.is_const)
        if e.t.kind != INT:
            raise Unsupported("arithmetic on a string or array")
        return e

    def convert(self, e: Expr, t: CType) -> Expr:
        """e converted to integer type t (C conversion)."""
        if e.t.kind not in (INT, PTR):
            raise Unsupported("a string or array used as a number")
        src = e.t if e.t.kind == INT else self.t_ulong
        if _fits(src, t):
            return Expr(e.code, t, e.const, e.is_const, e.null)
        if e.is_const:
            return _const(_wrap_value(int(e.const), t), t)
        return Expr(_wrap_code(e.code, t), t)

    def to_bool_type(self, e: Expr, t: CType) -> Expr:
        # (_Bool)x: 0 or 1
        if e.is_const:
            return _const(1 if e.const else 0, t)
        return Expr(f"(1 if {self.truth(e)} else 0)", t)

    def common(self, a: CType, b: CType) -> CType:
        if a == b:
            return a
        if a.signed == b.signed:
            return a if a.size >= b.size else b
        u, s = (a, b) if not a.signed else (b, a)
        if u.size >= s.size:
            return _int_t(max(u.size, s.size), False)
        return s

    def truth(self, e: Expr) -> str:
        if e.t.kind in (STR, BUF):
            return "True" if not e.null else "False"
        return f"({e.code})"

    def fold(self, e: Expr) -> Expr:
        """Evaluate a constant expression's code now."""
        v = eval(e.code, dict(_HELPERS), dict(self.consts))
        if isinstance(v, bool):
            v = int(v)
        return _const(v, e.t)

    def as_string(self, e: Expr) -> Expr:
        """e as a C string value (bytes, or None for NULL)."""
        if e.t.kind == STR:
            return e
        if e.t.kind == BUF:
            return Expr(f"_cstr_b({e.code})", T_STR)
        if e.null or (e.is_const and e.const == 0):
            return Expr("None", T_STR, None, True, True)
        raise Unsupported("a string from a kernel pointer (not in the record)")

    def is_type_start(self) -> bool:
        """At '(' : does a type name follow (so this is a cast or sizeof(type))?"""
        k, v = self.peek(1)
        if k != "id":
            return False
        if v in _TYPE_WORDS or v in _TYPEDEFS or v in _LONG_TYPEDEFS:
            return True
        if v.endswith("_t"):
            k2, v2 = self.peek(2)
            return k2 == "op" and v2 in (")", "*")
        return False

    def parse_type(self) -> CType:
        words: List[str] = []
        stars = 0
        while True:
            k, v = self.peek()
            if k == "id" and not stars:
                if v in ("struct", "union", "enum"):
                    self.next()
                    tag = self.next()
                    words.append(v + " " + tag[1])
                    continue
                if v in _TYPE_WORDS or v in _TYPEDEFS or v in _LONG_TYPEDEFS or v.endswith("_t"):
                    self.next()
                    words.append(v)
                    continue
                if v in ("__user", "__iomem", "__percpu", "__rcu", "__force", "__bitwise"):
                    self.next()
                    continue
                break
            if k == "op" and v == "*":
                self.next()
                stars += 1
                continue
            if k == "id" and v in ("const", "volatile", "__user", "__iomem", "__force"):
                self.next()
                continue
            break
        words = [w for w in words if w not in ("const", "volatile")]
        if stars:
            is_char = words in (["char"], ["unsigned", "char"], ["signed", "char"], ["u8"])
            return CType(PTR, self.ls, False, is_char=is_char and stars == 1)
        return self.base_type(words)

    def base_type(self, words: List[str]) -> CType:
        if not words:
            raise Unsupported("a cast without a type")
        if len(words) == 1:
            w = words[0]
            if w in _TYPEDEFS:
                size, signed = _TYPEDEFS[w]
                if w in ("bool", "_Bool"):
                    return CType(INT, 1, False, elem=-1)  # elem=-1 marks _Bool
                return _int_t(size, signed)
            if w in _LONG_TYPEDEFS:
                return _int_t(self.ls, _LONG_TYPEDEFS[w])
            if w == "void":
                return CType(INT, 0, False)
        if any(w.startswith(("struct ", "union ")) for w in words):
            raise Unsupported(f"a struct type ({' '.join(words)})")
        if any(w.startswith("enum ") for w in words):
            return (
                T_INT
                if len(words) == 1
                else self.base_type([w for w in words if not w.startswith("enum ")])
            )
        unknown = [w for w in words if w not in _TYPE_WORDS]
        if unknown:
            raise Unsupported(f"unknown type {' '.join(words)}")
        signed = "unsigned" not in words
        n_long = words.count("long")
        if "char" in words:
            return _int_t(1, signed)
        if "short" in words:
            return _int_t(2, signed)
        if n_long >= 2:
            return _int_t(8, signed)
        if n_long == 1:
            return _int_t(self.ls, signed)
        return _int_t(4, signed)

    def cast(self, t: CType, e: Expr) -> Expr:
        if t.kind == PTR:
            if e.t.kind in (STR, BUF):
                return e
            if e.is_const:
                return _const(
                    int(e.const) & ((1 << (8 * self.ls)) - 1),
                    CType(PTR, self.ls, False, is_char=t.is_char),
                )
            return Expr(
                self.convert(e, self.t_ulong).code, CType(PTR, self.ls, False, is_char=t.is_char)
            )
        if t.size == 0:  # (void)
            return Expr(e.code, CType(INT, 4, True))
        if e.t.kind in (STR, BUF):
            raise Unsupported("a string or array cast to a number")
        if t.elem == -1:
            return self.to_bool_type(e, CType(INT, 1, False))
        return self.convert(e, t)
