"""Each phase of restore on its own, on the fake tracefs of test_control.

A phase compares the snapshot taken when the restore starts with the target and
writes only what differs (and, given ``touched``, only what ftop wrote). Every
test checks the files themselves: which changed, and to what.
"""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from ftop.engine.control import state as state_mod
from ftop.engine.control.state import State, _Restorer, _widen_touched, restore, snapshot
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import TracefsError
from test_control import make_fake_tracefs


def tree(root: Path) -> Dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def changed(before: Dict[str, str], root: Path) -> Dict[str, Optional[str]]:
    """Files whose content differs from ``before`` (None: the file is gone)."""
    after = tree(root)
    return {
        rel: after.get(rel)
        for rel in sorted(set(before) | set(after))
        if before.get(rel) != after.get(rel)
    }


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def target_from(tfs: Tracefs, **changes: Any) -> State:
    """The fake's current state with ``changes``: what restore should put back."""
    return dataclasses.replace(snapshot(tfs), **changes)


def run_phase(
    tfs: Tracefs, target: State, phase: str, **kw: Any
) -> tuple[_Restorer, Dict[str, Optional[str]]]:
    r = _Restorer(tfs, target, **kw)
    before = tree(tfs.root)
    getattr(r, phase)()
    assert r.report.errors == [], "the fake refuses nothing a phase should write"
    return r, changed(before, tfs.root)


PHASES = [
    "remove_function_triggers",
    "event_triggers",
    "tracer",
    "function_filters",
    "add_function_triggers",
    "pids",
    "disable_events",
    "event_filters",
    "enable_events",
    "scalars",
    "buffer_size",
    "options",
    "stack_tracer",
    "stack_trace_filter",
    "probes",
    "instances",
    "tracing_on",
]


@pytest.fixture
def sysctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """stack_tracer_enabled as a plain file, so no test touches the machine's."""
    p = tmp_path / "stack_tracer_enabled"
    p.write_text("0\n")
    monkeypatch.setattr(state_mod, "STACK_TRACER_SYSCTL", str(p))
    return p


@pytest.fixture
def rich(tmp_path: Path, sysctl: Path) -> Tracefs:
    """The fake with something in every file a phase reads."""
    root = tmp_path / "tracefs"
    tfs = make_fake_tracefs(root)
    write(root, "set_ftrace_filter", "schedule\na:traceoff:unlimited\n")
    write(root, "set_graph_function", "vfs_read\n")
    write(root, "set_ftrace_pid", "no pid\n")
    write(root, "set_event_pid", "7\n")
    write(root, "set_event", "sched:sched_switch\n")
    write(root, "events/sched/sched_switch/enable", "1\n")
    write(root, "events/sched/sched_switch/trigger", "traceon:count=5\n")
    write(root, "events/sched/sched_switch/filter", "prev_pid == 1\n")
    write(root, "stack_trace_filter", "schedule\n")
    write(root, "kprobe_events", "p:kprobes/mine do_exit\n")
    write(root, "events/kprobes/mine/enable", "1\n")
    (root / "instances" / "ftop_a").mkdir()
    return tfs


@pytest.mark.parametrize("phase", PHASES)
def test_a_phase_writes_nothing_when_nothing_differs(rich: Tracefs, phase: str) -> None:
    r, diff = run_phase(
        rich,
        snapshot(rich),
        phase,
        created_instances=["ftop_a"],
        created_probes={"kprobe_events": ["p:kprobes/mine do_exit"]},
    )
    assert r.report.writes == [] and r.report.errors == []
    assert diff == {}


def test_touched_widens_by_what_the_kernel_does_on_its_own() -> None:
    assert _widen_touched(None) is None
    assert _widen_touched(["trace_clock"]) == {"trace_clock"}
    assert _widen_touched(["events/sched/sched_switch/trigger"]) == {
        "events/sched/sched_switch/trigger",
        "tracing_on",
        "set_event",
    }
    assert _widen_touched(["set_ftrace_filter"]) == {"set_ftrace_filter", "tracing_on", "set_event"}
    assert _widen_touched(["current_tracer"]) == {"current_tracer", "tracing_max_latency"}


