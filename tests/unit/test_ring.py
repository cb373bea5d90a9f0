"""Behaviour of the bounded ring of raw trace lines (ftop.engine.stream.ring)."""

from __future__ import annotations

import random
import threading

import pytest
from ftop.engine.stream.ring import Ring


def lines(a: int, b: int) -> list[str]:
    return [f"line {i}" for i in range(a, b)]


def test_append_returns_increasing_sequence_numbers_and_get_reads_them_back() -> None:
    ring = Ring(max_entries=4)
    assert [ring.append(s) for s in ["a", "bb", "ccc"]] == [0, 1, 2]
    assert (ring.first_seq, ring.next_seq, len(ring)) == (0, 3, 3)
    assert [ring.get(i) for i in range(3)] == ["a", "bb", "ccc"]
    assert ring.bytes == 6


def test_entry_bound_evicts_oldest_and_counts_them() -> None:
    ring = Ring(max_entries=3)
    for s in ["a", "b", "c", "d", "e"]:
        ring.append(s)
    assert len(ring) == 3
    assert ring.first_seq == 2
    assert ring.evicted == 2
    assert ring.window(0, 10) == ["c", "d", "e"]
    assert ring.bytes == 3


def test_get_of_evicted_or_unwritten_sequence_raises_index_error() -> None:
    ring = Ring(max_entries=2)
    ring.extend(["a", "b", "c"])
    with pytest.raises(IndexError):
        ring.get(0)
    with pytest.raises(IndexError):
        ring.get(3)
    assert ring.get(1) == "b"
    assert ring.get(2) == "c"


def test_extend_wraps_around_the_end_of_the_storage() -> None:
    ring = Ring(max_entries=5)
    ring.extend(lines(0, 3))
    ring.extend(lines(3, 8))  # writes slots 3,4 then 0,1,2
    assert ring.first_seq == 3
    assert ring.window(3, 5) == lines(3, 8)
    assert [ring.get(i) for i in range(3, 8)] == lines(3, 8)
    assert ring.evicted == 3
    assert ring.bytes == sum(map(len, lines(3, 8)))


def test_extend_returns_first_sequence_of_batch() -> None:
    ring = Ring(max_entries=10)
    assert ring.extend(["x", "y"]) == 0
    assert ring.extend(["z"]) == 2
    assert ring.extend([]) == 3


def test_batch_longer_than_ring_keeps_its_tail_and_counts_the_rest_evicted() -> None:
    ring = Ring(max_entries=4)
    ring.extend(["old"])
    ring.extend(lines(0, 10))
    assert len(ring) == 4
    assert ring.next_seq == 11
    assert ring.first_seq == 7
    assert ring.window(0, 100) == lines(6, 10)
    assert ring.evicted == 7  # "old" plus lines 0..5
    assert ring.bytes == sum(map(len, lines(6, 10)))


def test_byte_bound_evicts_oldest_until_text_fits() -> None:
    ring = Ring(max_entries=100, max_bytes=10)
    ring.extend(["aaaa", "bbbb"])  # 8 chars
    ring.append("cccc")  # 12 > 10: "aaaa" must go
    assert ring.window(0, 10) == ["bbbb", "cccc"]
    assert ring.bytes == 8
    assert ring.evicted == 1
    ring.extend(["dddddddd"])  # 16: both older lines go
    assert ring.window(0, 10) == ["dddddddd"]
    assert ring.bytes == 8
    assert ring.evicted == 3


def test_byte_bound_holds_after_many_wrapping_batches() -> None:
    ring = Ring(max_entries=50, max_bytes=1000)
    for i in range(200):
        ring.extend([f"{i:04d}" + "x" * (i % 37) for _ in range(7)])
        assert ring.bytes <= 1000
        assert len(ring) <= 50
        held = ring.window(ring.first_seq, len(ring))
        assert sum(map(len, held)) == ring.bytes
    assert ring.evicted == 200 * 7 - len(ring)


def test_line_longer_than_byte_bound_is_not_kept() -> None:
    ring = Ring(max_entries=10, max_bytes=5)
    ring.append("abcdefgh")
    assert len(ring) == 0
    assert ring.bytes == 0
    assert ring.evicted == 1
    assert ring.next_seq == 1


def test_window_is_clamped_to_what_is_held() -> None:
    ring = Ring(max_entries=5)
    ring.extend(lines(0, 8))  # holds 3..7
    assert ring.window(0, 4) == ["line 3"]  # starts at first_seq, ends at 0+4
    assert ring.window(6, 10) == ["line 6", "line 7"]
    assert ring.window(8, 3) == []
    assert ring.window(5, 0) == []


def test_tail_returns_newest_lines() -> None:
    ring = Ring(max_entries=5)
    ring.extend(lines(0, 7))
    assert ring.tail(2) == ["line 5", "line 6"]
    assert ring.tail(50) == lines(2, 7)


def test_clear_drops_lines_but_sequence_keeps_counting() -> None:
    ring = Ring(max_entries=5)
    ring.extend(lines(0, 3))
    ring.clear()
    assert len(ring) == 0
    assert ring.bytes == 0
    assert ring.first_seq == ring.next_seq == 3
    assert ring.evicted == 0
    assert ring.append("after") == 3
    assert ring.window(0, 10) == ["after"]


