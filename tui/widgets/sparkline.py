"""Textual's sparkline in the glyph set in use (a module of its own: only the screens
that draw one import Textual's sparkline, which the first frame does not need)."""

from __future__ import annotations

from ftop.tui.widgets.glyphs import glyphs
from textual.app import RenderResult
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widgets import Sparkline as TextualSparkline


class Sparkline(TextualSparkline):
    """Textual's sparkline, drawn with the bars of the glyph set in use."""

    def render(self) -> RenderResult:
        r = super().render()
        if isinstance(r, SparklineRenderable):
            r.BARS = glyphs().spark
        return r
