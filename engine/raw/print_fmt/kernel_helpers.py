"""The kernel's print fmt helpers compiled to Python: ``__get_str``,
``__get_dynamic_array``, ``__get_bitmask``, ``__print_flags``, ``__print_symbolic``,
``__print_hex``, ``__print_array``, ``__print_ns_to_secs``, ``sizeof`` ...
(their run-time halves are in trace_seq).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ftop.engine.raw.format import Field
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
    T_UINT,
    _int_t,
)
from ftop.engine.raw.print_fmt.errors import Unsupported
from ftop.engine.raw.print_fmt.expr import Expr, _const
from ftop.engine.raw.print_fmt.expr_parser import _ExprParser


class _KernelHelpers(_ExprParser):
    """Calls of the kernel's print fmt helpers, parsed with their arguments."""

    def args(self) -> List[Expr]:
        self.expect("(")
        out: List[Expr] = []
        if self.accept(")"):
            return out
        while True:
            out.append(self.parse_expr())
            if self.accept(")"):
                return out
            self.expect(",")

    def table(self) -> List[Tuple[int, Optional[bytes]]]:
        """{ mask, "name" }, ... up to the closing ')' of the call."""
        entries: List[Tuple[int, Optional[bytes]]] = []
        while self.accept(","):
            self.expect("{")
            if self.accept("}"):
                continue
            val = self.parse_expr()
            self.expect(",")
            name = self.parse_expr()
            self.expect("}")
            if not val.is_const or val.t.kind not in (INT, PTR):
                raise Unsupported("a flag or symbol value that is not a constant")
            if name.null or (name.is_const and name.const == 0 and name.t.kind != STR):
                entries.append((int(val.const), None))
            elif name.t.kind == STR and name.is_const:
                entries.append((int(val.const), name.const))
            else:
                raise Unsupported("a flag or symbol name that is not a string")
        self.expect(")")
        return entries

    def field_arg(self) -> Field:
        self.expect("(")
        k, name = self.next()
        if k != "id":
            raise Unsupported("a __get_* helper without a field name")
        self.expect(")")
        return self.field(name)

    def call(self, name: str) -> Expr:
        ls = self.ls
        if name == "sizeof":
            self.expect("(")
            if self.peek()[0] == "id" and (
                self.peek()[1] in _TYPE_WORDS
                or self.peek()[1] in _TYPEDEFS
                or self.peek()[1] in _LONG_TYPEDEFS
                or self.peek()[1].endswith("_t")
            ):
                t = self.parse_type()
                size = t.size if t.kind == INT else ls
            else:
                e = self.parse_expr()
                if e.t.kind in (INT, PTR):
                    size = e.t.size
                else:
                    raise Unsupported("sizeof of an array or string")
            self.expect(")")
            if size == 0:
                raise Unsupported("sizeof(void)")
            return _const(size, _int_t(ls, False))
        if name in ("__get_str", "__get_rel_str"):
            f = self.field_arg()
            if f.data_loc or f.rel_loc:
                return Expr(f"_cstr(data, {self.loc_start(f)})", T_STR)
            return Expr(f"_cstr(data, {f.offset})", T_STR)
        if name in (
            "__get_dynamic_array",
            "__get_rel_dynamic_array",
            "__get_sockaddr",
            "__get_rel_sockaddr",
        ):
            f = self.field_arg()
            e = self.field_expr(f)
            return e
        if name in (
            "__get_dynamic_array_len",
            "__get_rel_dynamic_array_len",
            "__get_sockaddr_len",
            "__get_rel_sockaddr_len",
        ):
            f = self.field_arg()
            if not (f.data_loc or f.rel_loc):
                return _const(f.size, T_UINT)
            return Expr(self.loc_len(f), T_UINT)
        if name in ("__get_bitmask", "__get_rel_bitmask", "__get_cpumask", "__get_rel_cpumask"):
            f = self.field_arg()
            self.need_env = True
            if f.data_loc or f.rel_loc:
                start, ln = self.loc_start(f), self.loc_len(f)
            else:
                start, ln = str(f.offset), str(f.size)
            return Expr(
                f"_bitmap_hex(_bitmap_int(data[{start}:], {ln}, env), {ln} * 8)",
                T_STR,
            )
        if name == "__builtin_expect":
            a = self.args()
            if len(a) != 2:
                raise Unsupported("__builtin_expect with other than 2 arguments")
            return a[0]
        if name in (
            "__print_flags",
            "__print_flags_u64",
            "__print_symbolic",
            "__print_symbolic_u64",
        ):
            u64 = name.endswith("_u64")
            t = _int_t(8, False) if u64 else self.t_ulong
            hexfmt = "0x%x"
            self.expect("(")
            val = self.convert(self.promote(self.parse_expr()), t)
            if name.startswith("__print_flags"):
                self.expect(",")
                delim = self.parse_expr()
                if delim.null or (delim.is_const and delim.const == 0 and delim.t.kind != STR):
                    dbytes = b""
                elif delim.t.kind == STR and delim.is_const:
                    dbytes = delim.const
                else:
                    raise Unsupported("a __print_flags delimiter that is not a string")
                entries = self.table()
                flags_tab: List[Tuple[int, bytes]] = []
                mask_all = (1 << (8 * t.size)) - 1
                for mask, nm in entries:
                    if nm is None:
                        break
                    flags_tab.append((mask & mask_all, nm))
                k = self.name_const(tuple(flags_tab))
                d = self.name_const(dbytes)
                return Expr(f"_flags_seq({val.code}, {d}, {k}, {hexfmt!r})", T_STR)
            entries = self.table()
            sym_tab: Dict[int, bytes] = {}
            mask_all = (1 << (8 * t.size)) - 1
            for mask, nm in entries:
                if nm is None:
                    break
                sym_tab.setdefault(mask & mask_all, nm)
            k = self.name_const(sym_tab)
            return Expr(f"_symbolic({val.code}, {k}, {hexfmt!r})", T_STR)
        if name in ("__print_hex", "__print_hex_str"):
            a = self.args()
            if len(a) != 2 or a[0].t.kind != BUF:
                raise Unsupported(f"{name} of something not in the record")
            n = self.convert(self.promote(a[1]), T_INT).code
            return Expr(f"_hex_seq({a[0].code}, {n}, {name == '__print_hex_str'})", T_STR)
        if name == "__print_array":
            a = self.args()
            if len(a) != 3 or a[0].t.kind != BUF:
                raise Unsupported("__print_array of something not in the record")
            cnt = self.convert(self.promote(a[1]), self.t_long).code
            el = self.convert(self.promote(a[2]), self.t_long).code
            return Expr(f"_array_seq({a[0].code}, {cnt}, {el}, {self.endian!r})", T_STR)
        if name == "__print_dynamic_array":
            self.expect("(")
            _k2, fname = self.next()
            self.expect(",")
            el_e = self.parse_expr()
            self.expect(")")
            f = self.field(fname)
            arr = self.field_expr(f)
            ln = self.loc_len(f) if (f.data_loc or f.rel_loc) else str(f.size)
            el = self.convert(self.promote(el_e), self.t_long).code
            return Expr(f"_array_seq({arr.code}, {ln} // {el}, {el}, {self.endian!r})", T_STR)
        if name in ("__print_ns_to_secs", "__print_ns_without_secs"):
            a = self.args()
            if len(a) != 1:
                raise Unsupported(f"{name} with other than one argument")
            v = self.convert(self.promote(a[0]), _int_t(8, False)).code
            if name == "__print_ns_to_secs":
                return Expr(f"(({v}) // 1000000000)", _int_t(8, False))
            return Expr(f"(({v}) % 1000000000)", _int_t(4, False))
        raise Unsupported(f"{name}()")  # pragma: no cover
