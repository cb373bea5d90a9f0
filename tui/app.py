"""The ftop application: the shell around the registered screens, and ``run()`` for the CLI.

The app drives one :class:`~ftop.engine.backend.Backend` (a live :class:`Session`, the
demo's :class:`DemoSession` or a saved trace's :class:`FileSession`): a worker thread
polls it (the next poll is scheduled only after the last one finished), the
trace_pipe reader's listener sets a flag and, the first time after a tick, asks
the event loop for the next ``tick_signal`` (at once, or when ``refresh_interval``
has passed since the last). Every change goes through the
session on a worker thread; the UI thread never reads or writes tracefs.

The first frame waits only for what it shows (issue 10): the status polled once
by :func:`build_app` and the first screen, whose module is imported when the app
switches to it. The poll loop, the trace_pipe stream and the other screens'
modules start after that frame (:meth:`FtopApp._first_frame`).

On every way out the session is restored: ``q``/F10/Ctrl-C/Ctrl-Q exit through
the same :meth:`FtopApp.action_quit` and ``run()`` restores in ``finally``;
SIGTERM and SIGHUP restore first, in the signal handler, before anything
touches a terminal that may be gone.

One piece on purpose (about 800 lines): the quit, restore and signal paths, the
poll loop and the refresh tick share the app's state and its one exit; the screens
and widgets, which need none of it, live in their own modules.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import contextvars
import importlib
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from ftop.engine.backend import Backend
from ftop.engine.control.config import TraceConfig
from ftop.engine.control.recovery_text import recovery_notes
from ftop.engine.control.session import Session, Status
from ftop.engine.control.state import RestoreReport
from ftop.engine.errors import FtopError, TracefsNotFound
from ftop.engine.stream.ring import pin_mmap_threshold
from ftop.themes import THEMES, pick_theme
from ftop.tui.gc_pace import GcPace
from ftop.tui.job_control import resume_only_after_suspend
from ftop.tui.lag_probe import lag_file, lag_probe
from ftop.tui.registry import (
    APP_SCOPE,
    SCREEN_MODULES,
    SCREENS,
    bindings_for,
    command,
    declared_screens,
    load_screens,
)
from ftop.tui.settings import Settings
from ftop.tui.widgets.base import FtopScreen, StatusInfo, tell_worker_error
from ftop.tui.widgets.glyphs import UNICODE, glyphs
from ftop.tui.widgets.glyphs import select as select_glyphs
from ftop.tui.widgets.printable import install_render_guard, printable
from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.filter import LineFilter, Monochrome, NoColor
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Input
from textual.worker import Worker, get_current_worker

if TYPE_CHECKING:
    from textual.command import Provider

__all__ = ["FtopApp", "OpenedBackend", "build_app", "open_backend", "run"]

# The reader thread shares the GIL with the event loop, and parsing one batch is
# one long C call (regex over the batch) that holds it: smaller batches than the
# engine's 1 MiB default keep the UI's lag low under a flood.
UI_BATCH_BYTES = 64 * 1024
# The stream starts after the first screen's first paint, or after this at the latest.
FIRST_FRAME_FALLBACK_S = 1.0

command(
    "app.help", "f1,question_mark", "help", "Help", "every key, grouped by screen", key_display="F1"
)
command("app.quit", "q,f10", "quit", "Quit", "quit, putting tracing back exactly as it was")
command(
    "app.tracing",
    "T,f9",
    "toggle_tracing",
    "Tracing",
    "turn tracing_on on or off in the kernel (the display is paused with p)",
    key_display="T",
)
command(
    "app.trace_self",
    "ctrl+t",
    "toggle_trace_self",
    "Trace ftop",
    "trace ftop's own threads too, or leave them out again (the default)",
    show=False,
)
# From the screen table: the screens' modules are imported when first shown, or after
# the first frame (FtopApp._import_screens), not here.
for _spec in declared_screens():
    command(
        f"screen.{_spec.id}",
        _spec.key,
        f"show_screen('{_spec.id}')",
        _spec.title,
        f"show the {_spec.title} screen: {_spec.help}",
        scope=APP_SCOPE,
        show=False,
    )


def _palette_provider() -> type[Provider]:
    """The palette's provider, imported when the palette first opens (Textual takes a
    callable for that); it lists every screen's commands, so all of them are loaded."""
    load_screens()
    from ftop.tui.screens.help import CommandTableProvider

    return CommandTableProvider


