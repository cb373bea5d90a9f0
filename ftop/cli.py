"""The `ftop` command line: the TUI by default, and headless doctor/stream/restore/reset."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, TextIO

from ftop import __version__

if TYPE_CHECKING:
    from ftop.engine.control.session import Session

SUBCOMMANDS = ("doctor", "stream", "record", "restore", "reset")


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
    return TraceConfig(
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


def _tell_slow_writes() -> None:
    """A write the kernel takes long over (a tracer switch patching every call site)
    is named on stderr while it lasts: the command is waiting, not hung."""
    from ftop.engine.control import tracefs

    def say(what: str, seconds: float) -> None:
        _say(
            f"ftop: waiting for the kernel ({seconds:.0f} s): {what}{tracefs.slow_hint(what)}",
            sys.stderr,
        )

    tracefs.SLOW.on_slow = say


def _tell_others(sess: Session, told: List[str]) -> List[str]:
    """On stderr: what others did since the last poll (each once); the readers now."""
    st = sess.poll()
    for note in st.outside_changes:
        _say(f"ftop: {note}", sys.stderr)
    if st.instance_gone:
        _say("ftop: the instance was removed by someone else", sys.stderr)
    new = [r for r in st.other_readers if r not in told]
    if new:
        _say(
            f"ftop: also reading this buffer (each read takes events from the others): "
            f"{', '.join(new)}",
            sys.stderr,
        )
    return st.other_readers


def _say(msg: str, file: Optional[TextIO] = None) -> None:
    """A message for the user. Messages quote names, paths and kernel text that
    anyone may have chosen: shown with control characters escaped (engine.printable)."""
    from ftop.engine.printable import printable

    print(printable(msg, keep_newlines=True), file=file if file is not None else sys.stdout)


def _err(msg: str) -> int:
    _say(f"ftop: {msg}", sys.stderr)
    return 2


# -- doctor -------------------------------------------------------------------------


def _row(rows: List[tuple[str, str]], key: str, value: Any) -> None:
    rows.append((key, str(value)))


def cmd_doctor(ns: argparse.Namespace) -> int:
    from ftop.engine.control import journal as journal_mod
    from ftop.engine.control.capabilities import probe
    from ftop.engine.control.session import _describe_foreign
    from ftop.engine.control.state import snapshot
    from ftop.engine.control.tracefs import Tracefs, find_tracefs, holders, list_dir, lockdown_mode
    from ftop.engine.errors import TracefsNotFound
    from ftop.engine.stream.stats import parse_cpu_stats

    rows: List[tuple[str, str]] = []
    _row(rows, "kernel", f"{platform.release()} ({platform.machine()}, {os.cpu_count()} CPUs)")
    _row(rows, "root", "yes" if os.geteuid() == 0 else "no: run with sudo")
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
    _row(rows, "tracefs", str(root))
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
    _print_table(rows)
    return rc


def _print_table(rows: List[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        # Values quote process names and tracefs contents: one line each, escaped.
        _say(f"{k:<{width}}  {v.replace(chr(10), ' ')}")


# -- stream -------------------------------------------------------------------------


class _Printer:
    """Writes batches to stdout: raw lines (fast path) or JSON records."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        from ftop.engine.printable import printable
        from ftop.engine.stream.parse import parse_line

        self.out = out
        self.as_json = as_json
        # To a terminal, text from the traced system is shown with control characters
        # escaped; to a pipe or a file it passes unchanged, as `cat` does. JSON escapes
        # them itself.
        self.tty = _isatty(out)
        self.printable = printable
        self.parse_line = parse_line
        self.lines = 0
        self.unparsed = 0
        self.broken = threading.Event()

    def __call__(self, lines: Sequence[str]) -> None:
        if self.broken.is_set():
            return
        try:
            if self.as_json:
                parts = []
                for ln in lines:
                    rec = self.parse_line(ln)
                    if rec.kind == "other" and ln.strip():
                        self.unparsed += 1
                    if rec.kind == "header":
                        continue
                    parts.append(json.dumps(rec.to_json()))
                if parts:
                    self.out.write("\n".join(parts) + "\n")
            else:
                text = "\n".join(lines) + "\n"
                self.out.write(self.printable(text, keep_newlines=True) if self.tty else text)
            self.lines += len(lines)
            self.out.flush()
        except BrokenPipeError:
            self.broken.set()

    def raw(self, data: bytes) -> None:
        """The fast path: the kernel's text, copied as it came."""
        if self.broken.is_set():
            return
        try:
            if self.tty:
                text = data.decode("utf-8", "surrogateescape")
                data = self.printable(text, keep_newlines=True).encode("utf-8")
            self.out.buffer.write(data)
            self.out.buffer.flush()
            self.lines += data.count(b"\n")
        except BrokenPipeError:
            self.broken.set()

    def count_unparsed(self, lines: Sequence[str]) -> None:
        for ln in lines:
            if ln.strip() and self.parse_line(ln).kind == "other":
                self.unparsed += 1


