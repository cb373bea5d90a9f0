"""Regression: quitting while a change is under way (a UI worker switching the tracer).

The lab caught `restore` racing the transaction's stream restart ("cannot join
thread before it is started"), so the restore failed and tracefs kept the
change. A restore now waits for the transaction in flight, and no change
starts after it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest
from ftop.engine.control import session as session_mod
from ftop.engine.control.transaction import Change
from ftop.engine.demo.session import open_demo
from ftop.engine.errors import FtopError


def test_restore_waits_for_the_transaction_in_flight_and_later_changes_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sess = open_demo(realtime=False)
    sess.start_stream()
    real = session_mod.apply_changes
    entered = threading.Event()

    def slow(tfs: Any, changes: List[Change]) -> Any:
        entered.set()
        time.sleep(0.3)
        return real(tfs, changes)

    monkeypatch.setattr(session_mod, "apply_changes", slow)
    errors: List[BaseException] = []

    def switch() -> None:
        try:
            sess.apply([Change("current_tracer", "wakeup")])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=switch)
    t.start()
    assert entered.wait(5)
    t0 = time.monotonic()
    sess.restore()
    waited = time.monotonic() - t0
    t.join(5)
    assert not errors, errors
    assert waited >= 0.2, "restore did not wait for the transaction"
    with pytest.raises(FtopError, match="already put back"):
        sess.apply([Change("current_tracer", "nop")])


def test_restore_waits_for_an_instance_switch_and_later_switches_are_refused(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (issue 8): `use_instance` restarted the reader outside the session's
    lock, the same class of race as the quit race above: a quit during a switch could
    run its restore before the instance existed, leaving it behind."""
    from ftop.engine.control.session import Session
    from test_control import make_fake_tracefs

    tfs = make_fake_tracefs(tmp_path / "tracefs")
    sess = Session(tfs, journal_dir=tmp_path / "j")
    real = session_mod.probe
    entered = threading.Event()

    def slow(t: Any) -> Any:
        entered.set()
        time.sleep(0.3)
        return real(t)

    monkeypatch.setattr(session_mod, "probe", slow)
    errors: List[BaseException] = []

    def switch() -> None:
        try:
            sess.use_instance("race")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=switch)
    t.start()
    assert entered.wait(5)
    t0 = time.monotonic()
    report = sess.restore()
    waited = time.monotonic() - t0
    t.join(5)
    assert not errors, errors
    assert waited >= 0.2, "restore did not wait for the switch"
    assert report is not None and report.ok, report
    assert not (tmp_path / "tracefs" / "instances" / "race").exists(), "instance left behind"
    with pytest.raises(FtopError, match="already put back"):
        sess.use_instance("later")
    assert not (tmp_path / "tracefs" / "instances" / "later").exists()
