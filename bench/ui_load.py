"""The UI under the machine's every-event load: event-loop lag and view refreshes per second.

Run as root:  .venv/bin/python bench/ui_load.py [--seconds 10] [--rounds 3] [--top]

The app runs headless (``run_test``, 120x40) on a live session with every trace
event enabled (``events/enable`` = 1) in a private instance (``--top``: the top
level). Each round runs three rows under that load:

* ``follow``: the view follows the stream, as the user leaves it;
* ``filter``: a live filter (``ev:sched_*``, ``--filter``) is set as the row
  starts, so the row includes the rescan of the whole ring on the filter's
  thread, then keeps up with the stream;
* ``search``: a search for a pattern that is nowhere (``--search``), so every
  search and every ``n`` that follows (one a second) scans the whole ring.

Per row it reports:

* event-loop lag: how late a 10 ms timer fires in the app's own loop (p50,
  p95, max); target p95 < 50 ms;
* view refreshes/s: frames in which the trace view repainted (its first line
  rendered); target >= 20;
* what the engine ingested (lines/s into the ring), and, as the reference under
  the same load in the same run, what ``cat trace_pipe > /dev/null`` delivers.

The tracefs state is snapshotted first and restored at the end, exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from _ui_probe import FPS_TARGET, LAG_TARGET_MS, SCENARIOS, drive, probe_view
from ftop.engine.control.config import EventSpec, TraceConfig
from ftop.engine.control.session import Session
from ftop.engine.control.state import differences, restore, snapshot
from ftop.engine.control.tracefs import Tracefs, find_tracefs
from ftop.tui.app import FtopApp
from ftop.tui.screens.live import LiveScreen
from ftop.tui.settings import Settings

MODE = ["auto"]
FILTER = ["ev:sched_*"]
SEARCH = ["no-such-text-in-any-event"]


async def one_round(
    root: Path, instance: Optional[str], seconds: float, scenario: str = "follow"
) -> Dict[str, float]:
    sess = Session.open(str(root), instance=instance, journal_dir=Path("/tmp/ftop-bench-journal"))
    sess.stream_mode = MODE[0]
    try:
        sess.apply_config(TraceConfig(events=[EventSpec("all")]))
        sess.start_stream()
        sess.poll()
        app = FtopApp(
            sess, kind="live", label="bench", settings=Settings(Path("/tmp/ftop-bench.toml"))
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(1.0)  # warm up: the ring fills, caches settle
            screen = app.screen
            assert isinstance(screen, LiveScreen) and screen.view is not None
            seq0 = sess.ring.next_seq
            res = await probe_view(
                screen.view, seconds, lambda lag: drive(pilot, scenario, lag, FILTER[0], SEARCH[0])
            )
            ingested = sess.ring.next_seq - seq0
            await pilot.press("q")
        return {
            "lag_p50": res.lag_p50,
            "lag_p95": res.lag_p95,
            "lag_max": res.lag_max,
            "fps": res.fps,
            "ingest": ingested / res.elapsed,
        }
    finally:
        sess.restore()


def cat_reference(root: Path, instance: Optional[str], seconds: float) -> float:
    """Lines/s that `cat trace_pipe` delivers under the same load (same run)."""
    sess = Session.open(str(root), instance=instance, journal_dir=Path("/tmp/ftop-bench-journal"))
    sess.stream_mode = MODE[0]
    try:
        sess.apply_config(TraceConfig(events=[EventSpec("all")]))
        pipe = str(sess.tfs.file("trace_pipe"))
        t0 = time.monotonic()
        out = subprocess.run(
            f"timeout {seconds} cat {pipe} | wc -l", shell=True, capture_output=True, text=True
        )
        return int(out.stdout.strip() or 0) / (time.monotonic() - t0)
    finally:
        sess.restore()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--top", action="store_true", help="load the top level instead of an instance")
    ap.add_argument(
        "--rows",
        default=",".join(SCENARIOS),
        help=f"which rows to run, comma-separated (default: {','.join(SCENARIOS)})",
    )
    ap.add_argument("--filter", default=FILTER[0], help="the live filter of the filter row")
    ap.add_argument("--search", default=SEARCH[0], help="what the search row looks for")
    ap.add_argument(
        "--mode",
        choices=("auto", "raw", "text"),
        default="auto",
        help="the session's stream: raw pages, trace_pipe's text, or auto (raw, text if it falls behind)",
    )
    args = ap.parse_args()
    MODE[0] = args.mode
    FILTER[0] = args.filter
    SEARCH[0] = args.search
    scenarios = [r for r in args.rows.split(",") if r]
    bad = [r for r in scenarios if r not in SCENARIOS]
    if bad or not scenarios:
        ap.error(f"--rows: choose from {', '.join(SCENARIOS)}")
    if os.geteuid() != 0:
        print("bench/ui_load.py: needs root", file=sys.stderr)
        return 2
    root = find_tracefs()
    tfs = Tracefs(root)
    pristine = snapshot(tfs)
    instance = None if args.top else f"ftop-bench-{os.getpid()}"
    rows: Dict[str, List[Dict[str, float]]] = {sc: [] for sc in scenarios}
    try:
        for r in range(args.rounds):
            ref = cat_reference(root, instance, min(5.0, args.seconds))
            for sc in scenarios:
                res = asyncio.run(one_round(root, instance, args.seconds, sc))
                res["cat"] = ref
                rows[sc].append(res)
                print(
                    f"round {r + 1} {sc:<6}: lag p50 {res['lag_p50']:.1f} ms, "
                    f"p95 {res['lag_p95']:.1f} ms, max {res['lag_max']:.0f} ms; "
                    f"{res['fps']:.1f} view refreshes/s; "
                    f"ingest {res['ingest']:,.0f} lines/s (cat trace_pipe {ref:,.0f}/s, "
                    f"ratio {res['ingest'] / max(ref, 1):.2f})",
                    flush=True,
                )
    finally:
        restore(tfs, pristine)
        diff = differences(pristine, snapshot(tfs))
        if diff:
            print("bench/ui_load.py: tracefs NOT restored: " + "; ".join(diff), file=sys.stderr)
    for sc in scenarios:
        if not rows[sc]:
            continue
        p95 = statistics.median(r["lag_p95"] for r in rows[sc])
        fps = statistics.median(r["fps"] for r in rows[sc])
        print(
            f"median {sc:<6}: lag p95 {p95:.1f} ms (target < {LAG_TARGET_MS:.0f}): "
            f"{'ok' if p95 < LAG_TARGET_MS else 'MISSED'}; "
            f"{fps:.1f} refreshes/s (target >= {FPS_TARGET:.0f}): "
            f"{'ok' if fps >= FPS_TARGET else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
