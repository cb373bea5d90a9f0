"""One ring-buffer page (a "sub-buffer" since 6.8) as ``trace_pipe_raw`` hands it out.

A page is a header (time stamp, commit) and ``commit`` bytes of records. Each
record starts with a 32-bit word: ``type_len`` (low bits) and ``time_delta``
(high bits), as ``events/header_event`` says. ``type_len`` 1..data_max is a data
record of ``type_len * 4`` bytes; 0 is a data record whose length is in the
next word; the three highest values are padding (a discarded record, or the
rest of the page), a time extend and an absolute time stamp.

The commit word's top bits say the kernel dropped records before this page
(RB_MISSED_EVENTS) and whether it stored how many after the data
(RB_MISSED_STORED): that count is the raw path's ``[LOST n EVENTS]``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator, List, NamedTuple, Optional

from ftop.engine.raw.format import PageHeader, RecordHeader

__all__ = ["Layout", "PageInfo", "Record", "page_info", "records", "split_pages"]

# The absolute time stamp keeps 59 bits; the top bits come from the page's stamp
# (ring_buffer.c, rb_fix_abs_ts).
_TS_MSB = 0xF << 59


@dataclass(frozen=True)
class Layout:
    """What the decoder needs from the header files, and the byte order of the pages."""

    page: PageHeader
    record: RecordHeader
    endian: str = "<"

    @property
    def page_size(self) -> int:
        return self.page.page_size


class Record(NamedTuple):
    """A data record: its time stamp (trace clock units), the record's bytes (from
    ``common_type`` on), and its CPU."""

    ts: int
    data: bytes
    cpu: int

    @property
    def type_id(self) -> int:
        return int.from_bytes(self.data[:2], "little") if self.data else -1


class PageInfo(NamedTuple):
    ts: int  # the page's base time stamp
    size: int  # bytes of records
    missed: Optional[int]  # None: nothing lost before this page; -1: lost, count unknown


def page_info(buf: bytes, layout: Layout) -> PageInfo:
    ph = layout.page
    e = layout.endian
    ts = int.from_bytes(
        buf[ph.timestamp_offset : ph.timestamp_offset + ph.timestamp_size],
        "little" if e == "<" else "big",
    )
    commit = int.from_bytes(
        buf[ph.commit_offset : ph.commit_offset + ph.commit_size],
        "little" if e == "<" else "big",
    )
    size = commit & PageHeader.COMMIT_MASK
    size = min(size, len(buf) - ph.data_offset, ph.data_size)
    missed: Optional[int] = None
    if commit & PageHeader.MISSED_EVENTS:
        missed = -1
        if commit & PageHeader.MISSED_STORED:
            at = ph.data_offset + size
            word = ph.commit_size
            if at + word <= len(buf):
                missed = int.from_bytes(buf[at : at + word], "little" if e == "<" else "big")
    return PageInfo(ts, size, missed)


def records(buf: bytes, layout: Layout, cpu: int = 0) -> Iterator[Record]:
    """Every data record of one page, with its absolute time stamp. A malformed
    record (a length running past the commit) ends the page instead of raising:
    the page came from a file or a kernel ftop does not control."""
    rh = layout.record
    info = page_info(buf, layout)
    ts = info.ts
    start = layout.page.data_offset
    end = start + info.size
    pos = start
    e = layout.endian
    u32 = struct.Struct(e + "I")
    type_mask = (1 << rh.type_len_bits) - 1
    shift = rh.type_len_bits
    dmax = rh.data_max_type_len
    pad, ext, abs_ts = rh.padding, rh.time_extend, rh.time_stamp
    unpack = u32.unpack_from
    delta_bits = rh.time_delta_bits
    while pos + 4 <= end:
        (word,) = unpack(buf, pos)
        type_len = word & type_mask
        delta = word >> shift
        if type_len == 0:
            if pos + 8 > end:
                return
            (length,) = unpack(buf, pos + 4)
            # The length word counts itself; the payload is 4-byte aligned.
            length = (length - 4 + 3) & ~3
            data_at = pos + 8
            nxt = data_at + length
            if length <= 0 or nxt > end:
                return
            ts += delta
            yield Record(ts, bytes(buf[data_at:nxt]), cpu)
            pos = nxt
        elif type_len <= dmax:
            data_at = pos + 4
            nxt = data_at + type_len * 4
            if nxt > end:
                return
            ts += delta
            yield Record(ts, bytes(buf[data_at:nxt]), cpu)
            pos = nxt
        elif type_len == pad:
            if pos + 8 > end:
                return
            (length,) = unpack(buf, pos + 4)
            if delta == 0 and length == 0:
                return  # the rest of the page is empty
            ts += delta  # a discarded record still carries its time
            nxt = pos + 4 + length
            if nxt <= pos:
                return
            pos = nxt
        elif type_len == ext:
            if pos + 8 > end:
                return
            (hi,) = unpack(buf, pos + 4)
            ts += (hi << delta_bits) + delta
            pos += 8
        elif type_len == abs_ts:
            if pos + 8 > end:
                return
            (hi,) = unpack(buf, pos + 4)
            stamp = (hi << delta_bits) | delta
            if info.ts & _TS_MSB:
                stamp |= info.ts & _TS_MSB
                if stamp < info.ts:
                    stamp += 1 << 59
            ts = stamp
            pos += 8
        else:
            return


def split_pages(blob: bytes, page_size: int) -> List[bytes]:
    """A read of ``trace_pipe_raw`` (or a trace.dat CPU section) cut into pages."""
    return [blob[i : i + page_size] for i in range(0, len(blob) - page_size + 1, page_size)]
