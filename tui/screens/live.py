"""The live screen: trace_pipe as it streams, with follow, pause, search, filter, marks and save."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from typing import TYPE_CHECKING, Iterable, Optional, Sequence, Tuple, Union

from ftop.engine.errors import ConfigError, FtopError
from ftop.engine.stream.lineview import Found, LineFilter, SearchPattern, search_rows
from ftop.tui.registry import ScreenSpec, bindings_for, command, register_screen
from ftop.tui.widgets.base import FtopScreen, ThemeColors, noun, plural
from ftop.tui.widgets.glyphs import glyphs
from ftop.tui.widgets.trace_view import TraceView
from rich.text import Text
from textual import on, work
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from ftop.engine.stream.parse import Record

__all__ = ["LiveScreen", "filter_word"]

# A scan or search that runs longer than this shows its progress.
MOMENT = 0.25
# What a filter word cannot hold: LineFilter.parse splits on spaces and commas and
# reads * and ? as globs; any of them in a task or event name becomes "?".
_NOT_IN_WORD = re.compile(r"[\s,*?]")


def filter_word(text: str) -> str:
    """A task or event name as a filter value that matches it (a glob where it must)."""
    return _NOT_IN_WORD.sub("?", text)


S = "live"
command(
    "live.search",
    "slash",
    "search",
    "Search",
    "search the view (regex, smart case)",
    key_display="/",
)
command("live.next", "n", "search_next", "Next", "next search match", show=False)
command("live.prev", "N", "search_prev", "Prev", "previous search match", show=False)
command(
    "live.filter",
    "f,f4",
    "filter",
    "Filter",
    "narrow the view: task:NAME pid:N cpu:N ev:NAME or a regex (the kernel is not touched)",
)
command("live.pause", "p,space", "pause", "Pause", "pause the display (the kernel keeps tracing)")
command("live.follow", "end,G", "follow", "Follow", "follow the newest lines again", show=False)
command("live.mark", "m", "mark", "Mark", "mark the line (two marks show the time between them)")
command("live.clear_marks", "M", "clear_marks", "Unmark", "clear both marks", show=False)
command("live.save", "s", "save", "Save", "save the ring as ftrace text (or the raw pages as .dat)")
command(
    "live.fields",
    "enter",
    "fields",
    "Line",
    "the line's fields, or filter by its pid, task or event",
    key_display="⏎",
    show=False,
)
command(
    "live.escape",
    "escape",
    "escape",
    "Clear",
    "stop a running search or filter scan, clear the search, then the filter",
    show=False,
)
command("live.clear", "c", "clear_view", "Clear ring", "drop every line in the ring", show=False)


class LiveScreen(FtopScreen):
    """Follows the ring; the view, not the kernel, is what every key here changes."""

    SCREEN_ID = S
    BINDINGS = bindings_for(S)

    DEFAULT_CSS = """
    LiveScreen #info {
        height: 1;
        background: $surface;
        color: $foreground;
    }
    LiveScreen .bar {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        background: $panel;
    }
    LiveScreen .bar.shown { display: block; }
    LiveScreen .bar:focus { border: none; background: $panel; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.view: Optional[TraceView] = None
        self._last_info: Optional[Text] = None
        self.message: str = ""
        # A search on its worker: when it began, and the share of rows it has looked at.
        self._search_started: Optional[float] = None
        self._search_progress = 0.0

    def compose_body(self) -> Iterable[Widget]:
        self.view = TraceView(self.backend.ring, id="trace")
        yield self.view
        yield Static(id="info")

    def _mount_bars(self) -> None:
        """The search and filter bars, hidden until asked for. Mounted after the first
        frame: two Inputs (and Input's stylesheet) cost it about 15 ms of CPU, 7 % of
        Textual's own import (bench/ui_startup.py's reference)."""
        if not self.is_attached or self.query("#search"):
            return
        self.mount(
            Input(
                placeholder="search: regex, smart case (Enter: find, Esc: close)",
                id="search",
                classes="bar",
            ),
            Input(
                placeholder="filter: task:NAME pid:N cpu:N ev:NAME (globs, a,b) or a regex; Enter",
                id="filter",
                classes="bar",
            ),
            after="#info",
        )

    def on_mount(self) -> None:
        self.ftop.after_first_frame(self._mount_bars)
        self.ftop.tick_signal.subscribe(self, self.on_tick)
        # The tick only comes when lines arrive; a scan or a search over what the
        # ring already holds, and horizontal scrolling, report on this timer.
        self.set_interval(self.ftop.refresh_interval, self._busy_tick)
        self.view_sync()
        if self.view is not None:
            self.view.focus()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.view_sync()

    def on_trace_view_wider(self, _: TraceView.Wider) -> None:
        self.update_info()

    # -- ticking -----------------------------------------------------------------------

    def on_tick(self, _: object = None) -> None:
        if self.is_active:
            self.view_sync()

    def _busy_tick(self) -> None:
        v = self.view
        if not self.is_active or v is None:
            return
        if v.index is not None and (v.scanning or (v.index.running and v.index.behind)):
            self.view_sync()
        else:
            self.update_info()

    def view_sync(self) -> None:
        if self.view is None:
            return
        self.view.sync()
        self.update_info()

    def update_info(self) -> None:
        v = self.view
        if v is None:
            return
        tv = ThemeColors(self.app)
        accent = tv.get("accent", "yellow")
        t = Text(" ")
        muted = tv.get("foreground-muted", "")
        if v.paused:
            t.append(" PAUSED ", style=f"bold reverse {accent}")
            t.append(" display only; the kernel keeps tracing ")
        elif v.follow:
            t.append(" FOLLOW ", style=f"bold {tv.get('success', 'green')}")
        else:
            t.append(f" row {min(v.cursor + 1, v.rows):,} of {v.rows:,} ", style="bold")
        if v.new_lines and not (v.follow and not v.paused):
            t.append(
                f" {glyphs().down} {plural(v.new_lines, 'new line')} (End) ", style=f"bold {accent}"
            )
        ring = v.ring
        t.append(f" {plural(len(ring), 'line')} in ring", style=muted)
        if ring.evicted:
            t.append(f" ({ring.evicted:,} rolled out)", style=muted)
        index = v.index
        if index is not None:
            t.append(" │ filter ", style=muted)
            t.append(str(v.filter), style=f"bold {tv.get('primary', 'blue')}")
            t.append(f" {plural(v.rows, 'line')} {noun(v.rows, 'matches', 'match')}")
            if v.scanning:
                if time.monotonic() - index.started_at >= MOMENT:
                    pct = int(index.progress() * 100)
                    t.append(f" (scanning the ring {pct}%, Esc cancels)", style=accent)
            elif index.behind > 50_000:
                # A flood: the scan keeps up over several ticks.
                t.append(f" (scanning, {plural(index.behind, 'line')} to go)", style=accent)
        if v.search is not None:
            t.append(" │ /", style=muted)
            t.append(v.search.text, style=f"bold {accent}")
        started = self._search_started
        if started is not None and time.monotonic() - started >= MOMENT:
            t.append(f" searching {int(self._search_progress * 100)}% (Esc stops)", style=accent)
        width = v.scrollable_content_region.width or v.size.width
        if v.line_width > width:
            # Lines are cut at the right edge: say where the view is and how to move.
            x = int(v.scroll_x)
            where = f"col {x + 1:,} " if x else ""
            t.append(f" │ {where}{glyphs().sideways} wider lines", style=muted)
        if v.marks:
            delta = v.mark_delta()
            t.append(" │ ", style=tv.get("foreground-muted", ""))
            if delta is not None:
                t.append(f"{glyphs().delta} {delta[0]:.6f} s", style=f"bold {accent}")
                t.append(f" ({plural(delta[1], 'row')})")
            else:
                t.append(plural(len(v.marks), "mark"))
        if self.message:
            t.append(" │ " + self.message, style=f"bold {accent}")
        if t != self._last_info:
            self._last_info = t
            # One row, the screen's width, whatever it says (the CSS fixes both): no
            # layout. With one, every tick under load reflowed the screen and redrew
            # the view's scrollbar, which had not changed.
            self.query_one("#info", Static).update(t, layout=False)

    # -- actions ---------------------------------------------------------------------------

    def _bar(self, which: str) -> Input:
        self._mount_bars()  # a key before the first frame's follow-up
        return self.query_one(f"#{which}", Input)

    def _open_bar(self, which: str, value: str) -> None:
        other = "filter" if which == "search" else "search"
        self._bar(other).remove_class("shown")
        bar = self._bar(which)
        bar.add_class("shown")
        bar.value = value
        bar.cursor_position = len(value)
        bar.focus()

    def _close_bars(self) -> None:
        for which in ("search", "filter"):
            self._bar(which).remove_class("shown")
        if self.view is not None:
            self.view.focus()

    def action_search(self) -> None:
        current = self.view.search.text if self.view and self.view.search else ""
        self._open_bar("search", current)

    def action_filter(self) -> None:
        current = str(self.view.filter) if self.view else ""
        self._open_bar("filter", current)

    def set_filter_text(self, text: str) -> Optional[str]:
        """Apply a filter given as text (the dashboard's drill-down uses this too)."""
        try:
            flt = LineFilter.parse(text)
        except ConfigError as e:
            return str(e)
        if self.view is not None:
            if self._search_started is not None:
                # Its rows are the old view's: n searches the new one.
                self.workers.cancel_group(self, "search")
                self._search_started = None
            self.view.set_filter(flt)
        self.message = ""
        self.update_info()
        return None

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        err = self.set_filter_text(event.value)
        if err:
            self.app.notify(err, title="Filter", severity="error")
            return
        self._close_bars()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        text = event.value
        self._close_bars()
        if self.view is None:
            return
        if not text:
            self.view.set_search(None)
        else:
            self.view.set_search(SearchPattern(text))
            self._find(backward=False, from_cursor=True)
        self.update_info()

    def action_escape(self) -> None:
        if any(self._bar(w).has_class("shown") for w in ("search", "filter")):
            self._close_bars()
            return
        if self.view is None:
            return
        if self._search_started is not None:
            # A long search over the ring: stop it, keep the pattern.
            self.workers.cancel_group(self, "search")
            self._search_started = None
            self.message = ""
        elif self.view.scanning:
            # A long rescan for a new filter: Esc drops that filter (and its scan).
            self.view.set_filter(LineFilter())
        elif self.view.search is not None:
            self.view.set_search(None)
        elif self.view.index is not None:
            self.view.set_filter(LineFilter())
        self.update_info()

    def action_search_next(self) -> None:
        self._find(backward=False)

    def action_search_prev(self) -> None:
        self._find(backward=True)

    def _find(self, backward: bool, from_cursor: bool = False) -> None:
        v = self.view
        if v is None or v.search is None:
            self.app.notify("nothing to search for: press / first", severity="warning")
            return
        seqs = v.visible_seqs()
        if from_cursor and v.follow and not v.paused:
            # Following: the newest match is the one wanted (as N would find it),
            # not one after the last line, where nothing can be yet.
            start, backward = len(seqs) - 1, True
        else:
            start = v.cursor if from_cursor else v.cursor + (-1 if backward else 1)
        self._search_started = time.monotonic()
        self._search_progress = 0.0
        self._search_worker(v.search, seqs, start, backward, from_cursor)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search_worker(
        self,
        pattern: SearchPattern,
        seqs: Union[range, Sequence[int]],
        start: int,
        backward: bool,
        first: bool,
    ) -> None:
        worker = get_current_worker()

        def progress(share: float) -> None:
            self._search_progress = share  # read by update_info on the tick

        found = search_rows(
            pattern,
            self.backend.ring,
            seqs,
            start,
            backward,
            cancelled=lambda: worker.is_cancelled,
            progress=progress,
        )
        if not worker.is_cancelled:
            self.app.call_from_thread(self._found, found, pattern.text, backward, first)

    def _found(self, found: Optional[Found], text: str, backward: bool, first: bool) -> None:
        self._search_started = None
        if found is None or self.view is None or not self.view.jump_to_seq(found.seq):
            self.message = f"'{text}' not found"
        elif found.wrapped and not first:
            # As vim's wrapscan says it: the match is on the other side of an end.
            self.message = (
                "search hit TOP, continuing at BOTTOM"
                if backward
                else "search hit BOTTOM, continuing at TOP"
            )
        else:
            self.message = ""
        self.update_info()

    def action_pause(self) -> None:
        if self.view is None:
            return
        self.view.set_paused(not self.view.paused)
        self.update_info()

    def action_follow(self) -> None:
        if self.view is not None:
            self.view.go_end()
            self.update_info()

    def action_mark(self) -> None:
        if self.view is not None:
            self.view.toggle_mark()
            self.update_info()

    def action_clear_marks(self) -> None:
        if self.view is not None:
            self.view.clear_marks()
            self.update_info()

    def action_clear_view(self) -> None:
        self.backend.ring.clear()
        self.view_sync()

    def action_fields(self) -> None:
        if self.view is None:
            return
        cur = self.view.current_record()
        if cur is not None:
            self._offer(cur[1])

    @on(TraceView.Opened)
    def _opened(self, event: TraceView.Opened) -> None:
        self._offer(event.record)

    def _offer(self, rec: Record) -> None:
        """Enter on a line: its fields, or the view narrowed to its pid, task or event."""
        # Imported on first use, as the dialogs are: the first frame does not need them.
        from ftop.tui.widgets.line_menu import FIELDS, LineMenu

        def picked(choice: Optional[str]) -> None:
            if choice == FIELDS:
                from ftop.tui.widgets.dialogs import FieldsDialog  # see action_save

                self.app.push_screen(FieldsDialog(rec))
            elif choice is not None:
                self.filter_by(choice, rec)

        self.app.push_screen(LineMenu(rec), picked)

    def filter_by(self, choice: str, rec: Record) -> None:
        """Add "this line's pid / task / event" to the view's filter (replacing that part)."""
        from ftop.tui.widgets.line_menu import EVENT, PID, TASK

        if self.view is None:
            return
        flt = self.view.filter
        if choice == PID and rec.pid is not None:
            flt = dataclasses.replace(flt, pids=(rec.pid,))
        elif choice == TASK and rec.comm:
            flt = dataclasses.replace(flt, tasks=(filter_word(rec.comm),))
        elif choice == EVENT and rec.name:
            flt = dataclasses.replace(flt, names=(filter_word(rec.name),))
        else:
            return
        # Through the filter bar's own path, so the bar, the info line and a
        # drill-down all see the same filter text.
        err = self.set_filter_text(str(flt))
        if err:
            self.app.notify(err, title="Filter", severity="error")

    def action_save(self) -> None:
        v = self.view
        if v is None:
            return
        default = os.path.join(os.getcwd(), time.strftime("ftop-%Y%m%d-%H%M%S.txt"))
        filtered = v.index is not None

        def done(result: Optional[Tuple[str, bool]]) -> None:
            if result is None:
                return
            path, only_view = result
            seqs = v.visible_seqs() if only_view else None
            self._save_worker(path, seqs)

        # The dialogs' module is imported when one is first opened: the first frame
        # need not wait for it (issue 10).
        from ftop.tui.widgets.dialogs import SaveDialog

        self.app.push_screen(SaveDialog(default, filtered), done)

    @work(thread=True, group="save", exit_on_error=False)
    def _save_worker(self, path: str, seqs: Optional[Sequence[int]]) -> None:
        sess = self.backend
        if path.endswith(".dat"):
            # trace-cmd's format: the raw pages as the kernel handed them out.
            try:
                n = sess.save_tracedat(path)
            except FtopError as e:
                self.app.call_from_thread(self.app.notify, str(e).splitlines()[0], severity="error")
                return
            self.app.call_from_thread(
                self.app.notify,
                f"saved {plural(n, 'raw page')} to {path} (trace.dat)",
                title="Save",
            )
            return
        tracer = sess.status.tracer if sess.status.tracer != "?" else "nop"
        cpus = max(1, len(sess.status.cpu_stats) or os.cpu_count() or 1)
        from ftop.engine.stream.save_text import save_text

        try:
            # All or nothing: a full disk leaves no half file and the old one intact.
            n = save_text(path, sess.ring, seqs=seqs, tracer=tracer, cpus=cpus)
        except FtopError as e:
            self.app.call_from_thread(self.app.notify, str(e).splitlines()[0], severity="error")
            return
        self.app.call_from_thread(
            self.app.notify, f"saved {plural(n, 'line')} to {path}", title="Save"
        )


register_screen(ScreenSpec(S, "Live", "1", LiveScreen, "the trace as it streams", order=10))
