"""Issue 10: the first frame imports only what it shows; the other screens load after it.

Each check runs in a fresh interpreter (the test session has imported everything already).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
from typing import Any

# Imported when first shown or after the first frame, never by `import ftop.tui.app`.
LAZY = [
    "ftop.tui.screens.live",  # the first screen: imported when the app switches to it
    "ftop.tui.screens.events",
    "ftop.tui.screens.dashboard",
    "ftop.tui.screens.tracers",
    "ftop.tui.screens.functions",
    "ftop.tui.screens.graph",
    "ftop.tui.screens.stack",
    "ftop.tui.screens.latency",
    "ftop.tui.screens.setup",
    "ftop.tui.screens.probes",
    "ftop.tui.screens.help",
    "ftop.tui.screens.unavailable",
    "ftop.tui.widgets.kit",
    "ftop.engine.demo.session",
    "ftop.engine.raw.print_fmt",
]


def _run(code: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_app_pulls_in_no_screen_module() -> None:
    loaded = _run(
        f"""
        import json, sys
        import ftop.tui.app
        print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))
        """
    )
    assert loaded == [], f"imported before the first frame: {loaded}"


# Imported by none of what the live screen, the first one, shows: a line's parser
# (its fields: Enter, marks) and the dialogs come when first used.
LIVE_LAZY = [
    "ftop.engine.stream.parse",
    "ftop.tui.widgets.dialogs",
    "ftop.tui.widgets.line_menu",  # Enter on a line
    "ftop.engine.stream.save_text",  # a save
    "ftop.engine.stream.predates",  # the stream's start, after the first frame
    "ftop.tui.widgets.sparkline",  # the dashboard's and the stack screen's
    "textual.widgets._sparkline",
]


def test_the_first_screen_pulls_in_no_parser_and_no_dialog() -> None:
    loaded = _run(
        f"""
        import json, sys
        import ftop.tui.app
        import ftop.tui.screens.live
        print(json.dumps([m for m in {LIVE_LAZY!r} if m in sys.modules]))
        """
    )
    assert loaded == [], f"imported with the live screen: {loaded}"


def test_the_tab_line_knows_every_screen_before_any_is_imported() -> None:
    got = _run(
        """
        import json, sys
        from ftop.tui.app import FtopApp
        from ftop.tui.registry import SCREENS, COMMANDS
        print(json.dumps([[s.key for s in SCREENS.values()], 'screen.probes' in COMMANDS,
                          any(m.startswith('ftop.tui.screens.') for m in sys.modules)]))
        """
    )
    assert got == [["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"], True, False]


def test_the_screen_table_says_what_each_module_registers() -> None:
    """The table stands in for the modules until they are imported: the two must agree."""
    got = _run(
        """
        import json
        from ftop.tui import registry
        table = {s.id: (s.title, s.key, s.help, s.order) for s in registry.declared_screens()}
        registry.load_screens()
        real = {s.id: (s.title, s.key, s.help, s.order) for s in registry.declared_screens()}
        stand_ins = [s.id for s in registry.SCREENS.values() if s.factory.__name__ == 'build']
        print(json.dumps([table == real, sorted(set(real) - set(table)), stand_ins]))
        """
    )
    assert got == [True, [], []]


def test_the_command_order_does_not_depend_on_which_screen_loaded_first() -> None:
    """The palette lists commands in table order: the same whatever was imported first
    (before issue 10 the help screen's module, then every screen in tab order)."""
    as_before = _run(
        """
        import json
        import ftop.tui.screens.help
        import ftop.tui.app
        from ftop.tui.registry import COMMANDS, load_screens
        load_screens()
        print(json.dumps(list(COMMANDS)))
        """
    )
    reversed_ = _run(
        """
        import importlib, json
        import ftop.tui.app
        from ftop.tui.registry import COMMANDS, SCREEN_MODULES, load_screens
        for m in reversed(SCREEN_MODULES):
            importlib.import_module(m)
        import ftop.tui.screens.help
        load_screens()
        print(json.dumps(list(COMMANDS)))
        """
    )
    assert reversed_ == as_before
    groups = [k for k, _ in itertools.groupby(c.split(".")[0] for c in as_before)]
    assert groups == [
        "trace",
        "list",
        "app",
        "live",
        "events",
        "dashboard",
        "tracers",
        "functions",
        "graph",
        "stack",
        "latency",
        "setup",
        "probes",
        "screen",
    ]


def test_help_and_palette_pressed_at_once_list_every_screen() -> None:
    """F1 before the other screens were imported (after the first frame) still lists them."""
    got = _run(
        """
        import argparse, asyncio, json, sys, tempfile
        from pathlib import Path
        from ftop.engine.control.config import TraceConfig
        from ftop.tui.app import build_app
        from ftop.tui.settings import Settings

        async def main():
            home = Path(tempfile.mkdtemp())
            app = build_app(argparse.Namespace(demo=True), TraceConfig(),
                            settings=Settings(home / "config.toml"))
            app._import_screens = lambda pending: None  # as if F1 came before them
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                before = "ftop.tui.screens.events" in sys.modules
                await pilot.press("f1")
                await pilot.pause()
                rows = app.screen.rows()
                sections = sorted({section for section, _, _ in rows})
                await pilot.press("escape")
                await app.action_quit()
            return [before, sections]

        print(json.dumps(asyncio.run(main())))
        """
    )
    before, sections = got
    assert before is False
    assert {"2 Events", "9 Setup", "0 Probes"} <= set(sections), sections


# The demo's first frame needs no probe parser, function catalog, filter grammar or
# graph narrowing: they come with their first use (the replay starts after the frame).
DEMO_LAZY = [
    "ftop.engine.ftrace.probes",
    "ftop.engine.ftrace.catalog",
    "ftop.engine.demo.probe_args",
    "ftop.engine.control.error_log",
    "ftop.engine.demo.event_filter",  # the first filter written, or the replay's start
    "ftop.engine.demo.graph_replay",  # the replay's start
]


def test_opening_the_demo_pulls_in_no_probe_parser_and_no_function_catalog() -> None:
    loaded = _run(
        f"""
        import json, sys
        import ftop.tui.app
        import ftop.tui.screens.live
        from ftop.engine.demo.session import open_demo
        demo = open_demo(realtime=False)
        demo.poll()
        demo.restore()
        print(json.dumps([m for m in {DEMO_LAZY!r} if m in sys.modules]))
        """
    )
    assert loaded == [], f"imported by the demo's start: {loaded}"
