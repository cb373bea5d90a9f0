"""What a compiled print fmt needs from outside the record (:class:`Env`), and its type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Env:
    """What rendering needs from outside the record."""

    # (address, with_offset) -> what %ps (False) / %pS (True) print
    symbol: Callable[[int, bool], str]
    long_size: int = 8
    endian: str = "<"


Renderer = Callable[[bytes, Env], str]
