"""engine/raw/print_fmt/ against the kernel's own text.

The captures in tests/fixtures/host-6.18/raw/ (scripts/record-raw-fixtures)
hold raw ring-buffer pages and the ``trace`` file read from the same buffer:
every record rendered here must equal the kernel's line, except the events
whose print fmt is Unsupported (an explicit list below).
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
from ftop.engine.raw.format import EventFormat, parse_format, parse_header_event, parse_header_page
from ftop.engine.raw.page import Layout, Record, records, split_pages
from ftop.engine.raw.print_fmt import (
    BadRecord,
    Env,
    Unsupported,
    compile_print_fmt,
    raw_fields,
)
from ftop.engine.raw.render import Renderer

FIX = Path(__file__).resolve().parent.parent / "fixtures"
RAW = FIX / "host-6.18" / "raw"
LAB = FIX / "lab-6.1-rt"

from raw_util import EXPECTED_UNSUPPORTED  # noqa: E402

_PREFIX = re.compile(r" \[(\d+)\] \S+ +(\d+)\.(\d+): ")


def _captures() -> List[Path]:
    return sorted(p for p in RAW.iterdir() if (p / "trace.txt.gz").exists())


class _Recorded:
    """The symbol answers recorded with the capture (symbols.json: address ->
    [%ps, %pS]), as a renderer's symbol table."""

    def __init__(self, syms: Dict[str, List[str]]) -> None:
        self.syms = syms

    def name(self, addr: int, offset: bool = False, module: bool = True) -> str:
        return str(self.syms[f"{addr:x}"][1 if offset else 0])


def _renderer(d: Path, fmts: Dict[int, EventFormat]) -> Renderer:
    return Renderer(formats=fmts, symbols=_Recorded(json.loads((d / "symbols.json").read_text())))


def _load(d: Path) -> Tuple[Layout, Dict[int, EventFormat], Env, List[Record], str]:
    layout = Layout(
        parse_header_page((d / "header_page.txt").read_text()),
        parse_header_event((d / "header_event.txt").read_text()),
    )
    fmts: Dict[int, EventFormat] = {}
    for p in (d / "formats").glob("*.txt"):
        f = parse_format(p.read_text(), p.name.split(".")[0])
        fmts[f.id] = f
    syms = json.loads((d / "symbols.json").read_text())

    def symbol(addr: int, with_offset: bool) -> str:
        return str(syms[f"{addr:x}"][1 if with_offset else 0])

    recs: List[Record] = []
    for p in sorted(d.glob("cpu*.raw.gz")):
        cpu = int(p.name[3:].split(".")[0])
        for page in split_pages(gzip.decompress(p.read_bytes()), layout.page_size):
            recs.extend(records(page, layout, cpu))
    # the trace file merges the CPUs by lowest time stamp, ties to the lowest CPU
    recs.sort(key=lambda r: (r.ts, r.cpu))
    text = gzip.decompress((d / "trace.txt.gz").read_bytes()).decode("utf-8", "surrogateescape")
    return layout, fmts, Env(symbol=symbol), recs, text


