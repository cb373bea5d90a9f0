"""The function filter files: plan changes to them, and read what they hold.

``set_ftrace_filter`` / ``set_ftrace_notrace`` (which functions the function
tracers hook), ``set_graph_function`` / ``set_graph_notrace`` (where
function_graph starts and what it skips), ``stack_trace_filter``, the function
triggers (``func:traceoff:3``...), ``max_graph_depth`` and ``set_ftrace_pid``.

Every ``plan_*`` function returns :class:`~ftop.engine.control.transaction.Change`
objects for ``Session.apply`` and touches nothing itself. What the kernel
(6.1) does with a write, checked on the lab kernel:

- Opening with truncate ("replace") empties the list *even if the write then
  fails*; appending adds. A word starting with ``!`` removes what it matches.
- The kernel takes one word per ``write(2)`` and reports the bytes it used.
- ``set_ftrace_filter``, ``set_ftrace_notrace`` and ``stack_trace_filter`` take
  catalog indices and ``func:mod:module``; the graph files take neither
  (EINVAL): names and globs only.
- A counted trigger is removed only with a count in the ``!`` form
  (``!vfs_read:traceoff:0``); without one the kernel answers ENODEV.
  ``dump`` and ``cpudump`` fire once and take no count.
- Triggers must be appended: truncating set_ftrace_filter to add one would
  clear the function list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError
from ftop.engine.ftrace.catalog import Catalog

__all__ = [
    "FILTER_FILES",
    "TRIGGER_COMMANDS",
    "FilterContents",
    "FilterEntry",
    "FunctionTrigger",
    "ProcessInfo",
    "Selection",
    "find_processes",
    "parse_filter",
    "parse_trigger",
    "plan_add",
    "plan_clear",
    "plan_ftrace_pid",
    "plan_max_graph_depth",
    "plan_remove",
    "plan_set",
    "plan_trigger",
    "plan_trigger_removal",
    "read_filter",
    "read_ftrace_pid",
    "read_max_graph_depth",
]

#: Files holding function lists.
FILTER_FILES = (
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
    "stack_trace_filter",
)
#: Files whose writes go through ftrace_regex_write(): indices and ``:mod:`` work.
REGEX_FILES = frozenset({"set_ftrace_filter", "set_ftrace_notrace", "stack_trace_filter"})
#: The function trigger commands set_ftrace_filter knows.
TRIGGER_COMMANDS = (
    "traceon",
    "traceoff",
    "stacktrace",
    "snapshot",
    "dump",
    "cpudump",
    "enable_event",
    "disable_event",
)
_ONCE_ONLY = ("dump", "cpudump")
_EVENT_COMMANDS = ("enable_event", "disable_event")

#: A catalog index (int) or a filter word: a name, a glob, ``func:mod:module``.
Selection = Union[int, str]

_NAME = re.compile(r"[A-Za-z0-9_.$]+")
_MOD_LINE = re.compile(r"^(?P<name>\S+) \[(?P<mod>[^\]]+)\]$")
_TRIGGER_LINE = re.compile(
    r"^(?P<func>[^\s:\[]+)(?: \[(?P<mod>[^\]]+)\])?:(?P<cmd>[a-z_]+)(?::(?P<rest>.*))?$"
)


def _check_file(file: str) -> None:
    if file not in FILTER_FILES:
        raise ConfigError(f"{file} is not a function filter file ({', '.join(FILTER_FILES)})")


def _words(
    file: str, selection: Sequence[Selection], catalog: Optional[Catalog], negate: bool
) -> List[str]:
    """Filter-file words for a selection (with ``!`` in front when removing)."""
    regex_file = file in REGEX_FILES
    out: List[str] = []
    for item in selection:
        if isinstance(item, int):
            if regex_file:
                word = str(item)
            elif catalog is None:
                raise ConfigError(
                    f"{file} does not take catalog indices (the kernel answers EINVAL); "
                    "pass the catalog so they can be written as names"
                )
            else:
                try:
                    word = catalog.entry(item)[0]
                except IndexError:
                    raise ConfigError(f"no function at catalog index {item}") from None
        else:
            word = item.strip()
            if not word:
                continue
            if any(c.isspace() for c in word):
                raise ConfigError(f"'{item}': one function or pattern per entry, no spaces")
            if word.startswith("!"):
                raise ConfigError(f"'{item}': use plan_remove() rather than a '!' entry")
            if ":" in word:
                rest = word.partition(":")[2]
                if not rest.startswith("mod:"):
                    raise ConfigError(f"'{item}' looks like a trigger; plan it with plan_trigger()")
                if not regex_file:
                    raise ConfigError(
                        f"{file} does not take ':mod:' (the kernel answers EINVAL): "
                        "give function names or globs"
                    )
        out.append("!" + word if negate else word)
    return out


def plan_set(
    file: str, selection: Sequence[Selection], catalog: Optional[Catalog] = None
) -> List[Change]:
    """Replace the list in ``file`` with ``selection`` (an empty one clears it).

    Ints are catalog indices: written as numbers where the kernel takes them,
    as names (the catalog is then required) in the graph files.
    """
    _check_file(file)
    words = _words(file, selection, catalog, negate=False)
    return [
        Change(
            file,
            " ".join(words),
            append=False,
            describe=f"{file}: set {len(words)} entries" if words else f"{file}: clear",
        )
    ]


def plan_add(
    file: str, selection: Sequence[Selection], catalog: Optional[Catalog] = None
) -> List[Change]:
    """Add ``selection`` to what ``file`` holds."""
    _check_file(file)
    words = _words(file, selection, catalog, negate=False)
    if not words:
        return []
    return [Change(file, " ".join(words), append=True, describe=f"{file}: add {len(words)}")]


def plan_remove(
    file: str, selection: Sequence[Selection], catalog: Optional[Catalog] = None
) -> List[Change]:
    """Remove ``selection`` from ``file`` with the kernel's ``!`` form."""
    _check_file(file)
    words = _words(file, selection, catalog, negate=True)
    if not words:
        return []
    return [Change(file, " ".join(words), append=True, describe=f"{file}: remove {len(words)}")]


