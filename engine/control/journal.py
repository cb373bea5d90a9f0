"""The restore journal: the prior state on disk before ftop's first change.

One file per ftop process under ``/run/ftop`` (tmpfs: it survives the process,
not a reboot, and a reboot resets tracefs anyway); for a user who is not root
(a tracefs mounted with ``gid=``), under a folder of their own:
``$XDG_RUNTIME_DIR/ftop``, else ``~/.cache/ftop``, which must be theirs and
private (0700). ``FTOP_JOURNAL_DIR`` wins over both. There is no lock: a journal
whose process is gone is simply recovered by the next run, so a crash can never
block anyone.

A journal that cannot be written stops the change it was written for: ftop
writes nothing to tracefs without one. A journal that cannot be read back
(truncated, wrong types, binary garbage) is moved aside as ``*.corrupt`` by
:func:`scan_journals` and reported, so it never blocks or misleads a later run.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ftop.engine.control.state import State
from ftop.engine.errors import JournalError

ROOT_DIR = Path("/run/ftop")


def default_dir(
    euid: Optional[int] = None,
    environ: Optional[Mapping[str, str]] = None,
    home: Optional[Path] = None,
) -> Path:
    """Where this user's journals go: FTOP_JOURNAL_DIR, else /run/ftop for root,
    else a private folder of the user's ($XDG_RUNTIME_DIR/ftop, ~/.cache/ftop).

    Not root: /run/ftop is root's, and a journal must be written before the first
    change, so a user allowed by the mount's group journals in their own folder.
    """
    env = os.environ if environ is None else environ
    if env.get("FTOP_JOURNAL_DIR"):
        return Path(env["FTOP_JOURNAL_DIR"])
    if (os.geteuid() if euid is None else euid) == 0:
        return ROOT_DIR
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "ftop"
    if home is None:
        try:
            home = Path.home()
        except (RuntimeError, KeyError):  # no HOME and no passwd entry
            home = Path("/run/user") / str(os.geteuid() if euid is None else euid)
    return home / ".cache" / "ftop"


# Decided once per process (the tests point it at a folder of their own).
DEFAULT_DIR = default_dir()


def private_refusal(directory: Path, euid: Optional[int] = None) -> Optional[str]:
    """Why a non-root user's journal folder is not safe to use, or None.

    The journal says what to write into tracefs on the next start: a folder another
    user can write (or owns) could plant one. Root's /run/ftop is root's already.
    """
    uid = os.geteuid() if euid is None else euid
    if uid == 0:
        return None
    try:
        st = directory.stat()
    except FileNotFoundError:
        return None  # made 0700 by the first save
    except OSError as e:
        return f"cannot check {directory}: {e.strerror or e}"
    if st.st_uid != uid:
        return f"{directory} belongs to uid {st.st_uid}, not to this user (uid {uid})"
    if st.st_mode & 0o077:
        return f"{directory} is open to others (mode {st.st_mode & 0o777:04o}; it must be 0700)"
    return None


def _proc_start_time(pid: int) -> Optional[str]:
    """Field 22 of /proc/pid/stat: tells a reused pid from the original process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses; fields start after the last ')'.
    return text.rsplit(")", 1)[1].split()[19]


class CorruptJournalError(JournalError):
    """The file is there and readable, but it is not a journal ftop wrote."""


def _short(e: BaseException) -> str:
    return str(e).splitlines()[0][:80] if str(e) else type(e).__name__


