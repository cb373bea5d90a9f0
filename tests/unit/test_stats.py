"""Live aggregates over a sliding window (ftop.engine.stream.stats)."""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from pathlib import Path

import pytest
from ftop.engine.stream.parse import parse_line
from ftop.engine.stream.stats import Aggregates, CpuLoss, parse_cpu_stats

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

STATS_TEXT = """\
entries: 38387
overrun: 60037
commit overrun: 0
bytes: 1445428
oldest event ts:   883.961454
now ts:   884.095265
dropped events: 0
read events: 0
"""


def fn(cpu: int, name: str, parent: str = "caller", ts: float = 100.0, pid: int = 42) -> str:
    return f"            bash-{pid:<7d} [{cpu:03d}] d..2.  {ts:.6f}: {name} <-{parent}"


def ev(cpu: int, name: str, payload: str = "x=1", ts: float = 100.0) -> str:
    return f"          <idle>-0       [{cpu:03d}] d.h..  {ts:.6f}: {name}: {payload}"


def top(pairs: list) -> dict[str, int]:
    return {p.name: p.count for p in pairs}


# --------------------------------------------------------------------------
# per_cpu/cpuN/stats
# --------------------------------------------------------------------------


def test_parse_cpu_stats_reads_counts_as_int_and_timestamps_as_float() -> None:
    st = parse_cpu_stats(STATS_TEXT)
    assert st == {
        "entries": 38387,
        "overrun": 60037,
        "commit overrun": 0,
        "bytes": 1445428,
        "oldest event ts": pytest.approx(883.961454),
        "now ts": pytest.approx(884.095265),
        "dropped events": 0,
        "read events": 0,
    }
    assert isinstance(st["overrun"], int)
    assert isinstance(st["now ts"], float)


def test_parse_cpu_stats_skips_what_is_not_key_colon_number() -> None:
    st = parse_cpu_stats("entries: 3\ngarbage\nfuture field: n/a\n: 5\nnew counter: 7\n")
    assert st == {"entries": 3, "new counter": 7}


@pytest.mark.parametrize("name", ["per_cpu.cpu0.stats.txt", "all-events.per_cpu.cpu0.stats.txt"])
def test_parse_cpu_stats_on_real_captures(name: str) -> None:
    paths = sorted(FIXTURES.glob(f"*/{name}"))
    assert paths, f"no {name} capture under {FIXTURES}"
    for path in paths:
        st = parse_cpu_stats(path.read_text())
        assert set(st) >= {
            "entries",
            "overrun",
            "commit overrun",
            "bytes",
            "oldest event ts",
            "now ts",
            "dropped events",
            "read events",
        }
        assert st["now ts"] >= st["oldest event ts"]


# --------------------------------------------------------------------------
# counting
# --------------------------------------------------------------------------


def test_function_lines_count_per_function_per_cpu_and_in_total() -> None:
    agg = Aggregates()
    lines = [fn(0, "vfs_read")] * 5 + [fn(1, "vfs_write")] * 3 + [fn(1, "vfs_read+0x4/0x150")]
    agg.ingest(lines, 100.0)
    snap = agg.snapshot(100.5)
    assert snap.total == 9
    assert top(snap.top_functions) == {"vfs_read": 6, "vfs_write": 3}
    assert snap.top_events == []
    assert snap.cpu_rates == {0: pytest.approx(5.0), 1: pytest.approx(4.0)}
    assert snap.lifetime_events == 9


def test_event_and_marker_lines_count_per_event_name() -> None:
    agg = Aggregates()
    lines = [
        ev(0, "sched_switch", "prev_comm=a prev_pid=1 ==> next_comm=b next_pid=2"),
        ev(1, "sched_switch", "prev_comm=b: weird: payload"),
        ev(1, "sched_wakeup", "comm=a pid=1 prio=120 target_cpu=001"),
        ev(0, "tracing_mark_write", "note: 12.345678: still one marker"),
        ev(0, "9p_client_req", "client 1"),
    ]
    agg.ingest(lines, 50.0)
    snap = agg.snapshot(50.0)
    assert top(snap.top_events) == {
        "sched_switch": 2,
        "sched_wakeup": 1,
        "tracing_mark_write": 1,
        "9p_client_req": 1,
    }
    assert snap.top_functions == []
    assert snap.total == 5


