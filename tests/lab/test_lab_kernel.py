"""Raw-tracefs checks that the lab guest runs the kernel ftop's lab tier expects.

Plain file I/O on purpose: these tests prove the lab itself (right kernel,
right features, state restorable), independently of ftop's engine.
"""

import errno
import os
import re
import time
from pathlib import Path
from typing import Iterator

import pytest

TRACEFS = Path("/sys/kernel/tracing")

pytestmark = [pytest.mark.lab, pytest.mark.timeout(60)]

LAB_TRACERS = {"function", "function_graph", "wakeup", "wakeup_rt", "wakeup_dl", "nop"}


def write(name: str, value: str, append: bool = False) -> None:
    # "a" matters for filter files: opening set_ftrace_filter with O_TRUNC
    # clears it before the write.
    with open(TRACEFS / name, "a" if append else "w") as f:
        f.write(value)


def read(name: str) -> str:
    return (TRACEFS / name).read_text()


@pytest.fixture
def restore_tracer() -> Iterator[None]:
    """Put the tracer, its filter and tracing_on back whatever the test did."""
    tracer = read("current_tracer").strip()
    on = read("tracing_on").strip()
    try:
        yield
    finally:
        write("tracing_on", "0")
        write("current_tracer", tracer)
        write("set_ftrace_filter", "")  # O_TRUNC + empty write: clear
        write("trace", "")  # clear the buffer too
        write("tracing_on", on)


def test_kernel_is_debian_rt() -> None:
    release = os.uname().release
    assert re.fullmatch(r"6\.1\.0-\d+-rt-amd64", release), release
    assert "PREEMPT_RT" in Path("/proc/version").read_text() or "PREEMPT RT" in os.uname().version


def test_tracefs_mounted_and_root() -> None:
    assert os.geteuid() == 0
    assert (TRACEFS / "trace").exists()


def test_available_tracers() -> None:
    tracers = set(read("available_tracers").split())
    assert tracers >= LAB_TRACERS, f"missing: {sorted(LAB_TRACERS - tracers)}"


def test_full_ftrace_feature_files() -> None:
    """Files the build machine's kernel lacks and ftop relies on."""
    for name in [
        "available_filter_functions",
        "set_ftrace_filter",
        "set_ftrace_notrace",
        "set_graph_function",
        "set_graph_notrace",
        "max_graph_depth",
        "stack_trace",
        "stack_max_size",
        "stack_trace_filter",
        "kprobe_events",
        "synthetic_events",
        "snapshot",
        "tracing_max_latency",
        "error_log",
    ]:
        assert (TRACEFS / name).exists(), name
    assert Path("/proc/sys/kernel/stack_tracer_enabled").exists()


def test_filter_catalog_is_large() -> None:
    with open(TRACEFS / "available_filter_functions") as f:
        n = sum(1 for _ in f)
    assert n > 20_000, n


@pytest.mark.usefixtures("restore_tracer")
def test_filtered_function_tracer_round_trip() -> None:
    write("set_ftrace_filter", "vfs_read")
    assert read("set_ftrace_filter").split() == ["vfs_read"]
    write("trace", "")
    write("current_tracer", "function")
    assert read("current_tracer").strip() == "function"
    write("tracing_on", "1")
    for _ in range(20):
        Path("/proc/version").read_text()  # vfs_read calls in this process
    time.sleep(0.2)
    # Stop before reading: the reader's own I/O is traced otherwise.
    write("tracing_on", "0")
    lines = [ln for ln in read("trace").splitlines() if ln and not ln.startswith("#")]
    assert lines, "no vfs_read events recorded"
    funcs = {re.search(r":\s+(\S+)\s+<-", ln).group(1) for ln in lines}  # type: ignore[union-attr]
    assert funcs == {"vfs_read"}, funcs
    write("current_tracer", "nop")
    assert read("current_tracer").strip() == "nop"


@pytest.mark.usefixtures("restore_tracer")
def test_function_graph_selectable() -> None:
    write("set_ftrace_filter", "vfs_read")
    write("current_tracer", "function_graph")
    assert read("current_tracer").strip() == "function_graph"
    write("current_tracer", "nop")
    assert read("current_tracer").strip() == "nop"


def test_unknown_function_filter_refused() -> None:
    before = read("set_ftrace_filter")
    with pytest.raises(OSError) as exc:
        write("set_ftrace_filter", "no_such_function_q\n", append=True)
    assert exc.value.errno == errno.EINVAL
    assert read("set_ftrace_filter") == before


def test_unknown_function_without_newline_fails_silently() -> None:
    """Pins a kernel trap: the last token of a filter write is applied only
    when it is terminated by whitespace or at close(), and an error at close()
    is dropped. Writers must end every write with a newline to see EINVAL."""
    before = read("set_ftrace_filter")
    write("set_ftrace_filter", "no_such_function_q", append=True)  # no error raised
    assert read("set_ftrace_filter") == before
