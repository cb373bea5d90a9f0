"""An event's ``print fmt``, evaluated in Python to the text the kernel's ``trace``
file shows after ``<event name>: ``.

The print fmt is what ``TP_printk`` became after the preprocessor: a C format
string and C expressions over ``REC->field``, with the kernel's helpers
(``__get_str``, ``__print_flags``, ``__print_symbolic``, ``__print_array`` ...)
left as calls. :func:`compile_print_fmt` parses it once and generates one
Python function per event (C types tracked at compile time, constants folded,
every fixed-offset field read by one ``struct`` call); the function renders
one record's bytes (from ``common_type`` on).

Semantics follow ``lib/vsprintf.c`` (``number()``, ``string()``, the ``%p``
extensions) and ``kernel/trace/trace_output.c`` (``trace_print_flags_seq`` and
friends), written from their documented behaviour, not copied. Known limits:

* Plain ``%p`` (and ``%pK``, and ``%pF``/``%pf``, which kernels since 5.x treat
  as plain ``%p``) prints the pointer's value as ``%px`` does. The kernel shows
  that only with the ``hash-ptr`` trace option off; with it on (the default)
  it prints a keyed hash of the pointer that nothing outside the kernel can
  compute. NULL and error pointers are printed as values either way.
* ``%pB`` prints ``Env.symbol(addr, True)`` (the kernel looks ``addr - 1`` up).
* A ``%s`` of a kernel pointer (a ``char *`` field), an identifier the kernel
  did not resolve (an enum, ``HZ``), a ``struct`` member, a statement
  expression other than plain declarations, and ``%p`` extensions that read
  kernel memory make :class:`Unsupported` at compile time; the caller then
  shows :func:`raw_fields`.
* The kernel drops a line longer than its ``trace_seq`` page; this does not.

Bad data: the compiled function never lets ``IndexError``/``struct.error`` out.
A record too short for its format (or a division by zero, a negative shift
count) raises :class:`BadRecord`, a ``ValueError`` whose ``text`` is the best
rendering available (the record padded with zero bytes, else
:func:`raw_fields`): the caller shows ``e.text`` and counts it. A string whose
``__data_loc`` points outside the record renders as empty (as far as the
record goes), without an error. Strings keep every byte (``surrogateescape``);
escaping for a terminal is someone else's job.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ftop.engine.raw.format import EventFormat, Field

__all__ = [
    "BadRecord",
    "Env",
    "Renderer",
    "Unsupported",
    "compile_print_fmt",
    "raw_fields",
]


class Unsupported(Exception):
    """The print fmt uses something this renderer cannot evaluate (the message says what)."""


class BadRecord(ValueError):
    """A record the compiled function could not render as its format says (too
    short, a division by zero ...). ``text`` is the best text there is."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


@dataclass(frozen=True)
class Env:
    """What rendering needs from outside the record."""

    # (address, with_offset) -> what %ps (False) / %pS (True) print
    symbol: Callable[[int, bool], str]
    long_size: int = 8
    endian: str = "<"


Renderer = Callable[[bytes, Env], str]


# ---------------------------------------------------------------------------
# C types as far as the renderer needs them

INT, PTR, STR, BUF = "int", "ptr", "str", "buf"


@dataclass(frozen=True)
class CType:
    kind: str  # INT: an integer; PTR: an address (int); STR: bytes (a C string); BUF: bytes from a pointer into the record on
    size: int = 4
    signed: bool = True
    elem: int = 1  # BUF: bytes per element
    elem_signed: bool = False
    # BUF of a record field at a fixed offset: that offset (lets REC->arr[2] be a fixed read)
    base: Optional[int] = None
    is_char: bool = False  # PTR/BUF: points at chars


T_INT = CType(INT, 4, True)
T_UINT = CType(INT, 4, False)
T_STR = CType(STR)


def _int_t(size: int, signed: bool) -> CType:
    return CType(INT, size, signed)


