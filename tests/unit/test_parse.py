"""Parsing of ftrace text output (ftop.engine.stream.parse), on excerpts and on real captures."""

from __future__ import annotations

import dataclasses
import gzip
import re
from pathlib import Path

import pytest
from ftop.engine.stream.parse import (
    GRAPH_KINDS,
    KINDS,
    Record,
    is_unparsed,
    parse_latency_trace,
    parse_line,
)

# --------------------------------------------------------------------------
# Default context (trace_print_context)
# --------------------------------------------------------------------------


def test_event_line_fields_come_from_the_context_columns() -> None:
    line = (
        "         python3-10705   [000] d..2.   883.116304: sched_switch: prev_comm=python3"
        " prev_pid=10705 prev_prio=120 prev_state=D ==> next_comm=python3 next_pid=10749"
        " next_prio=120"
    )
    r = parse_line(line)
    assert r.kind == "event"
    assert r.comm == "python3"
    assert r.pid == 10705
    assert r.tgid is None
    assert r.cpu == 0
    assert r.flags == "d..2."
    assert r.ts == pytest.approx(883.116304)
    assert r.name == "sched_switch"
    assert r.fields is not None and r.fields.startswith("prev_comm=python3 prev_pid=10705")
    assert r.fields.endswith("next_prio=120")
    assert r.raw == line


@pytest.mark.parametrize(
    ("line", "comm", "pid"),
    [
        (" qemu-system-x86-9380    [001] d.h..   883.862078: x: y", "qemu-system-x86", 9380),
        (" memfd:sealed-91-4549    [001] d..2.   883.336089: x: y", "memfd:sealed-91", 4549),
        (
            " kworker/u8:1-events_unbound-87 [000] .....  12.000001: x: y",
            "kworker/u8:1-events_unbound",
            87,
        ),
        ("     Web Content-4242    [001] ...1.  5000.100000: x: y", "Web Content", 4242),
        ("          <idle>-0       [000] dNh2.   230.859933: x: y", "<idle>", 0),
        ("           <...>-123     [003] ....   100.000000: x: y", "<...>", 123),
        ("    [pid 7] odd-77       [002] .....   1.000000: x: y", "[pid 7] odd", 77),
    ],
)
def test_comm_may_hold_spaces_dashes_digits_and_brackets(line: str, comm: str, pid: int) -> None:
    r = parse_line(line)
    assert (r.kind, r.comm, r.pid, r.name) == ("event", comm, pid, "x")


@pytest.mark.parametrize(
    ("flags_col", "flags"),
    [("....", "...."), ("d..2.", "d..2."), ("dn.h5..", "dn.h5.."), ("dNhs1.3.", "dNhs1.3.")],
)
def test_flags_column_of_4_5_7_or_8_characters(flags_col: str, flags: str) -> None:
    r = parse_line(f"            bash-1234    [001] {flags_col}  1234.567890: vfs_read <-ksys_read")
    assert r.flags == flags
    assert (r.kind, r.cpu, r.ts) == ("function", 1, pytest.approx(1234.56789))


def test_missing_irq_info_columns_leave_flags_none() -> None:
    r = parse_line("            bash-1234    [001]   1234.567890: do_sys_open <-__x64_sys_openat")
    assert r.flags is None
    assert (r.kind, r.name, r.parent, r.cpu) == ("function", "do_sys_open", "__x64_sys_openat", 1)


def test_record_tgid_column_with_a_value_and_with_dashes() -> None:
    r = parse_line("            bash-1234    (   1200) [001] d..2.  12.5: vfs_read <-ksys_read")
    assert (r.pid, r.tgid, r.cpu) == (1234, 1200, 1)
    r = parse_line("            bash-1234    (-------) [001] d..2.  12.5: vfs_read <-ksys_read")
    assert (r.pid, r.tgid, r.cpu) == (1234, None, 1)
    r = parse_line("          <idle>-0     (-----) [000] d..2.  12.5: vfs_read <-ksys_read")
    assert (r.pid, r.tgid, r.cpu, r.comm) == (0, None, 0, "<idle>")


def test_counter_clock_timestamp_without_a_dot_is_kept_as_the_raw_count() -> None:
    r = parse_line("            bash-1234    [001] .....  12345678901: do_sys_open <-x64_sys_open")
    assert r.kind == "function"
    assert r.ts == 12345678901.0


def test_function_line_with_symbol_offsets_strips_them_from_name_and_parent() -> None:
    r = parse_line(
        "            bash-1234    [001] d..2.  1234.567890: vfs_read+0x4/0x150 <-ksys_read+0x6b/0xf0"
    )
    assert (r.kind, r.name, r.parent) == ("function", "vfs_read", "ksys_read")
    assert "vfs_read+0x4/0x150" in r.raw


def test_function_line_with_module_and_addresses() -> None:
    r = parse_line(
        "     kworker/0:1-28      [000] .....   50.000001: ext4_file_read_iter+0x0/0x190 [ext4]"
        " <ffffffffc0a1b2c0> <-vfs_read+0x1b/0x150 <ffffffff8131f00b>"
    )
    assert (r.kind, r.name, r.parent, r.fields) == (
        "function",
        "ext4_file_read_iter",
        "vfs_read",
        None,
    )


def test_function_line_without_parent_is_still_a_function() -> None:
    r = parse_line("            bash-1234    [001] ....   10.000000: do_sys_open")
    assert (r.kind, r.name, r.parent) == ("function", "do_sys_open", None)


def test_function_repeats_tail_is_kept_in_fields() -> None:
    r = parse_line(
        "          <idle>-0       [001] d..1.   10.000000: arch_cpu_idle <-do_idle"
        " (repeats: 5, last_ts:    10.000123)"
    )
    assert (r.kind, r.name, r.parent) == ("function", "arch_cpu_idle", "do_idle")
    assert r.fields == "(repeats: 5, last_ts:    10.000123)"