class FtopApp(App[Any]):
    """Status band, tabs and footer around the registered screens."""

    TITLE = "ftop"
    CSS_PATH = "ftop.tcss"
    # The Linux console (TERM=linux, class -console): its font has no rounded corners
    # and no eighth blocks (vkey, tall), so those borders are drawn solid there. In the
    # app's CSS because a widget's DEFAULT_CSS is scoped to the widget and cannot
    # select on the app's class.
    CSS = """
    App.-console #side, App.-console #detail, App.-console #stack-box {
        border-left: solid $panel;
    }
    App.-console ModalScreen > Vertical { border: solid $primary; }
    App.-console ModalScreen Input { border: solid $panel; }
    App.-console ModalScreen Input:focus { border: solid $primary; }
    App.-console FooterKey.-command-palette { border-left: solid $foreground 20%; }
    App.-console UnavailableScreen Vertical { border: solid $error; }
    """
    COMMANDS = {_palette_provider}
    BINDINGS = bindings_for(APP_SCOPE)
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        session: Optional[Backend] = None,
        kind: Optional[str] = None,
        label: Optional[str] = None,
        theme: str = "dark",
        settings: Optional[Settings] = None,
        error: Optional[str] = None,
        notes: Optional[List[str]] = None,
        poll_interval: float = 1.0,
        refresh_interval: float = 1 / 30,
        first_screen: str = "live",
        release: Optional[str] = None,
        detect_foreign: bool = False,
        late_notes: Optional[Callable[[], List[str]]] = None,
    ) -> None:
        if session is not None:
            # The first screen is the default mode (Textual's DEFAULT_MODE): Textual
            # then builds it at start, instead of an empty default screen that a
            # switch_mode in on_mount replaced, composed, styled and mounted for
            # nothing before the first frame (issue 10). Set on the instance, before
            # App.__init__ reads it: the first screen is chosen per run.
            first = first_screen if first_screen in SCREENS else "live"
            self.DEFAULT_MODE = first  # type: ignore[misc]
        super().__init__()
        # The last line of defence: no control character from the traced system
        # reaches the terminal even if a view forgot to escape it (tui/printable.py).
        install_render_guard()
        # The Linux console's font lacks most glyphs: ASCII stand-ins there.
        if select_glyphs() is not UNICODE:
            # Styles for the Linux console select on this class (borders its font has);
            # set before any widget is styled, so nothing is restyled for it.
            self.set_class(True, "-console", update=False)
        self._no_color_filter = NoColor()
        for t in THEMES.values():
            self.register_theme(t)
        self.initial_theme = theme
        self._start_with_theme(theme)
        # None: tracing is unavailable (only the UnavailableScreen is shown).
        self.session: Optional[Backend] = session
        if session is not None:
            for spec in sorted(SCREENS.values(), key=lambda s: s.order):
                self.add_mode(spec.id, partial(self._new_screen, spec.factory))
        # The source's own kind and label unless a caller (a test) says otherwise.
        self.kind = kind or (session.kind if session is not None else "live")
        self.label = label if label is not None else (session.label if session else "")
        self.settings = settings
        self.error = error
        self.notes = notes or []
        self.late_notes = late_notes
        self.poll_interval = poll_interval
        self.refresh_interval = refresh_interval
        self.first_screen = first_screen
        self.want_foreign = detect_foreign
        src_release = session.kernel_release if session is not None else None
        self.release = release or src_release or os.uname().release
        self.clock: Callable[[], float] = session.clock if session is not None else time.time
        self.frozen = session is not None and not session.realtime
        self.status_signal: Signal[StatusInfo] = Signal(self, "status")
        self.tick_signal: Signal[None] = Signal(self, "tick")
        self.status_info: Optional[StatusInfo] = None
        self.rate_history: Deque[float] = deque(maxlen=120)
        self.keymap_overrides: Dict[str, str] = dict(settings.keys) if settings else {}
        self.ticks = 0
        # Others on the same tracefs, told once each (see _tell_others).
        self._readers_told: List[str] = []
        self._gone_told = False
        self._lag_task: Optional[asyncio.Future[None]] = None
        self.first_frame_at: Optional[float] = None
        self._slow_before: Optional[Callable[[str, float], None]] = None
        self._first_frame_queued = False
        self._after_first_frame: List[Callable[[], Any]] = []
        self._dirty = threading.Event()
        self._tick_at = 0.0
        self._tick_loop: Optional[asyncio.AbstractEventLoop] = None
        self._tick_context: Optional[contextvars.Context] = None
        self._poll_wake = threading.Event()
        self._stopping = threading.Event()
        self._last_lifetime: Optional[int] = None
        self._last_clock: Optional[float] = None
        self._quitting = False
        self.restore_report: Optional[RestoreReport] = None
        self.restore_error: Optional[str] = None
        self._gc_pace = GcPace()

    def _start_with_theme(self, name: str) -> None:
        """The theme the stylesheet starts with, set before anything is parsed.

        Set as ``self.theme = name`` once the app runs (Textual's way), it made Textual
        reparse the whole stylesheet, then parse every source again (its parse cache
        cleared by the new variables) and restyle every widget, all before the first
        frame (issue 10; about 4 % of the time to it). ``pick_theme`` has checked the
        name: ``set_reactive`` does not validate.
        Nothing has been parsed or styled yet here, so the watcher's work reduces to
        the variables, the classes and the ANSI colour filter it would have set."""
        self.set_reactive(App.theme, name)  # no watcher: nothing to restyle yet
        dark = self.current_theme.dark
        self.stylesheet.set_variables(self.get_css_variables())
        self.set_class(True, f"-theme-{self.current_theme.name}", update=False)
        self.set_class(dark, "-dark-mode", update=False)
        self.set_class(not dark, "-light-mode", update=False)
        refresh_filter = getattr(self, "_refresh_truecolor_filter", None)  # Textual >= 1.0
        if refresh_filter is not None:
            refresh_filter(self.ansi_theme)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Under ``NO_COLOR`` no colour at all: Textual's own answer to it is
        :class:`Monochrome`, which still paints 256-colour and truecolor greys;
        :class:`NoColor` leaves the terminal's default colours (emphasis comes from
        the ``mono`` theme's bold, reverse and underline)."""
        filters = super().get_line_filters()
        if not self.no_color:
            return filters
        return [self._no_color_filter if isinstance(f, Monochrome) else f for f in filters]

    def get_key_display(self, binding: Binding) -> str:
        shown = super().get_key_display(binding)
        if shown[:1] == "f" and shown[1:].isdigit():
            return shown.upper()  # "F10", as the help screen and the README write it
        # Key names drawn as a glyph (Enter's ⏎) have a word on the Linux console.
        return glyphs().enter if shown == UNICODE.enter else shown

    @property
    def backend(self) -> Backend:
        """The trace source, for the screens (which exist only when there is one).

        Raises:
            FtopError: tracing is unavailable (the app shows only the UnavailableScreen).
        """
        if self.session is None:
            raise FtopError("no trace source: tracing is unavailable")
        return self.session

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: Optional[float] = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry refusals and names from the traced system: shown escaped,
        never read as markup (callers with trusted markup pass ``markup=True``)."""
        if not markup:
            message, title = printable(message, keep_newlines=True), printable(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- start -----------------------------------------------------------------------

    def on_mount(self) -> None:
        resume_only_after_suspend()
        self._gc_pace.start()
        if self.keymap_overrides:
            self.set_keymap(self.keymap_overrides)
        if self.session is None:
            from ftop.tui.screens.unavailable import UnavailableScreen

            self.push_screen(UnavailableScreen(self.error or "tracefs is not available"))
            return
        self.session.listeners.append(self._on_lines)
        # New lines ask for a tick themselves (_on_lines): a timer at the frame rate
        # beats against the reader's passes, and lines that came just after a tick
        # waited a whole tick.
        self._tick_loop = asyncio.get_running_loop()
        self._tick_context = contextvars.copy_context()  # the app's (active_app)
        if self._dirty.is_set():
            self._tick_loop.call_soon(self._tick_soon, context=self._tick_context)
        # The start's notes (function tracing refused here...) as toasts just after
        # the first frame: a toast in it mounted, styled and drew Textual's toast
        # widgets first (about 5 % of the time to it on the build machine).
        self.after_first_frame(self._tell_notes)
        # _first_frame runs once the first screen has really been written out
        # (post_display_hook). Not a call_after_refresh from here: that ran after a
        # refresh Textual did not write (its start is one batch update), and the
        # stream's start then held the real first paint back 0.2 s. This timer only
        # makes sure the stream starts whatever happens to the paint.
        self.set_timer(FIRST_FRAME_FALLBACK_S, self._first_frame)

    def _new_screen(self, factory: Callable[[], Screen[Any]]) -> Screen[Any]:
        """A mode's screen, made when the app first switches to it.

        A new screen counts as styled by the stylesheet as it is now, which is what it
        gets when it mounts. Textual counts it as never styled, and then reparses the
        whole stylesheet and restyles every widget twice in ``switch_mode`` (three
        reparses before the first frame, with the theme's own); a theme changed later
        still restyles a screen it did not reach (issue 10)."""
        if self.status_info is None and self.session is not None:
            # The status build_app polled, published before the first screen mounts:
            # the first frame shows it (the first screen is made before on_mount, as
            # the default mode). The poll loop starts after that frame (a poll of its
            # own would only compete with the paint).
            self._publish(self.session.status, None)
        screen = factory()
        if hasattr(screen, "_css_update_count"):  # Textual 0.80 to 8.x
            screen._css_update_count = self._css_update_count
        return screen

    def post_display_hook(self) -> None:
        """Textual calls this after every display, also one it did not write."""
        if not self._first_frame_queued and self._display_written():
            self._first_frame_queued = True
            self.call_later(self._first_frame)

    def _display_written(self) -> bool:
        # What App._display writes under (textual 0.80 to 8.x): the app running and
        # outside a batch update. Read with defaults: a Textual without them only
        # starts the stream a frame early.
        return (
            bool(getattr(self, "_running", True))
            and not getattr(self, "_batch_count", 0)
            and isinstance(self.screen, FtopScreen)
        )

    def _tell_notes(self) -> None:
        for note in self.notes:
            self.notify(note, timeout=8)

    def after_first_frame(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the first frame has been written out (now, if it has).

        For widgets the first screen does not need to show. A ``call_after_refresh``
        is too early for them: the refresh it follows can be one Textual did not
        write (see on_mount), and what it mounts is then styled into the first frame."""
        if self.first_frame_at is not None:
            self.call_later(callback)
        else:
            self._after_first_frame.append(callback)

    def _first_frame(self) -> None:
        """After the first frame: start what would only delay it."""
        if self.first_frame_at is not None:
            return
        self.first_frame_at = time.monotonic()
        if self.leaving:
            return  # quit before the first frame: the restore is under way, start nothing
        for callback in self._after_first_frame:
            self.call_later(callback)
        self._after_first_frame.clear()
        pin_mmap_threshold()  # the ring's memory stays flat (see there)
        sess = self.backend
        self._poll_loop()
        try:
            # Live sessions read trace_pipe; a saved file has no reader (a no-op there).
            sess.limit_batch_bytes(UI_BATCH_BYTES)
            sess.start_stream()  # idempotent: tests and run() may have started it
        except FtopError as e:
            self.notify(f"cannot stream trace_pipe: {e}", severity="error", timeout=10)
        if self.want_foreign:
            self._detect_foreign()
        if self.late_notes is not None:
            self._tell_late_notes(self.late_notes)
        from ftop.engine.control import tracefs as tracefs_mod

        self._slow_before = tracefs_mod.SLOW.on_slow
        tracefs_mod.SLOW.on_slow = self._slow_write
        lag = lag_file()
        if lag:
            ring = self.backend.ring

            def fill() -> Dict[str, Any]:
                # The ring's fill too: a soak's warm-up ends when the lines and the raw
                # pages kept beside them (a session's PageRing) are both at their bounds.
                pages = getattr(self.backend, "pages", None)
                pages_full = pages is None or pages.evicted > 0
                return {"ring_lines": len(ring), "ring_full": ring.evicted > 0 and pages_full}

            self._lag_task = asyncio.ensure_future(lag_probe(lag, extra=fill))
        self.call_later(self._import_screens, list(SCREEN_MODULES))

    @work(thread=True, group="notes", exit_on_error=False)
    def _tell_late_notes(self, make: Callable[[], List[str]]) -> None:
        try:
            notes = make()
        except (FtopError, OSError) as e:
            notes = [f"cannot check what this user may change here: {e}"]
        for note in notes:
            with contextlib.suppress(RuntimeError):  # the app is gone
                self.call_from_thread(self.notify, note, timeout=8)

    def _import_screens(self, pending: List[str]) -> None:
        """After the first frame, the other screens' modules, one per turn of the event
        loop (a key pressed meanwhile waits for one import, not for all of them): the
        first use of a screen then costs no import."""
        while pending:
            name = pending.pop(0)
            if name not in sys.modules:
                importlib.import_module(name)
                break
        if pending:
            self.call_later(self._import_screens, pending)
        else:
            load_screens()  # settles the command table's order
            self._gc_pace.freeze()  # the app is built: no full collection walks it again

    @property
    def leaving(self) -> bool:
        """Quitting, a signal's restore, or the app's end has begun (see
        :func:`~ftop.tui.widgets.base.tell_worker_error`)."""
        return self._stopping.is_set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        tell_worker_error(self, event)

    def on_unmount(self) -> None:
        self._gc_pace.stop()
        # However the app ends (not only through quit): the poll thread would sleep
        # out its interval, and the process waits for it at exit.
        self._stopping.set()
        self._poll_wake.set()
        from ftop.engine.control import tracefs as tracefs_mod

        # The app's loop is gone: a slow write now (the restore after the app) must
        # not be handed to it (it was lost, with a coroutine never awaited).
        if tracefs_mod.SLOW.on_slow == self._slow_write:
            tracefs_mod.SLOW.on_slow = self._slow_before

    def _slow_write(self, what: str, seconds: float) -> None:
        """On the slow-write watcher's thread: a write the kernel is taking long over."""
        from ftop.engine.control.tracefs import slow_note

        with contextlib.suppress(RuntimeError):  # the app is gone
            self.call_from_thread(
                self.notify,
                slow_note(what, seconds),
                title="tracefs",
                timeout=10,
            )

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Deterministic screenshots: no blinking cursors when the demo clock is frozen.
        if self.frozen and isinstance(event.widget, Input):
            event.widget.cursor_blink = False

    # -- streaming and polling ------------------------------------------------------------

    def _on_lines(self, lines: Sequence[str]) -> None:
        """Runs on the reader thread, per batch: set a flag; the first batch after a
        tick asks the loop for the next one (the later ones coalesce into it)."""
        if self._dirty.is_set():
            return
        self._dirty.set()
        loop = self._tick_loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the app is gone
                loop.call_soon_threadsafe(self._tick_soon, context=self._tick_context)

    def _tick_soon(self) -> None:
        """On the loop: the tick now, or once ``refresh_interval`` has passed since the
        last (a flood gets a frame every interval, a trickle one per batch)."""
        wait = self._tick_at + self.refresh_interval - time.monotonic()
        if wait > 0 and self._tick_loop is not None:
            self._tick_loop.call_later(wait, self._tick, context=self._tick_context)
        else:
            self._tick()

    def _tick(self) -> None:
        if self._dirty.is_set():
            # The cadence runs from when the tick was due, not from when the loop got
            # to it: under a flood the loop is late by about a frame's work each time,
            # and timing from the late tick stretched every interval by that much (a
            # view refreshed 15 to 18 times a second, not 30). It catches up by at
            # most half an interval, so a trickle after a pause gets no burst.
            now = time.monotonic()
            self._tick_at = max(
                self._tick_at + self.refresh_interval, now - self.refresh_interval / 2
            )
            self._dirty.clear()
            self.ticks += 1
            self.tick_signal.publish(None)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll_loop(self) -> None:
        worker = get_current_worker()
        sess = self.backend
        while not worker.is_cancelled and not self._stopping.is_set():
            err: Optional[str] = None
            try:
                st = sess.poll()
            except FtopError as e:
                st, err = sess.status, str(e).splitlines()[0]
            except OSError as e:
                st, err = sess.status, f"poll: {e}"
            reader = sess.reader
            if reader is not None and reader.error is not None:
                err = f"trace_pipe: {reader.error}"
            try:
                self.call_from_thread(self._publish, st, err)
            except RuntimeError:
                return
            self._poll_wake.wait(self.poll_interval)
            self._poll_wake.clear()

    def poll_now(self) -> None:
        """Poll at once (after a change) instead of waiting for the next interval."""
        self._poll_wake.set()

    def _tell_others(self, status: Status) -> None:
        """What others did on this tracefs since the last poll: each said once."""
        for note in status.outside_changes:
            self.notify(note, title="changed outside ftop", severity="warning", timeout=10)
        new = [r for r in status.other_readers if r not in self._readers_told]
        if new:
            self.notify(
                "also reading this buffer (each read takes events from the others): "
                + ", ".join(new),
                title="another reader",
                severity="warning",
                timeout=12,
            )
        self._readers_told = list(status.other_readers)
        if status.instance_gone and not self._gone_told:
            self._gone_told = True
            self.notify(
                "the instance ftop works in was removed by someone else",
                severity="error",
                timeout=15,
            )

    def _publish(self, status: Status, err: Optional[str]) -> None:
        self._tell_others(status)
        now = self.clock()
        sess = self.backend
        snap = sess.aggregates.snapshot(now, top_n=200)
        series = sess.rate_series()
        if series is not None:
            self.rate_history.clear()
            self.rate_history.extend(series[-120:])
        elif not self.rate_history:
            self.rate_history.extend(x / snap.bucket_s for x in snap.series[:-1])
        elif (
            self._last_clock is not None
            and now > self._last_clock
            and self._last_lifetime is not None
        ):
            self.rate_history.append(
                (snap.lifetime_events - self._last_lifetime) / (now - self._last_clock)
            )
        self._last_clock, self._last_lifetime = now, snap.lifetime_events
        label = self.label
        reader = self.backend.reader
        self.status_info = StatusInfo(
            status,
            snap,
            self.kind,
            label,
            self.release,
            err,
            # Which path the live stream takes (the demo replays text, a file has none).
            stream=(
                (
                    "text (raw fell behind)"
                    if (self.backend.raw_why or "").startswith("the raw")
                    else reader.kind
                )
                if reader is not None and self.kind == "live"
                else ""
            ),
            rendered_raw=reader.rendered_raw if reader is not None else 0,
        )
        self.status_signal.publish(self.status_info)

    @work(thread=True, group="foreign", exit_on_error=False)
    def _detect_foreign(self) -> None:
        try:
            notes = self.backend.detect_foreign()
        except FtopError:
            return
        if notes:
            text = "left alone, restored as found on exit: " + "; ".join(notes)
            self.call_from_thread(self.notify, text, title="Already set before ftop", timeout=8)

    # -- actions ------------------------------------------------------------------------------

    def action_show_screen(self, screen_id: str) -> None:
        if screen_id in SCREENS and self.session is not None:
            self.switch_mode(screen_id)

    def action_help(self) -> None:
        # Help lists every screen's keys: all of them loaded (at once if F1 came early).
        load_screens()
        from ftop.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen())

    def action_help_quit(self) -> None:
        """Ctrl-C quits, as the README says, through the same path as ``q`` (restoring).

        Textual binds Ctrl-C to a toast that names Ctrl-Q; an input with a selection
        still copies it first (its own Ctrl-C binding comes before the app's)."""
        self.call_next(self.action_quit)

    async def action_quit(self) -> None:
        """Quit: put tracing back exactly as it was (on a thread), then leave."""
        self._stopping.set()
        self._poll_wake.set()
        if self.session is not None and not self._quitting:
            self._quitting = True
            self.notify(f"putting tracing back as it was{glyphs().ellipsis}", timeout=5)
            try:
                self.restore_report = await asyncio.to_thread(self.session.restore)
            except Exception as e:  # reported after the screen is gone
                self.restore_error = str(e)
        self.exit()

    def action_toggle_tracing(self) -> None:
        sess = self.session
        if sess is None:
            return
        on = self.status_info.status.tracing_on if self.status_info else True
        self._change(lambda: sess.set_tracing_on(not on), "tracing_on")

    def action_toggle_trace_self(self) -> None:
        sess = self.backend
        on = not sess.trace_self

        def flip() -> None:
            sess.set_trace_self(on)
            self.call_from_thread(
                self.notify,
                "ftop's own threads are traced too"
                if on
                else "ftop's own threads are left out again (set_event_notrace_pid)",
                title="Trace ftop",
            )

        self._change(flip, "trace ftop")

    def action_set_tracer(self, name: str) -> None:
        self._change(lambda: self.backend.set_tracer(name), f"tracer {name}")

    @work(thread=True, group="change", exit_on_error=False)
    def _change(self, fn: Callable[[], None], what: str) -> None:
        try:
            fn()
        except FtopError as e:
            self.call_from_thread(
                self.notify, str(e), title=f"{what}: refused", severity="error", timeout=8
            )
        self.poll_now()

    def action_set_theme(self, name: str) -> None:
        if name not in THEMES:
            return
        self.theme = name
        if self.settings is not None:
            self.settings.theme = name
            self._save_settings()

    @work(thread=True, group="settings", exit_on_error=False)
    def _save_settings(self) -> None:
        if self.settings is not None:
            err = self.settings.save()
            if err:
                self.call_from_thread(self.notify, err, severity="warning")

    def theme_names(self) -> List[str]:
        return list(THEMES)

    def tracer_names(self) -> List[str]:
        if self.session is None or self.kind == "file":
            return []
        caps = self.session.caps
        return [t for t in caps.tracers if caps.tracer_refusal(t) is None]

    def filter_live(self, text: str) -> None:
        """Show the live screen narrowed by ``text`` (the dashboard's drill-down)."""
        # Imported here: the screens' modules load when first shown (tui/registry.py).
        from ftop.tui.screens.live import LiveScreen

        self.switch_mode("live")
        screen = self.screen
        if isinstance(screen, LiveScreen):
            err = screen.set_filter_text(text)
            if err:
                self.notify(err, severity="error")

    def live_screen(self) -> Optional[Screen[Any]]:
        stack = self._screen_stacks.get("live")
        return stack[0] if stack else None


