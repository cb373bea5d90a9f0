"""Raw pages to the kernel's text lines: the one place the pages of several CPUs are
merged by time stamp and rendered, for the live stream, its decoder thread and a save.

A page's records become sortable :data:`Item` s (:func:`page_items`); a page the
kernel flagged gives ``CPU:n [LOST m EVENTS]`` before its first record, the line
``trace_pipe`` prints. :func:`render_pages` merges the items of a window of pages
as ``trace_pipe`` merges what it has, and renders them (:func:`render_items`) in
batches.
"""

from __future__ import annotations

from typing import Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from ftop.engine.raw.graph import GraphRenderer
from ftop.engine.raw.page import Layout, Record, page_info, records
from ftop.engine.raw.render import Renderer

__all__ = ["Batch", "Item", "lost_line", "page_items", "render_items", "render_pages"]

# (time stamp, cpu, 0 for a LOST note / 1 for a record, record, note): sorting
# these merges CPUs as trace_pipe does, a page's LOST note before its records.
Item = Tuple[int, int, int, Optional[Record], Optional[str]]
# The items (records, LOST notes) of some pages of one CPU.
WalkPages = Callable[[int, Sequence[bytes]], List[Item]]
# Items already in time order to text lines.
RenderItems = Callable[[Sequence[Item]], List[str]]


def lost_line(cpu: int, missed: int) -> str:
    return f"CPU:{cpu} [LOST EVENTS]" if missed < 0 else f"CPU:{cpu} [LOST {missed} EVENTS]"


def page_items(
    pages: Sequence[bytes],
    layout: Layout,
    cpu: int,
    on_lost: Optional[Callable[[int, int], None]] = None,
) -> List[Item]:
    out: List[Item] = []
    for p in pages:
        info = page_info(p, layout)
        first = True
        for rec in records(p, layout, cpu):
            if first and info.missed is not None:
                out.append((rec.ts, cpu, 0, None, lost_line(cpu, info.missed)))
                if on_lost is not None:
                    on_lost(cpu, info.missed)
            first = False
            out.append((rec.ts, cpu, 1, rec, None))
        if first and info.missed is not None:
            out.append((info.ts, cpu, 0, None, lost_line(cpu, info.missed)))
            if on_lost is not None:
                on_lost(cpu, info.missed)
    return out


def render_items(
    renderer: Renderer, graph: Optional[GraphRenderer], items: Sequence[Item]
) -> List[str]:
    """The text lines of items already in time order."""
    seq = [rec if rec is not None else (note or "") for _, _, _, rec, note in items]
    if graph is not None:
        return graph.lines(seq)
    text = renderer.text
    lines: List[str] = []
    for it in seq:
        if isinstance(it, str):
            lines.append(it)
            continue
        out = text(it)
        if "\n" in out:
            lines.extend(out.split("\n"))
        else:
            lines.append(out)
    return lines


class Batch(NamedTuple):
    """Lines rendered in one go, and what they came from."""

    lines: List[str]
    items: int  # records and LOST notes
    records: int


def render_pages(
    pages: Sequence[Tuple[int, bytes]],
    walk: WalkPages,
    render: RenderItems,
    *,
    window: int = 0,
    slice_items: int = 0,
    walk_slice: int = 0,
    pause: Optional[Callable[[], None]] = None,
) -> Iterator[Batch]:
    """The text of ``(cpu, page)`` pairs, each CPU's pages in their order, in batches.

    The records of ``window`` pages at a time (0: all of them) are merged by time
    stamp, ties to the lower CPU and a LOST note first, as ``trace_pipe`` merges what
    it has. A window is rendered in one batch, or ``slice_items`` items a batch; an
    unsliced window gives its batch even when empty (the caller's loop sees every
    window). ``walk`` (the items of one page, usually :func:`page_items`) and ``render``
    (usually :func:`render_items` with the caller's renderer, which keeps the graph
    tracer's state from one batch to the next) are the caller's, so that it can count
    what they see. ``pause`` is called after every ``walk_slice`` pages walked (and the
    last few): a decoding thread lets others have the GIL there; between batches, the
    caller is in control anyway. Lazy: a caller that stops iterating stops the work.
    """
    step = window or len(pages)
    for start in range(0, len(pages), step or 1):
        chunk = pages[start : start + step]
        items: List[Item] = []
        per_walk = walk_slice or len(chunk)
        for i in range(0, len(chunk), per_walk):
            for cpu, page in chunk[i : i + per_walk]:
                items.extend(walk(cpu, (page,)))
            if pause is not None:
                pause()
        items.sort(key=lambda t: (t[0], t[1], t[2]))
        if not slice_items:
            yield Batch(render(items), len(items), sum(t[2] for t in items))
            continue
        for i in range(0, len(items), slice_items):
            part = items[i : i + slice_items]
            yield Batch(render(part), len(part), sum(t[2] for t in part))