def test_evicted_blocks_are_released() -> None:
    ring = Ring(max_entries=7)
    ring.extend(lines(0, 5))
    ring.extend(lines(5, 10))  # holds 3..9: both batches still hold a line
    assert ring.blocks == 2
    ring.extend(lines(10, 15))  # holds 8..14: the first batch is gone entirely
    assert ring.blocks == 2
    for i in range(15, 1000, 5):
        ring.extend(lines(i, i + 5))
    assert ring.blocks == 2 and ring.window(990, 10) == lines(993, 1000)


def test_lines_with_newlines_and_single_appends_between_batches() -> None:
    ring = Ring(max_entries=1000)
    ring.extend(["a\nb", "", "c"])
    for i in range(300):  # more than one open block's worth
        ring.append(f"x{i}")
    ring.extend(["d", "e\n"])
    assert ring.window(0, 3) == ["a\nb", "", "c"]
    assert ring.get(3) == "x0" and ring.get(302) == "x299"
    assert ring.tail(2) == ["d", "e\n"]
    assert ring.bytes == 3 + 1 + sum(len(f"x{i}") for i in range(300)) + 1 + 2


def test_the_ring_behaves_as_a_bounded_list_whatever_the_mix_of_calls() -> None:
    """A model check: random appends, batches (some longer than the ring), clears
    and bounds in lines and bytes, against a plain list doing the same."""
    rnd = random.Random(9)
    for _ in range(40):
        cap, max_bytes = rnd.randint(1, 60), rnd.randint(1, 400)
        ring = Ring(max_entries=cap, max_bytes=max_bytes)
        model: list[str] = []
        first = nxt = evicted = 0
        for _ in range(200):
            op = rnd.random()
            if op < 0.05:
                ring.clear()
                first, model = nxt, []
                continue
            if op < 0.5:
                batch = [rnd.choice(["", "ab", "x\ny", "long line " * rnd.randint(0, 3)])]
                ring.append(batch[0])
            else:
                batch = [f"L{nxt + i}" * rnd.randint(0, 2) for i in range(rnd.randint(0, 90))]
                ring.extend(batch)
            model += batch
            nxt += len(batch)
            while len(model) > cap or sum(map(len, model)) > max_bytes:
                model.pop(0)
                first += 1
                evicted += 1
            assert (ring.first_seq, ring.next_seq, ring.evicted) == (first, nxt, evicted)
            assert ring.bytes == sum(map(len, model))
            assert ring.window(0, nxt + 5) == model
            if model:
                k = rnd.randrange(len(model))
                assert ring.get(first + k) == model[k]
                assert ring.window(first + k, 3) == model[k : k + 3]


def test_invalid_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        Ring(max_entries=0)
    with pytest.raises(ValueError):
        Ring(max_bytes=0)


def test_reader_thread_never_sees_torn_or_missing_lines_while_writer_wraps() -> None:
    ring = Ring(max_entries=64, max_bytes=64 * 12)
    stop = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        seq = 0
        while seq < 40_000:
            batch = [f"L{seq + i:08d}" for i in range(17)]
            ring.extend(batch)
            seq += 17
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            first = ring.first_seq
            got = ring.window(first, 64)
            for line in got:
                if not isinstance(line, str) or not line.startswith("L"):
                    errors.append(repr(line))
            # Consecutive lines in a window are consecutive sequence numbers.
            nums = [int(s[1:]) for s in got]
            if nums and nums != list(range(nums[0], nums[0] + len(nums))):
                errors.append(f"gap in {nums[:3]}...")
            try:
                line = ring.get(first)
                assert line == f"L{first:08d}"
            except IndexError:
                pass  # evicted between the two calls: allowed

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:5]
    assert ring.next_seq == 2353 * 17  # batches of 17 until 40_000 was passed
    assert ring.bytes <= 64 * 12


_MMAP_PROBE = """
import ctypes, sys
from ftop.engine.stream.ring import pin_mmap_threshold
libc = ctypes.CDLL(None)
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
pinned = pin_mmap_threshold() if sys.argv[1] == "pin" else None
# One 1 MiB block freed: glibc's dynamic threshold would rise to 1 MiB here.
p = libc.malloc(1 << 20); libc.free(p)
before = libc.mallinfo2().hblks
q = libc.malloc(512 << 10)  # a block the size of a ring's text batch, or half
after = libc.mallinfo2().hblks
libc.free(q)
print(pinned, after - before)
"""


def _mmap_probe(mode: str) -> str:
    import subprocess
    import sys

    # A fresh process: the threshold is per process and this one's heap is pytest's.
    out = subprocess.run(
        [sys.executable, "-c", _MMAP_PROBE, mode], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_glibcs_mmap_threshold_is_pinned_where_glibc_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ring's 1 MiB blocks get pages of their own, given back when freed: RSS
    stays flat (bench/ring_memory.py: +0.6 % after 5 M lines more, +5-6 % unpinned).
    Checked by its effect (mallinfo2's count of mmapped blocks), not by the call's
    return: unpinned, a 512 KiB block after a freed 1 MiB one comes from the heap;
    pinned, it gets pages of its own."""
    import os

    from ftop.engine.stream.ring import pin_mmap_threshold

    if not os.confstr("CS_GNU_LIBC_VERSION"):
        assert pin_mmap_threshold() is False
        return
    assert _mmap_probe("unpinned") == "None 0"  # the control: glibc's threshold rose
    assert _mmap_probe("pin") == "True 1"
    monkeypatch.setattr(os, "confstr", lambda name: None)  # as on musl
    assert pin_mmap_threshold() is False
