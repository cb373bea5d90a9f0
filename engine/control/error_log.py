"""The kernel's ``error_log`` entries, parsed: what was refused, and where the caret points.

An entry is three lines (kernel/trace/trace.c ``tracing_log_err()``)::

    [   40.896643] trace_kprobe: error: Invalid probed address or symbol
      Command: p:bad no_such_symbol_q
                     ^

:class:`~ftop.engine.errors.TracefsError` already carries the lines a refused
write added; this module turns them into fields a screen can lay out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Union

__all__ = ["ErrorLogEntry", "parse_error_log"]

_HEAD = re.compile(r"^\[\s*(?P<ts>\d+\.\d+)\]\s+(?P<loc>.*?):\s+error:\s+(?P<msg>.*)$")
_COMMAND = re.compile(r"^(?P<pad>\s*Command:\s)(?P<cmd>.*)$")


@dataclass(frozen=True)
class ErrorLogEntry:
    """One refusal the kernel explained.

    Attributes:
        ts: kernel timestamp (seconds since boot).
        location: who refused (``trace_kprobe``, ``event filter parse error``, ``hist:sched:sched_switch``).
        message: why, in the kernel's words.
        command: the text that was refused.
        caret: 0-based position in ``command`` the kernel points at (None if no caret line).
        lines: the entry's lines as the kernel printed them.
    """

    ts: float
    location: str
    message: str
    command: Optional[str]
    caret: Optional[int]
    lines: List[str]

    def __str__(self) -> str:
        return "\n".join(self.lines)


def parse_error_log(text: Union[str, Iterable[str]]) -> List[ErrorLogEntry]:
    """Entries of an ``error_log`` read, or of ``TracefsError.error_log`` lines."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    out: List[ErrorLogEntry] = []
    i = 0
    while i < len(lines):
        m = _HEAD.match(lines[i])
        if m is None:
            i += 1
            continue
        block = [lines[i]]
        command: Optional[str] = None
        caret: Optional[int] = None
        j = i + 1
        if j < len(lines):
            c = _COMMAND.match(lines[j])
            if c is not None:
                command = c.group("cmd")
                block.append(lines[j])
                j += 1
                if j < len(lines) and lines[j].strip() == "^":
                    # The caret line is padded to line up under the command.
                    caret = max(0, lines[j].index("^") - len(c.group("pad")))
                    block.append(lines[j])
                    j += 1
        out.append(
            ErrorLogEntry(
                float(m.group("ts")), m.group("loc"), m.group("msg"), command, caret, block
            )
        )
        i = j
    return out
