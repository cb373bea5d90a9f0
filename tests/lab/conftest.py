"""The `lab` tier: tests that run inside the kernel-lab guest (scripts/kernel-lab).

They drive a real Debian PREEMPT_RT kernel's tracefs (function, function_graph,
latency tracers, stack tracer, kprobes), which the build machine's own kernel
does not have. scripts/kernel-lab sets FTOP_LAB=1 in the guest; anywhere else
every test here is skipped, so the normal test command stays safe to run on a
developer's machine (these tests write to tracefs freely).

The guest is ephemeral, but the tier still leaves tracefs as it found it: the
session-wide `tracefs_untouched` fixture compares a dump of the state at the
start and at the end, so a test that forgets to restore something fails the run.
"""

import os
import re
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

IN_LAB = os.environ.get("FTOP_LAB") == "1"
SKIP_REASON = "lab tier: runs only inside the kernel-lab guest (FTOP_LAB=1); use scripts/kernel-lab"
HERE = Path(__file__).resolve().parent
TRACEFS = Path("/sys/kernel/tracing")

# Files whose content is tracing state a test might change. error_log is left
# out on purpose: tests provoke errors there, and clearing it is not "restoring".
STATE_FILES = [
    "current_tracer",
    "tracing_on",
    "trace_options",
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
    "set_ftrace_notrace_pid",
    "set_event",
    "set_event_pid",
    "set_event_notrace_pid",
    "kprobe_events",
    "uprobe_events",
    "dynamic_events",
    "synthetic_events",
    "stack_max_size",
    "stack_trace_filter",
]
PROC_FILES = ["/proc/sys/kernel/stack_tracer_enabled", "/proc/sys/kernel/ftrace_enabled"]


def pytest_report_header(config: pytest.Config) -> List[str]:
    if IN_LAB:
        return [f"lab tier: inside the kernel-lab guest, kernel {os.uname().release}"]
    return [SKIP_REASON]


# A test's timeout here guards against a hung kernel, not a slow one. The guest is
# emulated (single-threaded TCG) and shares the host's 2 cores with a second guest
# (scripts/test runs two side by side), so every limit gets twice the room.
TIMEOUT_SCALE = 2.0


def _scale_timeouts(config: pytest.Config, items: List[pytest.Item]) -> None:
    default = float(config.getini("timeout") or 0)
    for item in items:
        if HERE not in item.path.parents:
            continue
        mark = item.get_closest_marker("timeout")
        base = default
        if mark is not None:
            base = float(mark.args[0] if mark.args else mark.kwargs.get("timeout", default))
        if base > 0:
            # append=False: the item's own first marker is the closest, the one
            # pytest-timeout reads.
            item.add_marker(pytest.mark.timeout(base * TIMEOUT_SCALE), append=False)


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if IN_LAB:
        _scale_timeouts(config, items)
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        # This hook sees the whole session's items; only touch ours.
        if HERE in item.path.parents:
            item.add_marker(skip)


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:  # e.g. EPERM on a file the kernel refuses to show
        return f"<{type(e).__name__}: {e.strerror}>"


def dump_state() -> Dict[str, str]:
    """A full snapshot of the tracefs state the lab tier may touch."""
    state: Dict[str, str] = {}
    for name in STATE_FILES:
        p = TRACEFS / name
        if p.exists():
            state[name] = read(p)
    for name in PROC_FILES:
        state[name] = read(Path(name))
    state["options/"] = "".join(
        f"{p.name}={read(p)}" for p in sorted((TRACEFS / "options").iterdir())
    )
    state["instances/"] = " ".join(sorted(p.name for p in (TRACEFS / "instances").iterdir()))
    # Per-event filters and triggers: only the ones set (defaults are noise).
    for event in sorted((TRACEFS / "events").glob("*/*/")):
        f = read(event / "filter") if (event / "filter").exists() else "none\n"
        if f.strip() != "none":
            state[f"{event.relative_to(TRACEFS)}/filter"] = f
        if (event / "trigger").exists():
            t = [ln for ln in read(event / "trigger").splitlines() if not ln.startswith("#")]
            if t:
                state[f"{event.relative_to(TRACEFS)}/trigger"] = "\n".join(t)
    return state


def expand_ring_buffer() -> None:
    """Do up front the one change the kernel makes irreversibly on first use.

    Right after boot the ring buffer is unexpanded and buffer_size_kb reads
    `7 (expanded: 1408)`; the first tracer or event switched on expands it for
    good, and it then reads `1410` (1408 KB rounded up to whole data pages).
    Nothing can put the unexpanded state back (writing `7` would really shrink
    the buffer to 7 KB), so expand it before the "before" dump.
    """
    text = (TRACEFS / "buffer_size_kb").read_text()
    m = re.search(r"\(expanded: (\d+)\)", text)
    if m:
        (TRACEFS / "buffer_size_kb").write_text(m.group(1) + "\n")


@pytest.fixture(scope="session", autouse=True)
def tracefs_untouched() -> Iterator[Dict[str, str]]:
    """Fail the run if the tier leaves the guest's tracefs different from boot."""
    if not IN_LAB:
        yield {}
        return
    assert (TRACEFS / "available_tracers").exists(), f"tracefs not mounted at {TRACEFS}"
    expand_ring_buffer()
    before = dump_state()
    yield before
    after = dump_state()
    changed = {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys()}
    changed = {k: v for k, v in changed.items() if v[0] != v[1]}
    assert not changed, "tracefs state differs after the lab tier:\n" + "\n".join(
        f"  {k}: {b!r} -> {a!r}" for k, (b, a) in sorted(changed.items())
    )
