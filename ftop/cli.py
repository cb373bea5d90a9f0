"""The `ftop` command line: the TUI by default, and headless doctor/stream/restore/reset."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, List, Optional, TextIO

from ftop import __version__

if TYPE_CHECKING:
    pass

SUBCOMMANDS = ("doctor", "stream", "record", "restore", "reset")
# `ftop stream`'s bound on pages read and not printed yet (ftop.stream_spool).
DEFAULT_SPOOL_MIB = 2048


class _EventAction(argparse.Action):
    """`-e` appends an event; `-f` attaches to the `-e` before it, as in trace-cmd."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        ns: argparse.Namespace,
        values: Any,
        option_string: Optional[str] = None,
    ) -> None:
        from ftop.engine.control.config import EventSpec
        from ftop.engine.errors import ConfigError

        events = getattr(ns, "events", None) or []
        if option_string == "-f":
            if not events:
                parser.error("-f must follow the -e it filters")
            if events[-1].filter is not None:
                parser.error(f"-e {events[-1]} already has a filter")
            events[-1].filter = values
        else:
            try:
                events.append(EventSpec.parse(values))
            except ConfigError as e:
                parser.error(str(e))
        ns.events = events


def add_config_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("tracing configuration (trace-cmd's flags)")
    g.add_argument(
        "-p", dest="tracer", metavar="TRACER", help="tracer (function, function_graph, nop…)"
    )
    g.add_argument(
        "-e",
        dest="events",
        action=_EventAction,
        metavar="SYSTEM[:EVENT]",
        help="enable an event or a whole system (repeatable)",
    )
    g.add_argument(
        "-f",
        dest="events",
        action=_EventAction,
        metavar="FILTER",
        help="filter for the preceding -e (e.g. 'prev_pid == 1')",
    )
    g.add_argument(
        "-l",
        dest="filter_functions",
        action="append",
        default=[],
        metavar="FUNC",
        help="trace only these functions (set_ftrace_filter; globs, :mod:)",
    )
    g.add_argument(
        "-n",
        dest="notrace_functions",
        action="append",
        default=[],
        metavar="FUNC",
        help="do not trace these functions (set_ftrace_notrace)",
    )
    g.add_argument(
        "-g",
        dest="graph_functions",
        action="append",
        default=[],
        metavar="FUNC",
        help="graph only these functions (set_graph_function)",
    )
    g.add_argument(
        "-P", dest="pids", action="append", default=[], metavar="PID", help="trace only this pid"
    )
    g.add_argument(
        "-B", dest="instance", metavar="INSTANCE", help="work in this instance (created if needed)"
    )
    g.add_argument("-b", dest="buffer_size_kb", metavar="KB", help="per-CPU buffer size in KiB")
    g.add_argument("-C", dest="clock", metavar="CLOCK", help="trace clock (local, global, mono…)")
    g.add_argument(
        "-O",
        dest="options",
        action="append",
        default=[],
        metavar="OPTION",
        help="set an option (noOPTION clears it)",
    )
    p.add_argument("--tracefs", metavar="PATH", help="tracefs mount to use instead of finding it")
    p.add_argument("--keep", action="store_true", help="leave the configuration in place on exit")
    p.add_argument(
        "--trace-self",
        action="store_true",
        help="trace ftop's own threads too (left out by default, as trace-cmd does)",
    )
    p.add_argument(
        "--readonly",
        action="store_true",
        help="write nothing to tracefs, not even a journal (reading trace_pipe still "
        "consumes what it reads, as any reader does)",
    )


def config_from(ns: argparse.Namespace) -> Any:
    from ftop.engine.control.config import TraceConfig
    from ftop.engine.errors import ConfigError

    pids = []
    for p in ns.pids:
        if not str(p).isdigit():
            raise ConfigError(f"-P {p}: not a process id")
        pids.append(int(p))
    if ns.instance:
        from ftop.engine.control.config import validate_instance_name

        validate_instance_name(ns.instance)
    kb = None
    if ns.buffer_size_kb is not None:
        if not str(ns.buffer_size_kb).isdigit():
            raise ConfigError(f"-b {ns.buffer_size_kb}: the buffer size is a number of KiB")
        kb = int(ns.buffer_size_kb)
    cfg = TraceConfig(
        tracer=ns.tracer,
        events=list(ns.events or []),
        filter_functions=ns.filter_functions,
        notrace_functions=ns.notrace_functions,
        graph_functions=ns.graph_functions,
        pids=pids,
        instance=ns.instance,
        buffer_size_kb=kb,
        clock=ns.clock,
        options=ns.options,
    )
    if getattr(ns, "readonly", False) and not cfg.is_empty():
        raise ConfigError(
            "--readonly: the other flags given change tracing (a tracer, events, filters, "
            "options...); drop them, or drop --readonly"
        )
    return cfg


