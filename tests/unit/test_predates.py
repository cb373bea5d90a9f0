"""What the buffer held before ftop started (ftop.engine.stream.predates): the start mark,
the separator line, the aggregates that leave it out of the rates, and a session over a
fake tracefs whose buffer holds a backlog when the stream starts.

The lines are real captures (tests/fixtures/host-6.18/sched.trace_pipe.txt, and
lab-6.1-rt's function_graph with funcgraph-abstime); the stats files are laid out as
the captured per_cpu/cpu0/stats (host-6.18), with "now ts" set to a time stamp inside
the capture so that part of it predates the mark.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import pytest
from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.raw.behind import skipped_line
from ftop.engine.stream.parse import parse_line
from ftop.engine.stream.predates import (
    GIVE_UP_AFTER,
    NS_CLOCKS,
    PreSessionSplit,
    StartMark,
    note_start,
    separator_line,
)
from ftop.engine.stream.stats import Aggregates, parse_cpu_stats
from predates_util import fake_tracefs, stats_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCHED = (FIXTURES / "host-6.18" / "sched.trace_pipe.txt").read_text().splitlines()
GRAPH_ABS = [
    ln
    for ln in (FIXTURES / "lab-6.1-rt" / "function_graph.funcgraph-abstime.trace.txt")
    .read_text()
    .splitlines()
    if not ln.startswith("#")
]
WALL = 1_780_000_000.0  # a fixed wall time for the mark (the line says it as HH:MM:SS)
HMS = time.strftime("%H:%M:%S", time.localtime(WALL))


def no_options(name: str) -> Optional[str]:
    return {"latency-format": "0\n", "context-info": "1\n", "funcgraph-abstime": "0\n"}.get(name)


def mark_at(now: float, cpus: Tuple[int, ...] = (0, 1), entries: int = 100) -> StartMark:
    stats = {c: parse_cpu_stats(stats_text(f"{now:.6f}", entries)) for c in cpus}
    return note_start(stats, "local", "nop", no_options, wall=WALL)


def oracle_split(lines: List[str], now: float) -> Tuple[int, int]:
    """(index of the first line at or after ``now``, stamped lines before it), by the parser."""
    before = 0
    for i, ln in enumerate(lines):
        rec = parse_line(ln)
        if rec.ts is None or rec.kind in ("lost", "other", "header"):
            continue
        if rec.ts >= now:
            return i, before
        before += 1
    return len(lines), before


# -- the mark: which clocks can be compared ----------------------------------------------


@pytest.mark.parametrize("clock", sorted(NS_CLOCKS))
def test_clocks_kept_in_nanoseconds_are_compared(clock: str) -> None:
    stats = {0: parse_cpu_stats(stats_text("4022.548151"))}
    mark = note_start(stats, clock, "nop", no_options, wall=WALL)
    assert mark.why_unmarked is None
    assert mark.now_ts == {0: pytest.approx(4022.548151)}


@pytest.mark.parametrize("clock", ["counter", "uptime", "x86-tsc", "ppc-tb", ""])
def test_counting_clocks_are_never_compared_and_say_why(clock: str) -> None:
    # tracing_stats_read prints a count for them ("now ts: 8361520911"), in the clock's
    # own units, as the lines print theirs: seconds cannot be compared with it.
    stats = {0: parse_cpu_stats(stats_text("8361520911"))}
    mark = note_start(stats, clock, "nop", no_options, wall=WALL)
    assert mark.why_unmarked is not None and "trace_clock" in mark.why_unmarked
    assert not PreSessionSplit(mark).open


def test_a_dotless_now_is_a_count_whatever_the_clock_is_called() -> None:
    mark = note_start({0: parse_cpu_stats(stats_text("8361520911"))}, "local", "nop", no_options)
    assert mark.why_unmarked is not None and not mark.now_ts


@pytest.mark.parametrize(
    "tracer, option, value, why",
    [
        ("nop", "latency-format", "1", "latency-format"),
        ("nop", "context-info", "0", "context-info"),
        ("function_graph", "funcgraph-abstime", "0", "funcgraph-abstime"),
    ],
)
def test_formats_without_an_absolute_time_stamp_are_not_marked(
    tracer: str, option: str, value: str, why: str
) -> None:
    def options(name: str) -> Optional[str]:
        return value if name == option else no_options(name)

    mark = note_start({0: parse_cpu_stats(stats_text("36.0181"))}, "local", tracer, options)
    assert mark.why_unmarked is not None and why in mark.why_unmarked


def test_function_graph_with_abstime_is_marked() -> None:
    def options(name: str) -> Optional[str]:
        return "1" if name == "funcgraph-abstime" else no_options(name)

    mark = note_start(
        {0: parse_cpu_stats(stats_text("36.0181"))}, "local", "function_graph", options
    )
    assert mark.why_unmarked is None


def test_loss_before_the_mark_is_the_buffers_overrun_and_dropped() -> None:
    stats = {0: parse_cpu_stats(stats_text("1.0", overrun=75291, dropped=3))}
    assert note_start(stats, "local", "nop", no_options).lost_before == {0: 75294}


# -- the split ------------------------------------------------------------------------------


def test_separator_sits_before_the_first_line_at_or_after_the_start() -> None:
    now = parse_line(SCHED[1000]).ts
    assert now is not None
    at, before = oracle_split(SCHED, now)
    assert 0 < at < len(SCHED)
    cut = PreSessionSplit(mark_at(now)).split(SCHED)
    sep = separator_line(before, 0, WALL)
    assert list(cut.lines) == [*SCHED[:at], sep, *SCHED[at:]]
    assert list(cut.live) == SCHED[at:]
    assert cut.predates == before
    assert f"the {before:,} events above were in the buffer before ftop started at {HMS}" in sep
    assert sep.endswith("what follows is live]")


def test_the_head_may_span_batches_and_the_line_counts_them_all() -> None:
    now = parse_line(SCHED[1500]).ts
    assert now is not None
    at, before = oracle_split(SCHED, now)
    split = PreSessionSplit(mark_at(now))
    first = split.split(SCHED[:700])
    assert list(first.lines) == SCHED[:700] and not first.live
    second = split.split(SCHED[700:])
    seps = [ln for ln in second.lines if ln.startswith("[ftop: ")]
    assert seps == [separator_line(before, 0, WALL)]
    assert list(second.live) == SCHED[at:]
    assert first.predates + second.predates == before
    # Once the head is over, batches pass as they are.
    later = split.split(SCHED[:10])
    assert later.lines is later.live and list(later.lines) == SCHED[:10]


def test_nothing_before_the_start_means_no_line() -> None:
    split = PreSessionSplit(mark_at(1.0))
    cut = split.split(SCHED[:50])
    assert list(cut.lines) == SCHED[:50] and list(cut.live) == SCHED[:50]
    assert not split.open


def test_an_empty_buffer_at_the_start_is_never_split() -> None:
    split = PreSessionSplit(mark_at(99999.0, entries=0))
    assert not split.open
    assert split.split(SCHED[:5]).lines == SCHED[:5]


def test_function_graph_abstime_lines_are_split_by_their_own_time_stamp() -> None:
    now = 36.018124
    at, before = oracle_split(GRAPH_ABS, now)
    assert 0 < at < len(GRAPH_ABS)
    mark = note_start(
        {1: parse_cpu_stats(stats_text(f"{now:.6f}"))},
        "local",
        "function_graph",
        lambda n: "1" if n == "funcgraph-abstime" else no_options(n),
        wall=WALL,
    )
    cut = PreSessionSplit(mark).split(GRAPH_ABS)
    assert list(cut.live) == GRAPH_ABS[at:] and cut.predates == before


def test_a_skipped_start_backlog_is_counted_with_the_decoded_part() -> None:
    """behind.py cuts a large start backlog to one skipped line: the separator's count
    takes in its estimate, says so, and the sampling note of that take is not live."""
    now = parse_line(SCHED[10]).ts
    assert now is not None
    _, before = oracle_split(SCHED, now)
    split = PreSessionSplit(mark_at(now))
    cut = split.split([skipped_line(40, 5000), *SCHED])
    sep = separator_line(before + 5000, 5000, WALL)
    assert sep in cut.lines
    assert f"the about {before + 5000:,} events above (5,000 of them not decoded)" in sep
    assert cut.predates == before + 5000
    assert split.take_skipped() and not split.take_skipped()


def test_a_stream_without_time_stamps_stops_being_looked_at() -> None:
    split = PreSessionSplit(mark_at(99999.0))
    cut = split.split(SCHED[:3] + ["   => __schedule"] * GIVE_UP_AFTER)
    assert not split.open and split.why_closed is not None
    assert any("ftop cannot tell what follows" in ln for ln in cut.lines)
    assert cut.predates == 3


# -- the aggregates ---------------------------------------------------------------------


def test_predating_events_are_counted_apart_not_in_the_rates() -> None:
    agg = Aggregates(window_s=10, bucket_s=1)
    agg.note_predates(1234)
    agg.ingest(SCHED[:10], 100.0)
    snap = agg.snapshot(100.5)
    assert snap.predates == 1234
    assert snap.total == 10 and snap.lifetime_events == 10


def test_loss_counts_from_the_mark_and_the_loss_before_is_apart() -> None:
    agg = Aggregates()
    agg.update_cpu_stats(0, parse_cpu_stats(stats_text("1.0", overrun=50)))  # a poll before
    agg.mark_start(WALL, {0: parse_cpu_stats(stats_text("2.0", overrun=75291, dropped=2))})
    snap = agg.snapshot(WALL)
    assert snap.lost_total == 0 and snap.loss_since == WALL
    assert snap.lost_before == 75293 and snap.lost_before_per_cpu == {0: 75293}
    agg.update_cpu_stats(0, parse_cpu_stats(stats_text("3.0", overrun=75300, dropped=2)))
    assert agg.snapshot(WALL + 1).lost_total == 9


def test_without_a_mark_there_is_no_loss_period() -> None:
    assert Aggregates().snapshot(1.0).loss_since is None


# -- a session over a fake tracefs ----------------------------------------------------------


def wait(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not pred():
        time.sleep(0.02)
    assert pred()


def text_session(tfs: Tracefs, tmp_path: Path) -> Session:
    sess = Session(tfs, journal_dir=tmp_path / "j")
    sess.stream_mode = "text"
    sess.trace_self = True  # nothing to leave out: no write to the fake tree
    return sess


def test_session_marks_the_backlog_it_finds_at_the_start(tmp_path: Path) -> None:
    now = parse_line(SCHED[1000]).ts
    assert now is not None
    at, before = oracle_split(SCHED, now)
    tfs = fake_tracefs(tmp_path / "t", SCHED, f"{now:.6f}", overrun=75291)
    sess = text_session(tfs, tmp_path)
    try:
        sess.start_stream()
        wait(lambda: sess.aggregates.snapshot(time.time()).lifetime_events >= len(SCHED) - at)
        ring = sess.ring.window(sess.ring.first_seq, sess.ring.next_seq - sess.ring.first_seq)
        seps = [i for i, ln in enumerate(ring) if ln.startswith("[ftop: ")]
        assert len(seps) == 1
        assert ring[: seps[0]] == SCHED[:at] and ring[seps[0] + 1 :] == SCHED[at:]
        assert f"the {before:,} events above" in ring[seps[0]]
        snap = sess.aggregates.snapshot(time.time())
        assert snap.predates == before
        assert snap.lifetime_events == len(SCHED) - at
        assert snap.loss_since == sess.start_marks[str(tfs.path)].wall
        assert snap.lost_total == 0 and snap.lost_before == 2 * 75291
        # A restart in the same buffer (a tracer switch) is not a new start.
        sess.stop_stream()
        sess.start_stream()
        time.sleep(0.3)
        more = sess.ring.window(seps[0] + 1 + sess.ring.first_seq, 10**7)
        assert not [ln for ln in more if ln.startswith("[ftop: ")]
    finally:
        sess.restore()


def test_session_says_why_it_cannot_mark_a_counter_clock(tmp_path: Path) -> None:
    clock = "local global [counter] uptime perf mono mono_raw boot tai x86-tsc\n"
    tfs = fake_tracefs(tmp_path / "t", SCHED[:20], "8361520911", clock=clock)
    sess = text_session(tfs, tmp_path)
    try:
        sess.start_stream()
        wait(lambda: sess.aggregates.snapshot(time.time()).lifetime_events >= 20)
        ring = sess.ring.window(0, 21)
        assert ring[0].startswith("[ftop: the buffer held 20 events from before ftop started")
        assert "trace_clock counter" in ring[0]
        assert ring[1:] == SCHED[:20]
        snap = sess.aggregates.snapshot(time.time())
        assert snap.predates == 0 and snap.lifetime_events == 20
        assert snap.predates_unknown is not None
    finally:
        sess.restore()


def test_a_headless_stream_passes_the_kernels_text_untouched(tmp_path: Path) -> None:
    now = parse_line(SCHED[1000]).ts
    tfs = fake_tracefs(tmp_path / "t", SCHED, f"{now:.6f}")
    sess = text_session(tfs, tmp_path)
    got: List[str] = []
    sess.keep_ring = False
    sess.listeners.append(got.extend)
    try:
        sess.start_stream()
        wait(lambda: len(got) >= len(SCHED))
        assert got == SCHED and not sess.start_marks
    finally:
        sess.restore()


def test_sampling_of_a_predating_skipped_span_does_not_scale_live_rates(tmp_path: Path) -> None:
    now = parse_line(SCHED[10]).ts
    tfs = fake_tracefs(tmp_path / "t", [], f"{now:.6f}")
    (tfs.path / "per_cpu" / "cpu0" / "stats").write_text(stats_text(f"{now:.6f}", 5000))
    sess = text_session(tfs, tmp_path)
    sess._mark_start()
    # What the behind decoder does with a cut start backlog: the skipped line, the
    # decoded lines, then its sampling note.
    sess._on_batch([skipped_line(40, 5000), *SCHED[:100]])
    sess._on_sampled(100 * 90, 40 * 4096)
    snap = sess.aggregates.snapshot(time.time())
    assert snap.sampled is None
    assert snap.predates >= 5000
