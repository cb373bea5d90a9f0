"""`ftop record`: the raw pages into a trace-cmd trace.dat, as `trace-cmd record` would."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Optional

from ftop.cli import _err, _say, config_from

if TYPE_CHECKING:
    pass


def cmd_record(ns: argparse.Namespace) -> int:
    """trace-cmd record's job: apply the configuration, copy the raw pages into a
    trace.dat until the duration ends, the command exits or Ctrl-C, restore."""
    import subprocess

    from ftop.engine.control.recovery_text import recovery_notes
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
    for note in recovery_notes(sess.recover()):
        _say(f"ftop: {note}", sys.stderr)
    try:
        sess.validate(cfg)
    except (ConfigError, FtopError) as e:
        return _err(str(e))
    # After the configuration's check: what this user may not write, said once.
    barred = sess.access_note()
    if barred is not None:
        _say(f"ftop: note: {barred}", sys.stderr)
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