# -- building and running -------------------------------------------------------------------


@dataclass
class OpenedBackend:
    """What :func:`open_backend` found.

    Attributes:
        session: the trace source; None when tracing is unavailable.
        error: why tracing is unavailable (shown by the UnavailableScreen).
        notes: shown once the app is up.
        fatal: a message to print and exit 2 with (nothing was left changed).
        detected: what others set was already reported (in ``notes``).
        late_notes: more notes, made after the first frame (on a thread).
    """

    session: Optional[Backend] = None
    error: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    fatal: Optional[str] = None
    detected: bool = False
    late_notes: Optional[Callable[[], List[str]]] = None


def open_backend(
    ns: argparse.Namespace, cfg: TraceConfig, journal_dir: Optional[Path] = None
) -> OpenedBackend:
    """The session for the command line: demo, saved file or this machine's tracefs."""
    out = OpenedBackend()
    source = getattr(ns, "file", None) or getattr(ns, "input", None)
    if getattr(ns, "demo", False):
        from ftop.engine.demo.session import open_demo

        demo = open_demo(realtime=True)
        out.session = demo
        if not cfg.is_empty():
            try:
                demo.apply_config(cfg)
            except FtopError as e:
                demo.restore()
                out.session, out.fatal = None, str(e)
        return out
    if source:
        from ftop.engine.stream.offline import FileSession

        try:
            fs = FileSession(source)
        except FtopError as e:
            out.fatal = str(e)
            return out
        out.session = fs
        return out
    # Not root is no refusal: Session.open decides by access (a tracefs mounted with
    # gid=), and says who may when this user cannot even read it.
    readonly = bool(getattr(ns, "readonly", False))
    instance = getattr(ns, "instance", None) or cfg.instance
    try:
        sess = Session.open(
            getattr(ns, "tracefs", None),
            # --readonly: the instance is entered once writes are off (never made).
            instance=None if readonly else instance,
            keep=bool(getattr(ns, "keep", False)),
            journal_dir=journal_dir,
        )
        if readonly:
            sess.read_only = True
            if instance:
                sess.use_instance(instance)
        sess.tfs.read("tracing_on")
    except TracefsNotFound as e:
        out.error = str(e)
        return out
    except FtopError as e:
        out.error = str(e)
        return out
    sess.trace_self = bool(getattr(ns, "trace_self", False))
    ring_lines = getattr(ns, "ring", None)
    if ring_lines:
        from ftop.engine.stream.ring import Ring

        sess.ring = Ring(max_entries=ring_lines)  # before anything streams into it
    if getattr(ns, "text", False):
        sess.stream_mode = "text"
    out.session = sess
    if readonly:
        out.notes.append(
            "--readonly: ftop writes nothing here (no journal either); "
            "every key that would change tracing says so"
        )
    if not readonly:
        out.notes.extend(recovery_notes(sess.recover()))
    if not cfg.is_empty():
        # What others set is noted before our own changes, as `ftop stream` does.
        out.detected = True
        for note in sess.detect_foreign():
            out.notes.append(f"already set before ftop (left alone, restored on exit): {note}")
        try:
            sess.apply_config(cfg)
        except FtopError as e:
            sess.restore()
            out.session, out.fatal = None, str(e)
            return out
    if sess.caps.function_tracing is False:
        out.notes.append(f"function tracing is not available here: {sess.caps.function_refusal}")
    out.late_notes = partial(_access_notes, sess)
    return out


