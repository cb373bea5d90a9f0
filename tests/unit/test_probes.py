"""kprobe/uprobe definitions (ftop.engine.ftrace.probes) and error_log entries (ftop.engine.control.error_log)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from captures import lab_text
from ftop.engine.control.error_log import parse_error_log
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import ConfigError, NotSupported
from ftop.engine.ftrace.probes import (
    explain_refusal,
    kprobe,
    list_probes,
    parse_probe,
    plan_create,
    plan_remove,
    uprobe,
)

# kprobe_events as the 6.1-rt lab kernel listed it after
#   echo 'p:myprobe vfs_read file=$arg1 count=$arg3:u64' >> kprobe_events
#   echo 'r:myretprobe vfs_read ret=$retval' >> kprobe_events
#   echo 'p:mygrp/p2 do_sys_openat2+0x5 dfd=%di:s32' >> kprobe_events
#   echo 'p vfs_write' >> kprobe_events
# (the group is filled in, r gets its maxactive, offsets print in decimal).
LISTED = """\
p:kprobes/myprobe vfs_read file=$arg1 count=$arg3:u64
r10:kprobes/myretprobe vfs_read ret=$retval
p:mygrp/p2 do_sys_openat2+5 dfd=%di:s32
p:kprobes/p_vfs_write_0 vfs_write
"""


def test_kprobe_events_listing_parses_and_round_trips() -> None:
    lines = LISTED.splitlines()
    probes = [parse_probe(ln, "kprobe") for ln in lines]
    assert [p.name for p in probes] == [
        "kprobes/myprobe",
        "kprobes/myretprobe",
        "mygrp/p2",
        "kprobes/p_vfs_write_0",
    ]
    assert probes[0].args == ("file=$arg1", "count=$arg3:u64")
    assert probes[2].target == "do_sys_openat2+5"
    for p, ln in zip(probes, lines):
        assert p.definition() == ln
        assert parse_probe(p.definition(), "kprobe") == p


def test_recorded_kprobe_definitions_validate() -> None:
    """The definitions the fixture recorder wrote (README of lab-6.1-rt)."""
    readme = lab_text("README.md")
    defs = re.findall(r"echo '([pr]:kprobes/ftop_open\S* [^']*)' >> kprobe_events", readme)
    assert len(defs) >= 2
    for d in defs:
        p = parse_probe(d)
        assert p.definition() == d
    # and the events they produced are in the trace, named as the definitions say
    trace = lab_text("kprobe.trace.txt")
    assert "ftop_open:" in trace and "ftop_open_ret:" in trace


def test_read_back_shapes_from_the_lab_kernel() -> None:
    r = parse_probe("r10:kprobes/myretprobe vfs_read ret=$retval")
    assert (r.ret, r.maxactive, r.name) == (True, 10, "kprobes/myretprobe")
    u = parse_probe("p:uprobes/myup /bin/true:0x0000000000001000", "uprobe")
    assert (u.kind, u.target, u.file) == ("uprobe", "/bin/true:0x0000000000001000", "uprobe_events")
    auto = parse_probe("p vfs_write")
    assert auto.name == "kprobes/p_vfs_write_0"  # the kernel's own naming


def test_builders_validate_shape() -> None:
    p = kprobe("vfs_read", "ftop_read", ["file=$arg1", "count=$arg3:u64", "+0(%si):string"])
    assert (
        p.definition() == "p:kprobes/ftop_read vfs_read file=$arg1 count=$arg3:u64 +0(%si):string"
    )
    assert kprobe("do_sys_openat2+0x5").event == "p_do_sys_openat2_5"
    assert uprobe("/bin/true", 0x1000, "t").definition() == "p:uprobes/t /bin/true:0x1000"
    for bad in (
        lambda: kprobe("vfs_read", "9bad"),
        lambda: kprobe("vfs read"),
        lambda: kprobe("vfs_read+4", "r1", ret=True),
        lambda: kprobe("vfs_read", "x", ["count=$arg3:u7"]),
        lambda: kprobe("vfs_read", "x", ["a=$arg1", "a=$arg2"]),
        lambda: kprobe("vfs_read", "x", ["bogus"]),
        lambda: kprobe("vfs_read", "x", maxactive=4),
        lambda: uprobe("relative/path", 16),
        lambda: parse_probe("x:foo vfs_read"),
    ):
        with pytest.raises(ConfigError):
            bad()


def test_plans_append_and_remove_disables_first() -> None:
    p = kprobe("vfs_read", "ftop_read", ["count=$arg3:u64"])
    create = plan_create(p, enable=True)
    assert [(c.rel, c.value, c.append) for c in create] == [
        ("kprobe_events", "p:kprobes/ftop_read vfs_read count=$arg3:u64", True),
        ("events/kprobes/ftop_read/enable", "1", False),
    ]
    remove = plan_remove(p)
    assert [(c.rel, c.value, c.append) for c in remove] == [
        ("events/kprobes/ftop_read/enable", "0", False),
        ("kprobe_events", "-:kprobes/ftop_read", True),
    ]


def test_list_probes_reads_enable_state(tmp_path: Path) -> None:
    (tmp_path / "kprobe_events").write_text(
        "p:kprobes/ftop_open do_sys_openat2 dfd=%di:s32\nr:kprobes/ftop_open_ret do_sys_openat2\n"
    )
    (tmp_path / "uprobe_events").write_text("p:uprobes/myup /bin/true:0x0000000000001000\n")
    (tmp_path / "events/kprobes/ftop_open").mkdir(parents=True)
    (tmp_path / "events/kprobes/ftop_open/enable").write_text("1\n")
    got = {p.name: p.enabled for p in list_probes(Tracefs(tmp_path))}
    assert got == {"kprobes/ftop_open": True, "kprobes/ftop_open_ret": None, "uprobes/myup": None}


def test_real_error_log_entries_and_caret() -> None:
    text = lab_text("error_log.bad-kprobe+bad-filter.txt")
    entries = parse_error_log(text)
    assert [e.location for e in entries] == ["trace_kprobe", "event filter parse error"]
    kp = entries[0]
    assert kp.message == "Invalid probed address or symbol"
    assert kp.command == "p:bad no_such_symbol_q"
    assert kp.caret is not None and kp.command[kp.caret :].startswith("no_such_symbol_q")
    assert entries[1].command == "prev_pid === 0"
    assert parse_error_log(lab_text("error_log.unknown-function.txt")) == []


def test_explain_refusal_prefers_the_error_log_over_the_errno() -> None:
    """6.1 answers ENOENT to an unknown kprobe symbol: not a missing feature.

    Regression: the caret block appeared twice on the probes screen, once from
    this sentence and once from the error_log lines shown verbatim beside it:
    the sentence is one line now, the caret is the error_log's."""
    log = lab_text("error_log.bad-kprobe.txt").splitlines()
    err = NotSupported("kprobe_events", "append", 2, "not available", "p:bad no_such_symbol_q", log)
    text = explain_refusal(err)
    assert "Invalid probed address or symbol" in text
    assert "p:bad no_such_symbol_q" in text
    assert "\n" not in text and "^" not in text
    assert "not available" not in text


def test_a_refused_uprobe_without_error_log_names_the_missing_file() -> None:
    """Regression: ENOENT from uprobe_events read as 'not built into this kernel'."""
    err = NotSupported(
        "uprobe_events", "append", 2, "not available: built without it", "p:u /no/such:0x10"
    )
    text = explain_refusal(err)
    assert "no such file: /no/such" in text
    assert "built" not in text and "ENOENT" not in text  # the errno line says it once


def test_a_uprobe_on_a_missing_file_is_refused_before_the_kernel(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match="does not exist"):
        plan_create(uprobe(str(missing), 0x10, "u"))
    with pytest.raises(ConfigError, match="not a regular file"):
        plan_create(uprobe(str(tmp_path), 0x10, "u"))
    real = tmp_path / "prog"
    real.write_bytes(b"\x7fELF")
    assert plan_create(uprobe(str(real), 0x10, "u"))[0].rel == "uprobe_events"
