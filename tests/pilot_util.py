"""Waiting on a Textual Pilot, shared by every tier that drives the app headless (tui, live, lab).

Not a test module (no ``test_`` prefix). Importable as ``pilot_util`` from any test folder:
tests/conftest.py puts tests/ on sys.path (pytest's default ``prepend`` import mode), also in the
lab guest, which runs ``pytest tests/lab`` from the repository root.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional


async def until(
    pilot: Any,
    pred: Callable[[], Any],
    timeout: float = 5.0,
    *,
    step: float = 0.05,
    what: Optional[Callable[[], Any]] = None,
) -> None:
    """Let the app run until ``pred()`` holds; fail after ``timeout`` seconds.

    ``what`` adds detail to the failure (say, the value that was awaited)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await pilot.pause(step)
    if pred():
        return
    app = pilot.app
    detail = f"{what()}; " if what is not None else ""
    raise AssertionError(
        f"condition not reached in {timeout:g}s ({detail}screen {app.screen!r}, "
        f"focus {app.focused!r})"
    )


async def show(
    app: Any, pilot: Any, key: str, cls: type, timeout: float = 5.0, *, step: float = 0.05
) -> Any:
    """Press a screen's number key; wait until it is shown; return it."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, cls), timeout, step=step)
    return app.screen


def text_of(widget: Any) -> str:
    """What a Static shows, as plain text."""
    r = widget.render()
    return str(getattr(r, "plain", r))