def plan_clear(file: str) -> List[Change]:
    """Empty ``file`` (for set_ftrace_filter: trace every function; triggers stay)."""
    return plan_set(file, [])


# -- triggers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionTrigger:
    """A function trigger in set_ftrace_filter.

    Attributes:
        function: the function (or, when planning, a glob) it is attached to.
        command: one of :data:`TRIGGER_COMMANDS`.
        count: how many more times it fires; None for unlimited.
        system, event: the event of ``enable_event`` / ``disable_event``.
        module: the function's module as read back (``""`` for the kernel image).
    """

    function: str
    command: str
    count: Optional[int] = None
    system: Optional[str] = None
    event: Optional[str] = None
    module: str = ""

    def spec(self) -> str:
        """The form that creates it: ``vfs_read:traceoff:3``."""
        s = f"{self.function}:{self.command}"
        if self.system is not None:
            s += f":{self.system}:{self.event}"
        if self.count is not None and self.command not in _ONCE_ONLY:
            s += f":{self.count}"
        return s

    def removal(self) -> str:
        """The ``!`` form that removes it.

        The kernel registers counted and uncounted triggers as different probes
        and only finds a counted one when the removal carries a count (any).
        """
        s = f"!{self.function}:{self.command}"
        if self.system is not None:
            s += f":{self.system}:{self.event}"
        if self.count is not None:
            s += ":0"
        return s


def parse_trigger(line: str) -> Optional[FunctionTrigger]:
    """A trigger as read back (``vfs_read:traceoff:count=2``), or None for other lines."""
    m = _TRIGGER_LINE.match(line.strip())
    if m is None or m.group("cmd") not in TRIGGER_COMMANDS:
        return None
    cmd = m.group("cmd")
    parts = (m.group("rest") or "").split(":")
    system = event = None
    if cmd in _EVENT_COMMANDS:
        if len(parts) < 2:
            return None
        system, event, parts = parts[0], parts[1], parts[2:]
    count: Optional[int] = None
    for p in parts:
        if p.startswith("count="):
            try:
                count = int(p[6:])
            except ValueError:
                return None
        elif p.isdigit():
            count = int(p)  # the write form, e.g. when parsing a user's spec
    return FunctionTrigger(m.group("func"), cmd, count, system, event, m.group("mod") or "")


def plan_trigger(
    function: str,
    command: str,
    count: Optional[int] = None,
    system: Optional[str] = None,
    event: Optional[str] = None,
) -> Change:
    """Attach a trigger to ``function`` (a name or glob) in set_ftrace_filter.

    Args:
        function: where the trigger fires.
        command: ``traceon``, ``traceoff``, ``stacktrace``, ``snapshot``,
            ``dump``, ``cpudump``, ``enable_event`` or ``disable_event``.
        count: fire at most this many times (None: unlimited). Not for
            ``dump``/``cpudump``, which fire once.
        system, event: the event to switch, for enable_event/disable_event.
    """
    if command not in TRIGGER_COMMANDS:
        raise ConfigError(f"unknown trigger '{command}' (known: {', '.join(TRIGGER_COMMANDS)})")
    f = function.strip()
    if not f or any(c.isspace() for c in f) or ":" in f or f.startswith("!"):
        raise ConfigError(f"'{function}': a trigger needs one function name or glob")
    if count is not None:
        if command in _ONCE_ONLY:
            raise ConfigError(f"'{command}' fires once; it takes no count")
        if count < 1:
            raise ConfigError(f"trigger count must be at least 1 (got {count})")
    if command in _EVENT_COMMANDS:
        if not system or not event or not _NAME.fullmatch(system) or not _NAME.fullmatch(event):
            raise ConfigError(f"'{command}' needs an event as system and event names")
    elif system or event:
        raise ConfigError(f"'{command}' takes no event")
    trig = FunctionTrigger(f, command, count, system, event)
    return Change("set_ftrace_filter", trig.spec(), append=True, describe=f"trigger {trig.spec()}")


