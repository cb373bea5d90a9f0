"""Changes applied as one transaction: when the kernel refuses one write, undo the rest.

Each :class:`Change` knows how to read what it is about to overwrite and how to
put it back, by the kind of file it writes (a filter file is undone by
rewriting its old list, a trigger by its `!`-form, a probe by `-:name`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

from ftop.engine.control.state import (
    FUNCTION_FILTER_FILES,
    _buffer_kb,
    _selected,
    probe_name,
    split_function_filter,
    trigger_removal,
    write_function_list,
)
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import TracefsError


@dataclass
class Change:
    """One write to a tracefs file (relative to the working directory).

    Attributes:
        rel: the file, e.g. ``events/sched/sched_switch/enable``.
        value: what to write.
        append: ``>>`` rather than ``>`` (the kernel treats them differently
            for the function-filter and probe files).
        mkdir: create the instance named ``rel`` instead of writing.
    """

    rel: str
    value: str = ""
    append: bool = False
    mkdir: bool = False
    describe: str = ""

    def __str__(self) -> str:
        if self.describe:
            return self.describe
        if self.mkdir:
            return f"mkdir {self.rel}"
        return f"echo '{self.value}' {'>>' if self.append else '>'} {self.rel}"


Undo = Callable[[], None]


def _strip(text: Optional[str]) -> str:
    return (text or "").strip()


def prepare_undo(tfs: Tracefs, ch: Change) -> Undo:
    """Read what ``ch`` will overwrite and return the closure that puts it back."""
    rel = ch.rel
    if ch.mkdir:

        def rm() -> None:
            tfs.remove_instance(rel)

        return rm
    name = rel.rsplit("/", 1)[-1]
    if name in FUNCTION_FILTER_FILES or name == "stack_trace_filter":
        old = [
            ln.strip()
            for ln in (tfs.read_or(rel) or "").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
        funcs, _triggers = split_function_filter(old)
        value = ch.value.strip()
        if value and _is_trigger_word(value.split()[0]):
            # A trigger: its own undo is the `!` form; the function list is untouched.
            if value.startswith("!"):
                return lambda: None  # removing a trigger: count restore is not possible
            return lambda: tfs.write(rel, trigger_removal(value), append=True)
        return lambda: write_function_list(tfs, rel, funcs)
    if name == "trigger":
        value = ch.value.strip()
        if value.startswith("!"):
            old_lines = [
                ln for ln in (tfs.read_or(rel) or "").splitlines() if ln and not ln.startswith("#")
            ]

            def readd() -> None:
                from ftop.engine.control.state import trigger_spec

                for ln in old_lines:
                    if trigger_removal(ln) == value.split(" if ")[0]:
                        tfs.write(rel, trigger_spec(ln), append=True)

            return readd
        return lambda: tfs.write(rel, trigger_removal(value), append=True)
    if name in ("kprobe_events", "uprobe_events", "dynamic_events"):
        value = ch.value.strip()
        if value.startswith("-:"):
            old_defs = [ln for ln in (tfs.read_or(rel) or "").splitlines() if ln.strip()]
            target = value[2:]
            defs = [d for d in old_defs if probe_name(d) == target]

            def recreate() -> None:
                for d in defs:
                    tfs.write(rel, d, append=True)

            return recreate
        pname = probe_name(value)
        return lambda: tfs.write(rel, f"-:{pname}", append=True)
    if name == "enable" and rel.count("/") <= 2:
        # events/enable or events/<sys>/enable reads 0, 1 or X (mixed): put each
        # event of the system back as it was rather than writing "X".
        return _undo_group_enable(tfs, rel)
    prior = tfs.read_or(rel)
    if prior is None:
        return lambda: None
    old_text: str = prior
    if name == "filter":
        restored = _strip(old_text)
        restored = "0" if restored in ("none", "") else restored
    elif name == "trace_clock":
        restored = _selected(old_text)
    elif name == "buffer_size_kb":
        restored = _buffer_kb(old_text)
    elif name in (
        "set_event_pid",
        "set_ftrace_pid",
        "set_event_notrace_pid",
        "set_ftrace_notrace_pid",
    ):
        restored = " ".join(
            ln.strip() for ln in old_text.splitlines() if ln.strip() and ln.strip() != "no pid"
        )
    elif name == "set_event":
        enabled = [ln.strip() for ln in old_text.splitlines() if ln.strip()]
        return lambda: tfs.write(rel, " ".join(enabled), append=False)
    else:
        restored = _strip(old_text)
    return lambda: tfs.write(rel, restored, append=False)


def _undo_group_enable(tfs: Tracefs, rel: str) -> Undo:
    system = rel.split("/")[1] if rel.count("/") == 2 else None
    enabled = [
        ln.strip().replace(":", "/", 1)
        for ln in (tfs.read_or("set_event") or "").splitlines()
        if ln.strip() and (system is None or ln.startswith(system + ":"))
    ]

    def undo() -> None:
        tfs.write(rel, "0")
        for ev in enabled:
            tfs.write(f"events/{ev}/enable", "1")

    return undo


def _is_trigger_word(word: str) -> bool:
    """`func:cmd[:...]` is a trigger; `func:mod:m` and `:mod:m` select by module."""
    return ":" in word.lstrip("!") and ":mod:" not in word


def _refusal_changes_state(ch: Change) -> bool:
    if ch.mkdir:
        return False
    name = ch.rel.rsplit("/", 1)[-1]
    if name == "filter":
        return True
    if name in FUNCTION_FILTER_FILES or name == "stack_trace_filter":
        first = ch.value.strip().split()[0] if ch.value.strip() else ""
        return not _is_trigger_word(first)
    return False


@dataclass
class TransactionResult:
    applied: List[Change] = field(default_factory=list)
    failed: Optional[Change] = None
    error: Optional[TracefsError] = None
    undo_errors: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


# A failed transaction raises the kernel's own typed refusal (InvalidArgument,
# PermissionRefused...) with ``failed``, ``rolled_back`` and ``undo_errors`` set,
# so callers can catch either the specific error or any TracefsError.
TransactionError = TracefsError


def apply(tfs: Tracefs, changes: List[Change]) -> TransactionResult:
    """Apply ``changes`` in order. On the first refusal, undo the applied ones in
    reverse order and re-raise the kernel's refusal (``e.failed`` is the change)."""
    result = TransactionResult()
    undos: List[Undo] = []
    for ch in changes:
        try:
            undo = prepare_undo(tfs, ch)
            if ch.mkdir:
                tfs.make_instance(ch.rel)
            else:
                tfs.write(ch.rel, ch.value, append=ch.append)
        except TracefsError as e:
            if _refusal_changes_state(ch):
                # Some refusals are not no-ops: a refused event filter replaces
                # the previous one (disabled, showing its parse error); a refused
                # replace of a function-filter file has already emptied it at
                # open(O_TRUNC), and the words before the bad one were taken.
                # Put the previous content back.
                try:
                    undo()
                except (TracefsError, OSError) as ue:
                    result.undo_errors.append(f"{ch}: {ue}")
            for done, u in zip(reversed(result.applied), reversed(undos)):
                try:
                    u()
                except (TracefsError, OSError) as ue:
                    result.undo_errors.append(f"{done}: {ue}")
            e.failed = ch
            e.rolled_back = bool(result.applied)
            e.undo_errors = result.undo_errors
            raise e from None
        undos.append(undo)
        result.applied.append(ch)
    return result