def _isatty(f: Any) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _stream_file(ns: argparse.Namespace, printer: _Printer) -> int:
    from ftop.engine.stream.offline import (
        SNIFF_BYTES,
        TRACE_DAT_MAGIC,
        NotFtraceText,
        open_trace_file,
        sniff,
    )

    name = "standard input" if ns.input == "-" else ns.input
    src = sys.stdin.buffer if ns.input == "-" else open_trace_file(ns.input)
    try:
        head = src.read(SNIFF_BYTES)
        try:
            # A binary file would go to the terminal as it is: refused unseen.
            sniff(head, name)
        except NotFtraceText as e:
            return _err(str(e))
        if head.startswith(TRACE_DAT_MAGIC):
            if src is sys.stdin.buffer:
                return _err("a trace.dat is read from a file, not standard input")
            return _stream_tracedat(ns.input, printer)
        while True:
            chunk = head + src.read(1 << 20) if head else src.read(1 << 20)
            head = b""
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                chunk += src.readline()  # whole lines per batch
            lines = chunk.decode("utf-8", "replace").splitlines()
            if printer.as_json:
                printer(lines)
            else:
                # The file's bytes, unchanged (escaped only for a terminal).
                printer.count_unparsed(lines)
                printer.raw(chunk)
            if printer.broken.is_set():
                break
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    _say(f"ftop: {printer.lines} lines, {printer.unparsed} not parsed (kept raw)", sys.stderr)
    return 0