def _access_notes(sess: Session) -> List[str]:
    """What this user cannot write or read here. After the first frame, on a thread:
    the writability scan looks at every event's files (about 2,300 on a desktop
    kernel, 20 to 30 ms) and root, nearly always, gets no note from it."""
    out = []
    barred = sess.access_note()
    if barred is not None:
        out.append(barred)
    if sess.stream_mode != "text":
        from ftop.engine.control.access import hidden_symbols

        hidden = hidden_symbols(sess.top.path, access=sess.access)
        if hidden is not None:
            out.append(hidden)
    return out


def build_app(
    ns: argparse.Namespace,
    cfg: TraceConfig,
    journal_dir: Optional[Path] = None,
    settings: Optional[Settings] = None,
    environ: Optional[Dict[str, str]] = None,
) -> FtopApp:
    """Open the backend and make the app (the stream is started; nothing is drawn yet).

    Raises:
        FtopError: a bad ``--theme`` or a configuration the kernel refused
            (already restored).
    """
    settings = settings if settings is not None else Settings.load()
    try:
        theme = pick_theme(getattr(ns, "theme", None), settings.theme, environ)
    except KeyError as e:
        raise FtopError(str(e.args[0])) from None
    b = open_backend(ns, cfg, journal_dir)
    if b.fatal:
        raise FtopError(b.fatal)
    sess = b.session
    if sess is not None:
        # The stream starts after the first frame (FtopApp._first_frame).
        try:
            # Polled once before the app runs, so the first frame shows the real status.
            sess.poll()
        except FtopError as e:
            b.notes.append(f"cannot read the status: {e}")
    return FtopApp(
        sess,
        theme=theme,
        settings=settings,
        error=b.error,
        notes=b.notes,
        late_notes=b.late_notes,
        detect_foreign=sess is not None and sess.kind == "live" and not b.detected,
    )


