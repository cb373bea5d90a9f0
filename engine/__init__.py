"""ftop engine: tracefs control, state restore, trace_pipe streaming and the ring. No UI imports."""
