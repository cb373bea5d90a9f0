"""Demo backend: a real :class:`Session` over a simulated tracefs that replays real captures.

``ftop --demo`` needs no root and no tracefs. :func:`open_demo` builds a
temporary directory shaped like tracefs (``current_tracer``, ``events/...``,
``per_cpu/...``) from the captures bundled in ``data/``, and a
:class:`DemoTracefs` over it that answers writes the way the recorded kernel
did: enabling an event updates ``set_event`` and the system's ``enable``,
a bad event filter is refused with EINVAL and an ``error_log`` entry with its
caret line, an unknown function name in ``set_ftrace_filter`` is EINVAL.
Everything above that (transactions, journal, polling, the ring and the
aggregates) is the engine's own code, unchanged. Instead of ``trace_pipe`` a
replay thread feeds the captured lines that match the current settings
(tracer, enabled events, function filter, ``tracing_on``) into the ring, at
a realistic rate, with timestamps that move on.

For tests and screenshots, ``realtime=False`` freezes the clock and the
replay: the ring is filled once, deterministically, and :meth:`DemoSession.pump`
pushes more lines on demand.

One module (about 980 lines) on purpose: the simulated kernel's files, its refusals
and the replay share one clock and one set of recorded facts; demo/ftrace.py holds
the ftrace-specific files (filters, triggers, tracers) apart.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import gzip
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ftop.engine.control.session import Recovery, Session
from ftop.engine.control.state import RestoreReport
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.demo.ftrace import STACK_TRACER_SYSCTL, DemoFtrace
from ftop.engine.errors import TracefsError
from ftop.engine.stream import grammar
from ftop.engine.stream.ring import Ring

__all__ = ["DATA_DIR", "DemoData", "DemoSession", "DemoTracefs", "open_demo"]

DATA_DIR = Path(__file__).with_name("data")

TRIGGER_HELP = (
    "# Available triggers:\n"
    "# traceon traceoff snapshot stacktrace enable_event disable_event "
    "enable_hist disable_hist hist\n"
)
TRIGGER_COMMANDS = (
    "traceon",
    "traceoff",
    "snapshot",
    "stacktrace",
    "enable_event",
    "disable_event",
    "enable_hist",
    "disable_hist",
    "hist",
)
# The frozen clock of a non-realtime demo (any fixed value; 2026-01-01 UTC).
FROZEN_AT = 1767225600.0
_FROZEN_SHAPE = (31, 44, 38, 61, 52, 70, 41, 66, 58, 49)


# -- bundled data ------------------------------------------------------------------


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            return f.read()
    return path.read_text(encoding="utf-8", errors="replace")


@dataclass
class DemoData:
    """The bundled captures: ``meta.json`` says what is where (see data/README.md)."""

    path: Path
    meta: Dict[str, Any]
    catalog: Dict[str, Dict[str, Optional[str]]]
    _sources: Dict[str, List[str]] = field(default_factory=dict)
    _functions: Optional[List[str]] = None

    @classmethod
    def load(cls, path: Path = DATA_DIR) -> DemoData:
        meta = json.loads((path / "meta.json").read_text())
        catalog = json.loads(_read_text(path / meta["catalog"]))
        return cls(path, meta, catalog)

    @property
    def release(self) -> str:
        return str(self.meta.get("release", "?"))

    @property
    def cpus(self) -> int:
        return int(self.meta.get("cpus", 2))

    @property
    def tracers(self) -> List[str]:
        return list(self.meta.get("tracers", ["nop"]))

    def source_names(self) -> List[str]:
        return list(self.meta.get("sources", {}))

    def source(self, name: str) -> List[str]:
        """A capture's lines (header and blank lines dropped)."""
        if name not in self._sources:
            fname = self.meta.get("sources", {}).get(name)
            lines: List[str] = []
            if fname:
                text = _read_text(self.path / fname)
                lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
            self._sources[name] = lines
        return self._sources[name]

    @property
    def has_functions(self) -> bool:
        """The recorded kernel had function tracing (known without loading the catalog)."""
        return bool(self.meta.get("functions"))

    def functions(self) -> List[str]:
        """``available_filter_functions`` of the recorded kernel (may be empty)."""
        if self._functions is None:
            fname = self.meta.get("functions")
            self._functions = _read_text(self.path / fname).splitlines() if fname else []
        return self._functions


# -- the simulated kernel ------------------------------------------------------------

_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<str>\"[^\"]*\"|'[^']*')|(?P<op>&&|\|\||==|!=|<=|>=|[<>&~!()=])|(?P<word>[^\s&|=!<>~()\"']+))"
)
_NUM = re.compile(r"^-?(?:0x[0-9a-fA-F]+|\d+)$")
_FIELD_DECL = re.compile(r"field:(?P<decl>[^;]+);")


