"""Text from the traced system made safe to show: control characters become visible.

ftop runs as root and shows text that unprivileged users choose: a task's
``comm`` (any process sets its own with ``prctl(PR_SET_NAME)``), paths in
events such as ``sched_process_exec filename=...``, ``trace_marker`` text,
kprobe string fetches, whole files opened with ``ftop FILE``. The kernel does
not escape any of it. Written to a terminal as it is, an escape sequence in a
task name can set root's window title, write to the clipboard (OSC 52), ask the
terminal to answer into root's input, or leave the alternate screen and draw
outside ftop. So every such string is passed through :func:`printable` before
it is measured or drawn: C0 controls, DEL, C1 controls, lone surrogates, and
the invisible Unicode format characters that reorder or hide text (bidi
overrides, zero-width spaces) are replaced by a visible escape such as
``\\x1b`` or ``\\u202e``. Tabs are expanded, so that what is measured is what
is drawn. Everything else, non-ASCII letters included, is left as it is.

This module is pure (no Textual, no Rich): the headless commands use it for a
terminal too, and the UI adds its own last-line guard on top.
"""

from __future__ import annotations

import re
from typing import Match

__all__ = ["UNSAFE", "has_unsafe", "printable", "visible_escape"]

# What may not reach a terminal as it is. Tab (\x09) is handled apart: expanded.
UNSAFE = re.compile(
    "["
    "\x00-\x08\x0a-\x1f"  # C0 controls but tab: ESC, BEL, CR, LF, BS...
    "\x7f-\x9f"  # DEL and the C1 controls (U+009B is CSI to many terminals)
    "\u061c\u180e"  # Arabic letter mark, Mongolian vowel separator
    "\u200b-\u200f"  # zero-width spaces and joiners, LRM/RLM
    "\u2028-\u202e"  # line/paragraph separators, bidi embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\ufff9-\ufffb"  # interlinear annotation controls
    "\ud800-\udfff"  # lone surrogates (bytes kept by surrogateescape)
    "]"
)


def visible_escape(ch: str) -> str:
    """The escape shown for one unsafe character: ``\\x1b``, ``\\u202e``..."""
    cp = ord(ch)
    if 0xDC80 <= cp <= 0xDCFF:
        # A byte that was not UTF-8, kept by the surrogateescape error handler.
        return f"\\x{cp - 0xDC00:02x}"
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}"


def _sub(m: Match[str]) -> str:
    return visible_escape(m.group())


def has_unsafe(text: str) -> bool:
    """True if ``text`` holds anything :func:`printable` would change (tabs aside)."""
    return UNSAFE.search(text) is not None


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control or invisible format character shown as an escape.

    With ``keep_newlines`` a multi-line text (an event's format, an error_log
    entry) keeps its line breaks; each line is made safe on its own. The common
    case (plain trace text) costs one regex scan and returns the same object.
    """
    if keep_newlines and "\n" in text:
        return "\n".join(printable(line) for line in text.split("\n"))
    if "\t" in text:
        text = text.expandtabs(8)
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub(_sub, text)
