"""Options, buffer, clock and cpumask helpers (ftop.engine.ftrace.options); instances listing."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftop.engine.control.instance import list_instances
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import ConfigError
from ftop.engine.ftrace.options import (
    OPTION_DESCRIPTIONS,
    cpumask_text,
    list_options,
    parse_cpumask,
    plan_buffer_size_kb,
    plan_cpumask,
    plan_option,
    plan_trace_clock,
    read_buffer_size_kb,
    read_trace_clock,
)

HOST = Path(__file__).resolve().parent.parent / "fixtures" / "host-6.18"


def test_cpumask_format_round_trips() -> None:
    assert parse_cpumask("3\n") == {0, 1}
    assert parse_cpumask("ff,ffffffff") == set(range(40))
    assert cpumask_text(range(40)) == "ff,ffffffff"
    assert cpumask_text([0]) == "1"
    assert cpumask_text([32]) == "1,00000000"
    assert plan_cpumask([1, 0, 1]).value == "3"
    with pytest.raises(ConfigError):
        plan_cpumask([])


def test_trace_clock_from_a_real_read(tmp_path: Path) -> None:
    (tmp_path / "trace_clock").write_text((HOST / "trace_clock.txt").read_text())
    current, offered = read_trace_clock(Tracefs(tmp_path))
    assert current in offered and "global" in offered and "x86-tsc" in offered
    assert plan_trace_clock("global", offered).value == "global"
    with pytest.raises(ConfigError):
        plan_trace_clock("sundial", offered)


def test_buffer_size(tmp_path: Path) -> None:
    (tmp_path / "buffer_size_kb").write_text("7 (expanded: 1408)\n")
    assert read_buffer_size_kb(Tracefs(tmp_path)) == 1408
    (tmp_path / "buffer_size_kb").write_text("X\n")
    assert read_buffer_size_kb(Tracefs(tmp_path)) is None
    assert plan_buffer_size_kb(4096, cpu=1).rel == "per_cpu/cpu1/buffer_size_kb"
    with pytest.raises(ConfigError):
        plan_buffer_size_kb(0)


def test_options_from_dir_with_descriptions(tmp_path: Path) -> None:
    (tmp_path / "options").mkdir()
    for name, v in (("funcgraph-proc", "0"), ("overwrite", "1"), ("weird-new", "1")):
        (tmp_path / "options" / name).write_text(v + "\n")
    opts = {o.name: o for o in list_options(Tracefs(tmp_path))}
    assert opts["overwrite"].enabled and not opts["funcgraph-proc"].enabled
    assert opts["funcgraph-proc"].applies_to("function_graph")
    assert not opts["funcgraph-proc"].applies_to("function")
    assert opts["weird-new"].description == ""
    assert plan_option("funcgraph-proc", True).rel == "options/funcgraph-proc"


def test_every_real_trace_option_has_a_description() -> None:
    words = (HOST / "trace_options.txt").read_text().split()
    names = {w[2:] if w.startswith("no") and w[2:] in OPTION_DESCRIPTIONS else w for w in words}
    assert names - set(OPTION_DESCRIPTIONS) == set()


def test_trace_options_fallback(tmp_path: Path) -> None:
    (tmp_path / "trace_options").write_text("print-parent\nnosym-offset\n")
    opts = {o.name: o.enabled for o in list_options(Tracefs(tmp_path))}
    assert opts == {"print-parent": True, "sym-offset": False}


def test_list_instances(tmp_path: Path) -> None:
    inst = tmp_path / "instances" / "foo"
    inst.mkdir(parents=True)
    (inst / "current_tracer").write_text("function\n")
    (inst / "tracing_on").write_text("0\n")
    (inst / "available_tracers").write_text("function nop\n")
    (inst / "set_event").write_text("sched:sched_switch\n")
    (got,) = list_instances(Tracefs(tmp_path), created=["foo"])
    assert (got.name, got.tracer, got.tracing_on, got.tracers, got.events_enabled) == (
        "foo",
        "function",
        False,
        ["function", "nop"],
        1,
    )
    assert got.created_by_ftop
