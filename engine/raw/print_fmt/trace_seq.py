"""Run-time counterparts of ``kernel/trace/trace_output.c``'s ``trace_print_*_seq``
helpers (``__print_flags``, ``__print_symbolic``, ``__print_hex``,
``__print_array``) and of the bitmap printing behind ``__get_bitmask`` and ``%pb``.
"""

from __future__ import annotations

import struct
from typing import Dict, List, Sequence, Tuple

from ftop.engine.raw.print_fmt.env import Env


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
