"""A C expression compiled to Python code, with its C type and, when known at
compile time, its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftop.engine.raw.print_fmt.ctype import PTR, CType


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
