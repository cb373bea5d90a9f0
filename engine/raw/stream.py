"""The raw pipeline as a drop-in for the text one: pages in, the kernel's text out.

:class:`RawSource` gathers what decoding needs from a tracefs (the header
files, every event's format, kallsyms, printk_formats, saved_cmdlines, the
options that shape a line). :class:`RawPipe` has the surface of
:class:`~ftop.engine.stream.trace_pipe.TracePipeReader` (``start``, ``stop``,
``running``, ``error``, ``lines_read``): the session and ``ftop stream`` use
either. After each pass over the CPUs it merges their records by time stamp,
as ``trace_pipe`` does with what it has, and renders them; a page the kernel
flagged gives ``CPU:n [LOST m EVENTS]`` before its first record, the line
``trace_pipe`` prints.

:func:`raw_unavailable` says why a tracefs cannot be read raw (then the text
path is used and the reason is shown).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ftop.engine.raw.behind import BehindDecoder
from ftop.engine.raw.format import (
    EventFormat,
    FormatError,
    parse_format,
    parse_header_event,
    parse_header_page,
)
from ftop.engine.raw.graph import GraphOptions, GraphRenderer
from ftop.engine.raw.page import Layout
from ftop.engine.raw.page_ring import PageRing
from ftop.engine.raw.page_text import Item, page_items, render_items, render_pages
from ftop.engine.raw.render import (
    FlagStyle,
    Renderer,
    TextOptions,
    current_clock,
    flag_style_for,
    syscall_style_for,
)
from ftop.engine.raw.symbols import Kallsyms, PrintkFormats, Tasks
from ftop.engine.raw.trace_pipe_raw import RawReader, online_cpus

# Item, page_items and render_items live in page_text; named here too for the callers
# that read pages with a RawSource (trace.dat text, the oracle tests).
__all__ = ["Item", "RawPipe", "RawSource", "page_items", "raw_unavailable", "render_items"]

BatchHandler = Callable[[Sequence[str]], None]


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return default


def raw_unavailable(events: Path, per_cpu: Path) -> Optional[str]:
    """None when the raw path works here, else why not (shown beside "text")."""
    try:
        parse_header_page((events / "header_page").read_text())
        parse_header_event((events / "header_event").read_text())
    except OSError as e:
        return f"events/header_page unreadable: {e.strerror}"
    except FormatError as e:
        return str(e)
    if not online_cpus(per_cpu):
        return "no per_cpu/cpuN/trace_pipe_raw"
    # trace_print_lat_context's columns need each record's distance to the next,
    # which a stream cannot know yet; the kernel's text has them.
    if _read(per_cpu.parent / "options" / "latency-format").strip() == "1":
        return "options/latency-format is on (its columns come from the kernel's text)"
    return None


@dataclass
class RawSource:
    """What turns this kernel's pages into its text."""

    layout: Layout
    formats: Dict[int, EventFormat]
    format_texts: List[Tuple[str, str]]  # (system, text) as read: trace.dat stores them
    kallsyms_text: str
    printk_text: str
    options: TextOptions
    tasks: Tasks = field(default_factory=Tasks)
    release: str = ""
    tracer: str = "nop"
    trace_options: str = ""
    ncpus: int = 1
    # Where to look for events made later (None for a file: its formats are all).
    events_dir: Optional[Path] = None
    _searched_at: float = 0.0
    # Parsed once per source (a tracer switch makes a new renderer, not new symbols):
    # parsing kallsyms takes as long as reading every format.
    _symbols: Optional[Kallsyms] = None
    _printk: Optional[PrintkFormats] = None

    def read_options(self, where: Path) -> None:
        """The options, clock and tracer that shape the text, read again (they change
        between two streams; formats and symbols do not)."""
        lazy = self.options.flag_style == FlagStyle.RT_LAZY
        self.trace_options = _read(where / "trace_options")
        self.options = TextOptions.from_trace_options(
            self.trace_options,
            clock=current_clock(_read(where / "trace_clock", "[local]")),
            flag_style=flag_style_for(self.release, lazy),
            syscall_style=syscall_style_for(self.release),
        )
        self.tracer = _read(where / "current_tracer", "nop").strip() or "nop"
        self.ncpus = max(1, len(online_cpus(where / "per_cpu")))

    @classmethod
    def from_tracefs(
        cls, top: Path, instance: Optional[Path] = None, release: str = ""
    ) -> RawSource:
        """``top`` is the mount (formats, kallsyms-like files live there);
        ``instance`` the folder being traced (its options and clock)."""
        where = instance or top
        events = top / "events"
        layout = Layout(
            parse_header_page(_read(events / "header_page")),
            parse_header_event(_read(events / "header_event")),
        )
        texts: List[Tuple[str, str]] = []
        formats: Dict[int, EventFormat] = {}
        for fmt_path in sorted(events.glob("*/*/format")):
            system = fmt_path.parent.parent.name
            text = _read(fmt_path)
            try:
                f = parse_format(text, system)
            except FormatError:
                continue
            texts.append((system, text))
            formats[f.id] = f
        kallsyms = usable_kallsyms(_read(Path("/proc/kallsyms")), top)
        printk = _read(top / "printk_formats")
        if not release:
            release = _read(Path("/proc/sys/kernel/osrelease")).strip()
        lazy = any("common_preempt_lazy_count" in f.by_name for f in formats.values())
        # Only the flag style is known here; read_options() below reads the rest.
        options = TextOptions(flag_style=flag_style_for(release, lazy))
        tasks = Tasks.parse(_read(top / "saved_cmdlines"), _read(top / "saved_tgids"))
        src = cls(layout, formats, texts, kallsyms, printk, options, tasks, release)
        src.events_dir = events
        src.read_options(where)
        return src

    def irq_text(self) -> Optional[Tuple[int, int]]:
        """Where the kernel's irq entry code is (function_graph's ==========> marks)."""
        found: Dict[str, int] = {}
        for name in ("__irqentry_text_start", "__irqentry_text_end"):
            at = self.kallsyms_text.find(" " + name + "\n")
            if at < 0:
                return None
            line_start = self.kallsyms_text.rfind("\n", 0, at) + 1
            found[name] = int(self.kallsyms_text[line_start : line_start + 16].split()[0], 16)
        return found["__irqentry_text_start"], found["__irqentry_text_end"]

    def graph(self, base: Renderer) -> Optional[GraphRenderer]:
        if self.tracer != "function_graph":
            return None
        return GraphRenderer(
            base, GraphOptions.from_trace_options(self.trace_options), self.ncpus, self.irq_text()
        )

    def find_format(self, tid: int, now_anyway: bool = False) -> Optional[EventFormat]:
        """The format of an event made since the formats were read (a probe, a
        synthetic event), found by its id; at most one search a second unless
        ``now_anyway``."""
        if self.events_dir is None:
            return None
        now = time.monotonic()
        if now - self._searched_at < 1.0 and not now_anyway:
            return None
        self._searched_at = now
        known = {(f.system, f.name) for f in self.formats.values()}
        for id_path in self.events_dir.glob("*/*/id"):
            system, name = id_path.parent.parent.name, id_path.parent.name
            if (system, name) in known:
                continue
            text = _read(id_path.parent / "format")
            try:
                f = parse_format(text, system)
            except FormatError:
                continue
            self.formats[f.id] = f
            self.format_texts.append((system, text))
        return self.formats.get(tid)

    def renderer(self) -> Renderer:
        if self._symbols is None:
            self._symbols = Kallsyms.from_kallsyms(self.kallsyms_text)
        if self._printk is None:
            self._printk = PrintkFormats(self.printk_text)
        return Renderer(
            find_format=self.find_format,
            formats=self.formats,
            symbols=self._symbols,
            tasks=self.tasks,
            printk=self._printk,
            options=self.options,
            endian=self.layout.endian,
        )


