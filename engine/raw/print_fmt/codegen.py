"""The compile entry point: the whole print fmt (format string and arguments) to
the source of one Python function, compiled, and wrapped so that bad records
raise only :class:`BadRecord`.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

from ftop.engine.raw.format import EventFormat
from ftop.engine.raw.print_fmt.ctype import BUF, INT, PTR, T_INT, _int_t
from ftop.engine.raw.print_fmt.env import Env, Renderer
from ftop.engine.raw.print_fmt.errors import BadRecord, Unsupported
from ftop.engine.raw.print_fmt.expr import Expr
from ftop.engine.raw.print_fmt.kernel_helpers import _KernelHelpers
from ftop.engine.raw.print_fmt.lexer import _tokenize, _unescape
from ftop.engine.raw.print_fmt.printf import _Conv, _cstr_b, _split_format
from ftop.engine.raw.print_fmt.raw_fields import raw_fields
from ftop.engine.raw.print_fmt.runtime import _HELPERS


class _Compiler(_KernelHelpers):
    """The whole compiler: the format string's conversions and the generated code."""

    # -- the whole print fmt
    def compile(self) -> Tuple[str, Dict[str, Any]]:
        self.toks = _tokenize(_print_fmt_text(self.fmt))
        self.i = 0
        if self.peek()[0] != "str":
            raise Unsupported("a print fmt that does not start with a string")
        fmt_b = b""
        while self.peek()[0] == "str":
            fmt_b += _unescape(self.next()[1][1:-1])
        args: List[Expr] = []
        while self.accept(","):
            args.append(self.parse_expr())
        if self.peek()[0] != "end":
            raise Unsupported(f"unexpected {self.peek()[1]!r} after the arguments")
        parts = _split_format(fmt_b)
        pyfmt: List[bytes] = []
        vals: List[str] = []
        ai = 0

        def take() -> Expr:
            nonlocal ai
            if ai >= len(args):
                raise Unsupported("fewer arguments than conversions")
            e = args[ai]
            ai += 1
            return e

        for part in parts:
            if isinstance(part, bytes):
                pyfmt.append(part.replace(b"%", b"%%"))
                continue
            width_code = None
            prec_code = None
            if part.width == -1:
                width_code = self.convert(self.promote(take()), T_INT).code
            if part.prec == -1:
                prec_code = self.convert(self.promote(take()), T_INT).code
            arg = take()
            f, code = self.conversion(part, arg, width_code, prec_code)
            pyfmt.append(f)
            vals.extend(code)
        if ai != len(args):
            raise Unsupported("more arguments than conversions")
        return self.generate(b"".join(pyfmt), vals)

    def conversion(
        self, c: _Conv, arg: Expr, wcode: Optional[str], pcode: Optional[str]
    ) -> Tuple[bytes, List[str]]:
        """One conversion -> (python %-format piece, the codes of its values)."""
        width = c.width if c.width is not None and c.width >= 0 else None
        prec = c.prec if c.prec is not None and c.prec >= 0 else None
        wexpr = wcode if wcode is not None else (str(width) if width is not None else None)
        if c.conv == "s":
            s = self.as_string(arg)
            if s.is_const:
                code = self.name_const(_cstr_b(s.const))
            elif s.nullable:
                code = f"_cstr_b({s.code})"
            else:
                code = s.code
            flags = "-" if "-" in c.flags else ""
            out = "%" + flags
            vals: List[str] = []
            if wcode is not None:
                out += "*"
                vals.append(wcode)
            elif width is not None:
                out += str(width)
            if pcode is not None:
                out += ".*"
                vals.append(f"_prec({pcode})")
            elif prec is not None:
                out += f".{prec}"
            vals.append(code)
            return (out + "s").encode(), vals
        if c.conv == "c":
            if arg.t.kind not in (INT, PTR):
                raise Unsupported("%c of a string")
            v = self.convert(self.promote(arg), T_INT).code
            flags = "-" if "-" in c.flags else ""
            out = "%" + flags
            vals = []
            if wcode is not None:
                out += "*"
                vals.append(wcode)
            elif width is not None:
                out += str(width)
            vals.append(f"(({v}) & 0xff)")
            return (out + "c").encode(), vals
        if c.conv == "p":
            return self.pointer(c, arg, wexpr)
        # integers
        if arg.t.kind not in (INT, PTR):
            raise Unsupported(f"%{c.conv} of a string")
        q = c.qual
        size = {
            "": 4,
            "h": 2,
            "hh": 1,
            "l": self.ls,
            "z": self.ls,
            "Z": self.ls,
            "t": self.ls,
            "ll": 8,
            "L": 8,
            "j": 8,
        }[q]
        signed = c.conv in "di"
        t = _int_t(size, signed)
        src = (
            self.promote(arg)
            if arg.t.kind == INT
            else Expr(arg.code, self.t_ulong, arg.const, arg.is_const)
        )
        ve = self.convert(src, t)
        vcode = ve.code if not ve.is_const else repr(ve.const)
        base = 16 if c.conv in "xX" else (8 if c.conv == "o" else 10)
        flags = c.flags
        if not signed:
            flags = flags.replace("+", "").replace(" ", "")
        native = prec is None and pcode is None and not ("#" in flags and base == 8)
        if native:
            out = "%" + "".join(sorted(set(flags), key="-+ #0".index))
            vals = []
            if wcode is not None:
                out += "*"
                vals.append(wcode)
            elif width is not None:
                out += str(width)
            vals.append(vcode)
            conv = "d" if base == 10 else c.conv
            return (out + conv).encode(), vals
        w = wexpr if wexpr is not None else "0"
        p = f"_prec({pcode})" if pcode is not None else str(prec if prec is not None else -1)
        return b"%s", [f"_num({vcode}, {base}, {flags!r}, {w}, {p}, {c.conv == 'X'}, {signed})"]

    def pointer(self, c: _Conv, arg: Expr, wexpr: Optional[str]) -> Tuple[bytes, List[str]]:
        ext = c.ext
        e0 = ext[:1]
        left = "-" in c.flags
        w = wexpr if wexpr is not None else "0"

        def padded(code: str) -> Tuple[bytes, List[str]]:
            if wexpr is None:
                return b"%s", [code]
            return b"%s", [f"_pad({code}, {w}, {left})"]

        def addr() -> str:
            if arg.t.kind not in (INT, PTR):
                raise Unsupported(f"%p{ext} of a string or array")
            src = (
                self.promote(arg)
                if arg.t.kind == INT
                else Expr(arg.code, self.t_ulong, arg.const, arg.is_const)
            )
            return self.convert(src, self.t_ulong).code

        def buf() -> str:
            if arg.t.kind != BUF:
                raise Unsupported(f"%p{ext} of memory that is not in the record")
            return arg.code

        if e0 in ("S", "s", "B"):
            self.need_env = True
            wo = e0 != "s"
            return padded(f"env.symbol({addr()}, {wo}).encode('utf-8', 'surrogateescape')")
        if e0 in ("I", "i") and ext[1:2] in ("4", "6", "S"):
            self.need_env = True
            return padded(f"_ip({buf()}, {ext!r}, env).encode()")
        if e0 == "U":
            return padded(f"_uuid({buf()}, {ext!r}).encode()")
        if e0 in ("M", "m"):
            return padded(f"_mac({buf()}, {ext!r}).encode()")
        if e0 == "h":
            return b"%s", [f"_hexdump({buf()}, {w if wexpr is not None else -1}, {ext!r}).encode()"]
        if e0 == "b":
            if wexpr is None:
                raise Unsupported("%pb without a bit count")
            self.need_env = True
            fn = "_bitmap_list" if "l" in ext[1:] else "_bitmap_hex"
            n = wexpr
            return b"%s", [
                f"{fn}(_bitmap_int({buf()}, ((({n}) + {8 * self.ls - 1}) // {8 * self.ls}) * {self.ls}, env), {n})"
            ]
        if e0 in ("", "x", "K", "F", "f") or (e0 and e0 not in "EVadDgCNOtGrRXnT"):
            # pointer_string(): %016lx unless a width is given
            a = addr()
            if wexpr is None:
                return (f"%0{2 * self.ls}x").encode(), [a]
            return b"%s", [f"_num({a}, 16, {c.flags!r}, {w}, -1, False, False)"]
        raise Unsupported(f"%p{ext}")

    def generate(self, pyfmt: bytes, vals: List[str]) -> Tuple[str, Dict[str, Any]]:
        ns: Dict[str, Any] = dict(_HELPERS)
        ns.update(self.consts)
        ns["_FMT"] = pyfmt
        lines = ["def _render(data, env):"]
        reads = sorted(self.reads.items())
        # one struct for every fixed read when they do not overlap
        pos = 0
        spec = self.endian
        ok = True
        for (off, code), _name in reads:
            if off < pos:
                ok = False
                break
            if off > pos:
                spec += f"{off - pos}x"
            spec += code
            pos = off + struct.calcsize(code)
        if reads and ok:
            ns["_S"] = struct.Struct(spec)
            names = ", ".join(n for _k, n in reads)
            lines.append(f"    {names}{',' if len(reads) == 1 else ''} = _S.unpack_from(data, 0)")
        else:
            for i, ((off, code), nm) in enumerate(reads):
                ns[f"_S{i}"] = struct.Struct(self.endian + code)
                lines.append(f"    {nm}, = _S{i}.unpack_from(data, {off})")
        if vals:
            tup = ", ".join(vals) + ("," if len(vals) == 1 else "")
            lines.append(f"    return (_FMT % ({tup})).decode('utf-8', 'surrogateescape')")
        else:
            lines.append("    return _FMT.decode('utf-8', 'surrogateescape')")
        return "\n".join(lines) + "\n", ns


