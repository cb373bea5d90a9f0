"""Not root, but let in by the tracefs mount's group or the files' modes (issue 11).

ftop decides by access, not by uid: it reads what the user may read, writes what
they may write, refuses the rest with the file's owner, group and mode before the
journal and before any write, and journals in a private folder of the user's.

These tests run as root, which passes every mode check, so the decisions are
checked through the session's injectable access function: ``as_member`` answers
as a user in the files' group would (group bits), from modes the tests chmod.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest
from ftop.engine.control import journal as jm
from ftop.engine.control.access import (
    TracefsUnreadable,
    access_note,
    hidden_symbols,
    read_refusal,
    unwritable,
)
from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs, find_tracefs
from ftop.engine.errors import FtopError, TracefsNotFound
from test_control import make_fake_tracefs

ROOT = os.geteuid() == 0


def as_member(path: str, mode: int) -> bool:
    """os.access for a user who is in the file's group and is not its owner."""
    perms = (stat.S_IMODE(os.stat(path).st_mode) >> 3) & 7
    want = (
        (4 if mode & os.R_OK else 0) | (2 if mode & os.W_OK else 0) | (1 if mode & os.X_OK else 0)
    )
    return perms & want == want


@pytest.fixture()
def tree(tmp_path: Path) -> Iterator[Path]:
    """A fake tracefs as `mount -o gid=G,mode=0750` leaves it, with the group allowed
    to write only sched_switch's enable and trace_marker (as the lab test chmods)."""
    root = tmp_path / "tracing"
    root.mkdir()
    make_fake_tracefs(root)
    (root / "trace_marker").write_text("")
    for p in [root, *root.rglob("*")]:
        os.chmod(p, 0o750 if p.is_dir() else 0o640)
    os.chmod(root / "events/sched/sched_switch/enable", 0o660)
    os.chmod(root / "trace_marker", 0o620)
    yield root


def _session(root: Path, jdir: Path) -> Session:
    return Session.open(str(root), journal_dir=jdir, access=as_member)


# -- reading ----------------------------------------------------------------------


def test_an_unreadable_mount_says_whose_it_is_and_what_would_allow_it(tree: Path) -> None:
    os.chmod(tree, 0o700)  # tracefs's default: root's alone
    why = read_refusal(tree, as_member)
    assert why is not None
    assert str(tree) in why and "mode 0700" in why and "group" in why
    assert "gid=" in why and "remount" in why
    assert "sudo" not in why  # the box may have none
    with pytest.raises(TracefsUnreadable) as e:
        Session.open(str(tree), access=as_member)
    # The TUI and the commands catch TracefsNotFound: this is one.
    assert isinstance(e.value, TracefsNotFound)


def test_a_readable_mount_opens_for_the_group(tree: Path, tmp_path: Path) -> None:
    assert read_refusal(tree, as_member) is None
    sess = _session(tree, tmp_path / "j")
    assert sess.read("current_tracer").strip() == "nop"


def test_pipes_the_user_cannot_read_are_said(tree: Path) -> None:
    os.chmod(tree / "trace_pipe", 0o600)
    why = read_refusal(tree, as_member)
    assert why is not None and "trace_pipe" in why and "mode 0600" in why


# -- writing ----------------------------------------------------------------------


def test_may_write_names_the_file_and_its_modes(tree: Path, tmp_path: Path) -> None:
    sess = _session(tree, tmp_path / "j")
    why = sess.may_write("current_tracer")
    assert why is not None and "current_tracer" in why and "mode 0640" in why
    assert sess.may_write("events/sched/sched_switch/enable") is None
    # A file that is not there is the kernel's to explain (not built in), not ours.
    assert sess.may_write("kprobe_events") is None


def test_a_refused_write_changes_nothing_not_even_the_journal(tree: Path, tmp_path: Path) -> None:
    jdir = tmp_path / "j"
    sess = _session(tree, jdir)
    with pytest.raises(FtopError) as e:
        sess.set_tracer("function")
    assert "current_tracer" in str(e.value) and "not writable" in str(e.value)
    with pytest.raises(FtopError):
        sess.set_event("sched", "sched_wakeup", True)
    assert (tree / "current_tracer").read_text() == "nop\n"
    assert not jdir.exists() or not list(jdir.iterdir())
    assert sess.journal is None


