"""The function filter editor: the catalog searched as you type, picked into the filter files.

``available_filter_functions`` (40-80 k names) is searched on every keystroke
as the kernel would match it (substring, kernel glob, ``:mod:``), grouped by
module with the match count. Marked functions go to ``set_ftrace_filter``,
``set_ftrace_notrace``, ``set_graph_function`` or ``set_graph_notrace`` in
one transaction (by catalog index where the kernel takes it); ``!`` removes;
triggers with a count; ``set_ftrace_pid`` from a process picker. A name the
kernel refuses gets the reason: not in the catalog (inlined, notrace, module
not loaded) versus in it and refused.

Where function tracing is refused (a locked-down kernel answers EPERM) the
screen says so and stays a read-only browser.

Longer than the other screens because it carries the four filter files' editor
and the trigger dialog, which works only on this screen's catalog and marks; the
pid picker is its own module (:mod:`ftop.tui.screens.process_picker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError, FtopError, TracefsError
from ftop.engine.ftrace.catalog import Catalog, SearchResult, load_kallsyms
from ftop.engine.ftrace.filter import (
    TRIGGER_COMMANDS,
    FilterContents,
    FilterEntry,
    FunctionTrigger,
    Selection,
    plan_add,
    plan_clear,
    plan_ftrace_pid,
    plan_remove,
    plan_set,
    plan_trigger,
    plan_trigger_removal,
    read_filter,
    read_ftrace_pid,
)
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.screens.process_picker import ProcessDialog
from ftop.tui.widgets.base import FtopScreen, ThemeColors, app_backend, key_character, plural
from ftop.tui.widgets.dialogs import DIALOG_CSS, RefusalShown
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import ChangesMixin, ChoiceDialog, RowList
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

__all__ = ["FunctionsScreen", "ProcessDialog", "TriggerDialog"]

S = "functions"
# Letters type-to-search here (function names are lower case), so the actions
# are on space, Enter, Delete and F-keys, as on the events screen.
command(
    "functions.mark", "space", "mark", "Mark", "mark or unmark the function", key_display="space"
)
command(
    "functions.add",
    "enter",
    "add",
    "Add",
    "add the marked functions (or the one under the cursor) to the target file",
    key_display="⏎",
)
command(
    "functions.target",
    "f2",
    "next_target",
    "Target",
    "cycle the target: set_ftrace_filter, _notrace, set_graph_function, _notrace",
    key_display="F2",
)
command(
    "functions.all",
    "f3,ctrl+a",
    "mark_all",
    "All",
    "mark every match, as the kernel pattern (one word)",
    key_display="F3",
)
command(
    "functions.set",
    "f4",
    "set",
    "Set",
    "replace the target file's list with the marked functions",
    key_display="F4",
)
command(
    "functions.trigger",
    "f5",
    "trigger",
    "Trigger",
    "attach a trigger (traceoff, stacktrace, snapshot, enable_event...) with a count",
    key_display="F5",
)
command(
    "functions.pid",
    "f6",
    "pids",
    "Pids",
    "set_ftrace_pid from a process picker (by name or pid)",
    key_display="F6",
)
command(
    "functions.clear",
    "f7",
    "clear_target",
    "Clear",
    "empty the target file (asks first)",
    key_display="F7",
)
command(
    "functions.remove",
    "delete,f8",
    "remove",
    "Remove",
    "remove from the target file with the kernel's '!' (or the entry under the cursor)",
    key_display="Del",
)
command(
    "functions.pane",
    "tab",
    "other_pane",
    "Pane",
    "move between the catalog and what is set",
    show=False,
)
command(
    "functions.search",
    "slash",
    "search",
    "Search",
    "search the catalog",
    key_display="/",
    show=False,
)
command(
    "functions.escape", "escape", "escape", "Clear", "clear the search and the marks", show=False
)

TARGETS = ("set_ftrace_filter", "set_ftrace_notrace", "set_graph_function", "set_graph_notrace")
_FLAG = {
    "set_ftrace_filter": "F",
    "set_ftrace_notrace": "N",
    "set_graph_function": "G",
    "set_graph_notrace": "g",
}
SEARCH_LIMIT = 1000


@dataclass(frozen=True)
class ModuleRow:
    module: str  # "" for the kernel image
    count: int
    shown: int


@dataclass(frozen=True)
class FuncRow:
    index: int
    name: str
    module: str


ResultRow = Union[ModuleRow, FuncRow]


@dataclass(frozen=True)
class SetRow:
    """A row of the "now set" pane."""

    kind: str  # "head", "func", "pending", "trigger", "pid", "note"
    text: str
    entry: object = None


def _searches(ch: str) -> bool:
    """A character that starts or extends the search: names are lower case, globs and
    ``:mod:`` words use these few signs."""
    return ch.islower() or ch in "_*?[]:."


class FunctionsScreen(ChangesMixin, FtopScreen):
    """Search the catalog, mark, and apply to a filter file in one transaction."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    FunctionsScreen #search { height: 1; border: none; padding: 0 1; background: $panel; }
    FunctionsScreen #search:focus { border: none; }
    FunctionsScreen #banner { height: auto; padding: 0 1; color: $error; background: $surface;
        display: none; }
    FunctionsScreen #banner.shown { display: block; }
    FunctionsScreen #count { height: auto; background: $surface; }
    FunctionsScreen #body { height: 1fr; }
    FunctionsScreen #results { width: 3fr; }
    FunctionsScreen #side { width: 2fr; min-width: 28; border-left: vkey $panel; }
    FunctionsScreen #side-caption { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    FunctionsScreen #now { height: 1fr; background: $surface; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.catalog: Optional[Catalog] = None
        self.catalog_source = "available_filter_functions"
        self.read_only: Optional[str] = None
        self.loaded = False
        self.target = TARGETS[0]
        self.contents: Dict[str, FilterContents] = {}
        self.members: Dict[str, Set[str]] = {}
        self.pids: List[int] = []
        self.marked: Dict[int, FuncRow] = {}
        self.marked_pattern: Optional[Tuple[str, int]] = None
        self.result: Optional[SearchResult] = None
        self.kallsyms: Optional[Set[str]] = None
        self._browse: Optional[Tuple[Catalog, List[ResultRow]]] = None
        self.results: RowList[ResultRow] = RowList(self._render_result, id="results")
        self.now: RowList[SetRow] = RowList(self._render_set, id="now")

    def compose_body(self) -> Iterable[Widget]:
        yield Input(
            placeholder="type to search: read, vfs_*, :mod:ext4, ext4:alloc; / focuses here",
            id="search",
            select_on_focus=False,
        )
        yield Static(id="banner")
        yield Static(id="count")
        yield Horizontal(
            self.results,
            Vertical(Label("", id="side-caption"), self.now, id="side"),
            id="body",
        )

    def on_mount(self) -> None:
        self.results.focus()
        self._load_catalog()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.focused is None:
            self.results.focus()
        if self.loaded:
            self.reload_state()

    # -- loading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="functions-catalog", exit_on_error=False)
    def _load_catalog(self) -> None:
        caps = self.backend.caps
        read_only: Optional[str] = None
        if caps.function_tracing is False:
            read_only = caps.function_refusal or "function tracing is refused here"
        source = "available_filter_functions"
        try:
            cat: Optional[Catalog] = Catalog.load(self.tracefs)
        except FtopError as e:
            cat = None
            if read_only is None:
                read_only = str(e).splitlines()[0]
        if cat is None:
            syms = load_kallsyms()
            if syms:
                cat = Catalog.from_text("\n".join(sorted(syms)))
                source = "/proc/kallsyms"
        state = self._read_state() if read_only is None else ({}, [])
        self.app.call_from_thread(self._catalog_loaded, cat, source, read_only, state)

    def _read_state(self) -> Tuple[Dict[str, FilterContents], List[int]]:
        tfs = self.tracefs
        contents: Dict[str, FilterContents] = {}
        for name in TARGETS:
            try:
                contents[name] = read_filter(tfs, name)
            except FtopError:
                continue
        try:
            pids = read_ftrace_pid(tfs)
        except (FtopError, ValueError):
            pids = []
        return contents, pids

    def _catalog_loaded(
        self,
        cat: Optional[Catalog],
        source: str,
        read_only: Optional[str],
        state: Tuple[Dict[str, FilterContents], List[int]],
    ) -> None:
        self.catalog = cat
        self.catalog_source = source
        self.read_only = read_only
        self.loaded = True
        banner = self.query_one("#banner", Static)
        if read_only:
            t = Text()
            t.append("Function tracing is refused on this kernel: ", style="bold")
            t.append(read_only + "\n")
            t.append(
                "The filter files cannot be read or set here; this screen is a read-only "
                + (
                    f"browser of {source} ({plural(len(cat), 'name')})."
                    if cat is not None
                    else "view (no function list is readable)."
                )
                + " Trace events (2) still work."
            )
            banner.update(t)
            banner.add_class("shown")
        self._state_loaded(state)
        self.run_search()

    def reload_state(self) -> None:
        if self.read_only is None:
            self._reload_state()

    @work(thread=True, exclusive=True, group="functions-state", exit_on_error=False)
    def _reload_state(self) -> None:
        state = self._read_state()
        self.app.call_from_thread(self._state_loaded, state)

    def _state_loaded(self, state: Tuple[Dict[str, FilterContents], List[int]]) -> None:
        self.contents, self.pids = state
        self.members = {k: {e.name for e in v.functions} for k, v in self.contents.items()}
        self.show_now()
        self.results.refresh()
        self.update_count()

    # -- search ------------------------------------------------------------------------

    @property
    def query_text(self) -> str:
        return self.query_one("#search", Input).value

    def run_search(self) -> None:
        cat = self.catalog
        q = self.query_text
        if cat is None:
            self.result = None
            self.results.set_rows([])
            self.update_count()
            return
        if not q.strip():
            # Nothing typed yet: the whole catalog, to browse (the Line API draws only
            # what is on screen, so 80 k rows cost no more than ten).
            self.result = None
            self.results.cursor = 0
            self.results.set_rows(self._browse_rows(cat))
            self.update_count()
            return
        res = cat.search(q, limit=SEARCH_LIMIT)
        self.result = res
        groups: Dict[str, List[FuncRow]] = {}
        for i in res.indices:
            name, mod = cat.entry(i)
            groups.setdefault(mod, []).append(FuncRow(i, name, mod))
        rows: List[ResultRow] = []
        for mod, count in res.by_module:
            shown = groups.get(mod, [])
            if not shown:
                continue
            if len(res.by_module) > 1 or mod:
                rows.append(ModuleRow(mod, count, len(shown)))
            rows.extend(shown)
        first = next((i for i, r in enumerate(rows) if isinstance(r, FuncRow)), 0)
        self.results.cursor = first
        self.results.set_rows(rows)
        self.update_count()

    def _browse_rows(self, cat: Catalog) -> List[ResultRow]:
        """Every function in catalog order, a module row where the module changes."""
        if self._browse is None or self._browse[0] is not cat:
            rows: List[ResultRow] = []
            current: Optional[str] = None
            counts: Dict[str, int] = {}
            for m in cat.modules:
                counts[m] = counts.get(m, 0) + 1
            for i, (name, mod) in enumerate(zip(cat.names, cat.modules), 1):
                if mod != current:
                    current = mod
                    if mod or len(counts) > 1:
                        rows.append(ModuleRow(mod, counts[mod], counts[mod]))
                rows.append(FuncRow(i, name, mod))
            self._browse = (cat, rows)
        return self._browse[1]

    def mod_hint(self, query: str) -> Optional[str]:
        """Why the kernel would not take the ``:mod:`` word of ``query`` as typed, if so.

        The kernel reads a module pattern that starts with a digit as an index
        (``:mod:9p`` is EINVAL), and a module that is not loaded has no functions
        to match (set_ftrace_filter keeps the word for when it loads).
        """
        cat = self.catalog
        q = query.strip()
        if cat is None or ":mod:" not in q:
            return None
        module = q.split(":mod:", 1)[1].strip()
        bare = module.lstrip("!")
        if not bare:
            return None
        if bare[:1].isdigit():
            alt = cat.module_word(bare)
            fix = f"':mod:{alt}' names it" if alt != bare else f"'{bare}:' searches it"
            return (
                f"the kernel reads a module starting with a digit as an index and refuses"
                f" ':mod:{bare}': {fix}"
            )
        try:
            matched = cat.match(f":mod:{bare}")
        except FtopError:
            return None
        if not matched:
            return (
                f"no loaded module matches '{bare}': its functions are not in the catalog"
                " until it is loaded"
            )
        return None

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.run_search()

    @on(Input.Submitted, "#search")
    def _search_done(self, event: Input.Submitted) -> None:
        self.results.focus()

    def on_key(self, event: events.Key) -> None:
        inp = self.query_one("#search", Input)
        if inp.has_focus:
            if event.key in ("down", "up", "pagedown", "pageup"):
                event.stop()
                self.results.focus()
            return
        ch = event.character
        if ch and len(ch) == 1 and _searches(ch):
            event.stop()
            self.set_focus(inp)
            inp.insert_text_at_cursor(ch)

    def typed_here(self, key: str) -> bool:
        ch = key_character(key)
        return ch is not None and _searches(ch)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_escape(self) -> None:
        inp = self.query_one("#search", Input)
        if inp.value or self.marked or self.marked_pattern:
            inp.value = ""
            self.marked.clear()
            self.marked_pattern = None
            self.run_search()
        self.results.focus()

    def action_other_pane(self) -> None:
        if self.now.has_focus:
            self.results.focus()
        else:
            self.now.focus()

    # -- display --------------------------------------------------------------------------

    def update_count(self) -> None:
        tv = ThemeColors(self.app)
        muted = tv.get("foreground-muted", "")
        t = Text(" ")
        cat = self.catalog
        res = self.result
        if cat is None:
            t.append(
                "no function catalog" if self.loaded else f"loading the catalog{glyphs().ellipsis}",
                style=muted,
            )
        elif res is None:
            t.append(plural(len(cat), "function"), style="bold")
            t.append(f" in {self.catalog_source} · type to search", style=muted)
        elif res.error:
            t.append(res.error, style=f"bold {tv.get('error', 'red')}")
        else:
            t.append(f"{res.total:,}", style="bold")
            t.append(f" of {len(cat):,} match ")
            t.append(res.pattern or "", style=f"bold {tv.get('primary', 'blue')}")
            mods = len([m for m, _ in res.by_module if m])
            if mods:
                t.append(f" · {plural(mods, 'module')}", style=muted)
            if res.truncated:
                t.append(f" · first {len(res.indices):,} shown", style=muted)
        t.append(" │ target ", style=muted)
        t.append(self.target, style=f"bold {tv.get('accent', 'yellow')}")
        if self.marked_pattern:
            pat, n = self.marked_pattern
            t.append(f" │ marked {pat} ({n:,})", style="bold")
        elif self.marked:
            t.append(f" │ {len(self.marked):,} marked", style="bold")
        hint = self.mod_hint(self.query_text) if cat is not None else None
        if hint:
            # On a line of its own: it is a sentence, and the count line is full at 120.
            t.append(f"\n {hint}", style=f"bold {tv.get('warning', 'yellow')}")
        self.query_one("#count", Static).update(t)

    def _flags(self, name: str) -> str:
        return "".join(_FLAG[f] for f in TARGETS if name in self.members.get(f, ()))

    def _render_result(self, row: ResultRow, width: int) -> Text:
        lst = self.results
        t = Text()
        if isinstance(row, ModuleRow):
            label = f"[{row.module}]" if row.module else "[kernel]"
            t.append(f"{glyphs().expanded} {label}", style=f"bold {lst.style_of('accent')}")
            more = f"  {row.count:,}" + (f" ({row.shown:,} shown)" if row.shown < row.count else "")
            t.append(more, style=lst.style_of("dim"))
            return t
        marked = row.index in self.marked or (
            self.marked_pattern is not None and self.result is not None
        )
        t.append("  [x] " if marked else "  [ ] ", style=lst.style_of("mark"))
        t.append(row.name)
        flags = self._flags(row.name)
        trig = any(tr.function == row.name for c in self.contents.values() for tr in c.triggers)
        if trig:
            flags += "T"
        if flags:
            t.append(f" {flags}", style=lst.style_of("accent"))
        return t

    def show_now(self) -> None:
        rows: List[SetRow] = []
        c = self.contents.get(self.target)
        cap = self.query_one("#side-caption", Label)
        if self.read_only:
            cap.update("now set: not readable here")
            self.now.set_rows([SetRow("note", self.read_only)])
            return
        if c is None:
            cap.update(f"{self.target}: not available")
            self.now.set_rows([])
            return
        n = len(c.functions)
        cap.update(f"{self.target}: {n:,}" + (" (nothing narrows)" if c.unrestricted else ""))
        for e in c.functions:
            rows.append(SetRow("func", str(e), e))
        for p in c.pending:
            rows.append(SetRow("pending", f"{p} (module not loaded)", p))
        if self.target == "set_ftrace_filter":
            for tr in self.contents.get("set_ftrace_filter", c).triggers:
                rows.append(SetRow("trigger", _trigger_text(tr), tr))
        if self.pids:
            rows.append(SetRow("head", f"set_ftrace_pid: {len(self.pids)}"))
            rows.extend(SetRow("pid", str(p), p) for p in self.pids)
        others = [
            f"{_FLAG[name]} {name}: {len(self.contents[name].functions)}"
            for name in TARGETS
            if name != self.target and name in self.contents and self.contents[name].functions
        ]
        if others:
            rows.append(SetRow("head", "elsewhere"))
            rows.extend(SetRow("note", o) for o in others)
        self.now.set_rows(rows)

    def _render_set(self, row: SetRow, width: int) -> Text:
        lst = self.now
        t = Text()
        if row.kind == "head":
            t.append(" " + row.text, style="bold")
        elif row.kind == "note":
            t.append(" " + row.text, style=lst.style_of("dim"))
        elif row.kind == "trigger":
            t.append(f" {glyphs().flag} ", style=lst.style_of("accent"))
            t.append(row.text)
        elif row.kind == "pending":
            t.append(f" {glyphs().ellipsis} " + row.text, style=lst.style_of("dim"))
        else:
            t.append(" " + row.text)
        return t

    # -- marking ---------------------------------------------------------------------------

    def action_mark(self) -> None:
        row = self.results.current
        if row is None:
            return
        self.marked_pattern = None
        if isinstance(row, ModuleRow):
            funcs = [
                r for r in self.results.rows if isinstance(r, FuncRow) and r.module == row.module
            ]
            if all(r.index in self.marked for r in funcs):
                for r in funcs:
                    self.marked.pop(r.index, None)
            else:
                for r in funcs:
                    self.marked[r.index] = r
        elif row.index in self.marked:
            del self.marked[row.index]
        else:
            self.marked[row.index] = row
        self.results.refresh()
        self.results.move_to(self.results.cursor + 1)
        self.update_count()

    def action_mark_all(self) -> None:
        res = self.result
        if res is None or not res.pattern or not res.total:
            self.app.notify("search first: every match is marked as the kernel pattern")
            return
        self.marked.clear()
        self.marked_pattern = (res.pattern, res.total)
        self.results.refresh()
        self.update_count()

    def selection(self) -> List[Selection]:
        """What the marks (or the cursor) stand for: catalog indices or one pattern."""
        if self.marked_pattern is not None:
            return [self.marked_pattern[0]]
        if self.marked:
            return sorted(self.marked)
        row = self.results.current
        if isinstance(row, FuncRow):
            return [row.index]
        if isinstance(row, ModuleRow) and self.catalog is not None:
            return [f":mod:{self.catalog.module_word(row.module)}"] if row.module else []
        return []

    # -- applying ----------------------------------------------------------------------

    def _refused_here(self) -> bool:
        if self.read_only:
            self.app.notify(
                f"not here: {self.read_only}", title="function tracing refused", severity="error"
            )
            return True
        return self.catalog is None

    def explain(self, err: FtopError) -> Optional[str]:
        """The catalog's reason for the first word the kernel could not have taken."""
        cat = self.catalog
        if cat is None or not isinstance(err, TracefsError):
            return None
        for word in (err.value or "").split():
            w = word.lstrip("!")
            if w.isdigit() or (":" in w and ":mod:" not in w):
                continue
            try:
                if not cat.match(w):
                    return cat.explain_refusal(word, err)
            except FtopError:
                return cat.explain_refusal(word, err)
        words = (err.value or "").split()
        return cat.explain_refusal(words[0], err) if words else None

    def _after(self) -> None:
        if self.last_refusal is None:
            self.marked.clear()
            self.marked_pattern = None
            self.results.refresh()
        self.reload_state()
        self.update_count()

    def _plan(self, kind: str, sel: Sequence[Selection]) -> None:
        if self._refused_here() or not sel:
            return
        cat = self.catalog
        try:
            if kind == "add":
                changes = plan_add(self.target, sel, cat)
            elif kind == "set":
                changes = plan_set(self.target, sel, cat)
            else:
                changes = plan_remove(self.target, sel, cat)
        except ConfigError as e:
            self.app.notify(str(e), severity="error")
            return
        n = self.marked_pattern[1] if self.marked_pattern else len(sel)
        self.apply_changes(changes, f"{kind} {n} in {self.target}", self._after, self.explain)

    def action_add(self) -> None:
        if self.now.has_focus:
            return
        self._plan("add", self.selection())

    def action_set(self) -> None:
        self._plan("set", self.selection())

    def action_remove(self) -> None:
        if self._refused_here():
            return
        if self.now.has_focus:
            row = self.now.current
            if row is None:
                return
            if row.kind == "func":
                e = row.entry
                name, mod = (e.name, e.module) if isinstance(e, FilterEntry) else (str(e), "")
                word = f"{name}:mod:{mod}" if mod and self.target in TARGETS[:2] else name
                self._plan("remove", [word])
            elif row.kind == "trigger" and isinstance(row.entry, FunctionTrigger):
                self.apply_changes([plan_trigger_removal(row.entry)], "remove trigger", self._after)
            elif row.kind == "pid":
                rest = [p for p in self.pids if p != row.entry]
                self.apply_changes([plan_ftrace_pid(rest)], "set_ftrace_pid", self._after)
            return
        self._plan("remove", self.selection())

    def action_next_target(self) -> None:
        i = TARGETS.index(self.target)
        self.target = TARGETS[(i + 1) % len(TARGETS)]
        self.show_now()
        self.update_count()

    def action_clear_target(self) -> None:
        if self._refused_here():
            return
        target = self.target
        n = len(self.contents[target].functions) if target in self.contents else 0
        body = Text(f"{target} holds {plural(n, 'entry', 'entries')}. Empty it?")
        if target == "set_ftrace_filter":
            body.append("\nThe function tracers then hook every function (triggers stay).")

        def answer(key: Optional[str]) -> None:
            if key == "y":
                self.apply_changes(plan_clear(target), f"clear {target}", self._after)

        self.app.push_screen(ChoiceDialog(f"Clear {target}", body, [("y", "clear it")]), answer)

    def action_trigger(self) -> None:
        if self._refused_here():
            return
        row = self.results.current
        func = (
            row.name if isinstance(row, FuncRow) else (self.result.pattern if self.result else "")
        )
        self.app.push_screen(TriggerDialog(func or ""), lambda _: self._after())

    def action_pids(self) -> None:
        if self._refused_here():
            return
        self.app.push_screen(ProcessDialog(self.pids), lambda _: self._after())


