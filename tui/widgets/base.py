"""What every ftop screen shares: the status band, the tab line, the footer, and the app's signals.

Screens subclass :class:`FtopScreen` and implement ``compose_body``. The app
publishes a :class:`StatusInfo` after each poll (``app.status_signal``) and a
tick per refresh interval when lines arrived (``app.tick_signal``); screens
subscribe to what they show, and do nothing while they are not the current one.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, List, Optional, Tuple, cast

from ftop.engine.backend import Backend, tracefs_of
from ftop.engine.control.session import Status
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.stream.stats import AggregateSnapshot
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.color import Color
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

if TYPE_CHECKING:
    from ftop.tui.app import FtopApp

__all__ = [
    "FtopScreen",
    "ScreenTabs",
    "StatusBand",
    "StatusInfo",
    "ThemeColors",
    "app_backend",
    "human",
    "theme_color",
]


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


def app_backend(app: App[Any]) -> Backend:
    """The trace source of ``app``, an FtopApp (for dialogs and mixins outside FtopScreen).

    Raises:
        FtopError: tracing is unavailable (no source).
    """
    return cast("FtopApp", app).backend


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
        return {
            "badge": f"bold {c('background', 'black')} on {c('accent', 'yellow')}",
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
                part(95, ("● on", self._style("on")))
            else:
                part(95, ("○ off", self._style("off")))
            part(80, (str(st.events_enabled), "bold"), " events")
            part(50, (str(st.function_filters), "bold"), " filters")
        else:
            part(90, "tracer ", (st.tracer, self._style("key")))
        part(85, (human(snap.total_rate), "bold"), "/s")
        if info.stream:
            part(40, (info.stream, self._style("dim")))
        if info.rendered_raw:
            part(45, (f"{info.rendered_raw:,}", "bold"), " rendered raw")
        lost = snap.lost_total
        if lost > 0:
            part(99, (f" lost {lost:,} ", self._style("lost")))
        else:
            part(70, "lost ", ("0", "bold"))
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
                t.append(
                    f" {spec.key} {spec.title} ",
                    style=f"bold {c('background', 'black')} on {c('primary', 'blue')}",
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


class FtopScreen(Screen[None]):
    """Base of the registered screens: status band, tab line, body, footer."""

    SCREEN_ID: ClassVar[str] = ""

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
        yield Footer(compact=True)

    def compose_body(self) -> Iterable[Widget]:
        return []

    @property
    def is_active(self) -> bool:
        return self.app.screen is self

    def on_screen_resume(self) -> None:
        for tabs in self.query(ScreenTabs):
            tabs.update(tabs.render_tabs())


def kernel_release() -> str:
    return platform.release()