class FilterError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _fields_of(fmt: Optional[str]) -> Dict[str, bool]:
    """``{field: is_string}`` from an event's format text (common_* included)."""
    out: Dict[str, bool] = {}
    for m in _FIELD_DECL.finditer(fmt or ""):
        decl = m.group("decl").strip()
        name = decl.split("[", 1)[0].split()[-1]
        out[name] = ("char" in decl and "[" in decl) or "__data_loc" in decl
    for common in ("common_pid", "common_flags", "common_preempt_count", "common_type", "CPU"):
        out.setdefault(common, False)
    out.setdefault("COMM", True)
    return out


def check_filter(text: str, fields: Dict[str, bool]) -> None:
    """Validate an event filter the way the kernel's parser does, in outline.

    Raises:
        FilterError: with the kernel's own message and the offending position.
    """
    toks: List[Tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _FILTER_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise FilterError("Invalid operator", pos)
        kind = m.lastgroup or "word"
        toks.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    depth = 0
    i = 0
    expect_pred = True
    while i < len(toks):
        kind, val, at = toks[i]
        if expect_pred:
            if kind == "op" and val == "(":
                depth += 1
                i += 1
                continue
            if kind == "op" and val == "!":
                i += 1
                continue
            if kind != "word":
                raise FilterError("Invalid operator", at)
            if val not in fields:
                raise FilterError("Field not found", at)
            if i + 1 >= len(toks) or toks[i + 1][0] != "op" or toks[i + 1][1] in ("(", ")", "!"):
                raise FilterError("Invalid operator", toks[i + 1][2] if i + 1 < len(toks) else at)
            op, op_at = toks[i + 1][1], toks[i + 1][2]
            if op in ("&&", "||"):
                raise FilterError("Invalid operator", op_at)
            if i + 2 >= len(toks):
                raise FilterError("Invalid value (did you forget quotes)?", op_at + len(op))
            vkind, value, v_at = toks[i + 2]
            if vkind == "op":
                raise FilterError("Invalid value (did you forget quotes)?", v_at + 1)
            if fields[val]:
                if op not in ("==", "!=", "~"):
                    raise FilterError("Illegal operation for field type", op_at)
            else:
                if op == "~":
                    raise FilterError("Illegal operation for field type", op_at)
                if vkind == "str" or not _NUM.match(value):
                    raise FilterError("Illegal integer value", v_at)
            i += 3
            expect_pred = False
            continue
        if kind == "op" and val == ")":
            depth -= 1
            if depth < 0:
                raise FilterError("Too few '('", at)
            i += 1
            continue
        if kind == "op" and val in ("&&", "||"):
            expect_pred = True
            i += 1
            continue
        raise FilterError("Invalid operator", at)
    if expect_pred:
        raise FilterError("Meaningless filter expression", len(text))
    if depth > 0:
        raise FilterError("Too many '('", len(text))


_EVENT_ENABLE = re.compile(r"^events(?:/(?P<sys>[^/]+)(?:/(?P<ev>[^/]+))?)?/enable$")
_EVENT_FILE = re.compile(
    r"^events/(?P<sys>[^/]+)/(?P<ev>[^/]+)/(?P<file>filter|trigger|format|id)$"
)
_SYS_FILTER = re.compile(r"^events/(?P<sys>[^/]+)/filter$")
_FUNC_FILES = ("set_ftrace_filter", "set_ftrace_notrace", "set_graph_function", "set_graph_notrace")


class DemoKernel:
    """The recorded kernel's answers to writes, over a directory shaped like tracefs."""

    def __init__(
        self,
        root: Path,
        data: DemoData,
        clock: Callable[[], float],
        instance: Optional[str] = None,
    ) -> None:
        self.root = root
        # An instance's kernel: its own buffer, tracer, events and filters; the
        # machine-wide files (stack tracer, probes) are the top level's only.
        self.instance = instance
        self.data = data
        self.clock = clock
        self.lock = threading.RLock()
        self.started = clock()
        self.uptime_base = float(data.meta.get("uptime", 1000.0))
        self.tracer = "nop"
        self.tracing_on = True
        self.enabled: Set[str] = set()
        self.filters: Dict[str, str] = {}
        self.triggers: Dict[str, List[str]] = {}
        self.func_lists: Dict[str, List[str]] = {name: [] for name in _FUNC_FILES}
        self.func_triggers: List[str] = []
        self.error_log: List[str] = []
        self.markers: List[str] = []
        self.generation = 0
        self.event_system: Dict[str, str] = {}
        for system, events in data.catalog.items():
            for ev in events:
                self.event_system.setdefault(ev, system)
        self._functions: Optional[Set[str]] = None
        self.tfs: Optional[DemoTracefs] = None
        # per_cpu/cpuN/stats: what the replay "wrote" and what LOST markers say was overwritten.
        self.entries = [0] * data.cpus
        self.overrun = [0] * data.cpus
        # Function filters, pids, stack tracer, latency report, probes (demo_ftrace.py).
        self.ftrace = DemoFtrace(self)

    # -- files ---------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.root / rel

    def put(self, rel: str, text: str) -> None:
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def dynamic(self, rel: str) -> Optional[str]:
        """The text of a file the simulated kernel computes (None: read the disk)."""
        text = self.ftrace.read(rel)
        if text is not None:
            return text
        if rel.startswith("events/"):
            return self._event_file(rel)
        if rel == "current_tracer":
            return self.tracer + "\n"
        if rel == "tracing_on":
            return "1\n" if self.tracing_on else "0\n"
        if rel == "set_event":
            return "".join(f"{x.replace('/', ':', 1)}\n" for x in sorted(self.enabled))
        if rel == "error_log":
            return "".join(ln + "\n" for ln in self.error_log)
        if rel in _FUNC_FILES and self.data.has_functions:
            return self._render_functions(rel)
        if rel == "available_filter_functions" and self.data.has_functions:
            return "\n".join(self.data.functions()) + "\n"
        if rel.startswith("per_cpu/cpu") and rel.endswith("/stats"):
            cpu = int(rel[len("per_cpu/cpu") : -len("/stats")])
            if cpu < len(self.entries):
                return _cpu_stats(self.entries[cpu], self.overrun[cpu], self.uptime())
        return None

    def _event_file(self, rel: str) -> Optional[str]:
        cat = self.data.catalog
        m = _EVENT_FILE.match(rel)
        if m:
            sys_, ev, name = m.group("sys", "ev", "file")
            if ev not in cat.get(sys_, {}):
                return None
            if name == "filter":
                return self.filters.get(f"{sys_}/{ev}", "none") + "\n"
            if name == "trigger":
                trig = self.triggers.get(f"{sys_}/{ev}")
                return "\n".join(trig) + "\n" if trig else TRIGGER_HELP
            if name == "format":
                fmt = cat[sys_][ev]
                return fmt if fmt else _generic_format(ev)
            return str(sorted(cat).index(sys_) * 100 + sorted(cat[sys_]).index(ev) + 1) + "\n"
        m = _EVENT_ENABLE.match(rel)
        if m:
            sys_, ev = m.group("sys", "ev")
            if ev is not None:
                if ev not in cat.get(sys_, {}):
                    return None
                return "1\n" if f"{sys_}/{ev}" in self.enabled else "0\n"
            names = self._events_of(sys_, None)
            if not names:
                return None
            n = sum(1 for x in names if x in self.enabled)
            return "0\n" if n == 0 else "1\n" if n == len(names) else "X\n"
        m = _SYS_FILTER.match(rel)
        if m and m.group("sys") in cat:
            return "none\n"
        return None

    def uptime(self) -> float:
        return self.uptime_base + (self.clock() - self.started)

    # -- writes --------------------------------------------------------------------

    def _refuse(
        self, rel: str, value: str, err: int, append: bool, log: Optional[List[str]] = None
    ) -> TracefsError:
        assert self.tfs is not None
        return self.tfs.refusal(
            rel, "append" if append else "write", OSError(err, ""), value, log or []
        )

    def write(self, rel: str, value: str, append: bool) -> None:
        with self.lock:
            self._write(rel, value.rstrip("\n"), append)
            self.generation += 1

    def _write(self, rel: str, value: str, append: bool) -> None:
        if self.ftrace.write(rel, value, append):
            return
        v = value.strip()
        if rel == "current_tracer":
            in_instance = self.instance is not None and v == "function_graph"
            if v not in self.data.tracers or in_instance:
                raise self._refuse(rel, value, errno.EINVAL, append)
            self.tracer = v
            return
        if rel == "tracing_on":
            if v not in ("0", "1"):
                raise self._refuse(rel, value, errno.EINVAL, append)
            self.tracing_on = v == "1"
            return
        m = _EVENT_ENABLE.match(rel)
        if m:
            if v not in ("0", "1"):
                raise self._refuse(rel, value, errno.EINVAL, append)
            self._enable(m.group("sys"), m.group("ev"), v == "1")
            return
        if rel == "set_event":
            self._set_event(value, append)
            return
        m = _EVENT_FILE.match(rel)
        if m:
            sys_, ev, name = m.group("sys", "ev", "file")
            if name == "filter":
                self._set_filter(rel, sys_, ev, value, append)
            elif name == "trigger":
                self._set_trigger(rel, sys_, ev, value, append)
            else:
                raise self._refuse(rel, value, errno.EACCES, append)
            return
        m = _SYS_FILTER.match(rel)
        if m:
            for ev in self.data.catalog.get(m.group("sys"), {}):
                self._set_filter(rel, m.group("sys"), ev, value, append)
            return
        if rel in _FUNC_FILES:
            self._set_functions(rel, value, append)
            return
        if rel == "trace_clock":
            clocks = (self.path(rel).read_text()).replace("[", " ").replace("]", " ").split()
            if v not in clocks:
                raise self._refuse(rel, value, errno.EINVAL, append)
            self.put(rel, " ".join(f"[{c}]" if c == v else c for c in clocks) + "\n")
            return
        if rel == "buffer_size_kb":
            if not v.isdigit() or int(v) == 0:
                raise self._refuse(rel, value, errno.EINVAL, append)
            self.put(rel, v + "\n")
            for cpu in range(self.data.cpus):
                self.put(f"per_cpu/cpu{cpu}/buffer_size_kb", v + "\n")
            return
        if rel == "trace_marker":
            self.markers.append(value)
            return
        if rel == "trace":
            return
        if rel.startswith("options/"):
            if v not in ("0", "1") or not self.path(rel).exists():
                raise self._refuse(rel, value, errno.EINVAL, append)
            self.put(rel, v + "\n")
            return
        if not self.path(rel).exists():
            raise self._refuse(rel, value, errno.ENOENT, append)
        if append:
            with open(self.path(rel), "a") as f:
                f.write(value + "\n")
        else:
            self.put(rel, value + "\n" if value else "")

    def _events_of(self, system: Optional[str], event: Optional[str]) -> List[str]:
        cat = self.data.catalog
        if system is None:
            return [f"{s}/{e}" for s in cat for e in cat[s]]
        if event is None:
            return [f"{system}/{e}" for e in cat.get(system, {})]
        return [f"{system}/{event}"] if event in cat.get(system, {}) else []

    def _enable(self, system: Optional[str], event: Optional[str], on: bool) -> None:
        names = self._events_of(system, event)
        if not names:
            rel = "/".join(x for x in ("events", system, event, "enable") if x)
            raise self._refuse(rel, "1" if on else "0", errno.ENOENT, False)
        if on:
            self.enabled.update(names)
        else:
            self.enabled.difference_update(names)

    def _set_event(self, value: str, append: bool) -> None:
        if not append:
            self.enabled.clear()
        for word in value.split():
            on = not word.startswith("!")
            word = word.lstrip("!")
            sys_, sep, ev = word.partition(":")
            if not sep:
                sys_, ev = "*", word
            hits = [
                f"{s}/{e}"
                for s in self.data.catalog
                if fnmatch.fnmatchcase(s, sys_ or "*")
                for e in self.data.catalog[s]
                if fnmatch.fnmatchcase(e, ev or "*")
            ]
            if not hits:
                raise self._refuse("set_event", value, errno.EINVAL, append)
            if on:
                self.enabled.update(hits)
            else:
                self.enabled.difference_update(hits)

    def _log_error(self, kind: str, message: str, command: str, pos: int) -> List[str]:
        stamp = f"[{self.uptime():12.6f}]"
        lines = [
            f"{stamp} {kind}: error: {message}",
            f"  Command: {command}",
            " " * (len("  Command: ") + max(0, pos)) + "^",
        ]
        self.error_log.extend(lines)
        del self.error_log[: max(0, len(self.error_log) - 24)]
        return lines

    def _set_filter(self, rel: str, system: str, event: str, value: str, append: bool) -> None:
        key = f"{system}/{event}"
        text = value.strip()
        if text in ("0", ""):
            self.filters.pop(key, None)
            return
        try:
            check_filter(text, _fields_of(self.data.catalog.get(system, {}).get(event)))
        except FilterError as e:
            log = self._log_error("event filter parse error", e.message, text, e.pos)
            raise self._refuse(rel, value, errno.EINVAL, append, log) from None
        self.filters[key] = text

    def _set_trigger(self, rel: str, system: str, event: str, value: str, append: bool) -> None:
        key = f"{system}/{event}"
        text = value.strip()
        have = self.triggers.setdefault(key, [])
        if not append:
            # ">" on a trigger file behaves like ">>" except that an empty write
            # is allowed (and does nothing).
            if not text:
                return
        if text.startswith("!"):
            target = text[1:].split(" if ", 1)[0]
            cmd = target.split(":", 1)[0]
            keep = [t for t in have if not _trigger_matches(t, target, cmd)]
            if len(keep) == len(have):
                raise self._refuse(rel, value, errno.ENOENT, append)
            self.triggers[key] = keep
            return
        spec, _, cond = text.partition(" if ")
        parts = spec.split(":")
        cmd = parts[0]
        if cmd not in TRIGGER_COMMANDS:
            raise self._refuse(rel, value, errno.EINVAL, append)
        if cond:
            try:
                check_filter(cond.strip(), _fields_of(self.data.catalog.get(system, {}).get(event)))
            except FilterError as e:
                log = self._log_error("event filter parse error", e.message, cond.strip(), e.pos)
                raise self._refuse(rel, value, errno.EINVAL, append, log) from None
        args = parts[1:]
        if cmd in ("enable_event", "disable_event", "enable_hist", "disable_hist"):
            if len(args) < 2 or args[1] not in self.data.catalog.get(args[0], {}):
                raise self._refuse(rel, value, errno.EINVAL, append)
            count = args[2] if len(args) > 2 else None
            shown = f"{cmd}:{args[0]}:{args[1]}"
        elif cmd == "hist":
            shown = spec + " [active]"
            count = None
        else:
            count = args[0] if args else None
            shown = cmd
        if count is not None and not count.isdigit():
            raise self._refuse(rel, value, errno.EINVAL, append)
        if cmd != "hist":
            shown += f":count={count}" if count else ":unlimited"
        if any(t.split(":", 1)[0] == cmd and cmd != "hist" for t in have):
            raise self._refuse(rel, value, errno.EEXIST, append)
        have.append(shown + (f" if {cond.strip()}" if cond else ""))

    def functions(self) -> Set[str]:
        if self._functions is None:
            self._functions = {ln.split()[0] for ln in self.data.functions() if ln.strip()}
        return self._functions

    def _set_functions(self, rel: str, value: str, append: bool) -> None:
        if not self.data.has_functions:
            raise self._refuse(rel, value, errno.EPERM, append)
        lst = self.func_lists[rel]
        if not append:
            lst.clear()
        for word in value.split():
            neg = word.startswith("!")
            name = word.lstrip("!")
            if ":" in name and rel == "set_ftrace_filter" and ":mod:" not in name:
                self.func_triggers.append(name)
                continue
            base = name.split(":mod:", 1)[0] or "*"
            hits = sorted(f for f in self.functions() if fnmatch.fnmatchcase(f, base))
            if not hits:
                raise self._refuse(rel, value, errno.EINVAL, append)
            if neg:
                lst[:] = [f for f in lst if f not in hits]
            else:
                lst.extend(h for h in hits if h not in lst)

    def _render_functions(self, rel: str) -> str:
        lst = self.func_lists[rel]
        trig = self.func_triggers if rel == "set_ftrace_filter" else []
        body = "".join(f + "\n" for f in lst) + "".join(t + "\n" for t in trig)
        if rel == "set_ftrace_filter" and not lst:
            return "#### all functions enabled ####\n" + body
        return body


def _trigger_matches(readback: str, target: str, cmd: str) -> bool:
    shown = readback.split(" if ", 1)[0]
    base = re.sub(r":(count=\d+|unlimited)$", "", shown)
    target = re.sub(r":\d+$", "", target)
    return base == target or (cmd == "hist" and shown.startswith("hist"))


def _generic_format(event: str) -> str:
    return (
        f"name: {event}\nID: 0\nformat:\n"
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
        "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
        "print fmt: (the demo data has no format for this event)\n"
    )


# Files only the top level has: an instance shares the machine's stack tracer and probes.
_MACHINE_WIDE = frozenset(
    {
        STACK_TRACER_SYSCTL,
        "stack_trace",
        "stack_max_size",
        "stack_trace_filter",
        "kprobe_events",
        "uprobe_events",
    }
)


class DemoTracefs(Tracefs):
    """A :class:`Tracefs` whose writes go to a :class:`DemoKernel` instead of a kernel.

    Instances are simulated as the kernel has them: ``mkdir instances/<name>``
    (:meth:`make_instance`) makes a fresh buffer with its own kernel state (nop, no
    events), ``rmdir`` removes it, and :meth:`sub` reaches it.
    """

    def __init__(
        self,
        root: Path,
        kernel: DemoKernel,
        instance: Optional[str] = None,
        top: Optional[DemoTracefs] = None,
    ) -> None:
        super().__init__(root, instance)
        self.kernel = kernel
        self._top = top if top is not None else self
        self.instances: Dict[str, DemoTracefs] = {}
        kernel.tfs = self

    def read(self, rel: str) -> str:
        if self.instance is not None and rel in _MACHINE_WIDE:
            # The sysctl is the machine's (the top level's); the rest is not in an instance.
            return self._top.read(rel) if rel == STACK_TRACER_SYSCTL else super().read(rel)
        with self.kernel.lock:
            text = self.kernel.dynamic(rel)
        if text is not None:
            return text
        return super().read(rel)

    def exists(self, rel: str) -> bool:
        if self.instance is not None and rel in _MACHINE_WIDE:
            return rel == STACK_TRACER_SYSCTL
        return super().exists(rel) or self.kernel.dynamic(rel) is not None

    def write(self, rel: str, value: str, append: bool = False) -> None:
        if self.instance is not None and rel in _MACHINE_WIDE:
            if rel == STACK_TRACER_SYSCTL:
                self._top.write(rel, value, append)
                return
            raise self.refusal(rel, "write", OSError(errno.ENOENT, ""), value, [])
        self.kernel.write(rel, value, append)

    def top(self) -> Tracefs:
        return self._top

    def sub(self, instance: Optional[str]) -> Tracefs:
        top = self._top
        if instance is None:
            return top
        found = top.instances.get(instance)
        if found is None:
            # As the kernel: a name that is not under instances/ has no files.
            return Tracefs(top.root, instance)
        return found

    def make_instance(self, name: str) -> None:
        top = self._top
        path = top.root / "instances" / name
        if name in top.instances or path.exists():
            raise top.refusal(f"instances/{name}", "write", OSError(errno.EEXIST, ""), "mkdir", [])
        path.mkdir()
        k = top.kernel
        child = DemoKernel(path, k.data, k.clock, instance=name)
        _build_tree(child)
        top.instances[name] = DemoTracefs(top.root, child, name, top)

    def remove_instance(self, name: str, wait_s: float = 5.0) -> None:
        top = self._top
        if top.instances.pop(name, None) is None:
            raise top.refusal(f"instances/{name}", "write", OSError(errno.ENOENT, ""), "rmdir", [])
        shutil.rmtree(top.root / "instances" / name)


# -- building the tree -------------------------------------------------------------


def _build_tree(kernel: DemoKernel) -> None:
    """Write the static files and the events/ skeleton (computed files stay virtual)."""
    data = kernel.data
    meta = data.meta
    put = kernel.put
    init = meta.get("initial", {})
    instance = kernel.instance is not None
    if not instance:
        put("README", "ftop demo: a simulated tracefs replaying real captures\n")
    # Placeholders so that probing by existence finds them; reads are computed.
    for name in ("trace", "trace_pipe", "trace_marker", "current_tracer", "tracing_on"):
        put(name, "")
    for name in ("set_event", "error_log", "set_event_pid", "set_event_notrace_pid"):
        put(name, "")
    # function_graph is refused in an instance on the recorded 6.1 kernel.
    tracers = [t for t in data.tracers if not (instance and t == "function_graph")]
    put("available_tracers", " ".join(tracers) + "\n")
    put("tracing_thresh", "0\n")
    put("tracing_cpumask", str(meta.get("cpumask", "3")) + "\n")
    if data.has_functions:
        put("available_filter_functions", "")  # read through DemoKernel.dynamic
        for name in _FUNC_FILES:
            put(name, "")
        put("set_ftrace_pid", "no pid\n")
        put("set_ftrace_notrace_pid", "no pid\n")
        put("max_graph_depth", "0\n")
    if "wakeup" in data.tracers:
        put("tracing_max_latency", str(meta.get("max_latency", 0)) + "\n")
    kb = str(init.get("buffer_size_kb", 1408))
    put("buffer_size_kb", kb + "\n")
    put("buffer_total_size_kb", str(int(kb) * data.cpus) + "\n")
    clocks = meta.get("clocks", ["local", "global", "counter", "uptime", "perf", "mono"])
    clock = init.get("trace_clock", "local")
    put("trace_clock", " ".join(f"[{c}]" if c == clock else c for c in clocks) + "\n")
    for opt, val in meta.get("options", {}).items():
        put(f"options/{opt}", f"{val}\n")
    for cpu in range(data.cpus):
        put(f"per_cpu/cpu{cpu}/buffer_size_kb", kb + "\n")
        put(f"per_cpu/cpu{cpu}/stats", "")
    if not instance:
        os.mkdir(os.path.join(kernel.root, "instances"))
    put("events/header_page", meta.get("header_page", ""))
    put("events/enable", "")
    events_dir = os.path.join(kernel.root, "events")
    for system, events in data.catalog.items():
        base = os.path.join(events_dir, system)
        os.mkdir(base)
        for ev in events:
            os.mkdir(os.path.join(base, ev))
    if instance:
        return  # a new instance starts as the kernel makes it: nop, no events
    with kernel.lock:
        for ev in init.get("events", []):
            sys_, _, name = ev.partition("/")
            with contextlib.suppress(TracefsError):
                kernel._enable(sys_, name or None, True)
        tracer = init.get("tracer", "nop")
        if tracer in data.tracers:
            kernel.tracer = tracer
    kernel.ftrace.build()


def _cpu_stats(entries: int, overrun: int, now: float) -> str:
    return (
        f"entries: {entries}\noverrun: {overrun}\ncommit overrun: 0\nbytes: {entries * 96}\n"
        f"oldest event ts: {max(0.0, now - 10):12.6f}\nnow ts: {now:12.6f}\n"
        f"dropped events: 0\nread events: {entries}\n"
    )


# -- the replay ----------------------------------------------------------------------

# "comm-pid [cpu] flags ts: name..." : what the replay needs of a default-context line.
_LINE = re.compile(
    r"^(?P<pre>.*?" + grammar.CTX_PID_SP + r"\[(?P<cpu>\d+)\] +(?:[^\s:]+ +)?)"
    r"(?P<ts>" + grammar.TS_DOTTED + r")(?P<post>: (?P<name>" + grammar.NAME + r")(?P<tail>.?).*)$"
)
_GRAPH_NAME = re.compile(
    r"\|\s+(?:"
    + grammar.GRAPH_COMMENT_OPEN
    + r"(?P<ev>"
    + grammar.NAME
    + r"):)?(?P<fn>"
    + grammar.NAME
    + r")?\(?"
)
_LOST = grammar.LOST_RE


@dataclass
class _Line:
    pre: str
    ts: Optional[float]
    post: str
    name: Optional[str]
    event: bool
    cpu: Optional[int]
    lost: int = 0


def _classify(line: str, event_system: Dict[str, str]) -> _Line:
    m = _LINE.match(line)
    if m:
        name = m.group("name")
        tail = m.group("tail")
        event = tail == ":"
        if name.startswith("sys_") and tail in ("(", " "):
            # Syscall events print as "sys_read(fd: 3...)" and "sys_read -> 0x0".
            guess = ("sys_enter_" if tail == "(" else "sys_exit_") + name[4:]
            if guess in event_system:
                name, event = guess, True
        return _Line(
            m.group("pre"), float(m.group("ts")), m.group("post"), name, event, int(m.group("cpu"))
        )
    m2 = _LOST.match(line)
    if m2:
        return _Line(line, None, "", None, False, int(m2.group("cpu")), int(m2.group("lost")))
    g = _GRAPH_NAME.search(line)
    if g and (g.group("ev") or g.group("fn")):
        return _Line(line, None, "", g.group("ev") or g.group("fn"), bool(g.group("ev")), None)
    return _Line(line, None, "", None, False, None)


class Replay:
    """Feeds the captured lines that match the kernel's settings into ``emit``."""

    def __init__(
        self,
        kernel: DemoKernel,
        emit: Callable[[Sequence[str]], None],
        rate: float = 2000.0,
    ) -> None:
        self.kernel = kernel
        self.emit = emit
        self.rate = rate
        self._parsed: Dict[str, List[_Line]] = {}
        self._sel: List[_Line] = []
        self._sel_gen = -1
        self._pos = 0
        self._debt = 0.0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.last_step = kernel.clock()

    def parsed(self, name: str) -> List[_Line]:
        if name not in self._parsed:
            es = self.kernel.event_system
            self._parsed[name] = [_classify(ln, es) for ln in self.kernel.data.source(name)]
        return self._parsed[name]

    def _select(self) -> None:
        k = self.kernel
        with k.lock:
            gen = k.generation
            tracer = k.tracer
            enabled = {e.split("/", 1)[1] for e in k.enabled}
            funcs = list(k.func_lists["set_ftrace_filter"])
        if gen == self._sel_gen:
            return
        self._sel_gen = gen
        sources = k.data.source_names()
        if tracer != "nop" and tracer in sources:
            lines = self.parsed(tracer)
            if funcs and tracer == "function":
                wanted = set(funcs)
                lines = [x for x in lines if x.lost or x.event or x.name in wanted]
        elif "events" in sources:
            lines = [x for x in self.parsed("events") if x.lost or (x.event and x.name in enabled)]
        else:
            lines = []
        self._sel = lines
        self._pos = self._pos % len(lines) if lines else 0

    def take(self, n: int, uptime_from: float, uptime_to: float) -> List[str]:
        """The next ``n`` selected lines, timestamps spread over the given interval."""
        self._select()
        sel = self._sel
        if not sel or n <= 0:
            return []
        with self.kernel.lock:
            if not self.kernel.tracing_on:
                return []
            markers = self.kernel.markers[:]
            self.kernel.markers.clear()
        out: List[str] = []
        step = (uptime_to - uptime_from) / max(n, 1)
        ts = uptime_from
        entries, overrun = self.kernel.entries, self.kernel.overrun
        ncpu = len(entries)
        for _ in range(n):
            x = sel[self._pos]
            self._pos = (self._pos + 1) % len(sel)
            ts += step
            if x.ts is None:
                out.append(x.pre)
            else:
                out.append(f"{x.pre}{ts:.6f}{x.post}")
            if x.cpu is not None and x.cpu < ncpu:
                if x.lost:
                    overrun[x.cpu] += x.lost
                else:
                    entries[x.cpu] += 1
        for text in markers:
            out.append(
                f"{'ftop':>16}-{1:<7} [000] .....  {uptime_to:.6f}: tracing_mark_write: {text}"
            )
        return out

    def step(self) -> None:
        now = self.kernel.clock()
        dt = max(0.0, now - self.last_step)
        self.last_step = now
        self._debt += dt * self.rate
        n = int(self._debt)
        self._debt -= n
        up = self.kernel.uptime()
        lines = self.take(n, up - dt, up)
        if lines:
            self.emit(lines)

    def start(self, interval: float = 0.1) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.last_step = self.kernel.clock()

        def run() -> None:
            while not self._stop.wait(interval):
                self.step()

        self._thread = threading.Thread(target=run, name="ftop-demo-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


# -- the session ------------------------------------------------------------------------


class DemoSession(Session):
    """A :class:`Session` over the simulated tracefs; the replay stands in for trace_pipe."""

    kind = "demo"
    read_only = False

    def __init__(
        self,
        workdir: Path,
        data: DemoData,
        realtime: bool = True,
        ring: Optional[Ring] = None,
        rate: float = 2000.0,
    ) -> None:
        self.workdir = workdir
        self.realtime = realtime
        self._frozen = FROZEN_AT
        clock: Callable[[], float] = time.time if realtime else self._frozen_clock
        root = workdir / "tracefs"
        root.mkdir()
        self.kernel = DemoKernel(root, data, clock)
        _build_tree(self.kernel)
        super().__init__(DemoTracefs(root, self.kernel), journal_dir=workdir / "journal", ring=ring)
        self.data = data
        self._clock = clock
        self.kernel_release = data.release
        self.replay = Replay(self.kernel, self._on_batch, rate=rate)

    @property
    def label(self) -> str:
        return "simulated tracefs, recorded traces"

    def _frozen_clock(self) -> float:
        return self._frozen

    def clock(self) -> float:
        """Wall-clock time, or the frozen instant of a non-realtime demo."""
        return self._clock()

    def _on_batch(self, lines: Sequence[str]) -> None:
        self.ring.extend(lines)
        self.aggregates.ingest(lines, self.clock())
        for fn in self.listeners:
            fn(lines)

    # -- streaming ----------------------------------------------------------------

    def start_stream(self) -> None:
        if self.replay.running:
            return
        if self.ring.next_seq == 0:
            self._prefill()
        if self.realtime:
            self.replay.start()

    def _prefill(self) -> None:
        """Fill the view at once, as a trace that has been running for ten seconds."""
        k = self.kernel
        now = self.clock()
        up = k.uptime()
        # Frozen: a small fixed fill. Realtime: about what the replay goes on with.
        mean = sum(_FROZEN_SHAPE) / len(_FROZEN_SHAPE)
        per_weight = 4.0 if not self.realtime else min(self.replay.rate, 500.0) / mean
        for i, weight in enumerate(_FROZEN_SHAPE):
            age = len(_FROZEN_SHAPE) - 1 - i
            lines = self.replay.take(int(weight * per_weight), up - age - 1, up - age)
            if lines:
                self.ring.extend(lines)
                self.aggregates.ingest(lines, now - age)
        self.replay.last_step = now

    def pump(self, n: int) -> int:
        """Push ``n`` more lines now (tests); returns how many there were to push."""
        up = self.replay.kernel.uptime()
        lines = self.replay.take(n, up, up + 0.001 * n)
        if lines:
            self._on_batch(lines)
        return len(lines)

    def stop_stream(self) -> None:
        self.replay.stop()

    def use_instance(self, name: Optional[str]) -> None:
        with self._lock:  # as the live switch: a restore waits for it
            super().use_instance(name)
            self._follow_instance()

    def _follow_instance(self) -> None:
        kernel = self.tfs.kernel if isinstance(self.tfs, DemoTracefs) else self.kernel
        if self.replay.kernel is not kernel:
            # Another instance: its own buffer, fed from its own settings (the replay
            # stands in for its trace_pipe).
            running = self.replay.running
            self.replay.stop()
            self.replay = Replay(kernel, self._on_batch, rate=self.replay.rate)
            if running:
                self.replay.start()

    def recover(self) -> List[Recovery]:
        return []

    def restore(self) -> Optional[RestoreReport]:
        """Put the simulated tracefs back through the live session's own restore (journal,
        phases and all, so the TUI tests exercise it), then remove it."""
        with self._lock:
            try:
                return super().restore()
            finally:
                self.remove_workdir()

    def remove_workdir(self) -> None:
        """Remove the simulated tracefs and the demo's journal folder."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def open_demo(
    realtime: bool = True,
    data: Optional[DemoData] = None,
    ring: Optional[Ring] = None,
    rate: float = 2000.0,
) -> DemoSession:
    """Build a demo session over a fresh temporary tracefs (removed by ``restore()``)."""
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    workdir = Path(tempfile.mkdtemp(prefix="ftop-demo-", dir=base))
    try:
        return DemoSession(
            workdir, data or DemoData.load(), realtime=realtime, ring=ring, rate=rate
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