def test_remove_function_triggers_removes_only_those_not_in_the_target(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "set_ftrace_filter", "schedule\na:traceoff:unlimited\n")
    target = snapshot(tfs)
    write(tmp_path, "set_ftrace_filter", "schedule\na:traceoff:count=1\nb:traceon:count=2\n")
    r, diff = run_phase(tfs, target, "remove_function_triggers")
    # `a` only fired (its count fell): the same trigger, left alone.
    assert r.report.writes == ["remove trigger b:traceon:count=2"]
    assert diff == {
        "set_ftrace_filter": "schedule\na:traceoff:count=1\nb:traceon:count=2\n!b:traceon:0\n"
    }
    r, diff = run_phase(tfs, target, "remove_function_triggers", touched=["trace_clock"])
    assert r.report.writes == [] and diff == {}


def test_event_triggers_replace_the_set_of_an_event_that_differs(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "events/sched/sched_switch/trigger", "traceoff\n")
    write(tmp_path, "events/sched/sched_wakeup/trigger", "stacktrace:count=3\n")
    target = snapshot(tfs)
    write(tmp_path, "events/sched/sched_switch/trigger", "traceon:count=5\n")
    write(tmp_path, "events/sched/sched_wakeup/trigger", "stacktrace:count=1\n")
    r, diff = run_phase(tfs, target, "event_triggers")
    assert r.report.writes == [
        "remove sched/sched_switch trigger traceon:count=5",
        "add sched/sched_switch trigger traceoff",
    ]
    assert diff == {"events/sched/sched_switch/trigger": "traceon:count=5\n!traceon\ntraceoff\n"}
    r, diff = run_phase(tfs, target, "event_triggers", touched=["events/irq/enable"])
    assert diff == {}


def test_tracer_is_switched_back_only_when_it_differs(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)
    write(tmp_path, "current_tracer", "function\n")
    r, diff = run_phase(tfs, target, "tracer", touched=["trace_clock"])
    assert diff == {}
    r, diff = run_phase(tfs, dataclasses.replace(target, current_tracer=None), "tracer")
    assert diff == {}
    r, diff = run_phase(tfs, target, "tracer", touched=["current_tracer"])
    assert r.report.writes == ["current_tracer nop"]
    assert diff == {"current_tracer": "nop\n"}


def test_function_filters_rewrite_each_differing_file_in_one_write(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "set_ftrace_filter", "schedule\nvfs_read [ext4]\n")
    write(tmp_path, "set_graph_function", "vfs_read\n")
    write(tmp_path, "set_graph_notrace", "")
    target = snapshot(tfs)
    write(tmp_path, "set_ftrace_filter", "")
    write(tmp_path, "set_graph_notrace", "do_idle\n")
    r, diff = run_phase(tfs, target, "function_filters")
    assert r.report.writes == ["set_ftrace_filter (2 entries)", "set_graph_notrace (0 entries)"]
    assert diff == {
        "set_ftrace_filter": "schedule vfs_read:mod:ext4\n",
        "set_graph_notrace": "\n",
    }


def test_add_function_triggers_adds_back_only_missing_ones(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "set_ftrace_filter", "a:traceoff:count=3\nb:traceon:unlimited\n")
    target = snapshot(tfs)
    write(tmp_path, "set_ftrace_filter", "schedule\na:traceoff:count=1\n")
    r, diff = run_phase(tfs, target, "add_function_triggers")
    assert r.report.writes == ["add trigger b:traceon:unlimited"]
    assert diff == {"set_ftrace_filter": "schedule\na:traceoff:count=1\nb:traceon\n"}
    r, diff = run_phase(tfs, target, "add_function_triggers", touched=["set_event"])
    assert diff == {}


