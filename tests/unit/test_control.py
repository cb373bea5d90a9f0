"""Control logic without root: state forms, journal lifecycle, transactions, config planning.

The fake tracefs here is a folder of plain files laid out like the 6.18 build
machine's tracefs (names and default values copied from it); the kernel's own
semantics are tested in tests/live and tests/lab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ftop.engine.control import journal as jm
from ftop.engine.control.capabilities import probe
from ftop.engine.control.config import EventSpec, TraceConfig, plan, resolve_events
from ftop.engine.control.state import (
    State,
    differences,
    function_filter_line,
    restore,
    snapshot,
    split_function_filter,
    trigger_removal,
    trigger_spec,
)
from ftop.engine.control.tracefs import Tracefs, find_tracefs
from ftop.engine.control.transaction import Change, TransactionError, apply
from ftop.engine.errors import ConfigError, TracefsError


def make_fake_tracefs(root: Path) -> Tracefs:
    files = {
        "current_tracer": "nop\n",
        "available_tracers": "blk function nop\n",
        "tracing_on": "1\n",
        "trace_clock": "[local] global counter uptime perf mono mono_raw boot tai x86-tsc\n",
        "tracing_thresh": "0\n",
        "tracing_cpumask": "3\n",
        "buffer_percent": "50\n",
        "buffer_size_kb": "7 (expanded: 1408)\n",
        "set_event": "",
        "set_event_pid": "",
        "set_event_notrace_pid": "",
        "uprobe_events": "",
        "error_log": "",
        "trace": "",
        "trace_pipe": "",
        "options/overwrite": "1\n",
        "options/record-tgid": "0\n",
        "events/sched/sched_switch/enable": "0\n",
        "events/sched/sched_switch/filter": "none\n",
        "events/sched/sched_switch/trigger": "# Available triggers:\n# traceon traceoff\n",
        "events/sched/sched_wakeup/enable": "0\n",
        "events/sched/sched_wakeup/filter": "none\n",
        "events/sched/sched_wakeup/trigger": "# Available triggers:\n",
        "events/irq/irq_handler_entry/enable": "0\n",
        "events/irq/irq_handler_entry/filter": "none\n",
        "events/irq/irq_handler_entry/trigger": "# Available triggers:\n",
        "events/sched/enable": "0\n",
        "events/enable": "0\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "instances").mkdir()
    (root / "per_cpu" / "cpu0").mkdir(parents=True)
    return Tracefs(root)


# -- the kernel's read-back forms ----------------------------------------------------


@pytest.mark.parametrize(
    "readback, spec, removal",
    [
        ("traceoff:count=0", "traceoff:0", "!traceoff"),
        ("stacktrace:unlimited", "stacktrace", "!stacktrace"),
        # 6.1 keeps counted function triggers apart: removal needs a count (ENODEV otherwise).
        ("vfs_read:traceoff:count=3", "vfs_read:traceoff:3", "!vfs_read:traceoff:0"),
        ("vfs_read:traceoff:unlimited", "vfs_read:traceoff", "!vfs_read:traceoff"),
        (
            "enable_event:sched:sched_switch:count=2 if prev_pid == 1",
            "enable_event:sched:sched_switch:2 if prev_pid == 1",
            "!enable_event:sched:sched_switch",
        ),
        (
            "hist:keys=pid:vals=hitcount:sort=hitcount:size=2048 [active]",
            "hist:keys=pid:vals=hitcount:sort=hitcount:size=2048",
            "!hist:keys=pid:vals=hitcount:sort=hitcount:size=2048",
        ),
    ],
)
def test_trigger_readback_becomes_writable_and_removable(
    readback: str, spec: str, removal: str
) -> None:
    assert trigger_spec(readback) == spec
    assert trigger_removal(readback) == removal


def test_function_filter_readback_forms() -> None:
    lines = ["vfs_read", "ext4_file_open [ext4]", "vfs_write:traceoff:count=2"]
    funcs, triggers = split_function_filter(lines)
    assert funcs == ["vfs_read", "ext4_file_open [ext4]"]
    assert triggers == ["vfs_write:traceoff:count=2"]
    assert function_filter_line("ext4_file_open [ext4]") == "ext4_file_open:mod:ext4"
    assert function_filter_line("vfs_read") == "vfs_read"


# -- snapshot / restore on a fake tree --------------------------------------------------


def test_snapshot_reads_selected_clock_and_expanded_buffer(tmp_path: Path) -> None:
    st = snapshot(make_fake_tracefs(tmp_path))
    assert st.scalars["trace_clock"] == "local"
    assert st.buffer_size_kb == "1408"
    assert st.current_tracer == "nop" and st.tracing_on == "1"
    assert st.options == {"overwrite": "1", "record-tgid": "0"}
    assert st.function_filters["set_ftrace_filter"] is None, "absent file: left alone"


def test_restore_writes_only_what_differs(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    before = snapshot(tfs)
    (tmp_path / "tracing_on").write_text("0\n")
    (tmp_path / "options/overwrite").write_text("0\n")
    (tmp_path / "events/sched/sched_switch/filter").write_text("prev_pid == 1\n")
    assert differences(before, snapshot(tfs))
    report = restore(tfs, before)
    assert report.ok
    assert sorted(report.writes) == sorted(
        ["tracing_on 1", "option overwrite=1", "sched/sched_switch filter cleared"]
    )


def test_state_round_trips_through_json() -> None:
    st = State(root="/sys/kernel/tracing", current_tracer="function", events_enabled=["sched/x"])
    st.event_triggers = {"sched/x": ["traceoff:count=1"]}
    again = State.from_json(json.loads(json.dumps(st.to_json())))
    assert again == st


# -- journal -----------------------------------------------------------------------------


def test_journal_is_root_only_and_round_trips(tmp_path: Path) -> None:
    j = jm.new_journal("/sys/kernel/tracing", tmp_path)
    j.states.append(State(root="/sys/kernel/tracing", current_tracer="nop"))
    j.created_instances.append("ftop-x")
    j.save()
    assert j.path.stat().st_mode & 0o777 == 0o600
    back = jm.Journal.load(j.path)
    assert back.pid == os.getpid() and back.created_instances == ["ftop-x"]
    assert back.states[0].current_tracer == "nop"
    assert back.alive()
    assert jm.stale_journals(tmp_path) == []


def test_journal_of_dead_process_is_stale_never_a_lock(tmp_path: Path) -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ftop.engine.control import journal as jm; from pathlib import Path;"
            "j = jm.new_journal('/t', Path(sys.argv[1])); j.save(); print(j.pid)",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(child.stdout)
    stale = jm.stale_journals(tmp_path)
    assert [j.pid for j in stale] == [pid]
    assert jm.live_journals(tmp_path) == []


def test_journal_with_reused_pid_is_stale(tmp_path: Path) -> None:
    j = jm.new_journal("/t", tmp_path)
    j.start_time = "1"  # our pid, but not our process's start time
    j.pid = os.getppid()
    j.save()
    assert [x.pid for x in jm.stale_journals(tmp_path)] == [os.getppid()]


def test_unreadable_journal_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "journal-1.json").write_text("{not json")
    assert jm.find_journals(tmp_path) == []


# -- transactions ----------------------------------------------------------------------


def test_transaction_undoes_applied_steps_in_reverse(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    (tmp_path / "events/sched/sched_switch/filter").write_text("prev_pid == 7\n")
    # A directory where a file is expected: the write fails like a refusal would.
    (tmp_path / "broken").mkdir()
    with pytest.raises(TransactionError) as ei:
        apply(
            tfs,
            [
                Change("events/sched/sched_switch/enable", "1"),
                Change("events/sched/sched_switch/filter", "prev_pid == 1"),
                Change("trace_clock", "global"),
                Change("broken", "1"),
            ],
        )
    assert ei.value.failed.rel == "broken"
    assert (tmp_path / "events/sched/sched_switch/enable").read_text().strip() == "0"
    assert (tmp_path / "events/sched/sched_switch/filter").read_text().strip() == "prev_pid == 7"
    assert (tmp_path / "trace_clock").read_text().strip() == "local"
    assert "nothing was changed" in str(ei.value)


def test_transaction_success_applies_in_order(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    res = apply(tfs, [Change("tracing_on", "0"), Change("tracing_on", "1")])
    assert res.ok and len(res.applied) == 2
    assert (tmp_path / "tracing_on").read_text() == "1\n"


# -- configuration ------------------------------------------------------------------------


def test_plan_orders_filters_before_events_before_tracer(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    caps = probe(tfs)
    cfg = TraceConfig(
        tracer="nop",
        events=[EventSpec("sched", "sched_switch", "prev_pid == 0")],
        clock="global",
        options=["norecord-tgid"],
        pids=[1],
    )
    rels = [c.rel for c in plan(tfs, cfg, caps)]
    assert rels == [
        "trace_clock",
        "options/record-tgid",
        "set_event_pid",
        "events/sched/sched_switch/filter",
        "events/sched/sched_switch/enable",
        "current_tracer",
        "tracing_on",
    ]


def test_event_specs_resolve_like_trace_cmd(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    assert resolve_events(tfs, EventSpec.parse("sched")) == [("sched", None)]
    assert resolve_events(tfs, EventSpec.parse("sched_wakeup")) == [("sched", "sched_wakeup")]
    assert resolve_events(tfs, EventSpec.parse("sched:sched_w*")) == [("sched", "sched_wakeup")]
    assert resolve_events(tfs, EventSpec.parse("sched/sched_switch")) == [("sched", "sched_switch")]
    with pytest.raises(ConfigError, match="no such event"):
        resolve_events(tfs, EventSpec.parse("sched:nope"))


def test_function_filters_refused_where_function_tracing_is(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    caps = probe(tfs)
    with pytest.raises(ConfigError, match="set_ftrace_filter is not in this kernel"):
        plan(tfs, TraceConfig(filter_functions=["vfs_*"]), caps)
    caps.function_tracing, caps.function_refusal = False, "EPERM: refused although we are root"
    with pytest.raises(ConfigError, match="function filters cannot be set here: EPERM"):
        plan(tfs, TraceConfig(filter_functions=["vfs_*"]), caps)


def test_tracefs_override_must_look_like_tracefs(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not look like tracefs"):
        find_tracefs(str(tmp_path))
    make_fake_tracefs(tmp_path)
    assert find_tracefs(str(tmp_path)) == tmp_path


def test_find_tracefs_reads_proc_mounts(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("sysfs /sys sysfs rw 0 0\nnodev /sys/kernel/tracing tracefs rw 0 0\n")
    assert str(find_tracefs(proc_mounts=str(mounts))) == "/sys/kernel/tracing"
    mounts.write_text("tracefs /mnt/my\\040trace tracefs rw 0 0\n")
    assert str(find_tracefs(proc_mounts=str(mounts))) == "/mnt/my trace"


def test_error_carries_new_error_log_lines_only(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path)
    (tmp_path / "error_log").write_text("[ 1.0] old: error: stale\n  Command: x\n            ^\n")
    before = tfs.error_log()
    (tmp_path / "error_log").write_text(
        "[ 1.0] old: error: stale\n  Command: x\n            ^\n"
        "[ 2.0] event filter parse error: error: Invalid value (did you forget quotes)?\n"
        "  Command: prev_pid === 0\n                       ^\n"
    )
    new = tfs._new_log_lines(before)
    assert new[0].endswith("(did you forget quotes)?") and new[-1].strip() == "^"
    assert len(new) == 3


def test_tracefs_error_message_names_file_value_and_errno() -> None:
    e = TracefsError(
        "events/sched/sched_switch/filter",
        "write",
        22,
        "the kernel rejected it",
        "prev_pid === 0",
        ["  Command: prev_pid === 0", "       ^"],
    )
    text = str(e)
    assert text.startswith("'prev_pid === 0' > events/sched/sched_switch/filter: EINVAL:")
    assert text.endswith("       ^")


def test_new_error_log_entry_found_when_the_oldest_rotated_out(tmp_path: Path) -> None:
    """error_log keeps a few entries: when it is full, the oldest goes as ours arrives.

    Regression: matching on the last line of the old log (a caret line, the same
    in every entry) lost the new entry.
    """
    tfs = make_fake_tracefs(tmp_path)
    entry = "[ {t}] event filter parse error: error: Invalid value\n  Command: x{t}\n      ^\n"
    (tmp_path / "error_log").write_text("".join(entry.format(t=t) for t in (1, 2, 3)))
    before = tfs.error_log()
    (tmp_path / "error_log").write_text("".join(entry.format(t=t) for t in (2, 3, 4)))
    new = tfs._new_log_lines(before)
    assert new == [
        "[ 4] event filter parse error: error: Invalid value",
        "  Command: x4",
        "      ^",
    ]


def test_first_use_allocating_the_buffer_is_not_a_change(tmp_path: Path) -> None:
    """A fresh boot reads `7 (expanded: 1408)`; the first event allocates it and it reads 1410.

    Seen on the 6.18 build machine and the 6.1-rt lab kernel. Restore must not
    fight that (it cannot be undone), and a state comparison must not call it a
    change; a real resize still is one.
    """
    tfs = make_fake_tracefs(tmp_path)
    fresh = snapshot(tfs)
    assert fresh.buffer_unallocated and fresh.buffer_size_kb == "1408"
    (tmp_path / "buffer_size_kb").write_text("1410\n")
    used = snapshot(tfs)
    assert differences(fresh, used) == []
    report = restore(tfs, fresh)
    assert report.writes == [] and (tmp_path / "buffer_size_kb").read_text() == "1410\n"
    (tmp_path / "buffer_size_kb").write_text("4096\n")
    assert differences(fresh, snapshot(tfs)) == ["buffer_size_kb: '1408' -> '4096'"]
    assert restore(tfs, fresh).writes == ["buffer_size_kb 1408"]


def test_restore_undoes_only_what_ftop_wrote(tmp_path: Path) -> None:
    """Someone else's change made while ftop ran (another tool, another ftop working in
    an instance) is theirs: restore puts back only the files ftop wrote."""
    tfs = make_fake_tracefs(tmp_path)
    before = snapshot(tfs)
    (tmp_path / "events/sched/sched_switch/enable").write_text("1\n")  # ftop
    (tmp_path / "set_event").write_text("sched:sched_switch\nirq:irq_handler_entry\n")
    (tmp_path / "events/irq/irq_handler_entry/enable").write_text("1\n")  # someone else
    (tmp_path / "trace_clock").write_text("local [global] counter\n")  # someone else
    report = restore(tfs, before, touched=["events/sched/sched_switch/enable"])
    assert report.writes == ["disable sched/sched_switch"]
    assert (tmp_path / "trace_clock").read_text().startswith("local [global]")
    # Without the list (reset, old journals) everything goes back.
    report = restore(tfs, before)
    assert "trace_clock local" in report.writes


def test_journal_records_what_is_about_to_be_written(tmp_path: Path) -> None:
    from ftop.engine.control.session import Session

    tfs = make_fake_tracefs(tmp_path / "tracefs")
    sess = Session(tfs, journal_dir=tmp_path / "j")
    sess.apply([Change("trace_clock", "global"), Change("options/overwrite", "0")])
    assert sess.journal is not None
    saved = jm.Journal.load(sess.journal.path)
    assert saved.touched_in(None) == ["trace_clock", "options/overwrite"]
    report = sess.restore()
    assert report is not None and sorted(report.writes) == [
        "option overwrite=1",
        "trace_clock local",
    ]


def test_a_restore_the_kernel_refuses_keeps_the_journal_for_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused restore write (EBUSY: someone holds the file) must not drop the only
    record of the prior state: the journal stays, says why, and the retry (the next
    run, `ftop restore`) puts the value back and removes it."""
    import errno

    from ftop.engine.control.session import Session, restore_journal

    tfs = make_fake_tracefs(tmp_path / "tracefs")
    sess = Session(tfs, journal_dir=tmp_path / "j")
    sess.apply([Change("trace_clock", "global")])
    assert sess.journal is not None
    path = sess.journal.path
    real_write = Tracefs.write

    def busy(self: Tracefs, rel: str, value: str, append: bool = False) -> None:
        if rel == "trace_clock":
            raise self.refusal(rel, "write", OSError(errno.EBUSY, "busy"), value, [])
        real_write(self, rel, value, append)

    monkeypatch.setattr(Tracefs, "write", busy)
    report = sess.restore()
    assert report is not None and not report.ok
    assert path.exists(), "the journal is kept when the restore failed"
    kept = jm.Journal.load(path)
    assert any("trace_clock" in e and "EBUSY" in e for e in kept.restore_errors)
    assert (tmp_path / "tracefs/trace_clock").read_text() == "global\n"  # a plain file here

    monkeypatch.setattr(Tracefs, "write", real_write)
    retry = restore_journal(jm.Journal.load(path))
    assert retry.ok and "trace_clock local" in retry.writes
    assert not path.exists()
    assert (tmp_path / "tracefs/trace_clock").read_text() == "local\n"


