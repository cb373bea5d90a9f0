"""An event's ``print fmt``, evaluated in Python to the text the kernel's ``trace``
file shows after ``<event name>: ``.

The print fmt is what ``TP_printk`` became after the preprocessor: a C format
string and C expressions over ``REC->field``, with the kernel's helpers
(``__get_str``, ``__print_flags``, ``__print_symbolic``, ``__print_array`` ...)
left as calls. :func:`compile_print_fmt` parses it once and generates one
Python function per event (C types tracked at compile time, constants folded,
every fixed-offset field read by one ``struct`` call); the function renders
one record's bytes (from ``common_type`` on).

Semantics follow ``lib/vsprintf.c`` (``number()``, ``string()``, the ``%p``
extensions) and ``kernel/trace/trace_output.c`` (``trace_print_flags_seq`` and
friends), written from their documented behaviour, not copied. Known limits:

* Plain ``%p`` (and ``%pK``, and ``%pF``/``%pf``, which kernels since 5.x treat
  as plain ``%p``) prints the pointer's value as ``%px`` does. The kernel shows
  that only with the ``hash-ptr`` trace option off; with it on (the default)
  it prints a keyed hash of the pointer that nothing outside the kernel can
  compute. NULL and error pointers are printed as values either way.
* ``%pB`` prints ``Env.symbol(addr, True)`` (the kernel looks ``addr - 1`` up).
* A ``%s`` of a kernel pointer (a ``char *`` field), an identifier the kernel
  did not resolve (an enum, ``HZ``), a ``struct`` member, a statement
  expression other than plain declarations, and ``%p`` extensions that read
  kernel memory make :class:`Unsupported` at compile time; the caller then
  shows :func:`raw_fields`.
* The kernel drops a line longer than its ``trace_seq`` page; this does not.

Bad data: the compiled function never lets ``IndexError``/``struct.error`` out.
A record too short for its format (or a division by zero, a negative shift
count) raises :class:`BadRecord`, a ``ValueError`` whose ``text`` is the best
rendering available (the record padded with zero bytes, else
:func:`raw_fields`): the caller shows ``e.text`` and counts it. A string whose
``__data_loc`` points outside the record renders as empty (as far as the
record goes), without an error. Strings keep every byte (``surrogateescape``);
escaping for a terminal is someone else's job.

The package, in the order a print fmt goes through it: lexer (tokens) ->
expr_parser (the C expressions) over compiler_base (cursor, field reads, C
conversions) and ctype/expr (C types, typed values) -> kernel_helpers
(``__print_flags`` and friends) -> codegen (the format string's conversions,
the generated function, :func:`compile_print_fmt`). The generated code calls
runtime's helpers: printf (``number()``, padding), trace_seq (flags, symbols,
arrays, bitmaps) and pointers (the ``%p`` extensions). raw_fields is the fallback.
"""

from ftop.engine.raw.print_fmt.codegen import compile_print_fmt
from ftop.engine.raw.print_fmt.env import Env, Renderer
from ftop.engine.raw.print_fmt.errors import BadRecord, Unsupported
from ftop.engine.raw.print_fmt.raw_fields import raw_fields

__all__ = [
    "BadRecord",
    "Env",
    "Renderer",
    "Unsupported",
    "compile_print_fmt",
    "raw_fields",
]
