"""One renderer of raw pages to the kernel's text lines (ftop.engine.raw.page_text), on
the real captures of tests/fixtures/host-6.18/raw (pages read from a 6.18 kernel's
per_cpu/cpuN/trace_pipe_raw, see their READMEs).

The stream's pass, a save of the kept pages and the live view's decoder each had a
loop of their own; the references below are those loops as they were, and
``render_pages`` must give their lines to the letter (the raw oracle tests check
those lines against the kernel's own text).
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, cast

import pytest
from ftop.engine.control.session import Session
from ftop.engine.raw.format import (
    EventFormat,
    PageHeader,
    parse_format,
    parse_header_event,
    parse_header_page,
)
from ftop.engine.raw.page import Layout, page_info, split_pages
from ftop.engine.raw.page_ring import PageRing
from ftop.engine.raw.page_text import Item, page_items, render_items, render_pages
from ftop.engine.raw.render import Renderer
from ftop.engine.raw.stream import RawPipe
from test_control import make_fake_tracefs

RAW = Path(__file__).parent.parent / "fixtures" / "host-6.18" / "raw"
CAPTURES = sorted(p for p in RAW.iterdir() if (p / "header_page.txt").exists())
Pages = List[Tuple[int, bytes]]


class _Recorded:
    """The capture's symbol lookups as recorded (its kallsyms are not kept)."""

    def __init__(self, syms: Dict[str, List[str]]) -> None:
        self.syms = syms

    def name(self, addr: int, offset: bool = False, module: bool = True) -> str:
        return str(self.syms[f"{addr:x}"][1 if offset else 0])


def _load(capture: Path) -> Tuple[Layout, Pages]:
    layout = Layout(
        parse_header_page((capture / "header_page.txt").read_text()),
        parse_header_event((capture / "header_event.txt").read_text()),
    )
    pages: Pages = []
    for p in sorted(capture.glob("cpu*.raw.gz")):
        cpu = int(p.name[3:].split(".")[0])
        for page in split_pages(gzip.decompress(p.read_bytes()), layout.page_size):
            pages.append((cpu, page))
    return layout, pages


def _renderer(capture: Path) -> Renderer:
    """A fresh renderer: each path keeps state (the graph tracer's, caches) of its own."""
    fmts: Dict[int, EventFormat] = {}
    for p in (capture / "formats").glob("*.txt"):
        f = parse_format(p.read_text(), p.name.split(".")[0])
        fmts[f.id] = f
    syms = json.loads((capture / "symbols.json").read_text())
    return Renderer(formats=fmts, symbols=_Recorded(syms))


def _with_commit(page: bytes, layout: Layout, commit: int) -> bytes:
    ph = layout.page
    co, cs = ph.commit_offset, ph.commit_offset + ph.commit_size
    return page[:co] + commit.to_bytes(ph.commit_size, "little") + page[cs:]


def _flag_lost(page: bytes, layout: Layout) -> bytes:
    """The page as the kernel hands it over after overwriting events (count unknown)."""
    ph = layout.page
    commit = int.from_bytes(page[ph.commit_offset : ph.commit_offset + ph.commit_size], "little")
    return _with_commit(page, layout, commit & PageHeader.COMMIT_MASK | PageHeader.MISSED_EVENTS)


def _by_cpu(pages: Pages) -> Dict[int, List[bytes]]:
    out: Dict[int, List[bytes]] = {}
    for cpu, p in pages:
        out.setdefault(cpu, []).append(p)
    return out


