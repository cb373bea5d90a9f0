"""The events screen: every trace event as a tree, searchable as you type, toggled live.

Toggles, filters and triggers go through the engine's session (a transaction
each); a refusal shows the kernel's own error_log text and changes nothing.
Reading the catalog, the enabled set and every event's settings happens on
worker threads, never in a message handler.

One module of about 600 lines on purpose: the event list (a Line API view over
the catalog) and the screen that edits filters and triggers share their row model
and refresh cycle; split, each half would reach into the other's state.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ftop.engine.errors import FtopError
from ftop.engine.ftrace import event_catalog as catalog_mod
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.widgets.base import (
    FtopScreen,
    StatusInfo,
    ThemeColors,
    human,
    key_character,
    plural,
)
from ftop.tui.widgets.dialogs import EditDialog, TextDialog, error_lines
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.kit import scroll_row_into_view
from ftop.tui.widgets.printable import printable
from ftop.tui.widgets.trace_view import _overlay
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

__all__ = ["EventList", "EventsScreen"]

S = "events"
command(
    "events.toggle",
    "space",
    "toggle_row",
    "On/off",
    "enable or disable the event or the whole system",
    key_display="space",
)
command(
    "events.open",
    "enter",
    "open",
    "Open",
    "expand a system; show an event's format",
    key_display="⏎",
)
# Letters type-to-search here (event names are lower case), so actions are on
# F-keys (htop's F3 search, F4 filter...) and Ctrl.
command(
    "events.filter",
    "f4,ctrl+f",
    "edit_filter",
    "Filter",
    "edit the event's filter (the kernel checks it)",
    key_display="F4",
)
command(
    "events.trigger",
    "f5,ctrl+t",
    "edit_trigger",
    "Trigger",
    "add a trigger (traceoff, snapshot, hist...); !spec removes one",
    key_display="F5",
)
command(
    "events.format",
    "f3,ctrl+o",
    "view_format",
    "Format",
    "view the event's format file",
    key_display="F3",
)
command(
    "events.enabled",
    "f6,ctrl+e",
    "only_enabled",
    "Enabled",
    "show only enabled events (toggle)",
    key_display="F6",
)
command("events.search", "slash", "search", "Search", "search events as you type", key_display="/")
command("events.clear", "escape", "clear_search", "Clear", "clear the search", show=False)


@dataclass(frozen=True)
class Row:
    system: str
    event: Optional[str]  # None: the system's row


class EventList(ScrollView, can_focus=True):
    """Systems and their events; a cursor; marks for enabled; rates when streaming."""

    COMPONENT_CLASSES = {
        "events--on",
        "events--off",
        "events--system",
        "events--cursor",
        "events--rate",
        "events--note",
    }
    DEFAULT_CSS = """
    EventList { background: $background; scrollbar-size-vertical: 1; }
    EventList > .events--on { color: $success; text-style: bold; }
    EventList > .events--off { color: $foreground-muted; }
    EventList > .events--system { color: $primary; text-style: bold; }
    EventList > .events--cursor { background: $trace-cursor; text-style: $trace-cursor-style; }
    EventList > .events--rate { color: $accent; }
    EventList > .events--note { color: $warning; }
    """

    class Moved(Message):
        def __init__(self, row: Optional[Row]) -> None:
            super().__init__()
            self.row = row

    def __init__(self, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.catalog: Dict[str, List[str]] = {}
        self.enabled: Set[str] = set()
        self.filters: Dict[str, str] = {}
        self.triggers: Dict[str, List[str]] = {}
        self.rates: Dict[str, float] = {}
        self.expanded: Set[str] = set()
        # Not ``query``: that is Textual's DOM query method of every widget.
        self.search_text = ""
        self.only_enabled = False
        self.rows: List[Row] = []
        self.cursor = 0

    # -- model ---------------------------------------------------------------------

    def matches(self, system: str, event: str) -> bool:
        if self.only_enabled and f"{system}/{event}" not in self.enabled:
            return False
        q = self.search_text.strip().lower()
        if not q:
            return True
        full = f"{system}:{event}".lower()
        if any(c in q for c in "*?["):
            return fnmatch.fnmatchcase(full, q) or fnmatch.fnmatchcase(event.lower(), q)
        return q in full

    def rebuild(self) -> None:
        keep = self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None
        rows: List[Row] = []
        filtering = bool(self.search_text.strip()) or self.only_enabled
        for system, evs in self.catalog.items():
            hits = [e for e in evs if self.matches(system, e)]
            if filtering and not hits and not self.matches(system, ""):
                continue
            if filtering and not hits:
                continue
            rows.append(Row(system, None))
            if filtering or system in self.expanded:
                rows.extend(Row(system, e) for e in hits)
        self.rows = rows
        if keep in rows:
            self.cursor = rows.index(keep)
        elif filtering:
            # Land on the first matching event rather than its system.
            self.cursor = next((i for i, r in enumerate(rows) if r.event), 0)
        else:
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.virtual_size = Size(self.size.width, len(rows))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Moved(self.current))

    @property
    def current(self) -> Optional[Row]:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def system_counts(self, system: str) -> Tuple[int, int]:
        evs = self.catalog.get(system, [])
        return sum(1 for e in evs if f"{system}/{e}" in self.enabled), len(evs)

    # -- movement ---------------------------------------------------------------------

    def _scroll_to_cursor(self) -> None:
        scroll_row_into_view(self, self.cursor)

    def move(self, delta: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Moved(self.current))

    def set_expanded(self, system: str, on: bool) -> None:
        if on:
            self.expanded.add(system)
        else:
            self.expanded.discard(system)
        self.rebuild()

    def on_key(self, event: events.Key) -> None:
        height = max(1, (self.scrollable_content_region.height or 1) - 1)
        moves = {"up": -1, "down": 1, "pageup": -height, "pagedown": height}
        if event.key in moves:
            event.stop()
            self.move(moves[event.key])
        elif event.key == "home":
            event.stop()
            self.move(-len(self.rows))
        elif event.key == "end":
            event.stop()
            self.move(len(self.rows))
        elif event.key in ("left", "right"):
            event.stop()
            row = self.current
            if row is None:
                return
            if event.key == "left" and row.event is not None:
                self.cursor = self.rows.index(Row(row.system, None))
                self.set_expanded(row.system, False)
            else:
                self.set_expanded(row.system, event.key == "right")

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < len(self.rows):
            self.cursor = row
            self.refresh()
            self.post_message(self.Moved(self.current))

    # -- rendering ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()

    def _st(self, name: str) -> Style:
        return self.get_component_rich_style(f"events--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row_i = int(self.scroll_y) + y
        base = self.rich_style
        if not (0 <= row_i < len(self.rows)):
            return Strip.blank(width, base)
        row = self.rows[row_i]
        t = Text(no_wrap=True, overflow="ellipsis")
        if row.event is None:
            on, total = self.system_counts(row.system)
            opened = row.system in self.expanded or self.search_text or self.only_enabled
            arrow = glyphs().expanded if opened else glyphs().collapsed
            mark = "[x]" if on == total and total else "[-]" if on else "[ ]"
            t.append(f"{arrow} ")
            t.append(mark, style=self._st("on" if on else "off"))
            t.append(f" {row.system}", style=self._st("system"))
            t.append(f"  {on}/{total}", style=self._st("off"))
            rate = sum(self.rates.get(e, 0.0) for e in self.catalog.get(row.system, []))
        else:
            key = f"{row.system}/{row.event}"
            on_ = key in self.enabled
            t.append("    ")
            t.append("[x]" if on_ else "[ ]", style=self._st("on" if on_ else "off"))
            t.append(f" {row.event}")
            notes = ("F" if key in self.filters else "") + ("T" if key in self.triggers else "")
            if notes:
                t.append(f" {notes}", style=self._st("note"))
            rate = self.rates.get(row.event, 0.0)
        if rate:
            r = f"{human(rate)}/s "
            pad = max(1, width - t.cell_len - len(r))
            t.append(" " * pad)
            t.append(r, style=self._st("rate"))
        t.truncate(width, overflow="ellipsis", pad=True)
        strip = Strip(list(t.render(self.app.console, end=""))).apply_style(base)
        strip = strip.crop_extend(0, width, base)
        if row_i == self.cursor:
            strip = _overlay(strip, self._st("cursor"))
        return strip


def _searches(ch: str) -> bool:
    """A character that starts or extends the search here: event names are lower case."""
    return ch.islower() or ch in "_-*:"


class EventsScreen(FtopScreen):
    """Subsystems and events, their state, and editing them through the session."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    EventsScreen #search {
        height: 1;
        border: none;
        padding: 0 1;
        background: $panel;
    }
    EventsScreen #search:focus { border: none; }
    EventsScreen #body { height: 1fr; }
    EventsScreen EventList { width: 3fr; }
    EventsScreen #detail {
        width: 2fr;
        min-width: 28;
        padding: 0 1;
        background: $surface;
        border-left: vkey $panel;
    }
    EventsScreen #count { height: 1; background: $surface; color: $foreground-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.list: Optional[EventList] = None
        self.loaded = False
        self._settings_asked = False

    def compose_body(self) -> Iterable[Widget]:
        from textual.containers import Horizontal

        yield Input(
            placeholder="type to search events (sched:*, switch ...); letters search here, F10 quits",
            id="search",
            select_on_focus=False,
        )
        self.list = EventList(id="list")
        body = Horizontal(self.list, Static(id="detail"), id="body")
        yield body
        yield Static(id="count")

    def on_mount(self) -> None:
        self.ftop.status_signal.subscribe(self, self.on_status)
        if self.list is not None:
            self.list.focus()
        # The rates of the last poll at once, not only from the next one (up to a
        # poll interval later), as the dashboard does.
        if self.ftop.status_info is not None:
            self.on_status(self.ftop.status_info)
        self.reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.focused is None and self.list is not None:
            self.list.focus()
        if self.loaded:
            self.reload()

    # -- loading (worker threads) ------------------------------------------------------

    def reload(self, settings: bool = True) -> None:
        # Only the newest read lands: it reads the filters and triggers too if any
        # read still under way was to (a quick second reload must not drop them).
        self._settings_asked = settings = settings or self._settings_asked
        self._load(settings, self.begin_read("events-load"))

    @work(thread=True, exclusive=True, group="events-load", exit_on_error=False)
    def _load(self, settings: bool, gen: int) -> None:
        sess = self.backend
        tfs = sess.tfs
        if tfs is None:
            # A saved trace: the catalog is what the file contains.
            names = sorted(
                {r.name for r in sess.aggregates.snapshot(sess.clock(), top_n=5000).top_events}
            )
            cat = {"(in file)": names} if names else {}
            self.deliver_read("events-load", gen, self._loaded, cat, set(), None)
            return
        cat = catalog_mod.read_catalog(tfs)
        enabled = catalog_mod.enabled_events(tfs)
        extra = catalog_mod.event_settings(tfs, cat) if settings else None
        self.deliver_read("events-load", gen, self._loaded, cat, enabled, extra)

    def _loaded(
        self,
        cat: Dict[str, List[str]],
        enabled: Set[str],
        extra: Optional[Tuple[Dict[str, str], Dict[str, List[str]]]],
    ) -> None:
        self._settings_asked = False
        lst = self.list
        if lst is None:
            return
        lst.catalog = cat
        lst.enabled = enabled
        if extra is not None:
            lst.filters, lst.triggers = extra
        self.loaded = True
        lst.rebuild()
        self.update_count()

    def on_status(self, info: StatusInfo) -> None:
        if self.list is None:
            return
        self.list.rates = {n.name: n.rate for n in info.snap.top_events}
        if self.is_active:
            self.list.refresh()
            self.show_detail(self.list.current)

    def update_count(self) -> None:
        lst = self.list
        if lst is None:
            return
        total = sum(len(v) for v in lst.catalog.values())
        shown = sum(1 for r in lst.rows if r.event)
        n_sys = len(lst.catalog)
        t = Text(
            f" {len(lst.enabled):,} of {plural(total, 'event')} enabled"
            f" in {plural(n_sys, 'system')}"
        )
        if lst.search_text or lst.only_enabled:
            t.append(f" │ {shown:,} match", style="bold")
        if lst.filters or lst.triggers:
            n_f, n_t = len(lst.filters), len(lst.triggers)
            t.append(f" │ {plural(n_f, 'filter')}, {n_t:,} with triggers (F, T)")
        self.query_one("#count", Static).update(t)

    # -- search ------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self.list is not None:
            self.list.search_text = event.value
            self.list.rebuild()
            self.update_count()

    @on(Input.Submitted, "#search")
    def _search_done(self, event: Input.Submitted) -> None:
        if self.list is not None:
            self.list.focus()

    def on_key(self, event: events.Key) -> None:
        inp = self.query_one("#search", Input)
        if inp.has_focus and event.key in ("down", "up", "pagedown", "pageup"):
            if self.list is not None:
                event.stop()
                self.list.focus()
                self.list.move(0 if event.key == "down" else -1)
            return
        ch = event.character
        if ch and len(ch) == 1 and _searches(ch):
            # Type-to-search: every lower-case letter starts the search (even q:
            # "qdisc" is an event system; F10 quits here). The input consumes the
            # keys it gets itself, so a key seen here was sent to the list before
            # focus moved (a fast burst of typing): it belongs in the search too.
            event.stop()
            if not inp.has_focus:
                self.set_focus(inp)
            inp.insert_text_at_cursor(ch)

    def typed_here(self, key: str) -> bool:
        ch = key_character(key)
        return ch is not None and _searches(ch)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        inp = self.query_one("#search", Input)
        inp.value = ""
        if self.list is not None:
            self.list.search_text = ""
            self.list.rebuild()
            self.list.focus()
        self.update_count()

    def action_only_enabled(self) -> None:
        if self.list is not None:
            self.list.only_enabled = not self.list.only_enabled
            self.list.rebuild()
            self.update_count()

    # -- detail ---------------------------------------------------------------------------

    @on(EventList.Moved)
    def _moved(self, event: EventList.Moved) -> None:
        self.show_detail(event.row)

    def show_detail(self, row: Optional[Row]) -> None:
        lst = self.list
        box = self.query_one("#detail", Static)
        if lst is None or row is None:
            box.update("")
            return
        tv = ThemeColors(self.app)
        t = Text()
        if row.event is None:
            on, total = lst.system_counts(row.system)
            t.append(f"{row.system}\n", style=f"bold {tv.get('primary', 'blue')}")
            t.append(f"{on:,} of {plural(total, 'event')} enabled\n")
            rate = sum(lst.rates.get(e, 0.0) for e in lst.catalog.get(row.system, []))
            if rate:
                t.append(f"{human(rate)} events/s\n")
            g = glyphs()
            t.append(
                f"\nspace: all on/off   {g.enter} {g.collapsed}: expand",
                style=tv.get("foreground-muted", ""),
            )
        else:
            key = f"{row.system}/{row.event}"
            t.append(f"{row.system}:{row.event}\n", style=f"bold {tv.get('primary', 'blue')}")
            on_ = key in lst.enabled
            t.append("enabled\n" if on_ else "disabled\n", style="bold" if on_ else "")
            ev_rate = lst.rates.get(row.event)
            if ev_rate:
                t.append(f"{human(ev_rate)} events/s\n")
            t.append("\nfilter  ", style="bold")
            t.append(printable(lst.filters.get(key, "none")) + "\n")
            t.append("trigger ", style="bold")
            trig = lst.triggers.get(key)
            t.append(("\n        ".join(map(printable, trig)) if trig else "none") + "\n")
            t.append(
                f"\nspace on/off  F4 filter  F5 trigger  {glyphs().enter} format",
                style=tv.get("foreground-muted", ""),
            )
        box.update(t)

    # -- changing (through the session, on workers) -----------------------------------------

    def action_toggle_row(self) -> None:
        # Not action_toggle: that is Textual's own action (toggle an attribute).
        lst = self.list
        row = lst.current if lst else None
        if lst is None or row is None:
            return
        if row.event is None:
            on, total = lst.system_counts(row.system)
            want = on < total
        else:
            want = f"{row.system}/{row.event}" not in lst.enabled
        self._toggle(row.system, row.event, want)

    @work(thread=True, group="events-change", exit_on_error=False)
    def _toggle(self, system: str, event: Optional[str], on: bool) -> None:
        sess = self.backend
        try:
            sess.set_event(system, event, on)
        except FtopError as e:
            self.app.call_from_thread(self._refused, f"{system}:{event or '*'}", e)
            return
        enabled = catalog_mod.enabled_events(self.tracefs)
        self.app.call_from_thread(self._changed, enabled)

    def _changed(self, enabled: Set[str]) -> None:
        if self.list is not None:
            self.list.enabled = enabled
            self.list.refresh()
            self.show_detail(self.list.current)
            self.update_count()
        self.ftop.poll_now()

    def _refused(self, what: str, err: FtopError) -> None:
        self.app.notify(
            error_lines(err).plain, title=f"{what} refused", severity="error", timeout=8
        )

    def action_open(self) -> None:
        lst = self.list
        row = lst.current if lst else None
        if lst is None or row is None:
            return
        if row.event is None:
            lst.set_expanded(row.system, row.system not in lst.expanded)
        else:
            self.action_view_format()

    def _event_row(self) -> Optional[Row]:
        row = self.list.current if self.list else None
        if row is None or row.event is None:
            self.app.notify(
                f"select an event first ({glyphs().collapsed} expands a system)", severity="warning"
            )
            return None
        return row

    def action_view_format(self) -> None:
        row = self._event_row()
        if row is not None:
            self._show_format(row.system, row.event or "")

    @work(thread=True, group="events-read", exit_on_error=False)
    def _show_format(self, system: str, event: str) -> None:
        d = catalog_mod.event_detail(self.tracefs, system, event)
        text = d.format if not d.error else d.error
        self.app.call_from_thread(
            self.app.push_screen, TextDialog(f"events/{system}/{event}/format", text)
        )

    def action_edit_filter(self) -> None:
        row = self._event_row()
        if row is not None:
            self._open_editor(row.system, row.event or "", "filter")

    def action_edit_trigger(self) -> None:
        row = self._event_row()
        if row is not None:
            self._open_editor(row.system, row.event or "", "trigger")

    @work(thread=True, group="events-read", exit_on_error=False)
    def _open_editor(self, system: str, event: str, what: str) -> None:
        d = catalog_mod.event_detail(self.tracefs, system, event)
        self.app.call_from_thread(self._editor, d, what)

    def _editor(self, d: catalog_mod.EventDetail, what: str) -> None:
        sess = self.backend
        system, event = d.system, d.event
        fields = ", ".join(d.fields) if d.fields else "(none)"
        if what == "filter":
            dialog = EditDialog(
                f"Filter for {system}:{event}",
                d.filter,
                lambda v: sess.set_event_filter(system, event, v),
                hints=[
                    f"fields: {fields}",
                    'e.g. prev_pid == 0 && next_comm ~ "bash*"; empty clears',
                ],
                placeholder="empty: no filter",
            )
        else:
            have = "; ".join(d.triggers) if d.triggers else "none"
            dialog = EditDialog(
                f"Add a trigger to {system}:{event}",
                "",
                lambda v: sess.add_event_trigger(system, event, v),
                hints=[
                    f"now: {have}",
                    "traceoff[:N] traceon snapshot stacktrace enable_event:sys:ev hist:keys=F; "
                    "'!spec' removes; '... if FILTER'",
                ],
                placeholder="e.g. traceoff:1 if prev_pid == 0",
            )

        def done(result: Optional[str]) -> None:
            if result is not None:
                self.reload()
                self.ftop.poll_now()

        self.app.push_screen(dialog, done)


register_screen(
    ScreenSpec(S, "Events", "2", EventsScreen, "trace events: toggle, filter, trigger", order=20)
)
