"""The engine is a library for scripts and headless commands: it never pulls in Textual or Rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import ftop.engine


def _engine_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(ftop.engine.__path__, "ftop.engine.") if not m.ispkg
    )


def test_engine_has_modules_to_check() -> None:
    mods = _engine_modules()
    assert "ftop.engine.control.session" in mods and "ftop.engine.control.tracefs" in mods


def test_no_engine_module_imports_textual_or_rich() -> None:
    mods = _engine_modules()
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'rich'))\n"
        "bad += sorted(k for k in sys.modules if k.startswith('ftop.tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine imported UI modules: {out.stdout.strip()}"


def test_headless_cli_commands_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from ftop import cli\n"
        "cli.build_parser('stream'); cli.build_parser('doctor')\n"
        "print(any(k.startswith('textual') for k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_nothing_named_engine_or_tui_is_top_level() -> None:
    """Installed under one namespace: `import engine` must not find our package."""
    code = (
        "import importlib.util\n"
        "print([n for n in ('engine', 'tui', 'themes') if importlib.util.find_spec(n)])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert out.stdout.strip() == "[]"