def test_trace_marker_write_is_kind_marker_with_its_text() -> None:
    r = parse_line(
        "         python3-10705   [000] ...1.   883.830278: tracing_mark_write: ftop fixture marker 0"
    )
    assert (r.kind, r.name, r.fields, r.pid) == (
        "marker",
        "tracing_mark_write",
        "ftop fixture marker 0",
        10705,
    )


def test_marker_text_with_colons_stays_whole() -> None:
    r = parse_line("  sh-1 [000] ...1. 9.000000: tracing_mark_write: a: b: c")
    assert (r.kind, r.fields) == ("marker", "a: b: c")


def test_kprobe_event_keeps_probe_site_and_arguments_in_fields() -> None:
    r = parse_line(
        "             cat-301     [001] d..3.    77.000001: p_vfs_read_0: (vfs_read+0x4/0x150)"
        " arg1=0x3"
    )
    assert (r.kind, r.name, r.fields) == ("event", "p_vfs_read_0", "(vfs_read+0x4/0x150) arg1=0x3")
    r = parse_line(
        "             cat-301     [001] d..3.    77.000002: ftop_open_ret: (do_sys_openat2+0x9c/0x160"
        " <- do_sys_open) ret=0x3"
    )
    assert (r.kind, r.name) == ("event", "ftop_open_ret")


# Syscall events (kernel/trace/trace_syscalls.c) print no "name:" head. The
# context columns below are copied from host-6.18/all-events.trace_pipe.txt; the
# bodies follow print_syscall_enter() ("%s(", "%s: %lx" per argument joined by
# ", ", each value led by its type with the verbose option, ")") and
# print_syscall_exit() ("%s -> 0x%lx"), with openat's argument names from
# lab-6.1-rt/format.syscalls.sys_enter_openat.txt.
SYSCALL_CTX = "            ftop-434     [001] .....  4022.737551: "


@pytest.mark.parametrize(
    ("body", "name", "fields"),
    [
        ("sys_getpid()", "sys_enter_getpid", None),
        ("sys_getpid -> 0x1b2", "sys_exit_getpid", "0x1b2"),
        (
            "sys_openat(dfd: ffffff9c, filename: 7ffd3c1e2a10, flags: 80000, mode: 0)",
            "sys_enter_openat",
            "dfd: ffffff9c, filename: 7ffd3c1e2a10, flags: 80000, mode: 0",
        ),
        (
            "sys_openat(int dfd: ffffff9c, const char * filename: 7ffd3c1e2a10, int flags: 80000,"
            " umode_t mode: 0)",
            "sys_enter_openat",
            "int dfd: ffffff9c, const char * filename: 7ffd3c1e2a10, int flags: 80000,"
            " umode_t mode: 0",
        ),
        ("sys_openat -> 0xfffffffffffffffe", "sys_exit_openat", "0xfffffffffffffffe"),
    ],
)
def test_syscall_enter_and_exit_are_events_named_after_the_syscall_event(
    body: str, name: str, fields: str
) -> None:
    r = parse_line(SYSCALL_CTX + body)
    assert (r.kind, r.name, r.fields, r.comm, r.pid, r.cpu) == (
        "event",
        name,
        fields,
        "ftop",
        434,
        1,
    )
    # Without the context columns (context-info off) too, and as a function_graph comment.
    r = parse_line(body)
    assert (r.kind, r.name, r.fields) == ("event", name, fields)
    r = parse_line(f" 1)               |    /* {body} */")
    assert (r.kind, r.graph_kind, r.name) == ("graph", "comment", name)


def test_function_with_func_args_named_like_a_syscall_stays_a_function() -> None:
    # The function tracer's func-args option prints "name(arg=value, ...)".
    r = parse_line(SYSCALL_CTX + "sys_mmap(addr=0x0, len=0x1000)")
    assert (r.kind, r.name) == ("function", "sys_mmap")
    r = parse_line(SYSCALL_CTX + "sys_mmap(addr=0x0, len=0x1000) <-do_syscall_64")
    assert (r.kind, r.name, r.parent) == ("function", "sys_mmap", "do_syscall_64")


def test_event_whose_name_starts_with_a_digit() -> None:
    r = parse_line("  sh-1 [000] ..... 9.000000: 9p_client_req: client 1 request P9_TWALK tag  1")
    assert (r.kind, r.name) == ("event", "9p_client_req")


def test_event_without_payload() -> None:
    r = parse_line("  sh-1 [000] ..... 9.000000: rcu_barrier:")
    assert (r.kind, r.name, r.fields) == ("event", "rcu_barrier", None)


def test_trace_printk_line_is_an_event_named_after_the_caller() -> None:
    r = parse_line("          insmod-500     [000] .....   20.000000: my_init: hello 42")
    assert (r.kind, r.name, r.fields) == ("event", "my_init", "hello 42")


def test_stack_trace_opener_and_frames() -> None:
    opener = parse_line("          <idle>-0       [000] d.h..   230.859993: <stack trace>")
    assert (opener.kind, opener.name, opener.fields, opener.cpu) == (
        "stack",
        None,
        "<stack trace>",
        0,
    )
    frame = parse_line(" => __hrtimer_run_queues+0x112/0x2b0")
    assert (frame.kind, frame.name, frame.fields) == (
        "stack",
        "__hrtimer_run_queues",
        "__hrtimer_run_queues+0x112/0x2b0",
    )
    user = parse_line(" => /usr/lib/x86_64-linux-gnu/libc.so.6[+0x11a2e7]")
    assert (user.kind, user.name) == ("stack", "/usr/lib/x86_64-linux-gnu/libc.so.6[+0x11a2e7]")
    assert parse_line("          bash-1 [000] ..... 1.0: <user stack trace>").kind == "stack"


