"""Symbols for the raw renderer where /proc/kallsyms hides its addresses.

With kptr_restrict, /proc/kallsyms lists every address as zeros (the first lines
below are the form a 6.18 kernel prints then); available_filter_functions_addrs
(Linux 6.5+, "address name [module]") still gives the traceable functions'
addresses to root. No capture of the latter is possible on the build machine
(the file is refused with EPERM there, like the function tracer), so the lines
follow the kernel's format (kernel/trace/ftrace.c, t_show with FTRACE_ITER_ADDRS).
"""

from __future__ import annotations

from pathlib import Path

from ftop.engine.raw.stream import usable_kallsyms
from ftop.engine.raw.symbols import Kallsyms

HIDDEN = (
    "0000000000000000 A fixed_percpu_data\n0000000000000000 T _stext\n0000000000000000 t vfs_read\n"
)
ADDRS = "ffffffff81400000 vfs_read\nffffffff81400200 vfs_write\nffffffffc0a01000 ext4_sync_fs [ext4]\nffffffffc0a01100 ext4_end [ext4]\n"


def test_hidden_kallsyms_give_way_to_the_filter_addresses(tmp_path: Path) -> None:
    (tmp_path / "available_filter_functions_addrs").write_text(ADDRS)
    text = usable_kallsyms(HIDDEN, tmp_path)
    syms = Kallsyms.from_kallsyms(text)
    assert syms.name(0xFFFFFFFF81400004, module=False) == "vfs_read"
    assert syms.name(0xFFFFFFFF81400004, offset=True) == "vfs_read+0x4/0x200"
    assert syms.name(0xFFFFFFFFC0A01010) == "ext4_sync_fs [ext4]"


def test_readable_kallsyms_are_kept_and_a_missing_file_changes_nothing(tmp_path: Path) -> None:
    # as x86_64 lists them: the per-CPU symbols first, at 0, then the rest
    real = "0000000000000000 A fixed_percpu_data\nffffffff81000000 T _stext\n"
    assert usable_kallsyms(real, tmp_path) == real
    assert usable_kallsyms(HIDDEN, tmp_path) == HIDDEN  # no addrs file: as it was
