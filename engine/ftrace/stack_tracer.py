"""The stack tracer: the deepest kernel stack seen, and the knobs that drive it.

The stack tracer is global to the machine: it is switched by the sysctl
``/proc/sys/kernel/stack_tracer_enabled`` (not by a tracefs file, not per
instance), checks the stack depth in every traced function, and reports the
deepest stack in ``stack_trace`` and its size in ``stack_max_size``. Writing 0
to ``stack_max_size`` resets the maximum; ``stack_trace_filter`` (a function
filter file, see :mod:`ftop.engine.ftrace.filter`) limits which functions it checks.

The enable step is a :class:`~ftop.engine.control.transaction.Change` on the sysctl's
absolute path: ``Tracefs`` joins paths with ``/``, so an absolute ``rel``
addresses the file itself, ``Session.apply`` journals it like any change, and
the session's state snapshot already holds ``stack_tracer_enabled`` for the
restore.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError

__all__ = [
    "GLOBAL_NOTE",
    "STACK_TRACER_SYSCTL",
    "StackFrame",
    "StackHistory",
    "StackTrace",
    "is_enabled",
    "parse_stack_trace",
    "plan_enable",
    "plan_reset_max",
    "read_max_size",
    "read_stack_trace",
]

STACK_TRACER_SYSCTL = "/proc/sys/kernel/stack_tracer_enabled"

#: What a screen should say about the scope of the stack tracer.
GLOBAL_NOTE = (
    "The stack tracer is global to the machine: it is not per instance, and "
    "while it is on every traced kernel function pays for a stack check."
)

_HEAD = re.compile(r"^\s*Depth\s+Size\s+Location\s+\((?P<n>\d+) entries\)")
_ROW = re.compile(
    r"^\s*(?P<idx>\d+)\)\s+(?P<depth>\d+)\s+(?P<size>\d+)\s+"
    r"(?P<func>[^\s+]+)(?:\+0x(?P<off>[0-9a-f]+)/0x(?P<len>[0-9a-f]+))?"
    r"(?:\s+\[(?P<mod>[^\]]+)\])?\s*$"
)


@dataclass(frozen=True)
class StackFrame:
    """One row of ``stack_trace``.

    Attributes:
        index: the row number (0 is the deepest frame, the innermost call).
        depth: bytes of stack in use from the bottom up to and including this frame.
        size: this frame's own size in bytes.
        function: the function name.
        offset: the return address' offset in the function, if printed.
        length: the function's size in bytes, if printed.
        module: the function's module (``""`` for the kernel image).
    """

    index: int
    depth: int
    size: int
    function: str
    offset: Optional[int] = None
    length: Optional[int] = None
    module: str = ""


@dataclass
class StackTrace:
    """The deepest stack the stack tracer has seen.

    Attributes:
        max_size: ``stack_max_size`` in bytes (0 after a reset or before any).
        frames: rows of ``stack_trace``, index 0 first.
        entries: the ``(N entries)`` count from the header.
        enabled: whether the stack tracer was on (from the sysctl; None if unreadable).
        unparsed: lines that were neither header, comment nor row.
    """

    max_size: int = 0
    frames: List[StackFrame] = field(default_factory=list)
    entries: Optional[int] = None
    enabled: Optional[bool] = None
    unparsed: List[str] = field(default_factory=list)


def parse_stack_trace(text: str) -> StackTrace:
    """Parse the ``stack_trace`` file (``max_size`` is left for the caller)."""
    st = StackTrace()
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-----")):
            continue
        m = _HEAD.match(line)
        if m:
            st.entries = int(m.group("n"))
            continue
        m = _ROW.match(line)
        if m is None:
            st.unparsed.append(line)
            continue
        off, ln = m.group("off"), m.group("len")
        st.frames.append(
            StackFrame(
                int(m.group("idx")),
                int(m.group("depth")),
                int(m.group("size")),
                m.group("func"),
                int(off, 16) if off is not None else None,
                int(ln, 16) if ln is not None else None,
                m.group("mod") or "",
            )
        )
    if st.frames:
        st.max_size = st.frames[0].depth
    return st


def is_enabled(path: str = STACK_TRACER_SYSCTL) -> Optional[bool]:
    """Whether the stack tracer is on; None when the sysctl is absent or unreadable."""
    try:
        with open(path) as f:
            return f.read().strip() == "1"
    except OSError:
        return None


def read_max_size(tfs: Tracefs) -> int:
    """``stack_max_size`` in bytes."""
    return int(tfs.top().read("stack_max_size").strip() or "0")


def read_stack_trace(tfs: Tracefs) -> StackTrace:
    """Read ``stack_max_size`` and ``stack_trace`` (always from the top level)."""
    top = tfs.top()
    st = parse_stack_trace(top.read("stack_trace"))
    st.max_size = read_max_size(top)
    st.enabled = is_enabled()
    return st


def plan_enable(on: bool) -> Change:
    """Switch the stack tracer on or off (the sysctl, journaled by Session.apply)."""
    return Change(
        STACK_TRACER_SYSCTL,
        "1" if on else "0",
        describe=f"stack tracer {'on' if on else 'off'} ({STACK_TRACER_SYSCTL})",
    )


def plan_reset_max(value: int = 0) -> Change:
    """Reset the recorded maximum (the kernel then records the next deepest stack)."""
    if value < 0:
        raise ConfigError("stack_max_size cannot be negative")
    return Change("stack_max_size", str(value), describe="reset stack_max_size")


class StackHistory:
    """``stack_max_size`` over time, from polls (call :meth:`poll` on a timer).

    Attributes:
        samples: ``(time, max_size)`` each time the value changed.
    """

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.samples: List[Tuple[float, int]] = []

    def poll(self, tfs: Tracefs, now: Optional[float] = None) -> Optional[int]:
        """Read ``stack_max_size``; return it when it changed since the last poll."""
        value = read_max_size(tfs)
        return self.add(value, now)

    def add(self, value: int, now: Optional[float] = None) -> Optional[int]:
        """Record a value read elsewhere (e.g. by ``Session.poll``)."""
        if self.samples and self.samples[-1][1] == value:
            return None
        self.samples.append((time.time() if now is None else now, value))
        if len(self.samples) > self.limit:
            del self.samples[: len(self.samples) - self.limit]
        return value
