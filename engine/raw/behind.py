"""Decoding on its own thread, behind the reader: the pages are read at the kernel's
pace, turned into text at Python's.

The raw reader copies pages out of the kernel at a few million events a second;
rendering one event to the kernel's text costs several microseconds in Python.
When both run on one thread, a flood makes the kernel overwrite what the
decoder had no time to take, and the trace loses events for good. Here the
reader only hands pages over (and keeps them, for a save as trace.dat); this
thread renders what it can. When a take holds more than it can render in
``max_lag_s``, it renders the newest pages and skips the rest: the view stays
live, the skipped span is one ``[ftop: ...]`` line in the text, and
``on_sampled`` tells the aggregates how much was decoded so they can scale
their figures and say "sampled". The kernel's own loss (a page's missed-events
flag) is still counted on every page, decoded or not.

The thread releases the GIL between slices (``time.sleep(0)``), so the reader's
next system call is never held up by more than one slice.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, List, Literal, Optional, Tuple

from ftop.engine.raw.format import PageHeader
from ftop.engine.raw.page import Layout, page_info
from ftop.engine.raw.page_text import RenderItems, WalkPages, render_pages

__all__ = ["BehindDecoder", "skipped_line"]

# (cpu, pages) as the reader handed them over.
Take = List[Tuple[int, List[bytes]]]


def skipped_line(pages: int, events: int) -> str:
    """The line that stands for a span the decoder skipped: ftop's, never the kernel's."""
    what = "event" if events == 1 else "events"
    return f"[ftop: about {events:,} {what} ({pages:,} pages) not decoded: sampled view; kept raw for a .dat save]"


class BehindDecoder:
    """A thread that renders the pages a reader hands over, skipping the oldest when behind.

    Args:
        layout: the page layout (for each page's time stamp, size and loss flag).
        walk: the items (records, LOST notes) of pages of one CPU; items sort by time.
        render: turns items in time order into text lines.
        on_lines: gets each rendered batch (the session's ring and listeners).
        on_lost: gets (cpu, missed) for every flagged page, decoded or skipped.
        on_sampled: gets (decoded_bytes, skipped_bytes) after every take.
        max_lag_s: at most this much decoding per take (by the measured speed); the
            oldest pages beyond it are skipped.
        slice_pages: pages walked between two releases of the GIL.
        slice_items: items rendered between two releases of the GIL.
        min_bytes: a take this small is always decoded whole.
        duty: the share of the time this thread may spend decoding; after each
            take it rests for the rest. The reader (whose lag loses events for
            good) and the UI (whose lag is felt) come first; this thread takes
            what is left, and a live view needs only a screenful of new lines.
        prepare: the one-time setup that rendering needs (reading every event's
            format and kallsyms: a second on a desktop kernel, tens under QEMU).
            It runs on this thread before the first take is decoded, or once the
            thread has waited ``prepare_after_s`` with nothing to take, so that
            the first events find it done. It is never rested for: resting in
            proportion to it held a tracer switch's first lines back for more
            than twice its time.
    """

    def __init__(
        self,
        layout: Layout,
        walk: WalkPages,
        render: RenderItems,
        on_lines: Callable[[List[str]], None],
        on_lost: Callable[[int, int], None],
        on_sampled: Optional[Callable[[int, int], None]] = None,
        max_lag_s: float = 0.02,
        slice_pages: int = 16,
        slice_items: int = 250,
        duty: float = 0.3,
        min_bytes: int = 256 * 1024,
        max_queue_bytes: int = 16 << 20,
        prepare: Optional[Callable[[], None]] = None,
        prepare_after_s: float = 1.0,
    ) -> None:
        self.duty = duty
        self._prepare = prepare
        self.prepare_after_s = prepare_after_s
        self._preparing = False
        self.layout = layout
        self.walk = walk
        self.render = render
        self.slice_items = slice_items
        self.on_lines = on_lines
        self.on_lost = on_lost
        self.on_sampled = on_sampled
        self.max_lag_s = max_lag_s
        self.slice_pages = slice_pages
        self._take: Take = []
        # The pages waiting for this thread are bounded: a take is cut to what it
        # renders in max_lag_s anyway, and while it cannot take at all (reading the
        # formats at the start: seconds under a flood) the queue held hundreds of MB.
        # The oldest beyond the bound are shed as they come, counted as skipped (their
        # loss flags still reach on_lost).
        self.max_queue_bytes = max_queue_bytes
        self._queued = 0
        self._shed_pages = 0
        self._shed_bytes = 0
        self._shed_lost: List[Tuple[int, int]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        # Bytes of records per second this thread renders (measured; the first guess
        # is about 140 k events/s). A take is cut to what it renders in max_lag_s,
        # never below min_bytes: a trickle, or the backlog of a start, is never cut
        # (pages read by partial reads are small: their number says nothing).
        self.speed = 4e6
        self.min_bytes = min_bytes
        self.pages_decoded = 0
        self.pages_skipped = 0
        self.events_skipped = 0
        self.bytes_decoded = 0
        # Bytes per record, measured on what was decoded (estimates skipped events).
        self._bytes_per_event = 32.0
        self.error: Optional[BaseException] = None

    # -- the reader's side ---------------------------------------------------------

    def put(self, cpu: int, pages: List[bytes]) -> None:
        with self._lock:
            self._take.append((cpu, pages))
            self._queued += sum(len(p) for p in pages)
            if self._queued > self.max_queue_bytes:
                self._shed(self.max_queue_bytes // 2)

    def _shed(self, keep: int) -> None:
        """Drop the oldest handed-over pages until ``keep`` bytes are left (lock held):
        only their sizes and loss flags are read, one word each."""
        ph = self.layout.page
        co, cs = ph.commit_offset, ph.commit_offset + ph.commit_size
        order: Literal["little", "big"] = "little" if self.layout.endian == "<" else "big"
        missed_bit, mask = PageHeader.MISSED_EVENTS, PageHeader.COMMIT_MASK
        while self._take and self._queued > keep:
            cpu, pages = self._take.pop(0)
            for p in pages:
                commit = int.from_bytes(p[co:cs], order)
                if commit & missed_bit:
                    m = page_info(p, self.layout).missed
                    self._shed_lost.append((cpu, -1 if m is None else m))
                self._shed_bytes += commit & mask
                self._queued -= len(p)
            self._shed_pages += len(pages)

    @property
    def queued_bytes(self) -> int:
        return self._queued

    def cycle(self) -> None:
        """The reader finished a pass over the CPUs: what it handed over is a take."""
        self._wake.set()

    # -- lifetime --------------------------------------------------------------------

    def start(self) -> None:
        # Threads ask for the GIL every 5 ms by default: a reader waiting that long
        # after each splice() falls behind a flood. A shorter interval costs the
        # process a little throughput and gives the reader and the UI their turn.
        if sys.getswitchinterval() > 0.001:
            sys.setswitchinterval(0.001)
        self._thread = threading.Thread(target=self._run, name="ftop-raw-decode", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is None:
            return True
        if self._preparing:
            # It holds nothing of the kernel's and emits nothing more (it stops once
            # the setup is done): a tracer switch or a quit need not wait for it.
            return True
        t.join(timeout)
        return not t.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the decoder's side --------------------------------------------------------

    def _run(self) -> None:
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                self._wake.wait(0.2)
                self._wake.clear()
                with self._lock:
                    take, self._take, self._queued = self._take, [], 0
                    shed = (self._shed_pages, self._shed_bytes, self._shed_lost)
                    self._shed_pages, self._shed_bytes, self._shed_lost = 0, 0, []
                busy = bool(take or shed[0])
                if self._prepare is not None and (
                    busy or time.monotonic() - started >= self.prepare_after_s
                ):
                    # Not at once: the first frame of a view that starts streaming
                    # would wait for the GIL behind it.
                    prepare, self._prepare = self._prepare, None
                    self._preparing = True
                    try:
                        prepare()
                    finally:
                        self._preparing = False
                if busy:
                    self.decode(take, shed)
        except BaseException as e:  # kept: a dead decoder shows as a stopped reader
            self.error = e

    def decode(self, take: Take, shed: Tuple[int, int, List[Tuple[int, int]]] = (0, 0, [])) -> None:
        """Render one take (on this thread, or a test's); ``shed`` is what ``put`` dropped
        before it: (pages, bytes, loss flags), counted as skipped."""
        layout = self.layout
        cap = max(self.min_bytes, int(self.speed * self.max_lag_s))
        ph = layout.page
        co, cs = ph.commit_offset, ph.commit_offset + ph.commit_size
        order: Literal["little", "big"] = "little" if layout.endian == "<" else "big"
        missed_bit, mask = PageHeader.MISSED_EVENTS, PageHeader.COMMIT_MASK
        skipped_pages, skipped_bytes, shed_lost = shed
        for cpu, missed in shed_lost:
            self.on_lost(cpu, missed)
        flat: List[Tuple[int, int, int, bytes]] = []  # (page ts, cpu, size, page)
        for cpu, pages in take:
            # A CPU's pages come in time order: only its newest ``cap`` bytes can be
            # among the take's newest. The others are looked at for their size and
            # their loss flag only (one word each): in a flood that is most of them.
            cut, room = len(pages), cap
            while cut > 0 and room > 0:
                cut -= 1
                room -= int.from_bytes(pages[cut][co:cs], order) & mask
            for p in pages[:cut]:
                commit = int.from_bytes(p[co:cs], order)
                if commit & missed_bit:
                    m = page_info(p, layout).missed
                    self.on_lost(cpu, -1 if m is None else m)
                skipped_bytes += commit & mask
            skipped_pages += cut
            for p in pages[cut:]:
                info = page_info(p, layout)
                if info.missed is not None:
                    self.on_lost(cpu, info.missed)
                flat.append((info.ts, cpu, info.size, p))
        # The newest pages (by their first time stamp) are what a live view shows.
        flat.sort(key=lambda t: (t[0], t[1]))
        keep, room = len(flat), cap
        while keep > 0 and room >= flat[keep - 1][2]:
            keep -= 1
            room -= flat[keep][2]
        if keep:
            old, flat = flat[:keep], flat[keep:]
            skipped_bytes += sum(t[2] for t in old)
            skipped_pages += len(old)
        lines: List[str] = []
        if skipped_pages:
            events = max(1, round(skipped_bytes / self._bytes_per_event))
            self.pages_skipped += skipped_pages
            self.events_skipped += events
            lines.append(skipped_line(skipped_pages, events))
        decoded_bytes = sum(t[2] for t in flat)
        work = 0.0
        t0, c0 = time.perf_counter(), time.thread_time()

        def rest() -> None:
            nonlocal work, t0, c0
            work += self._rest(t0, c0)
            t0, c0 = time.perf_counter(), time.thread_time()

        items = 0
        batches = render_pages(
            [(cpu, p) for _, cpu, _, p in flat],
            self.walk,
            self.render,
            slice_items=self.slice_items,
            walk_slice=self.slice_pages,
            pause=rest,
        )
        for batch in batches:
            lines.extend(batch.lines)
            items += batch.items
            # Each slice is handed over as it is done: a view refreshes evenly,
            # not in bursts a take apart.
            self.on_lines(lines)
            lines = []
            rest()
            if self._stop.is_set():
                break
        if lines:  # nothing decoded: the skipped line alone
            self.on_lines(lines)
        if flat and work > 0:
            # A moving average: one slow take (a page fault, a GC) does not halve the cap.
            self.speed = 0.7 * self.speed + 0.3 * (decoded_bytes / work)
        self.pages_decoded += len(flat)
        self.bytes_decoded += decoded_bytes
        self._measure(decoded_bytes, items)
        if self.on_sampled is not None:
            self.on_sampled(decoded_bytes, skipped_bytes)

    def _rest(self, since: float, cpu_since: float) -> float:
        """Rest in proportion to the work done since ``since`` (see ``duty``), which
        also lets the reader and the UI have the GIL; the seconds of work (wall).

        The rest follows this thread's CPU time, not the wall clock's: the wall time
        of a slice includes the waits for the GIL while the UI and the reader held
        it, and resting for their work too made the decoder hand lines over late
        and seldom (a view moving 10 to 18 times a second under every-event load)."""
        spent = time.perf_counter() - since
        cpu = time.thread_time() - cpu_since
        if self.duty < 1:
            self._stop.wait(cpu * (1 - self.duty) / self.duty)
        else:
            time.sleep(0)
        return spent

    def _measure(self, decoded_bytes: int, items: int) -> None:
        if decoded_bytes and items > 1:
            per = decoded_bytes / items
            self._bytes_per_event = 0.8 * self._bytes_per_event + 0.2 * max(per, 8.0)
