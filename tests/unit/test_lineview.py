"""Filtering, searching and saving the ring's lines (ftop.engine.stream.lineview), on real captures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ftop.engine.errors import ConfigError
from ftop.engine.stream.lineview import FilteredIndex, LineFilter, SearchPattern, save_lines
from ftop.engine.stream.parse import parse_line
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
    ring: Ring, text: str, pred
) -> None:  # type: ignore[no-untyped-def]
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
