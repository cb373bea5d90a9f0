"""``trace_printk()`` records (ftrace/bprint): a format string's address and its
arguments packed in binary, rendered as ``trace`` renders them.

The kernel does not format a trace_printk at the call: ``vbin_printf()``
(lib/vsprintf.c) packs the arguments into the record's ``buf``, and the reader's
``bstr_printf()`` formats them with the format string, which ``printk_formats``
lists by address. The packing, argument by argument:

* an integer is stored in its C type's size (``hh`` 1, ``h`` 2, none 4, ``l``/``z``
  a long, ``ll`` 8) at an offset aligned to that size, 8-byte ones to 4;
* a ``*`` width or precision is an ``int``; ``%c`` a ``char``;
* ``%s`` is the string itself, its NUL included, unaligned;
* ``%pS``/``%ps``/``%pF``/``%pf``/``%px``/``%pK``/``%pe`` keep the pointer (a long);
  any other ``%p`` extension is formatted at the call and stored as a string;
  a plain ``%p`` would be printed hashed, which a reader cannot reproduce.

What cannot be rendered raises :class:`Unsupported` (the event is then shown as
its raw fields and counted as "rendered raw").
"""

from __future__ import annotations

from typing import Callable, Literal

from ftop.engine.raw.print_fmt.errors import Unsupported
from ftop.engine.raw.print_fmt.printf import _Conv, _num, _pad, _split_format

__all__ = ["render_bprint"]

_SIZES = {"hh": 1, "h": 2, "": 4, "ll": 8, "L": 8, "j": 8}


def render_bprint(
    fmt: str,
    buf: bytes,
    symbol: Callable[[int, bool], str],
    long_size: int = 8,
    endian: str = "<",
) -> str:
    """The text of one trace_printk: ``fmt`` from printk_formats, ``buf`` the record's
    packed arguments, ``symbol(addr, with_offset)`` for ``%pS``-like conversions."""
    order: Literal["little", "big"] = "little" if endian == "<" else "big"
    pos = 0

    def take(size: int, signed: bool = False) -> int:
        nonlocal pos
        align = 4 if size == 8 else size
        pos = (pos + align - 1) // align * align
        if pos + size > len(buf):
            raise Unsupported("trace_printk arguments shorter than the format")
        v = int.from_bytes(buf[pos : pos + size], order, signed=signed)
        pos += size
        return v

    def string() -> bytes:
        nonlocal pos
        end = buf.find(b"\0", pos)
        if end < 0:
            raise Unsupported("trace_printk string without its NUL")
        s = buf[pos:end]
        pos = end + 1
        return s

    out = bytearray()
    for part in _split_format(fmt.encode("utf-8", "surrogateescape")):
        if isinstance(part, bytes):
            out += part
            continue
        c: _Conv = part
        width = take(4, True) if c.width == -1 else (c.width or 0)
        prec = take(4, True) if c.prec == -1 else (-1 if c.prec is None else c.prec)
        left = "-" in c.flags
        if c.conv == "s":
            s = string()
            out += _pad(s[:prec] if prec >= 0 else s, width, left)
        elif c.conv == "c":
            out += _pad(bytes([take(1)]), width, left)
        elif c.conv == "p":
            kind = c.ext[:1]
            if kind in ("S", "s", "F", "f"):
                out += symbol(take(long_size), kind in ("S", "F")).encode()
            elif kind == "x":
                v = take(long_size)
                out += _num(v, 16, "0", width or 2 * long_size, -1, False, False)
            elif kind and kind.isalnum() and kind not in ("K", "e"):
                out += _pad(string(), width, left)
            else:
                raise Unsupported(f"%p{c.ext} (printed hashed or by the kernel only)")
        else:
            size = long_size if c.qual in ("l", "z", "Z", "t") else _SIZES.get(c.qual)
            if size is None:
                raise Unsupported(f"qualifier {c.qual!r}")
            signed = c.conv in "di"
            v = take(size, signed)
            base = 8 if c.conv == "o" else (16 if c.conv in "xX" else 10)
            out += _num(v, base, c.flags, width, prec, c.conv == "X", signed)
    return out.decode("utf-8", "surrogateescape")
