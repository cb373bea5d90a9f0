"""Latency tracers (ftop.engine.ftrace.latency): real wakeup reports, reset, monitor."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from captures import lab_text
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import ConfigError
from ftop.engine.ftrace.latency import (
    LatencyMonitor,
    available,
    plan_reset_max,
    plan_thresh,
    read_max_latency,
    read_report,
)


class RecordingTracefs(Tracefs):
    """A tracefs on plain files that remembers what was written, in order."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: List[tuple] = []

    def write(self, rel: str, value: str, append: bool = False) -> None:
        self.writes.append((rel, value))
        super().write(rel, value, append)


def make(tmp_path: Path, trace: str, tracer: str = "wakeup_rt", on: str = "1") -> RecordingTracefs:
    files = {
        "trace": trace,
        "tracing_on": on + "\n",
        "current_tracer": tracer + "\n",
        "tracing_max_latency": "0\n",
        "tracing_thresh": "0\n",
        "available_tracers": "timerlat osnoise hwlat blk mmiotrace function_graph wakeup_dl wakeup_rt wakeup function nop\n",
    }
    for k, v in files.items():
        (tmp_path / k).write_text(v)
    return RecordingTracefs(tmp_path)


@pytest.mark.parametrize("tracer", ["wakeup", "wakeup_rt", "wakeup_dl"])
def test_real_wakeup_report_is_parsed(tmp_path: Path, tracer: str) -> None:
    text = lab_text(f"{tracer}.trace.txt")
    tfs = make(tmp_path, text, tracer)
    rep = read_report(tfs)
    assert rep.tracer == tracer
    assert rep.latency_us is not None and rep.latency_us >= 0
    assert rep.task_pid is not None and rep.task_comm
    assert rep.cpu is not None
    if rep.latency_us:
        recorded = int(lab_text(f"{tracer}.tracing_max_latency.txt"))
        assert rep.latency_us == recorded
        assert rep.stacks and rep.stacks[0]


def test_report_read_pauses_tracing_and_restores_it(tmp_path: Path) -> None:
    tfs = make(tmp_path, "# tracer: wakeup\n")
    read_report(tfs)
    assert tfs.writes == [("tracing_on", "0"), ("tracing_on", "1")]
    tfs2 = make(tmp_path, "# tracer: wakeup\n", on="0")
    read_report(tfs2)
    assert tfs2.writes == []  # already off: left off


def test_monitor_keeps_new_maxima_only(tmp_path: Path) -> None:
    tfs = make(
        tmp_path,
        "# tracer: wakeup_rt\n#\n# latency: 120 us, #3/3, CPU#1 | (M:preempt_rt VP:0, KP:0, SP:0 HP:0 #P:2)\n",
    )
    mon = LatencyMonitor()
    lat = tmp_path / "tracing_max_latency"
    seen = []
    for value in (0, 120, 120, 90, 0, 150, 300):
        lat.write_text(f"{value}\n")
        got = mon.poll(tfs, now=float(value))
        seen.append(got.latency_us if got else None)
    # 90 and 0 are resets (someone wrote 0); 150 is a new maximum after the reset.
    assert seen == [None, 120, None, None, None, 150, 300]
    assert [m.latency_us for m in mon.history] == [120, 150, 300]
    assert mon.history[0].report is not None and mon.history[0].report.latency_us == 120
    assert read_max_latency(tfs) == 300


def test_plans_and_available(tmp_path: Path) -> None:
    tfs = make(tmp_path, "")
    assert available(tfs) == ["wakeup", "wakeup_rt", "wakeup_dl"]
    assert (plan_reset_max().rel, plan_reset_max().value) == ("tracing_max_latency", "0")
    assert (plan_thresh(100).rel, plan_thresh(100).value) == ("tracing_thresh", "100")
    with pytest.raises(ConfigError):
        plan_thresh(-1)
