"""The raw pipeline against its oracle, the kernel's own text, on the real 6.1-rt kernel.

For each tracer or event kind: trace, stop (tracing_on 0), read ``trace`` (it
does not consume), then drain every CPU's ``per_cpu/cpuN/trace_pipe_raw`` and
render the pages with :class:`ftop.engine.raw.stream.RawSource` (records merged
by time stamp and CPU, as ``trace`` merges them). The two must be the same line
for line, but for the differences listed in KNOWN (each with its reason).

Then trace.dat both ways: trace-cmd's file read by ftop, and ftop's file read by
trace-cmd (``trace-cmd report``'s cpu, time stamp, pid and event name per record).

Every case also leaves its inputs (pages, text, formats) in $LAB_OUT/raw-oracle,
so that a difference can be studied and the renderer fixed outside the guest.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pytest
from conftest import dump_state
from engine_lab import TRACEFS, kernel_reads, raw, raw_write, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.control.transaction import Change
from ftop.engine.ftrace.filter import plan_set
from ftop.engine.ftrace.options import plan_option
from ftop.engine.ftrace.probes import kprobe, plan_create, uprobe
from ftop.engine.raw.stream import Item, RawSource, page_items, render_items
from ftop.engine.tracedat.read import TraceDat

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

OUT = Path(os.environ.get("LAB_OUT", "/tmp")) / "raw-oracle"
TRACE_CMD = "/usr/bin/trace-cmd"


# -- reading both sides -------------------------------------------------------------------


def drain_raw(page_size: int) -> Dict[int, List[bytes]]:
    """Every page of every CPU's trace_pipe_raw (O_NONBLOCK until EAGAIN or end)."""
    pages: Dict[int, List[bytes]] = {}
    for d in sorted((TRACEFS / "per_cpu").glob("cpu*")):
        if not d.name[3:].isdigit():
            continue
        cpu = int(d.name[3:])
        got: List[bytes] = []
        fd = os.open(d / "trace_pipe_raw", os.O_RDONLY | os.O_NONBLOCK)
        try:
            while True:
                try:
                    b = os.read(fd, page_size)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        break
                    raise
                if not b:
                    break
                got.append(b)
        finally:
            os.close(fd)
        pages[cpu] = got
    return pages


def text_lines(text: str) -> List[str]:
    return [ln for ln in text.split("\n")[:-1] if not ln.startswith("#")]


_common_formats: Optional[set[str]] = None


def dump(case: str, src: RawSource, trace: str, pages: Dict[int, List[bytes]]) -> None:
    """What it takes to render the case again elsewhere."""
    global _common_formats
    OUT.mkdir(parents=True, exist_ok=True)
    if _common_formats is None:
        events = TRACEFS / "events"
        common = {
            "header_page": (events / "header_page").read_text(),
            "header_event": (events / "header_event").read_text(),
            "formats": src.format_texts,
            "kallsyms": src.kallsyms_text,
            "printk": src.printk_text,
            "release": src.release,
        }
        (OUT / "common.json").write_text(json.dumps(common))
        _common_formats = {text for _, text in src.format_texts}
    case_data = {
        "trace": trace,
        # Formats made since (probes): not in common.json.
        "formats": [(s, t) for s, t in src.format_texts if t not in _common_formats],
        "trace_options": src.trace_options,
        "trace_clock": raw("trace_clock"),
        "tracer": src.tracer,
        "ncpus": src.ncpus,
        "saved_cmdlines": raw("saved_cmdlines"),
        "saved_tgids": raw("saved_tgids") if (TRACEFS / "saved_tgids").exists() else "",
        "pages": {str(c): [base64.b64encode(p).decode() for p in ps] for c, ps in pages.items()},
    }
    (OUT / f"{case}.json").write_text(json.dumps(case_data))


