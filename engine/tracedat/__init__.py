"""trace-cmd's ``trace.dat`` file (versions 6 and 7), read and written.

read: ``TraceDat.open(path)`` -> headers, event formats, options and the per-CPU
ring-buffer pages (decompressed), records merged across CPUs by time stamp.
write: ``TraceDatWriter`` spools pages per CPU as ``ftop record`` reads them and
assembles the file on ``close()`` (written under a temporary name, then renamed).

The layout follows trace-cmd's documents trace-cmd.dat.v6(5) and
trace-cmd.dat.v7(5); the code is ftop's own.
"""

from ftop.engine.tracedat.common import TraceDatError, is_tracedat
from ftop.engine.tracedat.read import Buffer, CpuData, TraceDat
from ftop.engine.tracedat.write import TraceDatWriter

__all__ = ["Buffer", "CpuData", "TraceDat", "TraceDatError", "TraceDatWriter", "is_tracedat"]
