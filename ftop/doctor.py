"""`ftop doctor`: what this machine's tracefs offers ftop, and what decides it."""

from __future__ import annotations

import argparse
import os
import platform
from typing import TYPE_CHECKING, Any, List

from ftop.cli import _say

if TYPE_CHECKING:
    pass


def _row(rows: List[tuple[str, str]], key: str, value: Any) -> None:
    rows.append((key, str(value)))


def cmd_doctor(ns: argparse.Namespace) -> int:
    from ftop.engine.control import journal as journal_mod
    from ftop.engine.control.access import access_note, hidden_symbols, owner_mode, read_refusal
    from ftop.engine.control.capabilities import probe
    from ftop.engine.control.session import _describe_foreign
    from ftop.engine.control.state import snapshot
    from ftop.engine.control.tracefs import Tracefs, find_tracefs, holders, list_dir, lockdown_mode
    from ftop.engine.errors import TracefsNotFound
    from ftop.engine.stream.stats import parse_cpu_stats

    rows: List[tuple[str, str]] = []
    _row(rows, "kernel", f"{platform.release()} ({platform.machine()}, {os.cpu_count()} CPUs)")
    _row(rows, "user", _who())
    _row(rows, "lockdown", lockdown_mode() or "unknown (securityfs not mounted)")
    hints = []
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        hints.append("container")
    try:
        with open("/proc/1/cgroup") as f:
            cg = f.read()
        if "docker" in cg or "kubepods" in cg or "lxc" in cg:
            hints.append("container cgroup")
    except OSError:
        pass
    _row(rows, "container", ", ".join(hints) or "no sign of one")
    rc = 0
    try:
        root = find_tracefs(ns.tracefs, mount=os.geteuid() == 0)
    except TracefsNotFound as e:
        _row(rows, "tracefs", f"NOT FOUND: {e}")
        _print_table(rows)
        return 1
    tfs = Tracefs(root)
    _row(rows, "tracefs", f"{root} ({owner_mode(root)})")
    refused = read_refusal(root)
    if refused is not None:
        _row(rows, "access", f"NONE: {refused}")
        _print_table(rows)
        return 1
    barred = access_note(root, root)
    _row(rows, "access", "reads and writes all ftop uses" if barred is None else f"reads; {barred}")
    hidden = hidden_symbols(root)
    if hidden is not None:
        _row(rows, "symbols", hidden)
    caps = probe(tfs)
    _row(rows, "tracers", " ".join(caps.tracers) or "none readable")
    if caps.function_tracing:
        _row(rows, "function tracing", "allowed")
    else:
        _row(rows, "function tracing", f"NOT allowed: {caps.function_refusal}")
    _row(rows, "events", f"{caps.events} in {caps.subsystems} systems")
    for feat in (
        "kprobe_events",
        "uprobe_events",
        "stack_trace",
        "snapshot",
        "tracing_max_latency",
    ):
        _row(rows, feat, "yes" if caps.has(feat) else "no")
    st = snapshot(tfs)
    _row(rows, "current tracer", st.current_tracer)
    _row(rows, "tracing_on", st.tracing_on)
    _row(rows, "trace_clock", st.scalars.get("trace_clock"))
    _row(rows, "buffer_size_kb", (tfs.read_or("buffer_size_kb") or "?").strip())
    foreign = _describe_foreign(st, caps)
    readers = holders(str(root))
    _row(rows, "others' tracing", "; ".join(foreign) if foreign else "none (defaults)")
    _row(rows, "open tracefs files", "; ".join(readers) if readers else "none")
    from ftop.engine.raw.stream import raw_unavailable

    why = raw_unavailable(root / "events", root / "per_cpu")
    _row(
        rows,
        "stream",
        "raw (per_cpu/cpuN/trace_pipe_raw, decoded by ftop; --text for trace_pipe)"
        if why is None
        else f"text (trace_pipe): raw not possible: {why}",
    )
    lost = []
    for cpu in list_dir(tfs, "per_cpu"):
        vals = parse_cpu_stats(tfs.read_or(f"per_cpu/{cpu}/stats") or "")
        lost.append(
            f"{cpu}: overrun {vals.get('overrun', '?')}, dropped {vals.get('dropped events', '?')}"
        )
    _row(rows, "loss so far", "; ".join(lost))
    stale = journal_mod.stale_journals()
    live = journal_mod.live_journals()
    _row(rows, "journals", f"{len(stale)} stale (run `ftop restore`), {len(live)} of running ftops")
    unsafe = journal_mod.private_refusal(journal_mod.DEFAULT_DIR)
    _row(
        rows,
        "journal folder",
        str(journal_mod.DEFAULT_DIR) + (f": NOT USABLE: {unsafe}" if unsafe else ""),
    )
    _print_table(rows)
    return rc


def _who() -> str:
    """This user, as access decides it (not root is no refusal: tracefs modes decide)."""
    import grp
    import pwd

    uid = os.geteuid()
    if uid == 0:
        return "root"
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    groups = []
    for gid in os.getgroups() or [os.getegid()]:
        try:
            groups.append(f"{grp.getgrgid(gid).gr_name}({gid})")
        except KeyError:
            groups.append(str(gid))
    return (
        f"{name} (uid {uid}, not root; groups {' '.join(groups)}): "
        "ftop does what tracefs's modes allow this user"
    )


def _print_table(rows: List[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        # Values quote process names and tracefs contents: one line each, escaped.
        _say(f"{k:<{width}}  {v.replace(chr(10), ' ')}")


# -- stream -------------------------------------------------------------------------
