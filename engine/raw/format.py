"""The kernel's self-description of its binary records: ``events/header_page``,
``events/header_event`` and each event's ``format`` file.

Nothing about the layout is hard-coded: offsets and sizes come from these
files, as libtraceevent takes them, so a kernel that moves a field (6.1-rt adds
``common_preempt_lazy_count`` and shifts every payload by four bytes) is read
correctly.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

__all__ = [
    "EventFormat",
    "Field",
    "FormatError",
    "PageHeader",
    "RecordHeader",
    "parse_format",
    "parse_header_event",
    "parse_header_page",
]


class FormatError(ValueError):
    """A header or format file ftop cannot read (what is missing is in the message)."""


# "field:unsigned long ip;	offset:8;	size:8;	signed:0;" (header_page has "field: u64 ...")
_FIELD = re.compile(
    r"^\s*field:\s*(?P<decl>[^;]*);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);"
    r"(?:\s*signed:(?P<signed>-?\d+);)?"
)
_ARRAY = re.compile(r"^(?P<head>.*?)\s*\[(?P<len>[^\]]*)\]$")


@dataclass(frozen=True)
class Field:
    """One field of a record, as its ``format`` file declares it."""

    name: str
    type: str  # the C type without the name, with "[n]" kept for arrays: "char[16]"
    offset: int
    size: int
    signed: bool
    # Array length: None for a scalar, 0 for a flexible array ("char buf[]").
    array_len: Optional[int] = None
    # __data_loc: a u32 at offset holds (len << 16 | offset of the data in the record).
    # __rel_loc: the same, the offset counted from the end of this field.
    data_loc: bool = False
    rel_loc: bool = False

    @property
    def is_string(self) -> bool:
        base = self.base_type
        return (self.array_len is not None or self.data_loc or self.rel_loc) and base in (
            "char",
            "unsigned char",
            "const char",
        )

    @property
    def base_type(self) -> str:
        t = self.type
        for prefix in ("__data_loc ", "__rel_loc "):
            if t.startswith(prefix):
                t = t[len(prefix) :]
        return re.sub(r"\[[^\]]*\]$", "", t).strip()

    @property
    def elem_size(self) -> int:
        """Bytes per element of an array (the field's size for a scalar)."""
        if self.array_len:
            return self.size // self.array_len
        if self.array_len == 0 or self.data_loc or self.rel_loc:
            return _SCALAR_SIZES.get(self.base_type.replace("const ", ""), 1)
        return self.size

    def value(self, data: bytes, endian: str = "<") -> int:
        """The field as an integer (scalars of 1, 2, 4 or 8 bytes)."""
        code = _INT_CODES.get(self.size)
        if code is None:
            raise FormatError(f"field {self.name}: no integer of {self.size} bytes")
        if self.signed:
            code = code.lower()
        return int(struct.unpack_from(endian + code, data, self.offset)[0])

    def span(self, data: bytes, endian: str = "<") -> Tuple[int, int]:
        """Where the field's bytes are in the record: (start, length), following
        __data_loc / __rel_loc, and up to the end of the record for a flexible array."""
        if self.data_loc or self.rel_loc:
            loc = int(struct.unpack_from(endian + "I", data, self.offset)[0])
            start, length = loc & 0xFFFF, loc >> 16
            if self.rel_loc:
                start += self.offset + self.size
            return start, length
        if self.array_len == 0:
            return self.offset, max(0, len(data) - self.offset)
        return self.offset, self.size

    def raw(self, data: bytes, endian: str = "<") -> bytes:
        start, length = self.span(data, endian)
        return bytes(data[start : start + length])

    def text(self, data: bytes, endian: str = "<") -> str:
        """A char array or dynamic string up to its first NUL, bytes kept (surrogateescape)."""
        raw = self.raw(data, endian)
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        return raw.decode("utf-8", "surrogateescape")


_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_SCALAR_SIZES = {
    "char": 1,
    "unsigned char": 1,
    "u8": 1,
    "s8": 1,
    "short": 2,
    "unsigned short": 2,
    "u16": 2,
    "s16": 2,
    "int": 4,
    "unsigned int": 4,
    "u32": 4,
    "s32": 4,
    "long": 8,
    "unsigned long": 8,
    "u64": 8,
    "s64": 8,
    "long long": 8,
    "unsigned long long": 8,
}


def _parse_field(line: str) -> Optional[Field]:
    m = _FIELD.match(line)
    if m is None:
        return None
    decl = m["decl"].strip()
    data_loc = decl.startswith("__data_loc ")
    rel_loc = decl.startswith("__rel_loc ")
    array_len: Optional[int] = None
    am = _ARRAY.match(decl)
    if am is not None:
        decl_head = am["head"]
        n = am["len"].strip()
        array_len = int(n, 0) if n.isdigit() or n.startswith("0x") else 0
    else:
        decl_head = decl
    # The name is the last identifier of the declaration: "unsigned long ip", "const char * fmt".
    nm = re.search(r"([A-Za-z_]\w*)\s*$", decl_head)
    if nm is None:
        return None
    name = nm.group(1)
    ctype = decl_head[: nm.start()].strip()
    if am is not None:
        # "__data_loc char[] name" has the brackets on the type, not the name.
        ctype = f"{ctype}[{am['len']}]"
    elif ctype.endswith("[]"):
        array_len = 0
    if (data_loc or rel_loc) and array_len is None:
        array_len = 0
    size = int(m["size"])
    signed = m["signed"] == "1"
    return Field(
        name=name,
        type=ctype,
        offset=int(m["offset"]),
        size=size,
        signed=signed,
        array_len=array_len,
        data_loc=data_loc,
        rel_loc=rel_loc,
    )


@dataclass(frozen=True)
class EventFormat:
    """One ``events/<system>/<name>/format`` file."""

    system: str
    name: str
    id: int
    common: Tuple[Field, ...]
    fields: Tuple[Field, ...]
    print_fmt: str  # everything after "print fmt: ", as the kernel wrote it
    text: str = ""  # the file as read (trace.dat stores it verbatim)
    by_name: Mapping[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_name:
            object.__setattr__(self, "by_name", {f.name: f for f in (*self.common, *self.fields)})

    @property
    def full_name(self) -> str:
        return f"{self.system}:{self.name}"


def parse_format(text: str, system: str = "") -> EventFormat:
    """Parse one event's ``format`` file. ``system`` is the folder it came from
    (the file itself does not say; trace.dat stores it beside the file)."""
    name: Optional[str] = None
    ident: Optional[int] = None
    common: List[Field] = []
    fields: List[Field] = []
    print_fmt = ""
    in_common = True
    for line in text.splitlines():
        if line.startswith("name:"):
            name = line[5:].strip()
        elif line.startswith("ID:"):
            ident = int(line[3:].strip())
        elif line.startswith("print fmt:"):
            print_fmt = line[len("print fmt:") :].strip()
        elif not line.strip():
            if common:
                in_common = False
        else:
            f = _parse_field(line)
            if f is None:
                continue
            if in_common and f.name.startswith("common_"):
                common.append(f)
            else:
                in_common = False
                fields.append(f)
    if name is None or ident is None:
        raise FormatError("a format file without 'name:' or 'ID:'")
    return EventFormat(
        system=system,
        name=name,
        id=ident,
        common=tuple(common),
        fields=tuple(fields),
        print_fmt=print_fmt,
        text=text,
    )


@dataclass(frozen=True)
class PageHeader:
    """``events/header_page``: where a ring-buffer page keeps its time stamp, its
    commit (bytes of data, plus the missed-events flags) and its data."""

    timestamp_offset: int
    timestamp_size: int
    commit_offset: int
    commit_size: int
    data_offset: int
    data_size: int
    text: str = ""

    @property
    def page_size(self) -> int:
        return self.data_offset + self.data_size

    # The commit word's top bits (kernel/trace/ring_buffer.c, RB_MISSED_*).
    MISSED_EVENTS = 1 << 31
    MISSED_STORED = 1 << 30
    COMMIT_MASK = (1 << 27) - 1


def parse_header_page(text: str) -> PageHeader:
    found: Dict[str, Field] = {}
    for line in text.splitlines():
        f = _parse_field(line)
        if f is not None and f.name not in found:
            found[f.name] = f
    missing = [n for n in ("timestamp", "commit", "data") if n not in found]
    if missing:
        raise FormatError(f"events/header_page has no {', '.join(missing)} field")
    ts, commit, data = found["timestamp"], found["commit"], found["data"]
    return PageHeader(
        timestamp_offset=ts.offset,
        timestamp_size=ts.size,
        commit_offset=commit.offset,
        commit_size=commit.size,
        data_offset=data.offset,
        data_size=data.size,
        text=text,
    )


@dataclass(frozen=True)
class RecordHeader:
    """``events/header_event``: the compressed 32-bit header of every record."""

    type_len_bits: int
    time_delta_bits: int
    padding: int
    time_extend: int
    time_stamp: int
    data_max_type_len: int
    text: str = ""


_BITS = re.compile(r"^\s*(\w+)\s*:\s*(\d+)\s*bits")
_TYPE_EQ = re.compile(r"^\s*(\w+)\s*:\s*type\s*==\s*(\d+)")
_DATA_MAX = re.compile(r"data max type_len\s*==\s*(\d+)")


def parse_header_event(text: str) -> RecordHeader:
    bits: Dict[str, int] = {}
    types: Dict[str, int] = {}
    data_max: Optional[int] = None
    for line in text.splitlines():
        if m := _BITS.match(line):
            bits[m.group(1)] = int(m.group(2))
        elif m := _TYPE_EQ.match(line):
            types[m.group(1)] = int(m.group(2))
        elif m := _DATA_MAX.search(line):
            data_max = int(m.group(1))
    need = [n for n in ("type_len", "time_delta") if n not in bits]
    need += [n for n in ("padding", "time_extend", "time_stamp") if n not in types]
    if need or data_max is None:
        raise FormatError(
            "events/header_event does not describe "
            + ", ".join(need + ([] if data_max is not None else ["data max type_len"]))
        )
    if bits["type_len"] + bits["time_delta"] != 32:
        raise FormatError("events/header_event: type_len and time_delta do not fill 32 bits")
    return RecordHeader(
        type_len_bits=bits["type_len"],
        time_delta_bits=bits["time_delta"],
        padding=types["padding"],
        time_extend=types["time_extend"],
        time_stamp=types["time_stamp"],
        data_max_type_len=data_max,
        text=text,
    )


def index_by_id(formats: Iterable[EventFormat]) -> Dict[int, EventFormat]:
    return {f.id: f for f in formats}
