"""What the UI benches measure inside a headless app: event-loop lag and view refreshes/s.

Shared by bench/ui_load.py (the real tracefs) and bench/ui_frame.py (a synthetic
load), so both count the same thing the same way. Not a bench itself (a leading
underscore); the benches run as scripts from bench/, which puts this folder on
``sys.path``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional

from ftop.tui.widgets.trace_view import TraceView

__all__ = [
    "FPS_TARGET",
    "LAG_TARGET_MS",
    "SCENARIOS",
    "Probe",
    "drive",
    "measure_lag",
    "pct",
    "probe_view",
]

# The rows: the view left following; a live filter set as the row starts; a search
# for a pattern that is nowhere, with ``n`` once a second.
SCENARIOS = ("follow", "filter", "search")

LAG_TARGET_MS = 50.0
FPS_TARGET = 20.0


def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def measure_lag(seconds: float, lags: List[float]) -> None:
    """How late a 10 ms timer fires in the app's own loop, for ``seconds``."""
    loop = asyncio.get_running_loop()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        expected = loop.time() + 0.010
        await asyncio.sleep(0.010)
        lags.append(max(0.0, loop.time() - expected) * 1000)


@dataclass
class Probe:
    """One row's figures: loop lag (ms) and view refreshes per second."""

    lag_p50: float
    lag_p95: float
    lag_max: float
    fps: float
    elapsed: float
    # CPU time of the loop's thread per view refresh (ticks, renders, the lag probe
    # itself): what a frame costs, apart from the time spent waiting for the GIL.
    cpu_ms_per_frame: float


async def probe_view(
    view: TraceView,
    seconds: float,
    during: Optional[Callable[[asyncio.Future[None]], Awaitable[None]]] = None,
) -> Probe:
    """Measure for ``seconds`` while ``during`` (given the lag task) drives the app.

    A view refresh is a frame in which the trace view rendered its first line
    (``TraceView.frames``): the compositor asked for the view's content, so
    what the user sees of it was brought up to date."""
    lags: List[float] = []
    frames0 = view.frames
    t0 = time.monotonic()
    cpu0 = time.thread_time()
    lag = asyncio.ensure_future(measure_lag(seconds, lags))
    if during is not None:
        await during(lag)
    await lag
    elapsed = time.monotonic() - t0
    cpu = time.thread_time() - cpu0
    frames = view.frames - frames0
    return Probe(
        lag_p50=pct(lags, 50),
        lag_p95=pct(lags, 95),
        lag_max=max(lags) if lags else float("nan"),
        fps=frames / elapsed,
        elapsed=elapsed,
        cpu_ms_per_frame=cpu * 1000 / max(1, frames),
    )


async def drive(
    pilot: Any, scenario: str, lag: asyncio.Future[None], filter_text: str, search_text: str
) -> None:
    """What a row does with the keys while the lag is measured."""
    if scenario == "filter":
        await pilot.press("f", *filter_text, "enter")
    elif scenario == "search":
        await pilot.press("slash", *search_text, "enter")
        while not lag.done():
            await pilot.pause(1.0)
            if not lag.done():
                await pilot.press("n")
