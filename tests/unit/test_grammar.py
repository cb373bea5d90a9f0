"""The readers of ftrace text agree on which lines are which, on every real capture.

The line parser (engine/stream/parse.py), the per-batch counters (stats.py),
the filter (lineview.py), the offline loader (offline.py), the demo replay
(demo/session.py) and the trace view's colouring (tui/widgets/trace_view.py)
each build their patterns from engine/stream/grammar.py. If one of them drifts
(a column written out again, a marker spelled differently), the readers stop
agreeing on some line of a capture and this fails, naming the line.

The parser is the reference: it classifies a line as a loss marker, a record
with a context prefix (default or latency format), or a function_graph row.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from ftop.engine.demo import session as demo
from ftop.engine.demo.graph_replay import graph_cpu
from ftop.engine.stream import grammar, lineview, offline, parse, stats
from ftop.engine.stream.parse import Record

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted(
    [
        *(ROOT / "tests/fixtures/host-6.18").glob("*.txt"),
        *(ROOT / "tests/fixtures/lab-6.1-rt").glob("*.txt"),
        *(ROOT / "engine/demo/data").glob("*.txt.gz"),
    ]
)
# Graph rows with the "N) ... |" columns (not the context-switch banners).
GRAPH_ROWS = ("entry", "exit", "leaf", "comment", "irq_entry", "irq_exit")


def _text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", "surrogateescape")


def _lines(path: Path) -> List[str]:
    return _text(path).split("\n")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


_DEFAULT_CONTEXT = re.compile(grammar.CONTEXT)


def _reference(rec: Record) -> str:
    """What the parser says a line is: lost, started (a "buffer started" note),
    context (default context prefix), latency (latency-format prefix), graph
    (a function_graph row) or other."""
    if rec.kind == "lost":
        return "lost" if rec.lost is not None else "started"
    if rec.kind == "graph":
        return "graph" if rec.cpu is not None and rec.graph_kind in GRAPH_ROWS else "other"
    if rec.pid is not None and rec.cpu is not None and rec.ts is not None:
        return "context" if _DEFAULT_CONTEXT.match(rec.raw) else "latency"
    return "other"


RECORDS = ("context", "latency", "graph")


@pytest.fixture(scope="module")
def parsed() -> Dict[Path, List[Tuple[str, Record]]]:
    return {p: [(ln, parse.parse_line(ln)) for ln in _lines(p)] for p in CAPTURES}


def test_the_captures_exercise_every_shape(
    parsed: Dict[Path, List[Tuple[str, Record]]],
) -> None:
    """A check over captures that hold none of the shapes would prove nothing."""
    seen = {_reference(rec) for lines in parsed.values() for _, rec in lines}
    assert {"lost", "started", *RECORDS} <= seen


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_stats_counts_the_lines_the_parser_sees_as_records(
    path: Path, parsed: Dict[Path, List[Tuple[str, Record]]]
) -> None:
    """Each line alone: the fast path counts it iff it is a context or graph row, and
    counts a LOST marker's events."""
    bad = []
    for ln, rec in parsed[path]:
        ref = _reference(rec)
        agg = stats.Aggregates()
        agg.ingest([ln], 0.0)
        snap = agg.snapshot(0.0)
        counted = snap.lifetime_events == 1
        shape = stats._batch_shape([ln])
        # Counted iff a record, and as a graph row iff it is one.
        if counted != (ref in RECORDS) or (counted and (shape == "graph") != (ref == "graph")):
            bad.append((ln, ref, shape, snap.lifetime_events))
        want_lost = rec.lost if ref == "lost" else 0
        if snap.lost_total != want_lost:
            bad.append((ln, ref, "lost", snap.lost_total))
        if counted and rec.cpu is not None and list(snap.cpu_rates) != [rec.cpu]:
            bad.append((ln, ref, "cpu", list(snap.cpu_rates)))
    assert bad == []


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_trace_view_colours_the_columns_the_parser_finds(
    path: Path, parsed: Dict[Path, List[Tuple[str, Record]]]
) -> None:
    trace_view = pytest.importorskip("ftop.tui.widgets.trace_view")

    def colours(line: str) -> str:
        kinds = [k for _, _, k in trace_view._columns(line)]
        if kinds == ["lost"]:
            return "marker"
        if "pid" in kinds:
            return (
                "latency"
                if trace_view._LAT.match(line) and not trace_view._COLS.match(line)
                else "context"
            )
        if kinds[:1] == ["cpu"]:
            return "graph"
        return "other"

    bad = []
    for ln, rec in parsed[path]:
        ref = _reference(rec)
        want = "marker" if ref in ("lost", "started") else ref
        if colours(ln) != want:
            bad.append((ln, ref, colours(ln)))
    assert bad == []


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_the_filter_keeps_loss_markers_and_finds_each_cpu(
    path: Path, parsed: Dict[Path, List[Tuple[str, Record]]]
) -> None:
    lines = parsed[path]
    text = "\n" + "\n".join(ln for ln, _ in lines)
    refs = [_reference(rec) for _, rec in lines]
    # A filter nothing passes: only the LOST markers are left.
    nothing = lineview.LineFilter(pids=(999999999,)).matcher().lines(text)
    assert nothing == [i for i, r in enumerate(refs) if r == "lost"]
    # The CPU filter reads the "[cpu]" and "N)" columns; latency-format lines
    # (the CPU glued to the flags) are not narrowed by CPU.
    cpus = {rec.cpu for (_, rec), r in zip(lines, refs) if r in ("context", "graph")}
    for cpu in sorted(c for c in cpus if c is not None):
        got = lineview.LineFilter(cpus=(cpu,)).matcher().lines(text)
        want = [
            i
            for i, ((_, rec), r) in enumerate(zip(lines, refs))
            if r == "lost" or (r in ("context", "graph") and rec.cpu == cpu)
        ]
        # The filter's CPU column test also takes the graph's context-switch
        # banners (" 1)  a-1  =>  b-2"), which are not rows.
        extra = [i for i in set(got) - set(want) if lines[i][1].graph_kind == "switch"]
        assert sorted(set(got) - set(extra)) == want, f"cpu {cpu}"


