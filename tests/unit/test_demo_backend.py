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


# -- issue 10: the replay applies what the user changes, or the demo says it cannot ------


def _drain(demo: DemoSession, n: int) -> list[str]:
    before = demo.ring.next_seq
    demo.pump(n)
    return demo.ring.window(before, demo.ring.next_seq - before)


def test_a_narrowed_function_filter_drops_the_recorded_lost_markers(demo: DemoSession) -> None:
    """Regression: after `set_ftrace_filter`, the replay kept its LOST markers (loss to 20 M)."""
    demo.set_tracer("function")
    full = _drain(demo, 4000)
    assert any("LOST" in ln for ln in full), "the function capture records losses"
    demo.write("set_ftrace_filter", "vfs_read")
    lines = _drain(demo, 500)
    assert lines and not any("LOST" in ln for ln in lines)
    assert all("vfs_read" in ln for ln in lines)
    overrun = demo.kernel.overrun[:]
    _drain(demo, 500)
    assert demo.kernel.overrun == overrun


def test_a_bigger_buffer_drops_the_recorded_lost_markers(demo: DemoSession) -> None:
    demo.set_tracer("function")
    demo.write("buffer_size_kb", str(8 * 1408))
    assert not any("LOST" in ln for ln in _drain(demo, 4000))


def test_buffer_total_follows_buffer_size_kb(demo: DemoSession) -> None:
    """Regression: buffer_total_size_kb stayed at the recorded total after a resize."""
    demo.write("buffer_size_kb", "4096")
    assert demo.read("buffer_total_size_kb").strip() == str(4096 * demo.data.cpus)


def test_function_graph_follows_set_ftrace_filter(demo: DemoSession) -> None:
    """Regression: function_graph replayed the whole capture whatever the filter said."""
    demo.set_tracer("function_graph")
    demo.write("set_ftrace_filter", "vfs_read")
    lines = [ln for ln in _drain(demo, 200) if "|" in ln]
    assert lines
    names = {ln.split("|", 1)[1].strip() for ln in lines}
    # vfs_read alone is traced: its callees go, it prints as a leaf with its duration
    # (a call still open where the capture ends stays "vfs_read() {").
    assert "vfs_read();" in names and names <= {"vfs_read();", "vfs_read() {"}
    assert all(" us " in ln for ln in lines if ln.endswith("vfs_read();"))


def test_function_graph_follows_max_graph_depth(demo: DemoSession) -> None:
    demo.set_tracer("function_graph")
    demo.write("max_graph_depth", "1")
    lines = [ln for ln in _drain(demo, 300) if "|" in ln and "/*" not in ln]
    assert lines
    # Depth 1: every call is at the top indentation, and a leaf (no "}" closes a call;
    # only the call still open where the capture ends shows its "{").
    for ln in lines:
        body = ln.split("|", 1)[1]
        assert body.startswith("  ") and not body.startswith("   "), ln
        assert body.strip().endswith(("();", "() {")), ln
    assert sum(ln.endswith("();") for ln in lines) > len(lines) // 2


def test_an_event_filter_is_applied_to_the_replay(demo: DemoSession) -> None:
    """Regression: `prio < 100` was accepted but sched_wakeup lines with prio=120 kept coming."""
    for e in sorted(demo.kernel.enabled):
        system, event = e.split("/", 1)
        demo.set_event(system, event, False)
    demo.set_event("sched", "sched_wakeup", True)
    assert any("prio=120" in ln for ln in _drain(demo, 200))
    demo.set_event_filter("sched", "sched_wakeup", "prio < 100")
    lines = _drain(demo, 200)
    assert not any("prio=120" in ln for ln in lines)
    demo.set_event_filter("sched", "sched_wakeup", 'prio >= 120 && !(comm ~ "ksoftirqd*")')
    lines = _drain(demo, 200)
    assert lines and all("prio=120" in ln and "comm=ksoftirqd" not in ln for ln in lines)


