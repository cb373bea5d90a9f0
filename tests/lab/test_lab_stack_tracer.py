"""The stack tracer on the real 6.1-rt kernel through ftop.engine.ftrace.stack_tracer and the Session."""

from __future__ import annotations

import pytest
from engine_lab import deep_work, raw, session_fixture  # noqa: F401
from ftop.engine.control.session import Session
from ftop.engine.ftrace.stack_tracer import (
    StackTrace,
    is_enabled,
    parse_stack_trace,
    plan_enable,
    plan_reset_max,
    read_max_size,
    read_stack_trace,
)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(150)]


def test_enable_read_reset_disable(session: Session) -> None:
    before = raw("stack_max_size").strip()
    assert is_enabled() is False
    session.apply([plan_enable(True)])  # a sysctl, journaled like a tracefs file
    assert is_enabled() is True
    st = StackTrace()
    # The kernel can record a new maximum whose stack it could not walk ("(0 entries)"):
    # start over until a maximum comes with its frames.
    for _ in range(3):
        session.apply([plan_reset_max()])
        deep_work()
        st = read_stack_trace(session.tfs)
        if st.frames:
            break
    session.apply([plan_enable(False)])
    assert st.enabled is True
    assert st.max_size > 0 and st.frames, st
    assert st.entries == len(st.frames)
    for a, b in zip(st.frames, st.frames[1:]):
        assert a.depth - b.depth == a.size
    assert st.frames[-1].depth == st.frames[-1].size
    assert st.frames[0].depth <= st.max_size
    assert parse_stack_trace(raw("stack_trace")).frames == st.frames  # disabled: still shown
    session.apply([plan_reset_max()])
    assert read_max_size(session.tfs) == 0
    if before != "0":  # leave the measurement as the tier found it
        session.apply([plan_reset_max(int(before))])
