"""trace_printk records (ftrace/bprint): the arguments packed as lib/vsprintf.c's
vbin_printf() packs them, rendered as bstr_printf() renders them.

No capture of a real trace_printk is possible on the build machine or in the
kernel lab (it needs a module that calls trace_printk); the buffers here are
built by ``pack()``, which follows vbin_printf's rules one by one (each rule cited),
and the expected texts are what C's printf prints for the same format and values.
"""

from __future__ import annotations

import struct
from typing import List, Tuple, Union

import pytest
from ftop.engine.raw.bprint import render_bprint
from ftop.engine.raw.print_fmt import Unsupported

Arg = Union[Tuple[str, int], bytes]


def pack(args: List[Arg]) -> bytes:
    """vbin_printf: an integer of n bytes aligned to n (8-byte ones to 4, save_arg);
    a string copied with its NUL, unaligned (FORMAT_TYPE_STR)."""
    out = bytearray()
    for a in args:
        if isinstance(a, bytes):
            out += a + b"\0"
            continue
        code, v = a
        size = struct.calcsize("<" + code)
        align = 4 if size == 8 else size
        out += b"\0" * (-len(out) % align)
        out += struct.pack("<" + code, v)
    return bytes(out)


def sym(addr: int, offset: bool) -> str:
    return "vfs_read+0x4/0x150" if offset else "vfs_read"


@pytest.mark.parametrize(
    "fmt, args, want",
    [
        ("x=%d y=%u\n", [("i", -5), ("I", 7)], "x=-5 y=7\n"),
        ("%5d|%-5d|%05d", [("i", 42), ("i", 42), ("i", -42)], "   42|42   |-0042"),
        ("%lx %llu", [("Q", 0xDEADBEEF12), ("Q", 2**40)], "deadbeef12 1099511627776"),
        ("%#x %#o %X", [("I", 255), ("I", 8), ("I", 0xAB)], "0xff 010 AB"),
        ("%hhd %hd", [("b", -1), ("h", -300)], "-1 -300"),
        # a char then an int: the int is aligned to 4 after the char
        ("%c%d", [("B", ord("A")), ("i", 3)], "A3"),
        # a string, then an int aligned after it
        ("%s=%d", [b"comm", ("i", 12)], "comm=12"),
        ("[%8s][%-8s][%.2s]", [b"ab", b"cd", b"xyz"], "[      ab][cd      ][xy]"),
        # '*' width and precision are ints taken before the value
        ("%*d|%.*s", [("i", 6), ("i", 9), ("i", 3), b"abcdef"], "     9|abc"),
        ("%pS %ps", [("Q", 0xFFFF0000), ("Q", 0xFFFF0000)], "vfs_read+0x4/0x150 vfs_read"),
        ("%px", [("Q", 0xFFFF888812345678)], "ffff888812345678"),
        # another %p extension was formatted at the call and stored as a string
        ("ip %pI4", [b"10.0.0.1"], "ip 10.0.0.1"),
        ("100%% done", [], "100% done"),
    ],
)
def test_packed_arguments_render_as_printf(fmt: str, args: List[Arg], want: str) -> None:
    assert render_bprint(fmt, pack(args), sym) == want


def test_a_plain_pointer_and_a_short_buffer_are_unsupported() -> None:
    with pytest.raises(Unsupported):
        render_bprint("%p", pack([("Q", 1)]), sym)
    with pytest.raises(Unsupported):
        render_bprint("%d %d", pack([("i", 1)]), sym)
    with pytest.raises(Unsupported):
        render_bprint("%s", b"no nul", sym)


def test_the_renderer_shows_a_bprint_record_and_falls_back_without_its_format() -> None:
    from ftop.engine.raw.format import parse_format
    from ftop.engine.raw.page import Record
    from ftop.engine.raw.render import Renderer
    from ftop.engine.raw.symbols import PrintkFormats

    # ftrace/bprint's format as a 6.18 kernel prints it (events/ftrace/bprint/format).
    text = """name: bprint
ID: 6
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;
\tfield:const char * fmt;\toffset:16;\tsize:8;\tsigned:0;
\tfield:u32 buf[];\toffset:24;\tsize:0;\tsigned:0;

print fmt: "%ps: %s", (void *)REC->ip, REC->fmt
"""
    f = parse_format(text, "ftrace")

    class Syms:
        def name(self, addr: int, offset: bool = False, module: bool = True) -> str:
            return {0x1000: "my_func", 0x2000: "other"}.get(addr, f"0x{addr:x}")

    r = Renderer(formats={f.id: f}, symbols=Syms())
    r.printk = PrintkFormats('0xffffffffc0001000 : "pid %d in %ps\\n"\n')
    payload = struct.pack("<HBBiQQ", 6, 0, 0, 77, 0x1000, 0xFFFFFFFFC0001000)
    payload += pack([("i", 77), ("Q", 0x2000)])
    rec = Record(0, payload, 0)
    assert r.body(rec) == "my_func: pid 77 in other"
    assert r.rendered_raw == 0
    # a format the kernel did not list: the raw fields, counted
    r2 = Renderer(formats={f.id: f}, symbols=Syms())
    out = r2.body(rec)
    assert out.startswith("bprint: ") and r2.rendered_raw == 1
