"""What every trace source offers a viewer: the :class:`Backend` protocol.

Three sources implement it: the live :class:`~ftop.engine.control.session.Session`,
the demo's :class:`~ftop.engine.demo.session.DemoSession` (a Session over a
simulated tracefs) and a saved trace's
:class:`~ftop.engine.stream.offline.FileSession`. What only some of them have
is part of the protocol with a typed "not available" value, never found out
with ``getattr``: a saved trace has no ``tfs`` and no ``reader`` (both None),
only it has a ``rate_series`` (None elsewhere), and every change to it raises
:class:`~ftop.engine.stream.offline.ReadOnly`.

Members are read-only properties here, so a source may hold them as plain
attributes of the same or a narrower type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, List, Optional, Protocol, Sequence

from ftop.engine.errors import FtopError

if TYPE_CHECKING:
    from ftop.engine.control.capabilities import Capabilities
    from ftop.engine.control.journal import Journal
    from ftop.engine.control.session import Status
    from ftop.engine.control.state import RestoreReport
    from ftop.engine.control.tracefs import Tracefs
    from ftop.engine.control.transaction import Change, TransactionResult
    from ftop.engine.stream.ring import Ring
    from ftop.engine.stream.stats import Aggregates
    from ftop.engine.stream.trace_pipe import LineReader

__all__ = ["Backend", "LineListener", "NoTracefs", "tracefs_of"]

LineListener = Callable[[Sequence[str]], None]


class NoTracefs(FtopError):
    """A source without a tracefs (a saved trace) was asked for one."""


class Backend(Protocol):
    """A trace source: the ring and aggregates it fills, its status, and changes.

    Attributes (read-only properties):
        kind: ``"live"``, ``"demo"`` or ``"file"``.
        read_only: every change raises (a saved trace).
        label: what the source is (tracefs path, demo, file name).
        kernel_release: the kernel the trace comes from; None: this machine's.
        realtime: the clock moves (False only for a frozen demo: tests, screenshots).
        ring, aggregates: where the stream goes.
        listeners: called with each batch of lines, on the reader's thread.
        status: the last poll's result.
        caps: what the kernel allows (empty for a saved trace).
        tfs: the tracefs changes go to; None for a saved trace.
        journal: what ftop changed so far; None before the first change.
        reader: the trace_pipe reader while there is one (live sessions only).
    """

    @property
    def kind(self) -> str: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def label(self) -> str: ...

    @property
    def kernel_release(self) -> Optional[str]: ...

    @property
    def realtime(self) -> bool: ...

    @property
    def ring(self) -> Ring: ...

    @property
    def aggregates(self) -> Aggregates: ...

    @property
    def listeners(self) -> List[LineListener]: ...

    @property
    def status(self) -> Status: ...

    @property
    def caps(self) -> Capabilities: ...

    @property
    def tfs(self) -> Optional[Tracefs]: ...

    @property
    def journal(self) -> Optional[Journal]: ...

    @property
    def reader(self) -> Optional[LineReader]: ...

    @property
    def trace_self(self) -> bool:
        """ftop's own threads are traced too (False: left out, the default)."""
        ...

    @property
    def raw_why(self) -> Optional[str]:
        """Why the live stream reads text rather than the raw pages (None: raw, or no stream)."""
        ...

    def clock(self) -> float:
        """Now, in the source's own time (the frozen demo's, the capture's span)."""
        ...

    def rate_series(self) -> Optional[List[float]]:
        """Events per second over the whole trace (a saved file); None: measured as it streams."""
        ...

    def limit_batch_bytes(self, limit: int) -> None:
        """Hand the stream over in batches of at most ``limit`` bytes (no-op without a reader)."""
        ...

    def poll(self) -> Status: ...

    def start_stream(self) -> None: ...

    def stop_stream(self) -> None: ...

    def restore(self) -> Optional[RestoreReport]: ...

    def detect_foreign(self) -> List[str]: ...

    def apply(self, changes: List[Change]) -> TransactionResult: ...

    def set_tracer(self, name: str) -> None: ...

    def set_tracing_on(self, on: bool) -> None: ...

    def set_trace_self(self, on: bool) -> None:
        """Trace ftop's own threads (on) or leave them out (off, the default)."""
        ...

    def set_event(self, system: str, event: Optional[str], on: bool) -> None: ...

    def set_event_filter(self, system: str, event: str, text: str) -> None: ...

    def add_event_trigger(self, system: str, event: str, spec: str) -> None: ...

    def use_instance(self, name: Optional[str]) -> None: ...

    def save_tracedat(self, path: str) -> int:
        """The raw pages kept so far as a trace.dat (FtopError where there are none)."""
        ...

    def save_pages_text(self, path: str, tracer: str = "nop", cpus: int = 1) -> int:
        """The raw pages kept so far rendered as text, all of them (what a sampled view
        saves); FtopError where there are none."""
        ...


def tracefs_of(backend: Backend) -> Tracefs:
    """The source's tracefs.

    Raises:
        NoTracefs: a saved trace has none.
    """
    tfs = backend.tfs
    if tfs is None:
        raise NoTracefs(f"{backend.label} is a saved trace: it has no tracefs")
    return tfs
