"""The captures the demo replays (``data/``): what is where, read once."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["DATA_DIR", "DemoData"]

DATA_DIR = Path(__file__).with_name("data")


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            return f.read()
    return path.read_text(encoding="utf-8", errors="replace")


@dataclass
class DemoData:
    """The bundled captures: ``meta.json`` says what is where (see data/README.md)."""

    path: Path
    meta: Dict[str, Any]
    catalog: Dict[str, Dict[str, Optional[str]]]
    _sources: Dict[str, List[str]] = field(default_factory=dict)
    _functions: Optional[List[str]] = None

    @classmethod
    def load(cls, path: Path = DATA_DIR) -> DemoData:
        meta = json.loads((path / "meta.json").read_text())
        catalog = json.loads(_read_text(path / meta["catalog"]))
        return cls(path, meta, catalog)

    @property
    def release(self) -> str:
        return str(self.meta.get("release", "?"))

    @property
    def cpus(self) -> int:
        return int(self.meta.get("cpus", 2))

    @property
    def tracers(self) -> List[str]:
        return list(self.meta.get("tracers", ["nop"]))

    def source_names(self) -> List[str]:
        return list(self.meta.get("sources", {}))

    def source(self, name: str) -> List[str]:
        """A capture's lines (header and blank lines dropped)."""
        if name not in self._sources:
            fname = self.meta.get("sources", {}).get(name)
            lines: List[str] = []
            if fname:
                text = _read_text(self.path / fname)
                lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
            self._sources[name] = lines
        return self._sources[name]

    @property
    def has_functions(self) -> bool:
        """The recorded kernel had function tracing (known without loading the catalog)."""
        return bool(self.meta.get("functions"))

    def functions(self) -> List[str]:
        """``available_filter_functions`` of the recorded kernel (may be empty)."""
        if self._functions is None:
            fname = self.meta.get("functions")
            self._functions = _read_text(self.path / fname).splitlines() if fname else []
        return self._functions


# -- the simulated kernel ------------------------------------------------------------
