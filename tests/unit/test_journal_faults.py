"""Faults ftop must survive around its journal and its saves (issue 11).

An unwritable journal folder stops every change before it reaches tracefs; a
corrupt journal is set aside and said, never a crash; an ftop killed half-way
through its restore is finished by the next run; a save on a full or read-only
filesystem leaves the target as it was and the ring and session intact.

The tracefs is the plain-file fake of test_control.py; the read-only and full
filesystems are small tmpfs mounts (root: the filesystem refuses root too), or
a folder whose parent is a file where no mount is possible.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from ftop.engine.control import journal as jm
from ftop.engine.control.session import Session
from ftop.engine.control.state import State
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change
from ftop.engine.errors import FtopError, JournalError
from ftop.engine.stream.ring import Ring
from ftop.engine.stream.save_text import save_text
from test_control import make_fake_tracefs

ROOT = os.geteuid() == 0
V6_FILE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "host-6.18" / "tracedat" / "ftop-v6.dat"
)


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs: a real read-only or full filesystem, which root cannot write past."""
    where.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "ftop-test", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _files(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def writes(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """Every tracefs write and mkdir the session attempts (the fake cannot refuse)."""
    seen: List[str] = []
    real_write, real_mkdir = Tracefs.write, Tracefs.make_instance

    def write(self: Tracefs, rel: str, value: str, append: bool = False) -> None:
        seen.append(f"{rel} = {value}")
        real_write(self, rel, value, append)

    def mkdir(self: Tracefs, name: str) -> Any:
        seen.append(f"mkdir {name}")
        return real_mkdir(self, name)

    monkeypatch.setattr(Tracefs, "write", write)
    monkeypatch.setattr(Tracefs, "make_instance", mkdir)
    return seen


def _unwritable(kind: str, tmp_path: Path, stack: contextlib.ExitStack) -> Path:
    if kind == "read-only tmpfs":
        if not ROOT:
            pytest.skip("not root: mounting a read-only tmpfs needs root")
        return stack.enter_context(_tmpfs(tmp_path / "ro", "ro,size=64k")) / "journals"
    (tmp_path / "a-file").write_text("not a folder\n")
    return tmp_path / "a-file" / "journals"


# -- an unwritable journal: a message, and nothing written to tracefs ---------------------


@pytest.mark.parametrize("kind", ["read-only tmpfs", "parent is a file"])
def test_no_journal_no_write(tmp_path: Path, writes: List[str], kind: str) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    before = _files(tmp_path / "tracefs")
    with contextlib.ExitStack() as stack:
        sess = Session(tfs, journal_dir=_unwritable(kind, tmp_path, stack))
        for attempt in (
            lambda: sess.apply([Change("current_tracer", "function")]),
            lambda: sess.set_event("sched", "sched_switch", True),
            lambda: sess.use_instance("ftop-x"),
        ):
            with pytest.raises(JournalError) as e:
                attempt()
            msg = str(e.value)
            assert "\n" not in msg and "cannot write the restore journal" in msg
            assert "nothing was changed" in msg
            assert (
                "Read-only file system" if kind.startswith("read") else "Not a directory"
            ) in msg
        assert writes == [], "a tracefs write got past a journal that was never written"
        assert _files(tmp_path / "tracefs") == before
        assert sess.journal is None
        assert sess.restore() is None  # nothing to put back, and quitting works


def test_an_instance_state_that_failed_to_save_is_not_taken_as_journaled(
    tmp_path: Path, writes: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal went unwritable after ftop's first change (disk full): working in
    another instance must still stop at the journal, every time, not only the first."""
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    make_fake_tracefs(tmp_path / "tracefs" / "instances" / "other")
    sess = Session(tfs, journal_dir=tmp_path / "j")
    sess.apply([Change("trace_clock", "global")])
    writes.clear()

    _saves_fail(monkeypatch)
    with pytest.raises(JournalError):
        sess.use_instance("other")
    for _ in range(2):
        with pytest.raises(JournalError):
            sess.apply([Change("current_tracer", "function")])
    assert writes == []
    assert (tmp_path / "tracefs/instances/other/current_tracer").read_text() == "nop\n"


def _saves_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: jm.Journal) -> None:
        raise JournalError(f"cannot write the restore journal {self.path}: No space left")

    monkeypatch.setattr(jm.Journal, "save", full)


# The in-memory journal must say what the journal on disk says: an instance or a probe
# recorded as ftop's but never created would be removed by the restore, and by then it
# may be someone else's, of the same name. Session.use_instance and _note_probe drop
# the entry when the save fails.
def test_an_instance_never_created_is_not_left_in_the_journal(
    tmp_path: Path, writes: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sess = Session(make_fake_tracefs(tmp_path / "tracefs"), journal_dir=tmp_path / "j")
    sess.apply([Change("options/overwrite", "0")])
    writes.clear()
    _saves_fail(monkeypatch)
    with pytest.raises(JournalError):
        sess.use_instance("ftop-x")
    assert writes == [] and not (tmp_path / "tracefs/instances/ftop-x").exists()
    assert sess.journal is not None and sess.journal.created_instances == []


def test_a_probe_never_added_is_not_left_in_the_journal(
    tmp_path: Path, writes: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sess = Session(make_fake_tracefs(tmp_path / "tracefs"), journal_dir=tmp_path / "j")
    first = "p:ftop/a /bin/sh:0x10"
    sess.apply([Change("uprobe_events", first, append=True)])  # the file is journaled
    writes.clear()
    _saves_fail(monkeypatch)
    with pytest.raises(JournalError):
        sess.apply([Change("uprobe_events", "p:ftop/b /bin/sh:0x20", append=True)])
    assert writes == []
    assert sess.journal is not None
    assert sess.journal.created_probes == {"uprobe_events": [first]}


# -- a corrupt journal: said, set aside, never a crash --------------------------------------


def _valid_journal_text(tracefs: str) -> str:
    j = jm.Journal(path=Path("x"), pid=os.getppid(), start_time="1", tracefs=tracefs, created=1.0)
    j.states.append(State(root=tracefs, current_tracer="nop", tracing_on="1"))
    j.touched = {"": ["current_tracer"]}
    return json.dumps(j.to_json())


def _corrupt(kind: str, tracefs: str) -> bytes:
    good = _valid_journal_text(tracefs)
    data = json.loads(good)
    if kind == "truncated":
        return good[: len(good) // 2].encode()
    if kind == "empty":
        return b""
    if kind == "binary garbage":
        return bytes(range(256)) * 4
    if kind == "deep nesting":
        return b"[" * 100_000
    if kind == "a list":
        return b"[1, 2, 3]"
    if kind == "pid not a number":
        data["pid"] = "1234"
    elif kind == "instances a string":
        # Coerced, "ftop-x" would become instances f, t, o, p, -, x to remove.
        data["created_instances"] = "ftop-x"
    elif kind == "state not an object":
        data["states"] = [1]
    elif kind == "state field of the wrong type":
        data["states"][0]["events_enabled"] = "sched:sched_switch"
    elif kind == "touched a list":
        data["touched"] = ["current_tracer"]
    elif kind == "no tracefs":
        del data["tracefs"]
    return json.dumps(data).encode()


CORRUPT = [
    "truncated",
    "empty",
    "binary garbage",
    "deep nesting",
    "a list",
    "pid not a number",
    "instances a string",
    "state not an object",
    "state field of the wrong type",
    "touched a list",
    "no tracefs",
]


@pytest.mark.parametrize("kind", CORRUPT)
def test_a_corrupt_journal_is_said_set_aside_and_the_session_goes_on(
    tmp_path: Path, writes: List[str], kind: str
) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    before = _files(tmp_path / "tracefs")
    jdir = tmp_path / "j"
    jdir.mkdir()
    bad = jdir / "journal-4242.json"
    bad.write_bytes(_corrupt(kind, str(tmp_path / "tracefs")))
    sess = Session(tfs, journal_dir=jdir)

    recs = sess.recover()

    assert len(recs) == 1
    problem = recs[0].journal.problem
    assert problem is not None and "\n" not in problem
    assert str(bad) in problem and "corrupt journal" in problem and "moved aside" in problem
    assert recs[0].journal.pid == 4242 and not recs[0].report.writes
    if kind == "instances a string":
        assert "'created_instances' has the wrong type (a JSON string)" in problem
    assert not bad.exists() and (jdir / "journal-4242.json.corrupt").exists()
    assert writes == [] and _files(tmp_path / "tracefs") == before
    assert sess.recover() == [], "a journal set aside never comes back"
    # The session goes on: it journals, changes and restores as ever.
    sess.apply([Change("options/overwrite", "0")])
    report = sess.restore()
    assert report is not None and report.ok
    assert _files(tmp_path / "tracefs") == before


def test_the_same_corrupt_name_twice_keeps_both(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    jdir = tmp_path / "j"
    jdir.mkdir()
    for _ in range(2):
        (jdir / "journal-7.json").write_text("{")
        assert Session(tfs, journal_dir=jdir).recover()[0].journal.problem
    assert sorted(p.name for p in jdir.iterdir()) == [
        "journal-7.json.corrupt",
        "journal-7.json.corrupt.1",
    ]


def test_a_valid_journal_next_to_a_corrupt_one_is_still_restored(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    (tmp_path / "tracefs/current_tracer").write_text("function\n")
    jdir = tmp_path / "j"
    jdir.mkdir()
    (jdir / "journal-1.json").write_bytes(b"\x00\xff garbage")
    (jdir / "journal-2.json").write_text(_valid_journal_text(str(tmp_path / "tracefs")))
    recs = Session(tfs, journal_dir=jdir).recover()
    assert [r.journal.problem is None for r in recs] == [False, True]
    assert recs[1].report.ok and recs[1].report.writes
    assert (tmp_path / "tracefs/current_tracer").read_text() == "nop\n"
    assert not (jdir / "journal-2.json").exists()


def test_a_journal_for_a_tracefs_gone_is_kept_for_a_retry(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    jdir = tmp_path / "j"
    jdir.mkdir()
    (jdir / "journal-3.json").write_text(_valid_journal_text(str(tmp_path / "gone")))
    recs = Session(tfs, journal_dir=jdir).recover()
    assert len(recs) == 1 and not recs[0].report.ok
    assert (jdir / "journal-3.json").exists(), "kept for a retry when tracefs is back"
    assert jm.Journal.load(jdir / "journal-3.json").restore_errors


@pytest.mark.skipif(not ROOT, reason="not root: remounting a tmpfs read-only needs root")
def test_a_journal_that_cannot_be_removed_after_recovery_is_said(tmp_path: Path) -> None:
    """The folder went read-only: recover must report it, not die of EROFS."""
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    (tmp_path / "tracefs/current_tracer").write_text("function\n")
    with _tmpfs(tmp_path / "jd", "size=64k") as jdir:
        (jdir / "journal-5.json").write_text(_valid_journal_text(str(tmp_path / "tracefs")))
        (jdir / "journal-6.json").write_text("{")
        subprocess.run(["mount", "-o", "remount,ro", str(jdir)], check=True)
        recs = Session(tfs, journal_dir=jdir).recover()
        problems = [r.journal.problem or "" for r in recs]
        assert "could not move it aside (Read-only file system)" in problems[0]
        assert "could not remove" in problems[1] and recs[1].report.ok
    assert (tmp_path / "tracefs/current_tracer").read_text() == "nop\n"


# -- kill -9 in the middle of a restore: the next run finishes it ---------------------------

_DIE_MID_RESTORE = """
import os, signal, sys
from pathlib import Path
from ftop.engine.control.session import Session
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change

root, jdir = Path(sys.argv[1]), Path(sys.argv[2])
sess = Session(Tracefs(root), journal_dir=jdir)
sess.apply([
    Change("options/record-tgid", "1"),
    Change("options/overwrite", "0"),
    Change("tracing_thresh", "100"),
])
real = Tracefs.write
done = []

def dying(self, rel, value, append=False):
    if len(done) == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # after the first restore write
    real(self, rel, value, append)
    done.append(rel)

Tracefs.write = dying
sess.restore()
"""


def test_kill_9_during_a_restore_is_finished_by_the_next_run(tmp_path: Path) -> None:
    tfs = make_fake_tracefs(tmp_path / "tracefs")
    before = _files(tmp_path / "tracefs")
    jdir = tmp_path / "j"
    child = subprocess.run(
        [sys.executable, "-c", _DIE_MID_RESTORE, str(tmp_path / "tracefs"), str(jdir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    left = _files(tmp_path / "tracefs")
    changed = [rel for rel in before if left[rel] != before[rel]]
    assert len(changed) == 2, f"one of three put back before the kill: {changed}"
    assert len(list(jdir.glob("journal-*.json"))) == 1

    recs = Session(tfs, journal_dir=jdir).recover()

    assert len(recs) == 1 and recs[0].journal.problem is None and recs[0].report.ok
    assert _files(tmp_path / "tracefs") == before
    assert list(jdir.glob("journal-*")) == []


# -- saving on a full or read-only filesystem ------------------------------------------------


def _ring(n: int = 3000) -> Ring:
    ring = Ring()
    ring.extend(
        [
            f"          bash-{1000 + i:<5} [000] ..... {100 + i / 1000:.6f}: sched_switch: "
            f"prev_comm=bash prev_pid={1000 + i} next_comm=swapper/0 next_pid=0 " + "x" * 80
            for i in range(n)
        ]
    )
    return ring


def _target(kind: str, tmp_path: Path, stack: contextlib.ExitStack) -> Path:
    if kind == "parent is a file":
        (tmp_path / "a-file").write_text("")
        return tmp_path / "a-file" / "out"
    if not ROOT:
        pytest.skip("not root: a full or read-only filesystem needs a tmpfs mount")
    opts = "ro,size=64k" if kind == "read-only" else "size=64k"
    where = stack.enter_context(_tmpfs(tmp_path / "fs", opts))
    if kind == "full":
        (where / "out").write_bytes(b"the earlier save")
    return where / "out"


ERRNO_TEXT = {"full": "No space left on device", "read-only": "Read-only file system"}


@pytest.mark.parametrize("kind", ["full", "read-only", "parent is a file"])
def test_save_text_all_or_nothing(tmp_path: Path, kind: str) -> None:
    ring = _ring()
    first, count = ring.first_seq, len(ring)
    with contextlib.ExitStack() as stack:
        out = _target(kind, tmp_path, stack)
        with pytest.raises(FtopError) as e:
            save_text(str(out), ring, tracer="nop", cpus=1)
        msg = str(e.value)
        assert msg.startswith(f"cannot save {out}: ") and "\n" not in msg
        assert ERRNO_TEXT.get(kind, "Not a directory") in msg
        if kind == "full":
            assert sorted(os.listdir(out.parent)) == ["out"], "no temp file left"
            assert out.read_bytes() == b"the earlier save", "the target is not half-written"
        elif kind == "read-only":
            assert os.listdir(out.parent) == []
    assert (ring.first_seq, len(ring)) == (first, count), "the ring is only read"
    # Still usable: the same ring saves whole elsewhere.
    good = tmp_path / "good.txt"
    assert save_text(str(good), ring, tracer="nop", cpus=1) == count
    text = good.read_text()
    assert text.startswith("# tracer: nop") and text.count("sched_switch:") == count
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_save_text_of_a_filtered_view_replaces_the_old_file(tmp_path: Path) -> None:
    ring = _ring(10)
    out = tmp_path / "t.txt"
    out.write_text("old")
    assert save_text(str(out), ring, seqs=[2, 5]) == 2
    assert out.read_text().count("sched_switch:") == 2
    assert out.stat().st_mode & 0o777 == 0o644


def _session_with_pages(tmp_path: Path) -> Session:
    from ftop.engine.raw.page_ring import PageRing
    from ftop.engine.tracedat import TraceDat
    from ftop.engine.tracedat.text import source_of

    sess = Session(make_fake_tracefs(tmp_path / "tracefs"), journal_dir=tmp_path / "j")
    sess.pages = PageRing()
    with TraceDat.open(V6_FILE) as td:
        sess._raw_source = source_of(td)
        # Repeated: more than the 64k tmpfs holds.
        for _ in range(40):
            for cpu in td.buffer().cpus:
                sess.pages.extend(cpu.cpu, list(td.pages(cpu.cpu)))
    assert sess.pages.bytes > 128 * 1024
    return sess


@pytest.mark.parametrize("kind", ["full", "read-only", "parent is a file"])
def test_save_tracedat_all_or_nothing(tmp_path: Path, kind: str) -> None:
    sess = _session_with_pages(tmp_path)
    assert sess.pages is not None
    pages = sess.pages.snapshot()
    with contextlib.ExitStack() as stack:
        out = _target(kind, tmp_path, stack)
        with pytest.raises(FtopError) as e:
            sess.save_tracedat(str(out))
        msg = str(e.value)
        assert msg.startswith(f"cannot write {out}: ") and "\n" not in msg
        assert ERRNO_TEXT.get(kind, "Not a directory") in msg
        if kind == "full":
            assert sorted(os.listdir(out.parent)) == ["out"], "no spool or temp file left"
            assert out.read_bytes() == b"the earlier save"
        elif kind == "read-only":
            assert os.listdir(out.parent) == []
    assert sess.pages.snapshot() == pages, "the pages are only read"
    good = tmp_path / "good.dat"
    assert sess.save_tracedat(str(good)) == len(pages)
    assert good.stat().st_size > 0
    # And the session still changes and restores tracefs.
    sess.apply([Change("trace_clock", "global")])
    report = sess.restore()
    assert report is not None and report.ok