def test_reset_drops_the_journals_of_dead_ftops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After `ftop reset --yes` (kernel defaults on purpose), a dead ftop's journal must
    not put its old state back at the next run; a running ftop's journal is its own."""
    from ftop import cli

    root = tmp_path / "tracefs"
    make_fake_tracefs(root)
    jdir = tmp_path / "j"
    monkeypatch.setattr(jm, "DEFAULT_DIR", jdir)
    dead = jm.new_journal(str(root), jdir)
    dead.pid, dead.start_time = os.getppid(), "not-its-start-time"  # a pid reused since
    dead.path = jdir / f"journal-{dead.pid}.json"
    dead.save()
    other = jm.new_journal("/elsewhere/tracing", jdir)
    # Not dead.pid + 1: that is this process's own pid when the parent forked just before.
    other.pid, other.start_time = os.getpid() + dead.pid + 1, "gone"
    other.path = jdir / f"journal-{other.pid}.json"
    other.save()
    mine = jm.new_journal(str(root), jdir)
    mine.save()
    (root / "trace_clock").write_text("local [global]\n")
    assert cli.main(["reset", "--yes", "--tracefs", str(root)]) == 0
    assert f"dropped the journal left by ftop pid {dead.pid}" in capsys.readouterr().out
    assert sorted(p.name for p in jdir.glob("*.json")) == sorted([other.path.name, mine.path.name])
    assert (root / "trace_clock").read_text() == "local\n"


