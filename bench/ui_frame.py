"""The live view under a synthetic every-event load: view refreshes/s and event-loop lag.

Run as anyone (no root, no tracefs):

    .venv/bin/python bench/ui_frame.py [--seconds 10] [--rounds 3] [--rate 1000000]
        [--duty 0.3] [--rows follow,filter,search] [--profile out.prof]

bench/ui_load.py measures the same figures on the real tracefs; this bench needs
none. The app runs headless (``run_test``, 120x40) on the demo session with its
replay frozen, and threads stand in for the live session's:

* a feeder pushes real lines (tests/fixtures/host-6.18/all-events.trace_pipe.txt,
  every event of a host) into the session at ``--rate`` lines/s in batches of
  ``--batch``, as the raw decoder's batches arrive: ``ring.extend`` +
  ``aggregates.ingest`` + the listeners (the app's "more arrived" flag);
* a burner (``--duty``, 0 for none) holds the GIL in Python slices for that
  share of the time, as the decoder does (engine/raw/behind.py, duty 0.3);
* the switch interval is the decoder's 1 ms (``--switch`` to try another);
* the ring starts full (a million lines), so every batch evicts, as after a few
  seconds of the real load.

A feeder that cannot reach ``--rate`` (it shares the GIL too) runs flat out;
the row reports what it fed. Per row: loop lag p50/p95/max, view refreshes/s,
and the event loop's CPU time per refresh (``time.thread_time`` of the loop's
thread: what a frame costs, apart from waiting for the GIL).

The rows, the lag and the refresh count are ui_load's (bench/_ui_probe.py).
``--profile`` writes a cProfile of the main thread (the event loop: ticks,
renders, the compositor) over the measured seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from _ui_probe import FPS_TARGET, LAG_TARGET_MS, SCENARIOS, Probe, drive, probe_view
from ftop.engine.demo.session import DemoSession, open_demo
from ftop.tui.app import FtopApp
from ftop.tui.screens.live import LiveScreen
from ftop.tui.settings import Settings

CAPTURE = (
    Path(__file__).resolve().parent.parent / "tests/fixtures/host-6.18/all-events.trace_pipe.txt"
)


def capture_lines() -> List[str]:
    lines = CAPTURE.read_text(encoding="utf-8").splitlines()
    # The capture opens with a LOST marker: one is realistic, one per batch is not.
    return [x for x in lines if x.strip() and not x.startswith("CPU:")]


class Feeder(threading.Thread):
    """Pushes ``rate`` lines/s into the session in batches, as the live reader does."""

    def __init__(self, sess: DemoSession, lines: List[str], rate: float, batch: int) -> None:
        super().__init__(name="ui-frame-feeder", daemon=True)
        self.sess = sess
        self.lines = lines
        self.rate = rate
        self.batch = batch
        self.stop = threading.Event()
        self.fed = 0

    def run(self) -> None:
        src = self.lines
        n = len(src)
        at = 0
        start = time.perf_counter()
        while not self.stop.is_set():
            if at + self.batch > n:
                at = 0
            batch = src[at : at + self.batch]
            at += self.batch
            # The session's own path: ring, aggregates, then the app's listener.
            self.sess._on_batch(batch)
            self.fed += len(batch)
            ahead = self.fed / self.rate - (time.perf_counter() - start)
            if ahead > 0:
                self.stop.wait(ahead)
            else:
                time.sleep(0)  # as a reader between reads: others get the GIL


class Burner(threading.Thread):
    """Holds the GIL in pure-Python slices for ``duty`` of the time (the decoder)."""

    SLICE = 0.002

    def __init__(self, duty: float) -> None:
        super().__init__(name="ui-frame-burner", daemon=True)
        self.duty = duty
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            x = 0
            while time.perf_counter() - t0 < self.SLICE:
                for i in range(200):
                    x += i * i
            spent = time.perf_counter() - t0
            self.stop.wait(spent * (1 - self.duty) / self.duty)


async def one_round(args: argparse.Namespace, scenario: str) -> Dict[str, float]:
    sess = open_demo(realtime=False)
    feeder: Optional[Feeder] = None
    burner: Optional[Burner] = None
    prof = cProfile.Profile() if args.profile else None
    try:
        sess.start_stream()  # the frozen demo: a prefill, no replay thread
        sess.poll()
        lines = capture_lines()
        # A full ring, as after a few seconds of the real load: every batch evicts.
        while len(sess.ring) < sess.ring.max_entries:
            sess.ring.extend(lines)
        app = FtopApp(
            sess, kind="live", label="bench", settings=Settings(Path("/tmp/ftop-bench.toml"))
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            feeder = Feeder(sess, lines, args.rate, args.batch)
            feeder.start()
            if args.duty > 0:
                burner = Burner(args.duty)
                burner.start()
            await pilot.pause(args.warmup)  # the ring fills, caches settle
            screen = app.screen
            assert isinstance(screen, LiveScreen) and screen.view is not None
            fed0 = feeder.fed
            if prof is not None:
                prof.enable()
            res: Probe = await probe_view(
                screen.view,
                args.seconds,
                lambda lag: drive(pilot, scenario, lag, args.filter, args.search),
            )
            if prof is not None:
                prof.disable()
            fed = feeder.fed - fed0
            await pilot.press("q")
        if prof is not None:
            prof.dump_stats(f"{args.profile}.{scenario}")
        return {
            "lag_p50": res.lag_p50,
            "lag_p95": res.lag_p95,
            "lag_max": res.lag_max,
            "fps": res.fps,
            "ingest": fed / res.elapsed,
            "cpu_ms": res.cpu_ms_per_frame,
        }
    finally:
        for t in (feeder, burner):
            if t is not None:
                t.stop.set()
                t.join(5)
        sess.restore()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=1.5, help="seconds of load before measuring")
    ap.add_argument("--rate", type=float, default=1_000_000.0, help="lines/s fed into the ring")
    ap.add_argument("--batch", type=int, default=700, help="lines per batch (64 KiB of text)")
    ap.add_argument("--duty", type=float, default=0.3, help="GIL share of the decoder stand-in")
    ap.add_argument("--switch", type=float, default=0.001, help="sys.setswitchinterval (s)")
    ap.add_argument("--rows", default=",".join(SCENARIOS))
    ap.add_argument("--filter", default="ev:sched_*")
    ap.add_argument("--search", default="no-such-text-in-any-event")
    ap.add_argument("--profile", default="", help="write a cProfile of the loop to PATH.<row>")
    args = ap.parse_args()
    scenarios = [r for r in args.rows.split(",") if r]
    if not scenarios or any(r not in SCENARIOS for r in scenarios):
        ap.error(f"--rows: choose from {', '.join(SCENARIOS)}")
    sys.setswitchinterval(args.switch)
    rows: Dict[str, List[Dict[str, float]]] = {sc: [] for sc in scenarios}
    for r in range(args.rounds):
        for sc in scenarios:
            res = asyncio.run(one_round(args, sc))
            rows[sc].append(res)
            print(
                f"round {r + 1} {sc:<6}: lag p50 {res['lag_p50']:.1f} ms, "
                f"p95 {res['lag_p95']:.1f} ms, max {res['lag_max']:.0f} ms; "
                f"{res['fps']:.1f} view refreshes/s ({res['cpu_ms']:.1f} ms loop CPU each); "
                f"fed {res['ingest']:,.0f} lines/s",
                flush=True,
            )
    for sc in scenarios:
        p95 = statistics.median(r["lag_p95"] for r in rows[sc])
        fps = statistics.median(r["fps"] for r in rows[sc])
        cpu = statistics.median(r["cpu_ms"] for r in rows[sc])
        print(
            f"median {sc:<6}: {cpu:.1f} ms loop CPU per refresh; "
            f"lag p95 {p95:.1f} ms (target < {LAG_TARGET_MS:.0f}): "
            f"{'ok' if p95 < LAG_TARGET_MS else 'MISSED'}; "
            f"{fps:.1f} refreshes/s (target >= {FPS_TARGET:.0f}): "
            f"{'ok' if fps >= FPS_TARGET else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
