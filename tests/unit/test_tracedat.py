"""trace.dat read and written (engine/tracedat), on pages the 6.18 host's kernel
wrote (tests/fixtures/host-6.18/tracedat/README.md says how each file was made)."""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import random
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest
from ftop.engine.tracedat import TraceDat, TraceDatError, TraceDatWriter, is_tracedat

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "host-6.18" / "tracedat"
ZSTD_FILE = FIX / "extract-v7-zstd.dat"
V6_FILE = FIX / "ftop-v6.dat"
REPORT = FIX / "extract-v7-zstd.report-t.txt"
HAVE_ZSTD = importlib.util.find_spec("zstandard") is not None

Row = Tuple[int, int, int, str]  # cpu, ts ns, pid, event name

# "ftop_fixture:   comm-123   [001] 10460.442472860: sched_switch: ..."
_LINE = re.compile(r"^(?:\S+:\s+)?.*?-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}):\s+([\w]+):")


def report_rows(text: str) -> List[Row]:
    rows = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            pid, cpu, sec, ns, name = m.groups()
            rows.append((int(cpu), int(sec) * 1_000_000_000 + int(ns), int(pid), name))
    return rows


def our_rows(t: TraceDat, buffer: Optional[str] = None) -> List[Row]:
    formats = t.event_formats()
    out = []
    for r in t.records(buffer):
        ev = formats[r.type_id]
        out.append((r.cpu, r.ts, ev.by_name["common_pid"].value(r.data, t.endian), ev.name))
    return out


def copy_file(
    src: TraceDat, path: Path, *, version: int, compression: Optional[str] = None, name: str = ""
) -> None:
    buf = src.buffer()
    w = TraceDatWriter(
        path,
        version=version,
        compression=compression,
        page_size=buf.page_size,
        header_page=src.header_page,
        header_event=src.header_event,
        formats=src.formats,
        kallsyms=src.kallsyms,
        printk_formats=src.printk_formats,
        cmdlines=src.cmdlines,
        cpus=[d.cpu for d in buf.cpus],
        uname=src.uname,
        trace_clock=src.trace_clock,
        buffer_name=name,
    )
    for d in buf.cpus:
        for page in src.pages(d.cpu):
            w.add_page(d.cpu, page)
    w.close({0: "entries: 1\n", 1: "CPU: 1\nentries: 2\n"})


def test_magic() -> None:
    assert is_tracedat(V6_FILE.read_bytes()[:16])
    assert is_tracedat(b"\x17\x08\x44tracing6\0")
    assert not is_tracedat(b"\x17\x08\x44tracin")
    assert not is_tracedat(b"# tracer: nop\n")


def test_ftop_v6_fixture_matches_trace_cmd_report() -> None:
    with TraceDat.open(V6_FILE) as t:
        assert (t.version, t.endian, t.long_size, t.page_size) == (6, "<", 8, 4096)
        assert t.compression is None
        assert t.buffer_names == ["", "ftop_fixture"]
        assert t.buffer().name == "ftop_fixture"
        assert t.cpus == [0, 1]
        assert t.clock == "local" and t.trace_clock and t.trace_clock.startswith("[local]")
        assert t.uname and "6.18" in t.uname
        assert t.version_string == "ftop fixture"
        assert "ftop_fixture_symbol" in t.kallsyms
        assert any(s == "ftrace" for s, _ in t.formats)
        assert {e.full_name for e in t.event_formats().values()} >= {"sched:sched_switch"}
        assert t.layout.page_size == 4096
        assert t.cmdline_map()
        rows = our_rows(t)
    assert rows == report_rows(REPORT.read_text())
    assert len(rows) > 100


def test_trace_cmd_zstd_fixture() -> None:
    with TraceDat.open(ZSTD_FILE) as t:
        assert t.version == 7
        assert t.compression is not None and t.compression[0] == "zstd"
        assert t.version_string and t.version_string.startswith("3.1.6")
        assert t.cpu_count == 2
        assert t.trace_id is not None
        assert t.buffer_names == ["", "ftop_fixture"]
        assert set(t.stats_by_buffer()) == {"", "ftop_fixture"}
        assert len(t.stats_by_buffer()["ftop_fixture"]) == 2
        assert [s[4] for s in t.sections].count("options") >= 2
        assert t.header_page.startswith("\tfield: u64 timestamp")
        assert len(t.formats) > 1000
        rows = our_rows(t)
        for cpu in t.cpus:
            assert all(len(p) == 4096 for p in t.pages(cpu))
    assert rows == report_rows(REPORT.read_text())


def test_zstd_missing_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(TraceDatError, match="install the Python package 'zstandard'"):
        TraceDat.open(ZSTD_FILE)


