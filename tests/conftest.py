"""Shared fixtures: the real tracefs for live tests, and the before == after guard."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def _real_tracefs() -> tuple[Path | None, str]:
    if os.geteuid() != 0:
        return None, "not root: live tests need root to drive tracefs"
    from ftop.engine.control.tracefs import find_tracefs
    from ftop.engine.errors import TracefsNotFound

    try:
        return find_tracefs(), ""
    except TracefsNotFound as e:
        return None, f"no tracefs here: {e}"


@pytest.fixture(scope="session")
def tracefs_root() -> Path:
    root, why = _real_tracefs()
    if root is None:
        # Printed, not only recorded: a skipped live tier must say why in CI logs.
        print(f"\nSKIP live tests: {why}", file=sys.stderr)
        pytest.skip(why)
    return root


@pytest.fixture()
def tfs(tracefs_root: Path):  # type: ignore[no-untyped-def]
    from ftop.engine.control.tracefs import Tracefs

    return Tracefs(tracefs_root)


@pytest.fixture()
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals of this test go to a private folder (also for child processes)."""
    d = tmp_path / "journals"
    monkeypatch.setenv("FTOP_JOURNAL_DIR", str(d))
    import ftop.engine.control.journal as jm

    monkeypatch.setattr(jm, "DEFAULT_DIR", d)
    return d


@pytest.fixture()
def unchanged(tfs):  # type: ignore[no-untyped-def]
    """Asserts the real tracefs is exactly as it was before the test (and after a restore)."""
    from ftop.engine.control.state import differences, snapshot

    before = snapshot(tfs)
    yield before
    after = snapshot(tfs)
    diff = differences(before, after)
    if diff:
        # Put the machine back before failing, so one failure does not cascade.
        from ftop.engine.control.state import restore

        # Instances the test left are removed too (restore keeps unknown ones).
        left = [i for i in after.instances if i not in before.instances]
        for name in left:
            with contextlib.suppress(OSError):
                (tfs.root / "instances" / name / "events" / "enable").write_text("0\n")
        restore(tfs, before, created_instances=left)
    assert not diff, "tracefs changed by the test:\n" + "\n".join(diff)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def iter_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            yield line.rstrip("\n")