def _print_fmt_text(fmt: EventFormat) -> str:
    """The print fmt, all of it: a string with a raw newline in it (ext4's
    fsmap events) goes on past the ``print fmt:`` line, which parse_format cuts."""
    text = fmt.text
    at = text.find("\nprint fmt:") + 1 if not text.startswith("print fmt:") else 0
    if text and (at > 0 or text.startswith("print fmt:")):
        rest = text[at + len("print fmt:") :]
        if rest.endswith("\n"):
            rest = rest[:-1]
        return rest.strip(" \t")
    return fmt.print_fmt


def _translate(fmt: EventFormat, long_size: int, endian: str) -> Callable[[bytes, Env], str]:
    comp = _Compiler(fmt, long_size, endian)
    src, ns = comp.compile()
    try:
        code = compile(src, f"<print fmt {fmt.system}:{fmt.name}>", "exec")
    except SyntaxError as e:  # a bug here, not in the format
        raise Unsupported(f"internal: generated code does not compile ({e})") from None
    exec(code, ns)
    fn: Callable[[bytes, Env], str] = ns["_render"]
    fn.__doc__ = src
    return fn


_ERRORS = (
    struct.error,
    IndexError,
    ValueError,
    ZeroDivisionError,
    OverflowError,
    TypeError,
    KeyError,
)