def test_lost_events_marker_carries_cpu_and_count() -> None:
    r = parse_line("CPU:1 [LOST 136165 EVENTS]")
    assert (r.kind, r.cpu, r.lost) == ("lost", 1, 136165)


def test_buffer_started_annotation_is_a_loss_marker_without_count() -> None:
    r = parse_line("##### CPU 3 buffer started ####")
    assert (r.kind, r.cpu, r.lost) == ("lost", 3, None)


@pytest.mark.parametrize(
    "line",
    [
        "# tracer: function",
        "#",
        "# entries-in-buffer/entries-written: 964/964   #P:2",
        "#                                _-----=> irqs-off/BH-disabled",
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
        "# CPU  DURATION                  FUNCTION CALLS",
    ],
)
def test_hash_lines_are_headers(line: str) -> None:
    assert parse_line(line).kind == "header"


# --------------------------------------------------------------------------
# Latency format (trace_print_lat_context) and the wakeup tracers' records
# --------------------------------------------------------------------------


def test_latency_format_line() -> None:
    r = parse_line("  <idle>-0         1dN.2.    3us+: try_to_wake_up <-wake_up_process")
    assert (r.kind, r.comm, r.pid, r.cpu, r.flags) == ("function", "<idle>", 0, 1, "dN.2.")
    assert r.ts == pytest.approx(3e-6)
    assert r.duration_mark == "+"
    assert (r.name, r.parent) == ("try_to_wake_up", "wake_up_process")


def test_latency_format_line_with_rt_flags_and_no_mark() -> None:
    r = parse_line(" kworker/-28        1d..3..  12us : __schedule <-schedule")
    assert (r.comm, r.pid, r.cpu, r.flags, r.duration_mark) == ("kworker/", 28, 1, "d..3..", None)
    assert r.ts == pytest.approx(12e-6)


def test_wakeup_tracer_context_switch_and_wakeup_records() -> None:
    sw = parse_line(
        "    bash-1234      0d..1    0us :    1234:120:R ==> [000]      28:120:R kworker/0:1"
    )
    assert (sw.kind, sw.name, sw.cpu, sw.pid) == ("event", "sched_switch", 0, 1234)
    assert sw.fields == "1234:120:R ==> [000]      28:120:R kworker/0:1"
    wk = parse_line(
        "  <idle>-0         1dNh5.    2us :       0:120:R   + [001]      28: 49:R kworker/1:1"
    )
    assert (wk.kind, wk.name) == ("event", "sched_wakeup")


def test_wakeup_tracer_entries_with_a_null_or_unknown_ip() -> None:
    # seq_print_ip_sym() prints "0" for ip 0 (seen in the 6.1-rt lab's wakeup trace).
    r = parse_line("  python-147       0dn.h4.. 3339us#: 0")
    assert (r.kind, r.name, r.comm, r.pid, r.cpu, r.flags) == (
        "function",
        "0",
        "python",
        147,
        0,
        "dn.h4..",
    )
    assert (r.duration_mark, r.ts) == ("#", pytest.approx(3339e-6))
    r = parse_line("kworker/-152       1dn.h5.. 69873us : 0xffffffffc0a01234")
    assert (r.kind, r.name, r.comm) == ("function", "0xffffffffc0a01234", "kworker/")
    r = parse_line("  python-147       0d...3.. 4735us+: __schedule")
    assert (r.kind, r.name, r.parent) == ("function", "__schedule", None)


def test_context_switch_record_whose_padded_prio_looks_like_an_event_name() -> None:
    # Regression (6.1-rt lab, wakeup trace_pipe): "17: 98:I" parsed as an event named "17".
    r = parse_line(
        "rcu_pree-17        0d...3.. 35851284us :       17: 98:I ==> [000]      19: 98:R rcuc/0"
    )
    assert (r.kind, r.name, r.comm, r.pid, r.cpu) == ("event", "sched_switch", "rcu_pree", 17, 0)
    assert r.fields == "17: 98:I ==> [000]      19: 98:R rcuc/0"


def test_verbose_latency_format_line() -> None:
    r = parse_line(
        "          <idle>       0   1 0 00000000 00000000 [0000012a] 0.298ms (+0.000ms): "
        "tick_sched_timer <-__hrtimer_run_queues"
    )
    assert (r.kind, r.comm, r.pid, r.cpu, r.name) == (
        "function",
        "<idle>",
        0,
        1,
        "tick_sched_timer",
    )
    assert r.ts == pytest.approx(0x12A / 1e6)


LATENCY_TRACE = """\
# tracer: wakeup_rt
#
# wakeup_rt latency trace v1.1.5 on 6.1.0-56-rt-amd64
# --------------------------------------------------------------------
# latency: 67 us, #6/6, CPU#1 | (M:preempt_rt VP:0, KP:0, SP:0 HP:0 #P:2)
#    -----------------
#    | task: kworker/1:1-28 (uid:0 nice:-20 policy:1 rt_prio:50)
#    -----------------
#
#                    _--------=> CPU#
#                   / _-------=> irqs-off/BH-disabled
#                  | / _------=> need-resched
#                  || / _-----=> need-resched-lazy
#                  ||| / _----=> hardirq/softirq
#                  |||| / _---=> preempt-depth
#                  ||||| / _--=> preempt-lazy-depth
#                  |||||| / _-=> migrate-disable
#                  ||||||| /     delay
#  cmd     pid     |||||||| time  |   caller
#     \\   /        ||||||||  \\    |    /
  <idle>-0         1dNh5...    0us :        0:120:R   + [001]      28: 49:R kworker/1:1
  <idle>-0         1dNh5...    2us+: <stack trace>
 => __ftrace_trace_stack
 => probe_wakeup+0x2b0/0x3a0
 => try_to_wake_up+0x2f1/0x6b0
  <idle>-0         1dN.3...   64us : __schedule <-schedule
  <idle>-0         1d..3...   66us :        0:120:R ==> [001]      28: 49:R kworker/1:1
  <idle>-0         1d..3...   67us : <stack trace>
 => __schedule+0x3c6/0xa90
 => schedule_idle+0x26/0x40
"""