def test_what_the_group_may_write_is_written_journaled_and_restored(
    tree: Path, tmp_path: Path
) -> None:
    jdir = tmp_path / "j"
    os.chmod(tree / "tracing_on", 0o660)
    sess = _session(tree, jdir)
    sess.set_event("sched", "sched_switch", True)
    assert (tree / "events/sched/sched_switch/enable").read_text().strip() == "1"
    sess.set_tracing_on(False)
    assert (tree / "tracing_on").read_text().strip() == "0"
    assert sess.journal is not None and sess.journal.path.exists()
    sess.restore()
    assert (tree / "tracing_on").read_text().strip() == "1"
    assert not list(jdir.glob("journal-*.json"))


def test_a_transaction_with_one_barred_file_writes_none(tree: Path, tmp_path: Path) -> None:
    from ftop.engine.control.transaction import Change

    sess = _session(tree, tmp_path / "j")
    with pytest.raises(FtopError):
        sess.apply([Change("events/sched/sched_switch/enable", "1"), Change("tracing_on", "0")])
    assert (tree / "events/sched/sched_switch/enable").read_text().strip() == "0"


def test_a_barred_file_that_already_holds_the_value_is_no_refusal(
    tree: Path, tmp_path: Path
) -> None:
    """Regression (the lab): `-e sched:sched_switch` plans `tracing_on 1` too; a
    user who may not write tracing_on, which already reads 1, was refused it all."""
    from ftop.engine.control.config import EventSpec, TraceConfig

    sess = _session(tree, tmp_path / "j")
    sess.apply_config(TraceConfig(events=[EventSpec("sched", "sched_switch")]))
    assert (tree / "events/sched/sched_switch/enable").read_text().strip() == "1"
    assert (tree / "tracing_on").read_text() == "1\n"  # never written
    sess.restore()
    (tree / "tracing_on").write_text("0\n")
    with pytest.raises(FtopError, match="tracing_on is not writable"):
        _session(tree, tmp_path / "j2").set_tracing_on(True)


def test_no_instance_is_made_or_journaled_without_mkdir_rights(tree: Path, tmp_path: Path) -> None:
    jdir = tmp_path / "j"
    sess = _session(tree, jdir)
    with pytest.raises(FtopError) as e:
        sess.use_instance("mine")
    assert "instances/ (mkdir)" in str(e.value)
    assert not (tree / "instances" / "mine").exists()
    assert sess.journal is None and sess.tfs.instance is None


def test_the_marker_refusal_says_why(tree: Path, tmp_path: Path) -> None:
    sess = _session(tree, tmp_path / "j")
    sess.write_marker("hello")  # 0620: the group may
    os.chmod(tree / "trace_marker", 0o600)
    with pytest.raises(FtopError) as e:
        sess.write_marker("hello")
    assert "trace_marker" in str(e.value)


def test_the_start_note_lists_what_this_user_cannot_write(tree: Path, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"nodev {tree} tracefs rw,relatime,gid=1001,mode=750 0 0\n")
    note = access_note(tree, tree, as_member, str(mounts))
    assert note is not None
    assert note.startswith("not writable for ")
    for name in ("current_tracer", "set_event", "tracing_on", "instances/ (mkdir)"):
        assert name in note, name
    assert "trace_marker" not in note  # the group may write it
    assert "events/*/enable (2 of 3)" in note  # sched_switch's is allowed
    assert "gid=1001 mode=750" in note
    # Everything writable (root): no note at all.
    assert access_note(tree, tree, lambda p, m: True, str(mounts)) is None
    assert unwritable(tree, lambda p, m: True) == []


def test_readonly_still_refuses_with_its_own_words(tree: Path, tmp_path: Path) -> None:
    from ftop.engine.control.session import READONLY_REFUSAL

    sess = Session.open(str(tree), journal_dir=tmp_path / "j", access=lambda p, m: True)
    sess.read_only = True
    assert sess.may_write("events/sched/sched_switch/enable") == READONLY_REFUSAL
    with pytest.raises(FtopError, match="--readonly"):
        sess.set_event("sched", "sched_switch", True)


# -- what the kernel says to a non-root user ----------------------------------------