@pytest.fixture(params=CAPTURES, ids=lambda p: p.name)
def capture(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


# -- the three loops as they were (HEAD before render_pages) ---------------------------


def old_pass(layout: Layout, r: Renderer, pages: Pages) -> List[str]:
    """RawPipe._on_pages per CPU, then _flush: one sorted pass."""
    pend: List[Item] = []
    for cpu, ps in _by_cpu(pages).items():
        pend.extend(page_items(ps, layout, cpu))
    pend.sort(key=lambda t: (t[0], t[1], t[2]))
    return render_items(r, None, pend)


def old_save(layout: Layout, r: Renderer, pages: Pages, step: int) -> List[List[str]]:
    """Session.save_pages_text's batches: windows of ``step`` pages, each merged."""
    out = []
    for i in range(0, len(pages), step):
        items = []
        for cpu, page in pages[i : i + step]:
            items.extend(page_items([page], layout, cpu))
        items.sort(key=lambda t: (t[0], t[1], t[2]))
        out.append(render_items(r, None, items))
    return out


def old_behind(layout: Layout, r: Renderer, pages: Pages, n: int, m: int) -> List[List[str]]:
    """BehindDecoder.decode's walk (``n`` pages a slice) and slices of ``m`` items."""
    items: List[Item] = []
    for i in range(0, len(pages), n):
        for cpu, p in pages[i : i + n]:
            items.extend(page_items((p,), layout, cpu))
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    return [render_items(r, None, items[i : i + m]) for i in range(0, len(items), m)]


# -- render_pages gives their lines ----------------------------------------------------


def test_one_window_is_the_stream_pass_merged_by_time(capture: Path) -> None:
    layout, pages = _load(capture)
    want = old_pass(layout, _renderer(capture), pages)
    r = _renderer(capture)
    (batch,) = render_pages(
        pages,
        lambda cpu, ps: page_items(ps, layout, cpu),
        lambda items: render_items(r, None, items),
    )
    assert batch.lines == want and len(want) > 100
    records = sum(t[2] for cpu, p in pages for t in page_items([p], layout, cpu))
    assert batch.records == records and batch.items >= records


@pytest.mark.parametrize("window", [256, 3, 1])
def test_windows_of_pages_are_the_save_batches(capture: Path, window: int) -> None:
    layout, pages = _load(capture)
    want = old_save(layout, _renderer(capture), pages, window)
    r = _renderer(capture)
    got = render_pages(
        pages,
        lambda cpu, ps: page_items(ps, layout, cpu),
        lambda items: render_items(r, None, items),
        window=window,
    )
    assert [b.lines for b in got] == want
    assert len(want) == math.ceil(len(pages) / window)


def test_slices_are_the_decoders_and_it_pauses_after_each_walked_slice(capture: Path) -> None:
    layout, pages = _load(capture)
    # The decoder walks a take's pages newest-last by their first time stamp.
    want = old_behind(layout, _renderer(capture), pages, 2, 50)
    r = _renderer(capture)
    pauses: List[int] = []
    walked: List[int] = []

    def walk(cpu: int, ps: Sequence[bytes]) -> List[Item]:
        walked.append(cpu)
        return page_items(ps, layout, cpu)

    got = render_pages(
        pages,
        walk,
        lambda items: render_items(r, None, items),
        slice_items=50,
        walk_slice=2,
        pause=lambda: pauses.append(len(walked)),
    )
    first = next(got)
    # A pause after every two pages walked, and after the last one.
    assert pauses == [min(i + 2, len(pages)) for i in range(0, len(pages), 2)]
    assert [first.lines, *(b.lines for b in got)] == want
    assert first.items == 50 and len(want) > 2


def test_an_unsliced_window_without_records_is_still_one_batch(capture: Path) -> None:
    """As the pass and the save had it: a window with no record gives an empty batch."""
    layout, pages = _load(capture)
    empty = _with_commit(pages[0][1], layout, 0)  # nothing committed, nothing lost
    r = _renderer(capture)
    got = list(
        render_pages(
            [(0, empty)],
            lambda cpu, ps: page_items(ps, layout, cpu),
            lambda items: render_items(r, None, items),
        )
    )
    assert [b.lines for b in got] == [[]]


# -- the stream's pass through it ------------------------------------------------------


def _pipe(capture: Path, tmp_path: Path, layout: Layout, got: List[List[str]]) -> RawPipe:
    pipe = RawPipe(
        tmp_path,
        tmp_path,
        lambda lines: got.append(list(lines)),
        layout=layout,
        # Never re-read saved_cmdlines here (none in tmp_path): the capture's tasks stay.
        tasks_refresh_s=time.monotonic() + 1e6,
    )
    pipe._renderer = _renderer(capture)
    pipe._graph = None
    return pipe


def test_the_stream_pass_is_one_batch_with_records_and_losses_counted(
    capture: Path, tmp_path: Path
) -> None:
    layout, pages = _load(capture)
    # The kernel flagged the last page of each CPU (it overwrote events before it).
    by_cpu = {cpu: [*ps[:-1], _flag_lost(ps[-1], layout)] for cpu, ps in _by_cpu(pages).items()}
    flat = [(cpu, p) for cpu, ps in by_cpu.items() for p in ps]
    missed = [page_info(p, layout).missed for _, p in flat]
    flagged = [m for m in missed if m is not None]
    want = old_pass(layout, _renderer(capture), flat)
    assert sum(1 for line in want if "[LOST " in line) == len(flagged) >= len(by_cpu)
    got: List[List[str]] = []
    pipe = _pipe(capture, tmp_path, layout, got)
    for cpu, ps in by_cpu.items():
        pipe._on_pages(cpu, ps)
    assert got == []  # rendered at the end of the pass, merged across CPUs
    pipe._flush()
    assert got == [want]
    assert pipe.lines_read == len(want)
    assert pipe.records_read == sum(t[2] for t in page_items([p for _, p in flat], layout, 0))
    assert pipe.lost_unknown == sum(1 for m in flagged if m < 0) >= len(by_cpu)
    assert sum(pipe.lost.values()) == sum(m for m in flagged if m >= 0)
    # What the first two passes find flagged was lost before ftop read (the first
    # pass's reads may end before a CPU's backlog does); from the third on, the kernel
    # overwrote what this reader was too slow to take.
    for cpu, ps in by_cpu.items():
        pipe._on_pages(cpu, ps)
    pipe._flush()
    assert got == [want, want] and pipe.fell_behind == 0
    pipe._flush()  # a pass that read nothing is a pass too
    for cpu, ps in by_cpu.items():
        pipe._on_pages(cpu, ps)
    pipe._flush()
    assert pipe.fell_behind == sum(max(m, 1) for m in flagged)


# -- a save of the kept pages ----------------------------------------------------------


class _Source:
    """The part of a RawSource a save reads: the layout and a renderer of its own."""

    def __init__(self, capture: Path, layout: Layout) -> None:
        self.capture, self.layout = capture, layout

    def renderer(self) -> Renderer:
        return _renderer(self.capture)

    def graph(self, base: Renderer) -> None:
        return None


# sched-syscalls holds a trace_marker write of invalid UTF-8 (kept as surrogates): the
# save writes those bytes back as they came (it raised UnicodeEncodeError before).
@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_a_save_of_the_kept_pages_is_their_text_in_windows(capture: Path, tmp_path: Path) -> None:
    layout, pages = _load(capture)
    # More than one window of 256 pages, the CPUs' pages interleaved as reads keep them.
    kept = (pages * (600 // len(pages) + 1))[:600]
    sess = Session(make_fake_tracefs(tmp_path / "tracefs"), journal_dir=tmp_path / "journal")
    sess.pages = PageRing(max_bytes=1 << 30)
    for cpu, page in kept:
        sess.pages.extend(cpu, [page])
    sess._raw_source = cast(Any, _Source(capture, layout))
    out = tmp_path / "saved.txt"
    n = sess.save_pages_text(str(out), tracer="nop", cpus=2)
    want = [line for batch in old_save(layout, _renderer(capture), kept, 256) for line in batch]
    assert n == len(want)
    body = [ln for ln in out.read_text("utf-8", "surrogateescape").splitlines() if ln[:1] != "#"]
    assert body == want


def test_the_status_bands_rendered_raw_count_never_builds_the_renderer(
    capture: Path, tmp_path: Path
) -> None:
    """The status band asks for the count on the UI's loop. Building the renderer
    reads every event's format (about a second on this machine's 6.18): asked before
    the decoder had built it, the first frame waited for it (bench/ui_startup.py)."""
    layout, _ = _load(capture)
    built: List[int] = []

    def factory() -> Any:
        built.append(1)
        raise AssertionError("the renderer was built for a count")

    pipe = RawPipe(tmp_path, tmp_path, None, layout=layout, source_factory=factory)
    assert pipe.rendered_raw == 0
    assert built == []
    pipe._renderer = _renderer(capture)
    pipe._renderer.rendered_raw = 3
    assert pipe.rendered_raw == 3


class _SlowSource(_Source):
    """A source that costs CPU to read, as every format and kallsyms do (about a second
    on a desktop kernel, tens of seconds under the kernel lab's QEMU)."""

    def __init__(self, capture: Path, layout: Layout, cost_s: float) -> None:
        super().__init__(capture, layout)
        self.cost_s = cost_s

    def read_options(self, where: Path) -> None:
        pass


def _burn(cpu_s: float) -> None:
    t = time.thread_time()
    while time.thread_time() - t < cpu_s:
        pass


@pytest.mark.parametrize("first", ["idle", "events"])
def test_a_view_decoder_reads_its_source_before_the_events_and_never_rests_for_it(
    capture: Path, tmp_path: Path, first: str
) -> None:
    """A CI failure: after a tracer switch no line reached the ring in 120 s. The renderer
    (every format, kallsyms) was built by the first take's rendering, and the decoder then
    rested for 2.3 times that CPU time (its duty), as if it were decoding. Now it is
    built once the decoder has been idle a moment (before the first events), or before
    the first take, and never rested for."""
    layout, pages = _load(capture)
    cost = 0.3
    built: List[float] = []
    src = _SlowSource(capture, layout, cost)

    def factory() -> Any:
        _burn(cost)
        built.append(time.monotonic())
        return src

    got: List[str] = []
    pipe = RawPipe(
        tmp_path,
        tmp_path,
        lambda lines: got.extend(lines),
        layout=layout,
        source_factory=factory,
        behind=True,
        tasks_refresh_s=time.monotonic() + 1e6,
    )
    dec = pipe._behind
    assert dec is not None
    rests: List[float] = []
    wait = dec._stop.wait

    def recorded(timeout: Optional[float] = None) -> bool:
        rests.append(timeout or 0.0)
        return wait(timeout)

    dec._stop.wait = recorded  # type: ignore[method-assign]
    dec.prepare_after_s = 0.1 if first == "idle" else 60.0
    # A full collection of the test process's heap (a GB in a whole run) lands on
    # whichever thread allocates, and its CPU time is then rested for, as it should be;
    # here it would stand in for what is measured (a CI run saw one of 0.35 s).
    gc.disable()
    dec.start()
    try:
        deadline = time.monotonic() + 10
        if first == "idle":
            # No events yet: the source is read anyway, once the decoder waited a moment.
            while not built and time.monotonic() < deadline:
                time.sleep(0.01)
            assert built, "the source was not read before the first events"
        for cpu, ps in _by_cpu(pages).items():
            dec.put(cpu, ps)
        dec.cycle()
        want = old_pass(layout, _renderer(capture), pages)
        while len(got) < len(want) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        gc.enable()
        assert pipe.stop(5)
    assert len(built) == 1
    assert sorted(got) == sorted(want)
    # Rests follow the decoding's CPU time only (duty 0.3: 2.3 times it); the source's
    # 0.3 s would have asked for 0.7 s.
    assert rests and max(rests) < cost, rests
