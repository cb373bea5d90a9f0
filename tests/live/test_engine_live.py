"""The engine against the machine's real tracefs (root). Each test leaves it exactly as found."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest
from ftop.engine.control.config import EventSpec, TraceConfig, plan
from ftop.engine.control.session import Session
from ftop.engine.control.state import differences, snapshot
from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.control.transaction import Change, TransactionError
from ftop.engine.errors import ConfigError, FtopError, InvalidArgument, PermissionRefused
from ftop.engine.stream.parse import parse_line

pytestmark = pytest.mark.live

# An event nobody else on a build machine enables, fired on demand by writes.
MARK_EVENT = ("ftrace", "print")


def _wait_for(pred, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _ring_lines(sess: Session) -> list[str]:
    return sess.ring.window(sess.ring.first_seq, len(sess.ring))


def test_enabled_event_streams_into_ring_and_parses(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.apply_config(TraceConfig(events=[EventSpec("sched", "sched_switch")]))
        assert "sched:sched_switch" in tfs.read("set_event")
        sess.start_stream()
        assert _wait_for(lambda: any("sched_switch:" in ln for ln in _ring_lines(sess)))
        recs = [parse_line(ln) for ln in _ring_lines(sess) if "sched_switch:" in ln]
        rec = recs[0]
        assert rec.kind == "event" and rec.name == "sched_switch"
        assert rec.cpu is not None and rec.cpu < (os.cpu_count() or 1)
        assert rec.ts is not None and rec.ts > 0
        assert "prev_comm=" in (rec.fields or "")
    finally:
        sess.restore()
    assert not list(journal_dir.glob("journal-*.json")), "journal removed after restore"


def test_valid_event_filter_narrows_the_stream(tfs: Tracefs, unchanged, journal_dir: Path) -> None:
    import subprocess
    import sys

    # A task of ours that sleeps in a loop: switches away from it come whatever else
    # the machine does (prev_pid == 0, the idle task, is rare on a busy machine).
    sleeper = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.01)"])
    filt = f"prev_pid == {sleeper.pid}"
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.apply_config(TraceConfig(events=[EventSpec("sched", "sched_switch", filter=filt)]))
        assert tfs.read_value("events/sched/sched_switch/filter") == filt
        sess.start_stream()
        # Lines still in the kernel's buffer from before the filter are not ours to judge:
        # look only after a marker written once the filter is in.
        token = f"ftop-filter-start-{time.time_ns()}"
        sess.write_marker(token)

        def after_marker() -> list[str]:
            lines = _ring_lines(sess)
            idx = next((i for i, ln in enumerate(lines) if token in ln), None)
            return [] if idx is None else [ln for ln in lines[idx:] if "sched_switch:" in ln]

        assert _wait_for(lambda: len(after_marker()) >= 3, timeout=15)
        switch = after_marker()
        assert all(f" prev_pid={sleeper.pid} " in ln for ln in switch), switch[:3]
    finally:
        sleeper.kill()
        sleeper.wait()
        sess.restore()


def test_bad_event_filter_shows_error_log_and_changes_nothing(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    sess = Session(tfs, journal_dir=journal_dir)
    before = snapshot(tfs)
    try:
        with pytest.raises(InvalidArgument) as ei:
            sess.set_event_filter("sched", "sched_switch", "prev_pid === 0")
        err = ei.value
        assert err.errno == errno.EINVAL
        text = "\n".join(err.error_log)
        assert "prev_pid === 0" in text, text
        assert any(ln.strip() == "^" for ln in err.error_log), "caret line kept"
        assert "error_log" in str(err) or "^" in str(err)
        assert differences(before, snapshot(tfs)) == []
    finally:
        sess.restore()


def test_trace_marker_round_trip(tfs: Tracefs, unchanged, journal_dir: Path) -> None:
    sess = Session(tfs, journal_dir=journal_dir)
    token = f"ftop-live-marker-{os.getpid()}-{time.time_ns()}"
    try:
        sess.start_stream()
        time.sleep(0.2)
        sess.write_marker(token)
        assert _wait_for(lambda: any(token in ln for ln in _ring_lines(sess)))
        line = next(ln for ln in _ring_lines(sess) if token in ln)
        rec = parse_line(line)
        assert rec.kind == "marker"
        assert token in (rec.fields or "")
        assert rec.pid == os.getpid() or rec.comm
    finally:
        sess.restore()


def test_instance_created_for_session_is_removed_on_restore(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    name = f"ftop-test-{os.getpid()}"
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.use_instance(name)
        assert name in list_dir(tfs, "instances")
        sess.set_event("sched", "sched_switch", True)
        assert "sched:sched_switch" in tfs.sub(name).read("set_event")
        # The top level is untouched by work in the instance.
        assert "sched:sched_switch" not in tfs.read("set_event")
        sess.start_stream()
        assert _wait_for(lambda: len(sess.ring) > 0)
    finally:
        sess.restore()
    assert name not in list_dir(tfs, "instances")


def test_function_tracer_refusal_is_explained(tfs: Tracefs, unchanged, journal_dir: Path) -> None:
    sess = Session(tfs, journal_dir=journal_dir)
    if sess.caps.function_tracing:
        pytest.skip("function tracing is permitted on this kernel (the lab tier covers it)")
    try:
        with pytest.raises(FtopError) as ei:
            sess.set_tracer("function")
        assert "EPERM" in str(ei.value) or "refused" in str(ei.value)
        with pytest.raises(ConfigError):
            plan(tfs, TraceConfig(tracer="function"), sess.caps)
        # The raw write, as the kernel answers it.
        with pytest.raises(PermissionRefused) as raw:
            tfs.write("current_tracer", "function")
        assert raw.value.errno == errno.EPERM
        assert "root" in raw.value.reason or "lockdown" in raw.value.reason
        assert tfs.read_value("current_tracer") == "nop"
    finally:
        sess.restore()


def test_transaction_rolls_back_when_kernel_refuses_a_step(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    sess = Session(tfs, journal_dir=journal_dir)
    before = snapshot(tfs)
    changes = [
        Change("events/sched/sched_wakeup/enable", "1"),
        Change("events/sched/sched_wakeup/filter", "pid > 1"),
        Change("tracing_on", "1"),
        Change("events/sched/sched_switch/filter", "prev_pid === 0"),
        Change("events/sched/sched_switch/enable", "1"),
    ]
    try:
        with pytest.raises(TransactionError) as ei:
            sess.apply(changes)
        assert ei.value.failed is changes[3]
        assert "nothing was changed" in str(ei.value)
        assert ei.value.error_log, "the kernel's error_log text travels with the error"
        assert differences(before, snapshot(tfs)) == []
    finally:
        sess.restore()


def test_restore_keeps_someone_elses_settings(tfs: Tracefs, journal_dir: Path) -> None:
    """A pre-existing event, filter and trigger are left alone and still there after restore."""
    pristine = snapshot(tfs)
    ev = "events/sched/sched_process_fork"
    try:
        tfs.write(f"{ev}/filter", "parent_pid > 1")
        tfs.write(f"{ev}/enable", "1")
        tfs.write("events/sched/sched_process_exit/trigger", "stacktrace:5", append=True)
        others = snapshot(tfs)
        sess = Session(tfs, journal_dir=journal_dir)
        assert any("events enabled" in n for n in sess.detect_foreign())
        sess.apply_config(TraceConfig(events=[EventSpec("sched", "sched_switch")], clock="global"))
        sess.set_event_filter("sched", "sched_process_fork", "parent_pid > 2")
        sess.restore()
        assert differences(others, snapshot(tfs)) == []
    finally:
        from ftop.engine.control.state import restore

        restore(tfs, pristine)
    assert differences(pristine, snapshot(tfs)) == []


def test_traceoff_trigger_effect_is_undone(tfs: Tracefs, unchanged, journal_dir: Path) -> None:
    """A trigger that turns tracing off while we run: restore puts tracing_on back too."""
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.add_event_trigger("sched", "sched_switch", "traceoff:1")
        assert _wait_for(lambda: tfs.read_value("tracing_on") == "0")
        trig = tfs.read("events/sched/sched_switch/trigger")
        assert "traceoff:count=0" in trig
    finally:
        sess.restore()
    assert tfs.read_value("tracing_on") == "1"


@pytest.mark.parametrize(
    "cfg, words",
    [
        (TraceConfig(events=[EventSpec("nosuchsys", "nosuchev")]), "no such event system"),
        (TraceConfig(events=[EventSpec("sched", "nosuchev")]), "no such event"),
        (TraceConfig(tracer="nosuchtracer"), "not built"),
        (TraceConfig(clock="sundial"), "no such trace clock"),
        (TraceConfig(options=["nosuchoption"]), "no such option"),
        (TraceConfig(buffer_size_kb=0), "positive"),
    ],
)
def test_bad_configuration_is_refused_before_any_write(
    tfs: Tracefs, unchanged, journal_dir: Path, cfg: TraceConfig, words: str
) -> None:
    sess = Session(tfs, journal_dir=journal_dir)
    with pytest.raises(ConfigError) as ei:
        sess.apply_config(cfg)
    assert words in str(ei.value)
    assert sess.journal is None, "no journal: nothing was about to change"
    sess.restore()


def test_busy_tracer_change_names_who_holds_trace_pipe(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    """EBUSY: the kernel will not switch tracers while someone reads trace_pipe; say who."""
    import subprocess

    from ftop.engine.errors import Busy

    other = next(
        (
            t
            for t in Session(tfs, journal_dir=journal_dir).caps.tracers
            if t not in ("nop",) and not t.startswith("function")
        ),
        None,
    )
    if other is None:
        pytest.skip("no second tracer that is permitted here")
    holder = subprocess.Popen(["cat", str(tfs.file("trace_pipe"))], stdout=subprocess.DEVNULL)
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        time.sleep(0.3)
        with pytest.raises(Busy) as ei:
            sess.set_tracer(other)
        assert ei.value.errno == errno.EBUSY
        assert f"cat (pid {holder.pid})" in str(ei.value)
        assert tfs.read_value("current_tracer") == "nop"
    finally:
        holder.kill()
        holder.wait()
        sess.restore()


def test_doctor_reports_what_decides_ftop_here(tfs: Tracefs, unchanged) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "ftop", "doctor"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    rows = dict(ln.split(None, 1) if " " in ln else (ln, "") for ln in out.stdout.splitlines())
    text = out.stdout
    assert str(tfs.root) in text
    assert "function tracing" in text
    assert ("allowed" in text) or ("NOT allowed" in text)
    n_events = sum(1 for _ in tfs.read("available_events").splitlines())
    assert f"{n_events} in" in text, rows


def test_latency_format_is_streamed_as_the_kernels_text(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    """The raw renderer writes the default context; with options/latency-format on,
    the session reads trace_pipe's text instead, and says why."""
    name = f"ftop-test-lat-{os.getpid()}"
    sess = Session(tfs, journal_dir=journal_dir)
    try:
        sess.use_instance(name)
        sess.apply([Change("options/latency-format", "1")])
        sess.set_event("sched", "sched_switch", True)
        sess.start_stream()
        assert sess.stream_kind == "text"
        assert "latency-format" in (sess.raw_why or ""), sess.raw_why
        # trace_print_lat_context: "comm-pid cpu+flags rel: body", no "[cpu]" column
        assert _wait_for(lambda: any("sched_switch:" in ln for ln in _ring_lines(sess)))
        line = next(ln for ln in _ring_lines(sess) if "sched_switch:" in ln)
        assert "[0" not in line.split("sched_switch:")[0], line
        sess.stop_stream()
        sess.apply([Change("options/latency-format", "0")])
        sess.start_stream()
        assert sess.stream_kind == "raw", sess.raw_why
    finally:
        sess.restore()
    assert name not in list_dir(tfs, "instances")


