"""The fallback when a print fmt cannot be compiled: ``field=value`` for each field."""

from __future__ import annotations

import struct
from typing import List

from ftop.engine.raw.format import EventFormat
from ftop.engine.raw.print_fmt.env import Env


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