def test_pids_write_the_differing_lists(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "set_event_pid", "2\n1\n")
    target = snapshot(tfs)
    write(tmp_path, "set_event_pid", "7\n")
    write(tmp_path, "set_ftrace_pid", "9\n")  # absent in the target: not ftop's to clear
    r, diff = run_phase(tfs, target, "pids")
    assert r.report.writes == ["set_event_pid 1 2"]
    assert diff == {"set_event_pid": "1 2\n"}


def test_disable_events_turns_off_what_the_target_had_off(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "set_event", "irq:irq_handler_entry\n")
    target = snapshot(tfs)
    write(tmp_path, "set_event", "irq:irq_handler_entry\nsched:sched_switch\nsched:sched_wakeup\n")
    write(tmp_path, "events/sched/sched_switch/enable", "1\n")
    write(tmp_path, "events/sched/sched_wakeup/enable", "1\n")
    r, diff = run_phase(tfs, target, "disable_events", touched=["events/sched/sched_switch/enable"])
    assert r.report.writes == ["disable sched/sched_switch"]
    assert diff == {"events/sched/sched_switch/enable": "0\n"}
    r, diff = run_phase(tfs, target, "disable_events", touched=["events/sched/enable"])
    assert r.report.writes == ["disable sched/sched_switch", "disable sched/sched_wakeup"]
    assert diff == {"events/sched/sched_wakeup/enable": "0\n"}  # sched_switch already 0


def test_event_filters_set_and_clear(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "events/sched/sched_wakeup/filter", "pid > 5\n")
    target = snapshot(tfs)
    write(tmp_path, "events/sched/sched_switch/filter", "prev_pid == 1\n")
    write(tmp_path, "events/sched/sched_wakeup/filter", "none\n")
    r, diff = run_phase(tfs, target, "event_filters")
    assert r.report.writes == [
        "sched/sched_switch filter cleared",
        "sched/sched_wakeup filter pid > 5",
    ]
    assert diff == {
        "events/sched/sched_switch/filter": "0\n",
        "events/sched/sched_wakeup/filter": "pid > 5\n",
    }


def test_enable_events_turns_on_what_the_target_had_on(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "set_event", "sched:sched_wakeup\n")
    target = snapshot(tfs)
    write(tmp_path, "set_event", "")
    r, diff = run_phase(tfs, target, "enable_events", touched=["events/irq/enable"])
    assert diff == {}
    r, diff = run_phase(tfs, target, "enable_events", touched=["set_event"])
    assert r.report.writes == ["enable sched/sched_wakeup"]
    assert diff == {"events/sched/sched_wakeup/enable": "1\n"}


def test_scalars_write_what_differs_and_is_present(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)
    write(tmp_path, "trace_clock", "local [global] counter\n")
    write(tmp_path, "tracing_thresh", "100\n")
    (tmp_path / "buffer_percent").unlink()  # gone now: left alone
    r, diff = run_phase(tfs, target, "scalars")
    assert r.report.writes == ["trace_clock local", "tracing_thresh 0"]
    assert diff == {"trace_clock": "local\n", "tracing_thresh": "0\n"}


def test_buffer_size_ignores_first_allocation_and_restores_a_resize(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)  # 7 (expanded: 1408)
    write(tmp_path, "buffer_size_kb", "1410\n")
    r, diff = run_phase(tfs, target, "buffer_size")
    assert diff == {}
    write(tmp_path, "buffer_size_kb", "4096\n")
    r, diff = run_phase(tfs, target, "buffer_size", touched=["trace_clock"])
    assert diff == {}
    r, diff = run_phase(tfs, target, "buffer_size", touched=["per_cpu/cpu0/buffer_size_kb"])
    assert r.report.writes == ["buffer_size_kb 1408"]
    assert diff == {"buffer_size_kb": "1408\n"}