def _lo_hi(t: CType) -> Tuple[int, int]:
    bits = t.size * 8
    if t.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _fits(src: CType, dst: CType) -> bool:
    a, b = _lo_hi(src)
    c, d = _lo_hi(dst)
    return c <= a and b <= d


def _wrap_code(code: str, t: CType) -> str:
    bits = t.size * 8
    mask = (1 << bits) - 1
    if t.signed:
        half = 1 << (bits - 1)
        return f"(((({code}) + {half:#x}) & {mask:#x}) - {half:#x})"
    return f"(({code}) & {mask:#x})"


def _wrap_value(v: int, t: CType) -> int:
    bits = t.size * 8
    v &= (1 << bits) - 1
    if t.signed and v >> (bits - 1):
        v -= 1 << bits
    return v


# ---------------------------------------------------------------------------
# tokens

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<chr>'(?:[^'\\]|\\.)+')
  | (?P<num>(?:0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>=?:,.;()\[\]{}])
    )""",
    re.X | re.S,
)

_ESC = {
    "n": 10,
    "t": 9,
    "r": 13,
    "a": 7,
    "b": 8,
    "f": 12,
    "v": 11,
    "e": 27,
    "\\": 92,
    '"': 34,
    "'": 39,
    "?": 63,
}


def _unescape(body: str) -> bytes:
    raw = body.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c != 0x5C or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = chr(raw[i + 1])
        if e in _ESC:
            out.append(_ESC[e])
            i += 2
        elif e in "01234567":
            j = i + 1
            while j < n and j < i + 4 and chr(raw[j]) in "01234567":
                j += 1
            out.append(int(raw[i + 1 : j], 8) & 0xFF)
            i = j
        elif e == "x":
            j = i + 2
            while j < n and chr(raw[j]) in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(raw[i + 2 : j] or b"0", 16) & 0xFF)
            i = j
        else:
            out.append(raw[i + 1])
            i += 2
    return bytes(out)


def _tokenize(text: str) -> List[Tuple[str, str]]:
    toks: List[Tuple[str, str]] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"cannot read the print fmt at {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        toks.append((kind, m.group(kind)))
        pos = m.end()
    toks.append(("end", ""))
    return toks


# ---------------------------------------------------------------------------
# type names

_TYPEDEFS: Dict[str, Tuple[int, bool]] = {
    "u8": (1, False),
    "s8": (1, True),
    "u16": (2, False),
    "s16": (2, True),
    "u32": (4, False),
    "s32": (4, True),
    "u64": (8, False),
    "s64": (8, True),
    "__u8": (1, False),
    "__s8": (1, True),
    "__u16": (2, False),
    "__s16": (2, True),
    "__u32": (4, False),
    "__s32": (4, True),
    "__u64": (8, False),
    "__s64": (8, True),
    "__le16": (2, False),
    "__le32": (4, False),
    "__le64": (8, False),
    "__be16": (2, False),
    "__be32": (4, False),
    "__be64": (8, False),
    "uint8_t": (1, False),
    "uint16_t": (2, False),
    "uint32_t": (4, False),
    "uint64_t": (8, False),
    "int8_t": (1, True),
    "int16_t": (2, True),
    "int32_t": (4, True),
    "int64_t": (8, True),
    "u_int8_t": (1, False),
    "u_int16_t": (2, False),
    "u_int32_t": (4, False),
    "u_int64_t": (8, False),
    "uint": (4, False),
    "ushort": (2, False),
    "unchar": (1, False),
    "bool": (1, False),
    "_Bool": (1, False),
    "gfp_t": (4, False),
    "__kernel_rwf_t": (4, True),
    "rwf_t": (4, True),
    "slab_flags_t": (4, False),
    "fmode_t": (4, False),
    "blk_opf_t": (4, False),
    "blk_status_t": (1, False),
    "pid_t": (4, True),
    "uid_t": (4, False),
    "gid_t": (4, False),
    "dev_t": (4, False),
    "umode_t": (2, False),
    "mode_t": (4, False),
    "xfs_agnumber_t": (4, False),
    "xfs_agblock_t": (4, False),
    "xfs_extlen_t": (4, False),
    "xfs_ino_t": (8, False),
    "xfs_fsblock_t": (8, False),
    "xfs_rfsblock_t": (8, False),
    "xfs_fileoff_t": (8, False),
    "xfs_filblks_t": (8, False),
    "xfs_daddr_t": (8, True),
    "xfs_off_t": (8, True),
    "xfs_fsize_t": (8, True),
    "xfs_lsn_t": (8, True),
    "xfs_rtblock_t": (8, False),
    "xfs_rgnumber_t": (4, False),
}
# sized by long: filled per Env.long_size
_LONG_TYPEDEFS = {
    "size_t": False,
    "ssize_t": True,
    "ulong": False,
    "uintptr_t": False,
    "intptr_t": True,
    "ptrdiff_t": True,
    "loff_t": True,
    "sector_t": False,
    "phys_addr_t": False,
    "dma_addr_t": False,
    "resource_size_t": False,
    "time64_t": True,
    "ktime_t": True,
    "blkcnt_t": False,
    "pgoff_t": False,
    "off_t": True,
}
_TYPE_WORDS = {
    "unsigned",
    "signed",
    "char",
    "short",
    "int",
    "long",
    "const",
    "volatile",
    "void",
    "struct",
    "union",
    "enum",
    "__signed__",
}


# ---------------------------------------------------------------------------
# expressions: compiled straight to Python code with a C type


@dataclass(frozen=True)
class Expr:
    code: str
    t: CType
    const: Any = None  # the value when known at compile time (int, bytes, or None)
    is_const: bool = False
    null: bool = False  # a NULL pointer constant
    nullable: bool = False  # a string that may be NULL at run time


def _const(v: Any, t: CType) -> Expr:
    return Expr(repr(v), t, v, True, null=(t.kind == PTR and v == 0))


@dataclass(frozen=True)
class _Conv:
    """One conversion of the format string."""

    flags: str
    width: Optional[int]  # -1: from an argument ('*')
    prec: Optional[int]  # -1: from an argument
    qual: str
    conv: str
    ext: str = ""  # %p: the letters after p


_CONV = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|L|z|Z|t|j)?([a-zA-Z%])")


def _split_format(fmt: bytes) -> List[Any]:
    """The format string as a list of literal bytes and _Conv."""
    parts: List[Any] = []
    text = fmt.decode("latin-1")
    pos = 0
    lit = bytearray()
    while True:
        i = text.find("%", pos)
        if i < 0:
            lit += text[pos:].encode("latin-1")
            break
        lit += text[pos:i].encode("latin-1")
        m = _CONV.match(text, i)
        if m is None:
            raise Unsupported(f"a conversion the kernel would refuse: {text[i : i + 8]!r}")
        flags, width, prec, qual, conv = m.groups()
        end = m.end()
        if conv == "%":
            lit += b"%"
            pos = end
            continue
        ext = ""
        if conv == "p":
            j = end
            while j < len(text) and text[j].isalnum() and text[j].isascii():
                j += 1
            ext = text[end:j]
            end = j
        if conv not in "cspdiouxX":
            raise Unsupported(f"conversion %{conv}")
        if lit:
            parts.append(bytes(lit))
            lit = bytearray()
        w = None if width is None else (-1 if width == "*" else int(width))
        p = None if prec is None else (-1 if prec == "*" else int(prec or "0"))
        parts.append(_Conv(flags or "", w, p, qual or "", conv, ext))
        pos = end
    if lit:
        parts.append(bytes(lit))
    return parts


# ---------------------------------------------------------------------------
# runtime helpers (names the generated code uses)


def _cstr(d: bytes, o: int) -> bytes:
    if o < 0:
        return b""
    e = d.find(b"\0", o)
    return d[o:e] if e >= 0 else d[o:]


def _cstr_b(b: Optional[bytes]) -> bytes:
    if b is None:
        return b"(null)"
    e = b.find(b"\0")
    return b[:e] if e >= 0 else b


_HEX = "0123456789abcdef"


def _num(v: int, base: int, flags: str, width: int, prec: int, upper: bool, signed: bool) -> bytes:
    """lib/vsprintf.c number(): sign, prefix, padding, precision (as minimum digits)."""
    left = "-" in flags or width < 0
    if width < 0:
        width = -width
    zero = "0" in flags and not left
    sign = ""
    if signed:
        if v < 0:
            sign = "-"
            v = -v
        elif "+" in flags:
            sign = "+"
        elif " " in flags:
            sign = " "
    digits = (
        format(v, "x" if not upper else "X")
        if base == 16
        else (format(v, "o") if base == 8 else str(v))
    )
    if prec < 0:
        prec = 0
    if len(digits) > prec:
        prec = len(digits)
    pfx = ""
    if "#" in flags and base != 10:
        if base == 16:
            pfx = "0X" if upper else "0x"
        elif v != 0:
            pfx = "0"
    fill = width - len(sign) - len(pfx) - prec
    body = digits.rjust(prec, "0")
    if left:
        s = sign + pfx + body + " " * max(0, fill)
    elif zero:
        s = sign + pfx + "0" * max(0, fill) + body
    else:
        s = " " * max(0, fill) + sign + pfx + body
    return s.encode("ascii")


def _pad(b: bytes, width: int, left: bool) -> bytes:
    if width < 0:
        width, left = -width, True
    if len(b) >= width:
        return b
    return b.ljust(width) if left else b.rjust(width)


def _prec(p: int) -> int:
    return 0 if p < 0 else (32767 if p > 32767 else p)


def _flags_seq(val: int, delim: bytes, table: Sequence[Tuple[int, bytes]], hexfmt: str) -> bytes:
    out: List[bytes] = []
    for mask, name in table:
        if not val:
            break
        if val & mask != mask:
            continue
        val &= ~mask
        out.append(name)
    s = delim.join(out)
    if val:
        s += (delim if out else b"") + (hexfmt % val).encode("ascii")
    return s


def _symbolic(val: int, table: Dict[int, bytes], hexfmt: str) -> bytes:
    name = table.get(val)
    if name:
        return name
    return (hexfmt % val).encode("ascii")


def _hex_seq(buf: bytes, n: int, concat: bool) -> bytes:
    buf = buf[: max(0, n)]
    chunks = []
    for i in range(0, len(buf), 16):
        part = buf[i : i + 16]
        chunks.append(part.hex() if concat else part.hex(" "))
    return ("" if concat else " ").join(chunks).encode("ascii")


def _array_seq(buf: bytes, count: int, el: int, endian: str) -> bytes:
    codes = {1: "B", 2: "H", 4: "I", 8: "Q"}
    parts = []
    pos = 0
    total = max(0, count) * el
    code = codes.get(el)
    while pos < total:
        if code is None:
            b = buf[pos] if pos < len(buf) else 0
            parts.append(f"BAD SIZE:{el} 0x{b:x}")
            el, code, total = 1, "B", total  # the kernel goes on byte by byte
            pos += 1
            continue
        chunk = buf[pos : pos + el]
        if len(chunk) < el:
            chunk = chunk.ljust(el, b"\0")
        parts.append(f"0x{struct.unpack(endian + code, chunk)[0]:x}")
        pos += el
    return ("{" + ",".join(parts) + "}").encode("ascii")


def _bitmap_int(buf: bytes, nbytes: int, env: Env) -> int:
    buf = buf[:nbytes]
    if env.endian == "<":
        return int.from_bytes(buf, "little")
    ls = env.long_size
    v = 0
    for i in range(0, len(buf), ls):
        v |= int.from_bytes(buf[i : i + ls], "big") << (8 * i)
    return v


def _bitmap_hex(v: int, nbits: int) -> bytes:
    if nbits <= 0:
        return b""
    v &= (1 << nbits) - 1
    out = []
    top = ((nbits + 31) // 32) * 32 - 32
    chunk = nbits % 32 or 32
    i = top
    while i >= 0:
        out.append(format((v >> i) & 0xFFFFFFFF, f"0{(chunk + 3) // 4}x"))
        chunk = 32
        i -= 32
    return ",".join(out).encode("ascii")


def _bitmap_list(v: int, nbits: int) -> bytes:
    if nbits <= 0:
        return b""
    v &= (1 << nbits) - 1
    out = []
    i = 0
    while v >> i:
        if not (v >> i) & 1:
            i += 1
            continue
        j = i
        while (v >> (j + 1)) & 1:
            j += 1
        out.append(str(i) if i == j else f"{i}-{j}")
        i = j + 1
    return ",".join(out).encode("ascii")


def _ip4(b: bytes, lead: bool) -> str:
    b = b[:4].ljust(4, b"\0")
    return ".".join(("%03d" if lead else "%d") % x for x in b)


def _ip6_full(b: bytes, colons: bool) -> str:
    b = b[:16].ljust(16, b"\0")
    words = [b[i : i + 2].hex() for i in range(0, 16, 2)]
    return (":" if colons else "").join(words)


def _ip6_compressed(b: bytes) -> str:
    b = b[:16].ljust(16, b"\0")
    words = [int.from_bytes(b[i : i + 2], "big") for i in range(0, 16, 2)]
    v4mapped = words[:5] == [0, 0, 0, 0, 0] and words[5] == 0xFFFF
    isatap = ((words[4] | 0x0200) == 0x0200) and words[5] == 0x5EFE
    use4 = v4mapped or isatap
    rng = 6 if use4 else 8
    longest, colonpos = 0, -1
    for i in range(rng):
        n = 0
        for j in range(i, rng):
            if words[j]:
                break
            n += 1
        if n > longest:
            longest, colonpos = n, i
    if longest == 1:
        colonpos = -1
    out = []
    need = False
    i = 0
    while i < rng:
        if i == colonpos:
            if need or i == 0:
                out.append(":")
            out.append(":")
            need = False
            i += longest
            continue
        if need:
            out.append(":")
        out.append(format(words[i], "x"))
        need = True
        i += 1
    if use4:
        if need:
            out.append(":")
        out.append(_ip4(b[12:16], False))
    return "".join(out)


def _ip(b: bytes, ext: str, env: Env) -> str:
    """%pI4 %pi4 %pI6 %pi6 %pI6c %pIS... (ext is what follows the p)."""
    lead = ext[0] == "i"
    kind = ext[1:2]
    if kind == "4":
        return _ip4(b, lead)
    if kind == "6":
        if not lead and "c" in ext[2:]:
            return _ip6_compressed(b)
        return _ip6_full(b, not lead)
    # S: a struct sockaddr
    opts = ext[2:]
    fam = int.from_bytes(b[:2], "little" if env.endian == "<" else "big")
    port = int.from_bytes(b[2:4], "big")
    if fam == 2:
        s = _ip4(b[4:8], lead)
        if "p" in opts:
            s += f":{port}"
        return s
    if fam == 10:
        bracket = any(c in opts for c in "psf")
        addr = b[8:24]
        s = _ip6_compressed(addr) if (not lead and "c" in opts) else _ip6_full(addr, not lead)
        if bracket:
            s = "[" + s + "]"
        if "p" in opts:
            s += f":{port}"
        if "f" in opts:
            s += "/" + str(int.from_bytes(b[4:8], "big") & 0x0FFFFFFF)
        if "s" in opts:
            s += "%" + str(int.from_bytes(b[24:28], "little" if env.endian == "<" else "big"))
        return s
    return "(einval)"


_GUID_INDEX = (3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15)


def _uuid(b: bytes, ext: str) -> str:
    b = b[:16].ljust(16, b"\0")
    mode = ext[1:2]
    order = _GUID_INDEX if mode in ("l", "L") else range(16)
    h = "".join(format(b[i], "02x") for i in order)
    if mode in ("B", "L"):
        h = h.upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _mac(b: bytes, ext: str) -> str:
    b = b[:6].ljust(6, b"\0")
    seq = list(b)
    rest = ext[1:]
    if "R" in rest:
        seq.reverse()
    sep = "" if ext[0] == "m" else "-" if "F" in rest else ":"
    return sep.join(format(x, "02x") for x in seq)


def _hexdump(b: bytes, width: int, ext: str) -> str:
    n = 1 if width < 0 else min(width, 64)
    sep = {"C": ":", "D": "-", "N": ""}.get(ext[1:2], " ")
    return sep.join(format(x, "02x") for x in b[:n])


_HELPERS: Dict[str, Any] = {
    "_cstr": _cstr,
    "_cstr_b": _cstr_b,
    "_num": _num,
    "_pad": _pad,
    "_prec": _prec,
    "_flags_seq": _flags_seq,
    "_symbolic": _symbolic,
    "_hex_seq": _hex_seq,
    "_array_seq": _array_seq,
    "_bitmap_int": _bitmap_int,
    "_bitmap_hex": _bitmap_hex,
    "_bitmap_list": _bitmap_list,
    "_ip": _ip,
    "_uuid": _uuid,
    "_mac": _mac,
    "_hexdump": _hexdump,
    "_struct": struct,
}


def _sdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _smod(a: int, b: int) -> int:
    return a - _sdiv(a, b) * b


_HELPERS["_sdiv"] = _sdiv
_HELPERS["_smod"] = _smod


# ---------------------------------------------------------------------------
# the parser / code generator


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


class _Compiler:
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

    def as_string(self, e: Expr) -> Expr:
        """e as a C string value (bytes, or None for NULL)."""
        if e.t.kind == STR:
            return e
        if e.t.kind == BUF:
            return Expr(f"_cstr_b({e.code})", T_STR)
        if e.null or (e.is_const and e.const == 0):
            return Expr("None", T_STR, None, True, True)
        raise Unsupported("a string from a kernel pointer (not in the record)")

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


# ---------------------------------------------------------------------------
# the whole event text: what the kernel prints after the time stamp


# ---------------------------------------------------------------------------
# the fallback: field=value


def raw_fields(fmt: EventFormat, data: bytes, env: Env) -> str:
    """``field=value field=value ...`` for the event's own fields, as
    libtraceevent's raw output does it: signed integers in decimal, pointers and
    ``long``s in hex (0x...), other unsigned integers in decimal, strings as
    text, other arrays as ``ARRAY[xx, xx]`` hex bytes. Never raises: a field
    past the end of the record shows as ``name=?``."""
    out: List[str] = []
    e = env.endian
    for f in fmt.fields:
        try:
            if f.is_string:
                val = f.text(data, e)
            elif f.array_len is not None or f.data_loc or f.rel_loc:
                start, length = f.span(data, e)
                raw = data[start : start + length]
                if start + length > len(data):
                    raise IndexError
                val = "ARRAY[" + ", ".join(format(b, "02x") for b in raw) + "]"
            else:
                if f.offset + f.size > len(data) or f.size not in (1, 2, 4, 8):
                    raise IndexError
                v = f.value(data, e)
                base = f.base_type
                if "*" in f.type or base in ("long", "unsigned long"):
                    val = "0x%x" % (v & ((1 << (8 * f.size)) - 1))
                else:
                    val = str(v)
        except (IndexError, ValueError, struct.error):
            val = "?"
        out.append(f"{f.name}={val}")
    return " ".join(out)
