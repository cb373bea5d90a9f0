"""The print fmt's tokens, and C string and character literals unescaped to bytes."""

from __future__ import annotations

import re
from typing import List, Tuple

from ftop.engine.raw.print_fmt.errors import Unsupported

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<chr>'(?:[^'\\]|\\.)+')
  | (?P<num>(?:0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>=?:,.;()\[\]{}])
    )""",
    re.X | re.S,
)

_ESC = {
    "n": 10,
    "t": 9,
    "r": 13,
    "a": 7,
    "b": 8,
    "f": 12,
    "v": 11,
    "e": 27,
    "\\": 92,
    '"': 34,
    "'": 39,
    "?": 63,
}


def _unescape(body: str) -> bytes:
    raw = body.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c != 0x5C or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = chr(raw[i + 1])
        if e in _ESC:
            out.append(_ESC[e])
            i += 2
        elif e in "01234567":
            j = i + 1
            while j < n and j < i + 4 and chr(raw[j]) in "01234567":
                j += 1
            out.append(int(raw[i + 1 : j], 8) & 0xFF)
            i = j
        elif e == "x":
            j = i + 2
            while j < n and chr(raw[j]) in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(raw[i + 2 : j] or b"0", 16) & 0xFF)
            i = j
        else:
            out.append(raw[i + 1])
            i += 2
    return bytes(out)


def _tokenize(text: str) -> List[Tuple[str, str]]:
    toks: List[Tuple[str, str]] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"cannot read the print fmt at {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        toks.append((kind, m.group(kind)))
        pos = m.end()
    toks.append(("end", ""))
    return toks
