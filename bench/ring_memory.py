#!/usr/bin/env python3
"""Memory benchmark: RSS once a 1M-entry Ring is full, and again after millions more appends.

The ring must hold memory flat whatever the rate: once full, each batch
evicts as much as it adds. This fills a ``Ring(max_entries=1_000_000)`` with
distinct trace-like lines (made from a real capture when one is available,
each with its own timestamp so no two strings are shared), takes RSS, then
keeps appending in 1 MiB-sized batches (as the trace_pipe reader hands them
over) with the Aggregates updated too, taking RSS after each million lines.

Pass criteria printed at the end (issue 9): RSS with the full ring (1 M lines) at most
120 MB, and growth after the ring was full under 5 %.

Usage: .venv/bin/python bench/ring_memory.py [--entries N] [--more M]
"""

from __future__ import annotations

import argparse
import gc
import re
import resource
import sys
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from ftop.engine.stream.ring import Ring, pin_mmap_threshold
from ftop.engine.stream.stats import Aggregates

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TS = re.compile(r"^(.*?\] [^:]*?)\d+\.\d{6}(: .*)$")
FALLBACK = [
    "            bash-1234    [001] d..2.  1234.567890: vfs_read <-ksys_read",
    "          <idle>-0       [000] d.h..  1234.567890: irq_handler_entry: irq=16 name=eth0",
    "         python3-10705   [000] d..2.  1234.567890: sched_switch: prev_comm=python3 "
    "prev_pid=10705 prev_prio=120 prev_state=D ==> next_comm=cat next_pid=10749 next_prio=120",
]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def templates() -> Tuple[str, List[str]]:
    for pattern in ("*/function*.trace_pipe.txt", "*/*.trace_pipe.txt"):
        for path in sorted(FIXTURES.glob(pattern)):
            lines = [ln for ln in path.read_text(errors="replace").splitlines() if TS.match(ln)]
            if len(lines) >= 100:
                return str(path.relative_to(ROOT)), lines
    return "built-in samples", FALLBACK


def line_stream(tpl: List[str]) -> Iterator[str]:
    """Endless distinct lines: the templates with an increasing timestamp."""
    parts = []
    for t in tpl:
        m = TS.match(t)
        if m:
            parts.append((m.group(1), m.group(2)))
    n = 0
    while True:
        for head, tail in parts:
            n += 1
            yield f"{head}{n // 1_000_000}.{n % 1_000_000:06d}{tail}"


def batches(stream: Iterator[str], batch_chars: int = 1 << 20) -> Iterator[List[str]]:
    while True:
        out: List[str] = []
        size = 0
        while size < batch_chars:
            line = next(stream)
            out.append(line)
            size += len(line) + 1
        yield out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--more", type=int, default=5_000_000, help="lines appended once full")
    args = ap.parse_args(argv)

    # As the app does once its first frame is out (FtopApp._first_frame).
    pinned = pin_mmap_threshold()
    source, tpl = templates()
    avg = sum(map(len, tpl)) / len(tpl)
    print(f"python {sys.version.split()[0]}; lines modelled on {source}")
    print(f"  {len(tpl)} templates, {avg:.0f} chars on average")
    print(f"  glibc's mmap threshold pinned: {'yes' if pinned else 'no (not glibc)'}")
    base = rss_mb()
    print(f"RSS before the ring: {base:.0f} MB")

    ring = Ring(max_entries=args.entries)
    agg = Aggregates()
    gen = batches(line_stream(tpl))
    t0 = time.perf_counter()
    while ring.next_seq < args.entries:
        b = next(gen)
        ring.extend(b)
        agg.ingest(b, time.time())
    gc.collect()
    full = rss_mb()
    print(
        f"ring full: {len(ring)} lines, {ring.bytes / 1e6:.0f} MB of text, "
        f"RSS {full:.0f} MB ({time.perf_counter() - t0:.1f} s to fill)"
    )

    samples = []
    target = ring.next_seq + args.more
    mark = ring.next_seq + 1_000_000
    while ring.next_seq < target:
        b = next(gen)
        ring.extend(b)
        agg.ingest(b, time.time())
        if ring.next_seq >= mark:
            mark += 1_000_000
            r = rss_mb()
            samples.append(r)
            print(
                f"  after {ring.next_seq:>9,d} appended: RSS {r:.0f} MB, "
                f"held {len(ring):,d}, evicted {ring.evicted:,d}"
            )
    gc.collect()
    end = rss_mb()
    peak = max([*samples, end])
    growth = (peak - full) / full * 100
    print(f"RSS full {full:.0f} MB, max after {peak:.0f} MB, growth {growth:+.1f} %")
    ok_size = full <= 120
    ok_flat = growth < 5
    print(
        f"at most 120 MB: {'yes' if ok_size else 'NO'}; flat (< 5 % growth): {'yes' if ok_flat else 'NO'}"
    )
    return 0 if ok_size and ok_flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
