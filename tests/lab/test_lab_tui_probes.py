"""The probes screen on the real 6.1-rt kernel: a kprobe created, enabled (its events arrive),
disabled and removed; a bad symbol refused with the kernel's error_log and caret; a uprobe on
a real binary's entry point; quit removes what ftop created."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from engine_lab import kernel_reads, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.tui.screens.probes import ProbeDialog, ProbesScreen
from ftop.tui.widgets.kit import ChoiceDialog
from tui_lab import SIZE, lab_app, quit_app, show, text_of, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

KPROBE = "p:kprobes/ftop_tui do_sys_openat2 dfd=%di:s32"


def entry_offset(path: str) -> int:
    """The file offset of an x86-64 ELF's entry point (where a uprobe can go)."""
    data = Path(path).read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2
    entry, phoff = struct.unpack_from("<QQ", data, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _pa, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1 and p_vaddr <= entry < p_vaddr + p_filesz:
            return entry - p_vaddr + p_offset
    raise AssertionError("entry point in no PT_LOAD segment")


async def new_probe(app: Any, pilot: Any, key: str, definition: str) -> ProbeDialog:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, ProbeDialog))
    dialog: ProbeDialog = app.screen
    dialog.query_one("#value").value = definition  # type: ignore[attr-defined]
    await pilot.press("enter")
    return dialog


async def test_probes_screen_creates_enables_removes_and_shows_refusals(
    session: Session, tmp_path: Path
) -> None:
    app = lab_app(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen: ProbesScreen = await show(app, pilot, "0", ProbesScreen)
        await until(pilot, lambda: screen.loaded)

        await new_probe(app, pilot, "k", KPROBE)
        await until(pilot, lambda: not isinstance(app.screen, ProbeDialog))
        assert KPROBE in raw("kprobe_events")
        assert raw("events/kprobes/ftop_tui/enable").strip() == "1"
        seq = session.ring.next_seq
        kernel_reads(3)
        await until(
            pilot,
            lambda: any(
                "ftop_tui:" in ln for ln in session.ring.window(seq, session.ring.next_seq - seq)
            ),
        )
        await until(pilot, lambda: [p.name for p in screen.list.rows] == ["kprobes/ftop_tui"])
        await pilot.press("space")
        await until(pilot, lambda: raw("events/kprobes/ftop_tui/enable").strip() == "0")

        # The kernel's refusal: error_log's message, the caret under the bad symbol.
        dialog = await new_probe(app, pilot, "k", "p:bad no_such_symbol_q")
        await until(pilot, lambda: dialog.error is not None)
        shown = text_of(dialog.query_one("#error"))
        assert "Invalid probed address or symbol" in shown
        lines = shown.splitlines()
        cmd = next(ln for ln in lines if "Command: p:kprobes/bad" in ln)
        assert lines[lines.index(cmd) + 1].index("^") == cmd.index("no_such_symbol_q")
        assert "kprobes/bad" not in raw("kprobe_events")
        await pilot.press("escape")

        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("y")
        await until(pilot, lambda: "ftop_tui" not in raw("kprobe_events"))

        # A uprobe at /bin/true's entry: its event fires when /bin/true runs.
        target = str(Path("/bin/true").resolve())
        await new_probe(app, pilot, "u", f"p:uprobes/ftop_true {target}:0x{entry_offset(target):x}")
        await until(pilot, lambda: not isinstance(app.screen, ProbeDialog))
        assert "uprobes/ftop_true" in raw("uprobe_events")
        seq = session.ring.next_seq
        subprocess.run([target], check=True, timeout=20)
        await until(
            pilot,
            lambda: any(
                "ftop_true:" in ln for ln in session.ring.window(seq, session.ring.next_seq - seq)
            ),
        )
        await quit_app(app, pilot, session)
    assert "ftop_true" not in raw("uprobe_events")
