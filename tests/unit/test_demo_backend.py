"""The demo backend: a real Session over a simulated tracefs that answers like the recorded kernel."""

from __future__ import annotations

import errno

import pytest
from ftop.engine.control.config import EventSpec, TraceConfig
from ftop.engine.control.state import differences, snapshot
from ftop.engine.demo.event_filter import FilterError, _fields_of, check_filter
from ftop.engine.demo.session import DemoSession, open_demo
from ftop.engine.errors import FtopError, TracefsError
from ftop.engine.ftrace.event_catalog import enabled_events, event_detail, read_catalog


@pytest.fixture()
def demo():  # type: ignore[no-untyped-def]
    sess = open_demo(realtime=False)
    sess.start_stream()
    yield sess
    sess.restore()


def test_demo_is_a_session_with_a_tracefs_shaped_tree(demo: DemoSession) -> None:
    assert demo.caps.events == sum(len(v) for v in demo.data.catalog.values())
    assert "nop" in demo.caps.tracers
    st = demo.poll()
    assert st.tracer == "nop" and st.tracing_on
    assert st.events_enabled == len(demo.data.meta["initial"]["events"])
    assert set(st.cpu_stats) == set(range(demo.data.cpus))
    assert read_catalog(demo.tfs).keys() == demo.data.catalog.keys()


def test_replay_fills_the_ring_with_enabled_events_only(demo: DemoSession) -> None:
    names = {e.split("/", 1)[1] for e in demo.kernel.enabled}
    lines = demo.ring.window(demo.ring.first_seq, len(demo.ring))
    assert lines
    from ftop.engine.stream.parse import parse_line

    seen = {parse_line(ln).name for ln in lines}
    assert seen <= names | {None}


def test_frozen_demo_is_deterministic() -> None:
    a, b = open_demo(realtime=False), open_demo(realtime=False)
    try:
        a.start_stream()
        b.start_stream()
        assert a.ring.window(0, 10**6) == b.ring.window(0, 10**6)
        assert a.aggregates.snapshot(a.clock()) == b.aggregates.snapshot(b.clock())
    finally:
        a.restore()
        b.restore()


def test_enabling_an_event_updates_set_event_and_the_system_enable(demo: DemoSession) -> None:
    demo.set_event("kmem", "kfree", True)
    assert "kmem/kfree" in enabled_events(demo.tfs)
    assert demo.read("events/kmem/kfree/enable").strip() == "1"
    assert demo.read("events/kmem/enable").strip() in ("X", "1")
    demo.set_event("kmem", None, False)
    assert demo.read("events/kmem/enable").strip() == "0"
    assert not any(e.startswith("kmem/") for e in enabled_events(demo.tfs))


def test_timestamps_move_on_and_new_events_stream_after_enable(demo: DemoSession) -> None:
    from ftop.engine.stream.parse import parse_line

    last_ts = parse_line(demo.ring.tail(1)[0]).ts
    for e in sorted(demo.kernel.enabled):
        system, event = e.split("/", 1)
        demo.set_event(system, event, False)
    demo.set_event("kmem", "kmalloc", True)
    assert demo.pump(20) == 20
    tail = [parse_line(ln) for ln in demo.ring.tail(20)]
    assert {r.name for r in tail} == {"kmalloc"}
    assert last_ts is not None and all((r.ts or 0) > last_ts for r in tail)


def test_bad_filter_is_refused_like_the_kernel_with_error_log_and_caret(demo: DemoSession) -> None:
    before = snapshot(demo.tfs)
    with pytest.raises(TracefsError) as ei:
        demo.set_event_filter("sched", "sched_switch", "prev_pid === 0")
    e = ei.value
    assert e.errno_name == "EINVAL"
    # The same three lines the real kernel wrote (tests/fixtures/host-6.18/error_log.bad-filter.txt).
    assert e.error_log[0].endswith(
        "event filter parse error: error: Invalid value (did you forget quotes)?"
    )
    assert e.error_log[1:] == ["  Command: prev_pid === 0", " " * 23 + "^"]
    assert differences(before, snapshot(demo.tfs)) == []


@pytest.mark.parametrize(
    "text,message",
    [
        ("prev_pid == 0", None),
        ('prev_comm ~ "bash*" && (next_pid > 10 || next_prio < 100)', None),
        ("no_such_field == 1", "Field not found"),
        ("prev_pid === 0", "Invalid value (did you forget quotes)?"),
        ("prev_pid ~ 1", "Illegal operation for field type"),
        ("prev_pid == abc", "Illegal integer value"),
        ("(prev_pid == 1", "Too many '('"),
        ("prev_pid == 1 &&", "Meaningless filter expression"),
    ],
)
def test_filter_checker_follows_the_kernels_messages(text: str, message: str) -> None:
    fields = _fields_of(
        (
            __import__("pathlib").Path(__file__).parent.parent
            / "fixtures/host-6.18/format.sched.sched_switch.txt"
        ).read_text()
    )
    if message is None:
        check_filter(text, fields)
    else:
        with pytest.raises(FilterError) as ei:
            check_filter(text, fields)
        assert ei.value.message == message


