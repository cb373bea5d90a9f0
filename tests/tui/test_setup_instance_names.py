"""The setup screen's instance list shows a hostile instance name with its escapes visible."""

from __future__ import annotations

from ftop.engine.demo.session import DemoSession
from ftop.tui.screens.setup import SetupScreen
from ftrace_util import OpenScreen
from pilot_util import text_of


async def test_an_instance_name_with_an_escape_is_shown_escaped(
    open_screen: OpenScreen, demo: DemoSession
) -> None:
    """Regression: the side panel drew instance names (any root user's mkdir) as they are."""
    demo.tfs.make_instance("red\x1b[31m")
    try:
        async with open_screen("setup") as (_, _, screen):
            assert isinstance(screen, SetupScreen) and screen.settings is not None
            assert any(i.name == "red\x1b[31m" for i in screen.settings.instances)
            side = text_of(screen.query_one("#side"))
            assert "\x1b" not in side and "red" in side
    finally:
        demo.tfs.remove_instance("red\x1b[31m")
