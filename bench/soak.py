#!/usr/bin/env python3
"""Soak (issue 11): the installed ``ftop`` in a real terminal on the real tracefs, for long.

Run as root:  .venv/bin/python bench/soak.py [--seconds 600] [--json]

ftop runs in a detached tmux (120x40, a private socket) in its own instance
(``-B ftop-soak-<pid>``) with every trace event enabled (``-e all``). Every few
seconds a key sequence from a fixed cycle goes in through tmux: the screens in
turn, a live-view search and a filter typed and cleared, the events screen's
search, the dashboard. Measured:

* RSS of the ftop process (/proc/PID/status VmRSS) every second; growth is the
  last minute's median against the median of the minute after warm-up (the first
  tenth of the run, at least 10 s, and after a tour: the key cycle once, a step a
  second, so that every screen was opened once before the windows);
* event-loop lag: ftop writes its own (how late a 10 ms timer fires; p50, p95,
  max over each 5 s) to ``FTOP_LAG_FILE`` as JSON lines; the worst interval p95
  is reported;
* crash: the pane died before the end, or a Python traceback on the screen;
* restore: after ``q``, the top level's state (ftop.engine.control.state) is as
  it was, the instance is gone, and the journal directory is empty.

Holds (issue 11): no crash, RSS growth after warm-up <= 10 %, loop lag p95
< 50 ms in every interval, exact restore. Exit status 0 when all hold.
The CI runs a 60 s version (tests/e2e/test_soak.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

FTOP = Path(sys.executable).with_name("ftop")
LAG_TARGET_MS = 50.0
LAG_INTERVAL_S = 5.0  # tui/lag_probe.py's
RSS_GROWTH_MAX = 0.10

# (keys, literal text) steps; one step every STEP_S seconds, cycling.
CYCLE: List[List[str]] = [
    ["1"],
    ["/", "=sched", "Enter"],  # search in the live view
    ["Escape"],
    ["2"],
    ["=sched_sw"],  # the events screen searches as you type
    ["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace"],
    ["3"],
    ["1"],
    ["End"],
    ["4"],
    ["5"],
    ["1"],
]
STEP_S = 3.0
# The tour: the cycle once, a step a second, inside the warm-up. Screens load when first
# opened (tui/screens/registry.py): their code and widgets are a one-off, not growth.
TOUR_STEP_S = 1.0
ESCAPE_GAP_S = 0.6
QUIT_S = 60.0  # from `q` to the process gone (the restore included)


class Tmux:
    def __init__(self) -> None:
        self.socket = f"ftop-soak-{os.getpid()}"

    def run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def start(self, command: str, env: Dict[str, str]) -> None:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self.run(
            "new-session", "-d", "-s", "t", "-x", "120", "-y", "40",
            f"env -u COLUMNS -u LINES {prefix} {command}",
        )  # fmt: skip
        self.run("set-option", "-w", "-t", "t", "remain-on-exit", "on", check=False)

    def keys(self, step: List[str]) -> None:
        for k in step:
            if k.startswith("="):
                self.run("send-keys", "-t", "t", "-l", k[1:])
            else:
                self.run("send-keys", "-t", "t", k)
            # A lone ESC and the next key within the terminal's escape delay read as
            # one Alt+key (Textual waits 0.1 s; a loaded machine reads late): wait
            # well past it, as a person does.
            time.sleep(ESCAPE_GAP_S if k == "Escape" else 0.1)

    def screen(self) -> str:
        return self.run("capture-pane", "-t", "t", "-p", check=False)

    def pid(self) -> int:
        return int(self.run("display-message", "-t", "t", "-p", "#{pane_pid}").strip())

    def dead(self) -> bool:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "display-message", "-t", "t", "-p", "#{pane_dead}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.returncode != 0 or out.stdout.strip() == "1"

    def kill(self) -> None:
        self.run("kill-server", check=False)


def rss_kb(pid: int) -> Optional[int]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def soak(seconds: float, ring: int = 0) -> Dict[str, Any]:
    from ftop.engine.control.state import differences, snapshot
    from ftop.engine.control.tracefs import Tracefs, find_tracefs

    root = find_tracefs()
    tfs = Tracefs(Path(root))
    before = snapshot(tfs)
    work = Path(tempfile.mkdtemp(prefix="ftop-soak-"))
    journal = work / "journals"
    lag_file = work / "lag.jsonl"
    instance = f"ftop-soak-{os.getpid()}"
    env = {
        "HOME": str(work),
        "TERM": "xterm-256color",
        "FTOP_JOURNAL_DIR": str(journal),
        "FTOP_LAG_FILE": str(lag_file),
    }
    tmux = Tmux()
    result: Dict[str, Any] = {"seconds": seconds, "instance": instance}
    rss: List[tuple[float, int]] = []
    crashed = ""
    pid = 0
    try:
        ring_flag = f" --ring {ring}" if ring else ""
        tmux.start(f"{FTOP} -B {instance} -e all{ring_flag}", env)
        pid = tmux.pid()
        t0 = time.monotonic()
        step_at = t0 + 5.0  # let the first frame come
        i = 0
        tour_end = 0.0
        while time.monotonic() - t0 < seconds:
            time.sleep(1.0 if i >= len(CYCLE) else 0.2)
            if tmux.dead():
                crashed = "the ftop process exited"
                break
            r = rss_kb(pid)
            if r is not None:
                rss.append((time.monotonic() - t0, r))
            if time.monotonic() >= step_at:
                tmux.keys(CYCLE[i % len(CYCLE)])
                i += 1
                if i < len(CYCLE):
                    step_at += TOUR_STEP_S
                else:
                    if i == len(CYCLE):
                        tour_end = time.monotonic() - t0
                    step_at += STEP_S
        result["tour_end_s"] = tour_end
        screen = tmux.screen()
        if "Traceback" in screen:
            crashed = "a traceback on the screen"
        result["steps"] = i
        # Back to the live view first (the events screen types q into its search).
        tmux.keys(["Escape", "Escape", "1"])
        seen = time.monotonic() + 10
        while "in ring" not in tmux.screen() and time.monotonic() < seen:
            time.sleep(0.2)
        q_at = time.monotonic()
        tmux.keys(["q"])
        while not tmux.dead() and time.monotonic() < q_at + QUIT_S:
            time.sleep(0.2)
        result["quit"] = tmux.dead()
        result["quit_s"] = time.monotonic() - q_at
        if not result["quit"]:
            result["quit_screen"] = tmux.screen()[-2000:]
    finally:
        tmux.kill()
    # The process itself gone (after a SIGHUP from the kill, its restore runs first).
    gone = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < gone:
        time.sleep(0.1)
    after = snapshot(tfs)
    diff = differences(before, after)
    result["restore_exact"] = not diff and instance not in (after.instances or [])
    result["differences"] = [str(d) for d in diff][:10]
    result["journals_left"] = sorted(p.name for p in journal.glob("*")) if journal.exists() else []
    result["crash"] = crashed
    lags = []
    if lag_file.exists():
        for line in lag_file.read_text().splitlines():
            try:
                lags.append(json.loads(line))
            except ValueError:
                continue
    # RSS: the median of the minute after warm-up against the last minute's. Warm-up
    # ends when the ring is full (the app says so in its lag lines), and no earlier
    # than a tenth of the run: until then growth is the ring filling, as designed.
    warm = max(10.0, seconds / 10, tour_end + 2.0)
    t_first = lags[0]["t"] - LAG_INTERVAL_S if lags else 0.0
    full = [x["t"] - t_first for x in lags if x.get("ring_full")]
    result["ring_full_after_s"] = full[0] if full else None
    if full:
        warm = max(warm, full[0])
    # Windows apart from each other (a short run's would overlap): a minute each, or a
    # third of what follows the warm-up.
    end_t = rss[-1][0] if rss else 0.0
    span = min(60.0, max(1.0, (end_t - warm) / 3))
    first = [r for t, r in rss if warm <= t < warm + span]
    last = [r for t, r in rss if t >= end_t - span]
    result["rss_windows_s"] = [warm, warm + span, end_t - span, end_t]
    by_5s: Dict[int, int] = {}
    for t, r in rss:
        by_5s.setdefault(int(t // 5), r)
    result["rss_mb_by_5s"] = [round(r / 1024, 1) for _, r in sorted(by_5s.items())]
    if first and last:
        a, b = statistics.median(first), statistics.median(last)
        result["rss_mb_after_warmup"] = a / 1024
        result["rss_mb_end"] = b / 1024
        result["rss_growth"] = (b - a) / a
    result["lag_intervals"] = len(lags)
    if lags:
        result["lag_p95_worst_ms"] = max(x["p95"] for x in lags)
        result["lag_p95_median_ms"] = statistics.median(x["p95"] for x in lags)
        result["lag_max_ms"] = max(x["max"] for x in lags)
        # When the worst came (seconds from the first frame): a start's one-off work
        # or a step's (see CYCLE) tells itself apart.
        worst = max(lags, key=lambda x: x["p95"])
        result["lag_worst_at_s"] = worst["t"] - t_first
        result["lag_p95_by_interval"] = [round(x["p95"], 1) for x in lags]
    holds = {
        "no crash": not crashed and bool(result.get("quit")),
        "rss growth <= 10 %": result.get("rss_growth", 1.0) <= RSS_GROWTH_MAX,
        "loop lag p95 < 50 ms throughout": bool(lags)
        and result["lag_p95_worst_ms"] < LAG_TARGET_MS,
        "exact restore": bool(result["restore_exact"]) and not result["journals_left"],
    }
    result["holds"] = holds
    result["ok"] = all(holds.values())
    shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON object")
    ap.add_argument(
        "--ring",
        type=int,
        default=0,
        metavar="LINES",
        help="ftop --ring: a smaller ring fills sooner (a short run's warm-up)",
    )
    ns = ap.parse_args()
    if os.geteuid() != 0:
        print("soak: run as root (ftop needs tracefs)", file=sys.stderr)
        return 2
    if shutil.which("tmux") is None:
        print("soak: needs tmux", file=sys.stderr)
        return 2
    r = soak(ns.seconds, ns.ring)
    if ns.json:
        print(json.dumps(r))
    else:
        print(
            f"soak: {r['seconds']:.0f} s, {r.get('steps', 0)} key steps, instance {r['instance']}"
        )
        if "rss_growth" in r:
            print(
                f"  RSS {r['rss_mb_after_warmup']:.0f} MB after warm-up, {r['rss_mb_end']:.0f} MB "
                f"at the end: {r['rss_growth'] * 100:+.1f} %"
            )
        if r["lag_intervals"]:
            print(
                f"  loop lag p95: median {r['lag_p95_median_ms']:.1f} ms, worst interval "
                f"{r['lag_p95_worst_ms']:.1f} ms; max {r['lag_max_ms']:.0f} ms "
                f"({r['lag_intervals']} intervals of 5 s)"
            )
        else:
            print("  loop lag: not measured (no FTOP_LAG_FILE lines)")
        print(f"  restore exact: {r['restore_exact']}; journals left: {r['journals_left']}")
        if r["differences"]:
            print(f"  differences: {r['differences']}")
        if r["crash"]:
            print(f"  CRASH: {r['crash']}")
        for name, ok in r["holds"].items():
            print(f"  {name}: {'yes' if ok else 'NO'}")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