def test_a_kernel_refusal_as_non_root_keeps_the_errno_and_asks_for_no_sudo(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    err = Tracefs(tree).refusal("current_tracer", "write", OSError(errno.EACCES, "x"), "nop", [])
    text = str(err)
    assert "EACCES" in text and "current_tracer" in text
    assert "mode 0640" in text and "gid=" in text
    assert "sudo" not in text


def test_not_mounted_as_non_root_says_what_root_would_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\n")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(TracefsNotFound) as e:
        find_tracefs(proc_mounts=str(mounts))
    assert "gid=" in str(e.value) and "sudo" not in str(e.value)


# -- the journal ------------------------------------------------------------------


def test_journal_folder_for_a_user_who_is_not_root(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert jm.default_dir(1000, {"XDG_RUNTIME_DIR": "/run/user/1000"}, home) == Path(
        "/run/user/1000/ftop"
    )
    assert jm.default_dir(1000, {}, home) == home / ".cache" / "ftop"
    assert jm.default_dir(1000, {"XDG_RUNTIME_DIR": "relative"}, home) == home / ".cache/ftop"
    env = {"FTOP_JOURNAL_DIR": "/x", "XDG_RUNTIME_DIR": "/run/user/1000"}
    assert jm.default_dir(1000, env, home) == Path("/x")
    assert jm.default_dir(0, {"XDG_RUNTIME_DIR": "/run/user/0"}, home) == Path("/run/ftop")


@pytest.mark.skipif(not ROOT, reason="chown to another uid needs root")
def test_a_journal_folder_not_private_to_the_user_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "ftop"
    d.mkdir(mode=0o700)
    assert jm.private_refusal(d, euid=1000) is not None  # root's, not theirs
    os.chown(d, 1000, 1000)
    assert jm.private_refusal(d, euid=1000) is None
    os.chmod(d, 0o755)
    why = jm.private_refusal(d, euid=1000)
    assert why is not None and "0755" in why
    assert jm.private_refusal(d, euid=0) is None
    assert jm.private_refusal(tmp_path / "absent", euid=1000) is None


@pytest.mark.skipif(not ROOT, reason="chown to another uid needs root")
def test_a_non_root_user_neither_saves_nor_restores_from_a_folder_others_can_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftop.engine.errors import JournalError

    d = tmp_path / "ftop"
    d.mkdir(mode=0o700)
    os.chown(d, 1000, 1000)
    j = jm.new_journal("/sys/kernel/tracing", d)
    j.save()  # as root: fine
    os.chmod(d, 0o777)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(JournalError, match="open to others"):
        j.save()
    assert jm.scan_journals(d) == ([], [])


# -- symbols, the TUI and doctor ------------------------------------------------


def test_hidden_kernel_addresses_are_said_once(tree: Path, tmp_path: Path) -> None:
    zeros = tmp_path / "kallsyms"
    zeros.write_text("0000000000000000 T _text\n0000000000000000 t vfs_read\n")
    why = hidden_symbols(tree, str(zeros), as_member)
    assert why is not None and "kptr_restrict" in why and "addresses" in why
    shown = tmp_path / "kallsyms2"
    shown.write_text("0000000000000000 A fixed_percpu\nffffffff81000000 T _text\n")
    assert hidden_symbols(tree, str(shown), as_member) is None
    (tree / "available_filter_functions_addrs").write_text("ffffffff81000010 vfs_read\n")
    os.chmod(tree / "available_filter_functions_addrs", 0o640)
    assert hidden_symbols(tree, str(zeros), as_member) is None
    os.chmod(tree / "available_filter_functions_addrs", 0o600)
    assert "not readable" in (hidden_symbols(tree, str(zeros), as_member) or "")


def test_the_tui_opens_for_a_user_who_is_not_root(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: open_backend refused any non-root user outright, by uid."""
    from ftop.engine.control.config import TraceConfig
    from ftop.tui import app as app_mod

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ns = argparse.Namespace(
        tracefs=str(tree), keep=False, file=None, input=None, demo=False, theme=None, instance=None
    )
    b = app_mod.open_backend(ns, TraceConfig(), journal_dir=tmp_path / "j")
    assert b.error is None and b.session is not None
    b.session.restore()


def test_the_tui_tells_what_this_user_cannot_write_after_its_first_frame(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_backend no longer scans every event's files before the first paint; the
    scan it hands the app (run on a thread after that paint) finds what it did."""
    from ftop.engine.control.config import TraceConfig
    from ftop.tui import app as app_mod

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ns = argparse.Namespace(
        tracefs=str(tree), keep=False, file=None, input=None, demo=False, theme=None, instance=None
    )
    b = app_mod.open_backend(ns, TraceConfig(), journal_dir=tmp_path / "j")
    assert b.session is not None and b.late_notes is not None
    try:
        b.session.access = as_member  # type: ignore[attr-defined]  # a live Session
        assert not any("not writable" in n for n in b.notes)
        notes = b.late_notes()
        assert any(n.startswith("not writable for ") and "current_tracer" in n for n in notes)
    finally:
        b.session.restore()


def test_doctor_reports_the_users_access(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ftop.cli import build_parser
    from ftop.doctor import cmd_doctor

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ns = build_parser("doctor").parse_args(["--tracefs", str(tree)])
    cmd_doctor(ns)
    out = capsys.readouterr().out
    assert "not root" in out and "run with sudo" not in out
    assert "access" in out and "journal folder" in out
