"""The few non-ASCII glyphs ftop draws, and their stand-ins for the Linux console.

The Linux virtual console (``TERM=linux``) draws with a 256- or 512-glyph font
close to CP437: box drawing (``│``), the full and half blocks (``█ ▌``) and the
Latin-1 middle dot (``·``) are there; the eighth blocks, ``● ○ ▸ ▾ ⏎ ⚑ ↓ …`` are
not and show as a diamond or a blank. The app picks the set once at start
(:func:`select`, from ``TERM``); views ask :func:`glyphs` when they draw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

from textual.scrollbar import ScrollBar, ScrollBarRender

__all__ = ["ASCII", "UNICODE", "Glyphs", "glyphs", "is_console", "select"]


@dataclass(frozen=True)
class Glyphs:
    """One set of glyphs.

    Attributes:
        on, off: a switch's state, before the word "on"/"off".
        ellipsis: text cut short.
        full: a full bar cell.
        eighths: the last cell of a bar, 1/8 to 7/8 full (7 characters).
        expanded, collapsed: a group row's fold marker.
        flag: a trigger is attached.
        down: the Down key in a hint.
        enter: the Enter key in a hint or the footer.
        spark: a sparkline's bars, lowest to highest (8 characters).
        refused: a tracer this kernel or instance refuses.
        arrow: caller -> callee in a call path.
        slow: a call slower than the rest.
        delta: the time between two marks.
        sideways: the Left and Right keys in a hint.
        bullet: a list item.
    """

    on: str
    off: str
    ellipsis: str
    full: str
    eighths: str
    expanded: str
    collapsed: str
    flag: str
    down: str
    enter: str
    spark: str
    refused: str
    arrow: str
    slow: str
    delta: str
    sideways: str
    bullet: str


UNICODE = Glyphs(
    on="●",
    off="○",
    ellipsis="…",
    full="█",
    eighths="▏▎▍▌▋▊▉",
    expanded="▾",
    collapsed="▸",
    flag="⚑",
    down="↓",
    enter="⏎",
    spark="▁▂▃▄▅▆▇█",
    refused="✗",
    arrow="→",
    slow="▲",
    delta="Δ",
    sideways="←→",
    bullet="•",
)

# CP437 has the full block and the left half block only: under half a cell is
# left out, half or more draws the half block.
ASCII = Glyphs(
    on="*",
    off="o",
    ellipsis="...",
    full="█",
    eighths="   ▌▌▌▌",
    expanded="v",
    collapsed=">",
    flag="!",
    down="Down",
    enter="Enter",
    # CP437's lower half block and full block: three steps instead of eight.
    spark="__▄▄▄▄██",
    refused="x",
    arrow="->",
    slow="^",
    delta="dt",
    sideways="Left/Right",
    bullet="-",
)

_current = UNICODE


def is_console(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether the terminal is the Linux virtual console (its font lacks most glyphs)."""
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    return term == "linux" or term.startswith("linux-")


class ConsoleScrollBarRender(ScrollBarRender):
    """Scrollbars without the eighth blocks: the thumb moves by whole cells."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def select(environ: Optional[Mapping[str, str]] = None) -> Glyphs:
    """Choose the set for this terminal (the app calls it once at start); returns it.

    Textual draws its scrollbars with eighth blocks too: on the console they get a
    renderer without them (a class setting, as Textual documents for ScrollBar).
    """
    global _current
    _current = ASCII if is_console(environ) else UNICODE
    ScrollBar.renderer = ConsoleScrollBarRender if _current is ASCII else ScrollBarRender
    return _current


def glyphs() -> Glyphs:
    """The set in use."""
    return _current