def test_rollback_of_a_system_enable_restores_each_event(tmp_path: Path) -> None:
    """events/<sys>/enable reads X when mixed; the undo must put each event back, not write X."""
    tfs = make_fake_tracefs(tmp_path)
    (tmp_path / "events/sched/enable").write_text("X\n")
    (tmp_path / "events/sched/sched_wakeup/enable").write_text("1\n")
    (tmp_path / "set_event").write_text("sched:sched_wakeup\n")
    (tmp_path / "broken").mkdir()
    with pytest.raises(TransactionError):
        apply(tfs, [Change("events/sched/enable", "1"), Change("broken", "1")])
    assert (tmp_path / "events/sched/enable").read_text() == "0\n"
    assert (tmp_path / "events/sched/sched_wakeup/enable").read_text() == "1\n"


def test_enoent_on_a_probe_file_that_exists_names_what_is_missing(tmp_path: Path) -> None:
    import errno as _e

    from ftop.engine.control.state import probe_name

    tfs = make_fake_tracefs(tmp_path)
    (tmp_path / "kprobe_events").write_text("")
    (tmp_path / "uprobe_events").write_text("")
    assert "no such kernel symbol" in tfs.explain("kprobe_events", _e.ENOENT, "write", [])
    assert "no such file" in tfs.explain("uprobe_events", _e.ENOENT, "write", [])
    assert "built without it" in tfs.explain("no_such_file", _e.ENOENT, "write", [])
    assert probe_name("") == "" and probe_name("p:grp/x vfs_read") == "grp/x"


