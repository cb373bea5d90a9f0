"""printf-style formatting as ``lib/vsprintf.c`` does it: the format string split
into literals and conversions, and the run-time helpers for what Python's ``%``
cannot do itself (``number()`` with a precision, C strings, padding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, List, Optional

from ftop.engine.raw.print_fmt.errors import Unsupported


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
