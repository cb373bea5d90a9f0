"""The stream from the kernel to the screen: trace_pipe reader, ring, parsers, aggregates, views."""
