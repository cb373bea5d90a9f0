"""Typed errors that carry the kernel's own refusal in words a person understands."""

from __future__ import annotations

import errno as _errno
from typing import List, Optional, Sequence


class FtopError(Exception):
    """Base of every error ftop reports to a user; ``str()`` is the sentence to show."""


class ConfigError(FtopError):
    """The user asked for something malformed; nothing was changed."""


class TracefsNotFound(FtopError):
    """No tracefs mount could be found or made."""


class JournalError(FtopError):
    """The restore journal could not be written or read."""


class TracefsError(FtopError):
    """A read or write on a tracefs file that the kernel refused.

    Attributes:
        path: the file, relative to the tracefs root (``events/sched/enable``).
        op: ``"read"``, ``"write"`` or ``"append"``.
        value: what was written, if anything.
        errno: the kernel's errno.
        error_log: the lines this write added to ``error_log`` (caret line included).
        reason: one sentence on what the errno means here.
    """

    def __init__(
        self,
        path: str,
        op: str,
        err: int,
        reason: str,
        value: Optional[str] = None,
        error_log: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.op = op
        self.errno = err
        self.reason = reason
        self.value = value
        self.error_log = list(error_log)
        # Set when this refusal ended a transaction (see transaction.apply).
        self.failed: Optional[object] = None
        self.rolled_back = False
        self.undo_errors: List[str] = []
        super().__init__(self._format())

    def __str__(self) -> str:
        text = self._format()
        if self.rolled_back:
            text += "\n(nothing was changed: the earlier steps were undone)"
        if self.undo_errors:
            text += "\nundo failed for: " + "; ".join(self.undo_errors)
        return text

    @property
    def errno_name(self) -> str:
        return _errno.errorcode.get(self.errno, str(self.errno))

    def _format(self) -> str:
        if self.op == "read":
            what = f"reading {self.path}"
        else:
            shown = (self.value or "").strip()
            if len(shown) > 60:
                shown = shown[:57] + "..."
            arrow = ">>" if self.op == "append" else ">"
            what = f"'{shown}' {arrow} {self.path}"
        text = f"{what}: {self.errno_name}: {self.reason}"
        if self.error_log:
            text += "\n" + "\n".join(self.error_log)
        return text


class PermissionRefused(TracefsError):
    """EPERM/EACCES: not root, kernel lockdown, or a policy forbids it."""


class Busy(TracefsError):
    """EBUSY: something holds the resource (a trace_pipe reader, an enabled probe)."""


class InvalidArgument(TracefsError):
    """EINVAL: the kernel did not accept the value (see ``error_log``)."""


class NotSupported(TracefsError):
    """ENODEV/ENOENT: the feature is not built into this kernel."""


class OutOfSpace(TracefsError):
    """ENOMEM/ENOSPC: the kernel ran out of memory or room for the request."""


_CLASSES = {
    _errno.EPERM: PermissionRefused,
    _errno.EACCES: PermissionRefused,
    _errno.EBUSY: Busy,
    _errno.EINVAL: InvalidArgument,
    _errno.ENODEV: NotSupported,
    _errno.ENOENT: NotSupported,
    _errno.ENOMEM: OutOfSpace,
    _errno.ENOSPC: OutOfSpace,
}


def error_class(err: int) -> type[TracefsError]:
    """The TracefsError subclass for an errno."""
    return _CLASSES.get(err, TracefsError)