def test_buffer_size_per_cpu_when_the_target_had_mixed_sizes(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "per_cpu/cpu0/buffer_size_kb", "1408\n")
    write(tmp_path, "per_cpu/cpu1/buffer_size_kb", "1408\n")
    target = target_from(
        tfs,
        buffer_size_kb="X",
        buffer_unallocated=False,
        per_cpu_buffer_kb={"cpu0": "100", "cpu1": "200"},
    )
    r, diff = run_phase(tfs, target, "buffer_size")
    assert r.report.writes == ["per_cpu/cpu0/buffer_size_kb 100", "per_cpu/cpu1/buffer_size_kb 200"]
    assert diff == {"per_cpu/cpu0/buffer_size_kb": "100\n", "per_cpu/cpu1/buffer_size_kb": "200\n"}


def test_options_write_the_differing_ones(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)
    write(tmp_path, "options/overwrite", "0\n")
    write(tmp_path, "options/sym-offset", "1\n")  # not in the target: left alone
    r, diff = run_phase(tfs, target, "options", touched=["options/record-tgid"])
    assert diff == {}
    r, diff = run_phase(tfs, target, "options", touched=["trace_options"])
    assert r.report.writes == ["option overwrite=1"]
    assert diff == {"options/overwrite": "1\n"}


def test_stack_tracer_writes_the_sysctl(tmp_path: Path, sysctl: Path) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    target = target_from(tfs, stack_tracer_enabled="1")
    r, diff = run_phase(tfs, target, "stack_tracer", touched=["trace_clock"])
    assert r.report.writes == [] and sysctl.read_text() == "0\n"
    r, diff = run_phase(tfs, target, "stack_tracer")
    assert r.report.writes == ["stack_tracer_enabled 1"]
    assert sysctl.read_text() == "1\n" and diff == {}


def test_stack_trace_filter_rewritten_when_it_differs(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "stack_trace_filter", "vfs_read\ndo_exit\n")
    target = snapshot(tfs)
    write(tmp_path, "stack_trace_filter", "schedule\n")
    r, diff = run_phase(tfs, target, "stack_trace_filter")
    assert r.report.writes == ["stack_trace_filter"]
    assert diff == {"stack_trace_filter": "vfs_read do_exit\n"}


