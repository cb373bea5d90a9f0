"""A trace.dat as the kernel's text: what ``ftop FILE.dat`` and ``ftop stream
--input FILE.dat`` show.

The file carries what rendering needs (header files, formats, kallsyms,
printk formats, cmdlines, the clock, the kernel's uname); the pages go through
the same decoder and renderer as the live raw stream. Records are merged
across CPUs by time stamp, ties to the lower CPU, as ``trace-cmd report``
orders them; a page the kernel flagged gives the ``CPU:n [LOST m EVENTS]``
line. A file with function_graph records is shown as the graph tracer's tree.
"""

from __future__ import annotations

import heapq
from typing import Dict, Iterator, List, Optional

from ftop.engine.raw.format import EventFormat, FormatError, parse_format
from ftop.engine.raw.render import (
    TextOptions,
    current_clock,
    flag_style_for,
    syscall_style_for,
)
from ftop.engine.raw.stream import Item, RawSource, page_items, render_items
from ftop.engine.raw.symbols import Tasks
from ftop.engine.tracedat.read import TraceDat

__all__ = ["source_of", "text_batches"]


def _release(td: TraceDat) -> str:
    # The UNAME option: "Linux host 6.1.0-57-rt-amd64 #1 SMP ..." (release third).
    parts = (td.uname or "").split()
    return parts[2] if len(parts) >= 3 else ""


def source_of(td: TraceDat) -> RawSource:
    formats: Dict[int, EventFormat] = {}
    for system, text in td.formats:
        try:
            f = parse_format(text, system)
        except FormatError:
            continue
        formats[f.id] = f
    release = _release(td)
    lazy = any("common_preempt_lazy_count" in f.by_name for f in formats.values())
    # trace.dat does not keep trace_options: the kernel's defaults.
    options = TextOptions(
        clock=current_clock(td.trace_clock or f"[{td.clock}]"),
        flag_style=flag_style_for(release, lazy),
        syscall_style=syscall_style_for(release),
    )
    tasks = Tasks.parse(td.cmdlines)
    src = RawSource(
        td.layout,
        formats,
        list(td.formats),
        td.kallsyms,
        td.printk_formats,
        options,
        tasks,
        release,
    )
    graph_ids = {
        f.id for f in formats.values() if f.system == "ftrace" and f.name.startswith("funcgraph_")
    }
    src.ncpus = max(td.cpu_count, len(td.cpus), 1)
    src.tracer = "function_graph" if _has_ids(td, graph_ids) else "nop"
    return src


def _has_ids(td: TraceDat, ids: set[int], sample: int = 2000) -> bool:
    if not ids:
        return False
    for n, rec in enumerate(td.records()):
        if rec.type_id in ids:
            return True
        if n >= sample:
            break
    return False


def text_batches(
    td: TraceDat,
    batch: int = 20000,
    buffer: Optional[str] = None,
    source: Optional[RawSource] = None,
) -> Iterator[List[str]]:
    """The file's text in batches of about ``batch`` records."""
    src = source if source is not None else source_of(td)
    renderer = src.renderer()
    graph = src.graph(renderer)
    layout = td.layout

    def cpu_items(cpu: int) -> Iterator[Item]:
        for page in td.pages(cpu, buffer):
            yield from page_items([page], layout, cpu)

    merged = heapq.merge(*(cpu_items(c) for c in td.cpus), key=lambda t: (t[0], t[1], t[2]))
    chunk: List[Item] = []
    for it in merged:
        chunk.append(it)
        if len(chunk) >= batch:
            yield render_items(renderer, graph, chunk)
            chunk = []
    if chunk:
        yield render_items(renderer, graph, chunk)