@pytest.mark.parametrize(
    "text,line,expected",
    [
        ("prio < 100", "comm=a pid=1 prio=99", True),
        ("prio < 100", "comm=a pid=1 prio=120", False),
        ("prio & 8", "prio=120", True),
        ("pid == 1 || pid == 2", "pid=2", True),
        ("pid == 1 && prio > 1 || pid == 3", "pid=3 prio=0", True),
        ("!(pid == 1)", "pid=1", False),
        ('comm == "bash"', "comm=bash", True),
        ('comm != "bash"', "comm=bash", False),
        ('comm ~ "ba?h"', "comm=bash", True),
        ("target_cpu == 1", "target_cpu=001", True),
        ("prio < 100", "pid=1", None),
    ],
)
def test_event_filters_evaluate_on_the_printed_fields(
    text: str, line: str, expected: object
) -> None:
    from ftop.engine.demo.event_filter import compile_filter, printed_fields

    fields = {"prio": False, "pid": False, "comm": True, "target_cpu": False}
    assert compile_filter(text, fields)(printed_fields(line)) is expected


@pytest.mark.parametrize(
    "spec",
    ["traceoff:5:junk", "enable_event:sched:sched_switch:2:junk", "hist:keys=no_such_field"],
)
def test_invalid_event_triggers_are_refused(demo: DemoSession, spec: str) -> None:
    """Regression: the demo accepted these; the kernel refuses them with EINVAL."""
    with pytest.raises(TracefsError) as ei:
        demo.add_event_trigger("sched", "sched_switch", spec)
    assert ei.value.errno_name == "EINVAL"
    assert event_detail(demo.tfs, "sched", "sched_switch").triggers == []


def test_a_hist_trigger_on_an_unknown_field_logs_the_kernels_error_with_caret(
    demo: DemoSession,
) -> None:
    with pytest.raises(TracefsError) as ei:
        demo.add_event_trigger("sched", "sched_switch", "hist:keys=prev_pid,nope")
    log = ei.value.error_log
    assert log[0].endswith("hist:sched:sched_switch: error: Couldn't find field")
    assert log[1] == "  Command: hist:keys=prev_pid,nope"
    assert log[2].index("^") == log[1].index("nope")
    demo.add_event_trigger("sched", "sched_switch", "hist:keys=prev_pid.execname:vals=hitcount")


def test_a_function_trigger_with_junk_after_the_count_is_refused(demo: DemoSession) -> None:
    with pytest.raises(TracefsError) as ei:
        demo.write("set_ftrace_filter", "vfs_read:traceoff:2:junk", append=True)
    assert ei.value.errno_name == "EINVAL"


@pytest.mark.parametrize(
    "definition,message,word",
    [
        ("p:kprobes/a vfs_read x=%nosuchreg", "Invalid register name", "nosuchreg"),
        ("p:kprobes/a vfs_read x=$retval", "$retval can be used only on retprobe", "$retval"),
        ("p:kprobes/a vfs_read x=$arg999", "Invalid argument number", "$arg999"),
        ("p:kprobes/a vfs_read x=$bogus", "Invalid $-valiable specified", "$bogus"),
        ("p:kprobes/a vfs_read x=%di:u7", "Unknown type is specified", "u7"),
        ("p:kprobes/a vfs_read x=+0(%zz):u32", "Invalid register name", "zz"),
        ("p:kprobes/a vfs_read 1x=%di", "Argument name must follow", "1x"),
    ],
)
def test_invalid_kprobe_arguments_are_refused_with_the_kernels_error_log(
    demo: DemoSession, definition: str, message: str, word: str
) -> None:
    """Regression: the demo accepted kprobe arguments the kernel refuses."""
    with pytest.raises(TracefsError) as ei:
        demo.write("kprobe_events", definition, append=True)
    e = ei.value
    assert e.errno_name == "EINVAL"
    assert message in e.error_log[0]
    assert e.error_log[1] == f"  Command: {definition}"
    assert e.error_log[2].index("^") == e.error_log[1].index(word)
    assert demo.read("kprobe_events") == ""


def test_valid_kprobe_arguments_are_accepted(demo: DemoSession) -> None:
    demo.write("kprobe_events", "r:kprobes/b vfs_read ret=$retval:s64", append=True)
    demo.write(
        "kprobe_events", "p:kprobes/c vfs_read f=+0(%si):ustring n=$arg3 s=$stack2", append=True
    )
    assert len(demo.read("kprobe_events").splitlines()) == 2


