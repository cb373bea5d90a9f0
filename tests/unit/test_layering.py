"""The layering rules, read from the source rather than from what happens to be imported.

test_import_contract.py proves importing the engine pulls in no UI; an import
tucked inside a function would slip past it, so the engine's source is also
scanned here. And the UI never writes to tracefs itself: every change goes
through the engine (journal first, transaction, restore), so no UI module may
call the write paths that bypass it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

ROOT = Path(__file__).resolve().parents[2]
UI_LIBRARIES = ("textual", "rich")
# os-level calls that would touch tracefs behind the engine's back.
RAW_WRITES = {"write", "open", "mkdir", "rmdir", "truncate", "ftruncate"}


def _modules(folder: Path) -> Iterator[Tuple[Path, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def _imported_roots(tree: ast.Module) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def ui_imports_in_engine(root: Path = ROOT) -> List[str]:
    bad = []
    for path, tree in _modules(root / "engine"):
        for line, name in _imported_roots(tree):
            top = name.split(".")[0]
            if top in UI_LIBRARIES or name.startswith("ftop.tui"):
                bad.append(f"{path.name}:{line} imports {name}")
    return bad


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def tracefs_writes_in_ui(root: Path = ROOT) -> List[str]:
    bad = []
    for path, tree in _modules(root / "tui"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            parts = name.split(".")
            if len(parts) == 2 and parts[0] == "os" and parts[1] in RAW_WRITES:
                bad.append(f"{path.name}:{node.lineno} calls {name}")
            # Reaching through the session to its Tracefs to write (sess.tfs.write,
            # self.session.top.write ...) skips the journal.
            if (
                len(parts) >= 2
                and parts[-1] in ("write", "mkdir", "rmdir")
                and any(p in ("tfs", "top", "tracefs") for p in parts[:-1])
            ):
                bad.append(f"{path.name}:{node.lineno} calls {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and "engine" in node.module:
                for alias in node.names:
                    if alias.name in ("apply", "restore", "write_sysctl", "_write_sysctl"):
                        bad.append(f"{path.name}:{node.lineno} imports {node.module}.{alias.name}")
    return bad


def test_the_checks_find_violations_when_there_are_some(tmp_path: Path) -> None:
    """A check that cannot fail is none: planted violations are all reported."""
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text(
        "import os\ndef f():\n    import rich.text\n    from textual import app\n"
    )
    (tmp_path / "tui").mkdir()
    (tmp_path / "tui" / "y.py").write_text(
        "import os\n"
        "from ftop.engine.control.transaction import apply\n"
        "def g(self):\n"
        "    self.session.tfs.write('tracing_on', '0')\n"
        "    os.write(3, b'1')\n"
        "    self.app.session.notify('fine')\n"
    )
    assert ui_imports_in_engine(tmp_path) == [
        "x.py:3 imports rich.text",
        "x.py:4 imports textual",
    ]
    assert sorted(tracefs_writes_in_ui(tmp_path)) == [
        "y.py:2 imports ftop.engine.control.transaction.apply",
        "y.py:4 calls self.session.tfs.write",
        "y.py:5 calls os.write",
    ]


def test_engine_source_never_imports_the_ui() -> None:
    assert ui_imports_in_engine() == []


def test_the_ui_never_writes_to_tracefs_itself() -> None:
    assert tracefs_writes_in_ui() == []