def _conforms(value: Any, tp: Any) -> bool:
    """``value`` (parsed JSON) has type ``tp`` (str, bool, Optional, List, Dict)."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        return any(_conforms(value, arg) for arg in typing.get_args(tp))
    if origin is list:
        (item,) = typing.get_args(tp)
        return isinstance(value, list) and all(_conforms(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(tp)
        return isinstance(value, dict) and all(
            _conforms(k, key) and _conforms(v, item) for k, v in value.items()
        )
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


# A journal's top-level fields and their types, as to_json writes them.
_FIELDS: Dict[str, Any] = {
    "pid": int,
    "start_time": Optional[str],
    "tracefs": str,
    "created": float,
    "states": list,
    "created_instances": List[str],
    "created_probes": Dict[str, List[str]],
    "touched": Optional[Dict[str, List[str]]],
    "restore_errors": List[str],
}
_REQUIRED = ("pid", "tracefs")


def _state_types() -> Dict[str, Any]:
    # From State's own annotations, so a field added there is checked here too.
    return typing.get_type_hints(State)


def _kind(value: Any) -> str:
    """The JSON name of a parsed value's type (no content: it may be anything)."""
    kinds: Tuple[Tuple[type, str], ...] = (
        (bool, "boolean"),
        (str, "string"),
        (int, "number"),
        (float, "number"),
        (list, "array"),
        (dict, "object"),
    )
    for tp, name in kinds:
        if isinstance(value, tp):
            return name
    return "null"