def test_a_second_ftop_on_the_same_buffer_is_told_to_use_an_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftop.engine.control.session import Session

    root = tmp_path / "tracefs"
    make_fake_tracefs(root)
    jdir = tmp_path / "j"
    monkeypatch.setattr(jm, "DEFAULT_DIR", jdir)
    other = jm.new_journal(str(root), jdir)
    # The other ftop: a live process (this one's parent), working on the top level.
    other.pid, other.start_time = os.getppid(), jm._proc_start_time(os.getppid())
    other.path = jdir / f"journal-{other.pid}.json"
    other.touch(None, ["current_tracer"])
    other.save()
    sess = Session(Tracefs(root), journal_dir=jdir)
    notes = sess.detect_foreign()
    said = [n for n in notes if f"pid {other.pid}" in n]
    assert len(said) == 1 and "the top-level buffer too" in said[0], notes
    assert "-B NAME" in said[0]
    # Working in an instance of its own, the next one is only told it runs.
    other.touched = {"ftop-a": ["current_tracer"]}
    other.save()
    notes = sess.detect_foreign()
    assert any(n.endswith("on instance ftop-a") for n in notes), notes


def test_the_first_poll_leaves_the_walk_of_open_files_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first poll runs before a view's first frame; finding other readers walks every
    process's open files (tens of ms on a busy box), so the next poll does it."""
    from typing import List

    from ftop.engine.control import session as session_mod
    from ftop.engine.control.session import Session

    walks: List[str] = []

    def walk(path: Path, *a: object) -> List[str]:
        walks.append(str(path))
        return ["cat (pid 42)"]

    monkeypatch.setattr(session_mod, "other_readers", walk)
    sess = Session(make_fake_tracefs(tmp_path / "t"), journal_dir=tmp_path / "j")
    assert sess.poll().other_readers == [] and walks == []
    assert sess.poll().other_readers == ["cat (pid 42)"] and len(walks) == 1
    assert sess.poll().other_readers == ["cat (pid 42)"] and len(walks) == 1  # every 5 s


def test_dirs_lists_only_the_folders_sorted_and_nothing_when_missing(tmp_path: Path) -> None:
    """events/ holds files (enable, header_page) beside the system folders."""
    (tmp_path / "events" / "sched" / "sched_switch").mkdir(parents=True)
    (tmp_path / "events" / "irq").mkdir()
    (tmp_path / "events" / "enable").write_text("0\n")
    (tmp_path / "events" / "sched" / "enable").write_text("0\n")
    tfs = Tracefs(tmp_path)
    assert tfs.dirs("events") == ["irq", "sched"]
    assert tfs.dirs("events/sched") == ["sched_switch"]
    assert tfs.dirs("events/none") == []
    assert tfs.listdir("events") == ["enable", "irq", "sched"]
    assert tfs.is_dir("events/sched") and not tfs.is_dir("events/enable")
