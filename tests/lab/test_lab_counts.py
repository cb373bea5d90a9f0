"""Exact counts the 6.1-rt kernel keeps: a hist trigger per enabled event and the
function profiler, started and stopped through the session; the session
fixture then checks that every file reads as before."""

from __future__ import annotations

import os

import pytest
from engine_lab import kernel_reads, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change
from ftop.engine.ftrace.counts import (
    HIST_SPEC,
    counts_unavailable,
    plan_counts_off,
    plan_counts_on,
    read_counts,
)
from ftop.engine.ftrace.filter import plan_set

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]


def test_hist_triggers_count_every_hit_per_event_and_task(session: Session) -> None:
    events = ["syscalls/sys_enter_openat", "sched/sched_switch"]
    session.apply([Change(f"events/{e}/enable", "1") for e in events] + [Change("tracing_on", "1")])
    assert counts_unavailable(session.tfs, "nop", events) is None
    session.apply(plan_counts_on(session.tfs, "nop", events))
    assert HIST_SPEC.split(":")[1] in raw("events/syscalls/sys_enter_openat/trigger")
    kernel_reads(25)  # 25 opens of /proc/version in this process, at least
    counts = read_counts(session.tfs, events, profiler=False)
    by_event = dict(counts.events)
    assert by_event["syscalls:sys_enter_openat"] >= 25
    me = f"-{os.getpid()}"
    assert any(task.endswith(me) and n >= 25 for task, n in counts.tasks), counts.tasks[:5]
    assert "hist triggers" in counts.sources
    session.apply(plan_counts_off(session.tfs, events, profiler=False))
    assert "hist:" not in raw("events/syscalls/sys_enter_openat/trigger")


def test_the_function_profiler_counts_the_traced_functions_or_is_said_missing(
    session: Session,
) -> None:
    if not session.tfs.exists("function_profile_enabled"):
        # Debian's 6.1-rt is built without CONFIG_FUNCTION_PROFILER: ftop says so and
        # plans no write for it.
        why = counts_unavailable(session.tfs, "function", [])
        assert why is not None and "no function profiler" in why, why
        assert plan_counts_on(session.tfs, "function", []) == []
        return
    session.apply(
        [*plan_set("set_ftrace_filter", ["vfs_read"]), Change("current_tracer", "function")]
    )
    session.apply(plan_counts_on(session.tfs, "function", []))
    assert raw("function_profile_enabled").strip() == "1"
    kernel_reads(30)
    counts = read_counts(session.tfs, [], profiler=True)
    hits = {name: n for name, n, _t in counts.functions}
    assert hits.get("vfs_read", 0) >= 30, counts.functions[:5]
    session.apply(plan_counts_off(session.tfs, [], profiler=True))
    assert raw("function_profile_enabled").strip() == "0"
