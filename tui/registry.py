"""The command table and the screen registry: one source for bindings, footer, help and palette.

Every key ftop answers to is a :class:`Command` here, registered by the module
that implements it. Screens are registered the same way, one module per
screen: each module calls :func:`register_screen`, and the number keys, the tab
line, the help screen and the command palette are all built from what was
registered. A new screen (tracers, function filters, stack, latency...) is a
new module and one row of :data:`SCREEN_TABLE`; nothing else changes.

The screen modules are imported when first needed, not at start (issue 10:
the first frame waits for nothing it does not show): :data:`SCREEN_TABLE`
holds what the tab line and the number keys need before that, and its
factories import the module on first use. The app imports the rest after the
first frame; the help screen and the palette, which list every command,
call :func:`load_screens` first.

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
    "SCREEN_TABLE",
    "Command",
    "ScreenSpec",
    "bindings_for",
    "command",
    "commands_for",
    "declared_screens",
    "load_screens",
    "register_screen",
    "view_commands",
]

APP_SCOPE = "app"

#: Every screen in tab order: (module, id, title, key, help, order). The module
#: registers the same spec with its real factory when imported
#: (tests/unit/test_startup_imports.py checks that the two agree).
SCREEN_TABLE: Tuple[Tuple[str, str, str, str, str, int], ...] = (
    ("ftop.tui.screens.live", "live", "Live", "1", "the trace as it streams", 10),
    (
        "ftop.tui.screens.events",
        "events",
        "Events",
        "2",
        "trace events: toggle, filter, trigger",
        20,
    ),
    (
        "ftop.tui.screens.dashboard",
        "dashboard",
        "Dashboard",
        "3",
        "rates, loss, top events and functions",
        30,
    ),
    (
        "ftop.tui.screens.tracers",
        "tracers",
        "Tracers",
        "4",
        "every tracer, what it does, switch with its options in one transaction",
        40,
    ),
    (
        "ftop.tui.screens.functions",
        "functions",
        "Functions",
        "5",
        "search available_filter_functions, set the function and graph filters, triggers, pids",
        50,
    ),
    (
        "ftop.tui.screens.graph",
        "graph",
        "Graph",
        "6",
        "function_graph call tree: per CPU or task, total/self time, slowest calls",
        60,
    ),
    (
        "ftop.tui.screens.stack",
        "stack",
        "Stack",
        "7",
        "the stack tracer: deepest kernel stack, stack_max_size over time (machine-wide)",
        70,
    ),
    (
        "ftop.tui.screens.latency",
        "latency",
        "Latency",
        "8",
        "wakeup/wakeup_rt/wakeup_dl: max latency, its report and stack, new maxima",
        80,
    ),
    (
        "ftop.tui.screens.setup",
        "setup",
        "Setup",
        "9",
        "trace options, buffer size, clock, CPU mask, instances",
        90,
    ),
    (
        "ftop.tui.screens.probes",
        "probes",
        "Probes",
        "0",
        "kprobe and uprobe events: create, enable, remove; the kernel's refusal shown",
        100,
    ),
)

#: Modules that register a screen, in tab order.
SCREEN_MODULES: List[str] = [row[0] for row in SCREEN_TABLE]

# The views' own scopes (trace_view.VIEW_SCOPE, kit.LIST_SCOPE), named here so that
# the registry needs neither module: see _settle_order.
_VIEW_SCOPES = ("trace", "list")
_SCREEN_KEY_PREFIX = "screen."


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


def _settle_order() -> None:
    """Put :data:`COMMANDS` in one order whatever order the modules were imported in.

    The palette lists commands in table order, and the order used to follow the
    imports at start: the views' keys, the app's, each screen's in tab order,
    then the number keys. Screens now load on demand, so the table is sorted
    back into that order each time a screen module registers."""
    screens = [row[1] for row in SCREEN_TABLE]

    def rank(item: Tuple[int, Command]) -> Tuple[int, int]:
        pos, c = item
        if c.id.startswith(_SCREEN_KEY_PREFIX) and c.scope == APP_SCOPE:
            group = 4 + len(screens)
        elif c.scope in _VIEW_SCOPES:
            group = _VIEW_SCOPES.index(c.scope)
        elif c.scope == APP_SCOPE:
            group = 2
        elif c.scope in screens:
            group = 3 + screens.index(c.scope)
        else:
            group = 3 + len(screens)  # a scope of its own: after the screens'

        return group, pos

    ordered = [c for _, c in sorted(enumerate(COMMANDS.values()), key=rank)]
    COMMANDS.clear()
    COMMANDS.update((c.id, c) for c in ordered)


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
    """A screen module's registration: its real factory replaces the table's stand-in."""
    SCREENS[spec.id] = spec
    _settle_order()
    return spec


def _deferred(module: str, screen_id: str) -> Callable[[], Screen[None]]:
    """The table's factory: import ``module`` (which registers the real spec), then build."""

    def build() -> Screen[None]:
        importlib.import_module(module)
        real = SCREENS[screen_id].factory
        if real is build:
            raise RuntimeError(f"{module} did not register the {screen_id!r} screen")
        return real()

    return build


def _declare_screens() -> None:
    for module, screen_id, title, key, help, order in SCREEN_TABLE:
        if screen_id not in SCREENS:
            SCREENS[screen_id] = ScreenSpec(
                screen_id, title, key, _deferred(module, screen_id), help, order
            )


_declare_screens()


def declared_screens() -> List[ScreenSpec]:
    """Every screen in tab order, with no screen module imported."""
    return sorted(SCREENS.values(), key=lambda s: (s.order, s.key))


def load_screens() -> List[ScreenSpec]:
    """Import every screen module and return the registered screens in tab order."""
    for name in SCREEN_MODULES:
        importlib.import_module(name)
    _settle_order()  # a view module imported on its own (help's) appended its keys
    return declared_screens()