def _say(msg: str, file: Optional[TextIO] = None) -> None:
    """A message for the user. Messages quote names, paths and kernel text that
    anyone may have chosen: shown with control characters escaped (engine.printable)."""
    from ftop.engine.printable import printable

    print(printable(msg, keep_newlines=True), file=file if file is not None else sys.stdout)


def _err(msg: str) -> int:
    _say(f"ftop: {msg}", sys.stderr)
    return 2


# -- doctor -------------------------------------------------------------------------


def cmd_restore(ns: argparse.Namespace) -> int:
    from ftop.engine.control import journal as journal_mod
    from ftop.engine.control.session import restore_journal

    journals, corrupt = journal_mod.scan_journals(set_aside=True)
    for bad in corrupt:
        _say(f"ftop: {bad.message}", sys.stderr)
    stale = [j for j in journals if not j.alive()]
    live = [j for j in journals if j.alive() and j.pid != os.getpid()]
    for j in live:
        _say(f"ftop: pid {j.pid} is still running; it restores its own state on exit (left alone)")
    if not stale:
        _say("ftop: nothing to restore: no journal left by a dead ftop")
        return 0
    rc = 0
    for j in stale:
        report = restore_journal(j)
        _say(f"ftop: restored the state saved by ftop pid {j.pid} ({len(report.writes)} writes)")
        for e in report.errors:
            _say(f"ftop: restore: {e}", sys.stderr)
            rc = 1
    return rc