@pytest.mark.parametrize("capture", _captures(), ids=lambda p: p.name)
def test_capture_matches_kernel_text(capture: Path) -> None:
    _layout, fmts, env, recs, text = _load(capture)
    # each record's line starts at a " [cpu] flags ts: " prefix; the text after it
    # may hold newlines of its own (a file name with "\n"), so walk by prefix.
    prefixes = [m for m in _PREFIX.finditer(text)]
    assert recs and len(prefixes) >= len(recs)
    renderer = _renderer(capture, fmts)
    mismatches: List[str] = []
    matched = 0
    pi = 0
    for r in recs:
        # a prefix inside a rendered string would be skipped by the position check
        while pi < len(prefixes) and prefixes[pi].start() < (prefixes[pi - 1].end() if pi else 0):
            pi += 1
        m = prefixes[pi]
        pi += 1
        assert int(m.group(1)) == r.cpu
        assert int(m.group(2)) * 10**6 + int(m.group(3)) == (r.ts + 500) // 1000
        f = fmts[r.type_id]
        raw_before = renderer.rendered_raw
        out = renderer.body(r)
        if renderer.rendered_raw != raw_before:
            # shown as "name: field=value ..." and counted, never a failure
            assert out.startswith(f.name + ": ") and isinstance(raw_fields(f, r.data, env), str)
            end = text.find("\n", m.end())
            while pi < len(prefixes) and prefixes[pi].start() < end:
                pi += 1
            continue
        want = text[m.end() : m.end() + len(out) + 1]
        if want != out + "\n":
            mismatches.append(f"{f.full_name}: kernel {want!r} != ours {out!r}")
        else:
            matched += 1
        # skip prefixes that the rendered text itself contained
        end = m.end() + len(out)
        while pi < len(prefixes) and prefixes[pi].start() < end:
            pi += 1
    assert not mismatches, "\n".join(mismatches[:20])
    unsupported = set(renderer.raw_events)
    assert unsupported <= EXPECTED_UNSUPPORTED, sorted(unsupported - EXPECTED_UNSUPPORTED)
    assert matched > 500


def test_captures_cover_the_expected_unsupported_set() -> None:
    seen: Set[str] = set()
    for d in _captures():
        for p in (d / "formats").glob("*.txt"):
            f = parse_format(p.read_text(), p.name.split(".")[0])
            if f.system in ("ftrace", "syscalls"):
                continue  # printed by the kernel's own code (engine/raw/render.py)
            try:
                compile_print_fmt(f)
            except Unsupported:
                seen.add(f.full_name)
    assert seen == EXPECTED_UNSUPPORTED


def _compile_all(paths: List[str], system_of: object) -> Tuple[int, Dict[str, int]]:
    ok = 0
    why: Dict[str, int] = {}
    for p in paths:
        text = Path(p).read_text()
        if "print fmt:" not in text:
            continue
        f = parse_format(text, system_of(p))  # type: ignore[operator]
        try:
            compile_print_fmt(f)
            ok += 1
        except Unsupported as e:
            key = re.sub(r"the symbol \w+", "the symbol X", str(e))
            why[key] = why.get(key, 0) + 1
    return ok, why


def test_every_live_format_compiles_or_is_unsupported() -> None:
    paths = glob.glob("/sys/kernel/tracing/events/*/*/format")
    if not paths:
        pytest.skip("no readable /sys/kernel/tracing/events (not root, or no tracefs)")
    try:
        Path(paths[0]).read_text()
    except OSError as e:
        pytest.skip(f"cannot read format files: {e}")
    ok, why = _compile_all(paths, lambda p: p.split("/")[-3])
    print(f"\nlive formats: {ok} of {ok + sum(why.values())} compile; Unsupported: {why}")
    # unresolved enum names and kernel pointers are the bulk; anything else is new
    assert ok / (ok + sum(why.values())) > 0.93
    allowed = (
        "the symbol X",
        "a string from a kernel pointer",
        "a call to ",
        "unknown type",
    )
    assert all(k.startswith(allowed) for k in why), why


def test_lab_formats_compile() -> None:
    paths = [str(p) for p in LAB.glob("format.*.txt") if "header_" not in p.name]
    ok, why = _compile_all(paths, lambda p: os.path.basename(p).split(".")[1])
    assert ok == len(paths), why


# ---------------------------------------------------------------------------
# conversions


def _fmt(fields: str, print_fmt: str, system: str = "test") -> EventFormat:
    text = (
        "name: ev\nID: 999\nformat:\n"
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
        "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
        + fields
        + "\nprint fmt: "
        + print_fmt
        + "\n"
    )
    return parse_format(text, system)


def _sym(addr: int, with_offset: bool) -> str:
    return f"fn+{addr - 0x1000:#x}/0x100" if with_offset else "fn"