ROUND_TRIPS = [
    (6, None, ""),
    (6, None, "inst"),
    (7, None, ""),
    (7, None, "inst"),
    (7, "zlib", ""),
    (7, "zlib", "inst"),
    pytest.param(7, "zstd", "inst"),
]


@pytest.mark.parametrize(("version", "compression", "name"), ROUND_TRIPS)
def test_round_trip(tmp_path: Path, version: int, compression: Optional[str], name: str) -> None:
    out = tmp_path / "rt.dat"
    with TraceDat.open(V6_FILE) as src:
        copy_file(src, out, version=version, compression=compression, name=name)
        want = [(r.ts, r.cpu, r.data) for r in src.records()]
        pages = {c: list(src.pages(c)) for c in src.cpus}
        meta = (src.header_page, src.header_event, src.formats, src.kallsyms, src.printk_formats)
        meta += (src.cmdlines, src.uname, src.trace_clock)
    assert sorted(os.listdir(tmp_path)) == ["rt.dat"]  # the spool is gone
    with TraceDat.open(out) as t:
        assert t.version == version
        assert (t.compression or ("none",))[0] == (compression or "none")
        assert [b for b in t.buffer_names if b] == ([name] if name else [])
        assert t.buffer().name == name
        got = [(r.ts, r.cpu, r.data) for r in t.records()]
        assert {c: list(t.pages(c)) for c in t.cpus} == pages
        again = (t.header_page, t.header_event, t.formats, t.kallsyms, t.printk_formats)
        again += (t.cmdlines, t.uname, t.trace_clock)
        stats = t.stats_by_buffer()[name]
        # CPU data is page aligned
        assert all(d.offset % 4096 == 0 for d in t.buffer().cpus)
    assert got == want
    assert again == meta
    assert stats == ["CPU: 0\nentries: 1\n", "CPU: 1\nentries: 2\n"]


def test_records_merge_ties_lower_cpu_first(tmp_path: Path) -> None:
    with TraceDat.open(V6_FILE) as t:
        rows = [(r.ts, r.cpu) for r in t.records()]
    assert rows == sorted(rows)


def test_writer_is_bounded_and_leaves_nothing_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.dat"
    target.write_bytes(b"old contents")
    with TraceDat.open(V6_FILE) as src:

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(TraceDatError, match="No space left"):
            copy_file(src, target, version=7)
    assert target.read_bytes() == b"old contents"
    assert sorted(os.listdir(tmp_path)) == ["out.dat"]


def test_writer_abort_and_bad_arguments(tmp_path: Path) -> None:
    with TraceDat.open(V6_FILE) as src:
        kw = dict(header_page=src.header_page, header_event=src.header_event, formats=src.formats)
    with pytest.raises(RuntimeError), TraceDatWriter(tmp_path / "a.dat", cpus=[0, 1], **kw) as w:
        w.add_page(0, bytes(100))  # padded to a page
        raise RuntimeError("recording interrupted")
    assert os.listdir(tmp_path) == []
    w = TraceDatWriter(tmp_path / "b.dat", cpus=[0], **kw)
    with pytest.raises(TraceDatError, match="CPU 3"):
        w.add_page(3, bytes(4096))
    with pytest.raises(TraceDatError, match="page size"):
        w.add_page(0, bytes(8192))
    w.abort()
    assert os.listdir(tmp_path) == []
    with pytest.raises(TraceDatError, match="compressed"):
        TraceDatWriter(tmp_path / "c.dat", cpus=[0], version=6, compression="zlib", **kw)
    with pytest.raises(TraceDatError):
        TraceDatWriter(tmp_path / "c.dat", cpus=[0], version=5, **kw)


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs (root: a real read-only or full filesystem, which root cannot
    write past either)."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "ftop-test", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_writer_read_only_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    if os.geteuid() == 0:
        ctx: Any = _tmpfs(ro, "ro,size=1m")
    else:
        ro.mkdir()
        ro.chmod(0o500)
        ctx = contextlib.nullcontext(ro)
    with ctx, TraceDat.open(V6_FILE) as src:
        with pytest.raises(TraceDatError, match="cannot write"):
            copy_file(src, ro / "x.dat", version=6)
        assert os.listdir(ro) == []


