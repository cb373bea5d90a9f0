"""`ftop stream`: the kernel's text on stdout (raw pages decoded, or trace_pipe), headless."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Sequence, TextIO

from ftop.cli import _err, _say, config_from

if TYPE_CHECKING:
    from ftop.engine.control.config import TraceConfig
    from ftop.engine.control.session import Session


def _tell_slow_writes() -> None:
    """A write the kernel takes long over (a tracer switch patching every call site)
    is named on stderr while it lasts: the command is waiting, not hung."""
    from ftop.engine.control import tracefs

    def say(what: str, seconds: float) -> None:
        _say(f"ftop: {tracefs.slow_note(what, seconds)}", sys.stderr)

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
    from ftop.engine.control.recovery_text import recovery_notes
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
    sess.read_only = ns.readonly
    if ns.text:
        sess.stream_mode = "text"
    elif ns.raw:
        sess.stream_mode = "raw"
    for note in [] if sess.read_only else recovery_notes(sess.recover()):
        _say(f"ftop: {note}", sys.stderr)
    try:
        sess.validate(cfg)
    except (ConfigError, FtopError) as e:
        return _err(str(e))
    # After the configuration's check: what this user may not write, said once.
    _access_notes(sess)
    if not cfg.is_empty() or cfg.instance:
        for note in sess.detect_foreign():
            _say(f"ftop: note: already set before us: {note} (left alone)", sys.stderr)
    if _spools(ns, sess, cfg):
        return _stream_spooled(ns, sess, cfg)
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
        _restore(sess)
    if ns.json:
        _say(
            f"ftop: {printer.lines} lines, {printer.unparsed} not parsed (kept raw)",
            file=sys.stderr,
        )
    return 0


def _access_notes(sess: Session) -> None:
    """What this user may not write here, and unnamed functions, said once at start
    (a tracefs mounted with gid=: ftop goes as far as the modes allow)."""
    from ftop.engine.control.access import hidden_symbols

    note = sess.access_note()
    if note is not None:
        _say(f"ftop: note: {note}", sys.stderr)
    if sess.stream_mode != "text":
        hidden = hidden_symbols(sess.top.path, access=sess.access)
        if hidden is not None:
            _say(f"ftop: note: {hidden}", sys.stderr)


def _restore(sess: Session) -> None:
    report = sess.restore()
    if report is not None and not report.ok:
        for err in report.errors:
            _say(f"ftop: restore: {err}", sys.stderr)


def _spools(ns: argparse.Namespace, sess: Session, cfg: TraceConfig) -> bool:
    """The raw path with a renderer process behind a spool (ftop.stream_spool):
    unless --text, --spool-size 0, or a buffer whose pages cannot be read raw as the
    configuration will leave it (then the session's own path says why, reads text)."""
    from ftop.engine.raw.stream import raw_unavailable

    if ns.text or not getattr(ns, "spool_size", 0):
        return False
    # latency-format's columns need the kernel's text: set by -O, or already on in
    # the instance -B names.
    if "latency-format" in cfg.options:
        return False
    where = sess.top.path / "instances" / cfg.instance if cfg.instance else sess.tfs.path
    if not (where / "per_cpu").is_dir():
        where = sess.tfs.path  # an instance -B will make: it starts as the top level's
    return raw_unavailable(sess.top.path / "events", where / "per_cpu") is None


def _stream_spooled(ns: argparse.Namespace, sess: Session, cfg: TraceConfig) -> int:
    from ftop.engine.errors import ConfigError, FtopError
    from ftop.stream_spool import SpooledStream

    spooled = SpooledStream(
        sess,
        as_json=ns.json,
        count=ns.count,
        max_bytes=ns.spool_size << 20,
        base=Path(ns.spool_dir) if getattr(ns, "spool_dir", None) else None,
    )
    rc = 0
    hung_up = False
    try:
        try:
            if not cfg.is_empty() or cfg.instance:
                sess.apply_config(cfg)
            spooled.start()
        except (ConfigError, FtopError) as e:
            return _err(str(e))
        except OSError as e:
            return _err(f"cannot start the stream: {e.strerror or e}")
        sess.leave_self_out(also=spooled.pids)
        deadline = time.monotonic() + ns.duration if ns.duration else None
        polled = time.monotonic()
        readers: List[str] = []
        while spooled.running:
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.1)
            for note in spooled.notes():
                _say(f"ftop: {note}", sys.stderr)
            if time.monotonic() - polled >= 1.0:
                polled = time.monotonic()
                readers = _tell_others(sess, readers)
        if spooled.error is not None and spooled.child is not None:
            if spooled.child.poll() is None:  # not the renderer's own stop (--count)
                _say(f"ftop: {spooled.error}", sys.stderr)
                rc = 1
    except KeyboardInterrupt:
        pass
    except SystemExit:
        hung_up = True  # SIGTERM, SIGHUP: no one to print for
        raise
    finally:
        spooled.stop_reading()
        try:
            _restore(sess)  # first: nothing the renderer does can hold it up
        finally:
            if hung_up:
                spooled.kill()
            else:
                spooled.release()
    return spooled.finish() or rc


# -- record ------------------------------------------------------------------------