ENV = Env(symbol=_sym)
HDR = b"\x00" * 8


def _render(fields: str, pf: str, payload: bytes) -> str:
    return compile_print_fmt(_fmt(fields, pf))(HDR + payload, ENV)


INTS = (
    "\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n"
    "\tfield:unsigned int b;\toffset:12;\tsize:4;\tsigned:0;\n"
    "\tfield:unsigned long c;\toffset:16;\tsize:8;\tsigned:0;\n"
)


def _ints(a: int, b: int, c: int) -> bytes:
    return a.to_bytes(4, "little", signed=True) + b.to_bytes(4, "little") + c.to_bytes(8, "little")


def test_signed_unsigned_and_widths() -> None:
    p = _ints(-1, 0xFFFFFFFF, 2**64 - 1)
    assert _render(INTS, '"%d %u %x %lx", REC->a, REC->a, REC->a, REC->a', p) == (
        "-1 4294967295 ffffffff ffffffffffffffff"
    )
    assert _render(INTS, '"%d %ld %lu", REC->b, REC->c, REC->c', p) == "-1 -1 18446744073709551615"
    assert _render(INTS, '"%08lx|%-5d|%5d|%+d|% d", REC->b, REC->a, REC->a, 3, 3', p) == (
        "ffffffff|-1   |   -1|+3| 3"
    )
    assert _render(INTS, '"%#x %#o %#o %.3d %hhx %hd", 0, 8, 0, 7, 0x1ff, 0x18000', p) == (
        "0x0 010 0 007 ff -32768"
    )


def test_c_arithmetic_semantics() -> None:
    p = _ints(-7, 3, 5)
    assert _render(INTS, '"%d %d %u", REC->a / 2, REC->a % 2, REC->b - 4', p) == "-3 -1 4294967295"
    # int -1 compared with unsigned int: converted to unsigned, so not less
    assert _render(INTS, '"%d %d", REC->a < REC->b, REC->a < (int)REC->b', p) == "0 1"
    assert _render(INTS, '"%lu", (unsigned long)REC->a', p) == str(2**64 - 7)
    assert _render(INTS, '"%d %d", (REC->c >> 1) & 1, !REC->c ? 9 : 8', p) == "0 8"
    assert (
        _render(
            INTS,
            '"%u:%u", ((unsigned int) ((REC->c) >> 20)), ((unsigned int) ((REC->c) & ((1U << 20) - 1)))',
            p,
        )
        == "0:5"
    )


def test_symbols_and_pointers() -> None:
    p = _ints(0, 0, 0x1234)
    assert _render(INTS, '"%ps %pS %pB", (void *)REC->c, (void *)REC->c, (void *)REC->c', p) == (
        "fn fn+0x234/0x100 fn+0x234/0x100"
    )
    assert _render(INTS, '"%p %px %p", REC->c, REC->c, (void *)0', p) == (
        "0000000000001234 0000000000001234 0000000000000000"
    )


def test_print_flags_zero_unknown_and_symbolic() -> None:
    pf = '"%s", __print_flags(REC->b, "|", { 1, "A" }, { 2, "B" }, { 6, "CD" })'
    assert _render(INTS, pf, _ints(0, 0, 0)) == ""
    assert _render(INTS, pf, _ints(0, 3, 0)) == "A|B"
    assert _render(INTS, pf, _ints(0, 0x19, 0)) == "A|0x18"
    assert _render(INTS, pf, _ints(0, 0x60, 0)) == "0x60"
    assert _render(INTS, pf, _ints(0, 7, 0)) == "A|B|0x4"
    ps = '"%s", __print_symbolic(REC->a, { 0, "zero" }, { -1, "minus" }, { 5, "" })'
    assert _render(INTS, ps, _ints(0, 0, 0)) == "zero"
    assert _render(INTS, ps, _ints(-1, 0, 0)) == "minus"
    assert _render(INTS, ps, _ints(7, 0, 0)) == "0x7"
    # an empty name prints the value, as the kernel's test of the output does
    assert _render(INTS, ps, _ints(5, 0, 0)) == "0x5"


