"""Trace instances (``instances/<name>``): list them, work in one, remove one.

An instance is a separate ring buffer with its own tracer, events, filters
and options (mkdir creates it, rmdir removes it). Creating goes through
:meth:`Session.use_instance <ftop.engine.control.session.Session.use_instance>`,
which journals it so the instance is removed when ftop exits. What an instance
may run differs from the top level (on 6.1, ``function_graph`` is refused in
an instance): :attr:`InstanceInfo.tracers` is the kernel's own list for it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

from ftop.engine.backend import tracefs_of
from ftop.engine.control.config import validate_instance_name
from ftop.engine.control.tracefs import Tracefs, list_dir
from ftop.engine.errors import ConfigError, TracefsError

if TYPE_CHECKING:
    from ftop.engine.backend import Backend
    from ftop.engine.control.session import Session

__all__ = ["InstanceInfo", "list_instances", "remove_instance", "use_instance"]


@dataclass
class InstanceInfo:
    """One instance as it is now.

    Attributes:
        name: the directory name under ``instances/``.
        tracer: its ``current_tracer``.
        tracing_on: whether it records.
        tracers: tracers this instance accepts (its ``available_tracers``).
        events_enabled: how many events are enabled in it.
        created_by_ftop: this session made it (it will be removed on exit).
    """

    name: str
    tracer: str = "?"
    tracing_on: bool = True
    tracers: List[str] = field(default_factory=list)
    events_enabled: int = 0
    created_by_ftop: bool = False


def list_instances(tfs: Tracefs, created: Optional[List[str]] = None) -> List[InstanceInfo]:
    """Every instance under the top level, sorted by name. Reads only."""
    top = tfs.top()
    out: List[InstanceInfo] = []
    for name in list_dir(top, "instances"):
        sub = top.sub(name)
        if not sub.path.is_dir():
            continue
        out.append(
            InstanceInfo(
                name,
                (sub.read_or("current_tracer") or "?").strip(),
                (sub.read_or("tracing_on") or "1").strip() == "1",
                (sub.read_or("available_tracers") or "").split(),
                len((sub.read_or("set_event") or "").split()),
                name in (created or []),
            )
        )
    return out


def use_instance(session: Session, name: Optional[str]) -> None:
    """Work in instance ``name`` (None: the top level), creating it, journaled, if needed."""
    if name is not None:
        validate_instance_name(name)
    session.use_instance(name)


def remove_instance(session: Backend, name: str) -> None:
    """Remove instance ``name`` now (its buffer is lost; the restore will not bring it back).

    If the session works in it, the session moves to the top level first. The
    instance is quieted first (tracing off, tracer nop, events off): a busy
    instance refuses rmdir with EBUSY.

    Raises:
        NoTracefs: the source is a saved trace.
    """
    validate_instance_name(name)
    tfs = tracefs_of(session)
    top = tfs.top()
    if not (top.path / "instances" / name).is_dir():
        raise ConfigError(f"no instance named '{name}'")
    if tfs.instance == name:
        session.use_instance(None)
    sub = top.sub(name)
    for rel, val in (("tracing_on", "0"), ("current_tracer", "nop"), ("events/enable", "0")):
        with contextlib.suppress(TracefsError):
            sub.write(rel, val)
    top.remove_instance(name)
    j = session.journal
    if j is not None and name in j.created_instances:
        j.created_instances.remove(name)
        j.save()
