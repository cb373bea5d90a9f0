#!/usr/bin/env python3
"""Offline ingest benchmark: a real function-tracer capture into the Ring with the Aggregates updated.

What one round measures, for ftop and for the reference, on the same file:

- ftop: read the file in 1 MiB chunks (the size the trace_pipe reader hands
  over), split into lines, ``Ring.extend`` and ``Aggregates.ingest`` per
  chunk; lines per second.
- reference: ``wc -l`` on the same file (page cache warm), lines per second.

Rounds alternate between the two so that a noisy machine hurts both alike;
the figure to read is the median of each and their ratio. Both wall-clock and
CPU time are measured (``time.process_time`` for ftop, the children's
``getrusage`` for ``wc``): on a shared, loaded machine wall time mostly
measures the neighbours, CPU time much less so. A capture smaller
than ``--lines`` is replicated in memory to about that many lines and written
to a temporary file, so both sides read identical bytes.

Also prints, for information, the rate of the full per-line parser
(``parse_line``), which ftop runs only on lines someone looks at.

Usage: .venv/bin/python bench/offline_parse.py [CAPTURE] [--lines N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Tuple

from ftop.engine.stream.offline import line_batches
from ftop.engine.stream.parse import is_unparsed, parse_line
from ftop.engine.stream.ring import Ring
from ftop.engine.stream.stats import Aggregates

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CHUNK = 1 << 20

# Function-tracer captures, best first: unfiltered trace_pipe output is the
# live stream's shape; filtered ones are real too but repeat fewer symbols.
PREFERRED = (
    "lab-6.1-rt/function.unfiltered.trace_pipe.txt",
    "lab-6.1-rt/function.unfiltered.trace.txt",
    "lab-6.1-rt/function.vfs.trace_pipe.txt",
    "lab-6.1-rt/function.vfs.trace.txt",
)


def find_capture() -> Optional[Path]:
    for rel in PREFERRED:
        for suffix in ("", ".gz"):
            p = FIXTURES / (rel + suffix)
            if p.exists():
                return p
    found = sorted(FIXTURES.glob("*/function*.trace*.txt*"))
    return found[0] if found else None


def read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def build_input(capture: Path, want_lines: int, tmpdir: Path) -> Tuple[Path, int, int]:
    """Write the capture, replicated to about ``want_lines`` lines, to a file.

    Header lines (``#``) are kept only in the first copy, as a real trace has
    them once. Returns (path, lines in the file, lines in the capture).
    """
    lines = read_text(capture).splitlines()
    body = [ln for ln in lines if not ln.startswith("#")]
    head = [ln for ln in lines if ln.startswith("#")]
    copies = max(1, -(-want_lines // max(1, len(body))))
    out = tmpdir / "capture.txt"
    with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("\n".join(head + body * copies))
        f.write("\n")
    return out, len(head) + len(body) * copies, len(lines)


def ftop_ingest(path: Path) -> Tuple[float, float, int, Ring, Aggregates]:
    """Read ``path`` the way the stream does and feed the ring and aggregates.

    Returns (wall seconds, CPU seconds, lines, ring, aggregates).
    """
    ring = Ring()
    agg = Aggregates()
    count = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        for lines in line_batches(f, CHUNK):
            ring.extend(lines)
            agg.ingest(lines, time.time())
            count += len(lines)
    return time.perf_counter() - t0, time.process_time() - c0, count, ring, agg


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wc_lines(path: Path) -> Tuple[float, float, int]:
    """Returns (wall seconds, CPU seconds, lines) of ``wc -l path``."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    out = subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, _children_cpu() - c0, int(out.stdout.split()[0])


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", nargs="?", type=Path, help="ftrace text (default: a fixture)")
    ap.add_argument("--lines", type=int, default=2_000_000, help="replicate up to this many")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    capture = args.capture or find_capture()
    if capture is None:
        print("no function-tracer capture found under tests/fixtures; pass one", file=sys.stderr)
        return 2
    if shutil.which("wc") is None:
        print("wc not found", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="ftop-bench-") as tmp:
        path, nlines, ncap = build_input(capture, args.lines, Path(tmp))
        size = path.stat().st_size
        print(f"capture: {capture.relative_to(ROOT) if capture.is_relative_to(ROOT) else capture}")
        print(f"  {ncap} lines, replicated to {nlines} lines, {size / 2**20:.0f} MiB")
        print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")

        wc_lines(path)  # warm the page cache
        ftop_t: List[float] = []
        ftop_c: List[float] = []
        wc_t: List[float] = []
        wc_c: List[float] = []
        for r in range(args.rounds):
            dt_wc, cpu_wc, n_wc = wc_lines(path)
            dt, cpu, n, ring, agg = ftop_ingest(path)
            assert n == n_wc == nlines, (n, n_wc, nlines)
            wc_t.append(dt_wc)
            wc_c.append(cpu_wc)
            ftop_t.append(dt)
            ftop_c.append(cpu)
            print(
                f"  round {r + 1}: ftop {n / dt / 1e6:5.2f} M lines/s "
                f"({n / cpu / 1e6:5.2f} per CPU-s)   "
                f"wc -l {n_wc / dt_wc / 1e6:6.2f} M lines/s ({n_wc / max(cpu_wc, 1e-9) / 1e6:6.2f})"
            )
        for label, f_, w_ in (("wall", ftop_t, wc_t), ("CPU ", ftop_c, wc_c)):
            med_f = statistics.median(f_)
            med_w = max(statistics.median(w_), 1e-9)
            print(
                f"median {label}: ftop ring+aggregates {nlines / med_f / 1e6:.2f} M lines/s, "
                f"wc -l {nlines / med_w / 1e6:.2f} M lines/s, "
                f"ftop/wc = {med_w / med_f:.3f} ({med_f / med_w:.0f}x the time of wc -l)"
            )
        snap = agg.snapshot(time.time(), top_n=3)
        print(
            f"  ring holds {len(ring)} lines ({ring.bytes / 2**20:.0f} MiB text), "
            f"evicted {ring.evicted}; lifetime events {snap.lifetime_events}; "
            f"top functions {[(p.name, p.count) for p in snap.top_functions]}"
        )

        sample = read_text(path).splitlines()[:200_000]
        t0 = time.perf_counter()
        unparsed = sum(1 for ln in sample if is_unparsed(parse_line(ln)))
        dt = time.perf_counter() - t0
        print(
            f"for information: parse_line() on {len(sample)} lines: "
            f"{len(sample) / dt / 1e3:.0f} k lines/s, {unparsed} unparsed"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