def test_syscall_lines_count_as_their_enter_and_exit_events() -> None:
    # print_syscall_enter() / print_syscall_exit() bodies (kernel/trace/trace_syscalls.c),
    # as in host-6.18/all-events.trace_pipe.txt; the line parser names them the same.
    ctx = "            ftop-434     [001] .....  4022.737551: "
    lines = [
        ctx + "sys_getpid()",
        ctx + "sys_getpid -> 0x1b2",
        ctx + "sys_read(fd: 3, buf: 7ffd3c1e2a10, count: 340)",
        ctx + "sys_read(unsigned int fd: 3, char * buf: 7ffd3c1e2a10, size_t count: 340)",
        ctx + "sys_read -> 0x154",
        ctx + "sys_mmap(addr=0x0, len=0x1000)",  # func-args: a function
        ctx + "sys_enter: NR 0 (3, 7fc2f80cda70, 10000, 0, 0, 0)",
    ]
    agg = Aggregates()
    agg.ingest(lines, 10.0)
    snap = agg.snapshot(10.0)
    expected = {
        "sys_enter_getpid": 1,
        "sys_exit_getpid": 1,
        "sys_enter_read": 2,
        "sys_exit_read": 1,
        "sys_enter": 1,
    }
    assert top(snap.top_events) == expected
    assert top(snap.top_functions) == {"sys_mmap": 1}
    assert snap.total == len(lines)
    parsed = Counter(r.name for r in map(parse_line, lines) if r.kind == "event")
    assert dict(parsed) == expected


def test_lines_without_a_name_count_only_in_total() -> None:
    agg = Aggregates()
    agg.ingest(
        [
            "          <idle>-0       [000] d.h..   230.859993: <stack trace>",
            " => tick_sched_timer",
            " => __hrtimer_run_queues+0x112/0x2b0",
            fn(0, "do_idle"),
        ],
        10.0,
    )
    snap = agg.snapshot(10.0)
    assert snap.total == 2  # the <stack trace> record and the function; frames are not events
    assert top(snap.top_functions) == {"do_idle": 1}
    assert snap.top_events == []


def test_tgid_column_and_missing_flags_are_handled() -> None:
    agg = Aggregates()
    agg.ingest(
        [
            "            bash-1234    (   1200) [001] d..2.  12.500000: vfs_read <-ksys_read",
            "            bash-1234    (-------) [000] d..2.  12.500001: vfs_read <-ksys_read",
            "            bash-1234    [001]   12.500002: sched_switch: prev_comm=bash",
        ],
        12.0,
    )
    snap = agg.snapshot(12.0)
    assert top(snap.top_functions) == {"vfs_read": 2}
    assert top(snap.top_events) == {"sched_switch": 1}
    assert snap.cpu_rates == {0: pytest.approx(1.0), 1: pytest.approx(2.0)}


def test_counter_clock_timestamps_are_counted_too() -> None:
    agg = Aggregates()
    agg.ingest(
        [
            "            bash-1234    [001] .....  12345678901: vfs_read <-ksys_read",
            "            bash-1234    [000] .....  12345678999: sched_switch: prev_comm=bash",
        ],
        5.0,
    )
    snap = agg.snapshot(5.0)
    assert top(snap.top_functions) == {"vfs_read": 1}
    assert top(snap.top_events) == {"sched_switch": 1}
    assert snap.total == 2


GRAPH = [
    "# tracer: function_graph",
    "#",
    "# CPU  DURATION                  FUNCTION CALLS",
    "# |     |   |                     |   |   |   |",
    " 1)               |  vfs_read() {",
    " 1)               |    rw_verify_area() {",
    " 1)   0.150 us    |      security_file_permission();",
    " 1)   0.612 us    |    }",
    " 1)               |    /* sched_switch: prev_comm=bash prev_pid=1 */",
    " ------------------------------------------",
    " 1)   bash-123    =>  <idle>-0   ",
    " ------------------------------------------",
    "",
    " 0)   0.200 us    |  security_file_permission();",
    " 1) + 12.345 us   |  }",
]


