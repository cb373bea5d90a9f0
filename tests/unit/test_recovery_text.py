"""What restoring a killed run's journal did, said the same way by ``ftop stream``,
``ftop record`` and the UI (ftop.engine.control.recovery_text)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, Callable, List

import pytest
from ftop.engine.control.journal import Journal
from ftop.engine.control.recovery_text import recovery_notes
from ftop.engine.control.session import Recovery, Session
from ftop.engine.control.state import RestoreReport
from ftop.engine.errors import FtopError, TracefsError

from ftop.cli import build_parser


def recovery(pid: int, writes: int, errors: int = 0, problem: str = "") -> Recovery:
    j = Journal(Path(f"/run/ftop/{pid}.json"), pid, None, "/sys/kernel/tracing", 0.0)
    j.problem = problem or None
    report = RestoreReport()
    report.writes = [f"write {i}" for i in range(writes)]
    report.errors = [
        TracefsError("current_tracer", "write", errno.EBUSY, "busy", value="nop")
        for _ in range(errors)
    ]
    return Recovery(j, report)


def test_a_restore_says_whose_state_and_how_many_writes() -> None:
    assert recovery_notes([recovery(41, 1), recovery(42, 1234)]) == [
        "restored the state left by ftop pid 41 (1 write)",
        "restored the state left by ftop pid 42 (1,234 writes)",
    ]


def test_what_could_not_be_put_back_is_one_note_each_and_the_journal_kept() -> None:
    notes = recovery_notes([recovery(7, 3, errors=2)])
    assert notes[0] == "restored the state left by ftop pid 7 (3 writes)"
    assert len(notes) == 3
    for note in notes[1:]:
        assert note.startswith("could not put back: ") and "current_tracer" in note
        assert note.endswith("(journal kept: `ftop restore` retries)")


def test_a_journal_with_a_problem_says_only_the_problem() -> None:
    problem = "could not restore the state left by ftop pid 9 from /run/ftop/9.json: gone"
    assert recovery_notes([recovery(9, 0, problem=problem), recovery(10, 2)]) == [
        problem,
        "restored the state left by ftop pid 10 (2 writes)",
    ]


class _Stop(FtopError):
    pass


class _FakeSession:
    """Enough of a Session for a command to reach past recover(); validate() ends it."""

    read_only = False
    trace_self = False
    stream_mode = "auto"

    def __init__(self, recs: List[Recovery]) -> None:
        self.recs = recs

    def install_signal_handlers(self) -> None:
        pass

    def recover(self) -> List[Recovery]:
        return self.recs

    def validate(self, cfg: Any) -> None:
        raise _Stop("stopped after recovery (test)")


def _run(cmd: Callable[[Any], int], argv: List[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeSession([recovery(77, 1, errors=1)])
    monkeypatch.setattr(Session, "open", classmethod(lambda cls, *a, **k: fake))
    ns = build_parser(argv[0]).parse_args(argv[1:])
    assert cmd(ns) == 2  # the fake's validate() refusal


@pytest.mark.parametrize("sub", ["record", "stream"])
def test_the_commands_say_every_recovery_note_on_stderr(
    sub: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: ``ftop record`` never said what it could not put back (nor the write
    count), and ``ftop stream`` said "1 writes" and not how to retry."""
    from ftop.record_cmd import cmd_record
    from ftop.stream_cmd import cmd_stream

    if sub == "record":
        _run(cmd_record, ["record", "-o", str(tmp_path / "t.dat")], monkeypatch)
    else:
        _run(cmd_stream, ["stream"], monkeypatch)
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "ftop: restored the state left by ftop pid 77 (1 write)",
        "ftop: could not put back: "
        + str(recovery(0, 0, errors=1).report.errors[0])
        + " (journal kept: `ftop restore` retries)",
    ], err
