"""The stack tracer (ftop.engine.ftrace.stack_tracer) on the real 6.1-rt stack_trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from captures import lab_text
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change, apply
from ftop.engine.ftrace.stack_tracer import (
    STACK_TRACER_SYSCTL,
    StackHistory,
    parse_stack_trace,
    plan_enable,
    plan_reset_max,
    read_stack_trace,
)

DISABLED = """\
        Depth    Size   Location    (25 entries)
        -----    ----   --------
  0)     3368      48   __rcu_read_lock+0x5/0x30
  1)     3320      16   rt_spin_trylock+0x23/0x40
 12)     1944     120   p9_get_mapped_pages.part.0.constprop.0+0x6f/0x2c0 [9pnet_virtio]
 24)      176     176   entry_SYSCALL_64_after_hwframe+0x6e/0xd8
#
#  Stack tracer disabled
#
# To enable the stack tracer, either add 'stacktrace' to the
# kernel command line
# or 'echo 1 > /proc/sys/kernel/stack_tracer_enabled'
#
"""


def test_real_stack_trace_table() -> None:
    text = lab_text("stack_trace.txt")
    st = parse_stack_trace(text)
    assert st.frames and not st.unparsed
    assert st.entries == len(st.frames)
    assert [f.index for f in st.frames] == list(range(len(st.frames)))
    # Each row's depth is the next row's depth plus this frame's size.
    for a, b in zip(st.frames, st.frames[1:]):
        assert a.depth - b.depth == a.size, a
    last = st.frames[-1]
    assert last.depth == last.size
    assert (st.entries, st.frames[0].function, last.function) == (
        36,
        "__update_load_avg_se",
        "entry_SYSCALL_64_after_hwframe",
    )
    # Every row is "symbol+0xoff/0xlen" but row 9, the ftrace trampoline that
    # called stack_trace_call, printed as a bare address.
    assert [f.index for f in st.frames if f.offset is None or f.length is None] == [9]
    assert st.frames[9].function == "0xffffffffc0494083"
    assert (st.frames[17].function, st.frames[17].module) == ("p9_tag_alloc", "9pnet")
    # The deepest frame's depth is the maximum; stack_max_size.txt was read just
    # before stack_trace.txt, so it holds the same figure.
    assert st.max_size == st.frames[0].depth == int(lab_text("stack_max_size.txt")) == 4448


def test_module_offset_and_disabled_comment() -> None:
    st = parse_stack_trace(DISABLED)
    assert st.entries == 25 and len(st.frames) == 4 and not st.unparsed
    f = st.frames[2]
    assert (f.index, f.depth, f.size) == (12, 1944, 120)
    assert f.function == "p9_get_mapped_pages.part.0.constprop.0"
    assert (f.offset, f.length, f.module) == (0x6F, 0x2C0, "9pnet_virtio")
    assert st.frames[0].module == ""


def test_read_stack_trace_takes_max_size_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "stack_trace").write_text(DISABLED)
    (tmp_path / "stack_max_size").write_text("3368\n")
    st = read_stack_trace(Tracefs(tmp_path, "inst"))  # read from the top level
    assert st.max_size == 3368 and len(st.frames) == 4


def test_enable_step_is_an_ordinary_change_on_the_sysctl_path(tmp_path: Path) -> None:
    """Session.apply needs no special case: an absolute rel addresses the sysctl,
    and the transaction's undo puts the old value back on rollback."""
    ch = plan_enable(True)
    assert (ch.rel, ch.value) == (STACK_TRACER_SYSCTL, "1")
    sysctl = tmp_path / "stack_tracer_enabled"
    sysctl.write_text("0\n")
    tfs_root = tmp_path / "tracing"
    tfs_root.mkdir()
    (tfs_root / "tracing_on").write_text("1\n")
    tfs = Tracefs(tfs_root)
    apply(tfs, [Change(str(sysctl), ch.value)])
    assert sysctl.read_text() == "1\n"
    # A later refused step rolls the sysctl back.
    from ftop.engine.control.transaction import TransactionError

    sysctl.write_text("0\n")
    with pytest.raises(TransactionError):
        apply(tfs, [Change(str(sysctl), "1"), Change("no/such/file", "x")])
    assert sysctl.read_text().strip() == "0"


def test_reset_and_history() -> None:
    assert plan_reset_max().rel == "stack_max_size" and plan_reset_max().value == "0"
    h = StackHistory(limit=3)
    assert h.add(100, now=1.0) == 100
    assert h.add(100, now=2.0) is None
    for i, v in enumerate((200, 300, 400)):
        h.add(v, now=3.0 + i)
    assert [v for _, v in h.samples] == [200, 300, 400]
