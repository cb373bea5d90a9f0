"""ftop's colour themes, as data: Textual ``Theme`` objects plus the trace view's own colours.

Layout lives in the TCSS next to the widgets; a theme only names colours. The
``trace-*`` variables colour the live view's columns and are used as
``$trace-task`` and so on in TCSS. ``mono`` has no hue at all (emphasis is
bold, underline and reverse) and is what ``NO_COLOR`` selects. Under ``NO_COLOR``
the app also drops every colour it would draw (``FtopApp.get_line_filters``), so
``mono`` marks cursors by reverse video, not by a grey background
(``trace-cursor-style`` and Textual's ``*-cursor-text-style``).
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional

from textual.theme import Theme

__all__ = ["DEFAULT", "THEMES", "pick_theme"]

DEFAULT = "dark"


# How a cursor row is told apart beyond its background: nothing more in a colour
# theme; under ``mono`` (NO_COLOR: no background colour survives) reverse video.
_CURSOR_STYLES = {"trace-cursor-style": "none", "trace-cursor-focus-style": "bold"}
_MONO_STYLES = {
    "trace-cursor-style": "reverse",
    "trace-cursor-focus-style": "reverse bold",
    # Textual's own cursors (DataTable, Input, Select lists).
    "block-cursor-text-style": "reverse bold",
    "block-cursor-blurred-text-style": "reverse",
    "input-cursor-text-style": "reverse",
}


def _vars(styles: Optional[Mapping[str, str]] = None, **colours: str) -> Dict[str, str]:
    out = {f"trace-{k.replace('_', '-')}": v for k, v in colours.items()}
    out.update(_CURSOR_STYLES if styles is None else styles)
    return out


THEMES: Dict[str, Theme] = {
    "dark": Theme(
        name="dark",
        primary="#4AA3FF",
        secondary="#7C8DA6",
        accent="#FFB454",
        warning="#FFB454",
        error="#FF5F56",
        success="#5FD38D",
        foreground="#D8DEE9",
        background="#11151A",
        surface="#171C22",
        panel="#222A33",
        dark=True,
        variables=_vars(
            task="#8FBCBB",
            pid="#7C8DA6",
            cpu="#B48EAD",
            flags="#6C7A89",
            ts="#A3BE8C",
            name="#88C0D0",
            event="#EBCB8B",
            parent="#6C7A89",
            fields="#D8DEE9",
            lost="#FF5F56",
            mark="#FFB454",
            search="#FFB454",
            cursor="#2B3A4A",
            marked="#3B3320",
        ),
    ),
    "light": Theme(
        name="light",
        primary="#005FB8",
        secondary="#5A6B7F",
        accent="#B85C00",
        warning="#B85C00",
        error="#C62828",
        success="#2E7D32",
        foreground="#1E2329",
        background="#FAFAF7",
        surface="#F0F0EB",
        panel="#E2E4E0",
        dark=False,
        variables=_vars(
            task="#00695C",
            pid="#5A6B7F",
            cpu="#7B1FA2",
            flags="#8A8F98",
            ts="#2E7D32",
            name="#005FB8",
            event="#8D5A00",
            parent="#8A8F98",
            fields="#1E2329",
            lost="#C62828",
            mark="#B85C00",
            search="#FFD54F",
            cursor="#D6E4F5",
            marked="#FCEBC8",
        ),
    ),
    # Pure colours: they survive a 16-colour console unchanged.
    "high-contrast": Theme(
        name="high-contrast",
        primary="#00FFFF",
        secondary="#FFFFFF",
        accent="#FFFF00",
        warning="#FFFF00",
        error="#FF0000",
        success="#00FF00",
        foreground="#FFFFFF",
        background="#000000",
        surface="#000000",
        panel="#000080",
        dark=True,
        variables=_vars(
            task="#00FFFF",
            pid="#FFFFFF",
            cpu="#FF00FF",
            flags="#C0C0C0",
            ts="#00FF00",
            name="#FFFF00",
            event="#FFFF00",
            parent="#C0C0C0",
            fields="#FFFFFF",
            lost="#FF0000",
            mark="#FFFF00",
            search="#FFFF00",
            cursor="#000080",
            marked="#800080",
        ),
    ),
    "mono": Theme(
        name="mono",
        primary="#FFFFFF",
        secondary="#C0C0C0",
        accent="#FFFFFF",
        warning="#FFFFFF",
        error="#FFFFFF",
        success="#FFFFFF",
        foreground="#E0E0E0",
        background="#000000",
        surface="#000000",
        panel="#303030",
        dark=True,
        variables=_vars(
            _MONO_STYLES,
            task="#E0E0E0",
            pid="#A0A0A0",
            cpu="#A0A0A0",
            flags="#A0A0A0",
            ts="#A0A0A0",
            name="#FFFFFF",
            event="#FFFFFF",
            parent="#A0A0A0",
            fields="#E0E0E0",
            lost="#FFFFFF",
            mark="#FFFFFF",
            search="#FFFFFF",
            cursor="#303030",
            marked="#505050",
        ),
    ),
}


def pick_theme(
    requested: Optional[str] = None,
    saved: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> str:
    """The theme to start with: ``--theme``, else ``mono`` under NO_COLOR, else the saved one.

    Raises:
        KeyError: ``requested`` is not a theme (the message lists the known ones).
    """
    env = os.environ if environ is None else environ
    if requested:
        if requested not in THEMES:
            raise KeyError(f"no theme '{requested}'; themes: {', '.join(THEMES)}")
        return requested
    if env.get("NO_COLOR") is not None:
        return "mono"
    if saved in THEMES:
        return saved
    return DEFAULT