def test_triggers_read_back_as_the_kernel_prints_them(demo: DemoSession) -> None:
    demo.add_event_trigger("sched", "sched_switch", "traceoff:3")
    demo.add_event_trigger("sched", "sched_switch", "snapshot")
    d = event_detail(demo.tfs, "sched", "sched_switch")
    assert d.triggers == ["traceoff:count=3", "snapshot:unlimited"]
    demo.add_event_trigger("sched", "sched_switch", "!traceoff")
    assert event_detail(demo.tfs, "sched", "sched_switch").triggers == ["snapshot:unlimited"]
    with pytest.raises(TracefsError):
        demo.add_event_trigger("sched", "sched_switch", "no_such_command")


def test_trace_cmd_style_config_applies_and_tracing_off_stops_the_replay(demo: DemoSession) -> None:
    cfg = TraceConfig(events=[EventSpec("irq")])
    demo.apply_config(cfg)
    assert any(e.startswith("irq/") for e in enabled_events(demo.tfs))
    demo.set_tracing_on(False)
    assert demo.pump(10) == 0
    demo.set_tracing_on(True)
    assert demo.pump(10) == 10


def test_unknown_tracer_is_refused(demo: DemoSession) -> None:
    with pytest.raises(FtopError):
        demo.set_tracer("no_such_tracer")


def test_restore_removes_the_temporary_tree(demo: DemoSession) -> None:
    root = demo.workdir
    assert root.exists()
    demo.restore()
    assert not root.exists()
    assert demo.restore() is None  # idempotent


def test_realtime_replay_streams_on_a_thread() -> None:
    import time

    sess = open_demo(realtime=True, rate=5000)
    try:
        sess.start_stream()
        n = sess.ring.next_seq
        time.sleep(0.5)
        assert sess.ring.next_seq > n
    finally:
        sess.restore()


def test_restore_puts_the_simulated_tracefs_back_through_the_live_restore(
    demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo restores like the live session (journal, restore phases), so the TUI
    tests exercise the real restore; only then is the temporary tree removed."""
    from ftop.engine.ftrace.options import plan_option
    from ftop.engine.ftrace.stack_tracer import plan_enable

    removed = []
    monkeypatch.setattr(demo, "remove_workdir", lambda: removed.append(demo.workdir))
    before = snapshot(demo.tfs)
    demo.set_tracer("wakeup")
    demo.set_event("irq", None, True)
    demo.set_event_filter("sched", "sched_switch", "prev_pid == 0")
    demo.add_event_trigger("sched", "sched_wakeup", "traceoff:3")
    demo.apply([plan_option("overwrite", False), plan_enable(True)])
    demo.apply_config(TraceConfig(buffer_size_kb=4096, clock="global"))
    changed = differences(before, snapshot(demo.tfs))
    assert len(changed) >= 7, changed
    report = demo.restore()
    assert report is not None and report.ok, report.errors
    assert differences(before, snapshot(demo.tfs)) == []
    assert removed == [demo.workdir]


def test_the_demo_simulates_instances_and_restore_removes_them(
    demo: DemoSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-B in the demo as on a kernel: a fresh buffer (nop, no events) with its own
    settings and stream; function_graph refused in it (as on 6.1); the restore removes
    it through the live restore code."""
    monkeypatch.setattr(demo, "remove_workdir", lambda: None)  # keep the tree to look at
    before = snapshot(demo.tfs)
    demo.use_instance("ftop-x")
    assert demo.tfs.instance == "ftop-x" and demo.tfs.top().instance is None
    assert "ftop-x" in snapshot(demo.tfs.top()).instances
    assert enabled_events(demo.tfs) == set() and demo.tfs.read("current_tracer").strip() == "nop"
    assert demo.pump(20) == 0, "a new instance records nothing until told to"
    demo.set_event("sched", "sched_switch", True)
    assert enabled_events(demo.tfs) == {"sched/sched_switch"}
    assert enabled_events(demo.tfs.top()) == set(before.events_enabled), "the top is untouched"
    assert demo.pump(20) == 20
    assert all("sched_switch:" in ln for ln in demo.ring.tail(20))
    with pytest.raises(FtopError, match="not in available_tracers"):
        demo.set_tracer("function_graph")
    with pytest.raises(TracefsError) as ei:  # and the simulated kernel refuses it too
        demo.tfs.write("current_tracer", "function_graph")
    assert ei.value.errno == errno.EINVAL
    assert not demo.tfs.exists("kprobe_events"), "probes are the top level's"
    with pytest.raises(TracefsError) as ei:
        demo.tfs.top().make_instance("ftop-x")
    assert ei.value.errno == errno.EEXIST
    report = demo.restore()
    assert report is not None and report.ok, report.errors
    assert differences(before, snapshot(demo.tfs.top())) == []
    assert not (demo.tfs.root / "instances" / "ftop-x").exists()
