"""The function catalog (``available_filter_functions``): load, search as the kernel matches.

Each line of ``available_filter_functions`` is a function the function tracer
can hook: ``vfs_read``, or ``ext4_sync_fs [ext4]`` for a module's. Its 1-based
line number is an *index* that ``set_ftrace_filter``, ``set_ftrace_notrace``
and ``stack_trace_filter`` accept as a write value since Linux 5.13, which makes
large selections O(1) per entry instead of a catalog scan per name.

Matching follows the kernel (``filter_parse_regex()`` and ``ftrace_match()`` in
kernel/trace/, ``glob_match()`` in lib/glob.c): a pattern with ``*`` only at
its start and/or end is a suffix/prefix/substring match; any other ``*``, or a
``?``, ``[``, ``\\`` makes it a full glob where ``[!...]`` negates a class; no
wildcard at all is an exact name. ``func:mod:module`` and ``:mod:module``
restrict to a module (the module part is matched the same way, ``!`` in front
of it excludes the module, an empty module means "any module").

Search as the user types is the one place we depart from exact names: a query
with no wildcard is a substring search. ``SearchResult.pattern`` is always the
string that, written to a filter file, selects the same functions.

One piece on purpose (about 650 lines): the kernel-glob translation, the search
index and the "why can this not be traced" reasons answer one question together,
and the benchmark (bench/catalog_search.py) measures them as one per-keystroke path.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from ftop.engine.control.tracefs import Tracefs
from ftop.engine.errors import FtopError, TracefsError

__all__ = [
    "Catalog",
    "KernelPattern",
    "SearchResult",
    "Untraceable",
    "compile_pattern",
    "glob_to_regex",
    "load_kallsyms",
]

# filter_parse_regex() match types, named as in the kernel.
MATCH_FULL = "full"
MATCH_FRONT_ONLY = "front"
MATCH_MIDDLE_ONLY = "middle"
MATCH_END_ONLY = "end"
MATCH_GLOB = "glob"
MATCH_INDEX = "index"

# Suffixes GCC appends to clones of a function (the original may be gone).
_CLONE_SUFFIX = re.compile(r"\.(?:isra|part|constprop|cold|lto_priv|llvm)(?:\.\d+)*")


def glob_to_regex(glob: str) -> str:
    """Translate a pattern the way lib/glob.c ``glob_match()`` reads it into a regex.

    ``*`` is any run (``/`` included), ``?`` any one character, ``[a-z]`` a class
    (``[!...]`` inverted; ``]`` first is a member; ``-`` before ``]`` is a
    member); a class with no closing ``]`` is a literal ``[``; ``\\x`` is ``x``.
    """
    out: List[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\":
            if i < n:
                out.append(re.escape(glob[i]))
                i += 1
            # A trailing backslash compares against the string's end: no match.
            else:
                out.append("(?!)")
        elif c == "[":
            j = i
            inverted = j < n and glob[j] == "!"
            if inverted:
                j += 1
            spans: List[Tuple[str, str]] = []
            ok = False
            first = True
            while j < n:
                a = glob[j]
                if a == "]" and not first:
                    ok = True
                    j += 1
                    break
                first = False
                if j + 2 < n and glob[j + 1] == "-" and glob[j + 2] != "]":
                    spans.append((a, glob[j + 2]))
                    j += 3
                else:
                    spans.append((a, a))
                    j += 1
            if not ok:
                out.append(re.escape("["))  # malformed class: a literal '['
                continue
            parts = []
            for a, b in spans:
                if a == b:
                    parts.append(re.escape(a))
                elif a < b:
                    parts.append(f"{re.escape(a)}-{re.escape(b)}")
                else:
                    parts.append("(?!)")  # the kernel's a<=c<=b never holds
            body = "".join(parts)
            if not body:
                out.append("." if inverted else "(?!)")
            elif inverted:
                out.append(f"[^{body}]")
            else:
                out.append(f"(?:[{body}])")
            i = j
        else:
            out.append(re.escape(c))
    return "".join(out)


@dataclass(frozen=True)
class KernelPattern:
    """One pattern as ``filter_parse_regex()`` classifies it.

    Attributes:
        text: the pattern as given (``!`` included).
        type: ``full``, ``front``, ``middle``, ``end``, ``glob`` or ``index``.
        search: what is compared (wildcards at the ends stripped).
        negate: the pattern began with ``!`` (removal in a filter file,
            exclusion for a module pattern).
    """

    text: str
    type: str
    search: str
    negate: bool

    def matcher(self) -> Callable[[str], bool]:
        """A predicate on a bare function (or module) name."""
        s = self.search
        if self.type == MATCH_FULL:
            return lambda name: name == s
        if self.type == MATCH_FRONT_ONLY:
            return lambda name: name.startswith(s)
        if self.type == MATCH_END_ONLY:
            return lambda name: name.endswith(s)
        if self.type == MATCH_MIDDLE_ONLY:
            return lambda name: s in name
        if self.type == MATCH_GLOB:
            rx = re.compile(glob_to_regex(s), re.DOTALL)
            return lambda name: rx.fullmatch(name) is not None
        return lambda name: False


def compile_pattern(text: str) -> KernelPattern:
    """Classify ``text`` exactly as the kernel's ``filter_parse_regex()`` does."""
    negate = text.startswith("!")
    buf = text[1:] if negate else text
    if buf[:1].isdigit():
        return KernelPattern(text, MATCH_INDEX, buf, negate)
    kind = MATCH_FULL
    search = buf
    for i, c in enumerate(buf):
        if c == "*":
            if i == 0:
                kind = MATCH_END_ONLY
            elif i == len(buf) - 1:
                kind = MATCH_MIDDLE_ONLY if kind == MATCH_END_ONLY else MATCH_FRONT_ONLY
                search = buf[:i]
                break
            else:
                return KernelPattern(text, MATCH_GLOB, buf, negate)
        elif c in "[?\\":
            return KernelPattern(text, MATCH_GLOB, buf, negate)
    if buf.startswith("*"):
        search = search[1:]
    return KernelPattern(text, kind, search, negate)


def _literal_prefix(glob: str) -> str:
    """The part of a glob before its first special character."""
    for i, c in enumerate(glob):
        if c in "*?[\\":
            return glob[:i]
    return glob


def _literal_runs(glob: str) -> List[str]:
    """Runs of plain characters outside classes and escapes (each must appear in a match)."""
    runs: List[str] = []
    cur: List[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c in "*?\\[":
            runs.append("".join(cur))
            cur = []
            if c == "\\":
                i += 2
                continue
            if c == "[":
                close = glob.find("]", i + 1)
                if glob[i + 1 : i + 2] in ("!", "]", "") or close < 0:
                    # Classes that need the full rules: keep only the runs so far.
                    return [r for r in runs if r]
                i = close + 1
                continue
        else:
            cur.append(c)
        i += 1
    runs.append("".join(cur))
    return [r for r in runs if r]


def _has_wildcard(text: str) -> bool:
    return any(c in text for c in "*?[\\")


@dataclass
class SearchResult:
    """What a query matched.

    Attributes:
        query: the query as typed.
        pattern: what to write to a filter file to select the same functions
            (``None`` when the query has no kernel equivalent, e.g. empty).
        indices: 1-based catalog indices of the first ``limit`` matches, in
            catalog order.
        total: how many functions matched in all.
        by_module: match count per module (``""`` for the kernel image),
            largest first.
        error: why the query could not be used, if it could not.
    """

    query: str
    pattern: Optional[str]
    indices: List[int]
    total: int
    by_module: List[Tuple[str, int]] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def truncated(self) -> bool:
        return self.total > len(self.indices)


@dataclass(frozen=True)
class Untraceable:
    """Why a function cannot be put in a filter file.

    Attributes:
        name: the function asked for.
        reason: one sentence for the user.
        in_kallsyms: the symbol exists in the running kernel (so it is marked
            notrace or not instrumentable), False if it does not, None if
            unknown (kallsyms not read).
        suggestions: catalog names the user may have meant (compiler clones
            such as ``name.isra.0``, names containing it).
    """

    name: str
    reason: str
    in_kallsyms: Optional[bool] = None
    suggestions: Tuple[str, ...] = ()


def load_kallsyms(path: str = "/proc/kallsyms") -> Set[str]:
    """Names of text symbols (types t/T) in ``/proc/kallsyms``; empty if unreadable."""
    out: Set[str] = set()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] in ("t", "T"):
                    out.add(parts[2])
    except OSError:
        pass
    return out


def _name_and_module(line: str) -> Tuple[str, str]:
    if line.endswith("]"):
        i = line.rfind(" [")
        if i > 0:
            return line[:i], line[i + 2 : -1]
    return line, ""


class Catalog:
    """Every traceable function, by 1-based index (its line in the catalog file).

    Build one with :meth:`load` (from tracefs) or :meth:`from_text`. Read-only after
    construction, so one instance can serve searches from any thread.

    Attributes:
        names: bare function names; ``names[i - 1]`` is index ``i``.
        modules: the module of each (``""`` for the kernel image).
    """

    def __init__(self, names: List[str], modules: List[str]) -> None:
        if len(names) != len(modules):
            raise ValueError("names and modules differ in length")
        self.names = names
        self.modules = modules
        # Module of index i at [i] (slot 0 unused): lets Counter/map run in C.
        self._mods1 = ["", *modules]
        # Lookups built on first use (a search of a substring needs none).
        self._by_name: Optional[Dict[str, int]] = None
        self._last: Dict[str, int] = {}
        self._by_module: Optional[Dict[str, List[int]]] = None
        self._sorted: Optional[Tuple[List[str], List[int]]] = None
        self._cache: Dict[str, List[int]] = {}

    def prepare(self) -> Catalog:
        """Build every lookup now, so no keystroke pays for it later. Returns self."""
        self._names_index()
        self._modules_index()
        self._prefix("")
        return self

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str) -> Catalog:
        """Parse the text of ``available_filter_functions``."""
        names = text.splitlines()
        modules = [""] * len(names)
        # Only module lines ("name [mod]") need splitting; finding them with one
        # comprehension keeps the per-line work for the others in C.
        for i in [i for i, ln in enumerate(names) if ln[-1:] == "]"]:
            names[i], modules[i] = _name_and_module(names[i])
        return cls(names, modules)

    @classmethod
    def load(cls, tfs: Tracefs) -> Catalog:
        """Read the live catalog, lookups built. Raises TracefsError (EPERM when refused)."""
        # The catalog is global: instances do not have their own.
        return cls.from_text(tfs.top().read("available_filter_functions")).prepare()

    def __len__(self) -> int:
        return len(self.names)

    # -- lookups --------------------------------------------------------------------

    def entry(self, index: int) -> Tuple[str, str]:
        """(name, module) at 1-based ``index``. Raises IndexError."""
        if index < 1:
            raise IndexError(index)
        return self.names[index - 1], self.modules[index - 1]

    def line(self, index: int) -> str:
        """The catalog line at ``index`` as the kernel prints it (``name [mod]``)."""
        name, mod = self.entry(index)
        return f"{name} [{mod}]" if mod else name

    def _names_index(self) -> Dict[str, int]:
        """Name -> its first index (dicts built from zip run in C)."""
        if self._by_name is None:
            n = len(self.names)
            self._by_name = dict(zip(reversed(self.names), range(n, 0, -1)))
            self._last = dict(zip(self.names, range(1, n + 1)))
        return self._by_name

    def _modules_index(self) -> Dict[str, List[int]]:
        if self._by_module is None:
            d: Dict[str, List[int]] = {}
            for i, m in enumerate(self.modules, 1):
                d.setdefault(m, []).append(i)
            self._by_module = d
        return self._by_module

    def indices_of(self, name: str, module: Optional[str] = None) -> List[int]:
        """Every index carrying ``name`` (static functions can share a name)."""
        first = self._names_index().get(name)
        if first is None:
            return []
        last = self._last[name]
        if last == first:
            found = [first]
        else:
            names = self.names
            found = [i for i in range(first, last + 1) if names[i - 1] == name]
        if module is None:
            return found
        return [i for i in found if self.modules[i - 1] == module]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._names_index()

    def indices_for_module(self, module: str) -> List[int]:
        """Every index of ``module`` (``""``: the kernel image), in catalog order."""
        return list(self._modules_index().get(module, []))

    def module_names(self) -> List[str]:
        """Loaded modules that have traceable functions, sorted."""
        return sorted(m for m in self._modules_index() if m)

    # -- matching as the kernel does -------------------------------------------------

    def match(self, pattern: str) -> List[int]:
        """Indices the kernel would select for one filter-file word.

        Handles ``func``, globs, ``func:mod:module``, ``:mod:module``, and an
        index. A leading ``!`` (removal) is ignored here: it does not change
        which functions the word names. Raises :class:`FtopError` for a word
        that is a trigger command rather than a selection.
        """
        word = pattern[1:] if pattern.startswith("!") else pattern
        func, sep, rest = word.partition(":")
        if not sep:
            return self._match_func(compile_pattern(word))
        cmd, _, module = rest.partition(":")
        if cmd != "mod":
            raise FtopError(f"'{pattern}' is a '{cmd}' command, not a function selection")
        return self._match_module(func, module)

    def _match_func(self, pat: KernelPattern, within: Optional[Sequence[int]] = None) -> List[int]:
        names = self.names
        if pat.type == MATCH_INDEX:
            try:
                i = int(pat.search)
            except ValueError:
                return []
            if not 1 <= i <= len(names):
                return []
            return [i] if within is None or i in set(within) else []
        if within is None:
            if pat.type == MATCH_FULL:
                return self.indices_of(pat.search)
            if pat.type == MATCH_FRONT_ONLY:
                return self._prefix(pat.search)
            s = pat.search
            if not s and pat.type != MATCH_GLOB:
                return list(range(1, len(names) + 1))  # "*": everything
            if pat.type == MATCH_MIDDLE_ONLY:
                return [i for i, n in enumerate(names, 1) if s in n]
            if pat.type == MATCH_END_ONLY:
                # "in" is an operator, cheaper than a method call: filter with it first.
                return [i for i, n in enumerate(names, 1) if s in n and n.endswith(s)]
            fm = re.compile(glob_to_regex(s), re.DOTALL).fullmatch
            lead = _literal_prefix(s)
            if lead:
                # A literal head narrows the scan to one sorted range.
                return sorted(i for i in self._prefix(lead) if fm(names[i - 1]) is not None)
            run = max(_literal_runs(s), key=len, default="")
            if run:
                # Every match contains each literal run: a C-speed filter first.
                return [i for i, n in enumerate(names, 1) if run in n and fm(n) is not None]
            return [i for i, n in enumerate(names, 1) if fm(n) is not None]
        pred = pat.matcher()
        return [i for i in within if pred(names[i - 1])]

    def _prefix(self, s: str) -> List[int]:
        if self._sorted is None:
            names = self.names
            order0 = sorted(range(len(names)), key=names.__getitem__)
            self._sorted = ([names[i] for i in order0], [i + 1 for i in order0])
        keys, order = self._sorted
        lo = bisect.bisect_left(keys, s)
        # Every key that starts with s sorts before s + U+10FFFF.
        hi = bisect.bisect_left(keys, s + "\U0010ffff", lo)
        return sorted(order[lo:hi])

    def _match_module(self, func: str, module: str) -> List[int]:
        mod_pat = compile_pattern(module)
        mods = self._modules_index()
        if not mod_pat.search and mod_pat.type != MATCH_GLOB:
            # Blank module: "any module" (or with '!', only the kernel image).
            if mod_pat.negate:
                within = mods.get("", [])
            else:
                within = sorted(i for m, idx in mods.items() if m for i in idx)
        else:
            pred = mod_pat.matcher()
            chosen = [idx for m, idx in mods.items() if m and (pred(m) != mod_pat.negate)]
            if mod_pat.negate:
                chosen.append(mods.get("", []))
            within = sorted(i for idx in chosen for i in idx)
        fpat = compile_pattern(func[1:] if func.startswith("!") else func)
        if not fpat.search and fpat.type != MATCH_INDEX:
            return within  # blank function: every function of the module
        return self._match_func(fpat, within)

    # -- search as the user types ------------------------------------------------------

    def search(self, query: str, limit: int = 200) -> SearchResult:
        """Functions matching ``query``, for a search box updated per keystroke.

        Query forms:
            ``read``           substring (written as ``*read*``)
            ``vfs_*``, ``*_read``, ``*rea?_*``, ``vfs_[rw]*``   kernel glob
            ``vfs_read``       with a wildcard-free query, still a substring
            ``:mod:ext4``      every function of a module (module may be a glob)
            ``*alloc*:mod:ext4``  the kernel's own form
            ``ext4:alloc``     shorthand for ``*alloc*:mod:ext4``
            ``123``            the function at catalog index 123
        """
        q = query.strip()
        if not q:
            return SearchResult(query, None, [], 0)
        try:
            pattern = self.query_pattern(q)
            found = self._cached(pattern)
        except FtopError as e:
            return SearchResult(query, None, [], 0, error=str(e))
        counts = Counter(map(self._mods1.__getitem__, found))
        by_module = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return SearchResult(query, pattern, found[: max(0, limit)], len(found), by_module)

    def query_pattern(self, query: str) -> str:
        """The filter-file word a search query stands for (see :meth:`search`)."""
        q = query.strip()
        if ":mod:" in q:
            return q
        if ":" in q:
            module, _, func = q.partition(":")
            if not module:
                raise FtopError(f"'{query}': expected module:pattern or :mod:module")
            return f"{self._substring(func) if func else ''}:mod:{self.module_word(module)}"
        return self._substring(q)

    def module_word(self, module: str) -> str:
        """``module`` as the kernel can match it after ``:mod:``.

        The kernel (6.1) reads a module pattern that starts with a digit as an
        index and refuses ``:mod:9p`` (EINVAL); ``*9p`` matches the same module
        when no other loaded module name ends that way.
        """
        if not module[:1].isdigit():
            return module
        alt = f"*{module}"
        if [m for m in self._modules_index() if m.endswith(module)] == [module]:
            return alt
        return module

    @staticmethod
    def _substring(q: str) -> str:
        if q[:1].isdigit() or q.startswith("!") or _has_wildcard(q):
            return q
        return f"*{q}*"

    def _cached(self, pattern: str) -> List[int]:
        hit = self._cache.get(pattern)
        if hit is not None:
            return hit
        found = self._narrowed(pattern)
        if found is None:
            found = self.match(pattern)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[pattern] = found
        return found

    def _narrowed(self, pattern: str) -> Optional[List[int]]:
        """Typing one more character of a substring only narrows the last result."""
        if not (pattern.startswith("*") and pattern.endswith("*")) or len(pattern) < 3:
            return None
        inner = pattern[1:-1]
        if _has_wildcard(inner) or ":" in inner:
            return None
        for k in range(len(inner) - 1, 0, -1):
            prev = self._cache.get(f"*{inner[:k]}*") or self._cache.get(f"*{inner[-k:]}*")
            if prev is not None:
                names = self.names
                return [i for i in prev if inner in names[i - 1]]
        return None

    # -- why not ------------------------------------------------------------------------

    def reason_untraceable(
        self, name: str, kallsyms: Optional[Set[str]] = None
    ) -> Optional[Untraceable]:
        """Why ``name`` cannot go in a filter file, or None if it is in the catalog.

        Args:
            name: a bare function name.
            kallsyms: text symbols of the running kernel (:func:`load_kallsyms`);
                with it the answer tells notrace (symbol exists) from
                inlined/absent (no symbol).
        """
        name = name.strip()
        if name in self:
            return None
        suggestions = self._suggest(name)
        in_ks: Optional[bool] = None if kallsyms is None else name in kallsyms
        if suggestions and any(_CLONE_SUFFIX.sub("", s) == name for s in suggestions):
            clone = next(s for s in suggestions if _CLONE_SUFFIX.sub("", s) == name)
            reason = (
                f"'{name}' is not in available_filter_functions, but the compiler's "
                f"copy '{clone}' is: filter on that name"
            )
        elif in_ks:
            reason = (
                f"'{name}' exists in the kernel but cannot be traced: it is marked "
                "notrace or is not instrumented (e.g. entry code, __init, or it runs "
                "before ftrace can hook it)"
            )
        elif in_ks is False:
            reason = (
                f"'{name}' is not a function of the running kernel: misspelled, "
                "inlined into its callers, or in a module that is not loaded"
            )
        else:
            reason = (
                f"'{name}' is not in available_filter_functions: inlined, marked "
                "notrace, or in a module that is not loaded"
            )
        return Untraceable(name, reason, in_ks, tuple(suggestions))

    def _suggest(self, name: str, limit: int = 5) -> List[str]:
        if not name or _has_wildcard(name) or ":" in name:
            return []
        idx = self._names_index()
        out: List[str] = []
        for n in idx:
            if n.startswith(name) and n != name:
                out.append(n)
        out.sort(key=lambda n: (len(n), n))
        if len(out) < limit and len(name) >= 4:
            out += sorted((n for n in idx if name in n and n not in out), key=len)[
                : limit - len(out)
            ]
        return out[:limit]

    def explain_refusal(self, word: str, error: TracefsError) -> str:
        """A user sentence for a filter-file write the kernel refused.

        Tells "not in the catalog" (so it can never work here) from "in the
        catalog, refused anyway" (the errno's reason applies).
        """
        w = word.strip()
        bare = w[1:] if w.startswith("!") else w
        func = bare.split(":", 1)[0]
        if func and not _has_wildcard(func) and not func[0].isdigit() and ":" not in bare:
            why = self.reason_untraceable(func)
            if why is not None:
                return why.reason
        if func and (_has_wildcard(func) or ":mod:" in bare):
            try:
                if not self.match(bare):
                    return f"'{w}' matches no function in available_filter_functions"
            except FtopError:
                pass
        return f"'{w}' is in available_filter_functions but the kernel refused it: {error.reason}"
