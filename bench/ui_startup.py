"""Start to first frame: from exec of the installed `ftop` to its first screen in a real pty.

Run:  .venv/bin/python bench/ui_startup.py [--rounds 7]   (root for the live case)

The command runs in a pseudo-terminal of 120x36 (TERM=xterm-256color); the
clock stops when the status band's text ("tracer") has been written to the
terminal, which Textual does in the first frame. Cases: ``ftop --demo`` and,
as root with tracefs, ``ftop`` on this machine (no configuration flags, so
nothing is changed; it quits at once). The reference, in the same run, is
``python -c "import textual.app, textual.widgets"`` (about 0.16 s here).
Target (issue 4): first frame under 0.5 s. Medians of ``--rounds`` runs.
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
from typing import List, Optional

FTOP = Path(sys.executable).with_name("ftop")
TARGET_S = 0.5


def first_frame(
    argv: List[str], marker: bytes = b"tracer", timeout: float = 10.0
) -> Optional[float]:
    """Seconds from spawn until ``marker`` appears on the pty; then quit the app."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", HOME="/tmp/ftop-bench-home")
    env.pop("NO_COLOR", None)
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


def import_reference() -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "import textual.app, textual.widgets"], check=True)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    cases = {"ftop --demo": [str(FTOP), "--demo"]}
    if os.geteuid() == 0 and Path("/sys/kernel/tracing/trace").exists():
        cases["ftop (this machine)"] = [str(FTOP)]
    ref = statistics.median(import_reference() for _ in range(args.rounds))
    print(f"reference: import textual.app, textual.widgets: {ref:.3f} s (median of {args.rounds})")
    for name, argv in cases.items():
        times = [t for t in (first_frame(argv) for _ in range(args.rounds)) if t is not None]
        if not times:
            print(f"{name}: no first frame seen")
            continue
        med = statistics.median(times)
        print(
            f"{name}: first frame {med:.3f} s median (min {min(times):.3f}, max {max(times):.3f}); "
            f"{med / ref:.1f}x the import; target < {TARGET_S} s: {'ok' if med < TARGET_S else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
