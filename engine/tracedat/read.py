"""Reading a trace-cmd ``trace.dat`` (file versions 6 and 7).

Every size and offset the file states is checked against the file's length
before anything is read or allocated, so a truncated or hostile file ends in a
``TraceDatError`` of one line, never in a traceback or a huge allocation.

v6 is one sequential header (header_page, header_event, ftrace and event
formats, kallsyms, printk formats, saved cmdlines, CPU count, options, then
"flyrecord" and a (offset, size) per CPU). v7 is a set of sections found
through chained OPTIONS sections; any of them but the options may be
compressed, and each CPU's ring-buffer data is compressed in chunks of pages.

One piece on purpose (about 740 lines): v6 and v7 share every section reader and
the one bounds-checking cursor that keeps a hostile file from reading past its
end; split, each half would need the cursor's invariants restated.
"""

from __future__ import annotations

import heapq
import os
import struct
from dataclasses import dataclass, field
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
)

from ftop.engine.raw.format import (
    EventFormat,
    FormatError,
    parse_format,
    parse_header_event,
    parse_header_page,
)
from ftop.engine.raw.page import Layout, Record, records
from ftop.engine.tracedat import common as c
from ftop.engine.tracedat.common import MAGIC, Codec, TraceDatError, split_cstr

__all__ = ["Buffer", "CpuData", "TraceDat"]

# Longest NUL-terminated string read straight from the file header (version,
# compression name and version).
_SHORT_STR = 64


@dataclass(frozen=True)
class CpuData:
    """Where one CPU's ring-buffer pages are: file offset and size in the file
    (the compressed size, chunk table included, for a compressed v7 buffer)."""

    cpu: int
    offset: int
    size: int


@dataclass(frozen=True)
class Buffer:
    """One trace buffer of the file: the top one (name "") or an instance."""

    name: str
    clock: str  # "local", ... ("" when the file does not say)
    page_size: int
    cpus: Tuple[CpuData, ...] = ()
    compressed: bool = False
    latency: bool = False  # a BUFFER_TEXT / "latency" buffer: text, no pages
    offset: int = 0  # where its flyrecord (v6) or section header (v7) is
    cpu_count: Optional[int] = None  # v6: the CPUCOUNT option that followed it
    # v7: where its section ends. Compressed CPU data is read up to here, not only
    # up to the CPU's stated size: trace-cmd 3.1 states 4 bytes short (it leaves
    # out the chunk count), and its own reader follows the chunk table.
    end: int = 0


