"""The spool between `ftop stream`'s page reader and its renderer (ftop.engine.raw.spool).

The pages are the `sched-syscalls` capture of tests/fixtures/host-6.18/raw (read
from a 6.18 kernel's per_cpu/cpuN/trace_pipe_raw, see its README). Segments are
made tiny here so that every test crosses many of them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, cast

import pytest
from ftop.engine.raw.page_text import page_items, render_items
from ftop.engine.raw.spool import SpoolReader, SpoolWriter, spool_text
from ftop.engine.raw.stream import RawSource
from test_raw_behind import _load


def _passes(pages: List[Tuple[int, bytes]], per_pass: int) -> List[Dict[int, List[bytes]]]:
    """The capture cut into reader passes: ``per_pass`` pages of each CPU a pass."""
    by_cpu: Dict[int, List[bytes]] = {}
    for cpu, p in pages:
        by_cpu.setdefault(cpu, []).append(p)
    out = []
    i = 0
    while any(i < len(v) for v in by_cpu.values()):
        out.append({c: v[i : i + per_pass] for c, v in by_cpu.items() if v[i : i + per_pass]})
        i += per_pass
    return out


def _write_all(
    writer: SpoolWriter, passes: List[Dict[int, List[bytes]]], delay: float = 0.0
) -> None:
    for one in passes:
        for cpu, pages in one.items():
            writer.add(cpu, pages)
        writer.commit()
        if delay:
            time.sleep(delay)
    writer.close()


def _spool(tmp_path: Path, page_size: int, max_bytes: int, seg: int) -> Tuple[SpoolWriter, int]:
    r, w = os.pipe()
    writer = SpoolWriter(tmp_path, page_size, w, max_bytes, 2, segment_bytes=seg)
    return writer, r


def test_every_page_arrives_once_in_each_cpus_order_and_segments_are_freed(
    tmp_path: Path,
) -> None:
    layout, _, pages = _load()
    pages = pages * 10  # the capture's 14 pages, again: many segments to cross
    ps = layout.page_size
    writer, r = _spool(tmp_path, ps, 64 * ps, 4 * ps)
    t = threading.Thread(target=_write_all, args=(writer, _passes(pages, 3)))
    t.start()
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes, window_bytes=5 * ps)
    got: Dict[int, List[bytes]] = {}
    for window in reader.passes():
        for cpu, page in window:
            got.setdefault(cpu, []).append(page)
    t.join()
    want: Dict[int, List[bytes]] = {}
    for cpu, p in pages:
        want.setdefault(cpu, []).append(p)
    assert got == want
    assert reader.ended
    # Every segment read to its end is gone; at most the last one of each CPU stays.
    assert len(list(tmp_path.iterdir())) <= 2


def test_the_writer_waits_when_the_renderer_is_a_bound_behind(tmp_path: Path) -> None:
    layout, _, pages = _load()
    pages = pages * 20  # the capture's 14 pages, again and again: only bytes matter here
    ps = layout.page_size
    bound = 16 * ps
    writer, r = _spool(tmp_path, ps, bound, 2 * ps)
    assert writer.max_bytes == bound
    t = threading.Thread(target=_write_all, args=(writer, _passes(pages, 2)))
    t.start()
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes)
    seen = 0
    worst = 0
    for window in reader.passes():
        seen += len(window)
        on_disk = sum(p.stat().st_size for p in tmp_path.iterdir() if p.exists())
        worst = max(worst, on_disk)
        time.sleep(0.01)  # a slow renderer
    t.join()
    assert seen == len(pages)
    assert writer.waits > 0, "the writer never waited: the bound was not reached"
    # Within the bound, give or take the pass the writer was adding.
    assert worst <= bound + 4 * ps


def test_a_writer_that_dies_ends_the_reader_without_the_end_mark(tmp_path: Path) -> None:
    layout, _, pages = _load()
    ps = layout.page_size
    writer, r = _spool(tmp_path, ps, 64 * ps, 4 * ps)
    writer.add(pages[0][0], [pages[0][1]])
    writer.commit()
    os.close(writer.notify_fd)  # what kill -9 does to the pipe
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes)
    windows = list(reader.passes())
    assert [w for win in windows for w in win] == [pages[0]]
    assert not reader.ended


def test_a_full_pipe_of_lines_loses_no_pages(tmp_path: Path) -> None:
    layout, _, pages = _load()
    ps = layout.page_size
    writer, r = _spool(tmp_path, ps, 1 << 30, 1 << 20)
    passes = _passes(pages, 1)
    # Fill the pipe with lines before anything reads it: later lines are left out,
    # and the ones after cover them.
    pipe_fill = b"C\n" * (1 << 16)
    with contextlib.suppress(BlockingIOError):
        os.write(writer.notify_fd, pipe_fill)
    for one in passes[:-1]:
        for cpu, ps_ in one.items():
            writer.add(cpu, ps_)
        writer.commit()
    assert writer.lines_left_out > 0
    t = threading.Thread(target=_write_all, args=(writer, passes[-1:]))
    t.start()
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes)
    n = sum(len(w) for w in reader.passes())
    t.join()
    assert n == len(pages)


class _Source:
    """What spool_text needs of a RawSource, over the capture's formats."""

    def __init__(self) -> None:
        self.layout, self._renderer, _ = _load()

    def renderer(self) -> Any:
        return self._renderer

    def graph(self, base: Any) -> Optional[Any]:
        return None


