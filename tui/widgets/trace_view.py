"""The live trace view: a Line API ScrollView over the engine's ring.

Only visible lines are rendered: a row maps to a sequence number in the ring
(every line, or the ones a :class:`~ftop.engine.stream.lineview.FilteredIndex`
accepts), ``render_line`` fetches that one line and colours it from an LRU
cache of rows as shown (the visible columns of the line, padded to the width;
the rare non-ASCII line is cropped from a cached whole strip with
``crop_extend``). So a million lines in the ring cost nothing to scroll, and
under a flood, where every row is a new line every frame, a row costs one
Strip and what the rows of a frame share is looked up once (``render_lines``).
``sync()`` (called once per refresh tick, never per batch) catches up with what
arrived; a filtered view's scan of the ring runs on the index's own thread
(``FilteredIndex.start``), and ``sync()`` only merges what it found, so no size
of ring slows the event loop.

One piece on purpose (about 750 lines): the Line API rendering, the strip cache,
the cursor and marks and the sync with the index are one widget's state.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

from ftop.engine.printable import printable
from ftop.engine.stream import grammar
from ftop.engine.stream.lineview import FilteredIndex, LineFilter, SearchPattern
from ftop.engine.stream.ring import Ring
from ftop.tui.registry import view_commands
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.color import Color, ColorParseError
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

if TYPE_CHECKING:
    from ftop.engine.stream.parse import Record

__all__ = ["VIEW_SCOPE", "TraceView"]

VIEW_SCOPE = "trace"

# The column shapes are ftop.engine.stream.grammar's (trace_output.c's).
# Default context: "comm-pid [(tgid)] [cpu] flags ts: body".
_COLS = re.compile(
    r"^(?P<task>\s*.+?)-(?P<pid>\d+)\s+"
    + grammar.CTX_TGID_ANY
    + r"(?P<cpu>\[\d+\])\s+"
    + grammar.CTX_FLAGS
    + grammar.CTX_TS
    + r"(?P<body>.*)$"
)
_EVENT = re.compile(r" (?P<name>" + grammar.NAME + r"):(?= |$)")
_FUNC = re.compile(r" (?P<name>[\w.$+/]+)(?: <-(?P<parent>\S+))?")
_SYSCALL = re.compile(r" (?P<name>sys_\w+)(?=\(| -> )")
# function_graph: "[ts |] cpu) [task-pid |] duration mark | calls".
_GRAPH = re.compile(
    r"^(?P<pre>"
    + grammar.plain(grammar.GRAPH_ABS)
    + r")(?P<cpu>"
    + grammar.plain(grammar.GRAPH_CPU)
    + r")(?P<mid>[^|]*?)"
    r"(?P<mark>" + grammar.DELAY_MARK + r")?(?P<dur>\s*[\d.]+ us\s*)?\|(?P<rest>.*)$"
)
_GRAPH_NAME = re.compile(
    r"(?P<name>" + grammar.NAME + r")(?=\()"
    r"|" + grammar.GRAPH_COMMENT_OPEN + r"(?P<ev>" + grammar.NAME + r"):"
    r"|" + grammar.GRAPH_EXIT_OPEN + r"(?P<exit>" + grammar.NAME + r")"
)
# "CPU:N [LOST M EVENTS]" and "##### CPU N buffer started ####".
_LOST = grammar.LOSS_MARKER_LINE
# Latency format (wakeup*, irqsoff...): "comm-pid cpu+flags rel-us[mark]: body".
_LAT = re.compile(
    r"^(?P<task>\s*.{1,16}?)-(?P<pid>\d+)\s+(?P<cpu>\d+)(?P<flags>" + grammar.LAT_FLAGS + r")\s+"
    r"(?P<ts>\d+us)\s*(?P<mark>" + grammar.DELAY_MARK + r")?\s*:(?P<body>.*)$"
)

Span = Tuple[int, int, str]


def _columns(line: str) -> List[Span]:
    """(start, end, component) spans for one line; gaps get the base style."""
    if _LOST.match(line):
        return [(0, len(line), "lost")]
    if line.startswith("#"):
        return [(0, len(line), "header")]
    arrow = line.find("=> ")
    if 0 <= arrow < 4 and not line[:arrow].strip():
        # A stack frame (" => __schedule"): the symbol is what matters.
        return [(arrow, arrow + 2, "flags"), (arrow + 3, len(line), "name")]
    m = _COLS.match(line) or _LAT.match(line)
    if m:
        spans: List[Span] = [
            (m.start("task"), m.end("task"), "task"),
            (m.start("pid"), m.end("pid"), "pid"),
            (m.start("cpu"), m.end("cpu"), "cpu"),
        ]
        if m.group("flags"):
            spans.append((m.start("flags"), m.end("flags"), "flags"))
        spans.append((m.start("ts"), m.end("ts"), "ts"))
        if "mark" in m.re.groupindex and m.group("mark"):
            spans.append((m.start("mark"), m.end("mark"), "mark"))
        body_at = m.start("body")
        body = m.group("body")
        e = _EVENT.match(body)
        if e:
            spans.append((body_at + e.start("name"), body_at + e.end("name") + 1, "event"))
            spans.append((body_at + e.end(), len(line), "fields"))
            return spans
        s = _SYSCALL.match(body)
        if s:
            spans.append((body_at + s.start("name"), body_at + s.end("name"), "event"))
            spans.append((body_at + s.end(), len(line), "fields"))
            return spans
        f = _FUNC.match(body)
        if f:
            spans.append((body_at + f.start("name"), body_at + f.end("name"), "name"))
            if f.group("parent"):
                spans.append((body_at + f.start("parent") - 2, len(line), "parent"))
        return spans
    g = _GRAPH.match(line)
    if g:
        spans = [(g.start("cpu"), g.end("cpu"), "cpu")]
        if g.group("mid").strip():
            spans.append((g.start("mid"), g.end("mid"), "task"))
        if g.group("mark"):
            spans.append((g.start("mark"), g.end("mark"), "mark"))
        if g.group("dur"):
            spans.append((g.start("dur"), g.end("dur"), "ts"))
        rest_at = g.start("rest")
        n = _GRAPH_NAME.search(g.group("rest"))
        if n:
            which = "event" if n.group("ev") else "name"
            grp = "ev" if n.group("ev") else "exit" if n.group("exit") else "name"
            spans.append((rest_at + n.start(grp), rest_at + n.end(grp), which))
        return spans
    return []


def _segments(
    text: str,
    spans: Sequence[Span],
    styles: Dict[str, Style],
    hits: Sequence[Tuple[int, int]],
    lo: int = 0,
    hi: Optional[int] = None,
) -> List[Segment]:
    """Segments for ``text[lo:hi]``: column styles, with search hits on top.

    The window is what a Strip of the whole text cropped to ``lo..hi`` would hold
    (for ASCII text, where a character is a cell): the view builds only what is
    on screen, once, instead of a whole strip and then its crop."""
    n = len(text)
    end = n if hi is None else min(n, hi)
    base = styles["base"]
    out: List[Segment] = []
    if lo >= end:
        return out
    if not hits:
        # The common case: spans are sorted and do not overlap; fill the gaps.
        pos = lo
        for a, b, kind in spans:
            if b <= lo:
                continue
            if a >= end:
                break
            a, b = max(a, lo), min(b, end)
            if a > pos:
                out.append(Segment(text[pos:a], base))
            if b > a:
                out.append(Segment(text[a:b], styles[kind]))
            pos = max(pos, b)
        if pos < end:
            out.append(Segment(text[pos:end], base))
        return out
    cuts = {lo, end}
    for a, b, _ in spans:
        cuts.add(a)
        cuts.add(b)
    for a, b in hits:
        cuts.add(a)
        cuts.add(b)
    points = sorted(c for c in cuts if lo <= c <= end)
    si = 0
    for a, b in zip(points, points[1:]):
        if a >= b:
            continue
        while si < len(spans) and spans[si][1] <= a:
            si += 1
        style = base
        if si < len(spans) and spans[si][0] <= a < spans[si][1]:
            style = styles[spans[si][2]]
        if any(x <= a < y for x, y in hits):
            style = style + styles["search"]
        out.append(Segment(text[a:b], style))
    return out


# The styles of a line's parts, from the theme's variables: (colour variable, text
# style). Not component classes: Textual restyles a widget's component classes as
# virtual nodes on each restyle (focus, screen resume, theme), and the view's 15
# were about 15 ms of CPU before the first frame (bench/ui_startup.py).
PARTS: Dict[str, Tuple[str, str]] = {
    "task": ("trace-task", ""),
    "pid": ("trace-pid", ""),
    "cpu": ("trace-cpu", ""),
    "flags": ("trace-flags", ""),
    "ts": ("trace-ts", ""),
    "name": ("trace-name", "bold"),
    "event": ("trace-event", "bold"),
    "parent": ("trace-parent", ""),
    "fields": ("trace-fields", ""),
    "lost": ("trace-lost", "bold reverse"),
    "header": ("foreground-muted", ""),
    "mark": ("trace-mark", "bold"),
}
# Highlights go on top of a line's own colours: (background variable, colour variable,
# text style; a "$name" text style is the theme's variable). Not by colour alone: under
# NO_COLOR (the mono theme) no background survives, so the cursor takes the theme's
# cursor style (reverse there) and a marked line is underlined in every theme.
OVERLAYS: Dict[str, Tuple[str, str, str]] = {
    "search": ("trace-search", "background", "bold"),
    "cursor": ("trace-cursor", "", "$trace-cursor-style"),
    "marked": ("trace-marked", "", "underline"),
}


def part_styles(variables: Dict[str, str], base: Style) -> Dict[str, Style]:
    """Every part's style and every highlight's, as the theme's ``variables`` give them
    (colours with alpha blended over its background, as Textual blends them)."""
    bg = Color.parse(variables.get("background", "#000000"))

    def colour(name: str) -> Optional[RichColor]:
        v = variables.get(name) if name else None
        if not v:
            return None
        try:
            c = Color.parse(v)
        except ColorParseError:
            return None
        return (bg + c if c.a < 1 else c).rich_color

    def text_style(spec: str) -> Style:
        if spec.startswith("$"):
            spec = variables.get(spec[1:], "none")
        words = [w for w in spec.split() if w != "none"]
        return Style.parse(" ".join(words)) if words else Style()

    out = {"base": base}
    for part, (var, spec) in PARTS.items():
        out[part] = base + Style(color=colour(var)) + text_style(spec)
    for part, (bg_var, fg_var, spec) in OVERLAYS.items():
        out[part] = Style(color=colour(fg_var), bgcolor=colour(bg_var)) + text_style(spec)
    return out


class TraceView(ScrollView, can_focus=True):
    """Rows of the ring (all or filtered), with follow mode, cursor, marks and search."""

    BINDINGS = view_commands(
        VIEW_SCOPE,
        (
            ("up", "up,k", "cursor_up", "Up", "cursor up a line (stops following)"),
            ("down", "down,j", "cursor_down", "Down", "cursor down a line"),
            ("page_up", "pageup", "page_up", "Page up", "cursor up a screenful"),
            ("page_down", "pagedown", "page_down", "Page down", "cursor down a screenful"),
            ("first", "home,g", "first", "First", "the oldest line in the ring"),
            ("last", "end,G", "last", "Last", "the newest line, and follow again"),
            ("left", "left", "scroll_left_cols", "Left", "scroll 8 columns left"),
            ("right", "right", "scroll_right_cols", "Right", "scroll 8 columns right"),
            (
                "open",
                "enter",
                "open_line",
                "Line",
                "the line's fields, or filter by its pid, task or event",
            ),
        ),
    )

    DEFAULT_CSS = """
    TraceView {
        background: $background;
        color: $foreground;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    """

    class Opened(Message):
        """Enter on a line: offer its fields and filters by its pid, task or event."""

        def __init__(self, record: Record, seq: int) -> None:
            super().__init__()
            self.record = record
            self.seq = seq

    class Wider(Message):
        """The widest line rendered has just become wider than the view: the screen's
        hint for horizontal scroll is due now, not at its next tick (a modal opened
        at once would cover a hint that never came)."""

    def __init__(self, ring: Ring, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.ring = ring
        self.index: Optional[FilteredIndex] = None
        self.filter = LineFilter()
        self.follow = True
        self.paused = False
        self.end_seq = ring.next_seq
        self.base = ring.first_seq
        self.cursor = 0
        self.marks: List[int] = []
        self.search: Optional[SearchPattern] = None
        self.new_lines = 0
        self.refreshes = 0
        self.frames = 0  # times the view's first line was painted (a bench counts these)
        # The first slice of a new filter's scan runs at once (a small ring is done
        # before the next key); the rest goes to the index's thread.
        self.filter_first_slice = 0.008
        # Lines up to here were on screen (or scrolled past): "new lines" are after it.
        self._seen = self.end_seq
        # A filter change keeps the cursor on this line once the scan has reached it.
        self._anchor: Optional[int] = None
        self._rows = 0
        self._width = 80
        self._programmatic = False
        self._cache: LRUCache[Tuple[int, int], Strip] = LRUCache(2048)
        # Rows as shown (cut to the visible columns and padded), per line, search
        # generation, scroll column, width and pad style: a row that stays on
        # screen costs a lookup a frame, not a rebuild.
        self._shown: LRUCache[Tuple[int, int, int, int, Style], Strip] = LRUCache(1024)
        # What every row of one render_lines call shares (see render_lines).
        self._frame: Optional[Tuple[int, int, int, Style]] = None
        self._gen = 0
        self._styles: Optional[Dict[str, Style]] = None

    # -- rows ------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        return self._rows

    def seq_at(self, row: int) -> Optional[int]:
        if row < 0 or row >= self._rows:
            return None
        if self.index is None:
            return self.base + row
        return self.index.seqs[row]

    def row_of(self, seq: int) -> Optional[int]:
        """The row showing ``seq``, or (filtered) the first row after it."""
        if self.index is None:
            row = seq - self.base
            return row if 0 <= row < self._rows else None
        i = bisect_left(self.index.seqs, seq)
        return i if i < self._rows else None

    @property
    def line_width(self) -> int:
        """Cells of the widest line rendered so far (what horizontal scroll reaches)."""
        return self._width

    @property
    def scanning(self) -> bool:
        """A filter's scan of what the ring held when it was set is still going on."""
        return self.index is not None and not self.index.caught_up

    def visible_seqs(self) -> Union[range, array]:  # type: ignore[type-arg]
        """A copy of the sequence numbers shown (for saving and searching off-thread)."""
        if self.index is None:
            return range(self.base, self.base + self._rows)
        return array("q", self.index.seqs[: self._rows])

    # -- catching up -------------------------------------------------------------------

    def sync(self) -> bool:
        """Catch up with the ring; returns True if anything on screen may have changed."""
        ring = self.ring
        old_rows = self._rows
        old_end = self.end_seq
        if not self.paused:
            self.end_seq = ring.next_seq
        shift = 0
        if self.index is None:
            first = ring.first_seq
            if first > self.base:
                shift = first - self.base
                self.base = first
            rows = max(0, self.end_seq - self.base)
        else:
            # Cheap: the scan runs on the index's thread; this merges its arrays.
            self.index.poke(self.end_seq if self.paused else None)
            _, shift = self.index.collect()
            rows = len(self.index)
        self._rows = rows
        arrived = ring.next_seq - old_end if self.paused else self.end_seq - old_end
        if shift:
            self.cursor = max(0, self.cursor - shift)
        if self._anchor is not None:
            self._place_anchor()
        if self.follow and not self.paused:
            self.cursor = max(0, rows - 1)
            self._seen = self.end_seq
        self.new_lines = self._count_new()
        changed = rows != old_rows or shift != 0 or (self.index is not None and arrived > 0)
        if changed:
            self._apply_size(shift)
            if self._anchor is not None:
                self.scroll_to_cursor()
        return changed

    def _count_new(self) -> int:
        """Lines after the last one seen: rows the user has not had on screen yet."""
        if self.paused:
            # The display is frozen: what arrived since (the ring's, unfiltered).
            return max(0, self.ring.next_seq - self.end_seq)
        if self.follow:
            return 0
        seen = max(self._seen, self.base if self.index is None else self.ring.first_seq)
        if self.index is None:
            return max(0, self.end_seq - seen)
        # Rows the rescan finds before ``seen`` are old lines, not new ones.
        return self._rows - bisect_left(self.index.seqs, seen, 0, self._rows)

    def _place_anchor(self) -> None:
        """Once the scan has passed the line the cursor was on, put the cursor back on it."""
        index = self.index
        anchor = self._anchor
        if anchor is None:
            return
        if index is not None and index.scanned <= anchor and index.behind:
            # Not scanned that far yet: the nearest row found so far (all are before it).
            self.cursor = max(0, self._rows - 1)
            return
        self._anchor = None
        row = self.row_of(anchor)
        self.cursor = row if row is not None else max(0, self._rows - 1)
        self._apply_size()
        self.scroll_to_cursor(center=True)

    def _apply_size(self, shift: int = 0) -> None:
        height = self.scrollable_content_region.height or self.size.height
        self.virtual_size = Size(self._width, self._rows)
        self._programmatic = True
        try:
            if self.follow and not self.paused:
                y = max(0, self._rows - height)
            else:
                y = max(0, int(self.scroll_y) - shift)
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._programmatic = False
        self.refreshes += 1
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        # The height decides where "the end" is when following.
        self._apply_size()
        if not self.follow:
            self.scroll_to_cursor()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # A shorter content (a new filter) clamps scroll_y down to the new end: that
        # is not the user scrolling up, and must not stop following.
        user_up = new_value < old_value and new_value < self.max_scroll_y
        if not self._programmatic and user_up and self.follow:
            # The user scrolled up: stop following (End returns).
            self.follow = False
            self.new_lines = 0

    # -- state changes ---------------------------------------------------------------------

    def set_filter(self, flt: LineFilter) -> None:
        """Narrow the view; the old filter's scan is cancelled, the new one's starts."""
        keep = self.seq_at(self.cursor)
        if self.index is not None:
            self.index.close()
        self.filter = flt
        self._rows = 0
        self.base = self.ring.first_seq
        self._anchor = None
        if not self.paused:
            self.end_seq = self.ring.next_seq
        # What the ring holds now was there before: none of it counts as new.
        self._seen = self.end_seq
        if flt.is_empty():
            self.index = None
        else:
            index = FilteredIndex(flt, self.ring)
            index.update(upto=self.end_seq, seconds=self.filter_first_slice)
            # A paused display shows nothing past end_seq: nor does the scan.
            index.limit = self.end_seq if self.paused else None
            index.start()
            self.index = index
        self.sync()
        if not self.follow and keep is not None:
            self._anchor = keep
            self._place_anchor()
        elif self.follow:
            self.cursor = max(0, self._rows - 1)
        self._apply_size()
        self.scroll_to_cursor()

    def on_unmount(self) -> None:
        if self.index is not None:
            self.index.close()

    def set_search(self, pattern: Optional[SearchPattern]) -> None:
        self.search = pattern
        self._gen += 1
        self.refresh()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self.new_lines = 0
        self.sync()
        self.refresh()

    def go_end(self) -> None:
        """End: follow again (and stop pausing the display)."""
        self.follow = True
        self.paused = False
        self.new_lines = 0
        self._anchor = None
        self.sync()
        self.cursor = max(0, self._rows - 1)
        self._apply_size()

    def go_home(self) -> None:
        self.follow = False
        self.cursor = 0
        self.scroll_to_cursor()

    def move_cursor(self, delta: int) -> None:
        if self._rows == 0:
            return
        target = max(0, min(self._rows - 1, self.cursor + delta))
        if delta < 0 or target < self._rows - 1:
            self.follow = False
        self._anchor = None
        self.cursor = target
        self.scroll_to_cursor()

    def jump_to_seq(self, seq: int) -> bool:
        row = self.row_of(seq)
        if row is None:
            return False
        self._anchor = None
        self.follow = False
        self.cursor = row
        self.scroll_to_cursor(center=True)
        return True

    def scroll_to_cursor(self, center: bool = False) -> None:
        height = self.scrollable_content_region.height or self.size.height or 1
        top = int(self.scroll_y)
        if center and not (top <= self.cursor < top + height):
            top = max(0, self.cursor - height // 2)
        elif self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + height:
            top = self.cursor - height + 1
        self._programmatic = True
        try:
            self.scroll_to(y=top, animate=False, immediate=True)
        finally:
            self._programmatic = False
        self.refresh()

    def toggle_mark(self) -> Optional[int]:
        seq = self.seq_at(self.cursor)
        if seq is None:
            return None
        if seq in self.marks:
            self.marks.remove(seq)
        else:
            self.marks.append(seq)
            del self.marks[:-2]
        self.refresh()
        return seq

    def clear_marks(self) -> None:
        self.marks.clear()
        self.refresh()

    def mark_delta(self) -> Optional[Tuple[float, int]]:
        """(seconds, rows apart) between the two marks, if both are still held."""
        if len(self.marks) != 2:
            return None
        from ftop.engine.stream.parse import parse_line  # see current_record

        recs = []
        for seq in self.marks:
            try:
                recs.append(parse_line(self.ring.get(seq)))
            except IndexError:
                return None
        if recs[0].ts is None or recs[1].ts is None:
            return None
        a, b = sorted(self.marks)
        ra, rb = self.row_of(a), self.row_of(b)
        apart = (rb - ra) if ra is not None and rb is not None else abs(b - a)
        return abs(recs[1].ts - recs[0].ts), apart

    def current_record(self) -> Optional[Tuple[int, Record]]:
        seq = self.seq_at(self.cursor)
        if seq is None:
            return None
        # Imported here: its patterns take 4 ms to compile, which the first frame of a
        # live session need not wait for (issue 10).
        from ftop.engine.stream.parse import parse_line

        try:
            return seq, parse_line(self.ring.get(seq))
        except IndexError:
            return None

    def scroll_horizontal(self, delta: int) -> None:
        x = max(0, min(int(self.scroll_x) + delta, max(0, self._width - self.size.width)))
        self.scroll_to(x=x, animate=False, immediate=True)
        self.refresh()

    # -- input --------------------------------------------------------------------------

    # The view's own keys are commands in the registry (scope "trace"): listed in F1,
    # offered in the palette, rebindable in [keys] like every other key.

    def _page(self) -> int:
        return max(1, (self.scrollable_content_region.height or 1) - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(-1)

    def action_cursor_down(self) -> None:
        self.move_cursor(1)

    def action_page_up(self) -> None:
        self.move_cursor(-self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self._page())

    def action_first(self) -> None:
        self.go_home()

    def action_last(self) -> None:
        self.go_end()

    def action_scroll_left_cols(self) -> None:
        self.scroll_horizontal(-8)

    def action_scroll_right_cols(self) -> None:
        self.scroll_horizontal(8)

    def action_open_line(self) -> None:
        cur = self.current_record()
        if cur is not None:
            self.post_message(self.Opened(cur[1], cur[0]))

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < self._rows:
            self.follow = False
            self.cursor = row
            self.refresh()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        # Scrolling back down to the bottom resumes following, as in a pager.
        if not self.follow and int(self.scroll_y) >= int(self.max_scroll_y):
            self.go_end()

    # -- rendering --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._gen += 1
        self._cache.clear()
        self._shown.clear()

    def _get_styles(self) -> Dict[str, Style]:
        if self._styles is None:
            self._styles = part_styles(self.app.theme_variables, self.rich_style)
        return self._styles

    def _strip(self, seq: int, line: str) -> Strip:
        """The whole line as one strip (cached): what horizontal scrolling crops."""
        key = (seq, self._gen)
        strip = self._cache.get(key)
        if strip is None:
            # Task names and event fields are anyone's text: escapes made visible
            # before anything is measured (tui/printable.py).
            text = printable(line)
            hits = self.search.spans(text) if self.search is not None else []
            segs = _segments(text, _columns(text), self._get_styles(), hits)
            # Trace text is ASCII but for the odd comm: count cells only when needed.
            strip = Strip(segs, len(text) if text.isascii() else None)
            self._cache.set(key, strip)
            self._widest(strip.cell_length)
        return strip

    def _widest(self, cells: int) -> None:
        if cells > self._width:
            width = self.scrollable_content_region.width or self.size.width
            if self._width <= width < cells:
                self.post_message(self.Wider())
            self._width = cells
            self.virtual_size = Size(self._width, self._rows)

    def _shown_strip(self, seq: int, line: str, x: int, width: int, pad: Style) -> Strip:
        """The line as its row shows it: columns ``x..x+width``, padded with ``pad``.

        Under a flood every row is a new line every frame, so this is the view's
        per-frame cost: an ASCII line (nearly all) is cut to the window before its
        segments are made, one Strip instead of a whole one plus its crop."""
        key = (seq, self._gen, x, width, pad)
        strip = self._shown.get(key)
        if strip is None:
            # Anyone's text: escaped before anything is measured (tui/printable.py).
            text = printable(line)
            if not text.isascii():
                # Cells are not characters here: Rich measures them, on the whole strip.
                strip = self._strip(seq, line).crop_extend(x, x + width, pad)
            else:
                self._widest(len(text))
                hits = self.search.spans(text) if self.search is not None else []
                styles = self._get_styles()
                segs = _segments(text, _columns(text), styles, hits, x, x + width)
                fill = x + width - max(len(text), x)
                if fill > 0:
                    segs.append(Segment(" " * fill, pad))
                strip = Strip(segs, width)
            self._shown.set(key, strip)
        return strip

    def render_lines(self, crop: Region) -> List[Strip]:
        # Textual asks for every dirty row of a frame in one call: what the rows
        # share is looked up once here, not per row (``rich_style`` walks every
        # ancestor's styles, the content region is computed each time it is read).
        scroll_x, scroll_y = self.scroll_offset
        self._frame = (scroll_x, scroll_y, self.scrollable_content_region.width, self.rich_style)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        if y == 0:
            self.frames += 1
        frame = self._frame
        if frame is None:  # called on its own (a test), not from render_lines
            scroll_x, scroll_y = self.scroll_offset
            frame = (scroll_x, scroll_y, self.scrollable_content_region.width, self.rich_style)
        scroll_x, scroll_y, width, style = frame
        row = scroll_y + y
        seq = self.seq_at(row)
        if seq is None:
            return Strip.blank(width, style)
        try:
            line = self.ring.get(seq)
        except IndexError:
            return Strip.blank(width, style)
        strip = self._shown_strip(seq, line, scroll_x, width, style)
        if row == self.cursor and (not self.follow or self.has_focus):
            strip = _overlay(strip, self._get_styles()["cursor"])
        elif seq in self.marks:
            strip = _overlay(strip, self._get_styles()["marked"])
        return strip


def _overlay(strip: Strip, style: Style) -> Strip:
    """The strip with ``style`` applied over its segments' own styles (a row highlight)."""
    return Strip(Segment.apply_style(list(strip), post_style=style), strip.cell_length)