def test_graph_lines_count_functions_on_entry_and_leaf_and_cpus_on_every_call_line() -> None:
    agg = Aggregates()
    agg.ingest(GRAPH, 7.0)
    snap = agg.snapshot(7.0)
    assert top(snap.top_functions) == {
        "vfs_read": 1,
        "rw_verify_area": 1,
        "security_file_permission": 2,
    }
    assert top(snap.top_events) == {"sched_switch": 1}
    # entries, leaves, exits and the comment: 7 lines; banner lines are not events
    assert snap.total == 7
    assert snap.cpu_rates == {0: pytest.approx(1.0), 1: pytest.approx(6.0)}


def test_graph_with_proc_and_abstime_columns() -> None:
    agg = Aggregates()
    agg.ingest(
        [
            " 1234.567890 |   1)   bash-1234    |               |  vfs_read() {",
            " 1234.567891 |   1)   bash-1234    |   0.531 us    |    __rcu_read_lock();",
            " 1234.567895 |   1)   bash-1234    |   4.000 us    |  }",
        ],
        1.0,
    )
    snap = agg.snapshot(1.0)
    assert top(snap.top_functions) == {"vfs_read": 1, "__rcu_read_lock": 1}
    assert snap.total == 3


def test_graph_calls_of_module_functions_are_counted_by_name() -> None:
    agg = Aggregates()
    agg.ingest(
        [
            " 0)               |    ovl_read_iter [overlay]() {",
            " 0)    cat-150     |   3.305 us    |        ovl_d_real [overlay]();",
            " 0)   9.000 us    |    }",
        ],
        1.0,
    )
    assert top(agg.snapshot(1.0).top_functions) == {"ovl_read_iter": 1, "ovl_d_real": 1}


def test_latency_format_lines() -> None:
    agg = Aggregates()
    agg.ingest(
        [
            "  <idle>-0         1dN.2.    3us+: try_to_wake_up <-wake_up_process",
            "  <idle>-0         1dN.2.    5us : sched_wakeup: comm=a pid=1",
            "    bash-1234      0d..1    9us : __schedule <-schedule",
        ],
        3.0,
    )
    snap = agg.snapshot(3.0)
    assert top(snap.top_functions) == {"try_to_wake_up": 1, "__schedule": 1}
    assert top(snap.top_events) == {"sched_wakeup": 1}
    assert snap.cpu_rates == {0: pytest.approx(1.0), 1: pytest.approx(2.0)}


def test_latency_trace_file_with_long_header_and_stack_tail() -> None:
    """A wakeup tracer's `trace`: 20 header lines first, stack frames last."""
    header = ["# tracer: wakeup_rt", "#"] + [f"#  header line {i}" for i in range(18)]
    body = [
        "  <idle>-0         1dNh5...    0us :        0:120:R   + [001]      28: 49:R kworker/1:1",
        "  <idle>-0         1dNh5...    2us+: <stack trace>",
        " => __ftrace_trace_stack",
        "kworker/-152       1dn.h5.. 69873us : 0",
        "  <idle>-0         1dN.3...   64us : __schedule <-schedule",
        "  <idle>-0         1d..3...   66us :        0:120:R ==> [001]      28: 49:R kworker/1:1",
        "  <idle>-0         1d..3...   67us : <stack trace>",
    ] + [f" => frame_{i}+0x1/0x2" for i in range(30)]
    agg = Aggregates()
    agg.ingest(header + body, 1.0)
    snap = agg.snapshot(1.0)
    assert top(snap.top_events) == {"sched_wakeup": 1, "sched_switch": 1}
    assert top(snap.top_functions) == {"__schedule": 1, "0": 1}
    assert snap.total == 6
    assert snap.cpu_rates == {1: pytest.approx(6.0)}


