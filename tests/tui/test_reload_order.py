"""Each screen shows its newest read of the kernel's state, whatever order the reads end in.

A screen reloads on a thread worker in an ``exclusive`` group: a newer reload cancels
the older worker, but a thread cannot be stopped, and its answer still landed. Read
before a change finished (a removal, a reset, a switch), it landed after the newer
read and showed what was no longer so: a CI failure on the Probes screen, where a
removed probe stayed listed. Here the first read after the screen loaded is held back
and answers with stale state; the second answers at once; then the first is let go.
On the demo kernel."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Tuple

import pytest
from ftop.engine.ftrace import event_catalog as catalog_mod
from ftop.engine.ftrace.stack_tracer import StackTrace
from ftop.tui.screens import setup as setup_mod
from ftop.tui.screens import stack as stack_mod
from ftop.tui.screens import tracers as tracers_mod
from ftrace_util import OpenScreen
from pilot_util import until

# screen: (module whose function the reload calls, its name, the stale answer,
#          does the screen show the stale answer?)
CASES: Dict[str, Tuple[Any, str, Callable[[], Any], Callable[[Any], bool]]] = {
    "setup": (
        setup_mod,
        "read_trace_clock",
        lambda: ("stale-clock", ["stale-clock"]),
        lambda s: s.settings.clock == "stale-clock",
    ),
    "stack": (
        stack_mod,
        "read_stack",
        lambda: StackTrace(max_size=987654),
        lambda s: s.stack is not None and s.stack.max_size == 987654,
    ),
    "tracers": (
        tracers_mod,
        "list_options",
        lambda: [],
        lambda s: s.loaded is not None and not s.loaded.options,
    ),
    "events": (
        catalog_mod,
        "read_catalog",
        lambda: {"stale": ["stale_event"]},
        lambda s: s.list is not None and "stale" in s.list.catalog,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_an_older_read_landing_last_does_not_undo_a_newer_one(
    name: str, open_screen: OpenScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, attr, stale, shows_stale = CASES[name]
    real = getattr(module, attr)
    release = threading.Event()
    calls: List[int] = []

    def slow_first(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            release.wait(10)  # the older read: made before a change, delivered last
            return stale()
        return real(*args, **kw)

    async with open_screen(name) as (_app, pilot, screen):
        monkeypatch.setattr(module, attr, slow_first)
        screen.reload()  # the older read: held
        await until(pilot, lambda: len(calls) == 1)
        screen.reload()  # the newer read: answers at once
        await until(pilot, lambda: len(calls) >= 2)
        await pilot.pause(0.3)
        assert not shows_stale(screen)
        release.set()
        await pilot.pause(0.6)
        assert not shows_stale(screen), f"{name}: the older read's answer was shown last"
