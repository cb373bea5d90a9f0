"""A saved trace (``ftop FILE``) for the TUI tests: the frozen demo's ring written out and loaded.

Not a test module (no ``test_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from ftop.engine.demo.session import DemoSession
from ftop.engine.stream.lineview import save_lines
from ftop.engine.stream.offline import FileSession
from ftop.tui.app import FtopApp
from ftop.tui.settings import Settings


def saved_trace_app(tmp_path: Path, demo: DemoSession, name: str = "saved.txt") -> FtopApp:
    """The app over a file holding the demo's lines, loaded before the app starts."""
    path = tmp_path / name
    with open(path, "w") as f:
        save_lines(f, demo.ring)
    fs = FileSession(str(path))
    fs.load()
    fs.poll()
    return FtopApp(fs, kind="file", label=str(path), settings=Settings(tmp_path / "c.toml"))
