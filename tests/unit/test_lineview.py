"""Filtering, searching and saving the ring's lines (ftop.engine.stream.lineview), on real captures."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Callable

import pytest
from ftop.engine.errors import ConfigError
from ftop.engine.stream.lineview import (
    FilteredIndex,
    Found,
    LineFilter,
    SearchPattern,
    save_lines,
    search_rows,
)
from ftop.engine.stream.parse import Record, parse_line
from ftop.engine.stream.ring import Ring

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "host-6.18"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    text = (FIX / "sched.trace_pipe.txt").read_text() + (
        FIX / "all-events.trace_pipe.txt"
    ).read_text()
    out = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    out.insert(500, "CPU:1 [LOST 136165 EVENTS]")
    return out


@pytest.fixture()
def ring(lines: list[str]) -> Ring:
    r = Ring(100_000)
    r.extend(lines)
    return r


def naive(ring: Ring, pred) -> list[int]:  # type: ignore[no-untyped-def]
    out = []
    for seq in range(ring.first_seq, ring.next_seq):
        line = ring.get(seq)
        rec = parse_line(line)
        if rec.kind == "lost" or pred(rec):
            out.append(seq)
    return out


@pytest.mark.parametrize(
    "text,pred",
    [
        ("ev:sched_switch", lambda r: r.name == "sched_switch"),
        ("ev:sched_wak*", lambda r: (r.name or "").startswith("sched_wak")),
        ("cpu:1", lambda r: r.cpu == 1),
        ("pid:813", lambda r: r.pid == 813),
        ("task:python3", lambda r: r.comm == "python3"),
        ("task:kworker*", lambda r: (r.comm or "").startswith("kworker")),
        (
            "pid:434 cpu:0 ev:sched_switch",
            lambda r: r.pid == 434 and r.cpu == 0 and r.name == "sched_switch",
        ),
        ("prio=120", lambda r: "prio=120" in r.raw),
        ("PRIO=120", lambda r: "PRIO=120" in r.raw),  # an upper-case letter: case matters
        ("target_cpu=00[01]", lambda r: "target_cpu=000" in r.raw or "target_cpu=001" in r.raw),
    ],
)
def test_filter_matches_exactly_what_a_line_by_line_parse_would(
    ring: Ring, text: str, pred: Callable[[Record], bool]
) -> None:
    idx = FilteredIndex(LineFilter.parse(text), ring)
    idx.update()
    expected = naive(ring, pred)
    # Beyond the loss markers every filter lets through, each filter selects lines,
    # but for the upper-case one, which must select none.
    selected = any(parse_line(ring.get(s)).kind != "lost" for s in expected)
    assert selected == (text != "PRIO=120")
    assert list(idx.seqs) == expected


def test_lost_markers_always_pass_a_filter(ring: Ring) -> None:
    idx = FilteredIndex(LineFilter.parse("ev:no_such_event"), ring)
    idx.update()
    # The marker inserted above, then all-events.trace_pipe.txt's own (its first line).
    assert [ring.get(s) for s in idx.seqs] == [
        "CPU:1 [LOST 136165 EVENTS]",
        "CPU:1 [LOST 2006 EVENTS]",
    ]


def test_filter_catches_up_within_a_budget_and_forgets_evicted_lines(lines: list[str]) -> None:
    ring = Ring(1000)
    idx = FilteredIndex(LineFilter.parse("ev:sched_switch"), ring)
    ring.extend(lines[:800])
    _, dropped = idx.update(budget=300)
    assert idx.scanned == 300 and idx.behind == 500 and dropped == 0
    idx.update()
    assert idx.behind == 0
    ring.extend(lines[800:1600])  # evicts the first 600
    _, dropped = idx.update()
    assert dropped > 0 and all(s >= ring.first_seq for s in idx.seqs)
    assert list(idx.seqs) == [
        s for s in range(ring.first_seq, ring.next_seq) if ": sched_switch:" in ring.get(s)
    ]


def test_graph_lines_filter_by_cpu_and_function() -> None:
    graph = [
        " 0)               |  vfs_read() {",
        " 0)   0.245 us    |    rw_verify_area();",
        " 1) + 12.345 us   |  } /* vfs_read */",
        " 1)   0.100 us    |  fsnotify();",
    ]
    ring = Ring(10)
    ring.extend(graph)
    idx = FilteredIndex(LineFilter.parse("cpu:1"), ring)
    idx.update()
    assert list(idx.seqs) == [2, 3]
    idx = FilteredIndex(LineFilter.parse("fn:vfs_read"), ring)
    idx.update()
    assert list(idx.seqs) == [0, 2]


@pytest.mark.parametrize("bad", ["pid:abc", "cpu:x1", "pid:", "re:(unclosed"])
def test_bad_filters_are_refused_with_a_sentence(bad: str) -> None:
    with pytest.raises(ConfigError):
        LineFilter.parse(bad)


def test_filter_round_trips_through_its_text() -> None:
    f = LineFilter.parse("pid=1,2 task:bash ev:sched_* foo bar")
    assert str(f) == "task:bash pid:1,2 ev:sched_* foo bar"
    assert LineFilter.parse(str(f)) == f
    assert LineFilter.parse("").is_empty()


def test_search_is_smart_case_and_falls_back_to_literal(lines: list[str]) -> None:
    sp = SearchPattern("SCHED_SWITCH")
    assert sp.find_in(lines) is None
    sp = SearchPattern("sched_switch")
    i = sp.find_in(lines)
    assert i is not None and "sched_switch" in lines[i]
    j = sp.find_in(lines, backward=True)
    assert j is not None and j >= i and all("sched_switch" not in ln for ln in lines[j + 1 :])
    lit = SearchPattern("prio=120 [")  # not a valid regex: searched literally
    assert lit.find_in(["x prio=120 [y"]) == 0
    assert SearchPattern("Sched").spans("sched Sched") == [(6, 11)]


def test_save_writes_ftrace_text_that_parses_back(ring: Ring) -> None:
    out = io.StringIO()
    n = save_lines(out, ring, tracer="nop", cpus=2)
    text = out.getvalue()
    assert n == len(ring)
    assert text.startswith("# tracer: nop\n#\n# entries-in-buffer/entries-written: ")
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert body == ring.window(ring.first_seq, len(ring))

    out = io.StringIO()
    idx = FilteredIndex(LineFilter.parse("ev:sched_switch"), ring)
    idx.update()
    n = save_lines(out, ring, seqs=idx.seqs)
    assert n == len(idx)
    assert f"{n}/{n}" in out.getvalue()


def _wait(pred, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


def test_background_scan_finds_what_update_does_and_forgets_evicted_lines(
    lines: list[str],
) -> None:
    """The scan that runs off the UI's event loop: the owner only merges arrays per tick."""
    ring = Ring(1500)
    ring.extend(lines[:1200])
    idx = FilteredIndex(LineFilter.parse("ev:sched_switch"), ring)
    idx.update(budget=100)  # the first slice, in the owner's thread
    idx.start()
    try:
        _wait(lambda: idx.collect() is not None and idx.caught_up and not idx.behind)
        assert idx.progress() == 1.0
        ring.extend(lines[1200:2400])  # evicts the first 900
        idx.poke()
        _wait(lambda: idx.collect() is not None and not idx.behind)
        fresh = FilteredIndex(idx.filter, ring)
        fresh.update()
        assert list(idx.seqs) == list(fresh.seqs) and len(idx) > 100
        # A paused display: the scan stops at the limit it is given.
        stop = ring.next_seq
        idx.poke(limit=stop)
        ring.extend(lines[2400:2900])
        time.sleep(0.05)
        idx.collect()
        assert idx.scanned == stop and idx.behind == 500
    finally:
        idx.close()
        idx.join(2.0)
    assert not idx.running, "close() stops the scanning thread"


