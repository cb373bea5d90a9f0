"""What ``Session.recover()`` did, in the words every front end shows at start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List

if TYPE_CHECKING:
    from ftop.engine.control.session import Recovery

__all__ = ["recovery_notes"]


def recovery_notes(recoveries: Iterable[Recovery]) -> List[str]:
    """One note per journal a killed ftop left, and one per setting it could not put back.

    A journal that could not be read or restored says so itself (``journal.problem``);
    a restore that went through says how many writes it took. The notes quote kernel
    refusals: a caller shows them escaped (``printable``), as any text from the system.
    """
    notes: List[str] = []
    for rec in recoveries:
        if rec.journal.problem:
            notes.append(rec.journal.problem)
            continue
        n = len(rec.report.writes)
        notes.append(
            f"restored the state left by ftop pid {rec.journal.pid} "
            f"({n:,} {'write' if n == 1 else 'writes'})"
        )
        # The journal stays while anything is left to put back: the next start, or
        # `ftop restore`, tries again.
        notes.extend(
            f"could not put back: {err} (journal kept: `ftop restore` retries)"
            for err in rec.report.errors
        )
    return notes
