"""A fake tracefs whose buffer holds a backlog when ftop starts (the predates tests of
tests/unit and tests/tui). Not a test module; importable as ``predates_util`` (tests/ is
on sys.path, see pilot_util).

The stats files are laid out as the captured tests/fixtures/host-6.18/per_cpu.cpu0.stats.txt;
trace_pipe is a plain file that the text reader reads as it would the kernel's buffer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

from ftop.engine.control.tracefs import Tracefs

TRACE_CLOCK = "[local] global counter uptime perf mono mono_raw boot tai x86-tsc\n"


def stats_text(now: str, entries: int = 100, overrun: int = 0, dropped: int = 0) -> str:
    # The layout of tests/fixtures/host-6.18/per_cpu.cpu0.stats.txt.
    return (
        f"entries: {entries}\noverrun: {overrun}\ncommit overrun: 0\nbytes: 4096\n"
        f"oldest event ts:  1555.205423\nnow ts:  {now}\ndropped events: {dropped}\n"
        "read events: 0\n"
    )


def fake_tracefs(
    root: Path, backlog: List[str], now: str, clock: str = TRACE_CLOCK, overrun: int = 0
) -> Tracefs:
    """A tracefs whose trace_pipe is a plain file holding ``backlog`` (the reader reads it
    as the kernel's buffer), two CPUs whose stats say "now" is ``now``."""
    files: Dict[str, str] = {
        "current_tracer": "nop\n",
        "available_tracers": "blk function nop\n",
        "tracing_on": "1\n",
        "trace_clock": clock,
        "buffer_size_kb": "7 (expanded: 1408)\n",
        "set_event": "",
        "trace": "",
        "trace_pipe": "\n".join(backlog) + "\n",
        "options/overwrite": "1\n",
        "options/latency-format": "0\n",
        "options/context-info": "1\n",
        "events/enable": "0\n",
    }
    for cpu in (0, 1):
        # The backlog's entries all on cpu0 (only their total matters here).
        entries = len(backlog) if cpu == 0 else 0
        files[f"per_cpu/cpu{cpu}/stats"] = stats_text(now, entries, overrun=overrun)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "instances").mkdir()
    return Tracefs(root)