def test_writer_on_a_full_disk_leaves_nothing_behind(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        print("\nSKIP: not root: a full filesystem to write on needs a tmpfs mount")
        pytest.skip("not root: mounting a small tmpfs needs root")
    with _tmpfs(tmp_path / "full", "size=64k") as full, TraceDat.open(V6_FILE) as src:
        old = full / "x.dat"
        old.write_bytes(b"the earlier recording")
        with pytest.raises(TraceDatError, match="No space left"):
            copy_file(src, old, version=6)
        assert sorted(os.listdir(full)) == ["x.dat"], "no spool or temp file left"
        assert old.read_bytes() == b"the earlier recording", "the target is not half-written"


def test_writer_into_missing_folder(tmp_path: Path) -> None:
    with TraceDat.open(V6_FILE) as src, pytest.raises(TraceDatError, match="cannot write"):
        copy_file(src, tmp_path / "nope" / "x.dat", version=6)


def _read_all(path: Path) -> int:
    with TraceDat.open(path) as t:
        n = sum(1 for _ in t.records())
        for b in t.buffer_names:
            n += sum(1 for _ in t.records(b)) if any(d.size for d in t.buffer(b).cpus) else 0
        return n


def _variants(tmp_path: Path) -> List[Path]:
    files = [V6_FILE]
    with TraceDat.open(V6_FILE) as src:
        for version, comp in ((7, None), (7, "zlib")):
            p = tmp_path / f"v{version}{comp}.dat"
            copy_file(src, p, version=version, compression=comp, name="inst")
            files.append(p)
    return files


def test_truncated_files_refused(tmp_path: Path) -> None:
    for src in _variants(tmp_path):
        data = src.read_bytes()
        cuts = sorted(set(list(range(0, 200, 7)) + list(range(0, len(data), len(data) // 97 + 1))))
        for n in cuts:
            cut = tmp_path / "cut.dat"
            cut.write_bytes(data[:n])
            with pytest.raises(TraceDatError) as e:
                _read_all(cut)
            assert "\n" not in str(e.value)


def test_corrupt_bytes_give_only_trace_dat_errors(tmp_path: Path) -> None:
    rng = random.Random(618)
    for src in _variants(tmp_path):
        data = src.read_bytes()
        for _ in range(150):
            b = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                at = (
                    rng.randrange(0, min(len(b), 6000))
                    if rng.random() < 0.7
                    else rng.randrange(len(b))
                )
                b[at] = rng.randrange(256)
            bad = tmp_path / "bad.dat"
            bad.write_bytes(bytes(b))
            try:
                _read_all(bad)
            except TraceDatError as e:
                assert "\n" not in str(e)


def _v6_kallsyms_size_at(data: bytes) -> int:
    """Offset of the kallsyms size in a v6 file (parsed the long way)."""
    pos = data.index(b"header_page\0") + 12
    (n,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + n + 13
    (n,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + n
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    for _ in range(count):
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8 + n
    (systems,) = struct.unpack_from("<I", data, pos)
    pos += 4
    for _ in range(systems):
        pos = data.index(b"\0", pos) + 1
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4
        for _ in range(count):
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8 + n
    return pos


@pytest.mark.parametrize("size", [0xFFFFFFFF, 1 << 31, 10**7])
def test_hostile_sizes_checked_against_the_file(tmp_path: Path, size: int) -> None:
    data = bytearray(V6_FILE.read_bytes())
    at = _v6_kallsyms_size_at(bytes(data))
    struct.pack_into("<I", data, at, size)
    bad = tmp_path / "huge.dat"
    bad.write_bytes(bytes(data))
    with pytest.raises(TraceDatError, match="kallsyms needs"):
        TraceDat.open(bad)


def test_hostile_cpu_offsets_and_counts(tmp_path: Path) -> None:
    data = bytearray(V6_FILE.read_bytes())
    fly = data.rindex(b"flyrecord\0") + 10
    struct.pack_into("<QQ", data, fly, 4096, 1 << 60)
    bad = tmp_path / "cpu.dat"
    bad.write_bytes(bytes(data))
    with pytest.raises(TraceDatError, match="truncated"):
        _read_all(bad)
    data = bytearray(V6_FILE.read_bytes())
    at = _v6_kallsyms_size_at(bytes(data))
    # the event system count: huge
    pos = at - 1
    data2 = bytearray(data)
    data2[:] = data
    bad.write_bytes(b"\x17\x08\x44tracing9\0\0\x08\0\x10\0\0")
    with pytest.raises(TraceDatError, match="version 9"):
        TraceDat.open(bad)
    bad.write_bytes(b"not a trace at all")
    with pytest.raises(TraceDatError, match=r"not a trace\.dat"):
        TraceDat.open(bad)
    with pytest.raises(TraceDatError, match="cannot open"):
        TraceDat.open(tmp_path / "missing.dat")
    assert pos > 0


def test_hostile_zlib_chunk_claims(tmp_path: Path) -> None:
    with TraceDat.open(V6_FILE) as src:
        p = tmp_path / "z.dat"
        copy_file(src, p, version=7, compression="zlib")
    with TraceDat.open(p) as t:
        d = t.buffer().cpus[0]
    data = bytearray(p.read_bytes())
    # first chunk: claim 2 GiB uncompressed
    struct.pack_into("<I", data, d.offset + 8, 1 << 31)
    p.write_bytes(bytes(data))
    with TraceDat.open(p) as t, pytest.raises(TraceDatError, match=r"too big|inflated"):
        list(t.pages(d.cpu))
