"""wakeup_rt on the real 6.1-rt kernel: the max-latency report parsed, reset, threshold."""

from __future__ import annotations

import subprocess

import pytest
from engine_lab import raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change
from ftop.engine.ftrace.latency import (
    LatencyMonitor,
    available,
    plan_reset_max,
    plan_thresh,
    read_max_latency,
    read_report,
    read_thresh,
)
from ftop.engine.ftrace.options import plan_option

pytestmark = [pytest.mark.lab, pytest.mark.timeout(150)]


def test_wakeup_rt_header_reset_and_thresh(session: Session) -> None:
    assert {"wakeup", "wakeup_rt", "wakeup_dl"} <= set(available(session.tfs))
    before_max = raw("tracing_max_latency").strip()
    mon = LatencyMonitor()
    mon.poll(session.tfs)
    # function-trace off keeps the tracer cheap under emulation (and reading safe).
    session.apply(
        [
            plan_option("function-trace", False),
            plan_reset_max(),
            Change("current_tracer", "wakeup_rt"),
        ]
    )
    for _ in range(5):
        subprocess.run(["chrt", "-f", "50", "sleep", "0.01"], check=True, timeout=20)
    new = mon.poll(session.tfs)
    assert new is not None and new.latency_us > 0 and new.tracer == "wakeup_rt"
    rep = new.report
    assert rep is not None and rep.tracer == "wakeup_rt" and rep.latency_us
    # The report and tracing_max_latency agree (read again if a new maximum came between).
    for _ in range(3):
        first = read_max_latency(session.tfs)
        rep = read_report(session.tfs)
        last = read_max_latency(session.tfs)
        if first == last:
            break
    assert rep.latency_us == last and last
    assert rep.task_comm and rep.task_pid and rep.policy is not None and rep.rt_prio is not None
    assert rep.cpu is not None and rep.preempt_model == "preempt_rt"
    assert rep.stacks and rep.stacks[0]
    # With no latency tracer running, a reset stays at 0.
    session.apply([Change("current_tracer", "nop"), plan_reset_max()])
    assert read_max_latency(session.tfs) == 0
    session.apply([plan_thresh(100)])
    assert read_thresh(session.tfs) == 100
    session.apply([Change("tracing_max_latency", before_max)])