class _Cursor:
    """Sequential little/big-endian reads over a file or a byte string, every read
    checked against the end."""

    def __init__(
        self,
        fetch: Callable[[int, int], bytes],
        end: int,
        endian: str,
        pos: int = 0,
        what: str = "",
    ) -> None:
        self._fetch = fetch
        self.end = end
        self.endian = endian
        self.pos = pos
        self.what = what

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.end:
            left = max(0, self.end - self.pos)
            raise TraceDatError(
                f"truncated or corrupt trace.dat: {what} needs {n} bytes at offset "
                f"{self.pos}{self.what}, {left} left"
            )

    def read(self, n: int, what: str) -> bytes:
        self.need(n, what)
        b = self._fetch(self.pos, n)
        if len(b) != n:
            raise TraceDatError(f"truncated trace.dat: short read of {what} at offset {self.pos}")
        self.pos += n
        return b

    def u16(self, what: str) -> int:
        return int(struct.unpack(self.endian + "H", self.read(2, what))[0])

    def u32(self, what: str) -> int:
        return int(struct.unpack(self.endian + "I", self.read(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack(self.endian + "Q", self.read(8, what))[0])

    def cstr(self, what: str, limit: int = 4096) -> str:
        out = bytearray()
        while True:
            chunk = self.read(min(64, max(1, self.end - self.pos)), what)
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                self.pos -= len(chunk) - nul - 1
                break
            out += chunk
            if len(out) > limit:
                raise TraceDatError(f"corrupt trace.dat: {what} is not a short string")
        return out.decode("utf-8", "surrogateescape")

    def text(self, n: int, what: str) -> str:
        return _text(self.read(n, what))


def _text(b: bytes) -> str:
    """A stored file's text: up to a trailing NUL (options carry one)."""
    b = bytes(b)
    nul = b.find(b"\0")
    if nul >= 0:
        b = b[:nul]
    return b.decode("utf-8", "surrogateescape")


def _bytes_cursor(data: bytes, endian: str, what: str) -> _Cursor:
    return _Cursor(lambda off, n: data[off : off + n], len(data), endian, 0, f" of {what}")


@dataclass
class _Options:
    raw: List[Tuple[int, bytes]] = field(default_factory=list)


class TraceDat:
    """A parsed trace.dat. Open with ``TraceDat.open(path)`` (a context manager too);
    metadata is read at once, ring-buffer pages when asked for."""

    version: int
    endian: str
    long_size: int
    page_size: int
    compression: Optional[Tuple[str, str]]  # (name, version), None if not compressed
    header_page: str
    header_event: str
    layout: Layout
    formats: List[Tuple[str, str]]  # (system, format text); ftrace's under "ftrace"
    kallsyms: str
    printk_formats: str
    cmdlines: str
    cpu_count: int  # CPUs of the traced machine (v6 header / CPUCOUNT option)
    options: List[Tuple[int, bytes]]  # every option as stored, in file order
    uname: Optional[str]
    trace_clock: Optional[str]  # the trace_clock file's text: "[local] global ..."
    clock: str  # the clock the top buffer's time stamps are in ("local" when unsaid)
    version_string: Optional[str]  # the VERSION option: the writer's version
    date: Optional[str]  # DATE option: offset to gettimeofday, "0x..." microseconds
    ts_offset_text: Optional[str]  # OFFSET option
    trace_id: Optional[int]
    tsc2nsec: Optional[Tuple[int, int, int]]  # (mult, shift, offset)
    cpustats: List[str]  # every CPUSTAT option's text, in order
    buffers: List[Buffer]
    path: str

    def __init__(self) -> None:  # use TraceDat.open()
        self._f: Optional[IO[bytes]] = None
        self._size = 0
        self._codec: Optional[Codec] = None
        self._by_id: Optional[Dict[int, EventFormat]] = None
        self.compression = None
        self.uname = None
        self.trace_clock = None
        self.clock = "local"
        self.version_string = None
        self.date = None
        self.ts_offset_text = None
        self.trace_id = None
        self.tsc2nsec = None
        self.cpustats = []
        self.buffers = []
        self.options = []
        self.formats = []
        self.kallsyms = ""
        self.printk_formats = ""
        self.cmdlines = ""
        self.header_page = ""
        self.header_event = ""
        self.cpu_count = 0
        self.path = ""
        self.latency_text: Optional[str] = None
        self.sections: List[Tuple[int, int, int, int, str]] = []  # (id, flags, offset, size, desc)

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> TraceDat:
        self = cls()
        self.path = os.fspath(path)
        try:
            self._f = open(self.path, "rb")  # noqa: SIM115 (kept open; close() closes it)
        except OSError as e:
            raise TraceDatError(f"cannot open {self.path}: {e.strerror or e}") from None
        try:
            self._size = os.fstat(self._f.fileno()).st_size
            self._parse()
        except TraceDatError as e:
            self.close()
            raise TraceDatError(f"{self.path}: {e}") from None
        except (OSError, ValueError, struct.error, OverflowError, MemoryError) as e:
            self.close()
            raise TraceDatError(f"{self.path}: unreadable trace.dat ({e})") from None
        return self

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> TraceDat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pread(self, off: int, n: int) -> bytes:
        if self._f is None:
            raise TraceDatError("the trace.dat is closed")
        return os.pread(self._f.fileno(), n, off)

    def _cursor(self, pos: int = 0, end: Optional[int] = None) -> _Cursor:
        return _Cursor(
            self._pread, self._size if end is None else end, getattr(self, "endian", "<"), pos
        )

    # -- the common header -----------------------------------------------------

    def _parse(self) -> None:
        cur = self._cursor()
        head = cur.read(len(MAGIC), "the magic")
        if head != MAGIC:
            raise TraceDatError("not a trace.dat file (no trace-cmd magic)")
        ver = cur.cstr("the file version", _SHORT_STR)
        if not ver.isdigit():
            raise TraceDatError(f"corrupt trace.dat: file version {ver!r}")
        self.version = int(ver)
        if self.version not in (6, 7):
            raise TraceDatError(f"trace.dat version {self.version}: ftop reads versions 6 and 7")
        flag = cur.read(1, "the endian flag")[0]
        if flag not in (0, 1):
            raise TraceDatError(f"corrupt trace.dat: endian flag {flag}")
        self.endian = "<" if flag == 0 else ">"
        cur.endian = self.endian
        self.long_size = cur.read(1, "the long size")[0]
        if self.long_size not in (4, 8):
            raise TraceDatError(f"corrupt trace.dat: long size {self.long_size}")
        self.page_size = cur.u32("the page size")
        if not 0 < self.page_size <= (1 << 24):
            raise TraceDatError(f"corrupt trace.dat: page size {self.page_size}")
        if self.version == 6:
            self._parse_v6(cur)
        else:
            self._parse_v7(cur)
        self._finish()

    def _finish(self) -> None:
        try:
            hp = parse_header_page(self.header_page)
            he = parse_header_event(self.header_event)
        except FormatError as e:
            raise TraceDatError(f"bad header_page/header_event: {e}") from None
        self.layout = Layout(hp, he, self.endian)
        for b in self.buffers:
            for cd in b.cpus:
                if cd.size and cd.offset + cd.size > self._size:
                    raise TraceDatError(
                        f"truncated trace.dat: CPU {cd.cpu} data of buffer {b.name!r} ends at "
                        f"{cd.offset + cd.size}, the file has {self._size} bytes"
                    )
        if not self.cpu_count:
            self.cpu_count = max((len(b.cpus) for b in self.buffers), default=0)

    # -- shared pieces ---------------------------------------------------------

    def _read_header_info(self, cur: _Cursor) -> None:
        if cur.read(12, "'header_page'") != b"header_page\0":
            raise TraceDatError("corrupt trace.dat: no 'header_page' where expected")
        n = cur.u64("the header_page size")
        self.header_page = cur.text(n, "header_page")
        if cur.read(13, "'header_event'") != b"header_event\0":
            raise TraceDatError("corrupt trace.dat: no 'header_event' where expected")
        n = cur.u64("the header_event size")
        self.header_event = cur.text(n, "header_event")

    def _read_ftrace(self, cur: _Cursor) -> None:
        count = cur.u32("the ftrace format count")
        cur.need(count * 8, f"{count} ftrace formats")
        for _ in range(count):
            n = cur.u64("an ftrace format size")
            self.formats.append(("ftrace", cur.text(n, "an ftrace format")))

    def _read_events(self, cur: _Cursor) -> None:
        systems = cur.u32("the event system count")
        cur.need(systems * 5, f"{systems} event systems")
        for _ in range(systems):
            name = cur.cstr("an event system name")
            count = cur.u32("an event count")
            cur.need(count * 8, f"{count} formats of {name}")
            for _ in range(count):
                n = cur.u64("an event format size")
                self.formats.append((name, cur.text(n, f"a format of {name}")))

    def _read_kallsyms(self, cur: _Cursor) -> None:
        self.kallsyms = cur.text(cur.u32("the kallsyms size"), "kallsyms")

    def _read_printk(self, cur: _Cursor) -> None:
        self.printk_formats = cur.text(cur.u32("the printk formats size"), "printk formats")

    def _read_cmdlines(self, cur: _Cursor) -> None:
        self.cmdlines = cur.text(cur.u64("the cmdlines size"), "saved cmdlines")

    def _option(self, opt: int, data: bytes, v6_buffers: List[Buffer]) -> None:
        e = self.endian
        self.options.append((opt, data))
        if opt == c.OPT_DATE:
            self.date = _text(data)
        elif opt == c.OPT_OFFSET:
            self.ts_offset_text = _text(data)
        elif opt == c.OPT_CPUSTAT:
            self.cpustats.append(_text(data))
        elif opt == c.OPT_TRACECLOCK:
            self.trace_clock = _text(data)
            sel = _selected_clock(self.trace_clock)
            if sel:
                self.clock = sel
        elif opt == c.OPT_UNAME:
            self.uname = _text(data)
        elif opt == c.OPT_VERSION:
            self.version_string = _text(data)
        elif opt == c.OPT_CPUCOUNT and len(data) >= 4:
            self.cpu_count = int(struct.unpack_from(e + "I", data)[0])
            if self.version == 6 and v6_buffers and v6_buffers[-1].cpu_count is None:
                b = v6_buffers[-1]
                v6_buffers[-1] = Buffer(
                    b.name, b.clock, b.page_size, offset=b.offset, cpu_count=self.cpu_count
                )
        elif opt == c.OPT_TRACEID and len(data) >= 8:
            self.trace_id = int(struct.unpack_from(e + "Q", data)[0])
        elif opt == c.OPT_TSC2NSEC and len(data) >= 16:
            mult, shift, off = struct.unpack_from(e + "IIQ", data)
            self.tsc2nsec = (int(mult), int(shift), int(off))
        elif opt in (c.OPT_BUFFER, c.OPT_BUFFER_TEXT):
            if self.version == 6:
                if len(data) < 9:
                    raise TraceDatError("corrupt trace.dat: a short BUFFER option")
                off = int(struct.unpack_from(e + "Q", data)[0])
                name, _ = split_cstr(data, 8, "a BUFFER option")
                v6_buffers.append(Buffer(name, "", self.page_size, offset=off))
            else:
                self.buffers.append(self._buffer_v7(opt, data))

    # -- version 6 ---------------------------------------------------------------

    def _parse_v6(self, cur: _Cursor) -> None:
        self._read_header_info(cur)
        self._read_ftrace(cur)
        self._read_events(cur)
        self._read_kallsyms(cur)
        self._read_printk(cur)
        self._read_cmdlines(cur)
        cpus = cur.u32("the CPU count")
        if cpus > 1 << 16:
            raise TraceDatError(f"corrupt trace.dat: {cpus} CPUs")
        self.cpu_count = cpus
        kind = cur.read(10, "the data kind")
        extra: List[Buffer] = []
        if kind.startswith(b"options"):
            while True:
                opt = cur.u16("an option id")
                if opt == c.OPT_DONE:
                    break
                n = cur.u32("an option size")
                self._option(opt, cur.read(n, f"option {opt}"), extra)
            kind = cur.read(10, "the data kind")
        use_clock = self.trace_clock is not None
        top = self._v6_data(cur, kind, "", cpus, use_clock)
        self.buffers.append(top)
        for b in extra:
            sub = self._cursor(b.offset)
            kind = sub.read(10, f"buffer {b.name!r}")
            n = b.cpu_count if b.cpu_count else cpus
            self.buffers.append(self._v6_data(sub, kind, b.name, n, use_clock))

    def _v6_data(self, cur: _Cursor, kind: bytes, name: str, cpus: int, use_clock: bool) -> Buffer:
        where = cur.pos - 10
        if kind.startswith(b"latency"):
            if not name:
                self.latency_text = _text(cur.read(self._size - cur.pos, "latency text"))
            return Buffer(name, self.clock, self.page_size, latency=True, offset=where)
        if not kind.startswith(b"flyrecord"):
            raise TraceDatError(f"corrupt trace.dat: {kind!r} where 'flyrecord' belongs")
        cur.need(cpus * 16, f"{cpus} CPU offsets")
        cds = []
        for cpu in range(cpus):
            off = cur.u64("a CPU data offset")
            size = cur.u64("a CPU data size")
            cds.append(CpuData(cpu, off, size))
        clock = self.clock
        if use_clock:
            # trace-cmd saves "[clock]" after the offsets (files from before that
            # fix may hold garbage here: then the clock stays as the option says).
            save = cur.pos
            try:
                n = cur.u64("the trace clock size")
                if n <= 4096:
                    found = _selected_clock(cur.text(n, "the trace clock"))
                    if found:
                        clock = found
            except TraceDatError:
                cur.pos = save
        if not name:
            self.clock = clock
        return Buffer(name, clock, self.page_size, tuple(cds), offset=where)

    # -- version 7 ---------------------------------------------------------------

    def _parse_v7(self, cur: _Cursor) -> None:
        zname = cur.cstr("the compression name", _SHORT_STR)
        zver = cur.cstr("the compression version", _SHORT_STR)
        if zname != "none":
            self.compression = (zname, zver)
            self._codec = c.codec(zname)
        first = cur.u64("the offset of the options")
        self._scan_sections(cur.pos)
        seen: Set[int] = set()
        at = first
        where: Dict[int, int] = {}
        while at:
            if at in seen or len(seen) > 4096:
                raise TraceDatError("corrupt trace.dat: the options sections loop")
            seen.add(at)
            sec_id, _flags, data = self._section(at, "an options section")
            if sec_id != c.OPT_DONE:
                raise TraceDatError(f"corrupt trace.dat: section {sec_id} where options belong")
            at = self._options_v7(data, where)
        if c.OPT_HEADER_INFO not in where:
            raise TraceDatError("corrupt trace.dat: no header_page/header_event section")
        for sec, reader in (
            (c.OPT_HEADER_INFO, self._read_header_info),
            (c.OPT_FTRACE_EVENTS, self._read_ftrace),
            (c.OPT_EVENT_FORMATS, self._read_events),
            (c.OPT_KALLSYMS, self._read_kallsyms),
            (c.OPT_PRINTK, self._read_printk),
            (c.OPT_CMDLINES, self._read_cmdlines),
        ):
            if sec not in where:
                continue
            sec_id, _flags, data = self._section(where[sec], f"section {sec}")
            if sec_id != sec:
                raise TraceDatError(f"corrupt trace.dat: section {sec_id} where {sec} belongs")
            reader(_bytes_cursor(data, self.endian, f"section {sec}"))
        top = [b for b in self.buffers if not b.name]
        if top:
            self.clock = top[0].clock or self.clock
        for b in self.buffers:
            if b.latency and not b.name:
                _, _, data = self._section(b.offset, "the latency text")
                self.latency_text = _text(data)

    def _scan_sections(self, pos: int) -> None:
        """Walk the sections laid end to end after the header, as trace-cmd does to
        find the STRINGS sections that name them. Stops at the first thing that is
        not a section header (the walk is informative; the options are the map)."""
        strings = b""
        found: List[Tuple[int, int, int, int, int]] = []
        while pos + 16 <= self._size and len(found) < 4096:
            hdr = self._pread(pos, 16)
            sec_id, flags, desc, size = struct.unpack(self.endian + "HHiQ", hdr)
            if sec_id >= 64 or pos + 16 + size > self._size:
                break
            found.append((sec_id, flags, pos, size, desc))
            if sec_id == c.OPT_STRINGS:
                try:
                    strings += self._section(pos, "the strings")[2]
                except TraceDatError:
                    break
            pos += 16 + size
        for sec_id, flags, off, size, desc in found:
            name = ""
            if 0 <= desc < len(strings):
                name, _ = split_cstr(strings + b"\0", desc, "a section name")
            self.sections.append((sec_id, flags, off, size, name))

    def _section(self, at: int, what: str) -> Tuple[int, int, bytes]:
        """The section at ``at``: (id, flags, payload decompressed)."""
        cur = self._cursor(at)
        sec_id = cur.u16(f"the id of {what}")
        flags = cur.u16(f"the flags of {what}")
        cur.u32(f"the name of {what}")
        size = cur.u64(f"the size of {what}")
        cur.need(size, what)
        if flags & c.SEC_FL_COMPRESS and self._codec is not None:
            csize = cur.u32(f"the compressed size of {what}")
            usize = cur.u32(f"the uncompressed size of {what}")
            if csize + 8 > size:
                raise TraceDatError(
                    f"corrupt trace.dat: {what} is smaller than its compressed data"
                )
            return sec_id, flags, self._codec.decompress(cur.read(csize, what), usize)
        return sec_id, flags, cur.read(size, what)

    def _options_v7(self, data: bytes, where: Dict[int, int]) -> int:
        cur = _bytes_cursor(data, self.endian, "an options section")
        while True:
            opt = cur.u16("an option id")
            n = cur.u32("an option size")
            body = cur.read(n, f"option {opt}")
            if opt == c.OPT_DONE:
                if n < 8:
                    raise TraceDatError("corrupt trace.dat: a short DONE option")
                return int(struct.unpack_from(self.endian + "Q", body)[0])
            if c.OPT_HEADER_INFO <= opt <= c.OPT_CMDLINES and n >= 8:
                where[opt] = int(struct.unpack_from(self.endian + "Q", body)[0])
                self.options.append((opt, body))
            else:
                self._option(opt, body, [])

    def _buffer_v7(self, opt: int, data: bytes) -> Buffer:
        cur = _bytes_cursor(data, self.endian, "a BUFFER option")
        off = cur.u64("the buffer offset")
        name = cur.cstr("the buffer name")
        clock = cur.cstr("the buffer clock")
        # The section header says whether its CPU data is compressed.
        flags = 0
        end = self._size
        if off + 16 <= self._size:
            _, flags, _, ssize = struct.unpack(self.endian + "HHiQ", self._pread(off, 16))
            end = min(self._size, off + 16 + ssize)
        compressed = bool(flags & c.SEC_FL_COMPRESS) and self._codec is not None
        if opt == c.OPT_BUFFER_TEXT:
            return Buffer(
                name, clock, self.page_size, latency=True, offset=off, compressed=compressed
            )
        page_size = cur.u32("the buffer page size")
        if not 0 < page_size <= (1 << 24):
            raise TraceDatError(f"corrupt trace.dat: buffer {name!r} page size {page_size}")
        count = cur.u32("the buffer CPU count")
        cur.need(count * 20, f"{count} CPUs of buffer {name!r}")
        cds = []
        seen: Set[int] = set()
        for _ in range(count):
            cpu = cur.u32("a CPU id")
            o = cur.u64("a CPU data offset")
            s = cur.u64("a CPU data size")
            if cpu in seen:
                raise TraceDatError(f"corrupt trace.dat: CPU {cpu} twice in buffer {name!r}")
            seen.add(cpu)
            cds.append(CpuData(cpu, o, s))
        cds.sort(key=lambda d: d.cpu)
        return Buffer(name, clock, page_size, tuple(cds), compressed, offset=off, end=end)

    # -- data --------------------------------------------------------------------

    @property
    def buffer_names(self) -> List[str]:
        return [b.name for b in self.buffers]

    def buffer(self, name: Optional[str] = None) -> Buffer:
        """A buffer by name; by default the top one ("" if it has data, else the
        first buffer that has)."""
        if name is None:
            # The top buffer; when it holds nothing (``trace-cmd extract -B x``
            # saves an empty one beside x), the first buffer with data.
            fly = [b for b in self.buffers if not b.latency]
            full = [b for b in fly if any(d.size for d in b.cpus)]
            for group in (full, fly):
                for b in group:
                    if b.name == "":
                        return b
                if group:
                    return group[0]
            raise TraceDatError(f"{self.path}: no ring-buffer data in this trace.dat")
        for b in self.buffers:
            if b.name == name:
                return b
        raise TraceDatError(
            f"{self.path}: no buffer {name!r} (there are: {', '.join(repr(n) for n in self.buffer_names)})"
        )

    @property
    def cpus(self) -> List[int]:
        """CPUs of the default buffer with data in the file."""
        return [d.cpu for d in self.buffer().cpus if d.size]

    def _cpu_data(self, cpu: int, buffer: Optional[str]) -> Tuple[Buffer, CpuData]:
        b = self.buffer(buffer)
        for d in b.cpus:
            if d.cpu == cpu:
                return b, d
        raise TraceDatError(f"{self.path}: buffer {b.name!r} has no CPU {cpu}")

    def pages(self, cpu: int, buffer: Optional[str] = None) -> Iterator[bytes]:
        """The CPU's ring-buffer pages, each ``page_size`` bytes, decompressed."""
        b, d = self._cpu_data(cpu, buffer)
        ps = b.page_size
        if not d.size:
            return
        if b.compressed:
            yield from self._zpages(b, d)
            return
        chunk = ps * max(1, (1 << 20) // ps)
        pos, end = d.offset, d.offset + d.size
        while pos < end:
            n = min(chunk, end - pos)
            blob = self._pread(pos, n)
            if len(blob) != n:
                raise TraceDatError(f"{self.path}: truncated CPU {cpu} data")
            for i in range(0, n - ps + 1, ps):
                yield blob[i : i + ps]
            pos += n

    def _zpages(self, b: Buffer, d: CpuData) -> Iterator[bytes]:
        assert self._codec is not None
        ps = b.page_size
        cur = self._cursor(d.offset, max(d.offset + d.size, b.end or self._size))
        cur.what = f" of CPU {d.cpu} data"
        count = cur.u32("the chunk count")
        cur.need(count * 8, f"{count} chunks")
        for _ in range(count):
            csize = cur.u32("a chunk's compressed size")
            usize = cur.u32("a chunk's size")
            raw = self._codec.decompress(cur.read(csize, "a compressed chunk"), usize)
            for i in range(0, len(raw) - ps + 1, ps):
                yield raw[i : i + ps]

    def cpu_records(self, cpu: int, buffer: Optional[str] = None) -> Iterator[Record]:
        _b, d = self._cpu_data(cpu, buffer)
        layout = self.layout
        for page in self.pages(cpu, buffer):
            yield from records(page, layout, d.cpu)

    def records(self, buffer: Optional[str] = None) -> Iterator[Record]:
        """Every record of a buffer (the top one by default), merged across CPUs by
        time stamp, the lower CPU first on a tie (as trace-cmd report orders them)."""
        b = self.buffer(buffer)
        streams = [self.cpu_records(d.cpu, b.name) for d in b.cpus if d.size]
        return heapq.merge(*streams, key=_order)

    # -- events ----------------------------------------------------------------

    def event_formats(self) -> Mapping[int, EventFormat]:
        """Every stored event format by its id (``common_type``)."""
        if self._by_id is None:
            out: Dict[int, EventFormat] = {}
            for system, text in self.formats:
                try:
                    ev = parse_format(text, system)
                except (FormatError, ValueError):
                    continue
                out[ev.id] = ev
            self._by_id = out
        return self._by_id

    def event_name(self, rec: Record) -> str:
        """``system:name`` of a record, or ``unknown:<id>``."""
        if len(rec.data) < 2:
            return "unknown:-1"
        tid = int(struct.unpack_from(self.endian + "H", rec.data)[0])
        ev = self.event_formats().get(tid)
        return ev.full_name if ev is not None else f"unknown:{tid}"

    def cmdline_map(self) -> Dict[int, str]:
        """The saved cmdlines as pid -> comm."""
        out: Dict[int, str] = {}
        for line in self.cmdlines.splitlines():
            pid, _, comm = line.strip().partition(" ")
            if pid.isdigit():
                out[int(pid)] = comm
        return out

    def stats_by_buffer(self) -> Dict[str, List[str]]:
        """The CPUSTAT texts grouped by buffer: trace-cmd writes the top buffer's,
        then a "\\nBuffer: <name>\\n\\n" marker before each instance's."""
        out: Dict[str, List[str]] = {}
        name = ""
        for s in self.cpustats:
            st = s.strip()
            if st.startswith("Buffer:") and "\n" not in st:
                name = st[len("Buffer:") :].strip()
                out.setdefault(name, [])
                continue
            out.setdefault(name, []).append(s)
        return out

    def info(self) -> Dict[str, Any]:
        """A summary for a status line or ``ftop`` debugging."""
        return {
            "version": self.version,
            "endian": self.endian,
            "long_size": self.long_size,
            "page_size": self.page_size,
            "compression": self.compression,
            "uname": self.uname,
            "clock": self.clock,
            "cpu_count": self.cpu_count,
            "buffers": self.buffer_names,
            "formats": len(self.formats),
        }


def _order(r: Record) -> Tuple[int, int]:
    return (r.ts, r.cpu)


def _selected_clock(text: str) -> str:
    """The clock in brackets of a trace_clock text ("[local] global" -> "local")."""
    for word in text.split():
        if word.startswith("[") and word.endswith("]") and len(word) > 2:
            return word[1:-1]
    return ""
