"""What the reader and the writer share: the magic, option and section ids, the
compression codecs (zlib from the standard library, zstd through the optional
``zstandard`` package), and the one error type."""

from __future__ import annotations

import zlib
from typing import Any, Callable, Optional, Tuple

from ftop.engine.errors import FtopError

__all__ = [
    "MAGIC",
    "Codec",
    "TraceDatError",
    "codec",
    "is_tracedat",
]

# 0x17 0x08 0x44 "tracing": then the version as a NUL-terminated string.
MAGIC = b"\x17\x08\x44tracing"


class TraceDatError(FtopError):
    """A trace.dat file ftop cannot read or write; ``str()`` is one line saying why."""


def is_tracedat(first_bytes: bytes) -> bool:
    """True if a file starting with these bytes is a trace-cmd trace.dat."""
    return bytes(first_bytes[: len(MAGIC)]) == MAGIC


# Option ids (also the ids of the v7 sections they point to).
OPT_DONE = 0
OPT_DATE = 1
OPT_CPUSTAT = 2
OPT_BUFFER = 3
OPT_TRACECLOCK = 4
OPT_UNAME = 5
OPT_HOOK = 6
OPT_OFFSET = 7
OPT_CPUCOUNT = 8
OPT_VERSION = 9
OPT_PROCMAPS = 10
OPT_TRACEID = 11
OPT_TIME_SHIFT = 12
OPT_GUEST = 13
OPT_TSC2NSEC = 14
OPT_STRINGS = 15
OPT_HEADER_INFO = 16
OPT_FTRACE_EVENTS = 17
OPT_EVENT_FORMATS = 18
OPT_KALLSYMS = 19
OPT_PRINTK = 20
OPT_CMDLINES = 21
OPT_BUFFER_TEXT = 22
OPT_BTF_FILE = 23
OPT_LAST_BOOT_INFO = 24
OPT_MODULES_FILE = 25

SEC_FL_COMPRESS = 1

# Pages per compressed chunk of CPU data (trace-cmd writes 10).
PAGES_IN_CHUNK = 10

# No section, option or chunk of metadata decompresses to more than this: a
# hostile size field cannot make the reader allocate gigabytes.
MAX_INFLATE = 1 << 30


class Codec:
    """One compression algorithm as trace.dat names it ("zlib", "zstd")."""

    def __init__(
        self,
        name: str,
        version: str,
        compress: Callable[[bytes], bytes],
        decompress: Callable[[bytes, int], bytes],
    ) -> None:
        self.name = name
        self.version = version
        self.compress = compress
        self._decompress = decompress

    def decompress(self, data: bytes, size: int) -> bytes:
        """Inflate ``data``, which the file says is ``size`` bytes uncompressed."""
        if size > MAX_INFLATE:
            raise TraceDatError(f"a {self.name} block claims {size} bytes uncompressed: too big")
        try:
            out = self._decompress(data, size)
        except TraceDatError:
            raise
        except Exception as e:  # zlib.error, zstd.ZstdError: corrupt input
            raise TraceDatError(f"corrupt {self.name} data: {e}") from None
        if len(out) != size:
            raise TraceDatError(
                f"a {self.name} block inflated to {len(out)} bytes, the file says {size}"
            )
        return out


def _zlib_decompress(data: bytes, size: int) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, size + 1)
    return out


def _zlib() -> Codec:
    return Codec("zlib", zlib.ZLIB_VERSION, lambda b: zlib.compress(b, 6), _zlib_decompress)


def _zstd() -> Codec:
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise TraceDatError(
            "this trace.dat is compressed with zstd: install the Python package "
            "'zstandard' (pip install zstandard) to read it"
        ) from None
    zs: Any = zstandard
    cctx = zs.ZstdCompressor(level=3)
    dctx = zs.ZstdDecompressor()

    def decompress(data: bytes, size: int) -> bytes:
        return bytes(dctx.decompress(data, max_output_size=max(size, 1)))

    version = ".".join(str(v) for v in zs.ZSTD_VERSION)
    return Codec("zstd", version, lambda b: bytes(cctx.compress(b)), decompress)


def codec(name: str) -> Optional[Codec]:
    """The codec for a file's compression name; None for "none"."""
    if name in ("none", ""):
        return None
    if name == "zlib":
        return _zlib()
    if name == "zstd":
        return _zstd()
    raise TraceDatError(f"unknown trace.dat compression {name!r} (ftop reads zlib and zstd)")


def split_cstr(data: bytes, pos: int, what: str) -> Tuple[str, int]:
    """The NUL-terminated string at ``pos`` and the position after its NUL."""
    end = data.find(b"\0", pos)
    if end < 0:
        raise TraceDatError(f"{what}: a string without its terminating NUL")
    return data[pos:end].decode("utf-8", "surrogateescape"), end + 1
