"""docs/reliability.md names the test behind each claim: every test it names exists.

The page is written by hand; this keeps it from drifting from the tests: a renamed
or removed test fails here until the page says what checks the claim now.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
# `tests/x.py`, `tests/x.py::test_name` and `::test_name` (the last file named).
SPAN = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?[^`]*`")


def _references() -> list[tuple[str, str | None]]:
    refs: list[tuple[str, str | None]] = []
    current = None
    for m in SPAN.finditer(DOC.read_text()):
        path, name = m.group(1), m.group(2)
        if path:
            current = path
        if path or name:
            if current is None:
                raise AssertionError(f"{m.group(0)} names a test before any file")
            refs.append((current, name))
    return refs


def test_the_page_names_tests() -> None:
    refs = _references()
    assert len(refs) >= 20, refs
    assert any(n for _, n in refs)


def test_every_test_the_page_names_exists() -> None:
    missing = []
    for path, name in _references():
        f = ROOT / path
        if not f.is_file():
            missing.append(path)
            continue
        if name and not re.search(rf"^(?:async )?def {re.escape(name)}\(", f.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
