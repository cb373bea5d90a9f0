"""Function filters, triggers, graph files, pids and the catalog on the real 6.1-rt kernel,
driven through ftop.engine.ftrace.filter/catalog and the Session (journaled, restored).

Each Session costs two full state snapshots under emulation, so each test
covers one file family end to end rather than one assertion.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import List

import pytest
from engine_lab import TRACEFS, kernel_reads, raw, raw_write, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change, TransactionError
from ftop.engine.ftrace.catalog import Catalog
from ftop.engine.ftrace.filter import (
    parse_filter,
    plan_add,
    plan_ftrace_pid,
    plan_max_graph_depth,
    plan_remove,
    plan_set,
    plan_trigger,
    plan_trigger_removal,
    read_filter,
    read_ftrace_pid,
    read_max_graph_depth,
)
from ftop.engine.stream.parse import parse_line

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog.load(Tracefs(TRACEFS))


def names(sess: Session, file: str) -> List[str]:
    return sorted(read_filter(sess.tfs, file).names)


def test_catalog_loads_and_search_finds_the_kernels_functions(cat: Catalog) -> None:
    assert len(cat) > 30_000
    r = cat.search("vfs_read", limit=50)
    assert r.total >= 1 and "vfs_read" in {cat.names[i - 1] for i in r.indices}
    assert cat.module_names(), "the lab guest has modules (9p, netfs, overlay...)"
    assert cat.reason_untraceable("vfs_read") is None


def test_function_filter_glob_bang_refusals_and_trace(session: Session, cat: Catalog) -> None:
    # A glob selects exactly what the catalog predicts.
    session.apply(plan_set("set_ftrace_filter", ["vfs_*"]))
    assert names(session, "set_ftrace_filter") == sorted(
        cat.names[i - 1] for i in cat.match("vfs_*")
    )
    # '!' removes, by name and by catalog index; adding by index puts it back.
    session.apply(plan_remove("set_ftrace_filter", ["vfs_read"]))
    left = names(session, "set_ftrace_filter")
    assert "vfs_read" not in left and "vfs_write" in left
    (idx,) = cat.indices_of("vfs_write")
    session.apply(plan_remove("set_ftrace_filter", [idx]))
    assert "vfs_write" not in names(session, "set_ftrace_filter")
    session.apply(plan_add("set_ftrace_filter", [idx]))
    session.apply(plan_add("set_ftrace_filter", ["vfs_read"]))
    kept = names(session, "set_ftrace_filter")
    # An unknown name: EINVAL, nothing in error_log, the name in ftop's message.
    log_before = raw("error_log")
    with pytest.raises(TransactionError) as e:
        session.apply(plan_add("set_ftrace_filter", ["no_such_function_q"]))
    assert e.value.errno == errno.EINVAL
    assert "no_such_function_q" in str(e.value)
    assert e.value.error_log == [] and raw("error_log") == log_before
    assert "not in available_filter_functions" in cat.explain_refusal("no_such_function_q", e.value)
    # The filtered function trace holds only matching functions.
    session.apply([Change("trace", ""), Change("current_tracer", "function")])
    kernel_reads()
    # Stop before reading trace: the reader's own I/O would be traced (field notes).
    session.set_tracing_on(False)
    funcs = {r.name for r in map(parse_line, raw("trace").splitlines()) if r.kind == "function"}
    assert funcs and funcs <= set(kept), funcs - set(kept)


def test_module_filters(session: Session, cat: Catalog) -> None:
    mod = next(m for m in cat.module_names() if not m[0].isdigit())
    session.apply(plan_set("set_ftrace_filter", [f":mod:{mod}"]))
    fc = read_filter(session.tfs, "set_ftrace_filter")
    assert fc.functions and {e.module for e in fc.functions} == {mod}
    assert sorted(fc.names) == sorted(cat.names[i - 1] for i in cat.match(f":mod:{mod}"))
    # module:pattern search shorthand -> the kernel word it stands for
    r = cat.search(f"{mod}:a", limit=100_000)
    assert r.pattern is not None and r.total > 0
    session.apply(plan_set("set_ftrace_filter", [r.pattern]))
    assert len(read_filter(session.tfs, "set_ftrace_filter").functions) == r.total
    # 6.1 refuses `:mod:9p` (a leading digit reads as an index); the search's word works.
    digit = [m for m in cat.module_names() if m[0].isdigit()]
    if digit:
        with pytest.raises(TransactionError) as e:
            session.apply(plan_set("set_ftrace_filter", [f":mod:{digit[0]}"]))
        assert e.value.errno == errno.EINVAL
        r = cat.search(f"{digit[0]}:", limit=100_000)
        assert r.pattern is not None and r.total == len(cat.indices_for_module(digit[0]))
        session.apply(plan_set("set_ftrace_filter", [r.pattern]))
        assert len(read_filter(session.tfs, "set_ftrace_filter").functions) == r.total


def test_notrace_graph_files_depth_and_pid(session: Session, cat: Catalog) -> None:
    (idx,) = cat.indices_of("vfs_read")
    session.apply(plan_set("set_ftrace_notrace", ["vfs_write"]))
    assert names(session, "set_ftrace_notrace") == ["vfs_write"]
    # The graph files take no index: the plan writes the name.
    session.apply(plan_set("set_graph_function", [idx], cat))
    assert names(session, "set_graph_function") == ["vfs_read"]
    session.apply(plan_set("set_graph_notrace", ["rw_verify_area"]))
    assert names(session, "set_graph_notrace") == ["rw_verify_area"]
    session.apply(plan_remove("set_graph_function", ["vfs_read"]))
    assert read_filter(session.tfs, "set_graph_function").unrestricted
    session.apply([plan_max_graph_depth(3)])
    assert read_max_graph_depth(session.tfs) == 3
    session.apply([plan_ftrace_pid([os.getpid()])])
    assert read_ftrace_pid(session.tfs) == [os.getpid()]


def test_triggers_with_counts_read_back_and_removed(session: Session) -> None:
    session.apply(
        [
            plan_trigger("vfs_read", "traceoff", 3),
            plan_trigger("vfs_write", "stacktrace", 2),
            plan_trigger("do_sys_openat2", "enable_event", 1, "sched", "sched_switch"),
            plan_trigger("vfs_fsync", "traceon"),
        ]
    )
    fc = read_filter(session.tfs, "set_ftrace_filter")
    assert fc.unrestricted and not fc.functions  # "#### all functions enabled ####"
    got = {t.command: t for t in fc.triggers}
    assert set(got) == {"traceoff", "stacktrace", "enable_event", "traceon"}
    assert got["traceon"].count is None
    assert (got["enable_event"].system, got["enable_event"].event) == ("sched", "sched_switch")
    kernel_reads(10)
    fired = {t.command: t for t in read_filter(session.tfs, "set_ftrace_filter").triggers}
    # It fired; it counts down only when it changes tracing_on (once here).
    assert raw("tracing_on").strip() == "0"
    assert fired["traceoff"].count == 2
    assert fired["enable_event"].count == 0
    assert "sched:sched_switch" in raw("set_event")
    # Read-back lines remove as they are (counted ones need a count in the '!' form).
    lines = [ln for ln in raw("set_ftrace_filter").splitlines() if not ln.startswith("#")]
    assert any(re.fullmatch(r"vfs_read:traceoff:count=\d+", ln) for ln in lines), lines
    session.apply([plan_trigger_removal(ln) for ln in lines])
    assert read_filter(session.tfs, "set_ftrace_filter").triggers == []


# -- engine bugs found here (regression tests) ---------------------------------------


def test_several_entries_in_one_change(tmp_path: Path, cat: Catalog) -> None:
    sess = Session(Tracefs(TRACEFS), journal_dir=tmp_path)
    picks = [cat.indices_of(n)[0] for n in ("vfs_read", "vfs_write", "vfs_open")]
    try:
        sess.apply(plan_set("set_ftrace_filter", picks))
        assert names(sess, "set_ftrace_filter") == ["vfs_open", "vfs_read", "vfs_write"]
    finally:
        sess.restore()
        raw_write("set_ftrace_filter", "")


def test_refused_replace_leaves_the_filter_as_it_was(tmp_path: Path) -> None:
    sess = Session(Tracefs(TRACEFS), journal_dir=tmp_path)
    try:
        sess.apply(plan_set("set_ftrace_filter", ["vfs_read"]))
        with pytest.raises(TransactionError):
            sess.apply(plan_set("set_ftrace_filter", ["no_such_function_q"]))
        assert names(sess, "set_ftrace_filter") == ["vfs_read"]
    finally:
        sess.restore()
        raw_write("set_ftrace_filter", "")


def test_session_restore_removes_a_counted_trigger(tmp_path: Path) -> None:
    sess = Session(Tracefs(TRACEFS), journal_dir=tmp_path)
    try:
        sess.apply([plan_trigger("vfs_fsync", "traceoff", 5)])
        sess.restore()
        assert parse_filter(raw("set_ftrace_filter")).triggers == []
    finally:
        for t in parse_filter(raw("set_ftrace_filter")).triggers:
            raw_write("set_ftrace_filter", t.removal(), append=True)