def capture(case: str) -> Tuple[List[str], List[str], RawSource, int]:
    """(the kernel's lines, ours, the source, the number of records) of what is in the
    buffer now (tracing must be stopped)."""
    trace = raw("trace")
    src = RawSource.from_tracefs(TRACEFS, TRACEFS)
    pages = drain_raw(src.layout.page_size)
    dump(case, src, trace, pages)
    items: List[Item] = []
    for cpu, ps in pages.items():
        items.extend(page_items(ps, src.layout, cpu))
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    renderer = src.renderer()
    ours = render_items(renderer, src.graph(renderer), items)
    return text_lines(trace), ours, src, sum(t[2] for t in items)


# A known difference: (why, does it explain this pair of lines (kernel's, ours)).
Known = Tuple[str, Callable[[str, str], bool]]


def compare(kernel: Sequence[str], ours: Sequence[str], known: Sequence[Known] = ()) -> None:
    """Line for line; a pair that differs must be explained by one of ``known``."""
    unexplained = []
    for i, (k, o) in enumerate(zip(kernel, ours)):
        if k == o or any(ok(k, o) for _, ok in known):
            continue
        unexplained.append((i, k, o))
    detail = "\n".join(f"  {i}: kernel {k!r}\n  {i}:   ours {o!r}" for i, k, o in unexplained[:20])
    assert not unexplained, f"{len(unexplained)} lines differ:\n{detail}"
    assert len(kernel) == len(ours), (len(kernel), len(ours), kernel[-3:], ours[-3:])


def no_hash() -> List[Change]:
    """Plain %p prints are hashed unless hash-ptr is off (and the hash cannot be redone)."""
    return [plan_option("hash-ptr", False)] if (TRACEFS / "options/hash-ptr").exists() else []


def run_case(
    session: Session,
    case: str,
    changes: List[Change],
    work: Callable[[], None],
    known: Sequence[Known] = (),
    min_records: int = 1,
    hash_off: bool = True,
) -> List[str]:
    session.apply([Change("trace", ""), *(no_hash() if hash_off else []), *changes])
    work()
    session.set_tracing_on(False)
    kernel, ours, _src, nrec = capture(case)
    assert nrec >= min_records, (case, nrec)
    assert kernel, case
    compare(kernel, ours, known)
    return kernel


# -- function -----------------------------------------------------------------------------


def test_function_vfs_print_parent(session: Session) -> None:
    lines = run_case(
        session,
        "function-vfs",
        [*plan_set("set_ftrace_filter", ["vfs_*"]), Change("current_tracer", "function")],
        lambda: kernel_reads(20),
    )
    assert any(" vfs_read <-" in ln for ln in lines)


def test_function_sym_offset(session: Session) -> None:
    lines = run_case(
        session,
        "function-sym-offset",
        [
            *plan_set("set_ftrace_filter", ["vfs_read", "vfs_open"]),
            plan_option("sym-offset", True),
            Change("current_tracer", "function"),
        ],
        lambda: kernel_reads(10),
    )
    assert any(re.search(r" vfs_read\+0x\w+/0x\w+ <-", ln) for ln in lines)


# -- function_graph -----------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["default", "funcgraph-proc", "funcgraph-abstime"])
def test_function_graph(session: Session, variant: str) -> None:
    opts = [] if variant == "default" else [plan_option(variant, True)]
    lines = run_case(
        session,
        f"graph-{variant}",
        [
            *plan_set("set_graph_function", ["vfs_read"]),
            *opts,
            Change("current_tracer", "function_graph"),
        ],
        lambda: kernel_reads(10),
    )
    assert any("vfs_read() {" in ln for ln in lines)


# -- wakeup tracers ----------------------------------------------------------------------


