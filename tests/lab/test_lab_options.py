"""Options, clock, cpumask, buffer size and instances on the real 6.1-rt kernel."""

from __future__ import annotations

import pytest
from engine_lab import raw, session_fixture  # noqa: F401
from ftop.engine.control.instance import list_instances, remove_instance, use_instance
from ftop.engine.control.session import Session
from ftop.engine.ftrace.options import (
    list_options,
    plan_buffer_size_kb,
    plan_cpumask,
    plan_option,
    plan_trace_clock,
    read_buffer_size_kb,
    read_cpumask,
    read_trace_clock,
)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]


def test_options_clock_cpumask_buffer(session: Session) -> None:
    opts = {o.name: o for o in list_options(session.tfs)}
    assert "funcgraph-proc" in opts and opts["funcgraph-proc"].description
    assert all(o.description for o in opts.values()), [
        n for n, o in opts.items() if not o.description
    ]
    session.apply([plan_option("record-tgid", not opts["record-tgid"].enabled)])
    assert {o.name: o.enabled for o in list_options(session.tfs)}["record-tgid"] != opts[
        "record-tgid"
    ].enabled
    current, offered = read_trace_clock(session.tfs)
    other = "global" if current != "global" else "mono"
    session.apply([plan_trace_clock(other, offered)])
    assert read_trace_clock(session.tfs)[0] == other
    cpus = read_cpumask(session.tfs)
    assert cpus == {0, 1}
    session.apply([plan_cpumask([0])])
    assert raw("tracing_cpumask").strip() == "1"
    size = read_buffer_size_kb(session.tfs)
    assert size is not None
    session.apply([plan_buffer_size_kb(size + 4)])
    assert read_buffer_size_kb(session.tfs) in (size + 4, size + 4 + 2)  # whole pages


def test_instance_created_used_and_removed(session: Session) -> None:
    use_instance(session, "ftop_lab_inst")
    infos = {
        i.name: i
        for i in list_instances(
            session.tfs, session.journal.created_instances if session.journal else []
        )
    }
    assert infos["ftop_lab_inst"].created_by_ftop
    assert "function" in infos["ftop_lab_inst"].tracers
    assert "function_graph" not in infos["ftop_lab_inst"].tracers  # refused in instances on 6.1
    remove_instance(session, "ftop_lab_inst")
    assert session.tfs.instance is None
    assert "ftop_lab_inst" not in {i.name for i in list_instances(session.tfs)}
