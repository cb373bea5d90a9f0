"""SIGCONT without a SIGTSTP first: a resume of nothing.

Textual's Linux driver takes every SIGCONT for the end of its own Ctrl-Z suspend
and starts application mode again. A process stopped by SIGSTOP (a debugger,
``kill -STOP``, a job-control tool) gets a SIGCONT without having suspended:
application mode then starts a second time, with a second input thread, which
later keeps the interpreter from exiting (ftop would hang after its restore;
see docs/reliability.md and tests/e2e/test_tui_faults.py). This wraps the
driver's handlers so that a SIGCONT resumes only after a SIGTSTP did suspend.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Callable, Optional

__all__ = ["resume_only_after_suspend"]

Handler = Callable[[int, Optional[FrameType]], Any]


def resume_only_after_suspend() -> bool:
    """Wrap the SIGTSTP/SIGCONT handlers in place; False when there is nothing to wrap
    (not the main thread, or handlers that are not Python callables)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    tstp, cont = signal.getsignal(signal.SIGTSTP), signal.getsignal(signal.SIGCONT)
    if not callable(tstp) or not callable(cont):
        return False
    on_tstp: Handler = tstp
    on_cont: Handler = cont
    suspended = False

    def tstp_wrapper(signum: int, frame: Optional[FrameType]) -> None:
        nonlocal suspended
        suspended = True
        on_tstp(signum, frame)

    def cont_wrapper(signum: int, frame: Optional[FrameType]) -> None:
        nonlocal suspended
        if suspended:
            suspended = False
            on_cont(signum, frame)

    signal.signal(signal.SIGTSTP, tstp_wrapper)
    signal.signal(signal.SIGCONT, cont_wrapper)
    return True
