"""Shared pieces of the engine's lab tests: a journaled Session that must leave
tracefs exactly as it found it, and a little kernel work to trace.

Not a test module (no ``test_`` prefix); the lab test files import from it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, Iterator

import pytest
from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs

TRACEFS = Path("/sys/kernel/tracing")


# What these tests change. A full ftop snapshot also reads ~2,000 events'
# filter and trigger files, which takes seconds under emulation; event filters
# and triggers are covered by the tier-wide check in conftest.py.
WATCHED = (
    "current_tracer",
    "tracing_on",
    "trace_clock",
    "buffer_size_kb",
    "tracing_cpumask",
    "tracing_thresh",
    "tracing_max_latency",
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
    "max_graph_depth",
    "set_ftrace_pid",
    "set_event",
    "kprobe_events",
    "uprobe_events",
    "stack_max_size",
    "stack_trace_filter",
)
SYSCTL = Path("/proc/sys/kernel/stack_tracer_enabled")


def light_state() -> Dict[str, str]:
    """The tracefs state these tests touch, as raw text."""
    state = {name: raw(name) for name in WATCHED if (TRACEFS / name).exists()}
    for opt in sorted((TRACEFS / "options").iterdir()):
        state[f"options/{opt.name}"] = opt.read_text()
    state["instances/"] = " ".join(sorted(p.name for p in (TRACEFS / "instances").iterdir()))
    state[str(SYSCTL)] = SYSCTL.read_text()
    return state


@pytest.fixture(name="session")
def session_fixture(tmp_path: Path) -> Iterator[Session]:
    """A Session on the top level; on the way out it restores, and every file the
    tests touch must then read exactly as before the test."""
    before = light_state()
    sess = Session(Tracefs(TRACEFS), journal_dir=tmp_path / "journal")
    try:
        yield sess
    finally:
        report = sess.restore()
        after = light_state()
        changed = {
            k: (before.get(k), after.get(k)) for k in before if before.get(k) != after.get(k)
        }
        assert not changed, (changed, report.errors if report else None)


def kernel_reads(n: int = 20) -> None:
    """vfs_read/vfs_open/do_sys_openat2 calls in this very process."""
    for _ in range(n):
        with open("/proc/version", "rb") as f:
            f.read()


def raw(rel: str) -> str:
    return (TRACEFS / rel).read_text()


def raw_write(rel: str, value: str, append: bool = False) -> None:
    """Cleanup path independent of the engine (one word per write(2), as the kernel takes it)."""
    fd = os.open(TRACEFS / rel, os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    try:
        data = (value + "\n").encode()
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


REPO = Path(__file__).resolve().parents[2]


def deep_work() -> None:
    """File reads over the guest's 9p root go deep (9p, virtio, overlay, mm)."""
    subprocess.run(
        ["sh", "-c", f"cat {REPO}/engine/*/*.py > /dev/null; ls -R /proc/sys > /dev/null"],
        check=False,
        timeout=60,
    )
