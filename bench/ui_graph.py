"""The Graph screen over a full ring: time to the first call tree, event-loop lag, keys.

Run (no root needed, nothing touches tracefs):
    .venv/bin/python bench/ui_graph.py [--lines 1000000] [--rounds 3]

The app runs headless (``run_test``, 120x40) on the demo backend with
``current_tracer`` = function_graph and a ring holding ``--lines`` real
function_graph lines: the demo's capture (engine/demo/data/
trace-function_graph.txt.gz, the lab kernel's output with its LOST markers and
``=>`` switches) repeated. Per round it shows the Graph screen (``6``) and
reports:

* first tree: seconds from the key to the complete tree on screen;
* event-loop lag while the tree builds: how late a 10 ms timer fires in the
  app's own loop (p50, p95, max), as bench/ui_load.py measures it; target
  p95 < 50 ms;
* keys during the build: each ~0.5 s a key (``s``, cycling the sort) is
  pressed and the time until the screen has acted on it is taken (median and
  max); then ``g`` (regroup by task) is pressed and the same lag and key
  figures are taken during that rebuild.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

from ftop.engine.control.transaction import Change
from ftop.engine.demo.session import open_demo
from ftop.engine.stream.ring import Ring
from ftop.tui.app import FtopApp
from ftop.tui.screens.graph import GraphScreen
from ftop.tui.settings import Settings
from textual import events

LAG_TARGET_MS = 50.0
CAPTURE = Path(__file__).resolve().parent.parent / "engine/demo/data/trace-function_graph.txt.gz"


def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def graph_lines(n: int) -> List[str]:
    with gzip.open(CAPTURE, "rt") as f:
        one = f.read().splitlines()
    reps = -(-n // len(one))
    return (one * reps)[:n]


def send_key(app: Any, key: str) -> None:
    """A key as the terminal driver delivers one. Not ``pilot.press``: that also waits
    for the process to be CPU-idle, which it is not while a tree builds."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


async def measure_build(
    pilot: Any, done: Callable[[], bool], key_acted: Callable[[], object], press: str
) -> Dict[str, float]:
    """Probe the loop's lag until ``done()``; press ``press`` every 0.5 s and time it."""
    loop = asyncio.get_running_loop()
    lags: List[float] = []
    keys: List[float] = []
    t0 = time.monotonic()
    next_key = t0 + 0.5
    while not done():
        expected = loop.time() + 0.010
        await asyncio.sleep(0.010)
        lags.append(max(0.0, loop.time() - expected) * 1000)
        if time.monotonic() >= next_key and not done():
            before = key_acted()
            k0 = time.monotonic()
            send_key(pilot.app, press)
            while key_acted() == before and time.monotonic() - k0 < 30:
                await asyncio.sleep(0.001)
            keys.append((time.monotonic() - k0) * 1000)
            next_key = time.monotonic() + 0.5
        if time.monotonic() - t0 > 600:
            raise SystemExit("bench/ui_graph.py: no tree after 600 s")
    return {
        "seconds": time.monotonic() - t0,
        "lag_p50": pct(lags, 50),
        "lag_p95": pct(lags, 95),
        "lag_max": max(lags) if lags else float("nan"),
        "keys": float(len(keys)),
        "key_med": statistics.median(keys) if keys else float("nan"),
        "key_max": max(keys) if keys else float("nan"),
    }


async def one_round(lines: List[str]) -> Dict[str, Dict[str, float]]:
    ring = Ring(max_entries=max(len(lines), 1), max_bytes=2**31)
    sess = open_demo(realtime=False, ring=ring)
    try:
        sess.start_stream()
        sess.apply([Change("current_tracer", "function_graph")])
        sess.poll()
        ring.clear()
        ring.extend(lines)
        app = FtopApp(
            sess,
            kind="demo",
            label="bench",
            settings=Settings(Path("/tmp/ftop-bench-graph.toml")),
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            t0 = time.monotonic()
            send_key(app, "6")
            while not isinstance(app.screen, GraphScreen):
                await asyncio.sleep(0.005)
            screen = app.screen
            shown = time.monotonic() - t0

            def sort_of() -> str:
                return screen.sort_by

            first = await measure_build(
                pilot, lambda: screen.call_tree is not None and not screen.feeding, sort_of, "s"
            )
            assert screen.graph.lines > 0, "the tree is empty"
            first["seconds"] += shown
            first["screen"] = shown
            send_key(app, "g")
            regroup = await measure_build(
                pilot,
                lambda: screen.graph.group_by == "task" and not screen.feeding,
                sort_of,
                "s",
            )
            send_key(app, "q")
        return {"first": first, "regroup": regroup}
    finally:
        sess.restore()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    lines = graph_lines(args.lines)
    print(f"ring: {len(lines):,} function_graph lines from {CAPTURE.name}", flush=True)
    p95s: List[float] = []
    for r in range(args.rounds):
        res = asyncio.run(one_round(lines))
        for what, m in res.items():
            p95s.append(m["lag_p95"])
            print(
                f"round {r + 1} {what:>7}: tree in {m['seconds']:.1f} s; "
                f"lag p50 {m['lag_p50']:.1f} ms, p95 {m['lag_p95']:.1f} ms, "
                f"max {m['lag_max']:.0f} ms; {m['keys']:.0f} keys answered during the build "
                f"in {m['key_med']:.0f} ms median, {m['key_max']:.0f} ms max",
                flush=True,
            )
    worst = max(p95s)
    ok = worst < LAG_TARGET_MS
    print(
        f"worst lag p95 while building: {worst:.1f} ms (target < {LAG_TARGET_MS:.0f}): "
        f"{'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