def _merged(pages: List[Tuple[int, bytes]]) -> List[str]:
    """The capture as trace_pipe prints it all: every CPU's records merged by time."""
    layout, direct, _ = _load()
    items = [it for cpu, p in pages for it in page_items((p,), layout, cpu)]
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    return render_items(direct, None, items)


@pytest.mark.parametrize("window_pages", [1, 2, 3, 64])
def test_spool_text_merges_the_cpus_by_time_whatever_the_window(
    tmp_path: Path, window_pages: int
) -> None:
    """A renderer behind the reader reads many passes at once, in windows of a bounded
    size per CPU. The capture's CPUs interleave in time (CPU 1's pages start before,
    between and after CPU 0's), so a window that printed a CPU's pages beyond where
    another CPU's window stopped would put lines out of order."""
    src = _Source()
    layout, _, pages = _load()
    ps = layout.page_size
    writer, r = _spool(tmp_path, ps, 1 << 30, 8 * ps)
    _write_all(writer, _passes(pages, 4))  # all of it told before the renderer reads
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes, window_bytes=window_pages * ps)
    got = [ln for batch in spool_text(reader, cast(RawSource, src)) for ln in batch]
    assert reader.ended
    assert len(got) > 1000
    assert got == _merged(pages)


def test_spool_text_follows_a_writer_as_it_writes(tmp_path: Path) -> None:
    """Caught up, each window is what the last pass added: every line printed once."""
    src = _Source()
    layout, _, pages = _load()
    ps = layout.page_size
    passes = _passes(pages, 1)
    writer, r = _spool(tmp_path, ps, 1 << 30, 8 * ps)
    t = threading.Thread(target=_write_all, args=(writer, passes, 0.02))
    t.start()
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes)
    got = [ln for batch in spool_text(reader, cast(RawSource, src)) for ln in batch]
    t.join()
    assert sorted(got) == sorted(_merged(pages))


def test_a_renderer_far_behind_still_gets_the_last_reach_at_the_stop(tmp_path: Path) -> None:
    """The pipe stays full while a renderer far behind works; the writer's last reach
    and end mark then do not fit before it gives up. They are in the ``end`` file:
    every page is read, not only those up to the last reach the pipe carried (the
    stream printed 31 to 54 % of what it read in bench/ingest.py before)."""
    layout, _, pages = _load()
    ps = layout.page_size
    writer, r = _spool(tmp_path, ps, 1 << 30, 4 * ps)
    passes = _passes(pages, 1)
    for cpu, pp in passes[0].items():
        writer.add(cpu, pp)
    writer.commit()  # the first reach is told ...
    with contextlib.suppress(BlockingIOError):
        os.write(writer.notify_fd, b"-\n" * (1 << 16))  # ... then the pipe is full
    for one in passes[1:]:
        for cpu, pp in one.items():
            writer.add(cpu, pp)
        writer.commit()
    assert writer.lines_left_out > 0
    assert writer.close(patience=0.2) is False
    reader = SpoolReader(tmp_path, ps, r, writer.segment_bytes)
    got = [page for window in reader.passes() for page in window]
    assert reader.ended
    assert sorted(got) == sorted(pages)


@pytest.mark.parametrize("cpus", [1, 4, 64])
def test_segments_leave_room_for_every_cpu(tmp_path: Path, cpus: int) -> None:
    r, w = os.pipe()
    writer = SpoolWriter(tmp_path, 4096, w, 64 << 20, cpus)
    # Every CPU holding one open segment, unread, is at most a quarter of the bound.
    assert cpus * writer.segment_bytes <= writer.max_bytes // 4
    assert writer.segment_bytes % 4096 == 0
    os.close(r)
    os.close(w)


def test_close_gives_up_on_a_renderer_that_reads_no_lines(tmp_path: Path) -> None:
    """A renderer stuck on output nobody reads reads no lines either: the writer's
    close (on the reader's way out, before the renderer is waited for) must not block
    on the full pipe (it did, and held the stop of `ftop stream` for ever)."""
    layout, _, pages = _load()
    writer, r = _spool(tmp_path, layout.page_size, 1 << 30, 1 << 20)
    with contextlib.suppress(BlockingIOError):
        os.write(writer.notify_fd, b"C\n" * (1 << 16))  # fills the pipe
    writer.add(pages[0][0], [pages[0][1]])
    t0 = time.monotonic()
    assert writer.close(patience=0.3) is False
    assert time.monotonic() - t0 < 2.0
    os.close(r)


def test_close_delivers_the_end_mark(tmp_path: Path) -> None:
    layout, _, pages = _load()
    writer, r = _spool(tmp_path, layout.page_size, 1 << 30, 1 << 20)
    writer.add(pages[0][0], [pages[0][1]])
    assert writer.close() is True
    assert os.read(r, 1 << 16).endswith(b"E\n")
    os.close(r)
