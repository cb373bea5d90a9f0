"""Exact counts the kernel keeps itself: the function profiler and hist triggers.

The dashboard's own figures come from the lines ftop reads, and a flood that
outruns the reader (or the ring buffer) loses some. Where the kernel can
count in place, every hit is counted:

* the function profiler (``function_profile_enabled``, top level only; one
  ``trace_stat/functionN`` table per CPU: hits, and time where the graph
  tracer is built in) counts every traced function call;
* a hist trigger on an event (``hist:keys=common_pid.execname``) counts its
  every hit per task; its ``hist`` file's ``Totals: Hits:`` is the event's
  exact count.

Both are ordinary tracefs writes made through the session (journaled; the
profiler's switch and the triggers are part of the restored state), and both
are turned off again by :func:`plan_counts_off`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.control.transaction import Change

__all__ = [
    "HIST_SPEC",
    "ExactCounts",
    "counts_unavailable",
    "parse_function_stat",
    "parse_hist",
    "plan_counts_off",
    "plan_counts_on",
    "read_counts",
]

# Per task, biggest first; a table large enough for a busy box's tasks.
HIST_SPEC = "hist:keys=common_pid.execname:vals=hitcount:sort=hitcount.descending:size=8192"

_STAT_ROW = re.compile(r"^\s+(\S+)\s+(\d+)(?:\s+([\d.]+) us)?")
_HIST_ROW = re.compile(r"^\{ common_pid: (.*?)\s*\[\s*(\d+)\] \}\s+hitcount:\s+(\d+)", re.M)
_HITS = re.compile(r"^\s*Hits:\s*(\d+)", re.M)
_DROPPED = re.compile(r"^\s*Dropped:\s*(\d+)", re.M)


@dataclass
class ExactCounts:
    """One read of what the kernel counted."""

    functions: List[Tuple[str, int, Optional[float]]] = field(default_factory=list)
    events: List[Tuple[str, int]] = field(default_factory=list)  # "system:event", hits
    tasks: List[Tuple[str, int]] = field(default_factory=list)  # "comm-pid", hits
    dropped: int = 0  # hits a full hist table could not keep
    sources: List[str] = field(default_factory=list)


def parse_function_stat(text: str) -> Dict[str, Tuple[int, Optional[float]]]:
    """One ``trace_stat/functionN``: function -> (hits, total time in us or None)."""
    out: Dict[str, Tuple[int, Optional[float]]] = {}
    for line in text.splitlines():
        if "Function" in line or line.strip().startswith("-"):
            continue
        m = _STAT_ROW.match(line)
        if m:
            out[m.group(1)] = (int(m.group(2)), float(m.group(3)) if m.group(3) else None)
    return out


def parse_hist(text: str) -> Tuple[Dict[Tuple[str, int], int], int, int]:
    """An event's ``hist`` file for :data:`HIST_SPEC`: ((comm, pid) -> hits, total
    hits, dropped)."""
    rows = {
        (m.group(1).strip(), int(m.group(2))): int(m.group(3)) for m in _HIST_ROW.finditer(text)
    }
    hits = sum(int(x) for x in _HITS.findall(text))
    dropped = sum(int(x) for x in _DROPPED.findall(text))
    return rows, hits, dropped


def counts_unavailable(tfs: Tracefs, tracer: str, events: Sequence[str]) -> Optional[str]:
    """None when something can be counted exactly here, else why not."""
    why = []
    if tracer in ("function", "function_graph"):
        if tfs.instance is not None:
            why.append("the function profiler counts at the top level only, not in an instance")
        elif tfs.exists("function_profile_enabled"):
            return None
        else:
            why.append("no function profiler in this kernel (function_profile_enabled)")
    if events:
        first = events[0]
        if tfs.exists(f"events/{first}/hist"):
            return None
        why.append("no hist triggers in this kernel (CONFIG_HIST_TRIGGERS)")
    if not why:
        why.append("nothing traced to count: enable events or a function tracer")
    return "; ".join(why)


def plan_counts_on(tfs: Tracefs, tracer: str, events: Sequence[str]) -> List[Change]:
    """The writes that start exact counting for what is traced now."""
    changes: List[Change] = []
    if (
        tracer in ("function", "function_graph")
        and tfs.instance is None
        and tfs.exists("function_profile_enabled")
    ):
        changes.append(Change("function_profile_enabled", "1"))
    for ev in events:
        if tfs.exists(f"events/{ev}/hist"):
            changes.append(Change(f"events/{ev}/trigger", HIST_SPEC, append=True))
    return changes


def plan_counts_off(tfs: Tracefs, events: Sequence[str], profiler: bool) -> List[Change]:
    changes: List[Change] = []
    if profiler and tfs.instance is None and tfs.exists("function_profile_enabled"):
        changes.append(Change("function_profile_enabled", "0"))
    for ev in events:
        changes.append(Change(f"events/{ev}/trigger", "!" + HIST_SPEC, append=True))
    return changes


def read_counts(
    tfs: Tracefs, events: Sequence[str], profiler: bool, top_n: int = 50
) -> ExactCounts:
    out = ExactCounts()
    if profiler:
        funcs: Dict[str, Tuple[int, Optional[float]]] = {}
        for name in list_dir(tfs, "trace_stat"):
            if not name.startswith("function"):
                continue
            for fn, (hits, t) in parse_function_stat(
                tfs.read_or(f"trace_stat/{name}") or ""
            ).items():
                old_hits, old_t = funcs.get(fn, (0, None))
                total_t = (old_t or 0.0) + t if t is not None else old_t
                funcs[fn] = (old_hits + hits, total_t)
        out.functions = sorted(((f, h, t) for f, (h, t) in funcs.items()), key=lambda r: -r[1])[
            :top_n
        ]
        out.sources.append("function profiler")
    tasks: Dict[str, int] = {}
    for ev in events:
        text = tfs.read_or(f"events/{ev}/hist")
        if not text or HIST_SPEC.split(":")[1] not in text:
            continue
        rows, hits, dropped = parse_hist(text)
        out.events.append((ev.replace("/", ":"), hits))
        out.dropped += dropped
        for (comm, pid), n in rows.items():
            key = f"{comm}-{pid}"
            tasks[key] = tasks.get(key, 0) + n
    if out.events:
        out.sources.append("hist triggers")
    out.events.sort(key=lambda r: -r[1])
    out.tasks = sorted(tasks.items(), key=lambda r: -r[1])[:top_n]
    return out