STRS = (
    "\tfield:char comm[8];\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:__data_loc char[] name;\toffset:16;\tsize:4;\tsigned:0;\n"
    "\tfield:int n;\toffset:20;\tsize:4;\tsigned:1;\n"
)


def _strs(comm: bytes, name: bytes, n: int = 0) -> bytes:
    body = name + b"\0"
    loc = (len(body) << 16) | 24
    return (
        comm.ljust(8, b"\0")[:8]
        + loc.to_bytes(4, "little")
        + n.to_bytes(4, "little", signed=True)
        + body
    )


def test_strings_precision_and_hostile_bytes() -> None:
    p = _strs(b"ab\x1b[2J", b"x\xff\xfe\ny", 3)
    assert _render(
        STRS, '"%s|%.*s|%.2s|%-6s|%4s", REC->comm, REC->n, __get_str(name), REC->comm, "ab", "c"', p
    ) == ("ab\x1b[2J|x\udcff\udcfe|ab|ab    |   c")
    assert (
        _render(STRS, '"%s", __get_str(name)', p).encode("utf-8", "surrogateescape")
        == b"x\xff\xfe\ny"
    )
    assert (
        _render(STRS, '"%s%s", REC->n ? "+" : "", REC->n > 5 ? REC->comm : "small"', p) == "+small"
    )


def test_arrays_hex_and_ip() -> None:
    fields = (
        "\tfield:u8 addr[4];\toffset:8;\tsize:4;\tsigned:0;\n"
        "\tfield:__data_loc u32[] vals;\toffset:12;\tsize:4;\tsigned:0;\n"
        "\tfield:unsigned long caller[2];\toffset:16;\tsize:16;\tsigned:0;\n"
    )
    vals = (1).to_bytes(4, "little") + (0x20).to_bytes(4, "little")
    payload = (
        bytes([10, 0, 0, 1])
        + ((8 << 16) | 32).to_bytes(4, "little")
        + (0x1010).to_bytes(8, "little")
        + (0x1020).to_bytes(8, "little")
        + vals
    )
    pf = (
        '"%pI4 %s %s %s %ps", REC->addr, __print_array(__get_dynamic_array(vals), '
        "__get_dynamic_array_len(vals) / sizeof(u32), sizeof(u32)), "
        "__print_hex(REC->addr, 4), __print_hex_str(REC->addr, 4), (void *)REC->caller[1]"
    )
    assert _render(fields, pf, payload) == "10.0.0.1 {0x1,0x20} 0a 00 00 01 0a000001 fn"


def test_short_record_is_a_bad_record_not_an_index_error() -> None:
    fn = compile_print_fmt(_fmt(INTS, '"%d %lu", REC->a, REC->c'))
    with pytest.raises(BadRecord) as e:
        fn(HDR + b"\x05\x00\x00\x00", ENV)
    assert e.value.text == "5 0"
    assert isinstance(e.value, ValueError)


def test_unresolved_symbol_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="GFP_KERNEL"):
        compile_print_fmt(_fmt(INTS, '"%d", REC->a & GFP_KERNEL'))
    with pytest.raises(Unsupported):
        compile_print_fmt(_fmt(INTS, '"%s", REC->c ? "x" : "y", REC->a'))


def test_raw_fields() -> None:
    f = _fmt(STRS + "\tfield:void * ptr;\toffset:24;\tsize:8;\tsigned:0;\n", '"%d", REC->n')
    data = HDR + _strs(b"abc", b"nm", -2)[:16] + (-2).to_bytes(4, "little", signed=True) + b"\0" * 4
    data = data[:24] + (0xFF).to_bytes(8, "little")
    out = raw_fields(f, data, ENV)
    assert out.startswith("comm=abc name=")
    assert out.endswith("n=-2 ptr=0xff")
