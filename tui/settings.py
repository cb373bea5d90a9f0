"""The user's ftop config file: the chosen theme and key overrides, remembered between runs.

``$XDG_CONFIG_HOME/ftop/config.toml`` (``~/.config/ftop/config.toml``)::

    theme = "light"

    [keys]
    "live.search" = "slash,f3"

Only this small subset of TOML is read and written (string values, one
``[keys]`` table), so Python 3.9 needs no TOML library. A file that cannot be
read or parsed is ignored, never fatal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional

__all__ = ["Settings", "config_path"]

_LINE = re.compile(
    r'^\s*(?:"(?P<qkey>[^"]+)"|(?P<key>[A-Za-z0-9_.-]+))\s*=\s*"(?P<value>[^"]*)"\s*$'
)
_TABLE = re.compile(r"^\s*\[(?P<name>[A-Za-z0-9_.-]+)\]\s*$")


def config_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or "~", ".config")
    return Path(os.path.expanduser(base)) / "ftop" / "config.toml"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Settings:
    path: Path
    theme: Optional[str] = None
    keys: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Optional[Path] = None) -> Settings:
        s = cls(path or config_path())
        try:
            text = s.path.read_text()
        except (OSError, UnicodeDecodeError):
            return s
        table = ""
        for line in text.splitlines():
            line = line.split("#", 1)[0] if not line.strip().startswith('"') else line
            if not line.strip():
                continue
            m = _TABLE.match(line)
            if m:
                table = m.group("name")
                continue
            m = _LINE.match(line)
            if not m:
                continue
            key = m.group("qkey") or m.group("key")
            if table == "" and key == "theme":
                s.theme = m.group("value")
            elif table == "keys":
                s.keys[key] = m.group("value")
        return s

    def save(self) -> Optional[str]:
        """Write the file; returns an error sentence instead of raising."""
        lines = []
        if self.theme:
            lines.append(f"theme = {_quote(self.theme)}")
        if self.keys:
            lines += ["", "[keys]"]
            lines += [f"{_quote(k)} = {_quote(v)}" for k, v in sorted(self.keys.items())]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".toml.tmp")
            tmp.write_text("\n".join(lines) + "\n")
            os.replace(tmp, self.path)
        except OSError as e:
            return f"cannot save {self.path}: {e.strerror}"
        return None
