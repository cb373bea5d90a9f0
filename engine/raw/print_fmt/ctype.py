"""C types as far as the renderer needs them: kinds, sizes and signedness, the
integer conversions of C as code or values, and the kernel's type names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

INT, PTR, STR, BUF = "int", "ptr", "str", "buf"


@dataclass(frozen=True)
class CType:
    kind: str  # INT: an integer; PTR: an address (int); STR: bytes (a C string); BUF: bytes from a pointer into the record on
    size: int = 4
    signed: bool = True
    elem: int = 1  # BUF: bytes per element
    elem_signed: bool = False
    # BUF of a record field at a fixed offset: that offset (lets REC->arr[2] be a fixed read)
    base: Optional[int] = None
    is_char: bool = False  # PTR/BUF: points at chars


T_INT = CType(INT, 4, True)
T_UINT = CType(INT, 4, False)
T_STR = CType(STR)


def _int_t(size: int, signed: bool) -> CType:
    return CType(INT, size, signed)


def _lo_hi(t: CType) -> Tuple[int, int]:
    bits = t.size * 8
    if t.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _fits(src: CType, dst: CType) -> bool:
    a, b = _lo_hi(src)
    c, d = _lo_hi(dst)
    return c <= a and b <= d


def _wrap_code(code: str, t: CType) -> str:
    bits = t.size * 8
    mask = (1 << bits) - 1
    if t.signed:
        half = 1 << (bits - 1)
        return f"(((({code}) + {half:#x}) & {mask:#x}) - {half:#x})"
    return f"(({code}) & {mask:#x})"


def _wrap_value(v: int, t: CType) -> int:
    bits = t.size * 8
    v &= (1 << bits) - 1
    if t.signed and v >> (bits - 1):
        v -= 1 << bits
    return v


_TYPEDEFS: Dict[str, Tuple[int, bool]] = {
    "u8": (1, False),
    "s8": (1, True),
    "u16": (2, False),
    "s16": (2, True),
    "u32": (4, False),
    "s32": (4, True),
    "u64": (8, False),
    "s64": (8, True),
    "__u8": (1, False),
    "__s8": (1, True),
    "__u16": (2, False),
    "__s16": (2, True),
    "__u32": (4, False),
    "__s32": (4, True),
    "__u64": (8, False),
    "__s64": (8, True),
    "__le16": (2, False),
    "__le32": (4, False),
    "__le64": (8, False),
    "__be16": (2, False),
    "__be32": (4, False),
    "__be64": (8, False),
    "uint8_t": (1, False),
    "uint16_t": (2, False),
    "uint32_t": (4, False),
    "uint64_t": (8, False),
    "int8_t": (1, True),
    "int16_t": (2, True),
    "int32_t": (4, True),
    "int64_t": (8, True),
    "u_int8_t": (1, False),
    "u_int16_t": (2, False),
    "u_int32_t": (4, False),
    "u_int64_t": (8, False),
    "uint": (4, False),
    "ushort": (2, False),
    "unchar": (1, False),
    "bool": (1, False),
    "_Bool": (1, False),
    "gfp_t": (4, False),
    "__kernel_rwf_t": (4, True),
    "rwf_t": (4, True),
    "slab_flags_t": (4, False),
    "fmode_t": (4, False),
    "blk_opf_t": (4, False),
    "blk_status_t": (1, False),
    "pid_t": (4, True),
    "uid_t": (4, False),
    "gid_t": (4, False),
    "dev_t": (4, False),
    "umode_t": (2, False),
    "mode_t": (4, False),
    "xfs_agnumber_t": (4, False),
    "xfs_agblock_t": (4, False),
    "xfs_extlen_t": (4, False),
    "xfs_ino_t": (8, False),
    "xfs_fsblock_t": (8, False),
    "xfs_rfsblock_t": (8, False),
    "xfs_fileoff_t": (8, False),
    "xfs_filblks_t": (8, False),
    "xfs_daddr_t": (8, True),
    "xfs_off_t": (8, True),
    "xfs_fsize_t": (8, True),
    "xfs_lsn_t": (8, True),
    "xfs_rtblock_t": (8, False),
    "xfs_rgnumber_t": (4, False),
}
# sized by long: filled per Env.long_size
_LONG_TYPEDEFS = {
    "size_t": False,
    "ssize_t": True,
    "ulong": False,
    "uintptr_t": False,
    "intptr_t": True,
    "ptrdiff_t": True,
    "loff_t": True,
    "sector_t": False,
    "phys_addr_t": False,
    "dma_addr_t": False,
    "resource_size_t": False,
    "time64_t": True,
    "ktime_t": True,
    "blkcnt_t": False,
    "pgoff_t": False,
    "off_t": True,
}
_TYPE_WORDS = {
    "unsigned",
    "signed",
    "char",
    "short",
    "int",
    "long",
    "const",
    "volatile",
    "void",
    "struct",
    "union",
    "enum",
    "__signed__",
}
