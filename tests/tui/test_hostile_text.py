"""Terminal safety: text the traced system controls never acts on root's terminal.

Hostile strings (escape sequences, C1 controls, bidi overrides, Rich markup) are
put where unprivileged users put them on a real box: task names in the context
column, ``sched_process_exec`` file names, ``trace_marker`` text, a process's
name and command line (the process picker reads a real process we start here),
and the messages of refusals. Every screen and dialog is then drawn, and the
bytes that would go to the terminal are checked:

- none of the hostile sequences is in the output (the render guard alone would
  ensure this, so the test also asserts the guard never had to act: every
  string was made visible before it was measured and drawn);
- the visible form (``\\x1b]2;``) is on screen, so the user sees what was there;
- a ``[@click=...]`` in a task name stays literal text.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any, Callable

import pytest
from ftop.engine.demo.session import DemoSession
from ftop.engine.printable import has_unsafe, printable
from ftop.tui.app import FtopApp
from ftop.tui.widgets.printable import GUARD, install_render_guard, shown, shown_markup
from pilot_util import until
from rich.segment import Segment
from textual.strip import Strip

AppFactory = Callable[..., FtopApp]

TITLE = "\x1b]2;PWNED\x07"  # sets the window title
CLIP = "\x1b]52;c;UFdORUQ=\x07"  # writes the clipboard
LEAVE = "\x1b[?1049l\x1b[H\x1b[2J"  # leaves the alternate screen, clears root's shell
ASK = "\x1b[6n\x9b21t"  # asks the terminal to type an answer into root's input (C1 CSI too)
BIDI = "\u202eevil\u202c"
MARKUP = "[@click=app.quit]x[/]"
HOSTILE_SEQUENCES = [TITLE, CLIP, LEAVE, "\x1b[6n", "\x9b21t", "\u202e", "\x07"]

COMM = TITLE[:15]  # a comm is at most 15 bytes
HOSTILE_LINES = [
    f"{COMM:>16}-4242    [001] d..2. 12345.678901: sched_process_exec: "
    f"filename=/tmp/x{CLIP}{LEAVE}{MARKUP} pid=4242 old_pid=4242",
    f"            bash-4243    [000] ..... 12345.679000: task_rename: pid=4243 "
    f"oldcomm=bash newcomm={ASK} oom_score_adj=0",
    f"           <...>-4244    [000] ..... 12345.680000: tracing_mark_write: {BIDI}{LEAVE}",
    f"{MARKUP:>16}-4245    [001] ..... 12345.681000: sched_process_exec: "
    "filename=/bin/true pid=4245 old_pid=4245",
]


def screen_bytes(app: FtopApp) -> str:
    """What the terminal would receive for a full redraw of the current screen."""
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


def plain(out: str) -> str:
    """The screen's text: Textual's own SGR and cursor-position sequences taken out."""
    return re.sub(r"\x1b\[[0-9;]*[mH]", "", out)


def assert_safe(out: str, where: str = "") -> None:
    for seq in HOSTILE_SEQUENCES:
        assert seq not in out, f"{where}: {seq!r} reached the terminal"
    assert GUARD.caught == 0, f"{where}: text reached the renderer unescaped: {GUARD.samples[:3]}"


@pytest.fixture()
def guard() -> Any:
    g = install_render_guard()
    g.reset()
    yield g
    g.reset()


def test_printable_makes_every_control_visible() -> None:
    every = "".join(chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])
    out = printable(every.replace("\t", ""))
    assert out.isprintable()
    assert "\\x1b" in out and "\\x9b" in out and "\\x7f" in out and "\\x00" in out
    assert printable("a\u202eb\u200bc\ufeff") == "a\\u202eb\\u200bc\\ufeff"
    # A byte that was not UTF-8, kept by surrogateescape, shows as the byte.
    assert printable(b"x\xff".decode("utf-8", "surrogateescape")) == "x\\xff"
    assert printable("a\tb") == "a       b"
    plain = "bash-1 [000] d..2. 1.0: sched_switch: prev_comm=é→ü"
    assert printable(plain) is plain and not has_unsafe(plain)


def test_shown_is_measured_on_what_is_drawn() -> None:
    t = shown(TITLE)
    assert t.plain == "\\x1b]2;PWNED\\x07" and t.cell_len == len(t.plain)
    assert shown_markup(MARKUP) == "\\[@click=app.quit]x\\[/]"


def test_the_guard_neutralises_what_reaches_it_and_keeps_the_width(guard: Any) -> None:
    from rich.console import Console

    strip = Strip([Segment(f"a{TITLE}b")])
    out = strip.render(Console())
    # ESC and BEL count no cells: they go, and the width Textual measured holds.
    assert out == "a]2;PWNEDb" and len(out) == strip.cell_length
    assert guard.caught == 1


async def test_every_screen_shows_hostile_text_escaped(
    make_app: AppFactory, demo: DemoSession, guard: Any
) -> None:
    demo._on_batch(HOSTILE_LINES)
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        out = screen_bytes(app)
        assert_safe(out)
        text = plain(out)
        assert "\\x1b]2;PWNED" in text  # the task name, visible
        assert "\\x1b]52;c;" in text and "\\u202e" in text
        assert "[@click=app.quit]" in text  # markup stays literal text
        for key in "234567890":
            await pilot.press(key)
            await pilot.pause()
            assert_safe(screen_bytes(app), f"screen {key}")
        await pilot.press("3")  # the dashboard lists tasks and events by name
        await pilot.pause()
        assert_safe(screen_bytes(app))


async def test_the_fields_dialog_and_search_escape_hostile_text(
    make_app: AppFactory, demo: DemoSession, guard: Any
) -> None:
    demo._on_batch(HOSTILE_LINES)
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        view = screen.view  # type: ignore[attr-defined]
        ring = demo.ring
        seq = next(s for s in range(ring.first_seq, ring.next_seq) if CLIP in ring.get(s))
        assert view.jump_to_seq(seq)
        await pilot.press("enter")
        await pilot.pause()
        out = screen_bytes(app)
        assert_safe(out)
        assert "\\x1b]52;c;" in plain(out)
        await pilot.press("escape")
        await pilot.press("slash", *"PWNED", "enter")
        await pilot.pause()
        assert_safe(screen_bytes(app))


async def test_notifications_escape_hostile_text(make_app: AppFactory, guard: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.notify(f"refused: {TITLE}{MARKUP}", title=f"task {LEAVE}", severity="error")
        await pilot.pause(0.3)
        out = screen_bytes(app)
        assert_safe(out)
        assert "\\x1b]2;PWNED" in plain(out) and "[@click=app.quit]" in plain(out)


@pytest.fixture()
def hostile_process() -> Any:
    """A real process whose comm and command line carry escape sequences."""
    # The code starts with its newline and argv[0] is short, so the escaped newline falls
    # inside the command-line column whatever the path of the Python running the tests.
    code = (
        "\nimport ctypes, sys, time\n"
        f"ctypes.CDLL(None).prctl(15, {COMM.encode()!r}, 0, 0, 0)\n"
        "time.sleep(60)\n"
    )
    p = subprocess.Popen(["py", "-c", code, f"arg{CLIP}{MARKUP}"], executable=sys.executable)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{p.pid}/comm", "rb") as f:
                if f.read().startswith(b"\x1b"):
                    break
        except OSError:
            pass
        time.sleep(0.05)
    yield p
    p.kill()
    p.wait()


async def test_the_process_picker_escapes_names_and_command_lines(
    make_app: AppFactory, hostile_process: Any, guard: Any
) -> None:
    from ftop.tui.screens.functions import ProcessDialog

    app = make_app(first_screen="functions")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.push_screen(ProcessDialog([]))
        await pilot.pause()
        await pilot.press(*str(hostile_process.pid))
        # The picker lists every process on mount; wait for the query's own answer (the
        # hostile pid among the rows) and for the frame that draws it.
        dialog = app.screen
        pid = hostile_process.pid
        await until(
            pilot,
            lambda: (
                any(p.pid == pid for p in dialog.procs.rows)  # type: ignore[attr-defined]
                and "PWNED" in plain(screen_bytes(app))
            ),
        )
        out = screen_bytes(app)
        assert_safe(out)
        # The name, and the newline in the command line (py -c "\\nimport ..."), visible.
        assert "\\x1b]2;PWNED" in plain(out) and "\\x0aimport" in plain(out)
