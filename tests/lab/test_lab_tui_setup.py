"""The setup screen on the real 6.1-rt kernel: an option, buffer_size_kb, trace_clock,
tracing_cpumask, and an instance created, worked in and removed; quit restores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_lab import TRACEFS, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.tui.screens.setup import SetupScreen
from ftop.tui.widgets.dialogs import EditDialog
from ftop.tui.widgets.kit import ChoiceDialog
from tui_lab import SIZE, lab_app, quit_app, show, text_of, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

INSTANCE = "ftop-lab-tui"


async def edit(app: Any, pilot: Any, key: str, value: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, EditDialog))
    app.screen.query_one("#value").value = value
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, EditDialog))


async def test_setup_screen_options_buffer_clock_cpumask_instance_and_quit_restores(
    session: Session, tmp_path: Path
) -> None:
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: SetupScreen = await show(app, pilot, "9", SetupScreen)
        await until(pilot, lambda: screen.settings is not None and screen.options.rows)
        names = [o.name for o in screen.options.rows]
        screen.options.move_to(names.index("sym-offset"))
        want = "0" if raw("options/sym-offset").strip() == "1" else "1"
        await pilot.press("space")
        await until(pilot, lambda: raw("options/sym-offset").strip() == want)

        await edit(app, pilot, "b", "2048")
        # The kernel rounds up to whole pages of data (2048 reads back 2051).
        assert 2048 <= int(raw("buffer_size_kb")) < 2048 + 8

        st = screen.settings
        assert st is not None
        other = next(c for c in ("global", "local", "mono") if c in st.clocks and c != st.clock)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        key = next(k for k, v in app.screen.choices if v == other)  # type: ignore[attr-defined]
        await pilot.press(key)
        await until(pilot, lambda: f"[{other}]" in raw("trace_clock"))

        await edit(app, pilot, "M", "0")
        assert raw("tracing_cpumask").strip().lstrip("0,") == "1"

        # An instance: created, worked in (the session moves there), then the top again.
        await edit(app, pilot, "B", INSTANCE)
        assert (TRACEFS / "instances" / INSTANCE).is_dir()
        assert session.tfs.instance == INSTANCE
        await until(pilot, lambda: f"instance {INSTANCE}" in text_of(screen.query_one("#side")))
        await edit(app, pilot, "B", "")
        assert session.tfs.instance is None
        await until(pilot, lambda: screen.settings is not None and screen.settings.instance is None)
        await until(pilot, lambda: any(i.name == INSTANCE for i in screen.settings.instances))  # type: ignore[union-attr]
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        key = next(k for k, v in app.screen.choices if v == INSTANCE)  # type: ignore[attr-defined]
        await pilot.press(key)
        await until(pilot, lambda: not (TRACEFS / "instances" / INSTANCE).exists())
        await quit_app(app, pilot, session)