def test_parse_latency_trace_reads_header_records_and_stacks() -> None:
    lt = parse_latency_trace(LATENCY_TRACE)
    assert lt.tracer == "wakeup_rt"
    assert lt.kernel_release == "6.1.0-56-rt-amd64"
    assert (lt.latency_us, lt.entries_shown, lt.entries_total, lt.cpu) == (67, 6, 6, 1)
    assert (lt.preempt_model, lt.online_cpus) == ("preempt_rt", 2)
    assert (lt.task_comm, lt.task_pid) == ("kworker/1:1", 28)
    assert (lt.uid, lt.nice, lt.policy, lt.rt_prio) == (0, -20, 1, 50)
    assert lt.unparsed == 0
    assert [r.kind for r in lt.records if r.kind != "stack"] == ["event", "function", "event"]
    assert lt.stacks == [
        ["__ftrace_trace_stack", "probe_wakeup+0x2b0/0x3a0", "try_to_wake_up+0x2f1/0x6b0"],
        ["__schedule+0x3c6/0xa90", "schedule_idle+0x26/0x40"],
    ]
    assert lt.records[-4].ts == pytest.approx(66e-6)


def test_parse_latency_trace_reads_irqsoff_start_and_end() -> None:
    lt = parse_latency_trace(
        "# tracer: irqsoff\n"
        "# irqsoff latency trace v1.1.5 on 6.1.0\n"
        "# latency: 16 us, #4/4, CPU#0 | (M:preempt VP:0, KP:0, SP:0 HP:0 #P:4)\n"
        "#    | task: swapper/0-0 (uid:0 nice:0 policy:0 rt_prio:0)\n"
        "#  => started at: __lock_text_start\n"
        "#  => ended at:   _raw_spin_unlock_irqrestore\n"
        "    bash-1234      0d..1    0us : _raw_spin_lock_irqsave <-foo\n"
    )
    assert (lt.tracer, lt.latency_us, lt.preempt_model, lt.online_cpus) == (
        "irqsoff",
        16,
        "preempt",
        4,
    )
    assert (lt.task_comm, lt.task_pid) == ("swapper/0", 0)
    assert (lt.started_at, lt.ended_at) == ("__lock_text_start", "_raw_spin_unlock_irqrestore")
    assert len(lt.records) == 1 and lt.records[0].name == "_raw_spin_lock_irqsave"


# --------------------------------------------------------------------------
# function_graph (print_graph_*)
# --------------------------------------------------------------------------


def test_graph_leaf_entry_and_exit_with_depth_from_indentation() -> None:
    leaf = parse_line(" 1)   0.123 us    |        foo();")
    assert (leaf.kind, leaf.graph_kind, leaf.name, leaf.cpu, leaf.depth) == (
        "graph",
        "leaf",
        "foo",
        1,
        3,
    )
    assert leaf.duration_us == pytest.approx(0.123)
    assert leaf.duration_mark is None
    entry = parse_line(" 0)               |  vfs_read() {")
    assert (entry.graph_kind, entry.name, entry.depth, entry.duration_us) == (
        "entry",
        "vfs_read",
        0,
        None,
    )
    exit_ = parse_line(" 0)   4.567 us    |  }")
    assert (exit_.graph_kind, exit_.name, exit_.depth) == ("exit", None, 0)
    assert exit_.duration_us == pytest.approx(4.567)


@pytest.mark.parametrize("mark", ["+", "!", "#", "*", "@", "$"])
def test_graph_duration_marks(mark: str) -> None:
    r = parse_line(f" 1) {mark} 12.345 us   |    }}")
    assert (r.graph_kind, r.duration_mark, r.depth) == ("exit", mark, 1)
    assert r.duration_us == pytest.approx(12.345)


def test_graph_long_duration_has_no_decimals() -> None:
    r = parse_line(" 0) $ 1234567 us  |  }")
    assert r.duration_us == 1234567.0
    assert r.duration_mark == "$"


def test_graph_exit_with_funcgraph_tail_names_the_function() -> None:
    r = parse_line(" 1) + 12.345 us   |  } /* vfs_read */")
    assert (r.graph_kind, r.name) == ("exit", "vfs_read")
    r = parse_line(" 1)   1.000 us    |  } /* vfs_read = 0x40 */")
    assert (r.graph_kind, r.name) == ("exit", "vfs_read")


def test_graph_comment_from_an_event_and_from_trace_printk() -> None:
    r = parse_line(" 1)               |    /* sched_switch: prev_comm=bash prev_pid=1 */")
    assert (r.kind, r.graph_kind, r.name) == ("graph", "comment", "sched_switch")
    assert r.fields == "sched_switch: prev_comm=bash prev_pid=1"
    r = parse_line(" 0)               |  /* hello world */")
    assert (r.graph_kind, r.name, r.fields) == ("comment", None, "hello world")


