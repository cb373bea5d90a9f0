"""The garbage collector's pace while the app runs.

Under every-event load a frame makes thousands of short-lived containers (Textual's
strips, each with its own caches; the decoder's records), and CPython's default pace
(a young collection every 700 net allocations, a middle one every 10 young ones, a
full one every 10 middle ones) walked the app's whole heap several times a second.
A collection holds the GIL: the reader, the decoder and the frames all waited on it,
and the decoder's rests, timed by its own CPU time, grew with every collection it
happened to run. bench/ingest.py's pilot row (every view frame under the dd flood),
same machine, rounds alternated: 20-21 refreshes/s and 15-19 % loss at the default
pace, 25-26 refreshes/s and 4-5 % loss at this one.

Two changes, both undone when the app leaves (tests run many apps in one process):

* once the app has started, what exists then (modules, classes, the widget tree:
  about 90 k objects) is frozen (:func:`gc.freeze`), so a full collection no longer
  walks it;
* young collections every 2,000 allocations and middle ones every 50 young ones:
  fewer passes over objects that reference counting frees anyway. Full collections
  keep their default ratio, so cyclic garbage is still collected every few seconds
  under load and memory stays bounded by the ring.
"""

from __future__ import annotations

import gc
from typing import Optional, Tuple

#: (young, middle, full) thresholds while the app runs (see the module's docstring).
APP_THRESHOLDS = (2000, 50, 10)


class GcPace:
    """Set on :meth:`start`, frozen on :meth:`freeze`, put back on :meth:`stop`."""

    def __init__(self) -> None:
        self._saved: Optional[Tuple[int, ...]] = None
        self._frozen = False

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(*APP_THRESHOLDS)

    def freeze(self) -> None:
        """What the start built lives as long as the app: no collection walks it again.

        No collection first: a full one here stalls the loop for about 50 ms just as
        the first screens are used, and what it would free is the start's few cycles,
        kept once (frozen objects are still freed by reference counting)."""
        if self._saved is not None and not self._frozen:
            gc.freeze()
            self._frozen = True

    def stop(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