def test_an_option_that_shapes_the_text_reaches_a_raw_stream_at_once(
    tfs: Tracefs, unchanged, journal_dir: Path
) -> None:
    """The raw renderer reads the options when it is built; the kernel formats with
    the options of the moment. A change of options/context-info while streaming must
    reach the lines that follow, as it reaches trace_pipe's."""
    name = f"ftop-test-ctx-{os.getpid()}"
    sess = Session(tfs, journal_dir=journal_dir)
    token = f"ftop-ctx-{os.getpid()}-{time.time_ns()}"
    try:
        sess.use_instance(name)
        sess.start_stream()
        assert sess.stream_kind == "raw", sess.raw_why
        sess.write_marker(token + "-a")
        assert _wait_for(lambda: any(token + "-a" in ln for ln in _ring_lines(sess)), 30)
        with_ctx = next(ln for ln in _ring_lines(sess) if token + "-a" in ln)
        assert parse_line(with_ctx).pid == os.getpid(), with_ctx
        sess.apply([Change("options/context-info", "0")])
        sess.write_marker(token + "-b")
        assert _wait_for(lambda: any(token + "-b" in ln for ln in _ring_lines(sess)), 30)
        bare = next(ln for ln in _ring_lines(sess) if token + "-b" in ln)
        # trace_print_context is left out: the line is the event's own text.
        assert bare == f"tracing_mark_write: {token}-b", bare
        assert sess.stream_kind == "raw"
    finally:
        sess.restore()
    assert name not in list_dir(tfs, "instances")