def test_graph_context_switch_block() -> None:
    sep = parse_line(" ------------------------------------------")
    assert (sep.kind, sep.graph_kind) == ("graph", "switch")
    sw = parse_line(" 1)   bash-123    =>  <idle>-0   ")
    assert (sw.kind, sw.graph_kind, sw.cpu, sw.pid, sw.comm) == ("graph", "switch", 1, 0, "<idle>")
    assert sw.fields == "bash-123 => <idle>-0"
    assert not is_unparsed(parse_line(""))


def test_graph_with_funcgraph_proc_column() -> None:
    r = parse_line(" 1)   bash-1234    |   0.531 us    |  __rcu_read_lock();")
    assert (r.graph_kind, r.comm, r.pid, r.cpu, r.name) == (
        "leaf",
        "bash",
        1234,
        1,
        "__rcu_read_lock",
    )
    r = parse_line(" 0)  Web Con-4242  |               |  vfs_read() {")
    assert (r.graph_kind, r.comm, r.pid) == ("entry", "Web Con", 4242)


def test_graph_with_funcgraph_abstime_column() -> None:
    r = parse_line(" 1234.567890 |   1)   0.123 us    |  foo();")
    assert r.ts == pytest.approx(1234.56789)
    assert (r.graph_kind, r.cpu, r.name, r.depth) == ("leaf", 1, "foo", 0)


def test_graph_with_latency_flags_column() -> None:
    r = parse_line(" 0)  d..1.  0.123 us    |  foo();")
    assert (r.graph_kind, r.flags, r.name) == ("leaf", "d..1.", "foo")
    r = parse_line(" 0)  d..1. |   0.123 us    |  foo();")
    assert (r.graph_kind, r.flags, r.name) == ("leaf", "d..1.", "foo")


def test_graph_irq_markers() -> None:
    assert parse_line(" 1)   ==========> |").graph_kind == "irq_entry"
    assert parse_line(" 1)   <========== |").graph_kind == "irq_exit"


def test_graph_function_arguments_and_return_values_go_to_fields() -> None:
    r = parse_line(" 1)               |  vfs_read(file=0xff, buf=0x7f, count=0x10) {")
    assert (r.graph_kind, r.name, r.fields) == (
        "entry",
        "vfs_read",
        "file=0xff, buf=0x7f, count=0x10",
    )
    r = parse_line(" 1)   0.150 us    |  bar(); /* = 0x0 */")
    assert (r.graph_kind, r.name, r.fields) == ("leaf", "bar", "/* = 0x0 */")


def test_graph_call_of_a_module_function_drops_the_module_from_the_name() -> None:
    # Lines from the 6.1-rt lab kernel: "%ps" prints "name [module]".
    r = parse_line(" 0)               |    ovl_read_iter [overlay]() {")
    assert (r.graph_kind, r.name, r.depth) == ("entry", "ovl_read_iter", 1)
    r = parse_line(" 0)    cat-150     |   3.305 us    |        ovl_d_real [overlay]();")
    assert (r.graph_kind, r.name, r.comm, r.pid, r.depth) == ("leaf", "ovl_d_real", "cat", 150, 3)
    assert r.duration_us == pytest.approx(3.305)


def test_graph_without_duration_column() -> None:
    r = parse_line(" 1)    foo();")
    assert (r.kind, r.graph_kind, r.name, r.depth) == ("graph", "leaf", "foo", 1)


def test_graph_overrun_line() -> None:
    r = parse_line(" (Overruns: 3)")
    assert (r.kind, r.graph_kind, r.lost) == ("graph", "overrun", 3)


# --------------------------------------------------------------------------
# stack tracer report, robustness, Record
# --------------------------------------------------------------------------


def test_stack_tracer_report_rows_are_stack_frames() -> None:
    r = parse_line("  0)     3520      48   __rcu_read_lock+0x5/0x30")
    assert (r.kind, r.name, r.depth, r.fields) == (
        "stack",
        "__rcu_read_lock",
        0,
        "__rcu_read_lock+0x5/0x30",
    )
    assert parse_line("        Depth    Size   Location    (28 entries)").kind == "header"
    assert parse_line("        -----    ----   --------").kind == "header"


@pytest.mark.parametrize(
    "line",
    [
        "garbage line that means nothing",
        "[",
        "-1 [",
        "   |   ",
        " 1) ",
        "CPU:x [LOST many EVENTS]",
        "\x00\xff\udcff",
        "a" * 10_000,
        "  bash-1 [000] ..... 9.0:",
    ],
)
def test_unrecognised_lines_are_other_with_raw_kept_and_never_raise(line: str) -> None:
    r = parse_line(line)
    assert r.raw == line
    assert r.kind in KINDS
    if r.kind == "other":
        assert is_unparsed(r)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "line",
    [
        " " * 10_000 + "x",
        "a" + " " * 10_000 + "1 2 3 4 00000000 00000000 [1] 1.0ms (+1.0ms):",
        " 1) " + " " * 10_000 + "|",
        " 1)  a-1 " + " " * 10_000 + "=> b-2",
        " " * 5_000 + "-1" + " " * 5_000 + "[",
        "a-1 [0] " * 2_000,
        "| " * 5_000,
        "  sh-1 [000] ..... 9.0: sys_x(" + "a: b, " * 2_000 + "(",
        "  sh-1 [000] ..... 9.0: sys_" + "x" * 10_000 + " -> 0x",
    ],
)
def test_long_garbage_lines_do_not_make_the_regexes_backtrack_for_ever(line: str) -> None:
    # Regression: a lazy comm after "\s*" made these take minutes.
    r = parse_line(line)
    assert r.raw == line
    assert r.kind in KINDS


def test_blank_lines_are_other_but_not_unparsed() -> None:
    for line in ("", "   ", "\t"):
        r = parse_line(line)
        assert r.kind == "other"
        assert not is_unparsed(r)


