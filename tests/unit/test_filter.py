"""Filter-file plans and read-back (ftop.engine.ftrace.filter), on real 6.1-rt read-backs."""

from __future__ import annotations

import pytest
from captures import LAB, lab_text
from ftop.engine.errors import ConfigError
from ftop.engine.ftrace.catalog import Catalog
from ftop.engine.ftrace.filter import (
    FunctionTrigger,
    parse_filter,
    parse_trigger,
    plan_add,
    plan_clear,
    plan_ftrace_pid,
    plan_max_graph_depth,
    plan_remove,
    plan_set,
    plan_trigger,
    plan_trigger_removal,
)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog.from_text(lab_text("available_filter_functions.txt"))


# -- reading what the kernel lists ------------------------------------------------------------


def test_triggers_read_back_with_counts_and_the_all_functions_line() -> None:
    """`vfs_read:traceoff:3` etc. appended to an empty filter, read back."""
    fc = parse_filter(lab_text("set_ftrace_filter.triggers.txt"))
    assert fc.unrestricted  # "#### all functions enabled ####": no function filter
    assert fc.functions == []
    by_cmd = {t.command: t for t in fc.triggers}
    assert set(by_cmd) == {"traceoff", "stacktrace", "enable_event"}
    assert by_cmd["traceoff"].function == "vfs_read"
    assert by_cmd["traceoff"].count is not None and by_cmd["traceoff"].count <= 3
    ev = by_cmd["enable_event"]
    assert (ev.function, ev.system, ev.event) == ("do_sys_openat2", "sched", "sched_switch")
    assert ev.count is not None and ev.count <= 1


def test_fired_triggers_read_back_their_remaining_count() -> None:
    """After the load: enable_event:1 fired (count=0); traceoff fired once (a traceoff
    trigger counts down only when it changes tracing_on), and tracing_on is 0."""
    after = {
        t.command: t.count
        for t in parse_filter(lab_text("set_ftrace_filter.triggers-fired.txt")).triggers
    }
    assert after["enable_event"] == 0
    assert after["traceoff"] is not None and after["traceoff"] < 3
    assert lab_text("tracing_on.after-traceoff-trigger.txt").strip() == "0"


def test_function_and_triggers_together() -> None:
    fc = parse_filter(lab_text("set_ftrace_filter.function+triggers.txt"))
    assert not fc.unrestricted
    assert fc.names == ["vfs_read"]
    assert len(fc.triggers) == 3


def test_glob_read_back_lists_functions() -> None:
    fc = parse_filter(lab_text("set_ftrace_filter.glob-vfs.txt"))
    assert fc.functions and all(e.name.startswith("vfs_") for e in fc.functions)
    assert not fc.triggers and not fc.other


def test_module_filter_read_back() -> None:
    """`:mod:9p` on 6.1: refused (a leading digit reads as an index), so no function is
    listed; only what was there before (the recorder's leftover triggers) remains."""
    files = sorted(LAB.glob("set_ftrace_filter.mod-*.txt"))
    assert files, f"lab captures set_ftrace_filter.mod-*.txt missing from {LAB}"
    fc = parse_filter(files[0].read_text())
    mod = files[0].name[len("set_ftrace_filter.mod-") : -len(".txt")]
    if mod[0].isdigit():
        assert fc.functions == [] and fc.unrestricted
    else:
        assert fc.functions and all(e.module == mod for e in fc.functions)
    assert not fc.other


def test_parse_filter_shapes_seen_on_the_lab_kernel() -> None:
    """Lines copied from the 6.1-rt kernel: module function, module trigger, pending module,
    `#### no functions disabled ####` of an empty notrace file."""
    fc = parse_filter(
        "netfs_read_folio [netfs]\n"
        "netfs_read_folio [netfs]:traceon:unlimited\n"
        ":mod:ext4\n"
        "vfs_fsync:dump:count=1\n"
        "vfs_fsync:cpudump:unlimited\n"
        "vfs_open:disable_event:sched:sched_wakeup:unlimited\n"
    )
    assert [str(e) for e in fc.functions] == ["netfs_read_folio [netfs]"]
    assert fc.pending == [":mod:ext4"]
    t0 = fc.triggers[0]
    assert (t0.function, t0.module, t0.command, t0.count) == (
        "netfs_read_folio",
        "netfs",
        "traceon",
        None,
    )
    assert [t.command for t in fc.triggers] == ["traceon", "dump", "cpudump", "disable_event"]
    assert parse_filter("#### no functions disabled ####\n", "set_ftrace_notrace").unrestricted


# -- triggers ------------------------------------------------------------------------------