def test_top_n_limits_and_orders_by_count() -> None:
    agg = Aggregates(top_n=2)
    agg.ingest([fn(0, "a")] * 3 + [fn(0, "b")] * 5 + [fn(0, "c")] * 1, 1.0)
    assert [p.name for p in agg.snapshot(1.0).top_functions] == ["b", "a"]
    assert [p.name for p in agg.snapshot(1.0, top_n=3).top_functions] == ["b", "a", "c"]


# --------------------------------------------------------------------------
# the sliding window
# --------------------------------------------------------------------------


def test_rates_use_the_seconds_the_window_covers() -> None:
    agg = Aggregates(window_s=10.0, bucket_s=1.0)
    for second in range(20):
        agg.ingest([fn(0, "tick")] * 100, 1000.0 + second)
    snap = agg.snapshot(1019.5)
    # buckets 1010..1019 are held: 1000 events over 9.5 s
    assert snap.total == 1000
    assert snap.span_s == pytest.approx(9.5)
    assert snap.total_rate == pytest.approx(1000 / 9.5)
    assert snap.series == [100] * 10
    assert snap.lifetime_events == 2000


def test_old_buckets_fall_out_of_the_window() -> None:
    agg = Aggregates(window_s=5.0, bucket_s=1.0)
    agg.ingest([fn(0, "early")] * 10, 100.0)
    agg.ingest([fn(1, "late")] * 4, 103.2)
    snap = agg.snapshot(103.5)
    assert snap.series == [0, 10, 0, 0, 4]
    assert top(snap.top_functions) == {"early": 10, "late": 4}
    snap = agg.snapshot(105.0)  # window 101..105: bucket 100 is gone
    assert snap.series == [0, 0, 4, 0, 0]
    assert top(snap.top_functions) == {"late": 4}
    assert snap.cpu_rates == {1: pytest.approx(4 / 4.0)}
    assert agg.snapshot(200.0).total == 0


def test_rate_right_after_start_is_not_inflated() -> None:
    agg = Aggregates()
    agg.ingest([fn(0, "x")] * 50, 500.0)
    snap = agg.snapshot(500.001)
    assert snap.span_s == pytest.approx(1.0)
    assert snap.total_rate == pytest.approx(50.0)


def test_empty_aggregates_snapshot() -> None:
    snap = Aggregates().snapshot(10.0)
    assert (snap.total, snap.total_rate, snap.span_s) == (0, 0.0, 0.0)
    assert snap.series == [0] * 10
    assert snap.cpu_rates == {} and snap.top_events == [] and snap.lost_per_cpu == {}


def test_invalid_window_is_refused() -> None:
    with pytest.raises(ValueError):
        Aggregates(window_s=0.5, bucket_s=1.0)
    with pytest.raises(ValueError):
        Aggregates(bucket_s=0)


def test_reset_forgets_everything() -> None:
    agg = Aggregates()
    agg.ingest([fn(0, "x"), "CPU:0 [LOST 5 EVENTS]"], 1.0)
    agg.update_cpu_stats(0, {"overrun": 1})
    agg.reset()
    snap = agg.snapshot(1.0)
    assert (snap.total, snap.lifetime_events, snap.lost_total) == (0, 0, 0)


# --------------------------------------------------------------------------
# loss
# --------------------------------------------------------------------------


def test_lost_markers_add_up_per_cpu() -> None:
    agg = Aggregates()
    agg.ingest(["CPU:1 [LOST 136165 EVENTS]", fn(1, "a"), "CPU:0 [LOST 7 EVENTS]"], 1.0)
    agg.ingest(["CPU:1 [LOST 5 EVENTS]"], 2.0)
    snap = agg.snapshot(2.0)
    assert snap.lost_per_cpu == {0: CpuLoss(markers=7), 1: CpuLoss(markers=136170)}
    assert snap.lost_total == 136177
    assert snap.total == 1  # markers are not events


