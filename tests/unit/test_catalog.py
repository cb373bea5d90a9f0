"""The function catalog (ftop.engine.ftrace.catalog) on the real 6.1-rt catalog and the kernel's own answers."""

from __future__ import annotations

from typing import List, Set

import pytest
from captures import LAB, lab_text
from ftop.engine.errors import FtopError, InvalidArgument
from ftop.engine.ftrace.catalog import Catalog, compile_pattern, glob_to_regex


@pytest.fixture(scope="module")
def catalog_text() -> str:
    return lab_text("available_filter_functions.txt")


@pytest.fixture(scope="module")
def cat(catalog_text: str) -> Catalog:
    return Catalog.from_text(catalog_text).prepare()


def kernel_glob_match(pat: str, s: str) -> bool:
    """lib/glob.c glob_match(), ported character by character (the reference)."""
    p, i = pat + "\0", 0
    t, j = s + "\0", 0
    back_p = back_t = -1
    while True:
        c, d = t[j], p[i]
        j += 1
        i += 1
        if d == "?":
            if c == "\0":
                return False
            continue
        if d == "*":
            if p[i] == "\0":
                return True
            back_p, back_t = i, j - 1
            j -= 1
            continue
        literal = True
        if d == "[":
            inverted = p[i] == "!"
            k = i + inverted
            a = p[k]
            k += 1
            match = False
            malformed = False
            while True:
                b = a
                if a == "\0":
                    malformed = True
                    break
                if p[k] == "-" and p[k + 1] != "]":
                    b = p[k + 1]
                    if b == "\0":
                        malformed = True
                        break
                    k += 2
                match |= a <= c <= b
                a = p[k]
                k += 1
                if a == "]":
                    break
            if not malformed:
                literal = False
                if match != inverted:
                    i = k
                    continue
        elif d == "\\":
            d = p[i]
            i += 1
        if literal and c == d:
            if d == "\0":
                return True
            continue
        if c == "\0" or back_p < 0:
            return False
        i = back_p
        back_t += 1
        j = back_t


def reference_match(cat: Catalog, pattern: str) -> List[int]:
    """What ftrace_match() selects, computed naively from the kernel's rules."""
    kp = compile_pattern(pattern)
    out = []
    for i, name in enumerate(cat.names, 1):
        if kp.type == "full":
            ok = name == kp.search
        elif kp.type == "front":
            ok = name.startswith(kp.search)
        elif kp.type == "end":
            ok = name.endswith(kp.search)
        elif kp.type == "middle":
            ok = kp.search in name
        else:
            ok = kernel_glob_match(kp.search, name)
        if ok:
            out.append(i)
    return out