def _stream_tracedat(path: str, printer: _Printer) -> int:
    """trace-cmd's file as the kernel's text (or JSON records), in time order."""
    from ftop.engine.tracedat.common import TraceDatError
    from ftop.engine.tracedat.read import TraceDat
    from ftop.engine.tracedat.text import source_of, text_batches

    try:
        with TraceDat.open(path) as td:
            src = source_of(td)
            for lines in text_batches(td, source=src):
                if printer.as_json:
                    printer(lines)
                else:
                    printer.raw(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
                if printer.broken.is_set():
                    break
    except TraceDatError as e:
        return _err(str(e))
    _say(f"ftop: {printer.lines} lines from {path} (trace.dat v{td.version})", sys.stderr)
    return 0


def cmd_stream(ns: argparse.Namespace) -> int:
    from ftop.engine.control.session import Session
    from ftop.engine.errors import ConfigError, FtopError

    printer = _Printer(sys.stdout, ns.json)
    if ns.input:
        try:
            return _stream_file(ns, printer)
        except OSError as e:
            return _err(f"cannot read {ns.input}: {e.strerror}")
    try:
        cfg = config_from(ns)
        sess = Session.open(ns.tracefs, keep=ns.keep)
    except (ConfigError, FtopError) as e:
        return _err(str(e))
    sess.install_signal_handlers()
    sess.trace_self = ns.trace_self
    if ns.text:
        sess.stream_mode = "text"
    elif ns.raw:
        sess.stream_mode = "raw"
    for rec in sess.recover():
        _say(
            f"ftop: restored the state left by ftop pid {rec.journal.pid} "
            f"({len(rec.report.writes)} writes)",
            file=sys.stderr,
        )
        for err in rec.report.errors:
            _say(f"ftop: could not put back: {err} (journal kept)", sys.stderr)
    try:
        sess.validate(cfg)
    except (ConfigError, FtopError) as e:
        return _err(str(e))
    if not cfg.is_empty() or cfg.instance:
        for note in sess.detect_foreign():
            _say(f"ftop: note: already set before us: {note} (left alone)", sys.stderr)
    done = threading.Event()
    # Default SIGINT raises KeyboardInterrupt in the main thread: restore runs in finally.
    try:
        try:
            if not cfg.is_empty() or cfg.instance:
                sess.apply_config(cfg)
        except (ConfigError, FtopError) as e:
            sess.restore()
            return _err(str(e))
        sess.keep_ring = False
        if ns.json or ns.count:
            sess.listeners.append(printer)
        else:
            sess.byte_listeners.append(printer.raw)
        if ns.count:
            limit = ns.count

            def stop_after(lines: Sequence[str]) -> None:
                if printer.lines >= limit:
                    done.set()

            sess.listeners.append(stop_after)
        sess.start_stream()
        if sess.stream_kind == "text" and sess.raw_why not in (None, "--text"):
            _say(f"ftop: reading trace_pipe (text): {sess.raw_why}", sys.stderr)
        deadline = time.monotonic() + ns.duration if ns.duration else None
        polled = time.monotonic()
        readers: List[str] = []
        while not done.is_set() and not printer.broken.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            done.wait(0.1)
            switched = sess.check_stream()
            if switched:
                _say(f"ftop: {switched}", sys.stderr)
            if time.monotonic() - polled >= 1.0:
                polled = time.monotonic()
                readers = _tell_others(sess, readers)
            if sess.reader is not None and sess.reader.error is not None:
                return _err(f"trace_pipe: {sess.reader.error}")
    except KeyboardInterrupt:
        pass
    finally:
        report = sess.restore()
        if report is not None and not report.ok:
            for err in report.errors:
                _say(f"ftop: restore: {err}", sys.stderr)
    if ns.json:
        _say(
            f"ftop: {printer.lines} lines, {printer.unparsed} not parsed (kept raw)",
            file=sys.stderr,
        )
    return 0


# -- record ------------------------------------------------------------------------


def cmd_record(ns: argparse.Namespace) -> int:
    """trace-cmd record's job: apply the configuration, copy the raw pages into a
    trace.dat until the duration ends, the command exits or Ctrl-C, restore."""
    import subprocess

    from ftop.engine.control.session import Session
    from ftop.engine.errors import ConfigError, FtopError
    from ftop.engine.tracedat.common import TraceDatError
    from ftop.engine.tracedat.record import Recorder

    if ns.file_version == 6 and ns.compression not in (None, "none"):
        return _err("only a version 7 trace.dat can be compressed (--file-version 7)")
    out = os.path.abspath(ns.output)
    if not os.path.isdir(os.path.dirname(out)):
        return _err(f"cannot write {ns.output}: no such folder")
    try:
        cfg = config_from(ns)
        sess = Session.open(ns.tracefs, keep=ns.keep)
    except (ConfigError, FtopError) as e:
        return _err(str(e))
    sess.install_signal_handlers()
    for rec in sess.recover():
        _say(f"ftop: restored the state left by ftop pid {rec.journal.pid}", sys.stderr)
    try:
        sess.validate(cfg)
    except (ConfigError, FtopError) as e:
        return _err(str(e))
    recorder: Optional[Recorder] = None
    child: Optional[subprocess.Popen[bytes]] = None
    rc = 0
    try:
        try:
            if not cfg.is_empty() or cfg.instance:
                sess.apply_config(cfg)
            recorder = Recorder(
                sess.top.path,
                sess.tfs.path,
                out,
                version=ns.file_version,
                compression=None if ns.compression in (None, "none") else ns.compression,
            )
            recorder.start()
            sess.trace_self = ns.trace_self
            sess.leave_self_out()
        except (ConfigError, FtopError) as e:
            return _err(str(e))
        except OSError as e:
            return _err(f"trace_pipe_raw: {e.strerror or e}")
        _say(f"ftop: recording into {ns.output} (Ctrl-C stops)", sys.stderr)
        if ns.command:
            try:
                child = subprocess.Popen(ns.command)
            except OSError as e:
                return _err(f"cannot run {ns.command[0]}: {e.strerror or e}")
        deadline = time.monotonic() + ns.duration if ns.duration else None
        while True:
            if child is not None and child.poll() is not None:
                rc = child.returncode
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if recorder.error is not None:
                break
            time.sleep(0.1)
    except KeyboardInterrupt:
        if child is not None:
            child.wait()
    finally:
        result = None
        if recorder is not None:
            try:
                result = recorder.stop()
            except TraceDatError as e:
                _say(f"ftop: {e} (nothing written)", sys.stderr)
                rc = rc or 1
        report = sess.restore()
        if report is not None and not report.ok:
            for err in report.errors:
                _say(f"ftop: restore: {err}", sys.stderr)
    if result is not None:
        pages = sum(result.pages.values())
        lost = result.lost
        _say(
            f"ftop: wrote {ns.output}: {pages} pages ({result.bytes / 2**20:.1f} MiB) from "
            f"{len(result.pages)} CPUs; lost while recording: "
            + ", ".join(f"cpu{c} {n}" for c, n in sorted(lost.items())),
            sys.stderr,
        )
    return rc


# -- restore / reset --------------------------------------------------------------


def cmd_restore(ns: argparse.Namespace) -> int:
    from ftop.engine.control import journal as journal_mod
    from ftop.engine.control.session import restore_journal

    stale = journal_mod.stale_journals()
    live = journal_mod.live_journals()
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
    p.add_argument("--version", action="version", version=f"ftop {__version__}")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    sub = args[0] if args and args[0] in SUBCOMMANDS else None
    parser = build_parser(sub)
    ns = parser.parse_args(args[1:] if sub else args)
    if sub is not None:
        _tell_slow_writes()
    if sub == "doctor":
        return cmd_doctor(ns)
    if sub == "stream":
        return cmd_stream(ns)
    if sub == "record":
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