def plan_trigger_removal(trigger: Union[FunctionTrigger, str]) -> Change:
    """Remove a trigger (as read back by :func:`read_filter`, or its read-back line)."""
    if isinstance(trigger, str):
        parsed = parse_trigger(trigger)
        if parsed is None:
            raise ConfigError(f"'{trigger}' is not a function trigger")
        trigger = parsed
    return Change(
        "set_ftrace_filter",
        trigger.removal(),
        append=True,
        describe=f"remove trigger {trigger.spec()}",
    )


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterEntry:
    """One function in a filter file: ``name`` and its module (``""``: kernel image)."""

    name: str
    module: str = ""

    def __str__(self) -> str:
        return f"{self.name} [{self.module}]" if self.module else self.name


@dataclass
class FilterContents:
    """What a filter file holds, as the kernel lists it.

    Attributes:
        file: which file.
        functions: the functions selected.
        pending: ``func:mod:module`` / ``:mod:module`` words the kernel keeps
            for modules not loaded yet (applied when the module loads).
        triggers: function triggers (set_ftrace_filter only).
        unrestricted: the file printed ``#### all functions enabled ####``
            (filter and graph files: nothing narrows tracing) or
            ``#### no functions disabled ####`` (notrace files).
        other: lines this parser did not recognise, kept verbatim.
    """

    file: str
    functions: List[FilterEntry] = field(default_factory=list)
    pending: List[str] = field(default_factory=list)
    triggers: List[FunctionTrigger] = field(default_factory=list)
    unrestricted: bool = False
    other: List[str] = field(default_factory=list)

    @property
    def names(self) -> List[str]:
        return [e.name for e in self.functions]


def parse_filter(text: str, file: str = "set_ftrace_filter") -> FilterContents:
    """Parse a read of a filter file."""
    out = FilterContents(file)
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if "all functions enabled" in line or "no functions disabled" in line:
                out.unrestricted = True
            continue
        if ":mod:" in line:
            out.pending.append(line)
            continue
        if ":" in line:
            trig = parse_trigger(line)
            if trig is not None:
                out.triggers.append(trig)
            else:
                out.other.append(line)
            continue
        m = _MOD_LINE.match(line)
        if m:
            out.functions.append(FilterEntry(m.group("name"), m.group("mod")))
        elif " " in line:
            out.other.append(line)
        else:
            out.functions.append(FilterEntry(line))
    return out


def read_filter(tfs: Tracefs, file: str) -> FilterContents:
    """Read and parse ``file`` (stack_trace_filter is read from the top level)."""
    _check_file(file)
    t = tfs.top() if file == "stack_trace_filter" else tfs
    return parse_filter(t.read(file), file)


# -- graph depth and pids ----------------------------------------------------------------


def plan_max_graph_depth(depth: int) -> Change:
    """Limit function_graph to ``depth`` levels below the traced entry (0: no limit)."""
    if depth < 0:
        raise ConfigError(f"max_graph_depth must be 0 (no limit) or more, not {depth}")
    return Change("max_graph_depth", str(depth))


def read_max_graph_depth(tfs: Tracefs) -> int:
    return int(tfs.read("max_graph_depth").strip() or "0")


def plan_ftrace_pid(pids: Sequence[int], append: bool = False, notrace: bool = False) -> Change:
    """Trace functions only for ``pids`` (empty: every task), or never for them with ``notrace``.

    The pid list takes several pids in one write; ``options/function-fork``
    decides whether their children are added as they fork.
    """
    rel = "set_ftrace_notrace_pid" if notrace else "set_ftrace_pid"
    bad = [p for p in pids if p < 0]
    if bad:
        raise ConfigError(f"not a pid: {bad[0]}")
    return Change(rel, " ".join(str(p) for p in pids), append=append)


@dataclass(frozen=True)
class ProcessInfo:
    """A process for the set_ftrace_pid picker."""

    pid: int
    name: str
    cmdline: str


def find_processes(query: str = "", limit: int = 200) -> List[ProcessInfo]:
    """Processes whose pid, name or command line contains ``query`` (all when empty),
    by pid. Processes that vanish or refuse inspection are skipped."""
    import psutil  # type: ignore[import-untyped]

    q = query.strip().lower()
    out: List[ProcessInfo] = []
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        info = p.info
        cmd = " ".join(info.get("cmdline") or [])
        name = info.get("name") or ""
        if q and q not in str(info["pid"]) and q not in name.lower() and q not in cmd.lower():
            continue
        out.append(ProcessInfo(int(info["pid"]), name, cmd))
        if len(out) >= limit:
            break
    return sorted(out, key=lambda p: p.pid)


def read_ftrace_pid(tfs: Tracefs, notrace: bool = False) -> List[int]:
    """The pids in set_ftrace_pid (empty: every task)."""
    rel = "set_ftrace_notrace_pid" if notrace else "set_ftrace_pid"
    return [int(x) for x in tfs.read(rel).split() if x.isdigit()]
