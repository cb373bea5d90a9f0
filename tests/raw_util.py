"""What the raw pipeline's tests share."""

# Events of the captures whose print fmt cannot be evaluated, and why.
EXPECTED_UNSUPPORTED = {
    # "%s" of a const char * into kernel memory (not in the record)
    "rcu:rcu_utilization",
    # pfn -> struct page arithmetic with vmemmap_base, a kernel variable
    "kmem:mm_page_alloc",
    "kmem:mm_page_free",
    # enum names the kernel left unresolved in __print_symbolic/__print_flags
    "timer:hrtimer_start",  # HRTIMER_MODE_ABS
    "timer:hrtimer_setup",  # HRTIMER_MODE_ABS
    "writeback:writeback_mark_inode_dirty",  # I_DIRTY_SYNC
    "writeback:writeback_dirty_inode_start",
    "writeback:writeback_dirty_inode",
    "block:block_io_start",  # IOPRIO_CLASS_NONE
    "block:block_io_done",
    "block:block_rq_insert",
    "block:block_rq_issue",
    "block:block_rq_complete",
}

# Beyond the captures, the live test meets more of the same kinds.
KNOWN_UNSUPPORTED = EXPECTED_UNSUPPORTED | {
    "kmem:mm_page_free_batched",  # vmemmap_base, as mm_page_alloc
    "kmem:mm_page_alloc_zone_locked",  # vmemmap_base
    "kmem:mm_page_pcpu_drain",  # vmemmap_base
}
