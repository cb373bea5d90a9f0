"""The raw pages a live view keeps for a save (engine/raw/page_ring.py): bounded in bytes,
oldest first out, and sized with the ring of lines beside them."""

from __future__ import annotations

from ftop.engine.raw.page_ring import DEFAULT_BYTES, MIN_BYTES, PageRing, budget_for
from ftop.engine.stream.ring import Ring


def test_the_default_ring_keeps_the_default_pages() -> None:
    ring = Ring()
    assert budget_for(ring.max_entries, ring.max_bytes) == DEFAULT_BYTES


def test_a_small_ring_keeps_few_pages_and_a_huge_one_no_more_than_its_text() -> None:
    # --ring 100000 (the CI soak's): a tenth of the default's pages, so they are full
    # about when the lines are, not minutes later.
    assert budget_for(100_000, 160 * 2**20) == DEFAULT_BYTES // 10
    assert budget_for(1_000, 160 * 2**20) == MIN_BYTES
    assert budget_for(50_000_000, 160 * 2**20) == 160 * 2**20


def test_pages_past_the_budget_go_oldest_first() -> None:
    pr = PageRing(max_bytes=3 * 4096)
    pages = [bytes([i]) * 4096 for i in range(5)]
    pr.extend(0, pages[:2])
    pr.extend(1, pages[2:])
    kept = pr.snapshot()
    assert [p[0] for _, p in kept] == [2, 3, 4]
    assert [cpu for cpu, _ in kept] == [1, 1, 1]
    assert pr.evicted == 2 and pr.bytes == 3 * 4096 and len(pr) == 3
