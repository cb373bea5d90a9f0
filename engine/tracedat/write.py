"""Writing a trace-cmd ``trace.dat`` as ``ftop record`` reads ring-buffer pages.

Pages are spooled per CPU to hidden temporary files beside the target (memory
stays bounded however long the recording); ``close()`` writes the whole file
under a temporary name (metadata, options, then each CPU's pages at a
page-aligned offset), fsyncs it and renames it onto the target. An error (disk
full, a read-only folder) raises ``TraceDatError`` and leaves neither the
spool nor a half-written target behind.

Version 6 (what every trace-cmd reads) or 7; a v7 file may be compressed with
zlib or zstd (trace-cmd's format: sections as one block, CPU data in chunks of
10 pages).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
from typing import IO, Dict, List, Mapping, Optional, Sequence, Tuple

from ftop.engine.tracedat import common as c
from ftop.engine.tracedat.common import MAGIC, Codec, TraceDatError

__all__ = ["TraceDatWriter"]

_COPY = 1 << 20


class TraceDatWriter:
    """A trace.dat being recorded. ``add_page(cpu, page)`` as pages arrive, then
    ``close(stats=...)``; ``abort()`` (or leaving a ``with`` block by an
    exception) drops everything."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        version: int = 6,
        compression: Optional[str] = None,
        endian: str = "<",
        long_size: int = 8,
        page_size: int = 4096,
        header_page: str,
        header_event: str,
        formats: Sequence[Tuple[str, str]],
        kallsyms: str = "",
        printk_formats: str = "",
        cmdlines: str = "",
        cpus: Sequence[int],
        uname: Optional[str] = None,
        trace_clock: Optional[str] = None,
        buffer_name: str = "",
        cpu_count: Optional[int] = None,
        date: Optional[str] = None,
        ts_offset: Optional[str] = None,
        version_string: str = "ftop",
        trace_id: Optional[int] = None,
    ) -> None:
        if version not in (6, 7):
            raise TraceDatError(f"trace.dat version {version}: ftop writes versions 6 and 7")
        if endian not in ("<", ">"):
            raise TraceDatError(f"endian {endian!r}: '<' or '>'")
        if long_size not in (4, 8):
            raise TraceDatError(f"long size {long_size}: 4 or 8")
        if page_size <= 0 or page_size & (page_size - 1):
            raise TraceDatError(f"page size {page_size}: not a power of two")
        self._codec: Optional[Codec] = None
        if compression not in (None, "none"):
            if version != 7:
                raise TraceDatError("only a version 7 trace.dat can be compressed")
            self._codec = c.codec(str(compression))
        self.path = os.fspath(path)
        self.version = version
        self.endian = endian
        self.long_size = long_size
        self.page_size = page_size
        self.header_page = header_page
        self.header_event = header_event
        self.formats = list(formats)
        self.kallsyms = kallsyms
        self.printk_formats = printk_formats
        self.cmdlines = cmdlines
        self.cpus = sorted(set(int(x) for x in cpus))
        if any(x < 0 for x in self.cpus):
            raise TraceDatError("a negative CPU number")
        self.uname = uname
        self.trace_clock = trace_clock or "[local]"
        self.buffer_name = buffer_name
        self.cpu_count = cpu_count
        self.date = date
        self.ts_offset = ts_offset
        self.version_string = version_string
        self.trace_id = trace_id
        self._dir = os.path.dirname(os.path.abspath(self.path)) or "."
        self._base = os.path.basename(self.path)
        self._spool: Dict[int, Tuple[str, IO[bytes]]] = {}
        self._pages: Dict[int, int] = {x: 0 for x in self.cpus}
        self._closed = False
        try:
            for cpu in self.cpus:
                fd, name = tempfile.mkstemp(prefix=f".{self._base}.cpu{cpu}.", dir=self._dir)
                self._spool[cpu] = (name, os.fdopen(fd, "w+b", buffering=_COPY))
        except OSError as e:
            self._drop_spool()
            raise TraceDatError(f"cannot write {self.path}: {e.strerror or e}") from None

    # -- recording ---------------------------------------------------------------

    def add_page(self, cpu: int, page: bytes) -> None:
        """One ring-buffer page of ``cpu`` (shorter pages are padded with zeros)."""
        if self._closed:
            raise TraceDatError(f"{self.path}: add_page after close")
        spool = self._spool.get(cpu)
        if spool is None:
            raise TraceDatError(f"{self.path}: CPU {cpu} is not one of {self.cpus}")
        if len(page) > self.page_size:
            raise TraceDatError(f"a page of {len(page)} bytes, the page size is {self.page_size}")
        if len(page) < self.page_size:
            page = bytes(page) + bytes(self.page_size - len(page))
        try:
            spool[1].write(page)
        except OSError as e:
            self.abort()
            raise TraceDatError(f"cannot write {self.path}: {e.strerror or e}") from None
        self._pages[cpu] += 1

    @property
    def pages_written(self) -> Mapping[int, int]:
        return dict(self._pages)

    @property
    def bytes_spooled(self) -> int:
        return sum(self._pages.values()) * self.page_size

    def abort(self) -> None:
        """Drop the recording: spool and any partial output are removed."""
        self._closed = True
        self._drop_spool()

    def __enter__(self) -> TraceDatWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.close()

    def _drop_spool(self) -> None:
        for name, f in self._spool.values():
            with contextlib.suppress(OSError):
                f.close()
            with contextlib.suppress(OSError):
                os.unlink(name)
        self._spool.clear()

    # -- the file ----------------------------------------------------------------

    def close(
        self,
        stats: Optional[Mapping[int, str]] = None,
        *,
        cmdlines: Optional[str] = None,
        extra_options: Sequence[Tuple[int, bytes]] = (),
    ) -> None:
        """Assemble the file: ``stats`` is each CPU's ``per_cpu/cpuN/stats`` text at
        the end of the recording; ``cmdlines`` replaces the saved cmdlines given at
        the start (they grow while recording)."""
        if self._closed:
            raise TraceDatError(f"{self.path}: closed twice")
        self._closed = True
        if cmdlines is not None:
            self.cmdlines = cmdlines
        tmp = ""
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self._base}.", suffix=".tmp", dir=self._dir)
            with os.fdopen(fd, "w+b", buffering=_COPY) as out:
                if self.version == 6:
                    self._write_v6(out, stats or {}, extra_options)
                else:
                    self._write_v7(out, stats or {}, extra_options)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
            tmp = ""
        except OSError as e:
            raise TraceDatError(f"cannot write {self.path}: {e.strerror or e}") from None
        finally:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            self._drop_spool()

    # numbers in the file's byte order
    def _n(self, fmt: str, *v: int) -> bytes:
        return struct.pack(self.endian + fmt, *v)

    def _head(self) -> bytes:
        return (
            MAGIC
            + f"{self.version}\0".encode()
            + bytes([0 if self.endian == "<" else 1, self.long_size])
            + self._n("I", self.page_size)
        )

    def _header_info(self) -> bytes:
        hp = self.header_page.encode("utf-8", "surrogateescape")
        he = self.header_event.encode("utf-8", "surrogateescape")
        return (
            b"header_page\0"
            + self._n("Q", len(hp))
            + hp
            + b"header_event\0"
            + self._n("Q", len(he))
            + he
        )

    def _ftrace(self) -> bytes:
        texts = [t.encode("utf-8", "surrogateescape") for s, t in self.formats if s == "ftrace"]
        return self._n("I", len(texts)) + b"".join(self._n("Q", len(t)) + t for t in texts)

    def _events(self) -> bytes:
        systems: Dict[str, List[bytes]] = {}
        for s, t in self.formats:
            if s != "ftrace":
                systems.setdefault(s, []).append(t.encode("utf-8", "surrogateescape"))
        out = [self._n("I", len(systems))]
        for s, texts in systems.items():
            out.append(s.encode("utf-8", "surrogateescape") + b"\0" + self._n("I", len(texts)))
            out.extend(self._n("Q", len(t)) + t for t in texts)
        return b"".join(out)

    def _sized(self, fmt: str, text: str) -> bytes:
        b = text.encode("utf-8", "surrogateescape")
        return self._n(fmt, len(b)) + b

    def _opt(self, opt: int, data: bytes) -> bytes:
        return self._n("HI", opt, len(data)) + data

    def _str_opt(self, opt: int, text: str) -> bytes:
        return self._opt(opt, text.encode("utf-8", "surrogateescape") + b"\0")

    def _common_options(
        self, stats: Mapping[int, str], extra: Sequence[Tuple[int, bytes]]
    ) -> bytes:
        out = []
        if self.date is not None:
            out.append(self._str_opt(c.OPT_DATE, self.date))
        if self.ts_offset is not None:
            out.append(self._str_opt(c.OPT_OFFSET, self.ts_offset))
        out.append(self._str_opt(c.OPT_TRACECLOCK, self.trace_clock))
        if self.uname is not None:
            out.append(self._str_opt(c.OPT_UNAME, self.uname))
        out.append(self._str_opt(c.OPT_VERSION, self.version_string))
        if self.trace_id is not None:
            out.append(self._opt(c.OPT_TRACEID, self._n("Q", self.trace_id)))
        if self.buffer_name:
            out.append(self._str_opt(c.OPT_CPUSTAT, f"\nBuffer: {self.buffer_name}\n\n"))
        for cpu in sorted(stats):
            text = stats[cpu]
            if not text.startswith("CPU:"):
                text = f"CPU: {cpu}\n{text}"
            out.append(self._str_opt(c.OPT_CPUSTAT, text))
        for opt, data in extra:
            out.append(self._opt(opt, bytes(data)))
        return b"".join(out)

    def _clock_name(self) -> str:
        for w in self.trace_clock.split():
            if w.startswith("[") and w.endswith("]") and len(w) > 2:
                return w[1:-1]
        return "local"

    def _align(self, out: IO[bytes]) -> int:
        pos = out.tell()
        aligned = (pos + self.page_size - 1) & ~(self.page_size - 1)
        if aligned != pos:
            out.write(bytes(aligned - pos))
        return aligned

    def _copy_cpu(self, out: IO[bytes], cpu: int) -> int:
        """Append the CPU's spooled pages (compressed in chunks when the file is):
        the bytes written."""
        f = self._spool[cpu][1]
        f.flush()
        f.seek(0)
        size = self._pages[cpu] * self.page_size
        if not size:
            return 0
        if self._codec is None:
            left = size
            while left:
                b = f.read(min(_COPY, left))
                if not b:
                    raise TraceDatError(f"the spool of CPU {cpu} came back short")
                out.write(b)
                left -= len(b)
            return size
        start = out.tell()
        chunk = c.PAGES_IN_CHUNK * self.page_size
        count = (size + chunk - 1) // chunk
        out.write(self._n("I", count))
        for _ in range(count):
            raw = f.read(chunk)
            z = self._codec.compress(raw)
            out.write(self._n("II", len(z), len(raw)) + z)
        return out.tell() - start

    # -- version 6 ---------------------------------------------------------------

    def _write_v6(
        self, out: IO[bytes], stats: Mapping[int, str], extra: Sequence[Tuple[int, bytes]]
    ) -> None:
        slots = (max(self.cpus) + 1) if self.cpus else 0
        out.write(self._head())
        out.write(self._header_info())
        out.write(self._ftrace())
        out.write(self._events())
        out.write(self._sized("I", self.kallsyms))
        out.write(self._sized("I", self.printk_formats))
        out.write(self._sized("Q", self.cmdlines))
        out.write(self._n("I", slots))
        opts = self._common_options(stats, extra)
        if self.cpu_count is not None:
            opts += self._opt(c.OPT_CPUCOUNT, self._n("I", self.cpu_count))
        inst = b""
        if self.buffer_name:
            # An instance: its pages hang off a BUFFER option (placed first, so its
            # offset field is at a known place); the top buffer stays empty.
            inst = self._opt(
                c.OPT_BUFFER,
                self._n("Q", 0) + self.buffer_name.encode("utf-8", "surrogateescape") + b"\0",
            )
        out.write(b"options  \0")
        buffer_field = out.tell() + 6
        out.write(inst + opts + self._n("H", c.OPT_DONE))
        clock = self._sized("Q", f"[{self._clock_name()}]")
        out.write(b"flyrecord\0")
        if inst:
            out.write(bytes(16 * slots) + clock)
            fly = out.tell()
            out.seek(buffer_field)
            out.write(self._n("Q", fly))
            out.seek(fly)
            out.write(b"flyrecord\0")
        table = out.tell()
        out.write(bytes(16 * slots))
        out.write(clock)
        where: List[Tuple[int, int]] = [(0, 0)] * slots
        for cpu in self.cpus:
            at = self._align(out)
            where[cpu] = (at, self._copy_cpu(out, cpu))
        end = out.tell()
        out.seek(table)
        out.write(b"".join(self._n("QQ", o, s) for o, s in where))
        out.seek(end)

    # -- version 7 ---------------------------------------------------------------

    def _write_v7(
        self, out: IO[bytes], stats: Mapping[int, str], extra: Sequence[Tuple[int, bytes]]
    ) -> None:
        strings = io.BytesIO()
        names: Dict[str, int] = {}

        def sid(name: str) -> int:
            if name not in names:
                names[name] = strings.tell()
                strings.write(name.encode() + b"\0")
            return names[name]

        zname, zver = (self._codec.name, self._codec.version) if self._codec else ("none", "")
        out.write(self._head() + zname.encode() + b"\0" + zver.encode() + b"\0")
        first_options = out.tell()
        out.write(self._n("Q", 0))

        def section(sec: int, desc: str, payload: bytes, compress: bool = True) -> int:
            at = out.tell()
            flags = 0
            if compress and self._codec is not None:
                z = self._codec.compress(payload)
                payload = self._n("II", len(z), len(payload)) + z
                flags = c.SEC_FL_COMPRESS
            out.write(self._n("HHiQ", sec, flags, sid(desc), len(payload)) + payload)
            return at

        offsets = [
            (c.OPT_HEADER_INFO, section(c.OPT_HEADER_INFO, "headers", self._header_info())),
            (c.OPT_FTRACE_EVENTS, section(c.OPT_FTRACE_EVENTS, "ftrace events", self._ftrace())),
            (c.OPT_EVENT_FORMATS, section(c.OPT_EVENT_FORMATS, "events format", self._events())),
            (c.OPT_KALLSYMS, section(c.OPT_KALLSYMS, "kallsyms", self._sized("I", self.kallsyms))),
            (c.OPT_PRINTK, section(c.OPT_PRINTK, "printk", self._sized("I", self.printk_formats))),
            (
                c.OPT_CMDLINES,
                section(c.OPT_CMDLINES, "command lines", self._sized("Q", self.cmdlines)),
            ),
        ]
        # The flyrecord section: its header, then each CPU's data page-aligned;
        # its size covers all of it, so the sections stay a walkable chain.
        flags = c.SEC_FL_COMPRESS if self._codec is not None else 0
        clock = self._clock_name().encode() + b"\0"
        top = b""
        if self.buffer_name:
            # An instance's pages: trace-cmd still wants a (here empty) top buffer.
            empty = out.tell()
            out.write(self._n("HHiQ", c.OPT_BUFFER, flags, sid("buffer flyrecord "), 0))
            top = self._opt(
                c.OPT_BUFFER, self._n("Q", empty) + b"\0" + clock + self._n("II", self.page_size, 0)
            )
        fly = out.tell()
        out.write(
            self._n("HHiQ", c.OPT_BUFFER, flags, sid(f"buffer flyrecord {self.buffer_name}"), 0)
        )
        cpu_rows = []
        for cpu in self.cpus:
            at = self._align(out)
            cpu_rows.append(self._n("IQQ", cpu, at, self._copy_cpu(out, cpu)))
        fly_end = out.tell()
        out.seek(fly + 8)
        out.write(self._n("Q", fly_end - fly - 16))
        out.seek(fly_end)
        buf = (
            self._n("Q", fly)
            + self.buffer_name.encode("utf-8", "surrogateescape")
            + b"\0"
            + clock
            + self._n("II", self.page_size, len(cpu_rows))
            + b"".join(cpu_rows)
        )
        opts = b"".join(self._opt(o, self._n("Q", at)) for o, at in offsets)
        opts += self._common_options(stats, extra)
        cpu_count = (
            self.cpu_count
            if self.cpu_count is not None
            else (max(self.cpus) + 1 if self.cpus else 0)
        )
        opts += self._opt(c.OPT_CPUCOUNT, self._n("I", cpu_count))
        opts += top + self._opt(c.OPT_BUFFER, buf)
        opts += self._opt(c.OPT_DONE, self._n("Q", 0))
        options_at = out.tell()
        out.write(self._n("HHiQ", c.OPT_DONE, 0, sid("options"), len(opts)) + opts)
        sid("strings")
        section(c.OPT_STRINGS, "strings", strings.getvalue())
        end = out.tell()
        out.seek(first_options)
        out.write(self._n("Q", options_at))
        out.seek(end)