def compile_print_fmt(fmt: EventFormat, long_size: int = 8, endian: str = "<") -> Renderer:
    """Parse ``fmt.print_fmt`` once and return ``render(data, env) -> str``.

    Raises :class:`Unsupported` when the print fmt cannot be evaluated here. The
    returned function raises only :class:`BadRecord` (see the module doc).
    ``long_size``/``endian`` are the traced machine's (``Env`` must agree).
    """
    fast = _translate(fmt, long_size, endian)
    # a record as long as the fixed reads need: shorter ones are rendered padded
    need = max(
        (f.offset + f.size for f in (*fmt.common, *fmt.fields) if f.array_len != 0), default=0
    )

    def render(data: bytes, env: Env) -> str:
        try:
            return fast(data, env)
        except _ERRORS as e:
            why = f"{fmt.full_name}: record of {len(data)} bytes cannot be rendered ({e.__class__.__name__}: {e})"
            text: Optional[str] = None
            if len(data) < need:
                try:
                    text = fast(bytes(data) + b"\0" * (need - len(data)), env)
                except _ERRORS:
                    text = None
            if text is None:
                try:
                    text = raw_fields(fmt, data, env)
                except Exception:  # pragma: no cover - raw_fields is lenient
                    text = ""
            raise BadRecord(why, text) from None

    render.__doc__ = fast.__doc__
    return render
