"""Live ingest (issue 9): every reader ftop has, against a plain page copy, under one fixed load.

Run as root:  .venv/bin/python bench/ingest.py [--seconds 5] [--rounds 1] [--only ROW]

ROW is one of: cat, copy, text, stream, record, tui, pilot (default: all, in that order).

The load: ``dd if=/dev/zero of=/dev/null bs=1`` pinned to CPU 0 (``taskset -c 0``),
traced in a private instance (``instances/ftop-bench-ingest-<pid>``) with only its
four syscall events enabled (syscalls/sys_{enter,exit}_{read,write}) and only for its
pid (``set_event_pid``). Each reader runs pinned to CPU 1 and targets that instance:

* ``cat``    -- ``cat instances/X/trace_pipe > /dev/null``;
* ``copy``   -- THE REFERENCE: a plain Python loop copying every CPU's
  ``per_cpu/cpuN/trace_pipe_raw`` to /dev/null (O_NONBLOCK, 64 KiB reads,
  ``select`` when idle, no decoding);
* ``text``   -- ``ftop stream --text > /dev/null``;
* ``stream`` -- ``ftop stream > /dev/null`` (the raw pages, decoded);
* ``record`` -- ``ftop record -o <tmp>.dat`` (the file is deleted; MB written reported);
* ``tui``    -- ``ftop`` in a real terminal (a detached tmux session, 120x40), quit
  with ``q`` at the end of the round;
* ``pilot``  -- the same app driven headless in its own process (Textual's
  ``run_test``, 120x40, as bench/ui_load.py does), which also measures view
  refreshes/s and event-loop lag (how late a 10 ms timer fires; p50/p95).

Every ftop is given the same flags (``-B X -e syscalls:... -P <dd pid>``). Once a
reader is delivering (its instance's ``read events`` move) and has run one more
second, the round starts: delivered and lost come from the kernel's own counters,
per_cpu/cpuN/stats before and after the round, summed over CPUs (delivered = delta of
``read events``; lost = delta of ``overrun`` + ``dropped events``; loss % =
lost / (lost + delivered)). The reader's CPU time over the round is from /proc.

Targets (issue 9): ftop's raw readers (``stream``, ``record``) deliver >= 0.8x the
reference copy's events/s with loss within 2 points of it; the TUI delivers >= 2x
``cat trace_pipe``'s events/s with >= 20 view refreshes/s and loop lag p95 < 50 ms.

The top-level tracefs state is snapshotted first; the instance is removed at the end
and the snapshot compared again (``differences`` must be empty; printed if not).
ftop's children use a private journal directory, so they never touch another ftop's.
Needs: root, 2+ CPUs, tmux (for ``tui``), taskset, dd.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional

if TYPE_CHECKING:
    from ftop.engine.control.tracefs import Tracefs

ROWS = ["cat", "copy", "text", "stream", "record", "tui", "pilot"]
LABELS = {
    "cat": "cat trace_pipe",
    "copy": "raw page copy (ref)",
    "text": "ftop stream --text",
    "stream": "ftop stream",
    "record": "ftop record",
    "tui": "ftop TUI (tmux)",
    "pilot": "ftop TUI (pilot)",
}
EVENTS = ["sys_enter_read", "sys_exit_read", "sys_enter_write", "sys_exit_write"]
LOAD_CPU, READER_CPU = 0, 1
RAW_TARGET, RAW_LOSS_POINTS = 0.8, 2.0
TUI_TARGET, FPS_TARGET, LAG_TARGET_MS = 2.0, 20.0, 50.0
WARMUP_S = 1.0
START_TIMEOUT_S = 30.0
# ftop stream prints what it read after the stop: how long that may take at most.
DRAIN_TIMEOUT_S = 600.0
# ... and all of it: lines printed per event taken from the kernel.
PRINTED_MIN = 0.999
HZ = os.sysconf("SC_CLK_TCK")


# -- the reference: a plain page copy (run as a child: `ingest.py _copy PER_CPU_DIR`) ----


def copy_pages(per_cpu: str) -> None:
    fds = [
        os.open(f"{per_cpu}/{cpu}/trace_pipe_raw", os.O_RDONLY | os.O_NONBLOCK)
        for cpu in sorted(os.listdir(per_cpu))
    ]
    while True:
        idle = True
        for fd in fds:
            try:
                page = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if page:
                os.write(1, page)
                idle = False
        if idle:
            select.select(fds, [], [], 0.1)


# -- the headless TUI (run as a child: `ingest.py _pilot TRACEFS INSTANCE PID`) ----------


def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def pilot_round(root: str, instance: str, pid: int, journal: Path) -> Dict[str, float]:
    """Run the app until stdin says stop; print ``ready`` when the round starts."""
    from ftop.engine.control.config import EventSpec, TraceConfig
    from ftop.engine.control.session import Session
    from ftop.tui.app import FtopApp
    from ftop.tui.screens.live import LiveScreen
    from ftop.tui.settings import Settings

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    sess = Session.open(root, instance=instance, journal_dir=journal)
    try:
        sess.apply_config(
            TraceConfig(events=[EventSpec("syscalls", e) for e in EVENTS], pids=[pid])
        )
        sess.start_stream()
        sess.poll()
        app = FtopApp(
            sess, kind="live", label="bench", settings=Settings(journal.parent / "settings.toml")
        )
        lags: List[float] = []
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(WARMUP_S)
            screen = app.screen
            assert isinstance(screen, LiveScreen) and screen.view is not None
            view = screen.view
            loop = asyncio.get_running_loop()
            frames0, seq0, ticks0 = view.frames, sess.ring.next_seq, app.ticks
            print("ready", flush=True)
            t0 = time.monotonic()
            while not stop.is_set():
                expected = loop.time() + 0.010
                await asyncio.sleep(0.010)
                lags.append(max(0.0, loop.time() - expected) * 1000)
            elapsed = time.monotonic() - t0
            frames, ingested = view.frames - frames0, sess.ring.next_seq - seq0
            ticks = app.ticks - ticks0
            await pilot.press("q")
        return {
            "lag_p50": pct(lags, 50),
            "lag_p95": pct(lags, 95),
            "lag_max": max(lags) if lags else float("nan"),
            "fps": frames / elapsed,
            "ticks": ticks / elapsed,
            "ring": ingested / elapsed,
        }
    finally:
        sess.restore()


# -- measuring ------------------------------------------------------------------------


@dataclass
class Result:
    row: str
    rate: float = 0.0  # delivered events/s
    loss: float = 0.0  # fraction
    cpu: float = 0.0  # reader CPU, fraction of one core
    mb: Optional[float] = None  # record: MB written in all
    mb_s: Optional[float] = None  # record: MB/s over the round
    extra: Dict[str, float] = field(default_factory=dict)  # pilot: fps, lag
    error: str = ""


class Bench:
    def __init__(self, root: Path, instance: str, seconds: float, workdir: Path) -> None:
        from ftop.engine.control.tracefs import Tracefs

        self.root = root
        self.instance = instance
        self.tfs = Tracefs(root).sub(instance)
        self.seconds = seconds
        self.workdir = workdir
        self.journal = workdir / "journal"
        self.journal.mkdir()
        self.load_pid = 0
        self.env = dict(os.environ, FTOP_JOURNAL_DIR=str(self.journal))

    # kernel counters -----------------------------------------------------------------

    def counters(self) -> Dict[str, int]:
        from ftop.engine.control.tracefs import list_dir
        from ftop.engine.stream.stats import parse_cpu_stats

        tot = {"read": 0, "overrun": 0, "dropped": 0}
        for cpu in list_dir(self.tfs, "per_cpu"):
            st = parse_cpu_stats(self.tfs.read(f"per_cpu/{cpu}/stats"))
            tot["read"] += int(st.get("read events", 0))
            tot["overrun"] += int(st.get("overrun", 0))
            tot["dropped"] += int(st.get("dropped events", 0))
        return tot

    @staticmethod
    def cpu_ticks(pid: int) -> int:
        """utime + stime of the process (every thread) and its reaped children."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        return sum(int(x) for x in fields[11:15])

    def wait_delivering(self, alive: Callable[[], bool], what: str) -> None:
        base = self.counters()["read"]
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.counters()["read"] == base:
            if not alive():
                raise RuntimeError(f"{what} exited before reading anything")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} read nothing in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        time.sleep(WARMUP_S)

    def window(self, res: Result, pid: int, size: Optional[Callable[[], int]] = None) -> None:
        """The round itself: counters, CPU and (record) file size before and after."""
        c0, cpu0, s0, t0 = self.counters(), self.cpu_ticks(pid), size() if size else 0, 0.0
        t0 = time.monotonic()
        time.sleep(self.seconds)
        c1, cpu1, s1 = self.counters(), self.cpu_ticks(pid), size() if size else 0
        elapsed = time.monotonic() - t0
        read = c1["read"] - c0["read"]
        lost = (c1["overrun"] - c0["overrun"]) + (c1["dropped"] - c0["dropped"])
        res.rate = read / elapsed
        res.loss = lost / max(1, read + lost)
        res.cpu = (cpu1 - cpu0) / HZ / elapsed
        if size:
            res.mb_s = (s1 - s0) / 1e6 / elapsed

    # readers ---------------------------------------------------------------------------

    def ftop_flags(self) -> List[str]:
        flags = ["--tracefs", str(self.root), "-B", self.instance]
        for ev in EVENTS:
            flags += ["-e", f"syscalls:{ev}"]
        return [*flags, "-P", str(self.load_pid)]

    def command(self, row: str, out: Path) -> List[str]:
        ftop = [sys.executable, "-m", "ftop"]
        if row == "cat":
            return ["cat", str(self.tfs.file("trace_pipe"))]
        if row == "copy":
            return [
                sys.executable,
                os.path.abspath(__file__),
                "_copy",
                str(self.tfs.file("per_cpu")),
            ]
        if row == "text":
            return [*ftop, "stream", "--text", *self.ftop_flags()]
        if row == "stream":
            return [*ftop, "stream", *self.ftop_flags()]
        if row == "record":
            return [*ftop, "record", "-o", str(out), *self.ftop_flags()]
        if row == "tui":
            return ftop + self.ftop_flags()
        raise ValueError(row)

    def run(self, row: str) -> Result:
        """One row; retried once when the instance vanished under it (a concurrent
        test's clean-up removes instances it did not expect)."""
        for _attempt in range(2):
            if not self.tfs.path.is_dir():
                print(f"  (instance {self.instance} was removed by someone else: made again)")
                setup_instance(self.tfs.top(), self.instance, self.load_pid)
            res = Result(row)
            try:
                if row == "tui":
                    self.run_tmux(res)
                elif row == "pilot":
                    self.run_pilot(res)
                else:
                    self.run_plain(row, res)
            except Exception as e:  # one row failing does not lose the others
                res.error = str(e)
            if self.tfs.path.is_dir() and (self.tfs.read_or("set_event_pid") or "").strip():
                return res
            res.error = res.error or "the instance was removed during the round"
        return res

    def run_plain(self, row: str, res: Result) -> None:
        spool = self.workdir / "record"  # the output and ftop's spool files beside it
        spool.mkdir(exist_ok=True)
        out = spool / "bench.dat"
        pin = ["taskset", "-c", str(READER_CPU)]
        err = self.workdir / f"{row}.err"
        env = dict(self.env, TMPDIR=os.environ.get("BENCH_TMPDIR", str(spool)))
        # ftop stream says how many lines it printed (its renderer, at the end): every
        # event it took from the kernel must be printed, after the stop if need be.
        counted = row == "stream"
        start = self.counters()["read"]
        with open(os.devnull, "wb") as null, open(err, "wb") as errf:
            proc = subprocess.Popen(pin + self.command(row, out), stdout=null, stderr=errf, env=env)
            stopped_at = 0.0
            try:
                self.wait_delivering(lambda: proc.poll() is None, LABELS[row])
                size = (lambda: dir_bytes(spool)) if row == "record" else None
                self.window(res, proc.pid, size)
            finally:
                # ftop restores on SIGINT (KeyboardInterrupt); cat and the copy just end.
                proc.send_signal(
                    signal.SIGINT if row in ("text", "stream", "record") else signal.SIGTERM
                )
                stopped_at = time.monotonic()
                try:
                    rc = proc.wait(timeout=DRAIN_TIMEOUT_S if counted else 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
            if counted:
                took = self.counters()["read"] - start
                said_text = err.read_text(errors="replace")
                said = re.findall(r"ftop: (\d+) lines printed", said_text)
                res.extra["spool_full"] = float("the spool is full" in said_text)
                res.extra["drain_s"] = time.monotonic() - stopped_at
                res.extra["printed"] = int(said[-1]) / took if said and took else 0.0
                if res.extra["printed"] < PRINTED_MIN:  # what ftop said is the lead
                    print(f"  ftop stream said: {said_text.strip()[-3000:]}", flush=True)
        if row == "record":
            if out.exists():
                res.mb = out.stat().st_size / 1e6
                out.unlink()
        if row in ("text", "stream", "record") and rc not in (0, -signal.SIGINT, 130):
            res.error = f"exit {rc}: {err.read_text(errors='replace').strip()[-300:]}"

    def run_tmux(self, res: Result) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed (apt-get install tmux)")
        sock = f"ftop-bench-{os.getpid()}"
        tmux = ["tmux", "-L", sock]
        envs = " ".join(
            f"{k}={shlex.quote(v)}" for k, v in self.env.items() if k == "FTOP_JOURNAL_DIR"
        )
        cmd = f"exec env {envs} taskset -c {READER_CPU} " + shlex.join(self.command("tui", Path()))
        subprocess.run(
            [
                *tmux,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "bench",
                "-x",
                "120",
                "-y",
                "40",
                cmd,
                ";",
                "set-option",
                "-t",
                "bench",
                "remain-on-exit",
                "on",
            ],
            check=True,
            env=dict(self.env, TERM="xterm-256color"),
        )

        def pane(fmt: str) -> str:
            out = subprocess.run(
                [*tmux, "display-message", "-p", "-t", "bench", fmt], capture_output=True, text=True
            )
            return out.stdout.strip()

        try:
            pid = int(pane("#{pane_pid}") or 0)
            alive = lambda: pane("#{pane_dead}") == "0"  # noqa: E731
            try:
                self.wait_delivering(alive, LABELS["tui"])
                self.window(res, pid)
            except RuntimeError:
                screen = subprocess.run(
                    [*tmux, "capture-pane", "-p", "-t", "bench"], capture_output=True, text=True
                ).stdout
                raise RuntimeError(f"{LABELS['tui']}: screen was:\n{screen.rstrip()}") from None
            subprocess.run([*tmux, "send-keys", "-t", "bench", "q"], check=True)
            deadline = time.monotonic() + 30
            while alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive():
                res.error = "did not exit within 30 s of `q`"
            elif pane("#{pane_dead_status}") not in ("0", ""):
                res.error = f"exit {pane('#{pane_dead_status}')}"
        finally:
            subprocess.run([*tmux, "kill-server"], stderr=subprocess.DEVNULL)

    def run_pilot(self, res: Result) -> None:
        cmd = [sys.executable, os.path.abspath(__file__), "_pilot"]
        cmd += [str(self.root), self.instance, str(self.load_pid), str(self.journal)]
        err = self.workdir / "pilot.err"
        with open(err, "wb") as errf:
            proc = subprocess.Popen(
                ["taskset", "-c", str(READER_CPU), *cmd],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errf,
                env=self.env,
                text=True,
            )
            assert proc.stdin is not None and proc.stdout is not None
            try:
                line = proc.stdout.readline().strip()
                if line != "ready":
                    proc.wait(timeout=30)
                    raise RuntimeError(
                        f"pilot did not start: {err.read_text(errors='replace').strip()[-500:]}"
                    )
                self.window(res, proc.pid)
                proc.stdin.write("stop\n")
                proc.stdin.flush()
                out = proc.stdout.read()
                rc = proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        try:
            res.extra = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res.error = f"exit {rc}: {err.read_text(errors='replace').strip()[-500:]}"


def dir_bytes(path: Path) -> int:
    total = 0
    for p in path.iterdir():
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


# -- the run ---------------------------------------------------------------------------


def setup_instance(tfs_top: Tracefs, name: str, pid: int) -> None:
    """The instance with dd's four syscall events, for dd's pid only."""
    tfs_top.make_instance(name)
    sub = tfs_top.sub(name)
    for ev in EVENTS:
        sub.write(f"events/syscalls/{ev}/enable", "1")
    sub.write("set_event_pid", str(pid))
    sub.write("tracing_on", "1")


def median_results(rounds: List[Result]) -> Result:
    ok = [r for r in rounds if not r.error] or rounds
    med = Result(ok[0].row, error=ok[0].error if len(ok) == len(rounds) and ok[0].error else "")
    med.rate = statistics.median(r.rate for r in ok)
    med.loss = statistics.median(r.loss for r in ok)
    med.cpu = statistics.median(r.cpu for r in ok)
    if any(r.mb is not None for r in ok):
        med.mb = statistics.median(r.mb or 0 for r in ok)
        med.mb_s = statistics.median(r.mb_s or 0 for r in ok)
    keys = set().union(*(r.extra for r in ok))
    med.extra = {k: statistics.median(r.extra.get(k, float("nan")) for r in ok) for k in keys}
    return med


def verdict(
    r: Result, ref: Optional[Result], cat: Optional[Result], pilot: Optional[Result]
) -> str:
    if r.error:
        return "ERROR"
    if r.row in ("cat", "copy"):
        return "reference"
    if r.row == "text":
        return "(no target)"
    if r.row in ("stream", "record"):
        if ref is None or ref.error or not ref.rate:
            return "n/a (no ref)"
        ok = r.rate >= RAW_TARGET * ref.rate and (r.loss - ref.loss) * 100 <= RAW_LOSS_POINTS
        ok = ok and r.extra.get("printed", 1.0) >= PRINTED_MIN
        return "PASS" if ok else "FAIL"
    # the TUI: rate against cat; refreshes and lag from the pilot row
    if cat is None or cat.error or not cat.rate:
        return "n/a (no cat)"
    checks = [r.rate >= TUI_TARGET * cat.rate]
    src = r if r.row == "pilot" else pilot
    if src is not None and not src.error and "fps" in src.extra:
        checks.append(src.extra["fps"] >= FPS_TARGET and src.extra["lag_p95"] < LAG_TARGET_MS)
        tail = "" if r.row == "pilot" else " (fps/lag: pilot)"
    else:
        tail = " (rate only)"
    return ("PASS" if all(checks) else "FAIL") + tail


def describe(r: Result) -> str:
    bits = [f"cpu {r.cpu * 100:.0f}%"]
    if r.mb is not None:
        bits.append(f"{r.mb:.0f} MB written ({r.mb_s or 0:.1f} MB/s)")
    if "printed" in r.extra:
        bits.append(
            f"printed {r.extra['printed'] * 100:.1f}% of the events it read, "
            f"the last {r.extra['drain_s']:.0f} s after the stop"
            + (", the spool filled (the reader waited)" if r.extra.get("spool_full") else "")
        )
    if "fps" in r.extra:
        e = r.extra
        bits.append(
            f"{e['fps']:.1f} refreshes/s, lag p50 {e['lag_p50']:.1f} p95 {e['lag_p95']:.1f} "
            f"max {e['lag_max']:.0f} ms, ring {e['ring'] / 1e6:.2f} M/s"
            + (f", {e['ticks']:.1f} ticks/s" if "ticks" in e else "")
        )
    return ", ".join(bits)


def print_table(meds: Dict[str, Result]) -> None:
    ref, cat, pilot = meds.get("copy"), meds.get("cat"), meds.get("pilot")

    def ratio(r: Result, base: Optional[Result]) -> str:
        if r.error or base is None or base.error or not base.rate:
            return "-"
        return f"{r.rate / base.rate:.2f}"

    head = f"{'reader':21s} {'M ev/s':>7s} {'lost %':>7s} {'x ref':>6s} {'x cat':>6s}  {'verdict':28s} notes"
    print(head)
    print("-" * len(head))
    for row in ROWS:
        r = meds.get(row)
        if r is None:
            continue
        rate = "-" if r.error else f"{r.rate / 1e6:.3f}"
        loss = "-" if r.error else f"{r.loss * 100:.1f}"
        notes = r.error.splitlines()[0][:120] if r.error else describe(r)
        print(
            f"{LABELS[row]:21s} {rate:>7s} {loss:>7s} {ratio(r, ref):>6s} {ratio(r, cat):>6s}  "
            f"{verdict(r, ref, cat, pilot):28s} {notes}"
        )
    print()
    print(
        f"targets: ftop stream / record >= {RAW_TARGET}x the ref's events/s, loss <= ref + "
        f"{RAW_LOSS_POINTS:.0f} points; TUI >= {TUI_TARGET:.0f}x cat's events/s, >= "
        f"{FPS_TARGET:.0f} refreshes/s, loop lag p95 < {LAG_TARGET_MS:.0f} ms"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_copy":
        with contextlib.suppress(KeyboardInterrupt):
            copy_pages(sys.argv[2])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_pilot":
        root, inst, pid, journal = sys.argv[2:6]
        res = asyncio.run(pilot_round(root, inst, int(pid), Path(journal)))
        print(json.dumps(res), flush=True)
        return 0

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=5.0, help="length of a round (default 5)")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of every row (default 1)")
    ap.add_argument("--only", choices=ROWS, action="append", help="run only this row (repeatable)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/ingest.py: needs root", file=sys.stderr)
        return 2
    if len(os.sched_getaffinity(0)) < 2 or READER_CPU not in os.sched_getaffinity(0):
        print("bench/ingest.py: needs CPUs 0 and 1 (load on 0, reader on 1)", file=sys.stderr)
        return 2
    for tool in ("taskset", "dd"):
        if shutil.which(tool) is None:
            print(f"bench/ingest.py: {tool} is not installed", file=sys.stderr)
            return 2

    from ftop.engine.control.state import differences, restore, snapshot
    from ftop.engine.control.tracefs import Tracefs, find_tracefs

    rows = [r for r in ROWS if r in args.only] if args.only else ROWS
    root = find_tracefs()
    top = Tracefs(root)
    instance = f"ftop-bench-ingest-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="ftop-bench-ingest-"))
    pristine = snapshot(top)
    results: Dict[str, List[Result]] = {r: [] for r in rows}
    load: Optional[subprocess.Popen[bytes]] = None
    code = 0
    try:
        os.sched_setaffinity(0, {READER_CPU})  # the bench itself stays off the load's CPU
        load = subprocess.Popen(
            ["taskset", "-c", str(LOAD_CPU), "dd", "if=/dev/zero", "of=/dev/null", "bs=1"],
            stderr=subprocess.DEVNULL,
        )
        setup_instance(top, instance, load.pid)
        bench = Bench(root, instance, args.seconds, workdir)
        bench.load_pid = load.pid
        kb = (bench.tfs.read_or("buffer_size_kb") or "?").strip()
        print(
            f"load: dd bs=1 (pid {load.pid}) on CPU {LOAD_CPU}, 4 syscall events, instance "
            f"{instance} ({kb} KiB per CPU); readers on CPU {READER_CPU}; "
            f"{args.seconds:g} s rounds",
            flush=True,
        )
        for rnd in range(args.rounds):
            for row in rows:
                r = bench.run(row)
                results[row].append(r)
                shown = (
                    r.error.strip()
                    if r.error
                    else (
                        f"{r.rate / 1e6:.3f} M events/s, lost {r.loss * 100:.1f} %, {describe(r)}"
                    )
                )
                print(f"round {rnd + 1} {LABELS[row]:21s} {shown}", flush=True)
    finally:
        if load is not None:
            load.kill()
            load.wait()
        sub = top.sub(instance)
        if sub.path.is_dir():
            with contextlib.suppress(Exception):
                for ev in EVENTS:
                    sub.write(f"events/syscalls/{ev}/enable", "0")
            try:
                top.remove_instance(instance)
            except Exception as e:
                print(f"bench/ingest.py: could not remove {instance}: {e}", file=sys.stderr)
        # Only the bench's own instance is put back; whatever else others change
        # meanwhile (their instances) is theirs and left alone.
        restore(top, pristine, created_instances=[instance], touched=["instances"])
        after = snapshot(top)
        left = differences(pristine, after)
        if left:
            code = 1
            print("bench/ingest.py: tracefs differs from before the run:", file=sys.stderr)
            for d in left:
                print("  " + d, file=sys.stderr)
            others = sorted(set(pristine.instances) ^ set(after.instances))
            if others and instance not in others:
                print(
                    f"  (instances {', '.join(others)} are not the bench's: someone else "
                    "made or removed them meanwhile)",
                    file=sys.stderr,
                )
        leftover = list(bench.journal.glob("*")) if "bench" in locals() else []
        if leftover:
            print(f"bench/ingest.py: ftop left journals: {leftover}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    meds = {row: median_results(v) for row, v in results.items() if v}
    print()
    print(f"median of {args.rounds} round(s) of {args.seconds:g} s:" if args.rounds > 1 else "")
    print_table(meds)
    if not left:
        print("tracefs: as found (differences empty)")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
