"""kprobes on the real 6.1-rt kernel (ftop.engine.ftrace.probes), and the kernel's error_log text."""

from __future__ import annotations

import errno

import pytest
from engine_lab import kernel_reads, raw, session_fixture  # noqa: F401
from ftop.engine.control.error_log import parse_error_log
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change, TransactionError
from ftop.engine.ftrace.probes import explain_refusal, kprobe, list_probes, plan_create, plan_remove
from ftop.engine.stream.parse import parse_line

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]


def test_kprobe_with_args_created_enabled_traced_removed(session: Session) -> None:
    p = kprobe("vfs_read", "ftop_lab_read", ["count=$arg3:u64", "pos=+0(%cx):s64"])
    session.apply([Change("trace", ""), *plan_create(p, enable=True)])
    listed = {q.name: q for q in list_probes(session.tfs)}
    assert listed["kprobes/ftop_lab_read"].enabled is True
    assert listed["kprobes/ftop_lab_read"].args == p.args
    kernel_reads(5)
    session.set_tracing_on(False)
    recs = [r for r in map(parse_line, raw("trace").splitlines()) if r.name == "ftop_lab_read"]
    assert recs and all(r.kind == "event" for r in recs)
    assert recs[0].fields is not None and "count=" in recs[0].fields
    session.set_tracing_on(True)
    # Removing an enabled probe is EBUSY: the plan disables first.
    session.apply(plan_remove(p))
    assert "kprobes/ftop_lab_read" not in {q.name for q in list_probes(session.tfs)}


def test_bad_kprobe_surfaces_the_error_log_with_caret(session: Session) -> None:
    with pytest.raises(TransactionError) as e:
        session.apply(plan_create(kprobe("no_such_symbol_q", "bad")))
    err = e.value
    assert err.errno in (errno.ENOENT, errno.EINVAL)  # 6.1: ENOENT for an unknown symbol
    (entry,) = parse_error_log(err.error_log)
    assert entry.location == "trace_kprobe"
    assert entry.message == "Invalid probed address or symbol"
    assert entry.caret is not None and entry.command is not None
    assert entry.command[entry.caret :].startswith("no_such_symbol_q")
    assert err.error_log[-1].strip() == "^"
    text = explain_refusal(err.cause if hasattr(err, "cause") else err)
    # One line: the caret block is the error_log's, shown once, verbatim, by the screen.
    assert "Invalid probed address or symbol" in text and "\n" not in text.strip()
    assert "^" not in text
    assert "kprobes/bad" not in {q.name for q in list_probes(session.tfs)}


def test_bad_event_filter_surfaces_the_error_log(session: Session) -> None:
    with pytest.raises(TransactionError) as e:
        session.set_event_filter("sched", "sched_switch", "prev_pid === 0")
    assert e.value.errno == errno.EINVAL
    (entry,) = parse_error_log(e.value.error_log)
    assert entry.command == "prev_pid === 0" and entry.caret is not None
    assert "Invalid value" in entry.message
    assert "prev_pid === 0" in str(e.value)
