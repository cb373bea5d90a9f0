"""The raw renderer's 6.1-rt specifics, pinned to what that kernel printed in the lab
(tests/lab/test_lab_raw.py compares the whole text there): the flags columns and
the probes' address part."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from ftop.engine.raw.format import parse_format
from ftop.engine.raw.page import Record
from ftop.engine.raw.render import FlagStyle, Renderer, TextOptions, lat_flags
from ftop.engine.raw.symbols import Kallsyms

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "lab-6.1-rt"


# (common_flags, common_preempt_count, common_preempt_lazy_count) -> the kernel's columns,
# as 6.1.0-57-rt-amd64 printed them in `trace`.
@pytest.mark.parametrize(
    ("flags", "preempt", "lazy", "text"),
    [
        (0x00, 0x00, 0x00, "......."),
        (0x01, 0x14, 0x01, "d...411"),
        (0x05, 0x03, 0x00, "dn..3.."),
        (0x0D, 0x31, 0x01, "dn.h113"),
        (0x11, 0x32, 0x01, "d..s213"),
        (0x19, 0x34, 0x01, "d..H413"),
        (0x1D, 0x35, 0x01, "dn.H513"),
        (0x80, 0x20, 0x01, "b....12"),
        (0x81, 0x42, 0x01, "D...214"),
        (0x89, 0x22, 0x01, "D..h212"),
        # A uprobe's record on 6.1 (tracing_gen_ctx_dec() underflows in preemptible
        # context): every bit set. need-resched-lazy shares PREEMPT_RESCHED's bit.
        (0xFF, 0xFF, 0xFF, "DnLZffff"),
    ],
)
def test_rt_lazy_flag_columns(flags: int, preempt: int, lazy: int, text: str) -> None:
    assert lat_flags(flags, preempt, FlagStyle.RT_LAZY, lazy) == text


def _renderer() -> Renderer:
    fmts = [
        parse_format((FIX / f"format.kprobes.{n}.txt").read_text(), "kprobes")
        for n in ("ftop_open", "ftop_open_ret")
    ]
    syms = Kallsyms(
        [
            (0xFFFFFFFF8E956B70, "do_sys_openat2", None),
            (0xFFFFFFFF8E956CE0, "do_sys_open", None),
            (0xFFFFFFFF8E957200, "__x64_sys_openat", None),
            (0xFFFFFFFF8E9572A0, "__x64_sys_openat2", None),
        ]
    )
    return Renderer(formats={f.id: f for f in fmts}, symbols=syms, options=TextOptions())


def test_kprobe_address_and_args() -> None:
    r = _renderer()
    fmt = next(f for f in r.formats.values() if f.name == "ftop_open")
    name = b"/etc/ld.so.cache\0"
    d = bytearray(32 + len(name))
    struct.pack_into("<HBBi", d, 0, fmt.id, 0, 0, 339)
    struct.pack_into("<Qii", d, 16, 0xFFFFFFFF8E956B70, -100, (len(name) << 16) | 32)
    d[32:] = name
    assert r.body(Record(0, bytes(d), 0)) == (
        'ftop_open: (do_sys_openat2+0x0/0x170) dfd=-100 filename="/etc/ld.so.cache"'
    )


def test_kretprobe_return_address_first() -> None:
    r = _renderer()
    fmt = next(f for f in r.formats.values() if f.name == "ftop_open_ret")
    d = bytearray(40)
    struct.pack_into("<HBBi", d, 0, fmt.id, 0, 0, 339)
    struct.pack_into("<QQq", d, 16, 0xFFFFFFFF8E956B70, 0xFFFFFFFF8E95726A, 3)
    # The print fmt says "(%lx <- %lx)", func, ret_ip; the kernel prints the return
    # address (with offset) first, then the function.
    assert r.body(Record(0, bytes(d), 0)) == (
        "ftop_open_ret: (__x64_sys_openat+0x6a/0xa0 <- do_sys_openat2) ret=3"
    )