def cmd_reset(ns: argparse.Namespace) -> int:
    from ftop.engine.control import journal as journal_mod
    from ftop.engine.control.session import reset_to_defaults
    from ftop.engine.control.tracefs import Tracefs, find_tracefs
    from ftop.engine.errors import FtopError

    try:
        tfs = Tracefs(find_tracefs(ns.tracefs), ns.instance)
    except FtopError as e:
        return _err(str(e))
    if not ns.yes:
        if not sys.stdin.isatty():
            return _err("reset discards everyone's tracing settings; pass --yes to confirm")
        answer = input(
            f"Reset {tfs.path} to kernel defaults, discarding all tracing settings? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            _say("ftop: nothing changed")
            return 1
    report = reset_to_defaults(tfs)
    for err in report.errors:
        _say(f"ftop: reset: {err}", sys.stderr)
    _say(f"ftop: reset {tfs.path} ({len(report.writes)} writes)")
    if ns.instance is None:
        # A dead ftop's journal (one whose restore the kernel refused in part) would
        # otherwise put its old state back at the next run, undoing this reset.
        for j in journal_mod.stale_journals():
            if j.tracefs == str(tfs.root):
                j.remove()
                _say(f"ftop: dropped the journal left by ftop pid {j.pid}")
    return 0 if report.ok else 1


# -- entry ----------------------------------------------------------------------------


def build_parser(sub: Optional[str]) -> argparse.ArgumentParser:
    if sub == "doctor":
        p = argparse.ArgumentParser(
            prog="ftop doctor", description="what decides what ftop can do here"
        )
        p.add_argument("--tracefs", metavar="PATH")
        return p
    if sub == "stream":
        p = argparse.ArgumentParser(
            prog="ftop stream",
            description="apply a configuration, stream trace_pipe to stdout, restore on exit",
        )
        add_config_flags(p)
        p.add_argument("--json", action="store_true", help="one JSON record per line")
        p.add_argument("--input", metavar="FILE", help="read a saved ftrace text (- for stdin)")
        p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
        p.add_argument("--count", type=int, metavar="N", help="stop after N lines")
        p.add_argument(
            "--text",
            action="store_true",
            help="read trace_pipe's text instead of the raw pages (trace_pipe_raw)",
        )
        p.add_argument(
            "--raw",
            action="store_true",
            help="read the raw pages even when decoding falls behind (no switch to text)",
        )
        p.add_argument(
            "--spool-size",
            type=int,
            default=DEFAULT_SPOOL_MIB,
            metavar="MIB",
            help="pages read and not printed yet, at most (default %(default)s MiB, on "
            "disk in --spool-dir); 0: render on the reader's thread, no spool",
        )
        p.add_argument(
            "--spool-dir",
            metavar="DIR",
            help="where the spool goes (default $TMPDIR, else /var/tmp)",
        )
        return p
    if sub == "record":
        p = argparse.ArgumentParser(
            prog="ftop record",
            description="apply a configuration, record the raw pages into a trace.dat "
            "(trace-cmd's format), restore on exit",
        )
        add_config_flags(p)
        p.add_argument("-o", dest="output", default="trace.dat", metavar="FILE")
        p.add_argument("--file-version", type=int, choices=(6, 7), default=6)
        p.add_argument("--compression", choices=("none", "zlib", "zstd"), default=None)
        p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
        p.add_argument("command", nargs=argparse.REMAINDER, help="-- a command to run and record")
        return p
    if sub == "restore":
        return argparse.ArgumentParser(
            prog="ftop restore", description="restore the state left by an ftop that died"
        )
    if sub == "reset":
        p = argparse.ArgumentParser(
            prog="ftop reset", description="reset tracefs to kernel defaults (like trace-cmd reset)"
        )
        p.add_argument("--yes", action="store_true", help="do not ask")
        p.add_argument("--tracefs", metavar="PATH")
        p.add_argument("-B", dest="instance", metavar="INSTANCE")
        return p
    p = argparse.ArgumentParser(
        prog="ftop",
        description="full-screen dashboard for the kernel's ftrace. "
        "Subcommands: doctor, stream, record, restore, reset.",
    )
    add_config_flags(p)
    p.add_argument("file", nargs="?", help="open a saved ftrace text instead of the live trace")
    p.add_argument("--input", metavar="FILE", help="same as FILE")
    p.add_argument("--demo", action="store_true", help="replay real captures; no root needed")
    p.add_argument(
        "--text", action="store_true", help="read trace_pipe's text instead of the raw pages"
    )
    p.add_argument(
        "--theme", metavar="NAME", help="colour theme (dark, light, high-contrast, mono)"
    )
    p.add_argument(
        "--ring",
        type=_ring_lines,
        metavar="LINES",
        help=f"lines the live view keeps (default {RING_LINES_DEFAULT:,}; the oldest roll out)",
    )
    p.add_argument("--version", action="version", version=f"ftop {__version__}")
    return p


RING_LINES_DEFAULT = 1_000_000
RING_LINES_RANGE = (1_000, 50_000_000)


def _ring_lines(text: str) -> int:
    """--ring's value: a whole number of lines in RING_LINES_RANGE (memory grows with it:
    about 120 MB a million lines)."""
    lo, hi = RING_LINES_RANGE
    try:
        n = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of lines") from None
    if not lo <= n <= hi:
        raise argparse.ArgumentTypeError(f"{n:,} lines: give {lo:,} to {hi:,}")
    return n


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    sub = args[0] if args and args[0] in SUBCOMMANDS else None
    parser = build_parser(sub)
    ns = parser.parse_args(args[1:] if sub else args)
    if sub is not None:
        from ftop.stream_cmd import _tell_slow_writes

        _tell_slow_writes()
    if sub == "doctor":
        from ftop.doctor import cmd_doctor

        return cmd_doctor(ns)
    if sub == "stream":
        from ftop.stream_cmd import cmd_stream

        return cmd_stream(ns)
    if sub == "record":
        from ftop.record_cmd import cmd_record

        if ns.command and ns.command[0] == "--":
            ns.command = ns.command[1:]
        return cmd_record(ns)
    if sub == "restore":
        return cmd_restore(ns)
    if sub == "reset":
        return cmd_reset(ns)
    from ftop.engine.errors import ConfigError

    try:
        cfg = config_from(ns)
    except ConfigError as e:
        return _err(str(e))
    from ftop.tui.app import run

    return run(ns, cfg)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    raise SystemExit(main())