@pytest.mark.parametrize("tracer", ["wakeup", "wakeup_rt"])
def test_wakeup_tracers(session: Session, tracer: str) -> None:
    """Known limit of 6.1: the records `trace` shows cannot be had raw.

    A latency tracer's `trace` shows the max (snapshot) buffer (print_max), and
    per_cpu/cpuN/snapshot_raw refuses with EBUSY while a use_max_tr tracer is
    current; switching the tracer away frees the snapshot; trace_pipe and
    trace_pipe_raw both consume the main buffer. So the records compared here
    are the main buffer's (the ones ftop's raw stream reads, as trace_pipe
    would), against the shapes of the kernel's text of the max buffer: each of
    our bodies of the tracer's own events (the wakeup and context-switch lines,
    functions, stacks) must have the kernel's form, and nothing may fall back to
    the raw field dump.
    """
    session.apply(
        [
            Change("trace", ""),
            *no_hash(),
            plan_option("function-trace", False),
            Change("current_tracer", tracer),
        ]
    )
    for _ in range(5):
        subprocess.run(["chrt", "-f", "50", "sleep", "0.01"], check=True, timeout=20)
    session.set_tracing_on(False)
    kernel_text = raw("trace")
    with pytest.raises(OSError) as e:  # refused at open(2)
        os.close(os.open(TRACEFS / "per_cpu/cpu0/snapshot_raw", os.O_RDONLY | os.O_NONBLOCK))
    assert e.value.errno == errno.EBUSY
    kernel, ours, _src, nrec = capture(f"wakeup-{tracer}")
    assert f"# tracer: {tracer}" in kernel_text
    switch = re.compile(r" +\d+: *\d+:[RSDTtXZPI?] (==>|  \+) \[\d{3}\] +\d+: *\d+:[RSDTtXZPI?] \S")
    assert any(switch.search(ln) for ln in kernel), kernel[:20]
    assert nrec == 0 or any(switch.search(ln) for ln in ours), ours[:20]
    # Nothing fell back to "name: field=value".
    assert not any(
        re.search(r": (context_switch|wakeup|function|kernel_stack): ", ln) for ln in ours
    )


# -- probes -------------------------------------------------------------------------------


def test_kprobe_and_kretprobe(session: Session) -> None:
    kp = kprobe(
        "do_sys_openat2",
        "ftop_raw_open",
        ["dfd=$arg1:s32", "filename=+0($arg2):string", "flags=+0($arg3):x64"],
    )
    kr = kprobe("do_sys_openat2", "ftop_raw_open_ret", ["ret=$retval:s64"], ret=True)
    lines = run_case(
        session,
        "kprobe",
        [*plan_create(kp, enable=True), *plan_create(kr, enable=True)],
        lambda: kernel_reads(5),
    )
    assert any(
        "ftop_raw_open: (do_sys_openat2+0x0/" in ln and 'filename="/proc/version"' in ln
        for ln in lines
    )
    assert any("ftop_raw_open_ret: (" in ln and " <- do_sys_openat2) ret=" in ln for ln in lines)


def _libc_offset(lib: str, symbol: str) -> Optional[int]:
    """The file offset of ``symbol`` in ``lib`` (nm -D's address, through the PT_LOAD
    that holds it)."""
    try:
        nm = subprocess.run(["nm", "-D", lib], capture_output=True, text=True, timeout=60).stdout
        segs = subprocess.run(
            ["readelf", "-lW", lib], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    addr = None
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].split("@")[0] == symbol and parts[1] in "TtWi":
            addr = int(parts[0], 16)
            break
    if addr is None:
        return None
    for line in segs.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            off, vaddr, memsz = int(p[1], 16), int(p[2], 16), int(p[5], 16)
            if vaddr <= addr < vaddr + memsz:
                return addr - vaddr + off
    return None


def test_uprobe_and_uretprobe(session: Session) -> None:
    lib = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")
    off = _libc_offset(lib, "getpid")
    assert off is not None, "no getpid in libc's dynamic symbols"
    up = uprobe(lib, off, "ftop_raw_getpid")
    ur = uprobe(lib, off, "ftop_raw_getpid_ret", ["ret=$retval:s32"], ret=True)

    def work() -> None:
        for _ in range(5):
            os.getpid()

    lines = run_case(
        session,
        "uprobe",
        [*plan_create(up, enable=True), *plan_create(ur, enable=True)],
        work,
    )
    assert any(re.search(r"ftop_raw_getpid: \(0x[0-9a-f]+\)$", ln) for ln in lines)
    assert any(
        re.search(r"ftop_raw_getpid_ret: \(0x[0-9a-f]+ <- 0x[0-9a-f]+\) ret=", ln) for ln in lines
    )


