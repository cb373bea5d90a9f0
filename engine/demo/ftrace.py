"""The demo kernel's ftrace files: function filters and triggers, pid lists, the stack
tracer, the latency report, kprobe and uprobe events.

:class:`~ftop.engine.demo.session.DemoKernel` asks :class:`DemoFtrace` first for every
read and write; whatever is not one of these files goes on to the event
simulation. The answers follow the recorded lab kernel (6.1-rt; see
``data/README.md`` and ``tests/fixtures/lab-6.1-rt/``): a truncating
write empties a filter list even when it then fails; catalog indices are taken
by ``set_ftrace_filter``, ``set_ftrace_notrace`` and ``stack_trace_filter`` but
not by the graph files; a function trigger reads back as
``vfs_read:traceoff:count=2`` (or ``:unlimited``) and a counted one is removed
only with a count (``!vfs_read:traceoff:0``, ENODEV otherwise); a kprobe on an
unknown symbol is ENOENT with the kernel's error_log entry and caret; a probe
that is enabled cannot be removed (EBUSY).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ftop.engine.errors import ConfigError, FtopError, TracefsError

if TYPE_CHECKING:
    from ftop.engine.demo.kernel import DemoKernel
    from ftop.engine.ftrace.catalog import Catalog
    from ftop.engine.ftrace.probes import Probe

__all__ = ["STACK_TRACER_SYSCTL", "DemoFtrace"]

STACK_TRACER_SYSCTL = "/proc/sys/kernel/stack_tracer_enabled"
# The kernel's facts below are spelled out here rather than imported from
# engine.filter on purpose: the simulated kernel must not learn from the code it
# answers, or a mistake there would be confirmed by the demo instead of refused.
FILTER_FILES = (
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
    "stack_trace_filter",
)
_INDEX_FILES = ("set_ftrace_filter", "set_ftrace_notrace", "stack_trace_filter")
_NOTRACE_FILES = ("set_ftrace_notrace", "set_graph_notrace")
_PID_FILES = ("set_ftrace_pid", "set_ftrace_notrace_pid")
_TRIGGER_COMMANDS = (
    "traceon",
    "traceoff",
    "stacktrace",
    "snapshot",
    "dump",
    "cpudump",
    "enable_event",
    "disable_event",
)
_PROBE_FILES = {"kprobe_events": "kprobe", "uprobe_events": "uprobe"}
_LATENCY = ("wakeup", "wakeup_rt", "wakeup_dl", "irqsoff", "preemptoff", "preemptirqsoff")


@dataclass
class _Trigger:
    index: int  # catalog index of the function
    command: str
    event: Optional[Tuple[str, str]]
    count: Optional[int]  # None: unlimited

    def identity(self) -> Tuple[int, str, Optional[Tuple[str, str]], bool]:
        return (self.index, self.command, self.event, self.count is not None)


class DemoFtrace:
    """The ftrace side of the simulated kernel (all state lives here, under the kernel's lock)."""

    def __init__(self, kernel: DemoKernel) -> None:
        self.k = kernel
        meta = kernel.data.meta
        self._catalog: Optional[Catalog] = None
        self.lists: Dict[str, List[int]] = {name: [] for name in FILTER_FILES}
        self.triggers: List[_Trigger] = []
        self.pids: Dict[str, List[int]] = {name: [] for name in _PID_FILES}
        self.stack_enabled = False
        self.recorded_stack = int(meta.get("stack_max_size", 0) or 0)
        self.stack_max = self.recorded_stack
        self.max_latency = 0
        self._latency_reset_for: Optional[str] = None
        self.probes: Dict[str, List[Probe]] = {name: [] for name in _PROBE_FILES}
        # ``"function_refusal": "EPERM"`` in meta.json plays a locked-down kernel (the
        # build machine's, tracefs-field-notes.md): the function files are there, and
        # reading or writing them, or starting a function tracer, is EPERM.
        self.refused = meta.get("function_refusal") == "EPERM"
        self._texts: Dict[str, str] = {}

    # -- setup ---------------------------------------------------------------------------

    def build(self) -> None:
        """Placeholders, so that probing by existence finds the files (reads are computed)."""
        put = self.k.put
        data = self.k.data
        if self.refused:
            for name in (*FILTER_FILES, "available_filter_functions", *_PID_FILES):
                put(name, "")
        if data.meta.get("stack_trace"):
            for name in ("stack_trace", "stack_max_size", "stack_trace_filter"):
                put(name, "")
        for name in _PROBE_FILES:
            put(name, "")
        if data.meta.get("reports"):
            put("tracing_max_latency", "")

    def text(self, name: str) -> str:
        """A bundled file's text (gzipped or not), read once."""
        if name not in self._texts:
            path = self.k.data.path / name
            if path.suffix == ".gz":
                with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
                    self._texts[name] = f.read()
            else:
                self._texts[name] = path.read_text(encoding="utf-8", errors="replace")
        return self._texts[name]

    @property
    def has_functions(self) -> bool:
        return bool(self.k.data.meta.get("functions"))

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from ftop.engine.ftrace.catalog import Catalog  # see _write_probes

            self._catalog = Catalog.from_text("\n".join(self.k.data.functions()))
        return self._catalog

    # -- reads -------------------------------------------------------------------------

    def read(self, rel: str) -> Optional[str]:
        """The text of ``rel`` if it is one of ours, else None."""
        if self.refused and rel in (*FILTER_FILES, "available_filter_functions", *_PID_FILES):
            assert self.k.tfs is not None
            raise self.k.tfs.refusal(rel, "read", OSError(errno.EPERM, ""), None, [])
        if rel in FILTER_FILES:
            if not self.has_functions:
                return None
            return self._render_list(rel)
        if rel in _PID_FILES and self.has_functions:
            pids = self.pids[rel]
            return "".join(f"{p}\n" for p in pids) if pids else "no pid\n"
        if rel == STACK_TRACER_SYSCTL:
            return "1\n" if self.stack_enabled else "0\n"
        if rel == "stack_max_size" and self.recorded_stack:
            if self.stack_enabled and self.stack_max < self.recorded_stack:
                # Tracing again, the kernel meets the deepest stack again.
                self.stack_max = self.recorded_stack
            return f"{self.stack_max}\n"
        if rel == "stack_trace" and self.recorded_stack:
            text = self.text(self.k.data.meta["stack_trace"])
            if self.stack_max == 0:
                return "        Depth    Size   Location    (0 entries)\n        -----    ----   --------\n"
            return text
        if rel == "tracing_max_latency" and self.k.data.meta.get("reports"):
            return f"{self._latency()}\n"
        if rel == "trace":
            report = self.k.data.meta.get("reports", {}).get(self.k.tracer)
            if report and self._latency():
                return self.text(report)
            return None
        if rel in _PROBE_FILES:
            return "".join(self._listed(p) + "\n" for p in self.probes[rel])
        return None

    def _latency(self) -> int:
        tracer = self.k.tracer
        recorded = int(self.k.data.meta.get("max_latency", {}).get(tracer, 0) or 0)
        if tracer in _LATENCY and recorded and self._latency_reset_for != tracer:
            # The latency tracer is running: its recorded maximum has been seen.
            self.max_latency = max(self.max_latency, recorded)
        return self.max_latency

    def _render_list(self, rel: str) -> str:
        listed = self.lists[rel]
        triggers = self.triggers if rel == "set_ftrace_filter" else []
        head = ""
        if not listed:
            head = (
                "#### no functions disabled ####\n"
                if rel in _NOTRACE_FILES
                else "#### all functions enabled ####\n"
            )
            if not triggers:
                # No names to look up, so no catalog to build (the start's probe reads
                # every list; building the catalog took 20 ms of the first frame).
                return head
        cat = self.catalog
        body = "".join(cat.line(i) + "\n" for i in listed)
        body += "".join(self._trigger_line(t) + "\n" for t in triggers)
        return head + body

    def _trigger_line(self, t: _Trigger) -> str:
        name = self.catalog.entry(t.index)[0]
        s = f"{name}:{t.command}"
        if t.event is not None:
            s += f":{t.event[0]}:{t.event[1]}"
        return s + (":unlimited" if t.count is None else f":count={t.count}")

    @staticmethod
    def _listed(p: Probe) -> str:
        head = ("r" if p.ret else "p") + (str(p.maxactive) if p.maxactive else "")
        return " ".join([f"{head}:{p.group}/{p.event}", p.target, *p.args])

    # -- writes -------------------------------------------------------------------------

    def _refuse(self, rel: str, value: str, err: int, append: bool, log: List[str]) -> TracefsError:
        return self.k._refuse(rel, value, err, append, log)

    def write(self, rel: str, value: str, append: bool) -> bool:
        """Handle a write to one of our files; False when ``rel`` is not ours."""
        if self.refused and (
            rel in (*FILTER_FILES, *_PID_FILES)
            or (rel == "current_tracer" and value.strip().startswith("function"))
        ):
            raise self._refuse(rel, value, errno.EPERM, append, [])
        if rel in FILTER_FILES:
            if not self.has_functions:
                raise self._refuse(rel, value, errno.EPERM, append, [])
            self._write_list(rel, value, append)
        elif rel in _PID_FILES and self.has_functions:
            self._write_pids(rel, value, append)
        elif rel == STACK_TRACER_SYSCTL:
            v = value.strip()
            if v not in ("0", "1"):
                raise self._refuse(rel, value, errno.EINVAL, append, [])
            self.stack_enabled = v == "1"
        elif rel == "stack_max_size" and self.recorded_stack:
            v = value.strip()
            if not v.isdigit():
                raise self._refuse(rel, value, errno.EINVAL, append, [])
            self.stack_max = int(v)
        elif rel == "tracing_max_latency" and self.k.data.meta.get("reports"):
            v = value.strip()
            if not v.isdigit():
                raise self._refuse(rel, value, errno.EINVAL, append, [])
            self.max_latency = int(v)
            self._latency_reset_for = self.k.tracer
        elif rel == "current_tracer":
            # A new tracer: its maximum is measured afresh (the caller then switches).
            self._latency_reset_for = None
            return False
        elif rel in _PROBE_FILES:
            self._write_probes(rel, value, append)
        else:
            return False
        return True

    def _write_list(self, rel: str, value: str, append: bool) -> None:
        lst = self.lists[rel]
        if not append:
            lst.clear()  # the kernel truncates on open, before it parses anything
        cat = self.catalog
        for word in value.split():
            neg = word.startswith("!")
            w = word[1:] if neg else word
            if rel == "set_ftrace_filter" and ":" in w and ":mod:" not in w:
                self._write_trigger(rel, word, w, neg, append)
                continue
            if rel not in _INDEX_FILES and (w.isdigit() or ":mod:" in w):
                raise self._refuse(rel, value, errno.EINVAL, append, [])
            if w.isdigit():
                hits = [int(w)] if 1 <= int(w) <= len(cat) else []
            else:
                try:
                    hits = cat.match(w)
                except FtopError:
                    hits = []
            if not hits:
                raise self._refuse(rel, value, errno.EINVAL, append, [])
            if neg:
                drop = set(hits)
                lst[:] = [i for i in lst if i not in drop]
            else:
                have = set(lst)
                lst.extend(i for i in hits if i not in have)
        self._sync_names()

    def _sync_names(self) -> None:
        """Keep the kernel's name lists (the replay filters on them) in step."""
        for name in self.k.func_lists:
            if name in self.lists:
                self.k.func_lists[name] = [self.catalog.entry(i)[0] for i in self.lists[name]]

    def _write_trigger(self, rel: str, word: str, spec: str, neg: bool, append: bool) -> None:
        parts = spec.split(":")
        func, command, rest = parts[0], parts[1], parts[2:]
        if command not in _TRIGGER_COMMANDS:
            raise self._refuse(rel, word, errno.EINVAL, append, [])
        event: Optional[Tuple[str, str]] = None
        if command in ("enable_event", "disable_event"):
            if len(rest) < 2 or rest[1] not in self.k.data.catalog.get(rest[0], {}):
                raise self._refuse(rel, word, errno.EINVAL, append, [])
            event, rest = (rest[0], rest[1]), rest[2:]
        count: Optional[int] = None
        if rest:
            # ftrace.c parses one count after the command: "traceoff:2:junk" is EINVAL.
            if len(rest) > 1 or not rest[0].isdigit() or command in ("dump", "cpudump"):
                raise self._refuse(rel, word, errno.EINVAL, append, [])
            count = int(rest[0])
        try:
            hits = self.catalog.match(func)
        except FtopError:
            hits = []
        if not hits:
            raise self._refuse(rel, word, errno.EINVAL, append, [])
        if neg:
            counted = count is not None
            keep = [
                t
                for t in self.triggers
                if not (
                    t.index in hits
                    and t.command == command
                    and t.event == event
                    and (t.count is not None) == counted
                )
            ]
            if len(keep) == len(self.triggers):
                raise self._refuse(rel, word, errno.ENODEV, append, [])
            self.triggers = keep
            return
        for i in hits:
            new = _Trigger(i, command, event, count)
            self.triggers = [t for t in self.triggers if t.identity() != new.identity()]
            self.triggers.append(new)

    def _write_pids(self, rel: str, value: str, append: bool) -> None:
        words = value.split()
        if any(not w.isdigit() for w in words):
            raise self._refuse(rel, value, errno.EINVAL, append, [])
        if not append:
            self.pids[rel] = []
        for w in words:
            if int(w) not in self.pids[rel]:
                self.pids[rel].append(int(w))

    # -- probes -------------------------------------------------------------------------

    def _write_probes(self, rel: str, value: str, append: bool) -> None:
        # Imported on the first probe write, as the function catalog on its first use:
        # the demo's first frame needs neither (issue 10).
        from ftop.engine.demo.probe_args import ProbeArgError, check_probe_args
        from ftop.engine.ftrace.probes import parse_probe

        kind = _PROBE_FILES[rel]
        have = self.probes[rel]
        if not append:
            if any(self._enabled(p) for p in have):
                raise self._refuse(rel, value, errno.EBUSY, append, [])
            for p in list(have):
                self._drop_event(p)
            have.clear()
        for line in value.splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("-:"):
                name = line[2:]
                hits = [p for p in have if name in (p.name, p.event)]
                if not hits:
                    raise self._refuse(rel, value, errno.ENOENT, append, [])
                if any(self._enabled(p) for p in hits):
                    raise self._refuse(rel, value, errno.EBUSY, append, [])
                for p in hits:
                    have.remove(p)
                    self._drop_event(p)
                continue
            # The kernel's error_log quotes the command with its words joined by one space.
            line = " ".join(line.split())
            words = line.split()
            log_kind = "trace_kprobe" if kind == "kprobe" else "trace_uprobe"
            if len(words) >= 2:
                is_ret = words[0].startswith("r") or words[1].endswith("%return")
                try:
                    check_probe_args(line, is_ret, kind)
                except ProbeArgError as e:
                    log = self.k._log_error(log_kind, e.message, line, e.pos)
                    raise self._refuse(rel, value, errno.EINVAL, append, log) from None
            try:
                probe = parse_probe(line, kind)
            except ConfigError:
                raise self._refuse(rel, value, errno.EINVAL, append, []) from None
            if kind == "kprobe":
                sym = re.split(r"[+%]", probe.target.split(":")[-1], maxsplit=1)[0]
                if sym not in self.catalog and not sym.startswith("0x"):
                    raise self._refuse(rel, value, errno.ENOENT, append, self._bad_symbol(line))
            else:
                path = probe.target.rsplit(":", 1)[0]
                if not os.path.isfile(path):
                    # trace_uprobe.c: kern_path() failed; caret under the file (argv[1]).
                    log = self.k._log_error(
                        log_kind, "Failed to find the given file", line, len(words[0]) + 1
                    )
                    raise self._refuse(rel, value, errno.ENOENT, append, log)
            if any(p.name == probe.name for p in self.probes["kprobe_events"]) or any(
                p.name == probe.name for p in self.probes["uprobe_events"]
            ):
                raise self._refuse(rel, value, errno.EEXIST, append, [])
            have.append(probe)
            self._add_event(probe)

    def _bad_symbol(self, line: str) -> List[str]:
        """The error_log entry the lab kernel wrote for an unknown symbol, caret under it."""
        message = str(
            self.k.data.meta.get(
                "kprobe_error", "trace_kprobe: error: Invalid probed address or symbol"
            )
        )
        kind, _, text = message.partition(": error: ")
        parts = line.split()
        pos = len(parts[0]) + 1 if len(parts) > 1 else 0
        return self.k._log_error(kind, text, line, pos)

    def _enabled(self, p: Probe) -> bool:
        return f"{p.group}/{p.event}" in self.k.enabled

    def _add_event(self, p: Probe) -> None:
        cat = self.k.data.catalog
        cat.setdefault(p.group, {})[p.event] = None
        self.k.event_system.setdefault(p.event, p.group)
        os.makedirs(os.path.join(self.k.root, "events", p.group, p.event), exist_ok=True)

    def _drop_event(self, p: Probe) -> None:
        cat = self.k.data.catalog
        cat.get(p.group, {}).pop(p.event, None)
        if p.group in cat and not cat[p.group]:
            del cat[p.group]
        self.k.enabled.discard(f"{p.group}/{p.event}")
        base = os.path.join(self.k.root, "events", p.group)
        for d in (os.path.join(base, p.event), base):
            with contextlib.suppress(OSError):
                os.rmdir(d)