def _trigger_text(tr: FunctionTrigger) -> str:
    s = f"{tr.function}:{tr.command}"
    if tr.system:
        s += f":{tr.system}:{tr.event}"
    return s + (f" count {tr.count}" if tr.count is not None else " (unlimited)")


class TriggerDialog(RefusalShown, ModalScreen[Optional[str]]):
    """A function trigger: where, which command, how often, and (for *_event) which event."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="TriggerDialog")
        + """
    TriggerDialog #error { color: $error; display: none; }
    TriggerDialog #error.shown { display: block; }
    TriggerDialog Input, TriggerDialog Select { margin: 0 0 1 0; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = function
        self.error: Optional[FtopError] = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Function trigger (set_ftrace_filter)", classes="title")
            yield Label("function (a name or a glob)", classes="hint")
            yield Input(self.function, id="func", compact=True)
            yield Label("command", classes="hint")
            yield Select(
                [(c, c) for c in TRIGGER_COMMANDS],
                value="traceoff",
                allow_blank=False,
                id="command",
                compact=True,
            )
            yield Label("count (empty: every time; dump/cpudump fire once)", classes="hint")
            yield Input("", placeholder="e.g. 1", id="count", compact=True)
            yield Label("event, for enable_event/disable_event: system:event", classes="hint")
            yield Input("", placeholder="e.g. sched:sched_switch", id="event", compact=True)
            yield Static(id="error")
            yield Label("Enter applies, Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#func", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        func = self.query_one("#func", Input).value.strip()
        command = str(self.query_one("#command", Select).value)
        count_text = self.query_one("#count", Input).value.strip()
        ev = self.query_one("#event", Input).value.strip()
        try:
            count = int(count_text) if count_text else None
        except ValueError:
            self._refused(ConfigError(f"count: a number, not '{count_text}'"))
            return
        system = event_name = None
        if ev:
            system, _, event_name = ev.partition(":")
        try:
            change = plan_trigger(func, command, count, system or None, event_name or None)
        except ConfigError as e:
            self._refused(e)
            return
        self._apply(change)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _apply(self, change: Change) -> None:
        try:
            app_backend(self.app).apply([change])
        except FtopError as e:
            self.app.call_from_thread(self._refused, e)
            return
        self.app.call_from_thread(self.dismiss, change.value)


register_screen(
    ScreenSpec(
        S,
        "Functions",
        "5",
        FunctionsScreen,
        "search available_filter_functions, set the function and graph filters, triggers, pids",
        order=50,
    )
)
