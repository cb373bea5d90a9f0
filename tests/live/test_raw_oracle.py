"""The raw pipeline against the kernel on this machine: the oracle is ``trace``.

In a private instance: trace events and markers, a task with a hostile name,
then tracing stopped; ``trace`` is read (it does not consume), then the same
buffer is consumed through every CPU's ``trace_pipe_raw`` and rendered by
ftop. Every line must be the kernel's, character for character, except the
events whose print fmt is beyond the renderer (shown ``name: field=value``
and counted, the explicit list of tests/unit/test_print_fmt.py).

``hash-ptr`` is turned off in the instance: with it on the kernel prints plain
``%p`` as a keyed hash nobody outside the kernel can compute.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import List

import pytest
from ftop.engine.raw.page import Layout, Record, records, split_pages
from ftop.engine.raw.stream import RawSource, render_items
from ftop.engine.raw.trace_pipe_raw import RawReader
from raw_util import KNOWN_UNSUPPORTED

SYSTEMS = ("sched", "signal", "task", "irq", "timer", "syscalls", "workqueue", "kmem")
HOSTILE = b"\x1b]2;PWN\x07\xe2\x80\xae"


def _write(p: Path, text: str) -> None:
    with open(p, "w") as f:
        f.write(text)


@pytest.fixture()
def instance(tracefs_root: Path, unchanged: object) -> object:
    inst = tracefs_root / "instances" / f"ftop_oracle_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    inst.mkdir()
    try:
        yield inst
    finally:
        with contextlib.suppress(OSError):
            _write(inst / "tracing_on", "0")
        with contextlib.suppress(OSError):
            _write(inst / "events" / "enable", "0")
        for _ in range(50):
            try:
                inst.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _activity(inst: Path) -> None:
    # A child names itself with escape sequences and a bidi override, then works.
    code = (
        "import ctypes, os, signal\n"
        f"ctypes.CDLL(None).prctl(15, {HOSTILE!r}, 0, 0, 0)\n"
        "for _ in range(5): open('/proc/version').read()\n"
        "os.kill(os.getpid(), signal.SIGCHLD)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    subprocess.run(["sh", "-c", "ls / >/dev/null; sleep 0.02"], check=True, timeout=30)
    with open(inst / "trace_marker", "wb") as f:
        f.write(b"marker \x1b[31m red\nsecond line")
    with open(inst / "trace_marker", "wb") as f:
        f.write("ünïcode marker\n".encode())


def _drain(inst: Path, layout: Layout) -> List[List[Record]]:
    page_size = layout.page_size
    out = []
    for cpu_dir in sorted((inst / "per_cpu").glob("cpu*"), key=lambda p: int(p.name[3:])):
        cpu = int(cpu_dir.name[3:])
        recs: List[Record] = []
        fd = os.open(cpu_dir / "trace_pipe_raw", os.O_RDONLY | os.O_NONBLOCK)
        try:
            while True:
                try:
                    data = os.read(fd, page_size)
                except BlockingIOError:
                    break
                if not data:
                    break
                for page in split_pages(data.ljust(page_size, b"\0"), page_size):
                    recs.extend(records(page, layout, cpu))
        finally:
            os.close(fd)
        out.append(recs)
    return out


def test_raw_rendering_is_the_kernels_text(tracefs_root: Path, instance: Path) -> None:
    inst = instance
    if (inst / "options" / "hash-ptr").exists():
        _write(inst / "options" / "hash-ptr", "0")
    _write(inst / "buffer_size_kb", "512")
    for system in SYSTEMS:
        p = inst / "events" / system / "enable"
        if p.exists():
            _write(p, "1")
    _activity(inst)
    time.sleep(0.05)
    _write(inst / "tracing_on", "0")
    for system in SYSTEMS:
        p = inst / "events" / system / "enable"
        if p.exists():
            _write(p, "0")
    kernel = (inst / "trace").read_bytes().decode("utf-8", "surrogateescape")
    src = RawSource.from_tracefs(tracefs_root, inst)
    per_cpu = _drain(inst, src.layout)
    merged = sorted((r for cpu in per_cpu for r in cpu), key=lambda r: (r.ts, r.cpu))
    renderer = src.renderer()
    ours = render_items(renderer, None, [(r.ts, r.cpu, 1, r, None) for r in merged])
    theirs = [ln for ln in kernel.split("\n") if ln and not ln.startswith("#")]
    assert len(merged) > 200, "the activity produced too few events to judge"
    raw_names = {name.split(":")[1] + ":" for name in renderer.raw_events}
    mismatch = []
    for k, o in zip(theirs, ours):
        if k == o:
            continue
        # An event shown raw differs after its name; the context must still agree.
        head = k.split(": ", 2)
        if len(head) == 3 and head[1] + ":" in raw_names and o.startswith(head[0] + ": "):
            continue
        mismatch.append(f"kernel {k!r}\nftop   {o!r}")
    assert len(theirs) == len(ours), (len(theirs), len(ours))
    assert not mismatch, f"{len(mismatch)} lines differ:\n" + "\n".join(mismatch[:10])
    assert set(renderer.raw_events) <= KNOWN_UNSUPPORTED, renderer.raw_events
    # The hostile name is in the data as it is (escaping is the display's job): the
    # rename event carries it in its fields (the context's comm depends on
    # saved_cmdlines, which a busy machine may have cycled).
    hostile = HOSTILE.decode("utf-8", "surrogateescape")[:6]
    assert any("task_rename:" in ln and hostile in ln for ln in ours)
    assert any("tracing_mark_write: marker \x1b[31m red" in ln for ln in ours)


def test_the_raw_reader_drains_every_cpu_and_counts_what_the_kernel_counts(
    tracefs_root: Path, instance: Path
) -> None:
    """RawReader (splice, then read for the partial page) hands over every record
    the kernel says it wrote: per_cpu/cpuN/stats "entries" before the read."""
    inst = instance
    _write(inst / "events" / "sched" / "enable", "1")
    subprocess.run(["sh", "-c", "for i in 1 2 3 4 5; do ls / >/dev/null; done"], check=True)
    _write(inst / "tracing_on", "0")
    _write(inst / "events" / "sched" / "enable", "0")
    entries = 0
    for cpu_dir in (inst / "per_cpu").glob("cpu*"):
        for line in (cpu_dir / "stats").read_text().splitlines():
            if line.startswith("entries:"):
                entries += int(line.split(":")[1])
    src = RawSource.from_tracefs(tracefs_root, inst)
    got: List[Record] = []

    def on_pages(cpu: int, pages: List[bytes]) -> None:
        for p in pages:
            got.extend(records(p, src.layout, cpu))

    reader = RawReader(inst / "per_cpu", src.layout.page_size, on_pages, poll_interval=0.05)
    reader.start()
    deadline = time.monotonic() + 10
    while len(got) < entries and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.stop()
    assert entries > 0 and len(got) == entries, (len(got), entries)
