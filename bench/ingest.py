"""Live ingest: `ftop stream` vs `cat trace_pipe > /dev/null` under the same every-event load.

Run as root:  .venv/bin/python bench/ingest.py [--seconds 5] [--rounds 3]

Both readers run in turn, several rounds, with every trace event enabled
(`events/enable` = 1) and the same buffer size. Figures come from the kernel's
own counters in per_cpu/cpuN/stats, so the reference and ftop are counted the
same way: delivered = delta of `read events`, lost = delta of `overrun` +
`dropped events`. The tracefs state is snapshotted first and restored at the
end, exactly (the same code ftop uses).

Targets (issue 2): delivered/s >= 0.9x cat's; loss fraction <= cat's + 1 point.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple

from ftop.engine.control.state import differences, restore, snapshot
from ftop.engine.control.tracefs import Tracefs, find_tracefs, list_dir
from ftop.engine.stream.stats import parse_cpu_stats


def counters(tfs: Tracefs) -> Dict[str, int]:
    tot = {"read": 0, "overrun": 0, "dropped": 0}
    for cpu in list_dir(tfs, "per_cpu"):
        st = parse_cpu_stats(tfs.read(f"per_cpu/{cpu}/stats"))
        tot["read"] += int(st.get("read events", 0))
        tot["overrun"] += int(st.get("overrun", 0))
        tot["dropped"] += int(st.get("dropped events", 0))
    return tot


def drain(tfs: Tracefs) -> None:
    """Empty the buffer between rounds so each reader starts from the same point."""
    subprocess.run(["timeout", "1", "cat", str(tfs.file("trace_pipe"))], stdout=subprocess.DEVNULL)


def run_reader(tfs: Tracefs, cmd: List[str], seconds: float) -> Tuple[float, float, float]:
    """(delivered/s, loss fraction, CPU seconds of the reader)."""
    drain(tfs)
    before = counters(tfs)
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        proc.terminate()
        proc.wait(timeout=30)
    elapsed = time.monotonic() - t0
    after = counters(tfs)
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    read = after["read"] - before["read"]
    lost = (after["overrun"] - before["overrun"]) + (after["dropped"] - before["dropped"])
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return read / elapsed, lost / max(1, read + lost), cpu


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/ingest.py: needs root", file=sys.stderr)
        return 2
    tfs = Tracefs(find_tracefs())
    pristine = snapshot(tfs)
    pipe = str(tfs.file("trace_pipe"))
    readers = {
        "cat trace_pipe": ["cat", pipe],
        "ftop stream": [sys.executable, "-m", "ftop", "stream", "--tracefs", str(tfs.root)],
    }
    results: Dict[str, List[Tuple[float, float, float]]] = {k: [] for k in readers}
    try:
        tfs.write("events/enable", "1")
        for rnd in range(args.rounds):
            for name, cmd in readers.items():
                r = run_reader(tfs, cmd, args.seconds)
                results[name].append(r)
                print(
                    f"round {rnd + 1} {name:15s} {r[0] / 1e3:8.1f} k events/s  "
                    f"loss {r[1] * 100:5.1f} %  cpu {r[2]:.2f} s",
                    flush=True,
                )
    finally:
        report = restore(tfs, pristine)
        left = differences(pristine, snapshot(tfs))
        if left or not report.ok:
            print("WARNING: tracefs not fully restored:", left, report.errors, file=sys.stderr)
    med = {
        k: (
            statistics.median(r[0] for r in v),
            statistics.median(r[1] for r in v),
            statistics.median(r[2] for r in v),
        )
        for k, v in results.items()
    }
    cat, ftop = med["cat trace_pipe"], med["ftop stream"]
    print()
    print(
        f"median cat:  {cat[0] / 1e3:.1f} k events/s, loss {cat[1] * 100:.1f} %, cpu {cat[2]:.2f} s"
    )
    print(
        f"median ftop: {ftop[0] / 1e3:.1f} k events/s, loss {ftop[1] * 100:.1f} %, cpu {ftop[2]:.2f} s"
    )
    ratio = ftop[0] / cat[0] if cat[0] else float("nan")
    dloss = (ftop[1] - cat[1]) * 100
    print(f"ratio delivered ftop/cat: {ratio:.2f} (target >= 0.90)")
    print(f"loss difference: {dloss:+.1f} points (target <= +1.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
