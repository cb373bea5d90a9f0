"""The tracers screen: every tracer with a line on what it does, and switching while the trace streams.

The options that matter for the highlighted tracer sit beside the list
(``func_stack_trace``, ``funcgraph-*``, ``max_graph_depth``,
``tracing_thresh``...). Changes to them are staged and go to the kernel
together with the switch, as one transaction: if the kernel refuses any part,
nothing changes. Starting ``function`` or ``function_graph`` with no filter
asks first, says what it costs, and offers the filter editor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from ftop.engine.control.capabilities import TRACER_DESCRIPTIONS
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError, FtopError
from ftop.engine.ftrace.filter import plan_max_graph_depth, read_filter, read_ftrace_pid
from ftop.engine.ftrace.latency import LATENCY_TRACERS, plan_thresh
from ftop.engine.ftrace.options import Option, list_options, plan_option
from ftop.tui.registry import ScreenSpec, bindings_for, command, commands_for, register_screen
from ftop.tui.screens.saved_trace import SavedTraceNote, is_saved_trace, saved_trace_allows
from ftop.tui.widgets.base import FtopScreen, StatusInfo, ThemeColors
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import ChangesMixin, ChoiceDialog, RowList
from rich.text import Text
from textual import on, work
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static

__all__ = ["TracerRow", "TracersScreen"]

S = "tracers"
command(
    "tracers.switch",
    "enter",
    "switch",
    "Switch",
    "make the highlighted tracer current, with the staged options, in one transaction",
    key_display="⏎",
)
command(
    "tracers.option",
    "space",
    "toggle_option",
    "Option",
    "stage an option on or off (applied with the switch)",
    key_display="space",
)
command("tracers.depth", "d", "edit_depth", "Depth", "stage max_graph_depth (function_graph)")
command("tracers.thresh", "h", "edit_thresh", "Thresh", "stage tracing_thresh in us")
command("tracers.filters", "f", "open_filters", "Filters", "open the function filter editor")
command("tracers.pane", "tab", "other_pane", "Pane", "move between tracers and options", show=False)
command("tracers.discard", "escape", "discard", "Discard", "drop the staged changes", show=False)

# Scalar settings shown beside the options, and the tracers they matter to.
_DEPTH_TRACERS = ("function_graph",)
_THRESH_TRACERS = ("function_graph", *LATENCY_TRACERS)
_FUNCTION_TRACERS = ("function", "function_graph")


@dataclass
class TracerRow:
    """One tracer: its name, whether it can be used here and why not."""

    name: str
    description: str
    refusal: Optional[str] = None
    current: bool = False


@dataclass
class OptionRow:
    """A row of the options pane: an option, or a scalar (``max_graph_depth``)."""

    name: str
    value: str
    description: str
    staged: Optional[str] = None
    kind: str = "option"  # "option" or "scalar"


@dataclass
class Loaded:
    tracers: List[TracerRow]
    options: List[Option]
    depth: Optional[int]
    thresh: Optional[int]
    current: str
    instance: Optional[str]
    notes: List[str] = field(default_factory=list)


_OWN_ACTIONS = tuple(c.action for c in commands_for(S))


class TracersScreen(ChangesMixin, FtopScreen):
    """available_tracers, what each does, and a transactional switch."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    TracersScreen #panes { height: 1fr; }
    TracersScreen #tracer-list { width: 3fr; }
    TracersScreen #side { width: 2fr; min-width: 30; background: $surface; border-left: vkey $panel; }
    TracersScreen .caption { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    TracersScreen #option-list { height: 1fr; background: $surface; }
    TracersScreen #about { height: auto; max-height: 6; padding: 0 1; color: $foreground-muted; }
    TracersScreen #info { height: 1; background: $surface; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.loaded: Optional[Loaded] = None
        self.staged_options: Dict[str, bool] = {}
        self.staged_depth: Optional[int] = None
        self.staged_thresh: Optional[int] = None
        self.tracer_list: RowList[TracerRow] = RowList(self._render_tracer, id="tracer-list")
        self.option_list: RowList[OptionRow] = RowList(self._render_option, id="option-list")
        self.message = ""

    def compose_body(self) -> Iterable[Widget]:
        if is_saved_trace(self.backend):
            yield SavedTraceNote(
                self.backend, "the tracers, their options and switching between them"
            )
            return
        yield Horizontal(
            self.tracer_list,
            Vertical(
                Label("options", id="options-caption", classes="caption"),
                self.option_list,
                Static(id="about"),
                id="side",
            ),
            id="panes",
        )
        yield Static(id="info")

    def on_mount(self) -> None:
        if is_saved_trace(self.backend):
            return  # nothing to read: the note says why
        self.ftop.status_signal.subscribe(self, self.on_status)
        self.tracer_list.focus()
        self.reload()

    def check_action(self, action: str, parameters: Tuple[object, ...]) -> Optional[bool]:
        # Over a saved trace every key of this screen would be refused: not offered.
        if not saved_trace_allows(self.backend, action, _OWN_ACTIONS):
            return False
        return super().check_action(action, parameters)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.loaded is not None:
            self.reload()

    # -- loading ---------------------------------------------------------------------

    def reload(self) -> None:
        self._load(self.begin_read("tracers-load"))

    @work(thread=True, exclusive=True, group="tracers-load", exit_on_error=False)
    def _load(self, gen: int) -> None:
        tfs = self.tracefs
        caps = self.backend.caps
        current = (tfs.read_or("current_tracer") or "nop").strip()
        rows: List[TracerRow] = []
        for name in caps.tracers:
            rows.append(
                TracerRow(
                    name,
                    TRACER_DESCRIPTIONS.get(name, ""),
                    caps.tracer_refusal(name),
                    name == current,
                )
            )
        if tfs.instance is not None:
            top = (tfs.top().read_or("available_tracers") or "").split()
            for name in top:
                if name not in caps.tracers:
                    rows.append(
                        TracerRow(
                            name,
                            TRACER_DESCRIPTIONS.get(name, ""),
                            f"not allowed in instance '{tfs.instance}' (the top level has it)",
                        )
                    )
        have = {r.name for r in rows}
        for name, desc in TRACER_DESCRIPTIONS.items():
            if name not in have:
                rows.append(
                    TracerRow(name, desc, "not built into this kernel (not in available_tracers)")
                )
        # Usable first, in the order of TRACER_DESCRIPTIONS (nop, function, function_graph...).
        order = {name: i for i, name in enumerate(TRACER_DESCRIPTIONS)}
        rows.sort(key=lambda r: (r.refusal is not None, order.get(r.name, len(order)), r.name))
        options = list_options(tfs)
        depth = _int_or_none(tfs.read_or("max_graph_depth"))
        thresh = _int_or_none(tfs.read_or("tracing_thresh"))
        data = Loaded(rows, options, depth, thresh, current, tfs.instance)
        self.deliver_read("tracers-load", gen, self._loaded, data)

    def _loaded(self, data: Loaded) -> None:
        first = self.loaded is None
        self.loaded = data
        keep = self.tracer_list.current
        self.tracer_list.set_rows(
            data.tracers,
            keep=(lambda r: r.name == keep.name)
            if keep is not None and not first
            else (lambda r: r.current),
        )
        self.show_side()

    def on_status(self, info: StatusInfo) -> None:
        data = self.loaded
        if data is None or not self.is_active:
            return
        if info.status.tracer != data.current and info.status.tracer != "?":
            self.reload()

    # -- the side pane ------------------------------------------------------------------

    @on(RowList.Moved, "#tracer-list")
    def _tracer_moved(self, event: RowList.Moved) -> None:
        self.show_side()

    def option_rows(self, tracer: str) -> List[OptionRow]:
        data = self.loaded
        if data is None:
            return []
        rows: List[OptionRow] = []
        for opt in data.options:
            # test_nop_* exist to test the option code; they do nothing for a user.
            if opt.tracers and tracer in opt.tracers and not opt.name.startswith("test_"):
                staged = self.staged_options.get(opt.name)
                rows.append(
                    OptionRow(
                        opt.name,
                        "1" if opt.enabled else "0",
                        opt.description,
                        None if staged is None else ("1" if staged else "0"),
                    )
                )
        if tracer in _DEPTH_TRACERS and data.depth is not None:
            rows.append(
                OptionRow(
                    "max_graph_depth",
                    str(data.depth),
                    "call depth: 1 = only the entry function, 0 = no limit; d edits",
                    None if self.staged_depth is None else str(self.staged_depth),
                    "scalar",
                )
            )
        if tracer in _THRESH_TRACERS and data.thresh is not None:
            rows.append(
                OptionRow(
                    "tracing_thresh",
                    str(data.thresh),
                    "us: record only what lasts longer (0: off); h edits",
                    None if self.staged_thresh is None else str(self.staged_thresh),
                    "scalar",
                )
            )
        return rows

    def show_side(self) -> None:
        row = self.tracer_list.current
        if row is None:
            return
        keep = self.option_list.current
        rows = self.option_rows(row.name)
        self.option_list.set_rows(rows, keep=(lambda r: r.name == keep.name) if keep else None)
        cap = self.query_one("#options-caption", Label)
        cap.update(f"options for {row.name}" if rows else f"{row.name}: no options of its own")
        tv = ThemeColors(self.app)
        about = Text()
        about.append(row.name, style=f"bold {tv.get('primary', 'blue')}")
        about.append(f": {row.description}\n" if row.description else "\n")
        if row.refusal:
            about.append(f"cannot be used here: {row.refusal}", style=tv.get("error", "red"))
        elif row.current:
            about.append("the current tracer", style="bold")
        self.query_one("#about", Static).update(about)
        self.update_info()

    def staged_changes(self) -> List[Change]:
        out = [plan_option(n, v) for n, v in sorted(self.staged_options.items())]
        if self.staged_depth is not None:
            out.append(plan_max_graph_depth(self.staged_depth))
        if self.staged_thresh is not None:
            out.append(plan_thresh(self.staged_thresh))
        return out

    def update_info(self) -> None:
        tv = ThemeColors(self.app)
        t = Text(" ")
        n = len(self.staged_changes())
        row = self.tracer_list.current
        if n:
            t.append(f" {n} staged ", style=f"bold reverse {tv.get('accent', 'yellow')}")
            t.append(" ")
        if row is not None and row.current and not n:
            t.append(f"{row.name} is the current tracer", style="bold")
        elif row is not None and row.refusal is None:
            verb = "apply" if row.current else f"switch to {row.name}"
            t.append(f"{glyphs().enter} ", style="bold")
            t.append(f"{verb}" + (" with the staged options" if n else ""))
            t.append(" (one transaction)", style=tv.get("foreground-muted", ""))
        if self.message:
            t.append(" │ " + self.message, style=f"bold {tv.get('accent', 'yellow')}")
        self.query_one("#info", Static).update(t)

    # -- rendering ---------------------------------------------------------------------

    def _render_tracer(self, row: TracerRow, width: int) -> Text:
        lst = self.tracer_list
        t = Text()
        if row.current:
            t.append(f" {glyphs().on} ", style=lst.style_of("mark"))
        elif row.refusal:
            t.append(f" {glyphs().refused} ", style=lst.style_of("dim"))
        else:
            t.append("   ")
        name_w = 16
        t.append(
            f"{row.name:<{name_w}}", style="bold" if row.refusal is None else lst.style_of("dim")
        )
        if row.refusal:
            t.append(row.refusal, style=lst.style_of("dim"))
        else:
            t.append(row.description)
        return t

    def _render_option(self, row: OptionRow, width: int) -> Text:
        lst = self.option_list
        t = Text()
        value = row.staged if row.staged is not None else row.value
        if row.kind == "option":
            t.append(" [x] " if value == "1" else " [ ] ", style=lst.style_of("mark"))
            t.append(row.name)
        else:
            t.append(f" {row.name} = ")
            t.append(value, style="bold")
        if row.staged is not None:
            t.append(" *", style=lst.style_of("accent"))
        if width > 40 and row.description:
            t.append(f"  {row.description}", style=lst.style_of("dim"))
        return t

    # -- actions -------------------------------------------------------------------------

    def action_other_pane(self) -> None:
        if self.tracer_list.has_focus and self.option_list.rows:
            self.option_list.focus()
        else:
            self.tracer_list.focus()

    def action_toggle_option(self) -> None:
        row = self.option_list.current
        if row is None:
            return
        if row.kind == "scalar":
            if row.name == "max_graph_depth":
                self.action_edit_depth()
            else:
                self.action_edit_thresh()
            return
        now = row.value == "1"
        staged = self.staged_options.get(row.name)
        want = not (staged if staged is not None else now)
        if want == now:
            self.staged_options.pop(row.name, None)
        else:
            self.staged_options[row.name] = want
        self.show_side()

    def action_discard(self) -> None:
        self.staged_options.clear()
        self.staged_depth = self.staged_thresh = None
        self.message = ""
        self.show_side()

    def _edit_scalar(self, name: str, current: Optional[int], hint: str) -> None:
        def stage(value: str) -> None:
            v = value.strip()
            if not v.isdigit():
                raise ConfigError(f"{name}: a whole number, 0 or more (got '{v}')")
            if name == "max_graph_depth":
                plan_max_graph_depth(int(v))
                self.staged_depth = int(v)
            else:
                plan_thresh(int(v))
                self.staged_thresh = int(v)

        def done(result: Optional[str]) -> None:
            self.show_side()

        self.app.push_screen(
            EditDialog(
                f"{name} (staged; applied with the switch)",
                "" if current is None else str(current),
                stage,
                hints=[hint],
            ),
            done,
        )

    def action_edit_depth(self) -> None:
        data = self.loaded
        if data is None or data.depth is None:
            self.app.notify("max_graph_depth is not available here", severity="warning")
            return
        cur = self.staged_depth if self.staged_depth is not None else data.depth
        self._edit_scalar(
            "max_graph_depth",
            cur,
            "how deep function_graph follows calls: 1 = only the entry function,"
            " 2 = it and its callees; 0 = no limit",
        )

    def action_edit_thresh(self) -> None:
        data = self.loaded
        if data is None or data.thresh is None:
            self.app.notify("tracing_thresh is not available here", severity="warning")
            return
        cur = self.staged_thresh if self.staged_thresh is not None else data.thresh
        self._edit_scalar(
            "tracing_thresh", cur, "us; function_graph and latency tracers record only longer"
        )

    def action_open_filters(self) -> None:
        self.ftop.action_show_screen("functions")

    def action_switch(self) -> None:
        row = self.tracer_list.current
        data = self.loaded
        if row is None or data is None:
            return
        if row.refusal:
            self.app.notify(f"{row.name}: {row.refusal}", title="cannot switch", severity="error")
            return
        changes = self.staged_changes()
        if row.current and not changes:
            self.message = f"{row.name} is already the current tracer"
            self.update_info()
            return
        if row.name in _FUNCTION_TRACERS and not row.current:
            self._check_narrowed(row.name, changes)
        else:
            self._switch(row.name, changes)

    @work(thread=True, group="tracers-check", exit_on_error=False)
    def _check_narrowed(self, tracer: str, changes: List[Change]) -> None:
        """Is anything narrowing what function/function_graph would hook? (read on a worker)"""
        tfs = self.tracefs
        narrowed: List[str] = []
        files = ["set_ftrace_filter"] + (
            ["set_graph_function"] if tracer == "function_graph" else []
        )
        for name in files:
            try:
                n = len(read_filter(tfs, name).functions)
            except FtopError:
                continue
            if n:
                narrowed.append(f"{name}: {n}")
        try:
            pids = read_ftrace_pid(tfs)
        except (FtopError, ValueError):
            pids = []
        if pids:
            narrowed.append(f"set_ftrace_pid: {len(pids)}")
        text = tfs.top().read_or("available_filter_functions") or ""
        total = text.count("\n")
        self.app.call_from_thread(self._narrowed, tracer, changes, narrowed, total)

    def _narrowed(
        self, tracer: str, changes: List[Change], narrowed: List[str], total: int
    ) -> None:
        if narrowed:
            self._switch(tracer, changes)
            return
        body = Text()
        body.append(f"{tracer} with no filter ", style="bold")
        body.append(
            f"hooks every function in available_filter_functions ({total:,} here). "
            "Every kernel call then pays for a trace entry: the machine slows down "
            "badly, the buffer overflows and events are lost.\n\n"
        )
        body.append("Narrow first: ", style="bold")
        body.append(
            "pick functions in the filter editor (set_ftrace_filter"
            + (", set_graph_function" if tracer == "function_graph" else "")
            + ") or a pid (set_ftrace_pid)."
        )

        def answer(key: Optional[str]) -> None:
            if key == "n":
                self.action_open_filters()
            elif key == "y":
                self._switch(tracer, changes)

        self.app.push_screen(
            ChoiceDialog(
                f"Start {tracer} unfiltered?",
                body,
                [("n", "narrow first (filter editor)"), ("y", "start anyway")],
            ),
            answer,
        )

    def _switch(self, tracer: str, changes: List[Change]) -> None:
        data = self.loaded
        plan = list(changes)
        if data is None or tracer != data.current:
            plan.append(Change("current_tracer", tracer, describe=f"current_tracer {tracer}"))
        what = f"tracer {tracer}" if tracer != (data.current if data else None) else "options"

        def done() -> None:
            if self.last_refusal is None:
                self.staged_options.clear()
                self.staged_depth = self.staged_thresh = None
                self.message = f"{tracer} is current" if what.startswith("tracer") else "applied"
            self.reload()

        self.apply_changes(plan, what, done)


def _int_or_none(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.isdigit() else None


def staged_summary(changes: List[Change]) -> List[Tuple[str, str]]:
    """(file, value) of each staged change, for tests and the info line."""
    return [(c.rel, c.value) for c in changes]


register_screen(
    ScreenSpec(
        S,
        "Tracers",
        "4",
        TracersScreen,
        "every tracer, what it does, switch with its options in one transaction",
        order=40,
    )
)