def _default_ts(line: str, rec: Record) -> Optional[float]:
    """The timestamp of a default-context line with a "secs.usecs" clock."""
    if _reference(rec) != "context":
        return None
    m = _DEFAULT_CONTEXT.match(line)
    return float(m.group("ts")) if m and "." in m.group("ts") else None


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_offline_and_demo_read_the_same_timestamps_and_markers(
    path: Path, parsed: Dict[Path, List[Tuple[str, Record]]]
) -> None:
    bad = []
    for ln, rec in parsed[path]:
        ref = _reference(rec)
        ts = _default_ts(ln, rec)
        m = offline._TS.search(ln)
        if ts is not None and (m is None or float(m.group(1)) != ts):
            bad.append((ln, "offline", ts))
        d = demo._classify(ln, {}, graph_cpu)
        # The replay keeps a line's timestamp only when a name follows it (it
        # replays by name), so a "<stack trace>" head keeps none.
        if d.ts != ts and not (d.ts is None and rec.kind == "stack"):
            bad.append((ln, "demo ts", d.ts, ts))
        if (d.lost > 0) != (ref == "lost") or (d.lost and (d.lost, d.cpu) != (rec.lost, rec.cpu)):
            bad.append((ln, "demo lost", d.lost, rec.lost))
    assert bad == []


def test_plain_keeps_the_matches_and_drops_the_groups() -> None:
    line = "CPU:3 [LOST 12 EVENTS]"
    assert re.compile(grammar.plain(grammar.LOST)).groups == 0
    assert re.match(grammar.plain(grammar.LOST), line).span() == grammar.LOST_RE.match(line).span()
    assert grammar.LOST_B.findall(line.encode()) == [(b"3", b"12")]
