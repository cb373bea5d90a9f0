"""The kernel's binary ring buffer: ``per_cpu/cpuN/trace_pipe_raw`` pages, read as
trace-cmd reads them, kept as bytes and decoded only when something looks.

format (header_page, header_event, event formats) -> page (records of one page)
-> trace_pipe_raw (the reader) -> page_ring (bounded in bytes) -> render (the
kernel's own text, line for line).
"""
