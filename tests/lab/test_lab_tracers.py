"""Every interactive tracer of the real 6.1-rt kernel, selected through the engine.

Each is selected as one transaction, traced briefly, its `trace` (and for the
function tracers its `trace_pipe`, through ftop's own reader) parsed with not
one unparsed line, and everything restored. A real `ftop stream` process with
the function_graph tracer is stopped with SIGTERM and must leave tracefs as it
found it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from engine_lab import TRACEFS, kernel_reads, light_state, raw, session_fixture  # noqa: F401
from ftop.engine.control.config import EventSpec, TraceConfig
from ftop.engine.control.session import Session
from ftop.engine.stream.parse import is_unparsed, parse_latency_trace, parse_line

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

FUNCS = ["vfs_read", "vfs_open", "do_sys_openat2"]


def unparsed(lines: List[str]) -> List[str]:
    return [ln for ln in lines if is_unparsed(parse_line(ln))]


def rt_wakeups() -> None:
    """Wakeups for the latency tracers: plain, SCHED_FIFO and SCHED_DEADLINE sleepers."""
    for _ in range(3):
        subprocess.run(["sleep", "0.01"], check=True, timeout=20)
        subprocess.run(["chrt", "-f", "50", "sleep", "0.01"], check=True, timeout=20)
        # SCHED_DEADLINE may be refused (admission control); the tracer must cope either way.
        subprocess.run(
            [
                "chrt",
                "-d",
                "--sched-runtime",
                "2000000",
                "--sched-deadline",
                "10000000",
                "--sched-period",
                "10000000",
                "0",
                "sleep",
                "0.01",
            ],
            timeout=20,
            stderr=subprocess.DEVNULL,
            check=False,
        )


def stopped_trace(session: Session) -> List[str]:
    # Stop before reading `trace`: reading it over 9p is itself traced otherwise.
    session.set_tracing_on(False)
    return session.read("trace").splitlines()


@pytest.mark.parametrize("tracer", ["function", "function_graph"])
def test_function_tracers_trace_and_trace_pipe_parse_completely(
    session: Session, tracer: str
) -> None:
    cfg = TraceConfig(tracer=tracer, filter_functions=FUNCS)
    session.apply_config(cfg)
    assert raw("current_tracer").strip() == tracer
    session.start_stream()
    kernel_reads(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(session.ring) < 20:
        kernel_reads(5)
        time.sleep(0.2)
    session.stop_stream()
    piped = session.ring.window(session.ring.first_seq, len(session.ring))
    assert len(piped) >= 20, "trace_pipe delivered through the engine's reader"
    assert unparsed(piped) == []
    recs = [parse_line(ln) for ln in piped]
    if tracer == "function":
        funcs = {r.name for r in recs if r.kind == "function"}
        assert funcs and funcs <= set(FUNCS), funcs
        assert all(r.parent for r in recs if r.kind == "function")
    else:
        graph = [r for r in recs if r.kind == "graph"]
        assert graph and {r.graph_kind for r in graph} & {"entry", "leaf"}
        assert any(r.duration_us is not None and r.duration_us > 0 for r in graph)
    kernel_reads(10)
    text = stopped_trace(session)
    assert any(ln.startswith(f"# tracer: {tracer}") for ln in text)
    assert unparsed(text) == []


@pytest.mark.parametrize("tracer", ["wakeup", "wakeup_rt", "wakeup_dl"])
def test_latency_tracers_report_parses_completely(session: Session, tracer: str) -> None:
    # function-trace off: the wakeup tracers then patch no call sites (cheap under
    # emulation, and wakeup_dl with it on has hung this guest).
    session.apply_config(TraceConfig(tracer=tracer, options=["nofunction-trace"]))
    assert raw("current_tracer").strip() == tracer
    rt_wakeups()
    lines = stopped_trace(session)
    assert unparsed(lines) == []
    rep = parse_latency_trace("\n".join(lines))
    assert rep.tracer == tracer
    if tracer != "wakeup_dl":  # no deadline task may have been admitted
        assert rep.latency_us and rep.latency_us > 0
        assert rep.task_comm and rep.cpu is not None
        assert rep.records, "the body of the max-latency trace was parsed"


def test_nop_with_an_event_parses_and_stack_trace_blocks(session: Session) -> None:
    session.apply_config(
        TraceConfig(events=[EventSpec("sched", "sched_process_exec")], options=["stacktrace"])
    )
    subprocess.run(["true"], check=True)
    lines = stopped_trace(session)
    assert unparsed(lines) == []
    kinds = {parse_line(ln).kind for ln in lines}
    assert "event" in kinds and "stack" in kinds, kinds


def test_ftop_stream_function_graph_sigterm_restores(tmp_path: Path) -> None:
    before = light_state()
    env = dict(os.environ, FTOP_JOURNAL_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ftop",
            "stream",
            "-p",
            "function_graph",
            "-g",
            "vfs_read",
            "-l",
            "vfs_read",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while raw("current_tracer").strip() != "function_graph":
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "ftop stream never set the tracer"
            time.sleep(0.2)
        # The reader reads the formats and kallsyms first (seconds under emulation):
        # read until the graph shows vfs_read, then end it.
        got = bytearray()
        import threading

        def pump() -> None:
            for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
                got.extend(chunk)

        threading.Thread(target=pump, daemon=True).start()
        while b"vfs_read" not in got:
            kernel_reads(5)
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline + 60, "no vfs_read in the stream"
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        err = proc.stderr.read()  # type: ignore[union-attr]
        out = bytes(got)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # 128 + SIGTERM, as a shell reports a process ended by SIGTERM, after the restore.
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"vfs_read" in out
    assert light_state() == before
    assert not list(tmp_path.glob("journal-*.json"))


@pytest.mark.timeout(600)
def test_sigint_during_a_long_tracer_switch_is_honoured_and_restores(tmp_path: Path) -> None:
    """Switching to function_graph with no set_ftrace_filter patches every traced call
    site (tens of seconds under emulation) in one write(2) that no signal can cut
    short. ftop says what it waits for, takes the SIGINT when the kernel returns,
    and restores the state as it was."""
    import threading

    before = light_state()
    env = dict(os.environ, FTOP_JOURNAL_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftop", "stream", "-p", "function_graph", "-g", "vfs_read"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    err: List[str] = []
    reader = threading.Thread(
        target=lambda: err.extend(ln.decode(errors="replace") for ln in proc.stderr),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        deadline = time.monotonic() + 180
        # The journal is written before the first change; the switch follows it.
        while not list(tmp_path.glob("journal-*.json")):
            assert proc.poll() is None, "".join(err)
            assert time.monotonic() < deadline, "ftop stream never wrote its journal"
            time.sleep(0.05)
        while not any("waiting for the kernel" in ln for ln in err):
            if raw("current_tracer").strip() == "function_graph":
                break  # a quick switch (a fast host): the SIGINT then lands in the stream
            assert proc.poll() is None, "".join(err)
            assert time.monotonic() < deadline, "neither a switch nor a word about it"
            time.sleep(0.1)
        slow = any("waiting for the kernel" in ln for ln in err)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)
    said = "".join(err)
    if slow:
        assert "current_tracer <- function_graph" in said, said
        assert "patches every traced call site" in said, said
    assert "Traceback" not in said, said
    assert light_state() == before, said
    assert not list(tmp_path.glob("journal-*.json")), said
