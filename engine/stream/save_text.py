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
from typing import Optional, Sequence

from ftop.engine.errors import FtopError
from ftop.engine.stream.lineview import save_lines
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
        with os.fdopen(fd, "w") as out:
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