def test_cpu_stats_loss_is_growth_since_the_first_poll() -> None:
    agg = Aggregates()
    agg.update_cpu_stats(0, parse_cpu_stats(STATS_TEXT))  # overrun 60037 already
    agg.update_cpu_stats(0, {"overrun": 60100, "commit overrun": 0, "dropped events": 3})
    agg.update_cpu_stats(1, {"overrun": 0, "dropped events": 0})
    snap = agg.snapshot(1.0)
    assert snap.lost_per_cpu[0] == CpuLoss(overrun=63, commit_overrun=0, dropped=3)
    assert snap.lost_per_cpu[0].total == 66
    assert snap.lost_per_cpu[1].total == 0
    assert snap.cpu_stats[0]["overrun"] == 60100
    assert snap.lost_total == 66


def test_cpu_stats_counter_reset_is_bridged() -> None:
    agg = Aggregates()
    agg.update_cpu_stats(0, {"overrun": 100})
    agg.update_cpu_stats(0, {"overrun": 150})  # +50
    agg.update_cpu_stats(0, {"overrun": 20})  # buffer reset, then +20
    agg.update_cpu_stats(0, {"overrun": 30})  # +10
    assert agg.snapshot(0.0).lost_per_cpu[0].overrun == 80


def test_markers_and_overrun_are_not_double_counted() -> None:
    agg = Aggregates()
    agg.update_cpu_stats(1, {"overrun": 0, "dropped events": 0})
    agg.ingest(["CPU:1 [LOST 90 EVENTS]"], 1.0)
    agg.update_cpu_stats(1, {"overrun": 100, "dropped events": 0})
    assert agg.snapshot(1.0).lost_per_cpu[1].total == 100


# --------------------------------------------------------------------------
# threads and real captures
# --------------------------------------------------------------------------


def test_ingest_on_one_thread_and_snapshot_on_another() -> None:
    agg = Aggregates(window_s=1000.0)
    batch = [fn(i % 2, f"f{i % 7}") for i in range(500)]
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for k in range(200):
                agg.ingest(batch, 100.0 + k * 0.01)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    seen = []
    while t.is_alive():
        s = agg.snapshot(103.0)
        seen.append(s.total)
        assert sum(p.count for p in s.top_functions) == s.total
    t.join()
    assert not errors
    assert seen == sorted(seen)
    assert agg.snapshot(103.0).total == 200 * 500


def _read(path: Path) -> list[str]:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
            return f.read().splitlines()
    return path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()


CAPTURES = sorted(
    set(FIXTURES.glob("*/*.trace.txt"))
    | set(FIXTURES.glob("*/*.trace_pipe.txt"))
    | set(FIXTURES.glob("*/*.trace.txt.gz"))
    | set(FIXTURES.glob("*/*.trace_pipe.txt.gz"))
)


@pytest.mark.parametrize("path", CAPTURES, ids=[str(p.relative_to(FIXTURES)) for p in CAPTURES])
def test_aggregates_agree_with_the_line_parser_on_real_captures(path: Path) -> None:
    """The batch regexes count what parse_line() finds, line by line."""
    lines = _read(path)
    events: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    lost: Counter[int] = Counter()
    tasks: Counter[str] = Counter()
    for line in lines:
        r = parse_line(line)
        graph = r.kind == "graph"
        if not graph and r.comm is not None and r.pid is not None and r.kind != "lost":
            tasks[f"{r.comm.strip()}-{r.pid}"] += 1
        is_event = r.kind in ("event", "marker") or (graph and r.graph_kind == "comment")
        is_function = r.kind == "function" or (graph and r.graph_kind in ("entry", "leaf"))
        if r.name and is_event:
            events[r.name] += 1
        elif r.name and is_function:
            functions[r.name] += 1
        elif r.kind == "lost" and r.lost:
            lost[r.cpu or 0] += r.lost

    agg = Aggregates(window_s=60.0)
    for i in range(0, len(lines), 1000):
        agg.ingest(lines[i : i + 1000], 10.0)
    snap = agg.snapshot(10.0, top_n=100_000)
    assert top(snap.top_events) == dict(events)
    assert top(snap.top_functions) == dict(functions)
    assert {c: x.markers for c, x in snap.lost_per_cpu.items()} == dict(lost)
    assert top(snap.top_tasks) == dict(tasks)
