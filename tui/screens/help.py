"""Help (F1, ?): every binding, from the command table, grouped by screen; and the palette provider."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, List, Optional, Tuple, cast

from ftop.tui.registry import APP_SCOPE, COMMANDS, SCREENS, Command
from ftop.tui.widgets.base import FtopScreen, ThemeColors
from ftop.tui.widgets.kit import LIST_SCOPE, RowList
from ftop.tui.widgets.trace_view import VIEW_SCOPE, TraceView
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Label, Static

if TYPE_CHECKING:
    from ftop.tui.app import FtopApp

__all__ = ["CommandTableProvider", "HelpScreen", "key_label"]

_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "space": "Space",
    "escape": "Esc",
    "enter": "Enter",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "tab": "Tab",
}


def key_label(keys: str) -> str:
    """``slash,f3`` -> ``/ F3`` (as the help screen writes keys)."""
    out = []
    for k in keys.split(","):
        k = k.strip()
        if k in _NAMES:
            out.append(_NAMES[k])
        elif k.startswith("f") and k[1:].isdigit():
            out.append(k.upper())
        elif k.startswith("ctrl+"):
            out.append("^" + k[5:])
        else:
            out.append(k)
    return " ".join(out)


def _scope_title(scope: str) -> str:
    if scope == VIEW_SCOPE:
        return "Trace view"
    if scope == LIST_SCOPE:
        return "Lists"
    if scope == APP_SCOPE:
        return "Everywhere"
    spec = SCREENS.get(scope)
    return f"{spec.key} {spec.title}" if spec else scope


def _effective_keys(app: Optional[FtopApp], cmd: Command) -> str:
    if app is not None and cmd.id in app.keymap_overrides:
        return app.keymap_overrides[cmd.id]
    return cmd.keys


class HelpScreen(ModalScreen[None]):
    """Every command, its keys and what it does, built from the command table."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > Vertical {
        width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .title { text-style: bold; color: $primary; }
    HelpScreen .hint { color: $foreground-muted; height: auto; }
    """
    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def rows(self) -> List[Tuple[str, str, str]]:
        """(section, keys, "Title: help") for every command, in the order shown."""
        app = cast("FtopApp", self.app)  # help is pushed by FtopApp.action_help
        out: List[Tuple[str, str, str]] = []
        scopes = [APP_SCOPE] + [s.id for s in sorted(SCREENS.values(), key=lambda s: s.order)]
        # The views' own navigation keys (the trace view, every row list).
        scopes += [VIEW_SCOPE, LIST_SCOPE]
        for scope in scopes:
            for c in (c for c in COMMANDS.values() if c.scope == scope):
                out.append(
                    (
                        _scope_title(scope),
                        key_label(_effective_keys(app, c)),
                        f"{c.title}: {c.help}",
                    )
                )
        return out

    def compose(self) -> ComposeResult:
        tv = ThemeColors(self.app)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style=f"bold {tv.get('primary', 'blue')}", no_wrap=True, min_width=10)
        grid.add_column()
        section = None
        for sec, keys, text in self.rows():
            if sec != section:
                if section is not None:
                    grid.add_row("", "")
                grid.add_row(Text(sec, style="bold underline"), "")
                section = sec
            grid.add_row(keys, text)
        with Vertical():
            yield Label("ftop keys", classes="title")
            with VerticalScroll():
                yield Static(grid)
            # A Static, not a Label: it wraps where the dialog is narrower than the line
            # (at 80 columns a Label cut it at "config.toml").
            yield Static(
                "Esc closes.  Ctrl+P: command palette.  Rebind in ~/.config/ftop/config.toml [keys].",
                classes="hint",
                markup=False,
            )


class CommandTableProvider(Provider):
    """The command palette: the app's commands and the current screen's, themes, tracers."""

    def _entries(self) -> List[Tuple[str, str, str, DOMNode]]:
        app = cast("FtopApp", self.app)  # the palette is FtopApp's (COMMANDS)
        screen = self.screen
        scope = screen.SCREEN_ID if isinstance(screen, FtopScreen) else ""
        out: List[Tuple[str, str, str, DOMNode]] = []
        # The focused view's own keys run on that view.
        focused = screen.focused
        view = focused if isinstance(focused, (TraceView, RowList)) else None
        view_scope = VIEW_SCOPE if isinstance(view, TraceView) else LIST_SCOPE
        for c in COMMANDS.values():
            if view is not None and c.palette and c.scope == view_scope:
                label = f"{c.title}  ({key_label(_effective_keys(app, c))})"
                out.append((label, c.help, c.action, view))
                continue
            if not c.palette or c.scope not in (APP_SCOPE, scope):
                continue
            label = f"{c.title}  ({key_label(_effective_keys(app, c))})"
            out.append((label, c.help, c.action, screen if c.scope == scope else app))
        for name in app.theme_names():
            out.append(
                (
                    f"Theme: {name}",
                    f"switch to the {name} theme (remembered)",
                    f"set_theme('{name}')",
                    app,
                )
            )
        for tracer in app.tracer_names():
            out.append(
                (
                    f"Tracer: {tracer}",
                    f"set current_tracer to {tracer}",
                    f"set_tracer('{tracer}')",
                    app,
                )
            )
        return out

    async def _run(self, action: str, target: DOMNode) -> None:
        await self.app.run_action(action, target)

    async def discover(self) -> Hits:
        for label, help_, action, target in self._entries():
            yield DiscoveryHit(label, partial(self._run, action, target), help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, help_, action, target in self._entries():
            score = max(matcher.match(label), matcher.match(help_) * 0.5)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(label), partial(self._run, action, target), help=help_
                )
