"""`ftop FILE`: a saved trace as a read-only session, rates over the capture's own time."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from ftop.engine.errors import FtopError
from ftop.engine.stream.offline import FileSession, ReadOnly

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "host-6.18"


def test_saved_trace_loads_header_and_body() -> None:
    fs = FileSession(str(FIX / "sched.trace.txt"))
    fs.load()
    body = [
        ln
        for ln in (FIX / "sched.trace.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert fs.ring.window(0, 10**6) == body
    assert fs.status.tracer == "nop" and fs.cpus == 2
    snap = fs.aggregates.snapshot(fs.clock())
    assert snap.total == len(body)
    span = fs.last_ts - fs.first_ts  # type: ignore[operator]
    assert snap.total_rate == pytest.approx(len(body) / span)
    assert sum(fs.rate_series(10)) == pytest.approx(len(body) / (span / 10), rel=0.05)


def test_gzipped_trace_opens_too(tmp_path: Path) -> None:
    p = tmp_path / "t.txt.gz"
    with gzip.open(p, "wt") as f:
        f.write((FIX / "sched.trace_pipe.txt").read_text())
    fs = FileSession(str(p))
    fs.load()
    assert len(fs.ring) == len(
        [ln for ln in (FIX / "sched.trace_pipe.txt").read_text().splitlines() if ln.strip()]
    )


def test_saved_trace_refuses_every_change() -> None:
    fs = FileSession(str(FIX / "sched.trace.txt"))
    for call in (lambda: fs.set_tracing_on(False), lambda: fs.set_event("sched", None, True)):
        with pytest.raises(ReadOnly):
            call()


def test_missing_file_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(FtopError, match="cannot read"):
        FileSession(str(tmp_path / "nope.txt"))


def test_per_cpu_entries_of_a_saved_trace_are_counted_from_its_lines() -> None:
    """Regression: the dashboard's per-CPU entries read 0 for a saved trace (no per_cpu stats)."""
    import re

    fs = FileSession(str(FIX / "sched.trace.txt"))
    fs.load()
    body = [
        ln
        for ln in (FIX / "sched.trace.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    want: dict[int, int] = {}
    for ln in body:
        m = re.search(r"\[(\d{3})\]", ln)
        assert m is not None
        want[int(m.group(1))] = want.get(int(m.group(1)), 0) + 1
    st = fs.poll()
    assert {c: int(v["entries"]) for c, v in st.cpu_stats.items()} == want
    assert sum(want.values()) == len(body) and len(want) == 2