# -- markers and events ---------------------------------------------------------------------


def test_trace_marker(session: Session) -> None:
    def work() -> None:
        for msg in (
            b"ftop plain marker",
            b"ftop ctl\x01char\tand tab",
            b"ftop first line\nsecond line",
            b"ftop ends in newline\n",
            "ftop ütf-8 ✓".encode(),
        ):
            fd = os.open(TRACEFS / "trace_marker", os.O_WRONLY)
            try:
                os.write(fd, msg)
            finally:
                os.close(fd)

    lines = run_case(session, "marker", [], work, min_records=5)
    assert any("tracing_mark_write: ftop ctl\x01char\tand tab" in ln for ln in lines)
    assert "second line" in lines


def first_string_blanked(kernel: str, ours: str) -> bool:
    """Ours with one ``%s`` value left out, right after its ``name=``."""
    p = 0
    while p < min(len(kernel), len(ours)) and kernel[p] == ours[p]:
        p += 1
    return p > 0 and kernel[p - 1] == "=" and len(ours) > len(kernel) and ours.endswith(kernel[p:])


# With hash-ptr off, 6.1's trace_check_vprintf() prints the event's first %s as
# nothing: trace_event_format() hands it the copy of the format it keeps in
# iter->fmt, which it also uses as scratch; writing the NUL that ends the text
# before the first %s overwrites that very %, and the %s copied afterwards is "".
# (Later %s print, and the record holds the string.) Ours prints the string.
HASH_PTR_OFF_BLANKS_FIRST_S: Known = (
    "6.1 trace_check_vprintf with hash-ptr 0 blanks the first %s",
    first_string_blanked,
)


@pytest.mark.parametrize("hash_ptr", [True, False], ids=["hash-ptr", "nohash-ptr"])
def test_sched_events(session: Session, hash_ptr: bool) -> None:
    def work() -> None:
        for _ in range(3):
            subprocess.run(["true"], check=True, timeout=20)
        kernel_reads(3)

    # No sched event prints a plain %p: the case runs with hash-ptr as it is, too.
    changes = [Change("events/sched/enable", "1")]
    known = [] if hash_ptr else [HASH_PTR_OFF_BLANKS_FIRST_S]
    lines = run_case(
        session,
        f"sched-{'hash' if hash_ptr else 'nohash'}",
        changes,
        work,
        known,
        min_records=10,
        hash_off=not hash_ptr,
    )
    assert any("sched_switch: prev_comm=" in ln for ln in lines)
    assert any("sched_process_exec: filename=" in ln for ln in lines)


# -- trace.dat both ways --------------------------------------------------------------------

Row = Tuple[int, int, int, str]
# "  cat-123   [001] 10460.442472860: function: ..." (trace-cmd report -t)
_LINE = re.compile(r"^(?:\S+:\s+)?.*?-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}):\s+([\w]+):")