# A line with a non-zero address: kallsyms is readable (its first lines, the per-CPU
# symbols, are at 0 even then; with kptr_restrict every line is).
_SHOWN = re.compile(r"^0*[1-9a-fA-F][0-9a-fA-F]* ", re.MULTILINE)


def usable_kallsyms(text: str, top: Path) -> str:
    """``/proc/kallsyms``, or where kptr_restrict hides its addresses (all zero),
    ``available_filter_functions_addrs`` (6.5+) written in kallsyms' form: it lists
    only the traceable functions, but with real addresses, which is what function
    and function_graph records need."""
    if _SHOWN.search(text, 0, 1 << 16):
        return text
    addrs = _read(top / "available_filter_functions_addrs")
    if not addrs:
        return text
    out = []
    for line in addrs.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            mod = f"\t{parts[2]}" if len(parts) > 2 else ""
            out.append(f"{parts[0]} t {parts[1]}{mod}")
    return "\n".join(out) + "\n"


class RawPipe:
    """Reads ``trace_pipe_raw`` and hands over the kernel's text, like TracePipeReader."""

    kind = "raw"

    def __init__(
        self,
        top: Path,
        where: Path,
        on_batch: Optional[BatchHandler],
        on_bytes: Optional[Callable[[bytes], None]] = None,
        on_pages: Optional[Callable[[int, List[bytes]], None]] = None,
        poll_interval: float = 0.1,
        on_error: Optional[Callable[[OSError], None]] = None,
        source: Optional[RawSource] = None,
        source_factory: Optional[Callable[[], RawSource]] = None,
        layout: Optional[Layout] = None,
        tasks_refresh_s: float = 1.0,
        keep_pages: Optional[PageRing] = None,
        behind: bool = False,
        on_sampled: Optional[Callable[[int, int], None]] = None,
    ) -> None:
        self.top = top
        # The pages as read, for a save as trace.dat.
        self.keep_pages = keep_pages
        self.where = where
        self.on_batch = on_batch
        self.on_bytes = on_bytes
        self.on_pages_cb = on_pages
        self.on_error = on_error
        # Formats and kallsyms take a few tenths of a second to read: with a factory
        # they are read on the reader's thread, not the caller's (a UI's first frame).
        self._factory = source_factory or (lambda: RawSource.from_tracefs(top, where))
        self._source = source
        self._renderer: Optional[Renderer] = None
        self._graph: Optional[GraphRenderer] = None
        # A source given ready-made was read for this stream; one from the factory
        # may be a cached one: its options are read again.
        self._fresh_options = source is None
        if layout is None:
            layout = source.layout if source is not None else self._layout_of(top)
        self.layout = layout
        # The pages of the pass under way, (cpu, page), rendered at its end.
        self._pending: List[Tuple[int, bytes]] = []
        self._tasks_at = 0.0
        self.tasks_refresh_s = tasks_refresh_s
        self.lines_read = 0
        self.bytes_read = 0
        self.records_read = 0
        self.lost: Dict[int, int] = {}
        self.lost_unknown = 0
        # Set when the kernel overwrote records this reader had not taken yet, after
        # its first pass (what was lost before ftop started is not its doing): the
        # decoder is slower than the trace, and the kernel's own text would keep more.
        self.fell_behind = 0
        self._passes = 0
        self._reader = RawReader(
            where / "per_cpu",
            layout.page_size,
            self._on_pages,
            poll_interval=poll_interval,
            on_error=self._on_error,
            on_cycle=self._flush,
            # What is left stays in the kernel buffer for the next reader (a tracer
            # switch restarts the stream): stopping must not wait on decoding it.
            drain_on_stop=False,
        )
        # With ``behind`` (a live view), pages are rendered on a thread of their own,
        # skipping the oldest when it cannot keep up (see ftop.engine.raw.behind);
        # without (``ftop stream``), every record is rendered on the reader's thread.
        self._behind: Optional[BehindDecoder] = None
        if behind:
            self._behind = BehindDecoder(
                layout,
                self._walk,
                self._render_behind,
                self._emit,
                self._count_lost,
                on_sampled=on_sampled,
                # The formats and kallsyms, read before the first events need them.
                prepare=self._prepare_renderer,
            )

    @staticmethod
    def _layout_of(top: Path) -> Layout:
        events = top / "events"
        return Layout(
            parse_header_page(_read(events / "header_page")),
            parse_header_event(_read(events / "header_event")),
        )

    @property
    def source(self) -> RawSource:
        if self._source is None:
            self._source = self._factory()
        return self._source

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            src = self.source
            if self._fresh_options:
                src.read_options(self.where)
            self._renderer = src.renderer()
            self._graph = src.graph(self._renderer)
        return self._renderer

    def _prepare_renderer(self) -> None:
        self.renderer  # noqa: B018 (built, on the decoder's thread)

    # TracePipeReader's surface
    @property
    def running(self) -> bool:
        dec = self._behind
        return self._reader.running and (dec is None or dec.running)

    @property
    def error(self) -> Optional[OSError]:
        return self._reader.error

    @property
    def pages_read(self) -> int:
        return self._reader.pages_read

    def start(self) -> None:
        if self._behind is not None:
            self._behind.start()
        self._reader.start()

    def stop(self, timeout: float = 10.0) -> bool:
        stopped = self._reader.stop(timeout)
        if self._behind is not None:
            stopped = self._behind.stop(timeout) and stopped
        return stopped

    @property
    def pages_skipped(self) -> int:
        return self._behind.pages_skipped if self._behind is not None else 0

    @property
    def sampled(self) -> Tuple[int, int]:
        """(pages decoded, pages skipped) by a live view's decoder; (0, 0) otherwise."""
        dec = self._behind
        return (dec.pages_decoded, dec.pages_skipped) if dec is not None else (0, 0)

    @property
    def rendered_raw(self) -> int:
        # Asked by the status band on the UI's loop: it must not build the renderer
        # (every event's format read, about a second on a desktop kernel; the first
        # frame waited for it). Nothing was rendered before there is one.
        r = self._renderer
        return r.rendered_raw if r is not None else 0

    def _on_error(self, e: OSError) -> None:
        if self.on_error is not None:
            self.on_error(e)

    def _on_pages(self, cpu: int, pages: List[bytes]) -> None:
        if self.on_pages_cb is not None:
            self.on_pages_cb(cpu, pages)
        if self.keep_pages is not None:
            self.keep_pages.extend(cpu, pages)
        if self.on_batch is None and self.on_bytes is None:
            return
        if self._behind is not None:
            self._behind.put(cpu, pages)
            return
        self._pending.extend((cpu, p) for p in pages)

    def _count_lost(self, cpu: int, missed: int) -> None:
        if missed < 0:
            self.lost_unknown += 1
        else:
            self.lost[cpu] = self.lost.get(cpu, 0) + missed
        # Behind a live view's decoder this runs later than the read: the pages of
        # the first pass cannot be told apart, and falling behind is the decoder's
        # to handle (it skips), not a reason to go over to text.
        if self._passes > 1 and self._behind is None:
            self.fell_behind += max(missed, 1)

    def _refresh_tasks(self) -> None:
        now = time.monotonic()
        if now - self._tasks_at >= self.tasks_refresh_s:
            self._tasks_at = now
            self.renderer.tasks.update(
                _read(self.top / "saved_cmdlines"),
                _read(self.top / "saved_tgids") if self.renderer.options.record_tgid else "",
            )
            self.renderer.tasks_changed()

    def _flush(self) -> None:
        if self._behind is not None:
            self._passes += 1
            self._behind.cycle()
            return
        self._refresh_tasks()
        pend, self._pending = self._pending, []
        if pend:
            # One batch: the whole pass merged by time, as trace_pipe merges it.
            for batch in render_pages(pend, self._walk_counting, self._render):
                self.records_read += batch.records
                self._emit(batch.lines)
        # After the walk, as when pages were walked on arrival: _count_lost judges this
        # pass's loss flags by the passes before it.
        self._passes += 1

    def _walk_counting(self, cpu: int, pages: Sequence[bytes]) -> List[Item]:
        return page_items(pages, self.layout, cpu, self._count_lost)

    def _render(self, items: Sequence[Item]) -> List[str]:
        return render_items(self.renderer, self._graph, items)

    # The behind decoder's two steps (on its thread).
    def _walk(self, cpu: int, pages: Sequence[bytes]) -> List[Item]:
        # Its loss flags were counted by the decoder, decoded or not.
        return page_items(pages, self.layout, cpu)

    def _render_behind(self, items: Sequence[Item]) -> List[str]:
        self._refresh_tasks()
        self.records_read += sum(t[2] for t in items)
        return self._render(items)

    def _emit(self, lines: List[str]) -> None:
        self.lines_read += len(lines)
        if self.on_bytes is not None:
            data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
            self.bytes_read += len(data)
            self.on_bytes(data)
        if self.on_batch is not None:
            self.on_batch(lines)
