"""The captures the demo replays (``data/``): what is where, read once."""

from __future__ import annotations

import gzip
import json
import threading
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
    #: ``{system: {event: None}}``: the recorded kernel's events, by name (a probe
    #: adds its own). Their formats come from :meth:`format`.
    catalog: Dict[str, Dict[str, Optional[str]]]
    _sources: Dict[str, List[str]] = field(default_factory=dict)
    _functions: Optional[List[str]] = None
    _formats: Optional[Dict[str, Dict[str, Optional[str]]]] = None
    _formats_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, path: Path = DATA_DIR) -> DemoData:
        """The names only: the formats (860 kB of JSON, 4 ms to read) wait for the
        first look at one (issue 10: the demo's first frame needs none)."""
        meta = json.loads((path / "meta.json").read_text())
        catalog: Dict[str, Dict[str, Optional[str]]] = {}
        for line in (path / meta["event_names"]).read_text().splitlines():
            system, _, event = line.partition(":")
            catalog.setdefault(system, {})[event] = None
        return cls(path, meta, catalog)

    def format(self, system: str, event: str) -> Optional[str]:
        """The recorded ``format`` file of an event; None if not recorded (a probe's,
        or one the capture has no format for)."""
        if self._formats is None:
            with self._formats_lock:
                if self._formats is None:
                    self._formats = json.loads(_read_text(self.path / self.meta["catalog"]))
        return self._formats.get(system, {}).get(event)

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