def test_counted_trigger_removal_carries_a_count() -> None:
    """6.1 answers ENODEV to `!vfs_read:traceoff` for a counted trigger; `:0` finds it."""
    t = parse_trigger("vfs_read:traceoff:count=2")
    assert t is not None
    assert t.removal() == "!vfs_read:traceoff:0"
    u = parse_trigger("vfs_write:traceon:unlimited")
    assert u is not None and u.removal() == "!vfs_write:traceon"
    e = parse_trigger("do_sys_openat2:enable_event:sched:sched_switch:count=0")
    assert e is not None and e.removal() == "!do_sys_openat2:enable_event:sched:sched_switch:0"
    ch = plan_trigger_removal("netfs_read_folio [netfs]:traceon:unlimited")
    assert (ch.rel, ch.value, ch.append) == ("set_ftrace_filter", "!netfs_read_folio:traceon", True)


def test_plan_trigger_forms_and_refusals() -> None:
    ch = plan_trigger("vfs_read", "traceoff", 3)
    assert (ch.rel, ch.value, ch.append) == ("set_ftrace_filter", "vfs_read:traceoff:3", True)
    ch = plan_trigger("vfs_*", "enable_event", 2, "sched", "sched_switch")
    assert ch.value == "vfs_*:enable_event:sched:sched_switch:2"
    assert plan_trigger("vfs_read", "stacktrace").value == "vfs_read:stacktrace"
    for bad in (
        lambda: plan_trigger("vfs_read", "dump", 2),
        lambda: plan_trigger("vfs_read", "traceoff", 0),
        lambda: plan_trigger("vfs_read", "bogus"),
        lambda: plan_trigger("vfs_read", "enable_event"),
        lambda: plan_trigger("vfs_read", "traceon", system="sched", event="x"),
        lambda: plan_trigger("vfs_read vfs_write", "traceon"),
    ):
        with pytest.raises(ConfigError):
            bad()


def test_trigger_spec_round_trip() -> None:
    t = FunctionTrigger("vfs_read", "enable_event", 4, "sched", "sched_switch")
    assert parse_trigger(t.spec()) == t


# -- function lists ------------------------------------------------------------------------


def test_set_add_remove_clear(cat: Catalog) -> None:
    (ch,) = plan_set("set_ftrace_filter", [12, "vfs_*", "*:mod:netfs"])
    assert (ch.value, ch.append) == ("12 vfs_* *:mod:netfs", False)
    (ch,) = plan_add("set_ftrace_notrace", [5, 6])
    assert (ch.value, ch.append) == ("5 6", True)
    (ch,) = plan_remove("set_ftrace_filter", [12, "vfs_read"])
    assert (ch.value, ch.append) == ("!12 !vfs_read", True)
    (ch,) = plan_clear("set_graph_function")
    assert (ch.rel, ch.value, ch.append) == ("set_graph_function", "", False)


def test_graph_files_get_names_not_indices(cat: Catalog) -> None:
    """set_graph_function answers EINVAL to an index on 6.1: write names there."""
    (ch,) = plan_set("set_graph_function", [7, "vfs_read"], cat)
    assert ch.value == f"{cat.names[6]} vfs_read"
    with pytest.raises(ConfigError, match="indices"):
        plan_set("set_graph_notrace", [7])
    with pytest.raises(ConfigError, match=":mod:"):
        plan_add("set_graph_function", ["*:mod:netfs"])


def test_bad_words_are_refused_before_the_kernel_sees_them() -> None:
    for sel in (["vfs_read vfs_write"], ["!vfs_read"], ["vfs_read:traceoff"]):
        with pytest.raises(ConfigError):
            plan_set("set_ftrace_filter", sel)
    with pytest.raises(ConfigError):
        plan_set("trace", ["x"])


def test_depth_and_pids() -> None:
    assert plan_max_graph_depth(3).value == "3"
    with pytest.raises(ConfigError):
        plan_max_graph_depth(-1)
    ch = plan_ftrace_pid([1, 42])
    assert (ch.rel, ch.value, ch.append) == ("set_ftrace_pid", "1 42", False)
    assert plan_ftrace_pid([], notrace=True).rel == "set_ftrace_notrace_pid"


def test_find_processes_for_the_pid_picker() -> None:
    import os

    from ftop.engine.ftrace.filter import find_processes

    me = os.getpid()
    found = find_processes(str(me))
    assert me in {p.pid for p in found}
    mine = next(p for p in found if p.pid == me)
    assert "python" in (mine.name + mine.cmdline).lower()
    assert find_processes("no-such-process-name-q") == []
