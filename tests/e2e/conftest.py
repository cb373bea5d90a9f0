"""End-to-end fixtures: a tmux server per test, killed after it."""

from __future__ import annotations

import shutil
import sys
from typing import List

import pytest
from tmux_util import FTOP, Tmux


@pytest.fixture()
def tmux():  # type: ignore[no-untyped-def]
    if shutil.which("tmux") is None:
        print("\nSKIP e2e: tmux is not installed (Debian package tmux)", file=sys.stderr)
        pytest.skip("tmux is not installed (Debian package tmux)")
    if not FTOP.exists():
        pytest.skip(f"{FTOP} is not installed (pip install -e .)")
    sessions: List[Tmux] = []

    def make(name: str) -> Tmux:
        t = Tmux(name)
        sessions.append(t)
        return t

    yield make
    for t in sessions:
        t.kill()