def report_rows(path: Path) -> List[Row]:
    # -R: every record as its fields; the function_graph plugin would fold a leaf's
    # exit into its entry line otherwise.
    out = subprocess.run(
        [TRACE_CMD, "report", "-t", "-R", "-i", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if m:
            pid, cpu, sec, ns, name = m.groups()
            rows.append((int(cpu), int(sec) * 1_000_000_000 + int(ns), int(pid), name))
    return rows


def our_rows(path: Path) -> List[Row]:
    t = TraceDat.open(path)
    try:
        formats = t.event_formats()
        out = []
        for r in t.records():
            ev = formats[r.type_id]
            out.append((r.cpu, r.ts, ev.by_name["common_pid"].value(r.data, t.endian), ev.name))
        return out
    finally:
        t.close()


# What trace-cmd record may leave changed, and how to put each back (see put_back).
def put_back(before: Dict[str, str]) -> List[str]:
    """Write back what an outside tool changed; the names of what was put back."""
    after = dump_state()
    fixed = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if key == "options/":
            was = dict(kv.split("=", 1) for kv in re.findall(r"[^\n=]+=\d\n", b or ""))
            now = dict(kv.split("=", 1) for kv in re.findall(r"[^\n=]+=\d\n", a or ""))
            for name, v in was.items():
                if now.get(name) != v:
                    raw_write(f"options/{name}", v.strip())
                    fixed.append(f"options/{name}")
            continue
        if key in ("trace_options",):
            continue  # follows options/
        if key in (
            "current_tracer",
            "tracing_on",
            "trace_clock",
            "tracing_thresh",
            "max_graph_depth",
            "tracing_cpumask",
        ):
            value = (b or "").strip()
            if key == "trace_clock":
                m = re.search(r"\[(\S+)\]", b or "")
                value = m.group(1) if m else value
            raw_write(key, value)
            fixed.append(key)
            continue
        if key in (
            "set_ftrace_filter",
            "set_ftrace_notrace",
            "set_graph_function",
            "set_graph_notrace",
            "set_ftrace_pid",
            "set_event_pid",
            "set_event",
        ):
            words = [w for w in (b or "").split() if not w.startswith("#")]
            raw_write(key, "")
            for w in words:
                raw_write(key, w, append=True)
            fixed.append(key)
            continue
        if key == "buffer_size_kb":
            raw_write(key, (b or "").split()[0])
            fixed.append(key)
    return fixed


def trace_cmd_record(args: List[str], out: Path) -> List[str]:
    before = dump_state()
    subprocess.run(
        [TRACE_CMD, "record", *args, "-o", str(out), "--", "cat", "/proc/version"],
        check=True,
        capture_output=True,
        timeout=240,
    )
    # trace-cmd record puts what it used back to the defaults when it ends (nop, no
    # filters), not to what was there. In the lab the state before is the boot
    # default, so nothing differed there (trace-cmd 3.1.6 on 6.1-rt: put_back wrote
    # nothing; the list is left in $LAB_OUT); on another state this puts it back.
    fixed = put_back(before)
    after = dump_state()
    assert {k for k in before if before.get(k) != after.get(k)} == set(), fixed
    return fixed


@pytest.mark.parametrize(
    "args",
    [["-p", "function", "-l", "vfs_read"], ["-p", "function_graph", "-g", "vfs_read"]],
    ids=["function", "function_graph"],
)
def test_trace_cmd_file_read_by_ftop(session: Session, tmp_path: Path, args: List[str]) -> None:
    path = tmp_path / "tc.dat"
    fixed = trace_cmd_record(args, path)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"trace-cmd-put-back-{args[1]}.txt").write_text("\n".join(fixed) + "\n")
    theirs = report_rows(path)
    ours = our_rows(path)
    assert theirs, "trace-cmd report shows no records"
    assert ours == theirs


@pytest.mark.parametrize(
    "args",
    [["-p", "function", "-l", "vfs_read"], ["-p", "function_graph", "-g", "vfs_read"]],
    ids=["function", "function_graph"],
)
def test_ftop_file_read_by_trace_cmd(session: Session, tmp_path: Path, args: List[str]) -> None:
    path = tmp_path / "ftop.dat"
    env = dict(os.environ, FTOP_JOURNAL_DIR=str(tmp_path / "journal"))
    before = dump_state()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftop",
            "record",
            "-o",
            str(path),
            *args,
            "--",
            "cat",
            "/proc/version",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    after = dump_state()
    assert {k for k in before if before.get(k) != after.get(k)} == set()
    ours = our_rows(path)
    theirs = report_rows(path)
    assert ours, r.stderr
    assert theirs == ours
