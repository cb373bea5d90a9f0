"""The trace-event catalog of one tracefs directory: systems, events, and one event's settings.

Reads only. Listing the catalog is two directory walks (no file opened per
event); which events are enabled comes from one read of ``set_event``; an
event's filter, triggers and format are read when someone looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from ftop.engine.control.state import read_event_list
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import TracefsError

__all__ = ["EventDetail", "enabled_events", "event_detail", "event_settings", "read_catalog"]


def read_catalog(tfs: Tracefs) -> Dict[str, List[str]]:
    """``{system: [event, ...]}``, both sorted; systems without events are left out."""
    out: Dict[str, List[str]] = {}
    for system in tfs.dirs("events"):
        events = tfs.dirs(f"events/{system}")
        if events:
            out[system] = events
    return out


def enabled_events(tfs: Tracefs) -> Set[str]:
    """Enabled events as ``system/event`` (one read of ``set_event``)."""
    try:
        return set(read_event_list(tfs))
    except TracefsError:
        return set()


@dataclass
class EventDetail:
    """What one event is set to, as the kernel reads it back."""

    system: str
    event: str
    enabled: bool = False
    filter: str = ""
    triggers: List[str] = field(default_factory=list)
    format: str = ""
    fields: List[str] = field(default_factory=list)
    error: Optional[str] = None


def _format_fields(text: str) -> List[str]:
    """Field names of an event's own payload (after the common_* fields)."""
    names = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("field:"):
            continue
        decl = line[len("field:") :].split(";", 1)[0].strip()
        name = decl.split("[", 1)[0].split()[-1] if decl else ""
        if name and not name.startswith("common_"):
            names.append(name)
    return names


def event_detail(tfs: Tracefs, system: str, event: str) -> EventDetail:
    """Read one event's enable, filter, triggers and format."""
    base = f"events/{system}/{event}"
    d = EventDetail(system, event)
    d.enabled = (tfs.read_or(f"{base}/enable") or "0").strip().startswith("1")
    flt = (tfs.read_or(f"{base}/filter") or "").strip()
    d.filter = "" if flt == "none" else flt
    trig = tfs.read_or(f"{base}/trigger") or ""
    d.triggers = [ln.strip() for ln in trig.splitlines() if ln.strip() and not ln.startswith("#")]
    fmt = tfs.read_or(f"{base}/format")
    if fmt is None:
        d.error = "the format file cannot be read"
    else:
        d.format = fmt
        d.fields = _format_fields(fmt)
    return d


def event_settings(
    tfs: Tracefs, catalog: Dict[str, List[str]]
) -> Tuple[Dict[str, str], Dict[str, List[str]]]:
    """Every event's filter and triggers that are set: ``({sys/ev: filter}, {sys/ev: [trigger]})``.

    Two small reads per event (about 4,600 on a big kernel): call it off the UI thread.
    """
    filters: Dict[str, str] = {}
    triggers: Dict[str, List[str]] = {}
    for system, events in catalog.items():
        for ev in events:
            base = f"events/{system}/{ev}"
            f = (tfs.read_or(f"{base}/filter") or "").strip()
            if f and f != "none":
                filters[f"{system}/{ev}"] = f
            t = tfs.read_or(f"{base}/trigger") or ""
            lines = [ln.strip() for ln in t.splitlines() if ln.strip() and not ln.startswith("#")]
            if lines:
                triggers[f"{system}/{ev}"] = lines
    return filters, triggers
