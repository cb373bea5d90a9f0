"""``ftop record``: the kernel's pages, as read, into a trace.dat that trace-cmd reads.

The pages go from ``trace_pipe_raw`` (spliced, see
:mod:`ftop.engine.raw.trace_pipe_raw`) to the writer's per-CPU spool files
without being decoded; at the end the file gets the formats, kallsyms,
printk formats, the cmdlines as they are then, and each CPU's ``stats`` (the
loss). This works where ``trace-cmd record`` refuses to start (it writes
``ftrace_enabled``), since ftop writes only what the configuration asks for.
"""

from __future__ import annotations

import os
import platform
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ftop.engine.raw.stream import RawSource
from ftop.engine.raw.trace_pipe_raw import RawReader, online_cpus
from ftop.engine.tracedat.common import TraceDatError
from ftop.engine.tracedat.write import TraceDatWriter

__all__ = ["RecordResult", "Recorder"]


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return ""


def _writer(
    src: RawSource,
    top: Path,
    where: Path,
    path: str,
    cpus: Sequence[int],
    version: int,
    compression: Optional[str],
) -> TraceDatWriter:
    """A writer for pages of ``where``, with what this kernel says of them."""
    return TraceDatWriter(
        path,
        version=version,
        compression=compression,
        endian=src.layout.endian,
        page_size=src.layout.page_size,
        header_page=src.layout.page.text,
        header_event=src.layout.record.text,
        formats=src.format_texts,
        kallsyms=src.kallsyms_text,
        printk_formats=src.printk_text,
        cmdlines=_read(top / "saved_cmdlines"),
        cpus=cpus,
        uname=_uname(),
        trace_clock=_read(where / "trace_clock"),
        buffer_name=where.name if where != top else "",
        cpu_count=os.cpu_count() or len(cpus),
    )


def _uname() -> str:
    # As trace-cmd stores it: sysname nodename release version machine.
    return " ".join(
        (
            platform.system(),
            platform.node(),
            platform.release(),
            platform.version(),
            platform.machine(),
        )
    )


@dataclass
class RecordResult:
    path: str
    pages: Dict[int, int] = field(default_factory=dict)
    bytes: int = 0
    stats: Dict[int, str] = field(default_factory=dict)

    @property
    def lost(self) -> Dict[int, int]:
        """Per CPU: what the kernel overwrote or dropped while recording (its stats)."""
        out: Dict[int, int] = {}
        for cpu, text in self.stats.items():
            n = 0
            for line in text.splitlines():
                key, _, val = line.partition(":")
                if key.strip() in ("overrun", "dropped events") and val.strip().isdigit():
                    n += int(val)
            out[cpu] = n
        return out


class Recorder:
    """Pages of ``where`` (the top level or an instance) into ``path``."""

    def __init__(
        self,
        top: Path,
        where: Path,
        path: str,
        version: int = 6,
        compression: Optional[str] = None,
    ) -> None:
        self.top = top
        self.where = where
        self.path = path
        src = RawSource.from_tracefs(top, where)
        cpus = online_cpus(where / "per_cpu")
        if not cpus:
            raise TraceDatError(f"no per_cpu/cpuN/trace_pipe_raw under {where}")
        self.writer = _writer(src, top, where, path, cpus, version, compression)
        self.cpus = cpus
        self.src = src
        self._lock = threading.Lock()
        self.error: Optional[BaseException] = None
        self.reader = RawReader(where / "per_cpu", src.layout.page_size, self._pages, cpus=cpus)

    def _pages(self, cpu: int, pages: List[bytes]) -> None:
        if self.error is not None:
            return
        try:
            with self._lock:
                for p in pages:
                    self.writer.add_page(cpu, p)
        except TraceDatError as e:
            # Disk full or the like: stop taking pages; stop() says what happened.
            self.error = e

    def start(self) -> None:
        try:
            self.reader.start()
        except OSError:
            self.writer.abort()
            raise

    @property
    def bytes(self) -> int:
        return self.writer.bytes_spooled

    def stop(self) -> RecordResult:
        """Drain what is left, close the files (the kernel then lets the tracer
        change), write the file. Raises TraceDatError when it could not be written."""
        self.reader.stop()
        if self.reader.error is not None and self.error is None:
            self.error = self.reader.error
        stats = {c: _read(self.where / "per_cpu" / f"cpu{c}" / "stats") for c in self.cpus}
        result = RecordResult(
            self.path, dict(self.writer.pages_written), self.writer.bytes_spooled, stats
        )
        if self.error is not None:
            self.writer.abort()
            if isinstance(self.error, TraceDatError):
                raise self.error
            raise TraceDatError(f"reading the pages: {self.error}")
        # Probes or synthetic events made while recording: their formats too.
        self.src.find_format(-1, now_anyway=True)
        self.writer.formats = list(self.src.format_texts)
        self.writer.close(stats, cmdlines=_read(self.top / "saved_cmdlines"))
        return result


def save_pages(
    src: RawSource,
    pages: Sequence[Tuple[int, bytes]],
    top: Path,
    where: Path,
    path: str,
    version: int = 6,
) -> int:
    """Write pages kept by a live stream (oldest first) as a trace.dat; the number
    of pages written. Raises TraceDatError (disk full, no such folder...)."""
    cpus = sorted({cpu for cpu, _ in pages}) or online_cpus(where / "per_cpu")
    writer = _writer(src, top, where, path, cpus, version, None)
    try:
        for cpu, page in pages:
            writer.add_page(cpu, page)
    except BaseException:
        writer.abort()
        raise
    stats = {c: _read(where / "per_cpu" / f"cpu{c}" / "stats") for c in cpus}
    writer.close(stats)
    return len(pages)