def test_probes_remove_only_ftops_and_recreate_the_targets(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    write(tmp_path, "kprobe_events", "p:kprobes/gone vfs_read\n")
    target = snapshot(tfs)
    write(tmp_path, "kprobe_events", "p:kprobes/mine do_exit\np:kprobes/theirs do_fork\n")
    write(tmp_path, "events/kprobes/mine/enable", "1\n")
    r, diff = run_phase(
        tfs, target, "probes", created_probes={"kprobe_events": ["p:kprobes/mine do_exit"]}
    )
    assert r.report.writes == [
        "remove probe kprobes/mine",
        "re-create probe p:kprobes/gone vfs_read",
    ]
    assert diff == {
        "events/kprobes/mine/enable": "0\n",
        "kprobe_events": (
            "p:kprobes/mine do_exit\np:kprobes/theirs do_fork\n"
            "-:kprobes/mine\np:kprobes/gone vfs_read\n"
        ),
    }


def test_instances_removes_only_those_ftop_made(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)
    (tmp_path / "instances" / "ftop_a").mkdir()
    (tmp_path / "instances" / "theirs").mkdir()
    r, _ = run_phase(tfs, target, "instances", created_instances=["ftop_a", "ftop_never"])
    assert r.report.writes == ["remove instance ftop_a"]
    assert sorted(p.name for p in (tmp_path / "instances").iterdir()) == ["theirs"]


def test_tracing_on_reads_the_file_afresh(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)  # 1
    write(tmp_path, "tracing_on", "0\n")
    r = _Restorer(tfs, target)
    write(tmp_path, "tracing_on", "1\n")  # an earlier phase (a trigger) turned it on
    r.tracing_on()
    assert r.report.writes == [] and (tmp_path / "tracing_on").read_text() == "1\n"
    write(tmp_path, "tracing_on", "0\n")
    r, diff = run_phase(tfs, target, "tracing_on", touched=["trace_clock"])
    assert diff == {}
    r, diff = run_phase(tfs, target, "tracing_on", touched=["events/sched/sched_switch/trigger"])
    assert r.report.writes == ["tracing_on 1"]
    assert diff == {"tracing_on": "1\n"}


# -- the phases together ---------------------------------------------------------------


def test_restore_runs_the_phases_in_order(tmp_path: Path, sysctl: Path) -> None:
    root = tmp_path / "tracefs"
    tfs = make_fake_tracefs(root)
    write(root, "events/sched/sched_switch/trigger", "traceoff\n")
    write(root, "set_ftrace_filter", "")
    target = snapshot(tfs)
    write(root, "events/sched/sched_switch/trigger", "traceon\n")
    write(root, "current_tracer", "function\n")
    write(root, "set_ftrace_filter", "schedule\n")
    write(root, "set_event", "sched:sched_wakeup\n")
    write(root, "events/sched/sched_switch/filter", "prev_pid == 1\n")
    write(root, "trace_clock", "local [global]\n")
    write(root, "buffer_size_kb", "64\n")
    write(root, "options/overwrite", "0\n")
    write(root, "tracing_on", "0\n")
    sysctl.write_text("1\n")
    (root / "instances" / "ftop_a").mkdir()
    report = restore(tfs, target, created_instances=["ftop_a"])
    assert report.ok
    assert report.writes == [
        "remove sched/sched_switch trigger traceon",
        "add sched/sched_switch trigger traceoff",
        "current_tracer nop",
        "set_ftrace_filter (0 entries)",
        "disable sched/sched_wakeup",
        "sched/sched_switch filter cleared",
        "trace_clock local",
        "buffer_size_kb 1408",
        "option overwrite=1",
        "stack_tracer_enabled 0",
        "remove instance ftop_a",
        "tracing_on 1",
    ]


def test_restore_of_an_instance_leaves_the_global_files_alone(tmp_path: Path, sysctl: Path) -> None:
    root = tmp_path / "tracefs"
    make_fake_tracefs(root)
    make_fake_tracefs(root / "instances" / "ftop_i")
    inst = Tracefs(root, "ftop_i")
    write(root, "instances/ftop_i/kprobe_events", "p:kprobes/mine do_exit\n")
    target = target_from(inst, stack_tracer_enabled="0", probes={"kprobe_events": []})
    sysctl.write_text("1\n")
    write(root, "instances/ftop_i/options/overwrite", "0\n")
    (root / "instances" / "x").mkdir()
    report = restore(
        inst,
        target,
        created_instances=["x"],
        created_probes={"kprobe_events": ["p:kprobes/mine do_exit"]},
    )
    assert report.writes == ["option overwrite=1"]
    assert sysctl.read_text() == "1\n"
    assert (root / "instances/ftop_i/kprobe_events").read_text() == "p:kprobes/mine do_exit\n"


def test_a_refused_write_is_reported_and_the_later_phases_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tfs = make_fake_tracefs(tmp_path)
    target = snapshot(tfs)
    write(tmp_path, "current_tracer", "function\n")
    write(tmp_path, "tracing_on", "0\n")
    real_write = Tracefs.write

    def busy(self: Tracefs, rel: str, value: str, append: bool = False) -> None:
        if rel == "current_tracer":
            raise TracefsError(rel, "write", errno.EBUSY, "busy", value)
        real_write(self, rel, value, append)

    monkeypatch.setattr(Tracefs, "write", busy)
    report = restore(tfs, target)
    assert report.writes == ["tracing_on 1"]
    assert [(e.path, e.errno) for e in report.errors] == [("current_tracer", errno.EBUSY)]
    assert (tmp_path / "current_tracer").read_text() == "function\n"
    assert (tmp_path / "tracing_on").read_text() == "1\n"
