"""Run-time helpers for the ``%p`` extensions that read the record: IP addresses
(``%pI4``, ``%pI6``, ``%pIS``), UUIDs (``%pU``), MACs (``%pM``), hex dumps (``%ph``).
"""

from __future__ import annotations

from ftop.engine.raw.print_fmt.env import Env


def _ip4(b: bytes, lead: bool) -> str:
    b = b[:4].ljust(4, b"\0")
    return ".".join(("%03d" if lead else "%d") % x for x in b)


def _ip6_full(b: bytes, colons: bool) -> str:
    b = b[:16].ljust(16, b"\0")
    words = [b[i : i + 2].hex() for i in range(0, 16, 2)]
    return (":" if colons else "").join(words)


def _ip6_compressed(b: bytes) -> str:
    b = b[:16].ljust(16, b"\0")
    words = [int.from_bytes(b[i : i + 2], "big") for i in range(0, 16, 2)]
    v4mapped = words[:5] == [0, 0, 0, 0, 0] and words[5] == 0xFFFF
    isatap = ((words[4] | 0x0200) == 0x0200) and words[5] == 0x5EFE
    use4 = v4mapped or isatap
    rng = 6 if use4 else 8
    longest, colonpos = 0, -1
    for i in range(rng):
        n = 0
        for j in range(i, rng):
            if words[j]:
                break
            n += 1
        if n > longest:
            longest, colonpos = n, i
    if longest == 1:
        colonpos = -1
    out = []
    need = False
    i = 0
    while i < rng:
        if i == colonpos:
            if need or i == 0:
                out.append(":")
            out.append(":")
            need = False
            i += longest
            continue
        if need:
            out.append(":")
        out.append(format(words[i], "x"))
        need = True
        i += 1
    if use4:
        if need:
            out.append(":")
        out.append(_ip4(b[12:16], False))
    return "".join(out)


def _ip(b: bytes, ext: str, env: Env) -> str:
    """%pI4 %pi4 %pI6 %pi6 %pI6c %pIS... (ext is what follows the p)."""
    lead = ext[0] == "i"
    kind = ext[1:2]
    if kind == "4":
        return _ip4(b, lead)
    if kind == "6":
        if not lead and "c" in ext[2:]:
            return _ip6_compressed(b)
        return _ip6_full(b, not lead)
    # S: a struct sockaddr
    opts = ext[2:]
    fam = int.from_bytes(b[:2], "little" if env.endian == "<" else "big")
    port = int.from_bytes(b[2:4], "big")
    if fam == 2:
        s = _ip4(b[4:8], lead)
        if "p" in opts:
            s += f":{port}"
        return s
    if fam == 10:
        bracket = any(c in opts for c in "psf")
        addr = b[8:24]
        s = _ip6_compressed(addr) if (not lead and "c" in opts) else _ip6_full(addr, not lead)
        if bracket:
            s = "[" + s + "]"
        if "p" in opts:
            s += f":{port}"
        if "f" in opts:
            s += "/" + str(int.from_bytes(b[4:8], "big") & 0x0FFFFFFF)
        if "s" in opts:
            s += "%" + str(int.from_bytes(b[24:28], "little" if env.endian == "<" else "big"))
        return s
    return "(einval)"


_GUID_INDEX = (3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15)


def _uuid(b: bytes, ext: str) -> str:
    b = b[:16].ljust(16, b"\0")
    mode = ext[1:2]
    order = _GUID_INDEX if mode in ("l", "L") else range(16)
    h = "".join(format(b[i], "02x") for i in order)
    if mode in ("B", "L"):
        h = h.upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _mac(b: bytes, ext: str) -> str:
    b = b[:6].ljust(6, b"\0")
    seq = list(b)
    rest = ext[1:]
    if "R" in rest:
        seq.reverse()
    sep = "" if ext[0] == "m" else "-" if "F" in rest else ":"
    return sep.join(format(x, "02x") for x in seq)


def _hexdump(b: bytes, width: int, ext: str) -> str:
    n = 1 if width < 0 else min(width, 64)
    sep = {"C": ":", "D": "-", "N": ""}.get(ext[1:2], " ")
    return sep.join(format(x, "02x") for x in b[:n])
