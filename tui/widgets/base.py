"""What every ftop screen shares: the status band, the tab line, the footer, and the app's signals.

Screens subclass :class:`FtopScreen` and implement ``compose_body``. The app
publishes a :class:`StatusInfo` after each poll (``app.status_signal``) and a
tick per refresh interval when lines arrived (``app.tick_signal``); screens
subscribe to what they show, and do nothing while they are not the current one.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Tuple,
    cast,
)

from ftop.engine.backend import Backend, tracefs_of
from ftop.engine.control.session import Status
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import FtopError
from ftop.engine.stream.stats import AggregateSnapshot
from ftop.tui.widgets.glyphs import glyphs
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.keys import _character_to_key
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from ftop.tui.app import FtopApp

__all__ = [
    "FtopFooter",
    "FtopScreen",
    "ScreenTabs",
    "StatusBand",
    "StatusInfo",
    "ThemeColors",
    "app_backend",
    "human",
    "key_character",
    "no_color",
    "noun",
    "plural",
    "tell_worker_error",
    "theme_color",
    "worker_failure",
]


def worker_failure(app: App[Any], event: Worker.StateChanged) -> Optional[FtopError]:
    """The error a thread worker raised, as an :class:`FtopError` to show; None when
    there is none to show.

    Textual's default (``exit_on_error``) ends the whole app with a traceback, and
    ``exit_on_error=False`` alone drops the error without a word; ftop's workers use
    the latter and their node's ``on_worker_state_changed`` asks here (the app's and
    every screen's through :func:`tell_worker_error`, an applying dialog's for its own
    error line). Once the app is leaving the error is moot: the quit puts the kernel's
    state back and ends the session (the demo's simulated tracefs goes with it), so a
    read still under way can fail on what is gone (a CI failure: the Events screen's
    first read raised after a quick quit, and the app ended with its traceback).
    """
    if event.state is not WorkerState.ERROR:
        return None
    if getattr(app, "leaving", False) or not app.is_running:
        return None
    err = event.worker.error
    return err if isinstance(err, FtopError) else FtopError(f"{type(err).__name__}: {err}")


def tell_worker_error(app: App[Any], event: Worker.StateChanged) -> None:
    """A thread worker that raised: what it was doing and why, in a toast."""
    err = worker_failure(app, event)
    if err is None:
        return
    from ftop.tui.widgets.dialogs import error_lines

    what = event.worker.group if event.worker.group != "default" else event.worker.name
    app.notify(error_lines(err).plain, title=f"{what}: failed", severity="error", timeout=8)


class ThemeColors:
    """``.get(name, fallback)`` over the app's theme, Rich-ready (see :func:`theme_color`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, name: str, fallback: str = "default") -> str:
        return theme_color(self.app, name, fallback)


def theme_color(app: Any, name: str, fallback: str = "default") -> str:
    """A theme colour as Rich can use it (alpha blended over the background)."""
    v = getattr(app, "theme_variables", {}).get(name)
    if not v:
        return fallback
    try:
        c = Color.parse(v)
    except Exception:
        return fallback
    if c.a < 1:
        bg = Color.parse(app.theme_variables.get("background", "#000000"))
        c = bg + c
    return c.hex6


def no_color(app: Any) -> bool:
    """``NO_COLOR`` is set: the app draws no colour at all, so emphasis is reverse and bold."""
    return bool(getattr(app, "no_color", False))


def app_backend(app: App[Any]) -> Backend:
    """The trace source of ``app``, an FtopApp (for dialogs and mixins outside FtopScreen).

    Raises:
        FtopError: tracing is unavailable (no source).
    """
    return cast("FtopApp", app).backend


def noun(n: int, one: str, many: Optional[str] = None) -> str:
    """The word for ``n`` things: ``noun(1, "filter")`` is "filter", else "filters".

    ``many`` for the irregular ones: ``noun(n, "entry", "entries")``.
    """
    if n == 1:
        return one
    return many if many is not None else one + "s"


def span_text(seconds: float) -> str:
    """A span of trace time: ``850 us``, ``2.41 s``, ``3 min 12 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def plural(n: int, one: str, many: Optional[str] = None) -> str:
    """``n`` things, counted with thousands separators: "1 filter", "1,024 entries"."""
    return f"{n:,} {noun(n, one, many)}"


def human(n: float) -> str:
    """12345 -> '12.3k' (events per second, counts)."""
    if n >= 10_000_000:
        return f"{n / 1e6:.0f}M"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    if n >= 1_000:
        return f"{n / 1e3:.1f}k"
    if n >= 100 or n == int(n):
        return f"{n:.0f}"
    return f"{n:.1f}"


@dataclass
class StatusInfo:
    """One poll's worth of what the status band and the dashboard show."""

    status: Status
    snap: AggregateSnapshot
    kind: str  # "live", "demo" or "file"
    label: str  # tracefs path (or instance), demo or file name
    release: str
    error: Optional[str] = None
    # "raw" (trace_pipe_raw, decoded by ftop), "text" (trace_pipe), "" (a file).
    stream: str = ""
    rendered_raw: int = 0


def _loss_period(kind: str, snap: AggregateSnapshot) -> str:
    """What the band's loss figure counts over: since ftop started reading (a live
    session; the buffer's loss before that is not ftop's), or what a saved file holds.
    The demo replays its own loss: no period, as before."""
    if kind == "file":
        return " in file"
    if snap.loss_since is not None:
        return " since " + time.strftime("%H:%M", time.localtime(snap.loss_since))
    return ""


class StatusBand(Static):
    """One line: kernel, tracefs, tracer, tracing on/off, events, filters, events/s, loss."""

    DEFAULT_CSS = """
    StatusBand {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def on_mount(self) -> None:
        app = cast("FtopApp", self.app)  # the band is only ever composed by FtopScreen
        app.status_signal.subscribe(self, self.show_status)
        if app.status_info is not None:
            self.show_status(app.status_info)
        else:
            self.update(Text(" ftop", style="bold"))

    def on_resize(self, event: events.Resize) -> None:
        app = cast("FtopApp", self.app)
        if app.status_info is not None:
            self.show_status(app.status_info)

    def show_status(self, info: StatusInfo) -> None:
        self.update(self.render_status(info, self.size.width or 80))

    def _style(self, name: str) -> str:
        c = partial(theme_color, self.app)
        # Without colour (NO_COLOR) a badge is only told apart by reverse video.
        rev = " reverse" if no_color(self.app) else ""
        return {
            "badge": f"bold {c('background', 'black')} on {c('accent', 'yellow')}{rev}",
            "on": f"bold {c('success', 'green')}",
            "off": f"bold {c('error', 'red')}",
            "lost": f"bold {c('error', 'red')} reverse",
            "key": f"bold {c('primary', 'blue')}",
            "dim": c("foreground-muted", "grey50"),
        }[name]

    def render_status(self, info: StatusInfo, width: int) -> Text:
        st, snap = info.status, info.snap
        parts: List[Tuple[int, Text]] = []  # (priority: lower is dropped first, text)

        def part(prio: int, *chunks: Any) -> None:
            t = Text()
            for c in chunks:
                if isinstance(c, tuple):
                    t.append(c[0], style=c[1])
                else:
                    t.append(c)
            parts.append((prio, t))

        if info.kind == "demo":
            part(100, (" DEMO ", self._style("badge")))
        elif info.kind == "file":
            part(100, (" FILE ", self._style("badge")))
        part(60, (info.release, "bold"))
        if info.kind != "file":
            part(65, info.label)
        if info.kind != "file":
            part(90, "tracer ", (st.tracer, self._style("key")))
            if st.tracing_on:
                part(95, (f"{glyphs().on} on", self._style("on")))
            else:
                part(95, (f"{glyphs().off} off", self._style("off")))
            n_ev, n_filt = st.events_enabled, st.function_filters
            part(80, (f"{n_ev:,}", "bold"), " " + noun(n_ev, "event"))
            part(50, (f"{n_filt:,}", "bold"), " " + noun(n_filt, "filter"))
        else:
            part(90, "tracer ", (st.tracer, self._style("key")))
        if info.kind == "file":
            # A saved trace has no "now": what it holds, over the time it covers.
            part(85, (f"{snap.total:,}", "bold"), f" {noun(snap.total, 'event')} over ",
                 (span_text(snap.span_s), "bold"))  # fmt: skip
        else:
            part(85, (human(snap.total_rate), "bold"), "/s")
            if snap.sampled is not None:
                # The decoder kept up with this share: the figures are scaled from it.
                part(88, (f"sampled {snap.sampled * 100:.0f}%", self._style("lost")))
        if info.stream:
            part(40, (info.stream, self._style("dim")))
        if info.rendered_raw:
            part(45, (f"{info.rendered_raw:,}", "bold"), " rendered raw")
        lost = snap.lost_total
        period = _loss_period(info.kind, snap)
        if lost > 0:
            part(99, (f" lost {lost:,}{period} ", self._style("lost")))
        else:
            part(70, "lost ", ("0", "bold"), period)
        if info.error:
            part(98, (f" {info.error} ", self._style("lost")))

        sep = " │ "
        keep = list(parts)
        while keep and sum(t.cell_len for _, t in keep) + len(sep) * (len(keep) - 1) + 2 > width:
            lowest = min(range(len(keep)), key=lambda i: keep[i][0])
            keep.pop(lowest)
        out = Text(" ")
        for i, (_, t) in enumerate(keep):
            if i:
                out.append(sep, style=self._style("dim"))
            out.append_text(t)
        return out


class ScreenTabs(Static):
    """The screens, by number key; the current one highlighted. Click to switch."""

    DEFAULT_CSS = """
    ScreenTabs {
        height: 1;
        background: $surface;
        color: $foreground-muted;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current
        self._spans: List[Tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.update(self.render_tabs())

    def on_resize(self, event: events.Resize) -> None:
        self.update(self.render_tabs())

    def render_tabs(self) -> Text:
        # Ten screens do not fit 80 columns: past the width, the hints go first,
        # then the other tabs' titles shrink to 3 letters, then to their keys.
        width = self.size.width or self.app.size.width or 80
        for short, hints in ((None, True), (None, False), (3, False)):
            t = self._tabs(short, hints)
            if t.cell_len <= width:
                return t
        return self._tabs(0, False)

    def _tabs(self, short: Optional[int], hints: bool) -> Text:
        from ftop.tui.registry import SCREENS

        c = partial(theme_color, self.app)
        t = Text(" ")
        self._spans = []
        for spec in sorted(SCREENS.values(), key=lambda s: (s.order, s.key)):
            start = t.cell_len
            if spec.id == self.current:
                rev = " reverse" if no_color(self.app) else ""
                t.append(
                    f" {spec.key} {spec.title} ",
                    style=f"bold {c('background', 'black')} on {c('primary', 'blue')}{rev}",
                )
            else:
                t.append(f" {spec.key}", style=f"bold {c('primary', 'blue')}")
                title = spec.title if short is None else spec.title[:short]
                t.append(f" {title} " if title else " ")
            self._spans.append((start, t.cell_len, spec.id))
        if hints:
            t.append("  F1", style=f"bold {c('primary', 'blue')}")
            t.append(" help  ")
            t.append("^p", style=f"bold {c('primary', 'blue')}")
            t.append(" commands")
        return t

    def on_click(self, event: events.Click) -> None:
        for a, b, sid in self._spans:
            if a <= event.x < b:
                self.app.call_later(self.app.run_action, f"show_screen('{sid}')")
                return


# Key names of the printable ASCII characters ("q", "T", "slash", "space"...): what an
# Input takes as text instead of running the binding.
_KEY_CHARS = {_character_to_key(chr(c)): chr(c) for c in range(32, 127)}
# A key_display that is the character itself ("/") -> its key name ("slash").
_DISPLAY_KEYS = {ch: key for key, ch in _KEY_CHARS.items()}


def key_character(key: str) -> Optional[str]:
    """The printable character a key name stands for (``slash``: ``/``), or None (``f10``)."""
    return _KEY_CHARS.get(key)


# The keys that must stay in the footer whatever its width: help and quit.
_ESSENTIAL = ("help", "quit")


class _FooterEntry(NamedTuple):
    """One key of the footer, as shown."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    palette: bool = False


class FtopFooter(Widget, can_focus=False):
    """The footer, showing only keys that work where the focus is, as many as fit.

    While an input has the focus a letter types into it, and on a type-to-search
    screen (:meth:`FtopScreen.typed_here`) so do some keys wherever the focus is:
    ``q Quit`` would be a lie there. A command whose every key types is left out,
    and one with another key (quit's F10, tracing's F9) shows that key instead.
    Past the width, screen keys go from the last, then ``T Tracing`` and the
    palette key; help and quit always stay.

    One widget that draws every key, not Textual's Footer (a widget per key, each
    with two component classes): mounting and restyling nine keys was about 20 ms of
    CPU before the first frame (bench/ui_startup.py). It looks as that footer does,
    cell for cell; a click runs the key, hovering shows its tooltip.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "ftop-footer--key",
        "ftop-footer--description",
        "ftop-footer--border",
        "ftop-footer--hover",
    }
    DEFAULT_CSS = """
    FtopFooter {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $footer-foreground;
    }
    FtopFooter > .ftop-footer--key { color: $primary; text-style: bold; }
    FtopFooter > .ftop-footer--description { color: $footer-description-foreground; }
    FtopFooter > .ftop-footer--border { color: $foreground 20%; }
    FtopFooter > .ftop-footer--hover {
        color: $footer-key-foreground;
        background: $block-hover-background;
    }
    """

    show_command_palette = True

    def __init__(self) -> None:
        super().__init__()
        self._bindings_ready = False
        self._fit_width = 0
        self._shown: Tuple[_FooterEntry, ...] = ()
        self._hover: Optional[int] = None

    @property
    def shown(self) -> Tuple[_FooterEntry, ...]:
        """The keys shown, in order (the palette key last)."""
        return self._shown

    def _plan(self) -> Tuple[_FooterEntry, ...]:
        """The keys to show, in order."""
        if not self._bindings_ready:
            return ()
        screen = self.screen
        # TextArea only when something imported it (its module is heavy, and only a
        # dialog that edits text uses it): a focused one exists only then.
        ta = sys.modules.get("textual.widgets._text_area")
        typing = isinstance(screen.focused, Input) or (
            ta is not None and isinstance(screen.focused, ta.TextArea)
        )
        typed_here = screen.typed_here if isinstance(screen, FtopScreen) else None
        chosen: Dict[str, Tuple[int, Binding, bool, str]] = {}

        def typed(key: str) -> bool:
            return (typing and key in _KEY_CHARS) or (typed_here is not None and typed_here(key))

        order = 0
        for node, binding, enabled, tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in chosen or typed(binding.key):
                continue
            shown = binding.key_display
            if shown and typed(_DISPLAY_KEYS.get(shown, shown)):
                # The command's key_display names a key that types here ("T" of
                # "T,f9"): show the key that works instead.
                binding = dataclasses.replace(binding, key_display=None)
            if node is self.app:
                prio = 0 if binding.action in _ESSENTIAL else 1_000 + order
            else:
                prio = 1 + order
            order += 1
            chosen[binding.action] = (prio, binding, enabled, tooltip)
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)

        def cells(binding: Binding) -> int:
            # The key, a space, the description, a margin of one.
            shown = self.app.get_key_display(binding)
            return Text(shown).cell_len + 1 + Text(binding.description).cell_len + 1

        width = self.app.size.width or 80
        self._fit_width = width
        keep = dict(chosen)
        # The palette key is drawn at the right with a one-cell border.
        need = sum(cells(b) for _, b, _, _ in keep.values())
        if palette is not None and need + cells(palette[1]) + 1 > width:
            palette = None
        while need > width and any(p for p, _, _, _ in keep.values()):
            action = max(keep, key=lambda a: keep[a][0])
            need -= cells(keep.pop(action)[1])

        def entry(
            binding: Binding, enabled: bool, tooltip: str, palette: bool = False
        ) -> _FooterEntry:
            shown = self.app.get_key_display(binding)
            return _FooterEntry(
                binding.key, shown, binding.description, binding.action, enabled, tooltip, palette
            )

        plan = [entry(b, enabled, tooltip) for _prio, b, enabled, tooltip in keep.values()]
        if palette is not None:
            _, binding, enabled, _ = palette
            plan.append(entry(binding, enabled, binding.tooltip or binding.description, True))
        return tuple(plan)

    # -- what Textual's Footer did: follow the bindings

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.update_keys)

    def update_keys(self) -> None:
        """Show the keys that work now (drawn again only when they change)."""
        plan = self._plan()
        if plan != self._shown:
            self._shown = plan
            self._hover = None
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and self.app.size.width != self._fit_width:
            self.call_after_refresh(self.update_keys)

    # -- drawing

    def placed(self, width: Optional[int] = None) -> List[Tuple[_FooterEntry, int, int]]:
        """Each key shown with the cells it takes, [start, end): the palette key at the
        right, after its border cell; the others from the left, a cell apart."""
        width = self.size.width if width is None else width
        out: List[Tuple[_FooterEntry, int, int]] = []
        x = 0
        for e in self._shown:
            n = Text(e.display).cell_len + (
                1 + Text(e.description).cell_len if e.description else 0
            )
            if e.palette:
                # One cell of padding after it, as the palette key of Textual's footer.
                start = max(x + 1, width - n - 1)
                out.append((e, start, start + n))
            else:
                out.append((e, x, x + n))
                x += n + 1
        return out

    def render(self) -> Text:
        key_style = self.get_component_rich_style("ftop-footer--key")
        desc_style = self.get_component_rich_style("ftop-footer--description")
        hover_style = self.get_component_rich_style("ftop-footer--hover")
        border = self.get_component_rich_style("ftop-footer--border")
        dim = Style(dim=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        for i, (e, start, _end) in enumerate(self.placed()):
            if start > text.cell_len:
                gap = start - text.cell_len
                if e.palette:
                    text.append(" " * (gap - 1))
                    text.append("│" if self.app.has_class("-console") else "▏", border)
                else:
                    text.append(" " * gap)
            k, d = (hover_style, hover_style) if i == self._hover else (key_style, desc_style)
            if not e.enabled:
                k, d = k + dim, d + dim
            text.append(e.display, k + Style(bold=True) if i == self._hover else k)
            if e.description:
                text.append(" " + e.description, d)
        return text

    def _entry_at(self, x: int) -> Optional[int]:
        for i, (_e, start, end) in enumerate(self.placed()):
            if start <= x < end:
                return i
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        i = self._entry_at(event.x)
        if i != self._hover:
            self._hover = i
            self.tooltip = self._shown[i].tooltip or None if i is not None else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        i = self._entry_at(event.x)
        if i is None:
            return
        e = self._shown[i]
        if not e.enabled:
            self.app.bell()
        else:
            self.app.simulate_key(e.key)


class FtopScreen(Screen[None]):
    """Base of the registered screens: status band, tab line, body, footer."""

    SCREEN_ID: ClassVar[str] = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The newest read asked for, by worker group (see begin_read).
        self._reads: Dict[str, int] = {}

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        tell_worker_error(self.app, event)

    def begin_read(self, group: str) -> int:
        """Number a read of the kernel's state that a thread worker is about to make.

        ``exclusive`` cancels the group's older worker but cannot stop its thread: an
        older read (made before a removal finished, say) could land after the newer
        one and show what is no longer so (a CI failure on the Probes screen). Hand the
        answer over with :meth:`deliver_read`: only the newest read's lands."""
        n = self._reads.get(group, 0) + 1
        self._reads[group] = n
        return n

    def deliver_read(self, group: str, n: int, fn: Callable[..., None], *args: Any) -> None:
        """From the worker's thread: ``fn(*args)`` on the event loop, if read ``n`` is
        still the newest of ``group`` when it gets there."""

        def land() -> None:
            if self._reads.get(group) == n:
                fn(*args)

        self.app.call_from_thread(land)

    @property
    def ftop(self) -> FtopApp:
        # Registered screens only ever run inside FtopApp (its modes).
        return cast("FtopApp", self.app)

    @property
    def backend(self) -> Backend:
        """The app's trace source (registered screens exist only when there is one)."""
        return self.ftop.backend

    @property
    def tracefs(self) -> Tracefs:
        """The source's tracefs.

        Raises:
            NoTracefs: the source is a saved trace.
        """
        return tracefs_of(self.backend)

    def compose(self) -> ComposeResult:
        yield StatusBand()
        yield ScreenTabs(self.SCREEN_ID)
        yield from self.compose_body()
        yield FtopFooter()

    def compose_body(self) -> Iterable[Widget]:
        return []

    def typed_here(self, key: str) -> bool:
        """Whether ``key`` types into a search box on this screen wherever the focus is
        (type-to-search), so its binding never runs here and the footer leaves it out."""
        return False

    @property
    def is_active(self) -> bool:
        return self.app.screen is self

    def on_screen_resume(self) -> None:
        for tabs in self.query(ScreenTabs):
            tabs.update(tabs.render_tabs())


def kernel_release() -> str:
    return platform.release()