def _invalid(data: Any) -> Optional[str]:
    """Why parsed JSON is not a journal ftop wrote, or None."""
    if not isinstance(data, dict):
        return f"a JSON {_kind(data)}, not an object"
    for name in _REQUIRED:
        if name not in data:
            return f"no '{name}'"
    for name, tp in _FIELDS.items():
        if name in data and not _conforms(data[name], tp):
            return f"'{name}' has the wrong type (a JSON {_kind(data[name])})"
    if data["pid"] <= 0 or not data["tracefs"]:
        return "no process id or tracefs path"
    types = _state_types()
    for i, st in enumerate(data.get("states", [])):
        if not isinstance(st, dict) or not isinstance(st.get("root"), str):
            return f"state {i} is not a tracefs state"
        for name, value in st.items():
            if name in types and not _conforms(value, types[name]):
                return f"state {i}: '{name}' has the wrong type (a JSON {_kind(value)})"
    return None


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
    # Not saved. Set by Session.recover() when recovering this journal went wrong
    # beyond refused writes (a corrupt file set aside, a journal that could not be
    # removed): the one line to show instead of "restored".
    problem: Optional[str] = None

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
        """Read a journal back; JournalError unless every field has its type.

        Checked strictly, not coerced: ``list("ftop-x")`` would make a restore
        remove instances "f", "t", "o"...: a journal that is not what ftop wrote
        is corrupt, and restoring from it would do harm.
        """
        import json  # here, not at the top: most runs never read or write a journal

        try:
            # Bytes: json detects the encoding itself, whatever the locale.
            data = json.loads(path.read_bytes())
        except OSError as e:
            raise JournalError(f"unreadable journal {path}: {e.strerror or e}") from None
        except (ValueError, RecursionError) as e:
            # ValueError covers UnicodeDecodeError (binary garbage) and truncation.
            raise CorruptJournalError(f"corrupt journal {path}: not JSON ({_short(e)})") from None
        why = _invalid(data)
        if why is not None:
            raise CorruptJournalError(f"corrupt journal {path}: {why}")
        return cls(
            path=path,
            pid=data["pid"],
            start_time=data.get("start_time"),
            tracefs=data["tracefs"],
            created=float(data.get("created", 0)),
            states=[State.from_json(s) for s in data.get("states", [])],
            created_instances=list(data.get("created_instances", [])),
            created_probes=dict(data.get("created_probes", {})),
            touched=data.get("touched"),
            restore_errors=list(data.get("restore_errors", [])),
        )

    def save(self) -> None:
        """Write atomically (temp file + rename), root-only, fsynced.

        Raises JournalError, whose sentence says nothing was changed: every
        caller saves before the tracefs writes the journal is there to undo.
        """
        tmp = self.path.with_suffix(".tmp")
        unsafe = private_refusal(self.path.parent)
        if unsafe is not None:
            raise JournalError(
                f"cannot write the restore journal {self.path}: {unsafe}; "
                "nothing was changed (FTOP_JOURNAL_DIR sets where journals go)"
            )
        import json  # see load

        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_json(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as e:
            # A half-written temp file (disk full) is no journal: leave none behind.
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise JournalError(
                f"cannot write the restore journal {self.path}: {e.strerror or e}; "
                "nothing was changed (FTOP_JOURNAL_DIR sets where journals go)"
            ) from None

    def remove(self) -> bool:
        """Drop the journal; False if it is still there (a folder made read-only
        since): it never raises, as it runs on the way out, after the restore."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            return False
        return True

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


@dataclass
class CorruptJournal:
    """A journal file that could not be read back, and where it was put."""

    path: Path
    reason: str
    # Where it was moved (``*.corrupt``); None if it could not be (read-only folder).
    moved_to: Optional[Path] = None
    move_error: Optional[str] = None

    @property
    def pid(self) -> Optional[int]:
        """The pid in its name (``journal-1234.json``), if any."""
        m = re.fullmatch(r"journal-(\d+)\.json", self.path.name)
        return int(m.group(1)) if m else None

    @property
    def message(self) -> str:
        """One line for the user: which file, what is wrong, what ftop did with it."""
        if self.moved_to is not None:
            done = f"moved aside to {self.moved_to.name}; nothing restored from it"
        else:
            done = f"could not move it aside ({self.move_error}); remove it by hand"
        return f"{self.reason}: {done}"


def _set_aside(path: Path, reason: str) -> Optional[CorruptJournal]:
    """Rename a bad journal out of the ``journal-*.json`` pattern, never over another;
    None if it is gone (another ftop starting at the same time set it aside)."""
    bad = CorruptJournal(path, reason)
    for n in range(100):
        target = path.with_name(path.name + (".corrupt" if n == 0 else f".corrupt.{n}"))
        if target.exists():
            continue
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        except OSError as e:
            bad.move_error = e.strerror or str(e)
        else:
            bad.moved_to = target
        return bad
    bad.move_error = "too many earlier .corrupt files"
    return bad


def stand_in(bad: CorruptJournal) -> Journal:
    """A Journal in place of a corrupt file: nothing to restore, its ``problem`` said."""
    return Journal(
        path=bad.moved_to or bad.path,
        pid=bad.pid or 0,
        start_time=None,
        tracefs="",
        created=0.0,
        touched=None,
        problem=bad.message,
    )


def scan_journals(
    directory: Optional[Path] = None, set_aside: bool = False
) -> Tuple[List[Journal], List[CorruptJournal]]:
    """Every readable journal (oldest first), and every one that is not.

    With ``set_aside`` the unreadable ones are renamed ``*.corrupt`` (kept for a
    post-mortem, out of every later scan). A live ftop's journal is never caught
    half-written (it is replaced by a rename), so only a dead one is ever corrupt.
    """
    d = directory or DEFAULT_DIR
    out: List[Journal] = []
    bad: List[CorruptJournal] = []
    if private_refusal(d) is not None:
        # Journals in a folder others can write are not trusted to restore from.
        return [], []
    try:
        paths = sorted(d.glob("journal-*.json"))
    except OSError:
        return [], []
    for p in paths:
        try:
            out.append(Journal.load(p))
        except CorruptJournalError as e:
            found = _set_aside(p, str(e)) if set_aside else CorruptJournal(p, str(e))
            if found is not None:
                bad.append(found)
        except JournalError:
            # Unreadable, not corrupt (gone meanwhile: another ftop restored it;
            # EACCES): not ours to judge or move.
            continue
    out.sort(key=lambda j: j.created)
    return out, bad


def find_journals(directory: Optional[Path] = None) -> List[Journal]:
    """Every readable journal, oldest first (unreadable ones skipped, left in place)."""
    return scan_journals(directory)[0]


def stale_journals(directory: Optional[Path] = None) -> List[Journal]:
    """Journals left by processes that are gone (crash, SIGKILL): to be restored."""
    return [j for j in find_journals(directory) if not j.alive()]


def live_journals(directory: Optional[Path] = None) -> List[Journal]:
    """Journals of other ftop processes still running."""
    return [j for j in find_journals(directory) if j.alive() and j.pid != os.getpid()]
