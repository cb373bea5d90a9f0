"""The recorded kernel captures the unit tests read (tests/fixtures/*/README.md says
where and how each was recorded; scripts/record-fixtures re-records them)."""

from __future__ import annotations

import gzip
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LAB = FIXTURES / "lab-6.1-rt"


def lab_path(name: str) -> Path:
    """A capture from the 6.1-rt kernel lab (stored plain or as ``.gz``).

    The captures are committed: a missing one is a broken checkout, not a reason
    to skip, so it fails the test that needs it.
    """
    for p in (LAB / name, LAB / (name + ".gz")):
        if p.exists():
            return p
    raise FileNotFoundError(f"lab capture {name} missing from {LAB} (scripts/record-fixtures)")


def lab_text(name: str) -> str:
    p = lab_path(name)
    data = p.read_bytes()
    return (gzip.decompress(data) if p.suffix == ".gz" else data).decode()
