"""The view builds only the visible columns of a line: the same cells and styles as the
whole line's strip cropped, for every line of a real capture and every window."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from ftop.engine.printable import printable
from ftop.tui.widgets.trace_view import OVERLAYS, PARTS, _columns, _segments
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures/host-6.18/all-events.trace_pipe.txt"
# One distinct style per column kind the view knows (and "search" for the hits).
KINDS = sorted([*PARTS, *OVERLAYS])
STYLES: Dict[str, Style] = {k: Style(color=f"color({i + 1})") for i, k in enumerate(KINDS)}
STYLES["base"] = Style(color="white")
STYLES["search"] = Style(bgcolor="yellow")
PAD = Style(bgcolor="black")


def _cells(segs: List[Segment]) -> List[Tuple[str, Style]]:
    """(character, style) per cell: the same picture however it was cut into segments."""
    return [(ch, seg.style or Style()) for seg in segs for ch in seg.text]


def _lines() -> List[str]:
    lines = CAPTURE.read_text(encoding="utf-8").splitlines()
    extra = [
        "# tracer: nop",
        "  => __schedule",
        " 1) + 12.345 us   |    } /* vfs_read */",
        "",
        "x",
    ]
    return [printable(x) for x in lines[:400] + extra]


@pytest.mark.parametrize("x,width", [(0, 120), (0, 40), (8, 120), (16, 30), (300, 80)])
@pytest.mark.parametrize("search", [False, True])
def test_a_window_of_a_line_is_the_crop_of_its_whole_strip(
    x: int, width: int, search: bool
) -> None:
    for text in _lines():
        spans = _columns(text)
        hits = [(m, m + 3) for m in range(0, len(text), 17)] if search else []
        whole = Strip(_segments(text, spans, STYLES, hits), len(text))
        want = whole.crop_extend(x, x + width, PAD)
        segs = _segments(text, spans, STYLES, hits, x, x + width)
        fill = x + width - max(len(text), x)
        if fill > 0:
            segs.append(Segment(" " * fill, PAD))
        got = Strip(segs, width)
        assert got.cell_length == width
        assert _cells(list(got)) == _cells(list(want)), text
        assert all(seg.text for seg in got), "an empty segment is a Textual warning"
