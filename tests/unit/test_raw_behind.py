"""The live view's decoder behind the reader (ftop.engine.raw.behind), on real pages.

The pages are the `sched-syscalls` capture of tests/fixtures/host-6.18/raw (read
from a 6.18 kernel's per_cpu/cpuN/trace_pipe_raw, see its README). What the
decoder renders is compared with rendering the same pages directly, the path
whose output the raw oracle tests check against the kernel's own `trace`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

from ftop.engine.raw.behind import BehindDecoder
from ftop.engine.raw.format import (
    EventFormat,
    PageHeader,
    parse_format,
    parse_header_event,
    parse_header_page,
)
from ftop.engine.raw.page import Layout, page_info, split_pages
from ftop.engine.raw.render import Renderer
from ftop.engine.raw.stream import page_items, render_items
from ftop.engine.stream.stats import Aggregates

CAPTURE = Path(__file__).parent.parent / "fixtures" / "host-6.18" / "raw" / "sched-syscalls"


class _Recorded:
    def __init__(self, syms: Dict[str, List[str]]) -> None:
        self.syms = syms

    def name(self, addr: int, offset: bool = False, module: bool = True) -> str:
        return str(self.syms[f"{addr:x}"][1 if offset else 0])


def _load() -> Tuple[Layout, Renderer, List[Tuple[int, bytes]]]:
    layout = Layout(
        parse_header_page((CAPTURE / "header_page.txt").read_text()),
        parse_header_event((CAPTURE / "header_event.txt").read_text()),
    )
    fmts: Dict[int, EventFormat] = {}
    for p in (CAPTURE / "formats").glob("*.txt"):
        f = parse_format(p.read_text(), p.name.split(".")[0])
        fmts[f.id] = f
    syms = json.loads((CAPTURE / "symbols.json").read_text())
    renderer = Renderer(formats=fmts, symbols=_Recorded(syms))
    pages: List[Tuple[int, bytes]] = []
    for p in sorted(CAPTURE.glob("cpu*.raw.gz")):
        cpu = int(p.name[3:].split(".")[0])
        for page in split_pages(gzip.decompress(p.read_bytes()), layout.page_size):
            pages.append((cpu, page))
    return layout, renderer, pages


def _direct(layout: Layout, renderer: Renderer, pages: List[Tuple[int, bytes]]) -> List[str]:
    items = []
    for cpu, p in pages:
        items.extend(page_items([p], layout, cpu))
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    return render_items(renderer, None, items)


class _Sink:
    def __init__(self) -> None:
        self.lines: List[str] = []
        self.lost: List[Tuple[int, int]] = []
        self.sampled: List[Tuple[int, int]] = []
        self.got = threading.Event()

    def on_lines(self, lines: List[str]) -> None:
        self.lines.extend(lines)
        self.got.set()

    def on_lost(self, cpu: int, missed: int) -> None:
        self.lost.append((cpu, missed))

    def on_sampled(self, decoded: int, skipped: int) -> None:
        self.sampled.append((decoded, skipped))


def _decoder(layout: Layout, renderer: Renderer, sink: _Sink, **kw: float) -> BehindDecoder:
    return BehindDecoder(
        layout,
        lambda cpu, pages: page_items(pages, layout, cpu),
        lambda items: render_items(renderer, None, items),
        sink.on_lines,
        sink.on_lost,
        on_sampled=sink.on_sampled,
        slice_pages=2,
        slice_items=50,
        **kw,  # type: ignore[arg-type]
    )


def _take(pages: List[Tuple[int, bytes]]) -> List[Tuple[int, List[bytes]]]:
    by_cpu: Dict[int, List[bytes]] = {}
    for cpu, p in pages:
        by_cpu.setdefault(cpu, []).append(p)
    return list(by_cpu.items())


def test_keeping_up_it_renders_what_the_direct_path_renders() -> None:
    layout, renderer, pages = _load()
    assert len(pages) >= 4
    want = _direct(layout, renderer, pages)
    sink = _Sink()
    dec = _decoder(layout, renderer, sink)
    dec.speed = 1e9  # never behind
    dec.decode(_take(pages))
    assert sink.lines == want
    total = sum(page_info(p, layout).size for _, p in pages)
    assert sink.sampled == [(total, 0)]
    assert dec.pages_skipped == 0 and dec.pages_decoded == len(pages)


def test_behind_it_renders_the_newest_pages_and_says_what_it_skipped() -> None:
    layout, renderer, pages = _load()
    keep = 2
    sink = _Sink()
    newest = sorted(pages, key=lambda cp: (page_info(cp[1], layout).ts, cp[0]))[-keep:]
    dec = _decoder(layout, renderer, sink, max_lag_s=1.0, min_bytes=0)
    # a decoder that renders the two newest pages' bytes in a second: cut to them
    dec.speed = float(sum(page_info(p, layout).size for _, p in newest))
    dec.decode(_take(pages))
    assert sink.lines[0].startswith("[ftop: about ")
    assert f"({len(pages) - keep:,} pages) not decoded" in sink.lines[0]
    assert sink.lines[1:] == _direct(layout, renderer, newest)
    decoded, skipped = sink.sampled[0]
    sizes = {id(p): page_info(p, layout).size for _, p in pages}
    assert decoded == sum(sizes[id(p)] for _, p in newest)
    assert decoded + skipped == sum(sizes.values()) and skipped > 0
    assert dec.pages_skipped == len(pages) - keep and dec.events_skipped > 0


def test_a_small_backlog_is_decoded_whole_whatever_its_page_count() -> None:
    """Regression: the cut counted pages, and a start's backlog of small pages (partial
    reads of a quiet buffer) lost its oldest, a marker written at the start with them."""
    layout, renderer, pages = _load()
    pages = pages + pages  # more pages than the old cut kept (16), still few bytes
    assert len(pages) > 16
    sink = _Sink()
    dec = _decoder(layout, renderer, sink)  # the first guess of speed, as at a start
    dec.decode(_take(pages))
    assert dec.pages_skipped == 0
    assert sink.lines == _direct(layout, renderer, pages)


def _flag_missed(page: bytes, layout: Layout) -> bytes:
    ph = layout.page
    at, n = ph.commit_offset, ph.commit_size
    commit = int.from_bytes(page[at : at + n], "little") | PageHeader.MISSED_EVENTS
    return page[:at] + commit.to_bytes(n, "little") + page[at + n :]


def test_the_kernels_loss_is_counted_on_skipped_pages_too() -> None:
    layout, renderer, pages = _load()
    by_ts = sorted(pages, key=lambda cp: (page_info(cp[1], layout).ts, cp[0]))
    oldest_cpu, oldest = by_ts[0]
    flagged = [(c, _flag_missed(p, layout) if p is oldest else p) for c, p in pages]
    sink = _Sink()
    dec = _decoder(layout, renderer, sink, max_lag_s=1.0, min_bytes=0)
    dec.speed = 1.0
    dec.decode(_take(flagged))
    # the oldest page was skipped, and its loss (count not stored: -1) still counted
    assert (oldest_cpu, -1) in sink.lost
    assert not any("LOST" in line for line in sink.lines[1:])


def test_the_thread_takes_what_the_reader_hands_over_and_stops() -> None:
    layout, renderer, pages = _load()
    sink = _Sink()
    dec = _decoder(layout, renderer, sink)
    dec.speed = 1e9
    dec.start()
    try:
        for cpu, plist in _take(pages):
            dec.put(cpu, plist)
        dec.cycle()
        assert sink.got.wait(10)
        deadline = time.monotonic() + 10
        while dec.pages_decoded < len(pages) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        assert dec.stop(5)
    assert not dec.running and dec.error is None
    assert sink.lines == _direct(layout, renderer, pages)


def test_aggregates_scale_a_sampled_bucket_and_say_so() -> None:
    agg = Aggregates(window_s=10, bucket_s=1)
    now = 1000.5
    lines = [
        f"            bash-1234    [00{i % 2}] .....  100.{i:06d}: sys_enter_write: fd: 0x1"
        for i in range(100)
    ]
    agg.ingest(lines, now)
    snap = agg.snapshot(now)
    assert snap.total == 100 and snap.sampled is None
    agg.note_sampled(1000, 3000, now)
    snap = agg.snapshot(now)
    assert snap.total == 400
    assert snap.sampled == 0.25
    assert {n.name: n.count for n in snap.top_events} == {"sys_enter_write": 400}
    assert sum(snap.cpu_rates.values()) * snap.span_s == 400


def test_pages_waiting_for_a_decoder_that_cannot_take_are_bounded() -> None:
    """While the decoder cannot take (it reads the formats at the start: seconds under
    a flood) the reader keeps handing pages over: the queue held hundreds of MB
    (a soak's RSS went to 1.3 GB). The oldest beyond the bound are shed, counted as
    skipped at the next take, their loss flags still counted."""
    layout, renderer, pages = _load()
    sink = _Sink()
    ps = layout.page_size
    dec = _decoder(layout, renderer, sink, max_queue_bytes=4 * ps)
    dec.speed = 1e9  # what it takes it renders whole
    flood = pages * 50  # the capture's pages, again and again: a flood's worth
    for cpu, p in flood:
        dec.put(cpu, [p])
        assert dec.queued_bytes <= 4 * ps
    dec.start()
    dec.cycle()
    try:
        assert sink.got.wait(10)
        deadline = time.monotonic() + 10
        while dec.pages_decoded + dec.pages_skipped < len(flood) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        dec.stop()
    assert dec.pages_decoded + dec.pages_skipped == len(flood)
    assert dec.pages_decoded <= 4 and dec.pages_skipped >= len(flood) - 4
    flagged = sum(1 for _, p in flood if page_info(p, layout).missed is not None)
    assert len(sink.lost) == flagged
    assert any("not decoded: sampled view" in ln for ln in sink.lines)
