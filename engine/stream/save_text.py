"""Saving the ring as ftrace text, all or nothing.

The file is written under a hidden temporary name in the target's own folder
and renamed over the target only once complete and fsynced: a full disk or a
read-only folder leaves the earlier file (or nothing) behind, never half a
trace, and the ring is only read. The error is an FtopError whose sentence is
one line naming the file and the errno's text.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterable, Optional, Sequence

from ftop.engine.errors import FtopError
from ftop.engine.stream.lineview import ftrace_header, save_lines
from ftop.engine.stream.ring import Ring


def save_text(
    path: str,
    ring: Ring,
    seqs: Optional[Sequence[int]] = None,
    tracer: str = "nop",
    cpus: int = 1,
) -> int:
    """Write the ring (or the lines ``seqs`` of a filtered view) to ``path``.

    Returns:
        How many lines were written.

    Raises:
        FtopError: "cannot save PATH: No space left on device" and the like; the
            target is then as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
            n = save_lines(out, ring, seqs=seqs, tracer=tracer, cpus=cpus)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes it 0600; a saved trace is for reading, as trace.dat's is.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = ""
    except OSError as e:
        raise FtopError(f"cannot save {path}: {e.strerror or e}") from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return n


def save_text_batches(
    path: str, batches: Iterable[Sequence[str]], tracer: str = "nop", cpus: int = 1
) -> int:
    """Write lines that come in batches (rendered as they are written: the raw pages of
    a sampled view) to ``path``, all or nothing as :func:`save_text`.

    The header counts the entries, known only at the end: the body goes to a first
    temporary file, then the header and the body to the second, which is renamed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    body = tmp = ""
    n = 0
    try:
        fd, body = tempfile.mkstemp(prefix=f".{base}.", suffix=".body", dir=folder)
        with os.fdopen(fd, "w+", encoding="utf-8", errors="surrogateescape") as b:
            for lines in batches:
                if lines:
                    b.write("\n".join(lines) + "\n")
                    n += len(lines)
            b.seek(0)
            fd2, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
            with os.fdopen(fd2, "w", encoding="utf-8", errors="surrogateescape") as out:
                out.write(ftrace_header(tracer, n, n, cpus))
                while True:
                    chunk = b.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = ""
    except OSError as e:
        raise FtopError(f"cannot save {path}: {e.strerror or e}") from None
    finally:
        for leftover in (tmp, body):
            if leftover:
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
    return n
