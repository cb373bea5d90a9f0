"""Shown instead of the trace when this machine's tracefs cannot be used: what is missing, how to fix it."""

from __future__ import annotations

import os
from typing import Optional

from ftop.engine.control.tracefs import lockdown_mode
from ftop.tui.widgets.glyphs import glyphs
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

__all__ = ["UnavailableScreen", "explain"]


def explain(error: str, euid: Optional[int] = None) -> Text:
    """The message: the reason, then the ways out (sudo, mount, lockdown, --demo)."""
    uid = os.geteuid() if euid is None else euid
    t = Text()
    t.append("ftop cannot trace on this machine\n\n", style="bold")
    t.append(error.rstrip() + "\n\n")
    steps = []
    if uid != 0:
        # Root is not the only way in: a tracefs mounted for a group lets its members
        # read, and write what is made group-writable.
        steps.append(
            (
                "Be let in by the mount's group",
                "as root: mount -o remount,gid=GROUP,mode=0750 /sys/kernel/tracing "
                "(a group you are in), chmod g+w what you may change",
            )
        )
        steps.append(("Or run it as root", "su -c ftop, or sudo ftop"))
    steps.append(
        (
            "Mount tracefs if it is not",
            "mount -t tracefs nodev /sys/kernel/tracing"
            + ("   (as root: su -c, or sudo)" if uid != 0 else ""),
        )
    )
    mode = lockdown_mode()
    if mode and mode != "none":
        steps.append(
            (
                f"Kernel lockdown is '{mode}'",
                "it forbids tracing; boot with lockdown=none (or without Secure Boot lockdown)",
            )
        )
    else:
        steps.append(
            (
                "In a container",
                "the host must expose /sys/kernel/tracing (e.g. docker --privileged -v "
                "/sys/kernel/tracing:/sys/kernel/tracing)",
            )
        )
    steps.append(("Check what decides it", "ftop doctor"))
    steps.append(("Or try the whole UI on recorded traces", "ftop --demo   (no root needed)"))
    for title, how in steps:
        t.append(f"  {glyphs().bullet} {title}\n", style="bold")
        t.append(f"      {how}\n")
    return t


class UnavailableScreen(Screen[str]):
    """Explains; ``d`` switches to the demo, ``q`` quits."""

    DEFAULT_CSS = """
    UnavailableScreen { align: center middle; }
    UnavailableScreen Vertical {
        width: 90%; max-width: 96; height: auto;
        border: round $error; padding: 1 2; background: $surface;
    }
    """
    BINDINGS = [
        Binding("d", "demo", "Open the demo", id="unavailable.demo"),
        Binding("q,f10,escape", "app.quit", "Quit", id="unavailable.quit"),
    ]

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Center(), Vertical():
            yield Static(explain(self.error), id="explain")
        yield Footer()

    def action_demo(self) -> None:
        self.app.exit("demo")