def test_collect_does_not_count_lines_evicted_before_they_were_shown(lines: list[str]) -> None:
    ring = Ring(1000)
    ring.extend(lines[:1000])
    idx = FilteredIndex(LineFilter.parse("ev:sched_switch"), ring)
    found, stop = idx.scan(ring.first_seq, ring.next_seq)
    idx._pending.append(found)  # as the thread hands it over
    idx._pending_scanned = stop
    ring.extend(lines[1000:1600])  # evicts 600 lines the owner never merged
    added, dropped = idx.collect()
    assert dropped == 0, "rows that were never shown do not shift the cursor"
    assert all(s >= ring.first_seq for s in idx.seqs) and added == len(idx.seqs)


def test_search_rows_wraps_as_vim_and_says_so() -> None:
    ring = Ring(100)
    ring.extend(["a", "hit 1", "b", "hit 3", "c"])
    seqs = range(ring.first_seq, ring.next_seq)
    sp = SearchPattern("hit")
    assert search_rows(sp, ring, seqs, 0) == Found(1, 1, False)
    assert search_rows(sp, ring, seqs, 2) == Found(3, 3, False)
    assert search_rows(sp, ring, seqs, 4) == Found(1, 1, True)  # past the last: from the top
    assert search_rows(sp, ring, seqs, 5) == Found(1, 1, True)  # n on the last row
    assert search_rows(sp, ring, seqs, 4, wrap=False) is None
    assert search_rows(sp, ring, seqs, 4, backward=True) == Found(3, 3, False)  # newest first
    assert search_rows(sp, ring, seqs, 0, backward=True) == Found(3, 3, True)
    assert search_rows(sp, ring, seqs, -1, backward=True) == Found(3, 3, True)  # N on row 0
    assert search_rows(SearchPattern("zzz"), ring, seqs, 2) is None
    # A filtered view: rows are indexes into the seqs it shows.
    assert search_rows(sp, ring, [0, 2, 3, 4], 0) == Found(2, 3, False)


def test_search_rows_stops_when_cancelled_and_reports_progress(lines: list[str]) -> None:
    ring = Ring(100_000)
    ring.extend(lines * 5)
    seqs = range(ring.first_seq, ring.next_seq)
    shares: list[float] = []
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return calls[0] > 2

    sp = SearchPattern("no-such-text")
    assert (
        search_rows(sp, ring, seqs, 0, cancelled=cancelled, progress=shares.append, chunk=100)
        is None
    )
    assert calls[0] == 3 and len(shares) == 2 and 0 < shares[0] < shares[1] < 1
    shares.clear()
    assert search_rows(sp, ring, seqs, 0, progress=shares.append, chunk=4096) is None
    assert shares[-1] == 1.0
