"""Start to first frame: from exec of the installed `ftop` to its first screen in a real pty.

Run:  .venv/bin/python bench/ui_startup.py [--rounds 7] [--demo-only]   (root for the live case)

The command runs in a pseudo-terminal of 120x36 (TERM=xterm-256color); the
clock stops when the status band's text ("tracer") has been written to the
terminal, which Textual does in the first frame. Cases: ``ftop --demo`` and,
as root with tracefs and without ``--demo-only``, ``ftop`` on this machine (no
configuration flags, so nothing is changed; it quits at once). A bare Textual app
(one ``Static``) is measured alike: the floor Textual itself sets. The reference
is ``python -c "import textual.app, textual.widgets"``, run in the same rounds
(reference, then each case, per round, so that a machine busy with other work
weighs on both alike).

Target (issue 10): first frame within 1.2x the reference, medians of
``--rounds`` rounds after one warm-up round that is not counted. The children
may write bytecode caches (``PYTHONDONTWRITEBYTECODE`` is dropped for them): an
installed ftop has its ``.pyc`` files, as textual has.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Dict, List, Optional

FTOP = Path(sys.executable).with_name("ftop")
#: The first frame may take this many times the reference import (issue 10).
TARGET_RATIO = 1.2


def child_env() -> Dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", HOME="/tmp/ftop-bench-home")
    env.pop("NO_COLOR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: with bytecode caches
    return env


def first_frame(
    argv: List[str], marker: bytes = b"tracer", timeout: float = 10.0
) -> Optional[float]:
    """Seconds from spawn until ``marker`` appears on the pty; then quit the app."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = child_env()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = b""
    elapsed: Optional[float] = None
    deadline = t0 + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if marker in seen:
                elapsed = time.monotonic() - t0
                break
        os.write(master, b"\x1b[21~")  # F10: quit (restores; nothing was changed)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        os.close(master)
    return elapsed


# The floor Textual itself sets: the smallest app that paints the marker, in the same
# pty, measured the same way. Not a target; it says how much of the ratio is ftop's.
BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("tracer nop")

    def on_key(self, event):
        self.exit()

Bare().run()
"""


def import_reference() -> float:
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import textual.app, textual.widgets"], check=True, env=child_env()
    )
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument(
        "--demo-only",
        action="store_true",
        help="only the demo case: never start ftop on this machine's tracefs",
    )
    args = ap.parse_args()
    cases = {
        "bare Textual app (floor)": [sys.executable, "-c", BARE_APP],
        "ftop --demo": [str(FTOP), "--demo"],
    }
    if not args.demo_only and os.geteuid() == 0 and Path("/sys/kernel/tracing/trace").exists():
        cases["ftop (this machine)"] = [str(FTOP)]
    refs: List[float] = []
    times: Dict[str, List[float]] = {name: [] for name in cases}
    for round_no in range(args.rounds + 1):  # round 0 warms the caches up: not counted
        ref = import_reference()
        got = {name: first_frame(argv) for name, argv in cases.items()}
        if round_no == 0:
            continue
        refs.append(ref)
        for name, t in got.items():
            if t is not None:
                times[name].append(t)
    ref_med = statistics.median(refs)
    print(
        f"reference: import textual.app, textual.widgets: {ref_med:.3f} s (median of {args.rounds})"
    )
    for name, ts in times.items():
        if not ts:
            print(f"{name}: no first frame seen")
            continue
        med = statistics.median(ts)
        ratio = med / ref_med
        ok = ratio <= TARGET_RATIO
        verdict = (
            "" if "floor" in name else f"; target <= {TARGET_RATIO}x: " + ("ok" if ok else "MISSED")
        )
        print(
            f"{name}: first frame {med:.3f} s median (min {min(ts):.3f}, max {max(ts):.3f}); "
            f"{ratio:.2f}x the import{verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
