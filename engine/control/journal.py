"""The restore journal: the prior state on disk before ftop's first change.

One file per ftop process under ``/run/ftop`` (tmpfs: it survives the process,
not a reboot, and a reboot resets tracefs anyway). There is no lock: a journal
whose process is gone is simply recovered by the next run, so a crash can never
block anyone.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ftop.engine.control.state import State
from ftop.engine.errors import JournalError

DEFAULT_DIR = Path(os.environ.get("FTOP_JOURNAL_DIR", "/run/ftop"))


def _proc_start_time(pid: int) -> Optional[str]:
    """Field 22 of /proc/pid/stat: tells a reused pid from the original process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses; fields start after the last ')'.
    return text.rsplit(")", 1)[1].split()[19]


@dataclass
class Journal:
    """What must be put back, and by whom it was written."""

    path: Path
    pid: int
    start_time: Optional[str]
    tracefs: str
    created: float
    states: List[State] = field(default_factory=list)
    created_instances: List[str] = field(default_factory=list)
    created_probes: Dict[str, List[str]] = field(default_factory=dict)
    # Files ftop wrote, per instance ("" is the top level): restore puts back
    # only what these govern. None in a journal of an older version: everything.
    touched: Optional[Dict[str, List[str]]] = field(default_factory=dict)
    # What the last restore could not put back; the journal stays for a retry.
    restore_errors: List[str] = field(default_factory=list)

    def touch(self, instance: Optional[str], rels: List[str]) -> bool:
        """Record files about to be written; True if the journal needs saving."""
        if self.touched is None:
            return False
        new = False
        for rel in rels:
            key = "" if rel.startswith("/") else (instance or "")
            lst = self.touched.setdefault(key, [])
            if rel not in lst:
                lst.append(rel)
                new = True
        return new

    def touched_in(self, instance: Optional[str]) -> Optional[List[str]]:
        if self.touched is None:
            return None
        return list(self.touched.get(instance or "", []))

    def to_json(self) -> Dict[str, Any]:
        return {
            "version": 2,
            "pid": self.pid,
            "start_time": self.start_time,
            "tracefs": self.tracefs,
            "created": self.created,
            "states": [s.to_json() for s in self.states],
            "created_instances": self.created_instances,
            "created_probes": self.created_probes,
            "touched": self.touched,
            "restore_errors": self.restore_errors,
        }

    @classmethod
    def load(cls, path: Path) -> Journal:
        try:
            data = json.loads(path.read_text())
            return cls(
                path=path,
                pid=int(data["pid"]),
                start_time=data.get("start_time"),
                tracefs=str(data["tracefs"]),
                created=float(data.get("created", 0)),
                states=[State.from_json(s) for s in data.get("states", [])],
                created_instances=list(data.get("created_instances", [])),
                created_probes=dict(data.get("created_probes", {})),
                touched=data.get("touched"),
                restore_errors=[str(e) for e in data.get("restore_errors", [])],
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise JournalError(f"unreadable journal {path}: {e}") from None

    def save(self) -> None:
        """Write atomically (temp file + rename), root-only, fsynced."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_json(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as e:
            raise JournalError(f"cannot write the restore journal {self.path}: {e}") from None

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def alive(self) -> bool:
        """True if the process that wrote this journal still runs."""
        if self.pid == os.getpid():
            return True
        st = _proc_start_time(self.pid)
        return st is not None and st == self.start_time

    def state_for(self, instance: Optional[str]) -> Optional[State]:
        for s in self.states:
            if s.instance == instance:
                return s
        return None


def new_journal(tracefs: str, directory: Optional[Path] = None) -> Journal:
    d = directory or DEFAULT_DIR
    pid = os.getpid()
    return Journal(
        path=d / f"journal-{pid}.json",
        pid=pid,
        start_time=_proc_start_time(pid),
        tracefs=tracefs,
        created=time.time(),
    )


def find_journals(directory: Optional[Path] = None) -> List[Journal]:
    """Every readable journal, oldest first."""
    d = directory or DEFAULT_DIR
    out = []
    try:
        paths = sorted(d.glob("journal-*.json"))
    except OSError:
        return []
    for p in paths:
        try:
            out.append(Journal.load(p))
        except JournalError:
            continue
    out.sort(key=lambda j: j.created)
    return out


def stale_journals(directory: Optional[Path] = None) -> List[Journal]:
    """Journals left by processes that are gone (crash, SIGKILL): to be restored."""
    return [j for j in find_journals(directory) if not j.alive()]


def live_journals(directory: Optional[Path] = None) -> List[Journal]:
    """Journals of other ftop processes still running."""
    return [j for j in find_journals(directory) if j.alive() and j.pid != os.getpid()]
