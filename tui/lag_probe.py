"""Event-loop lag, measured from inside a running ftop (``FTOP_LAG_FILE``).

bench/soak.py drives the installed ``ftop`` in a real terminal and cannot reach
into its event loop; with ``FTOP_LAG_FILE=path`` set, the app appends one JSON
line every ``interval`` seconds: how late a 10 ms sleep woke up (p50, p95, max,
in ms) over that interval, and the process's RSS. Nothing is measured otherwise.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

__all__ = ["lag_probe"]


def _pct(values: List[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _rss_kb() -> Optional[int]:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def lag_probe(
    path: str,
    interval: float = 5.0,
    tick: float = 0.010,
    extra: Optional[Callable[[], Dict[str, Any]]] = None,
) -> None:
    """Run until cancelled, appending one line per ``interval`` to ``path`` (with what
    ``extra`` returns merged in: the app's ring fill)."""
    import json  # only a bench asks for the probe: not on every start

    loop = asyncio.get_running_loop()
    lags: List[float] = []
    start = time.monotonic()
    while True:
        expected = loop.time() + tick
        await asyncio.sleep(tick)
        lags.append(max(0.0, loop.time() - expected) * 1000)
        if time.monotonic() - start >= interval and lags:
            line = {
                "t": time.time(),
                "p50": _pct(lags, 50),
                "p95": _pct(lags, 95),
                "max": max(lags),
                "rss_kb": _rss_kb(),
                **(extra() if extra is not None else {}),
            }
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            lags = []
            start = time.monotonic()


def lag_file() -> Optional[str]:
    return os.environ.get("FTOP_LAG_FILE") or None