def test_a_uprobe_on_a_missing_file_logs_what_the_kernel_logs(demo: DemoSession) -> None:
    with pytest.raises(TracefsError) as ei:
        demo.write("uprobe_events", "p:uprobes/u /no/such/file:0x10", append=True)
    e = ei.value
    assert e.errno_name == "ENOENT"
    assert e.error_log[0].endswith("trace_uprobe: error: Failed to find the given file")
    assert e.error_log[2].index("^") == e.error_log[1].index("/no/such/file")


def test_tracing_cpumask_past_the_cpus_is_refused_and_a_mask_narrows_the_replay(
    demo: DemoSession,
) -> None:
    with pytest.raises(TracefsError) as ei:
        demo.write("tracing_cpumask", "ff")
    assert ei.value.errno_name == "EOVERFLOW"
    assert demo.read("tracing_cpumask").strip() == "3"
    demo.write("tracing_cpumask", "2")
    lines = [ln for ln in _drain(demo, 200) if "[00" in ln]
    assert lines and all("[001]" in ln for ln in lines)


def test_the_event_folders_are_made_when_first_listed_and_list_the_catalog() -> None:
    """The demo's start makes no folder per event (1,500 mkdirs were 8 ms of its first
    frame); the first listing makes them, and every way in sees the recorded catalog."""
    sess = open_demo(realtime=False)
    try:
        events = sess.kernel.root / "events"
        sched = sorted(sess.data.catalog["sched"])
        assert not (events / "sched").exists()  # not yet made
        assert sess.tfs.dirs("events/sched") == sched
        assert (events / "sched" / sched[0]).is_dir()  # made now, for direct readers too
        assert sess.tfs.dirs("events") == sorted(s for s, e in sess.data.catalog.items() if e)
        assert sess.tfs.is_dir(f"events/sched/{sched[0]}")
        assert not sess.tfs.is_dir("events/sched/no_such_event")
        assert read_catalog(sess.tfs)["sched"] == sched
    finally:
        sess.restore()


def test_an_instance_lists_its_event_folders_too() -> None:
    sess = open_demo(realtime=False)
    try:
        sess.tfs.make_instance("lazy")
        inst = sess.tfs.sub("lazy")
        assert inst.exists("events/sched/sched_switch")
        assert inst.dirs("events/sched") == sorted(sess.data.catalog["sched"])
        # A snapshot of the instance reads every event's filter: the folders are there.
        st = snapshot(inst)
        assert st.event_filters == {}
    finally:
        sess.tfs.remove_instance("lazy")
        sess.restore()


def test_a_probe_made_before_the_event_folders_are_listed_is_listed_with_them() -> None:
    """A kprobe makes its event's folder at once; the folders made later (on the first
    listing) must not trip over it."""
    sess = open_demo(realtime=False)
    try:
        assert sess.data.has_functions
        # Straight to the simulated tracefs: the session's journal would list first.
        sess.tfs.write("kprobe_events", "p:kprobes/early vfs_read")
        assert not sess.kernel._events_made
        assert "early" in sess.tfs.dirs("events/kprobes")  # the first listing
        assert "sched_switch" in sess.tfs.dirs("events/sched")
        sess.tfs.write("kprobe_events", "")
        assert "early" not in sess.tfs.dirs("events/kprobes")
    finally:
        sess.restore()


def test_the_start_reads_the_event_names_and_a_format_when_first_looked_at() -> None:
    """events.txt names what events.json.gz holds (both written by scripts/demo-data):
    the start reads only the names; the formats come with the first look at one."""
    import gzip
    import json

    from ftop.engine.demo.captures import DATA_DIR

    with gzip.open(DATA_DIR / "events.json.gz", "rt") as f:
        recorded = json.loads(f.read())
    sess = open_demo(realtime=False)
    try:
        assert sess.data._formats is None
        assert {s: sorted(e) for s, e in sess.data.catalog.items()} == {
            s: sorted(e) for s, e in recorded.items()
        }
        fmt = sess.tfs.read("events/sched/sched_switch/format")
        assert fmt == recorded["sched"]["sched_switch"] and "field:" in fmt
        # A filter on a field of that format is checked against it, and a wrong one refused.
        sess.tfs.write("events/sched/sched_switch/filter", "prev_pid == 1")
        with pytest.raises(TracefsError):
            sess.tfs.write("events/sched/sched_switch/filter", "no_such_field == 1")
    finally:
        sess.restore()