def test_trailing_newline_is_not_part_of_raw() -> None:
    assert parse_line("CPU:0 [LOST 1 EVENTS]\n").raw == "CPU:0 [LOST 1 EVENTS]"


def test_record_is_frozen_and_slotted() -> None:
    r = parse_line("CPU:0 [LOST 1 EVENTS]")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.kind = "event"  # type: ignore[misc]
    assert not hasattr(r, "__dict__")


def test_to_json_has_the_documented_keys() -> None:
    r = parse_line("            bash-1234    [001] d..2.  1234.567890: vfs_read <-ksys_read")
    j = r.to_json()
    for key in (
        "ts",
        "cpu",
        "pid",
        "comm",
        "flags",
        "kind",
        "name",
        "parent",
        "depth",
        "duration_us",
        "lost",
        "raw",
    ):
        assert key in j
    assert j["kind"] == "function" and j["parent"] == "ksys_read" and j["depth"] is None
    assert j["lost"] is None and j["duration_us"] is None and j["cpu"] == 1


def test_kind_and_graph_kind_vocabularies() -> None:
    assert set(KINDS) == {
        "function",
        "event",
        "graph",
        "lost",
        "stack",
        "marker",
        "header",
        "note",
        "other",
    }
    assert {"entry", "exit", "leaf", "comment", "switch"} <= set(GRAPH_KINDS)


def test_ftops_own_lines_are_notes_and_a_task_cannot_fake_one() -> None:
    from ftop.engine.raw.behind import skipped_line
    from ftop.engine.stream.predates import separator_line

    for line in (
        skipped_line(3, 120),
        separator_line(40, 0, 1_700_000_000.0),
        separator_line(40, 12, 1_700_000_000.0),
    ):
        r = parse_line(line)
        assert r.kind == "note" and not is_unparsed(r)
    # A task named "[ftop: x" (15 characters fit) prints a line of the kernel's shape:
    # it is that task's event, not a note.
    fake = "[ftop: fakenote-1234    [000] ..... 100.000001: tracing_mark_write: hi]"
    r = parse_line(fake)
    assert r.kind == "marker" and r.pid == 1234 and r.comm == "[ftop: fakenote"


# --------------------------------------------------------------------------
# Real captures (tests/fixtures/<kernel>/): every line must parse
# --------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRACE_TEXT_GLOBS = ("*.trace.txt", "*.trace_pipe.txt", "*.trace.txt.gz", "*.trace_pipe.txt.gz")


def _capture_files() -> list[Path]:
    files: set[Path] = set()
    for pattern in TRACE_TEXT_GLOBS:
        files.update(FIXTURES.glob(f"*/{pattern}"))
    files.update(FIXTURES.glob("*/stack_trace.txt"))
    return sorted(files)


