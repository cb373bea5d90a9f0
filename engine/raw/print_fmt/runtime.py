"""The namespace the generated code runs in: every helper it calls, by the name it
uses, and C's truncating signed division.
"""

from __future__ import annotations

import struct
from typing import Any, Dict

from ftop.engine.raw.print_fmt.pointers import _hexdump, _ip, _mac, _uuid
from ftop.engine.raw.print_fmt.printf import _cstr, _cstr_b, _num, _pad, _prec
from ftop.engine.raw.print_fmt.trace_seq import (
    _array_seq,
    _bitmap_hex,
    _bitmap_int,
    _bitmap_list,
    _flags_seq,
    _hex_seq,
    _symbolic,
)

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
