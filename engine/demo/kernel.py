"""The simulated kernel: a directory shaped like tracefs and the answers to writes.

:class:`DemoKernel` answers as the recorded kernel did (enabling an event updates
``set_event`` and the system's ``enable``, a bad event filter is refused with
EINVAL and an ``error_log`` entry with its caret line); :class:`DemoTracefs` is the
:class:`Tracefs` the engine drives over it, instances included; ``_build_tree``
writes the static files. The ftrace-specific files are demo/ftrace.py's.

One piece on purpose (about 640 lines): the simulated files' answers and the replay
that follows them (what is enabled, filtered, narrowed) read one kernel state under
one lock; the filter, trigger, probe and graph rules are their own modules.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set

from ftop.engine.control.tracefs import Tracefs
from ftop.engine.demo.captures import DemoData
from ftop.engine.demo.ftrace import STACK_TRACER_SYSCTL, DemoFtrace
from ftop.engine.errors import TracefsError

__all__ = ["DemoKernel", "DemoTracefs"]

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

_EVENT_ENABLE = re.compile(r"^events(?:/(?P<sys>[^/]+)(?:/(?P<ev>[^/]+))?)?/enable$")
_EVENT_FILE = re.compile(
    r"^events/(?P<sys>[^/]+)/(?P<ev>[^/]+)/(?P<file>filter|trigger|format|id)$"
)
# Names a hist trigger may use besides the event's fields.
_HIST_SPECIAL = frozenset(
    {"hitcount", "common_timestamp", "common_cpu", "cpu", "stacktrace", "common_stacktrace"}
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
        self._events_made = False  # see events_tree
        self._folders: Set[str] = set()  # made by put
        # per_cpu/cpuN/stats: what the replay "wrote" and what LOST markers say was overwritten.
        self.entries = [0] * data.cpus
        self.overrun = [0] * data.cpus
        # Function filters, pids, stack tracer, latency report, probes (demo/ftrace.py).
        self.ftrace = DemoFtrace(self)

    # -- files ---------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.root / rel

    def events_tree(self) -> None:
        """The folders of events/ (one per system and per event, 1,500 on the recorded
        kernel), made the first time something lists or looks for them: the files in
        them are computed (``dynamic``), and making the folders at the start cost the
        demo's first frame 8 ms (issue 10). Whoever lists them goes through
        :class:`DemoTracefs`, which asks for them first."""
        if self._events_made:
            return
        with self.lock:
            if self._events_made:
                return
            events_dir = os.path.join(self.root, "events")
            for system, events in self.data.catalog.items():
                base = f"{events_dir}/{system}"
                os.makedirs(base, exist_ok=True)
                for ev in events:
                    with contextlib.suppress(FileExistsError):  # a probe's, made with it
                        os.mkdir(f"{base}/{ev}")
            self._events_made = True

    def put(self, rel: str, text: str) -> None:
        path = f"{self.root}/{rel}"
        folder = os.path.dirname(path)
        if folder not in self._folders:  # one makedirs per folder, not per file
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
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
                fmt = self.data.format(sys_, ev)
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
            # The kernel sums the per-CPU buffers: the total follows every resize.
            self.put("buffer_total_size_kb", f"{int(v) * self.data.cpus}\n")
            return
        if rel == "tracing_cpumask":
            self._set_cpumask(rel, value, append)
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

    def _set_cpumask(self, rel: str, value: str, append: bool) -> None:
        """bitmap_parse_user(): hex in 32-bit groups; a bit past the CPUs is EOVERFLOW."""
        digits = value.strip().replace(",", "")
        try:
            mask = int(digits, 16)
        except ValueError:
            raise self._refuse(rel, value, errno.EINVAL, append) from None
        if mask >> self.data.cpus:
            raise self._refuse(rel, value, errno.EOVERFLOW, append)
        self.put(rel, f"{mask:x}\n")

    def cpumask(self) -> Set[int]:
        """The CPUs that record (the replay drops the others' lines)."""
        try:
            mask = int(self.path("tracing_cpumask").read_text().strip().replace(",", ""), 16)
        except (OSError, ValueError):
            return set(range(self.data.cpus))
        return {c for c in range(self.data.cpus) if mask >> c & 1}

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
        # The filter grammar is imported with the first filter or trigger written.
        from ftop.engine.demo.event_filter import FilterError, _fields_of, check_filter

        key = f"{system}/{event}"
        text = value.strip()
        if text in ("0", ""):
            self.filters.pop(key, None)
            return
        try:
            check_filter(text, _fields_of(self.data.format(system, event)))
        except FilterError as e:
            log = self._log_error("event filter parse error", e.message, text, e.pos)
            raise self._refuse(rel, value, errno.EINVAL, append, log) from None
        self.filters[key] = text

    def _set_trigger(self, rel: str, system: str, event: str, value: str, append: bool) -> None:
        from ftop.engine.demo.event_filter import FilterError, _fields_of, check_filter

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
                check_filter(cond.strip(), _fields_of(self.data.format(system, event)))
            except FilterError as e:
                log = self._log_error("event filter parse error", e.message, cond.strip(), e.pos)
                raise self._refuse(rel, value, errno.EINVAL, append, log) from None
        args = parts[1:]
        if cmd in ("enable_event", "disable_event", "enable_hist", "disable_hist"):
            # trace_events_trigger.c: SYSTEM:EVENT[:COUNT], nothing after.
            if len(args) < 2 or len(args) > 3 or args[1] not in self.data.catalog.get(args[0], {}):
                raise self._refuse(rel, value, errno.EINVAL, append)
            count = args[2] if len(args) > 2 else None
            shown = f"{cmd}:{args[0]}:{args[1]}"
        elif cmd == "hist":
            self._check_hist(rel, system, event, spec, value, append)
            shown = spec + " [active]"
            count = None
        else:
            # One count at most: "traceoff:5:junk" does not parse as a number.
            if len(args) > 1:
                raise self._refuse(rel, value, errno.EINVAL, append)
            count = args[0] if args else None
            shown = cmd
        if count is not None and not count.isdigit():
            raise self._refuse(rel, value, errno.EINVAL, append)
        if cmd != "hist":
            shown += f":count={count}" if count else ":unlimited"
        if any(t.split(":", 1)[0] == cmd and cmd != "hist" for t in have):
            raise self._refuse(rel, value, errno.EEXIST, append)
        have.append(shown + (f" if {cond.strip()}" if cond else ""))

    def _check_hist(
        self, rel: str, system: str, event: str, spec: str, value: str, append: bool
    ) -> None:
        """A hist trigger needs keys=, and every key, value and sort field must exist
        (trace_events_hist.c: "Couldn't find field" in error_log, caret under the field)."""
        from ftop.engine.demo.event_filter import _fields_of

        fields = _fields_of(self.data.format(system, event))
        attrs = spec.split(":")[1:]
        if not any(a.split("=", 1)[0] in ("keys", "key") for a in attrs):
            raise self._refuse(rel, value, errno.EINVAL, append)
        pos = len("hist:")  # where the first attribute starts in the command
        for attr in attrs:
            name, eq, body = attr.partition("=")
            if eq and name in ("keys", "key", "vals", "values", "val", "sort"):
                at = pos + len(name) + 1
                for item in body.split(","):
                    base = item.split(".", 1)[0]  # "bytes.hex", "hitcount.descending"
                    if base and base not in fields and base not in _HIST_SPECIAL:
                        log = self._log_error(
                            f"hist:{system}:{event}", "Couldn't find field", spec, at
                        )
                        raise self._refuse(rel, value, errno.EINVAL, append, log)
                    at += len(item) + 1
            pos += len(attr) + 1

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
        self._events_for(rel)
        return super().exists(rel) or self.kernel.dynamic(rel) is not None

    def _events_for(self, rel: str) -> None:
        if rel == "events" or rel.startswith("events/"):
            self.kernel.events_tree()

    def is_dir(self, rel: str) -> bool:
        self._events_for(rel)
        return super().is_dir(rel)

    def listdir(self, rel: str) -> List[str]:
        self._events_for(rel)
        return super().listdir(rel)

    def dirs(self, rel: str) -> List[str]:
        self._events_for(rel)
        return super().dirs(rel)

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
    # As the kernel lists them (not its ftrace/ system's internal events): what the
    # capabilities probe counts in one read instead of a stat per event folder.
    put(
        "available_events",
        "".join(
            f"{system}:{ev}\n"
            for system, events in data.catalog.items()
            if system != "ftrace"
            for ev in events
        ),
    )
    # The events' folders come when first listed (DemoKernel.events_tree).
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