def _read(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def _records(rel: str) -> list[Record]:
    path = FIXTURES / rel
    assert path.exists(), f"capture {rel} missing (committed: a broken checkout)"
    return [parse_line(line) for line in _read(path).splitlines()]


CAPTURES = _capture_files()


@pytest.mark.parametrize("path", CAPTURES, ids=[str(p.relative_to(FIXTURES)) for p in CAPTURES])
def test_every_line_of_a_real_capture_parses(path: Path) -> None:
    lines = _read(path).splitlines()
    assert lines, "empty capture"
    unparsed = [line for line in lines if is_unparsed(parse_line(line))]
    assert unparsed == [], f"{len(unparsed)} unparsed, first: {unparsed[:3]!r}"


def test_host_sched_trace_first_sched_switch() -> None:
    recs = _records("host-6.18/sched.trace.txt")
    assert [r.kind for r in recs[:12]] == ["header"] * 12
    sw = next(r for r in recs if r.name == "sched_switch")
    assert (sw.comm, sw.pid, sw.cpu, sw.flags) == ("python3", 813, 1, "d..2.")
    assert sw.ts == pytest.approx(4022.387215)
    assert sw.fields is not None and "next_comm=swapper/1 next_pid=0" in sw.fields


def test_host_sched_trace_pipe_first_line_and_names() -> None:
    recs = _records("host-6.18/sched.trace_pipe.txt")
    first = recs[0]
    assert (first.kind, first.name, first.comm, first.pid, first.cpu) == (
        "event",
        "sched_process_fork",
        "python3",
        813,
        1,
    )
    assert first.ts == pytest.approx(4022.542431)
    assert all(r.kind == "event" and r.name and r.name.startswith("sched_") for r in recs)
    # A comm with a dash and digits in it ("memfd:sealed-91") keeps them.
    assert any(r.comm == "memfd:sealed-91" and r.pid == 4549 for r in recs)


def test_host_all_events_trace_pipe() -> None:
    recs = _records("host-6.18/all-events.trace_pipe.txt")
    assert (recs[0].kind, recs[0].cpu, recs[0].lost) == ("lost", 1, 2006)
    first = recs[1]
    assert (first.name, first.comm, first.pid, first.cpu, first.flags, first.fields) == (
        "call_function_single_exit",
        "ftop",
        434,
        1,
        "d.h..",
        "vector=251",
    )
    sw = next(r for r in recs if r.name == "sched_switch")
    assert (sw.pid, sw.cpu) == (434, 1)
    assert sw.ts == pytest.approx(4022.737939)


def test_host_all_events_syscall_enter_and_exit() -> None:
    # syscalls:sys_enter_getpid prints "sys_getpid()", sys_exit_getpid "sys_getpid -> 0x1b2".
    recs = _records("host-6.18/all-events.trace_pipe.txt")
    calls = [r for r in recs if r.name and r.name.endswith("_getpid")]
    assert [(r.kind, r.name, r.fields) for r in calls] == [
        ("event", "sys_enter_getpid", None),
        ("event", "sys_exit_getpid", "0x1b2"),
    ] * 4
    assert all((r.comm, r.pid, r.cpu, r.flags) == ("ftop", 434, 1, ".....") for r in calls)
    assert [r.ts for r in calls[:2]] == [pytest.approx(4022.737551), pytest.approx(4022.737553)]
    # raw_syscalls keep their "name: payload" shape.
    raw = next(r for r in recs if r.name == "sys_exit")
    assert (raw.kind, raw.pid, raw.fields) == ("event", 855, "NR 270 = 1")


def test_host_trace_marker_capture() -> None:
    recs = _records("host-6.18/trace_marker.trace.txt")
    markers = [r for r in recs if r.kind == "marker"]
    assert [m.fields for m in markers] == [f"ftop fixture marker {i}" for i in range(5)]
    assert all(m.pid == 813 and m.cpu == 0 and m.flags == "...1." for m in markers)


# The kernel lab's Debian 6.1 PREEMPT_RT captures (7-column flags).


_LOST_LINE = re.compile(r"CPU:(\d+) \[LOST (\d+) EVENTS\]$")


def _lost_lines(rel: str) -> list[tuple[int, int]]:
    """(cpu, count) of each "CPU:N [LOST M EVENTS]" line of a capture, read independently."""
    out = []
    for line in _read(FIXTURES / rel).splitlines():
        m = _LOST_LINE.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


def test_lab_function_trace_pipe_first_line() -> None:
    rel = "lab-6.1-rt/function.unfiltered.trace_pipe.txt"
    recs = _records(rel)
    assert (recs[0].kind, recs[0].cpu, recs[0].lost) == ("lost", 0, 11074)
    r = recs[1]
    assert (r.kind, r.comm, r.pid, r.cpu, r.flags) == ("function", "<idle>", 0, 0, "d...4..")
    assert r.ts == pytest.approx(19.996809)
    assert (r.name, r.parent) == ("psi_task_change", "ttwu_do_activate")
    # Every line is a function call except the reader's 17 loss markers.
    assert [(x.cpu, x.lost) for x in recs if x.kind == "lost"] == _lost_lines(rel)
    assert len(_lost_lines(rel)) == 17
    assert all(x.kind == "function" for x in recs if x.kind != "lost")


def test_lab_function_trace_buffer_started_marker() -> None:
    recs = _records("lab-6.1-rt/function.unfiltered.trace.txt")
    marks = [r for r in recs if r.kind == "lost"]
    assert [(m.cpu, m.lost, m.raw) for m in marks] == [(0, None, "##### CPU 0 buffer started ####")]


def test_lab_function_graph_trace_pipe_lost_marker_and_switch() -> None:
    rel = "lab-6.1-rt/function_graph.default.trace_pipe.txt"
    recs = _records(rel)
    lost = [(r.cpu, r.lost) for r in recs if r.kind == "lost"]
    assert lost[:2] == [(0, 5560), (0, 2568)]
    assert len(lost) == 26 and lost == _lost_lines(rel)
    tails = [r for r in recs if r.graph_kind == "exit" and r.name == "p9_client_prepare_req"]
    assert tails and tails[0].duration_mark == "!"
    assert tails[0].duration_us == pytest.approx(240.286)
    switch = next(r for r in recs if r.graph_kind == "switch" and r.cpu is not None)
    assert (switch.cpu, switch.comm, switch.pid) == (0, "cat", 188)
    assert switch.fields == "cat-187 => cat-188"


def test_lab_function_graph_default_trace() -> None:
    recs = _records("lab-6.1-rt/function_graph.default.trace.txt")
    assert [r.kind for r in recs[:4]] == ["header"] * 4
    first = recs[4]
    assert (first.graph_kind, first.name, first.cpu, first.depth) == ("entry", "vfs_read", 1, 0)


def test_lab_function_graph_trace_context_switch() -> None:
    # The default trace holds no context switch; the vfs_* one does.
    recs = _records("lab-6.1-rt/function_graph.filter-vfs.trace.txt")
    switch = next(r for r in recs if r.graph_kind == "switch" and r.cpu is not None)
    assert (switch.cpu, switch.comm, switch.pid) == (0, "sh", 222)
    assert switch.fields == "python-149 => sh-222"


def test_lab_function_graph_proc_abstime_and_latency_columns() -> None:
    proc = _records("lab-6.1-rt/function_graph.funcgraph-proc.trace.txt")[4]
    assert (proc.graph_kind, proc.name, proc.comm, proc.pid, proc.cpu) == (
        "entry",
        "vfs_read",
        "python",
        149,
        1,
    )
    abs_recs = _records("lab-6.1-rt/function_graph.funcgraph-abstime.trace.txt")
    absr = abs_recs[4]
    assert (absr.graph_kind, absr.name, absr.cpu, absr.depth, absr.duration_us) == (
        "entry",
        "vfs_read",
        1,
        0,
        None,
    )
    assert absr.ts == pytest.approx(36.018083)
    leaf = next(r for r in abs_recs if r.graph_kind == "leaf" and r.duration_mark)
    assert (leaf.name, leaf.cpu, leaf.duration_mark) == ("hrtick_update", 1, "+")
    assert leaf.ts == pytest.approx(36.223248)
    assert leaf.duration_us == pytest.approx(11.196)
    lat = _records("lab-6.1-rt/function_graph.latency-format.trace.txt")
    assert sum(r.kind == "header" for r in lat) == 16
    graph = [r for r in lat if r.kind == "graph"]
    first = graph[0]
    assert (first.graph_kind, first.name, first.cpu, first.flags, first.duration_mark) == (
        "entry",
        "vfs_read",
        1,
        "....1..",
        None,
    )
    leaf = graph[5]
    assert (leaf.graph_kind, leaf.name, leaf.flags, leaf.depth) == (
        "leaf",
        "__rcu_read_lock",
        "....1..",
        5,
    )
    assert leaf.duration_us == pytest.approx(4.135)
    exit_ = graph[7]
    assert (exit_.graph_kind, exit_.flags, exit_.duration_mark, exit_.depth) == (
        "exit",
        ".......",
        "+",
        4,
    )
    assert exit_.duration_us == pytest.approx(27.195)


def test_lab_function_graph_latency_format_header_as_latency_trace() -> None:
    path = FIXTURES / "lab-6.1-rt/function_graph.latency-format.trace.txt"
    assert path.exists(), f"lab capture {path.name} missing (committed: a broken checkout)"
    lt = parse_latency_trace(_read(path))
    assert (lt.tracer, lt.kernel_release, lt.preempt_model, lt.online_cpus) == (
        "function_graph",
        "6.1.0-56-rt-amd64",
        "preempt_rt",
        2,
    )
    assert (lt.entries_shown, lt.entries_total, lt.task_comm, lt.task_pid) == (39607, 49760, "", 0)
    assert lt.unparsed == 0


def test_lab_func_stack_trace_blocks() -> None:
    path = FIXTURES / "lab-6.1-rt/function.func_stack_trace.trace.txt"
    assert path.exists(), f"lab capture {path.name} missing (committed: a broken checkout)"
    lt = parse_latency_trace(_read(path))
    assert lt.tracer == "function"
    assert lt.stacks[0] == [
        "0xffffffffc047e083",
        "vfs_read",
        "ksys_read",
        "do_syscall_64",
        "entry_SYSCALL_64_after_hwframe",
    ]
    assert len(lt.stacks) == sum(1 for r in lt.records if r.kind == "function")


def test_lab_kprobe_events() -> None:
    recs = [r for r in _records("lab-6.1-rt/kprobe.trace.txt") if r.kind == "event"]
    first = recs[0]
    assert (first.name, first.comm, first.pid, first.cpu) == ("ftop_open", "sh", 339, 0)
    assert first.fields == '(do_sys_openat2+0x0/0x170) dfd=-100 filename="/etc/ld.so.cache"'
    ret = next(r for r in recs if r.name == "ftop_open_ret")
    assert ret.fields == "(__x64_sys_openat+0x6a/0xa0 <- do_sys_openat2) ret=3"


def test_lab_sched_trace_first_sched_switch() -> None:
    recs = _records("lab-6.1-rt/sched.trace.txt")
    sw = next(r for r in recs if r.name == "sched_switch")
    assert (sw.comm, sw.pid, sw.cpu, sw.flags) == ("<idle>", 0, 1, "d...2..")
    assert sw.ts == pytest.approx(128.58119)
    assert sw.fields is not None and "next_comm=ktimers/1 next_pid=28" in sw.fields


@pytest.mark.parametrize(
    ("name", "tracer", "latency", "shown", "cpu", "task", "pid", "policy", "rt_prio"),
    [
        ("wakeup", "wakeup", 189768, 9275, 1, "irq/25-virtio0-", 115, 1, 50),
        ("wakeup_rt", "wakeup_rt", 38392, 375, 0, "rcuc/0", 19, 1, 1),
        ("wakeup_dl", "wakeup_dl", 40857, 532, 0, "sleep", 326, 6, 0),
    ],
)
def test_lab_wakeup_latency_reports(
    name: str,
    tracer: str,
    latency: int,
    shown: int,
    cpu: int,
    task: str,
    pid: int,
    policy: int,
    rt_prio: int,
) -> None:
    path = FIXTURES / f"lab-6.1-rt/{name}.trace.txt"
    assert path.exists(), f"lab capture {path.name} missing (committed: a broken checkout)"
    lt = parse_latency_trace(_read(path))
    assert (lt.tracer, lt.kernel_release, lt.preempt_model, lt.online_cpus) == (
        tracer,
        "6.1.0-56-rt-amd64",
        "preempt_rt",
        2,
    )
    assert (lt.latency_us, lt.entries_shown, lt.entries_total, lt.cpu) == (
        latency,
        shown,
        shown,
        cpu,
    )
    assert (lt.task_comm, lt.task_pid, lt.uid, lt.nice, lt.policy, lt.rt_prio) == (
        task,
        pid,
        0,
        0,
        policy,
        rt_prio,
    )
    # The header's latency is what tracing_max_latency held after the run.
    assert lt.latency_us == int(_read(FIXTURES / f"lab-6.1-rt/{name}.tracing_max_latency.txt"))
    assert lt.unparsed == 0
    first = lt.records[0]
    assert (first.kind, first.name) == ("event", "sched_wakeup")
    assert lt.stacks[0][:3] == ["__ftrace_trace_stack", "probe_wakeup", "ttwu_do_wakeup"]


def test_lab_wakeup_trace_pipe_lost_marker_and_switches() -> None:
    recs = _records("lab-6.1-rt/wakeup.trace_pipe.txt")
    assert (recs[0].kind, recs[0].cpu, recs[0].lost) == ("lost", 0, 56868)
    r = recs[1]
    assert (r.kind, r.comm, r.pid, r.cpu, r.flags, r.name, r.parent) == (
        "function",
        "sleep",
        267,
        0,
        "dn..2..",
        "update_curr",
        "put_prev_entity",
    )
    assert r.ts == pytest.approx(16.687372)
    switches = [x for x in recs if x.name == "sched_switch"]
    assert switches and all(x.kind == "event" for x in switches)
