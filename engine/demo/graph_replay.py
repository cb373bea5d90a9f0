"""The recorded function_graph trace, narrowed as the kernel would have traced it.

With ``set_ftrace_filter``, ``set_ftrace_notrace``, ``set_graph_function``,
``set_graph_notrace`` or ``max_graph_depth`` set, the kernel puts fewer
functions on the return stack: an untraced function is not printed and its
traced callees move up (the depth is the number of traced callers), and a
traced function whose callees all went becomes a leaf ``name();`` with the
duration of its closing brace. :func:`narrow_graph` rebuilds the capture that
way, line by line, per CPU. Event comments and other lines stay, re-indented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

__all__ = ["GraphLimits", "graph_cpu", "narrow_graph"]

# " 1)   2.472 us    |            __rcu_read_lock();"  /  " 0) + 16.315 us   |  }"
_GRAPH = re.compile(r"^(?P<head>\s*(?P<cpu>\d+)\)[^|]*\|)(?P<pad> +)(?P<text>\S.*)$")
_ENTRY = re.compile(r"^(?P<name>\S+?)(?: \[[^\]]+\])?\(\) \{$")
_LEAF = re.compile(r"^(?P<name>\S+?)(?: \[[^\]]+\])?\(\);$")


@dataclass
class GraphLimits:
    """What narrows the graph (empty sets and 0: no limit, as the kernel reads them)."""

    filter: Set[str] = field(default_factory=set)
    notrace: Set[str] = field(default_factory=set)
    graph: Set[str] = field(default_factory=set)
    graph_notrace: Set[str] = field(default_factory=set)
    max_depth: int = 0

    @property
    def narrowed(self) -> bool:
        return bool(
            self.filter or self.notrace or self.graph or self.graph_notrace or self.max_depth
        )


@dataclass
class _Frame:
    name: str
    depth: int  # its indentation in the capture
    kept: bool
    in_graph: bool  # this call or a kept caller is in set_graph_function
    out_index: int = -1  # where its entry line went in the output
    children: bool = False  # a kept callee was printed
    silent: bool = False  # set_graph_notrace: nothing below is traced


def _line(head: str, depth: int, text: str) -> str:
    return f"{head}{'  ' * (depth + 1)}{text}"


def narrow_graph(lines: List[str], limits: GraphLimits) -> List[str]:
    """``lines`` (function_graph output) as the kernel would print them under ``limits``."""
    if not limits.narrowed:
        return list(lines)
    stacks: Dict[int, List[_Frame]] = {}
    out: List[str] = []

    # Only max_graph_depth set: every function is traced, callers lost in a LOST gap too.
    all_traced = not (limits.filter or limits.notrace or limits.graph or limits.graph_notrace)

    def traced(name: str, depth: int, stack: List[_Frame]) -> _Frame:
        # Callers the capture lost (after a LOST marker the trace resumes deep in a
        # call) count as traced only when every function is.
        unknown = max(0, depth - len(stack)) if all_traced else 0
        kept_depth = sum(1 for f in stack if f.kept) + unknown
        silent = any(f.silent for f in stack)
        in_graph = not limits.graph or name in limits.graph or any(f.in_graph for f in stack)
        kept = (
            not silent
            and in_graph
            and (not limits.filter or name in limits.filter)
            and name not in limits.notrace
            and name not in limits.graph_notrace
            and (limits.max_depth <= 0 or kept_depth < limits.max_depth)
        )
        return _Frame(name, depth, kept, in_graph, silent=name in limits.graph_notrace)

    for ln in lines:
        m = _GRAPH.match(ln)
        if m is None:
            out.append(ln)
            continue
        head, cpu, text = m.group("head"), int(m.group("cpu")), m.group("text")
        depth = max(0, (len(m.group("pad")) - 2) // 2)
        stack = stacks.setdefault(cpu, [])
        closing = text.startswith("}")
        # Calls the capture closed where it lost events (or before it began) end here.
        while stack and (stack[-1].depth > depth or (stack[-1].depth == depth and not closing)):
            stack.pop()
        shown = sum(1 for f in stack if f.kept)
        entry = _ENTRY.match(text)
        leaf = _LEAF.match(text)
        if entry is not None or leaf is not None:
            name = (entry or leaf).group("name")  # type: ignore[union-attr]
            frame = traced(name, depth, stack)
            if frame.kept:
                _mark_parent(stack)
                frame.out_index = len(out)
                out.append(_line(head, shown, text))
            if entry is not None:
                stack.append(frame)
        elif closing:
            if not stack or stack[-1].depth != depth:
                continue  # its entry came before the capture began, or was lost
            frame = stack.pop()
            if not frame.kept:
                continue
            shown -= 1
            if frame.children:
                out.append(_line(head, shown, text))
            else:
                # Every callee went: the kernel prints one leaf with the duration.
                entry_text = out[frame.out_index].split("|", 1)[1].strip()
                call = entry_text[: -len(" {")] if entry_text.endswith(" {") else frame.name
                out[frame.out_index] = _line(head, shown, call + ";")
        else:
            # An event comment (/* sched_switch: ... */) or anything else: it stays.
            out.append(_line(head, shown, text))
    return out


def _mark_parent(stack: List[_Frame]) -> None:
    for f in reversed(stack):
        if f.kept:
            f.children = True
            return


def graph_cpu(line: str) -> Optional[int]:
    """The CPU column of a function_graph line, if it has one."""
    m = _GRAPH.match(line)
    return int(m.group("cpu")) if m else None