def names_in_filter_readback(text: str) -> Set[str]:
    return {ln.split(" [")[0] for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


# -- loading -----------------------------------------------------------------------------


def test_index_is_the_line_number_and_module_lines_split(catalog_text: str, cat: Catalog) -> None:
    lines = catalog_text.splitlines()
    assert len(cat) == len(lines) > 30_000
    for i in (1, 2, len(lines) // 2, len(lines)):
        assert cat.line(i) == lines[i - 1]
    mod_lines = [(i, ln) for i, ln in enumerate(lines, 1) if ln.endswith("]")]
    assert mod_lines, "the lab kernel has module functions"
    i, ln = mod_lines[0]
    name, mod = cat.entry(i)
    assert ln == f"{name} [{mod}]" and " " not in name and mod
    assert all(cat.modules[i - 1] == "" for i, ln in enumerate(lines[:50], 1) if "[" not in ln)


def test_duplicate_names_keep_every_index(cat: Catalog) -> None:
    dups = [n for n in set(cat.names) if len(cat.indices_of(n)) > 1]
    assert dups, "static functions sharing a name appear more than once in a real catalog"
    n = dups[0]
    assert all(cat.entry(i)[0] == n for i in cat.indices_of(n))


# -- the kernel's pattern rules -------------------------------------------------------------


@pytest.mark.parametrize(
    "text,kind,search,negate",
    [
        ("vfs_read", "full", "vfs_read", False),
        ("vfs_*", "front", "vfs_", False),
        ("*_read", "end", "_read", False),
        ("*read*", "middle", "read", False),
        ("vfs_*read", "glob", "vfs_*read", False),
        ("vfs_rea?", "glob", "vfs_rea?", False),
        ("vfs_[rw]*", "glob", "vfs_[rw]*", False),
        ("!vfs_*", "front", "vfs_", True),
        ("1234", "index", "1234", False),
        # A module pattern starting with a digit is an index to the kernel too.
        ("9p", "index", "9p", False),
    ],
)
def test_compile_pattern_classifies_as_filter_parse_regex(
    text: str, kind: str, search: str, negate: bool
) -> None:
    kp = compile_pattern(text)
    assert (kp.type, kp.search, kp.negate) == (kind, search, negate)


@pytest.mark.parametrize(
    "pattern,name,expected",
    [
        ("vfs_[!r]*", "vfs_read", False),
        ("vfs_[!r]*", "vfs_write", True),
        ("[]x]y", "]y", True),
        ("a[x-]", "a-", True),
        ("a[b-d]e", "ace", True),
        ("a[b-d]e", "aee", False),
        ("a[bc", "a[bc", True),  # malformed class: '[' is literal
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("*a*b?c", "xxaYYbZc", True),
    ],
)
def test_glob_to_regex_agrees_with_lib_glob(pattern: str, name: str, expected: bool) -> None:
    import re

    assert kernel_glob_match(pattern, name) is expected
    assert (re.fullmatch(glob_to_regex(pattern), name, re.DOTALL) is not None) is expected


@pytest.mark.parametrize(
    "pattern",
    ["vfs_*", "*_read", "*lock*", "vfs_rea?", "vfs_[rw]*", "*_[!a-m]?ock", "ext4_*", "*.isra.0"],
)
def test_match_selects_what_the_kernel_rules_select(cat: Catalog, pattern: str) -> None:
    assert cat.match(pattern) == reference_match(cat, pattern)


def test_vfs_glob_selects_what_the_kernel_selected() -> None:
    """The kernel's own answer: `echo 'vfs_*' > set_ftrace_filter; cat set_ftrace_filter`."""
    cat = Catalog.from_text(lab_text("available_filter_functions.txt"))
    kernel = names_in_filter_readback(lab_text("set_ftrace_filter.glob-vfs.txt"))
    ours = {cat.entry(i)[0] for i in cat.match("vfs_*")}
    assert kernel and ours == kernel


def test_mod_pattern_selects_what_the_kernel_selected(cat: Catalog) -> None:
    files = sorted(LAB.glob("set_ftrace_filter.mod-*.txt"))
    assert files, f"lab captures set_ftrace_filter.mod-*.txt missing from {LAB}"
    from ftop.engine.ftrace.filter import parse_filter

    text = files[0].read_text()
    mod = files[0].name[len("set_ftrace_filter.mod-") : -len(".txt")]
    kernel = set(parse_filter(text).names)
    ours = {cat.entry(i)[0] for i in cat.match(f":mod:{mod}")}
    assert ours == kernel
    if mod[0].isdigit():
        # The kernel selected nothing; the search's word for the module does select it.
        word = cat.search(f"{mod}:").pattern
        assert word == f":mod:*{mod}" and cat.match(word) == cat.indices_for_module(mod)


def test_module_forms(cat: Catalog) -> None:
    mod = next(m for m in cat.module_names() if not m[0].isdigit())
    every = cat.match(f":mod:{mod}")
    assert every and all(cat.modules[i - 1] == mod for i in every)
    assert len(every) == len(cat.indices_for_module(mod))
    some = cat.match(f"*a*:mod:{mod}")
    assert some == [i for i in every if "a" in cat.names[i - 1]]
    # Blank module: every module function; '!' blank: only the kernel image.
    any_mod = cat.match(":mod:")
    assert len(any_mod) == sum(1 for m in cat.modules if m)
    image = cat.match(":mod:!")
    assert len(image) == sum(1 for m in cat.modules if not m)
    # Excluding one module keeps the image and every other module.
    assert len(cat.match(f":mod:!{mod}")) == len(cat) - len(every)


# -- search as you type -------------------------------------------------------------------


def test_plain_query_is_a_substring_written_as_middle_glob(cat: Catalog) -> None:
    r = cat.search("vfs_read", limit=3)
    assert r.pattern == "*vfs_read*"
    assert r.total == len(reference_match(cat, "*vfs_read*")) >= 1
    assert len(r.indices) == min(3, r.total)
    assert all("vfs_read" in cat.names[i - 1] for i in r.indices)
    assert sum(n for _, n in r.by_module) == r.total


def test_typing_narrows_with_the_same_answer_as_a_fresh_search(cat: Catalog) -> None:
    fresh = Catalog(list(cat.names), list(cat.modules))
    for q in ("s", "sc", "sch", "sche", "sched"):
        cat.search(q)
    assert cat.search("schedu").total == fresh.search("schedu").total
    assert cat.search("schedu", 10_000).indices == fresh.search("schedu", 10_000).indices


def test_glob_and_module_queries(cat: Catalog) -> None:
    r = cat.search("vfs_*", limit=10_000)
    assert r.pattern == "vfs_*"
    assert r.indices == reference_match(cat, "vfs_*")
    mod = next(m for m in cat.module_names() if not m[0].isdigit())
    r_mod = cat.search(f"{mod}:")
    assert r_mod.pattern == f":mod:{mod}"
    assert r_mod.by_module == [(mod, r_mod.total)]
    r2 = cat.search(f"{mod}:re")
    assert r2.pattern == f"*re*:mod:{mod}"
    assert r2.total == len(cat.match(f"*re*:mod:{mod}"))


def test_module_starting_with_a_digit() -> None:
    """6.1 refuses `:mod:9p` (EINVAL: a leading digit makes it an index); `*9p` works."""
    cat = Catalog.from_text("a\nv9fs_read [9p]\nv9fs_write [9p]\np9_client [9pnet]\n")
    assert cat.match(":mod:9p") == []  # as the kernel
    r = cat.search("9p:")
    assert r.pattern == ":mod:*9p"
    assert r.indices == [2, 3]
    assert cat.search("9pnet:").indices == [4]


def test_index_query_and_empty_query(cat: Catalog) -> None:
    r = cat.search("5")
    assert r.indices == [5] and r.total == 1
    assert cat.search("   ").total == 0
    assert cat.search(":x").error


def test_grouping_by_module_is_sorted_by_count(cat: Catalog) -> None:
    r = cat.search("read")
    counts = [n for _, n in r.by_module]
    assert counts == sorted(counts, reverse=True)
    assert dict(r.by_module).get("", 0) > 0


def test_trigger_word_is_not_a_selection(cat: Catalog) -> None:
    with pytest.raises(FtopError, match="traceoff"):
        cat.match("vfs_read:traceoff")


# -- why a name is refused -------------------------------------------------------------------


def test_reason_untraceable(cat: Catalog) -> None:
    assert cat.reason_untraceable("vfs_read") is None
    clone = next(n for n in cat.names if n.endswith(".isra.0") and n[: -len(".isra.0")] not in cat)
    base = clone[: -len(".isra.0")]
    why = cat.reason_untraceable(base)
    assert why is not None and clone in why.reason
    absent = cat.reason_untraceable("no_such_function_q", kallsyms=set())
    assert absent is not None and absent.in_kallsyms is False and "inlined" in absent.reason
    notrace = cat.reason_untraceable("my_notrace_fn", kallsyms={"my_notrace_fn"})
    assert notrace is not None and notrace.in_kallsyms and "notrace" in notrace.reason


def test_explain_refusal_tells_catalog_miss_from_kernel_refusal(cat: Catalog) -> None:
    err = InvalidArgument("set_ftrace_filter", "append", 22, "rejected", "no_such_function_q")
    assert "no_such_function_q" in cat.explain_refusal("no_such_function_q", err)
    assert "not in available_filter_functions" in cat.explain_refusal("no_such_function_q", err)
    assert "matches no function" in cat.explain_refusal("zz_no_*", err)
    assert "refused it" in cat.explain_refusal("vfs_read", err)
