"""The command table and the screen registry: one source for bindings, footer, help and palette.

Every key ftop answers to is a :class:`Command` here, registered by the module
that implements it. Screens are registered the same way, one module per
screen: the app loads :data:`SCREEN_MODULES`, each module calls
:func:`register_screen`, and the number keys, the tab line, the help screen
and the command palette are all built from what was registered. A new screen
(tracers, function filters, stack, latency...) is a new module added to
:data:`SCREEN_MODULES`; nothing else changes.

A command's ``id`` is its keymap name: ``[keys]`` in the config file rebinds
it (``"live.search" = "slash,f3"``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from textual.screen import Screen

__all__ = [
    "APP_SCOPE",
    "COMMANDS",
    "SCREENS",
    "SCREEN_MODULES",
    "Command",
    "ScreenSpec",
    "bindings_for",
    "command",
    "commands_for",
    "load_screens",
    "register_screen",
    "view_commands",
]

APP_SCOPE = "app"

#: Modules that register a screen, in tab order. Issue-5 screens go here.
SCREEN_MODULES: List[str] = [
    "ftop.tui.screens.live",
    "ftop.tui.screens.events",
    "ftop.tui.screens.dashboard",
    "ftop.tui.screens.tracers",
    "ftop.tui.screens.functions",
    "ftop.tui.screens.graph",
    "ftop.tui.screens.stack",
    "ftop.tui.screens.latency",
    "ftop.tui.screens.setup",
    "ftop.tui.screens.probes",
]


@dataclass(frozen=True)
class Command:
    """One thing a user can do, with its keys.

    Attributes:
        id: keymap name, ``scope.name`` (``live.search``).
        keys: Textual key names, comma-separated (``slash,f3``).
        action: the Textual action run on the scope's screen (or ``app.…``).
        title: the footer label.
        help: one sentence for the help screen and the palette.
        scope: ``app`` or the id of the screen the command belongs to.
        show: shown in the footer.
        key_display: how the key is written in the footer and help.
        palette: offered in the command palette.
    """

    id: str
    keys: str
    action: str
    title: str
    help: str
    scope: str = APP_SCOPE
    show: bool = True
    key_display: Optional[str] = None
    palette: bool = True

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.title,
            show=self.show,
            key_display=self.key_display,
            tooltip=self.help,
            id=self.id,
        )


COMMANDS: Dict[str, Command] = {}


def command(
    id: str,
    keys: str,
    action: str,
    title: str,
    help: str,
    scope: Optional[str] = None,
    show: bool = True,
    key_display: Optional[str] = None,
    palette: bool = True,
) -> Command:
    """Register a command (the scope defaults to the id's prefix)."""
    if scope is None:
        scope = id.split(".", 1)[0] if "." in id else APP_SCOPE
    cmd = Command(id, keys, action, title, help, scope, show, key_display, palette)
    COMMANDS[id] = cmd
    return cmd


def view_commands(scope: str, rows: Sequence[Tuple[str, str, str, str, str]]) -> List[BindingType]:
    """Register a view's own keys and return them as its ``BINDINGS``.

    ``rows`` are ``(name, keys, action, title, help)``; the ids are ``scope.name``.
    A view's navigation keys stay out of the footer but are in F1, the palette
    (when the view has focus) and ``[keys]`` like every other command.
    """
    for name, keys, action, title, help in rows:
        command(f"{scope}.{name}", keys, action, title, help, scope=scope, show=False)
    return bindings_for(scope)


def commands_for(scope: str) -> List[Command]:
    return [c for c in COMMANDS.values() if c.scope == scope]


def bindings_for(scope: str) -> List[BindingType]:
    """The Textual bindings of one scope, for a class's ``BINDINGS``."""
    return [c.binding() for c in commands_for(scope)]


@dataclass(frozen=True)
class ScreenSpec:
    """A screen reachable from the tab line, its number key and the palette.

    Attributes:
        id: the screen's id (also its command scope and Textual mode name).
        title: the tab label.
        key: the number key that shows it.
        factory: builds the screen (called once; the screen then stays alive).
        help: one sentence for the help screen and the palette.
        order: position in the tab line.
    """

    id: str
    title: str
    key: str
    factory: Callable[[], Screen[None]]
    help: str
    order: int = 50


SCREENS: Dict[str, ScreenSpec] = {}


def register_screen(spec: ScreenSpec) -> ScreenSpec:
    SCREENS[spec.id] = spec
    return spec


def load_screens() -> List[ScreenSpec]:
    """Import every screen module and return the registered screens in tab order."""
    for name in SCREEN_MODULES:
        importlib.import_module(name)
    return sorted(SCREENS.values(), key=lambda s: (s.order, s.key))
