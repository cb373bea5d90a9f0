"""The setup screen: trace options as toggles, buffer size, clock, CPU mask, and the instance to work in.

Keys follow trace-cmd where it has a letter: ``b`` buffer_size_kb (``-b``),
``C`` trace_clock (``-C``), ``M`` tracing_cpumask (``-M``), ``B`` the instance
(``-B``). Each change is one transaction through the session; an instance is
created, journaled and removed on exit by the session.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Set, Tuple

from ftop.engine.control.instance import InstanceInfo, list_instances, remove_instance
from ftop.engine.errors import ConfigError, FtopError
from ftop.engine.ftrace.options import (
    Option,
    list_options,
    parse_cpumask,
    plan_buffer_size_kb,
    plan_cpumask,
    plan_option,
    plan_trace_clock,
    read_buffer_size_kb,
    read_trace_clock,
)
from ftop.tui.registry import ScreenSpec, bindings_for, command, commands_for, register_screen
from ftop.tui.screens.saved_trace import SavedTraceNote, is_saved_trace, saved_trace_allows
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors, plural
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import ChangesMixin, ChoiceDialog, RowList
from ftop.tui.widgets.printable import printable
from rich.text import Text
from textual import work
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static

__all__ = ["SetupScreen", "check_cpus_present", "cpu_list", "parse_cpu_list"]

S = "setup"
command(
    "setup.toggle",
    "space",
    "toggle_row",
    "On/off",
    "switch the option under the cursor",
    key_display="space",
)
command("setup.buffer", "b", "edit_buffer", "Buffer", "buffer_size_kb per CPU (trace-cmd -b)")
command("setup.clock", "C", "choose_clock", "Clock", "trace_clock (trace-cmd -C)")
command(
    "setup.cpumask",
    "M",
    "edit_cpumask",
    "CPUs",
    "tracing_cpumask: which CPUs record (trace-cmd -M)",
)
command(
    "setup.instance",
    "B",
    "choose_instance",
    "Instance",
    "work in an instance, created if new and removed on exit (trace-cmd -B)",
)
command(
    "setup.remove", "D", "remove_instance", "Rm inst", "remove an instance (its buffer is lost)"
)
command(
    "setup.relevant",
    "a",
    "all_options",
    "All opts",
    "show every option, or those of the current tracer",
    show=False,
)


def parse_cpu_list(text: str) -> Set[int]:
    """``0-3,6`` -> {0, 1, 2, 3, 6} (the kernel's cpulist form)."""
    out: Set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m is None:
            raise ConfigError(f"'{part}': CPUs are numbers and ranges, e.g. 0-3,6")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if b < a:
            raise ConfigError(f"'{part}': a range goes up")
        out.update(range(a, b + 1))
    return out


def check_cpus_present(chosen: Set[int], present: Set[int]) -> Set[int]:
    """``chosen``, if every CPU in it is one this machine has.

    The kernel refuses a mask with bits past its CPUs (EOVERFLOW, a bare
    "Value too large"), and a CPU it has but that is offline records nothing:
    either way the user meant something else, so say which CPUs there are.

    Raises:
        ConfigError: names the CPUs that are not there.
    """
    missing = chosen - present if present else set()
    if missing:
        raise ConfigError(
            f"no CPU {cpu_list(missing)} here: this machine has CPUs {cpu_list(present)}"
        )
    return chosen


def cpu_list(cpus: Iterable[int]) -> str:
    """{0, 1, 2, 3, 6} -> ``0-3,6``."""
    xs = sorted(set(cpus))
    out: List[str] = []
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        out.append(str(xs[i]) if i == j else f"{xs[i]}-{xs[j]}")
        i = j + 1
    return ",".join(out)


@dataclass
class SetupState:
    options: List[Option]
    buffer_kb: Optional[int]
    total_kb: Optional[int]
    clock: str
    clocks: List[str]
    cpumask: Optional[Set[int]]
    ncpus: int
    cpus: Set[int]  # the CPUs tracefs has a per_cpu/cpuN for (a mask may name only these)
    instance: Optional[str]
    instances: List[InstanceInfo]
    tracer: str


_OWN_ACTIONS = tuple(c.action for c in commands_for(S))


class SetupScreen(ChangesMixin, FtopScreen):
    """Options, buffer, clock, CPU mask and instance."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    SetupScreen #panes { height: 1fr; }
    SetupScreen #opts-box { width: 3fr; }
    SetupScreen #side { width: 2fr; height: 1fr; min-width: 30; padding: 0 1; background: $surface;
        border-left: vkey $panel; }
    SetupScreen .caption { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    SetupScreen #options { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.settings: Optional[SetupState] = None
        self.only_relevant = True
        self.options: RowList[Option] = RowList(self._render_option, id="options")

    def compose_body(self) -> Iterable[Widget]:
        if is_saved_trace(self.backend):
            yield SavedTraceNote(
                self.backend, "trace options, buffer size, clock, CPU mask and instances"
            )
            return
        yield Horizontal(
            Vertical(
                Label("trace options", id="opts-caption", classes="caption"),
                self.options,
                id="opts-box",
            ),
            Static(id="side"),
            id="panes",
        )

    def on_mount(self) -> None:
        if is_saved_trace(self.backend):
            return  # nothing to read: the note says why
        self.ftop.status_signal.subscribe(self, self.on_status)
        self.options.focus()
        self.reload()

    def check_action(self, action: str, parameters: Tuple[object, ...]) -> Optional[bool]:
        # Over a saved trace every key of this screen would be refused: not offered.
        if not saved_trace_allows(self.backend, action, _OWN_ACTIONS):
            return False
        return super().check_action(action, parameters)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.settings is not None:
            self.reload()

    def on_status(self, info: StatusInfo) -> None:
        st = self.settings
        if st is not None and self.is_active and info.status.tracer not in ("?", st.tracer):
            self.reload()

    # -- loading ------------------------------------------------------------------------

    def reload(self) -> None:
        self._load(self.begin_read("setup-load"))

    @work(thread=True, exclusive=True, group="setup-load", exit_on_error=False)
    def _load(self, gen: int) -> None:
        sess = self.backend
        tfs = self.tracefs
        clock, clocks = read_trace_clock(tfs)
        mask_text = tfs.read_or("tracing_cpumask")
        try:
            mask = parse_cpumask(mask_text) if mask_text is not None else None
        except ConfigError:
            mask = None
        cpus = {int(d[3:]) for d in _list(tfs.path / "per_cpu") if re.fullmatch(r"cpu\d+", d)}
        ncpus = len(cpus)
        created = list(sess.journal.created_instances) if sess.journal is not None else []
        total = tfs.read_or("buffer_total_size_kb")
        st = SetupState(
            list_options(tfs),
            read_buffer_size_kb(tfs),
            int(total.strip()) if total and total.strip().isdigit() else None,
            clock,
            clocks,
            mask,
            ncpus,
            cpus,
            tfs.instance,
            list_instances(tfs, created),
            (tfs.read_or("current_tracer") or "?").strip(),
        )
        self.deliver_read("setup-load", gen, self._loaded, st)

    def _loaded(self, st: SetupState) -> None:
        self.settings = st
        self.show_options()
        self.show_side()

    # -- display ---------------------------------------------------------------------------

    def show_options(self) -> None:
        st = self.settings
        if st is None:
            return
        opts = [o for o in st.options if not o.name.startswith("test_")]
        if self.only_relevant:
            opts = [o for o in opts if o.applies_to(st.tracer)]
        keep = self.options.current
        self.options.set_rows(opts, keep=(lambda o: o.name == keep.name) if keep else None)
        what = f"for {st.tracer} and every tracer" if self.only_relevant else "of every tracer"
        on = sum(1 for o in opts if o.enabled)
        self.query_one("#opts-caption", Label).update(
            f"trace options {what} ({on} on; a: {'all' if self.only_relevant else 'fewer'})"
        )

    def _render_option(self, o: Option, width: int) -> Text:
        lst = self.options
        t = Text()
        t.append(" [x] " if o.enabled else " [ ] ", style=lst.style_of("mark"))
        t.append(f"{o.name:<20}", style="bold" if o.enabled else "")
        if o.tracers and width > 50:
            t.append(
                f" {','.join(o.tracers[:2])}{glyphs().ellipsis if len(o.tracers) > 2 else ''}:",
                style=lst.style_of("accent"),
            )
        t.append(f" {o.description}", style=lst.style_of("dim"))
        return t

    def show_side(self) -> None:
        st = self.settings
        if st is None:
            return
        tv = ThemeColors(self.app)
        muted = tv.get("foreground-muted", "")
        key = f"bold {tv.get('primary', 'blue')}"
        t = Text()
        t.append("working in ", style=muted)
        t.append(f"instance {st.instance}" if st.instance else "the top level", style="bold")
        t.append("\n\n")
        t.append("b ", style=key)
        t.append("buffer_size_kb  ", style=muted)
        if st.buffer_kb is None:
            t.append("differs per CPU\n")
        else:
            t.append(f"{st.buffer_kb:,} KB", style="bold")
            t.append(" per CPU")
            if st.total_kb:
                t.append(f" ({st.total_kb:,} KB in all)", style=muted)
            t.append("\n")
        t.append("C ", style=key)
        t.append("trace_clock     ", style=muted)
        t.append(st.clock or "?", style="bold")
        others = [c for c in st.clocks if c != st.clock]
        if others:
            t.append(
                f"  ({', '.join(others[:5])}{' ' + glyphs().ellipsis if len(others) > 5 else ''})",
                style=muted,
            )
        t.append("\n")
        t.append("M ", style=key)
        t.append("tracing_cpumask ", style=muted)
        if st.cpumask is None:
            t.append("?\n")
        else:
            t.append(cpu_list(st.cpumask) or "none", style="bold")
            t.append(f"  (of {plural(st.ncpus, 'CPU')})\n" if st.ncpus else "\n", style=muted)
        t.append("\n")
        t.append("B ", style=key)
        t.append("instances", style="bold")
        t.append("  (D removes one)\n", style=muted)
        if not st.instances:
            t.append("  none: B makes one, removed when ftop exits\n", style=muted)
        for inst in st.instances:
            mark = f"{glyphs().collapsed} " if inst.name == st.instance else "  "
            # Instance names are directories anyone with root made: escapes made visible.
            t.append(mark + printable(inst.name), style="bold" if inst.name == st.instance else "")
            t.append(
                f"  {inst.tracer}, {'on' if inst.tracing_on else 'off'}, {plural(inst.events_enabled, 'event')}"
                + (" (ftop's)" if inst.created_by_ftop else ""),
                style=muted,
            )
            t.append("\n")
        self.query_one("#side", Static).update(t)

    # -- actions ------------------------------------------------------------------------

    def _after(self) -> None:
        self.reload()

    def action_all_options(self) -> None:
        self.only_relevant = not self.only_relevant
        self.show_options()

    def action_toggle_row(self) -> None:
        # Not action_toggle: that is Textual's own action (toggle an attribute).
        o = self.options.current
        if o is None:
            return
        want = not o.enabled
        self.apply_changes([plan_option(o.name, want)], f"option {o.name}", self._after)

    def action_edit_buffer(self) -> None:
        st = self.settings
        if st is None:
            return
        sess = self.backend

        def submit(value: str) -> None:
            v = value.strip().lower().removesuffix("kb").strip()
            if not v.isdigit():
                raise ConfigError(f"buffer_size_kb: a size in KB per CPU (got '{value.strip()}')")
            sess.apply([plan_buffer_size_kb(int(v))])

        self.app.push_screen(
            EditDialog(
                "buffer_size_kb (per CPU)",
                "" if st.buffer_kb is None else str(st.buffer_kb),
                submit,
                hints=["bigger loses fewer events under load; every CPU gets this much"],
            ),
            lambda _: self.reload(),
        )

    def action_choose_clock(self) -> None:
        st = self.settings
        if st is None or not st.clocks:
            return
        keys = "abcdefghijklmnop"
        choices = [(keys[i], c) for i, c in enumerate(st.clocks[: len(keys)])]
        body = Text(
            "local: fast, per CPU (may drift between CPUs); global: in step across CPUs, "
            "slower; mono/boot: match clock_gettime(); x86-tsc: raw cycles. Now: "
        )
        body.append(st.clock, style="bold")

        def answer(key: Optional[str]) -> None:
            clock = dict(choices).get(key or "")
            if clock and clock != st.clock:
                try:
                    change = plan_trace_clock(clock, st.clocks)
                except ConfigError as e:
                    self.app.notify(str(e), severity="error")
                    return
                self.apply_changes([change], f"trace_clock {clock}", self._after)

        self.app.push_screen(ChoiceDialog("trace_clock", body, choices), answer)

    def action_edit_cpumask(self) -> None:
        st = self.settings
        if st is None or st.cpumask is None:
            self.app.notify("tracing_cpumask is not readable here", severity="warning")
            return
        sess = self.backend

        def submit(value: str) -> None:
            sess.apply([plan_cpumask(check_cpus_present(parse_cpu_list(value), st.cpus))])

        self.app.push_screen(
            EditDialog(
                "tracing_cpumask: the CPUs that record",
                cpu_list(st.cpumask),
                submit,
                hints=[
                    f"CPU numbers and ranges, e.g. 0-1 (this machine: 0-{max(0, st.ncpus - 1)})"
                ],
            ),
            lambda _: self.reload(),
        )

    def action_choose_instance(self) -> None:
        st = self.settings
        if st is None:
            return
        names = ", ".join(i.name for i in st.instances) or "none yet"

        def submit(value: str) -> None:
            self._use_instance(value.strip() or None)

        self.app.push_screen(
            EditDialog(
                "Work in an instance (its own buffer, tracer, events and options)",
                st.instance or "",
                submit,
                hints=[
                    f"existing: {names}",
                    "a new name creates it (removed when ftop exits); empty: the top level",
                ],
                placeholder="empty: the top level",
            ),
            lambda result: self._instance_done(result),
        )

    def _use_instance(self, name: Optional[str]) -> None:
        """Runs on the dialog's worker: the session switches (and journals a new instance)."""
        self.backend.use_instance(name)

    def _instance_done(self, result: Optional[str]) -> None:
        if result is not None:
            where = f"instance {result.strip()}" if result.strip() else "the top level"
            self.app.notify(f"now working in {where}", title="instance")
            self.ftop.poll_now()
        self.reload()

    def action_remove_instance(self) -> None:
        st = self.settings
        if st is None or not st.instances:
            self.app.notify("there is no instance to remove")
            return
        keys = "abcdefghijklmnop"
        choices = [(keys[i], inst.name) for i, inst in enumerate(st.instances[: len(keys)])]
        body = Text("Its buffer and settings are lost; the restore on exit will not bring it back.")

        def answer(key: Optional[str]) -> None:
            name = dict(choices).get(key or "")
            if name:
                self._remove(name)

        self.app.push_screen(ChoiceDialog("Remove an instance", body, choices), answer)

    @work(thread=True, group="setup-remove", exit_on_error=False)
    def _remove(self, name: str) -> None:
        try:
            remove_instance(self.backend, name)
        except FtopError as e:
            self.app.call_from_thread(self.show_refusal, f"remove instance {name}", e)
        self.app.call_from_thread(self._after)
        self.ftop.poll_now()


def _list(path: object) -> List[str]:
    try:
        return sorted(os.listdir(str(path)))
    except OSError:
        return []


register_screen(
    ScreenSpec(
        S,
        "Setup",
        "9",
        SetupScreen,
        "trace options, buffer size, clock, CPU mask, instances",
        order=90,
    )
)