def _tell_slow_writes_on_stderr() -> None:
    """After the app, the restore's slow writes are named on the terminal it gave back."""
    from ftop.engine.control import tracefs as tracefs_mod

    def say(what: str, seconds: float) -> None:
        print(
            printable(f"ftop: {tracefs_mod.slow_note(what, seconds)}"), file=sys.stderr, flush=True
        )

    tracefs_mod.SLOW.on_slow = say


def _install_exit_handlers(app: FtopApp) -> Tuple[Callable[[], None], Callable[[], None]]:
    """SIGTERM/SIGHUP: restore first (the terminal may be gone), then leave.

    Returns (leaving, undo): call ``leaving`` before the main path's restore, ``undo``
    after it."""
    restoring = threading.Event()
    previous: Dict[int, Any] = {}

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        sess = app.session
        if restoring.is_set():
            return  # the main path is already restoring; let it finish
        restoring.set()
        # The poll worker reads the instance's files: stop it, or rmdir meets EBUSY.
        app._stopping.set()
        app._poll_wake.set()
        if sess is not None:
            with contextlib.suppress(Exception):
                sess.restore()
        code = 128 + signum
        # Leave promptly whatever the terminal does: exit cleanly if we can, hard if not.
        threading.Timer(1.5, os._exit, args=(code,)).start()
        try:
            loop = app._loop
            if loop is not None:
                loop.call_soon_threadsafe(app.exit, None, code)
            else:
                os._exit(code)
        except Exception:
            os._exit(code)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, handler)

    def leaving() -> None:
        """The main path restores from here on: the handlers stay installed (doing
        nothing) until :func:`undo`, so a late SIGHUP cannot kill a restore half-way."""
        restoring.set()

    def undo() -> None:
        restoring.set()
        for sig, h in previous.items():
            signal.signal(sig, h)

    return leaving, undo


def run(ns: argparse.Namespace, cfg: TraceConfig) -> int:
    """``ftop`` without a subcommand: the full-screen app. Returns the exit status."""
    try:
        app = build_app(ns, cfg)
    except FtopError as e:
        print(printable(f"ftop: {e}", keep_newlines=True), file=sys.stderr)
        return 2
    sess = app.session
    if sess is not None:
        atexit.register(sess.restore)
    leaving, undo = _install_exit_handlers(app)
    result: Any = None
    try:
        result = app.run()
    finally:
        leaving()
        _tell_slow_writes_on_stderr()
        try:
            if sess is not None:
                # Quitting restored already (restore is idempotent); every other way out
                # does it here.
                report = sess.restore() or app.restore_report
                if report is not None and not report.ok:
                    for err in report.errors:
                        print(printable(f"ftop: restore: {err}"), file=sys.stderr)
                if app.restore_error:
                    print(printable(f"ftop: restore: {app.restore_error}"), file=sys.stderr)
        finally:
            undo()
    if result == "demo":
        demo_ns = argparse.Namespace(**{**vars(ns), "demo": True, "file": None, "input": None})
        return run(demo_ns, cfg)
    return int(app.return_code or 0)
