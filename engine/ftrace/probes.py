"""kprobe and uprobe events: build and check definitions, plan their life, list them.

Definitions follow Documentation/trace/kprobetrace.rst and uprobetracer.rst::

    p[:[GRP/]EVENT] [MOD:]SYM[+OFFS]|MEMADDR [FETCHARGS]     kprobe
    r[MAXACTIVE][:[GRP/]EVENT] [MOD:]SYM[+0] [FETCHARGS]     kretprobe
    p[:[GRP/]EVENT] PATH:OFFSET[(REF_CTR_OFFSET)] [FETCHARGS] uprobe (r: uretprobe)
    -:[GRP/]EVENT                                           remove

ftop always writes the group and event name explicitly, so that what it
creates is known by the exact name the kernel lists (``kprobes/NAME``), which
the journal uses to remove it on exit. The shape of a definition is checked
here; what it means (does the symbol exist, is that register valid) only the
kernel knows: its refusal arrives as a :class:`~ftop.engine.errors.TracefsError`
carrying the ``error_log`` entry, which :func:`explain_refusal` lays out.

Removing an enabled probe fails with EBUSY, so :func:`plan_remove` disables first.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence, Tuple

from ftop.engine.control.error_log import parse_error_log
from ftop.engine.control.tracefs import Tracefs
from ftop.engine.control.transaction import Change
from ftop.engine.errors import ConfigError, TracefsError

__all__ = [
    "Probe",
    "explain_refusal",
    "kprobe",
    "list_probes",
    "parse_probe",
    "plan_create",
    "plan_enable",
    "plan_remove",
    "uprobe",
]

KPROBE_FILE = "kprobe_events"
UPROBE_FILE = "uprobe_events"
_DEFAULT_GROUP = {"kprobe": "kprobes", "uprobe": "uprobes"}
_MAX_NAME = 64  # MAX_EVENT_NAME_LEN

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEAD = re.compile(
    r"^(?P<type>[pr])(?P<maxactive>\d*)(?::(?:(?P<group>[^/\s]*)/)?(?P<event>\S*))?$"
)
_KTARGET = re.compile(
    r"^(?:(?P<mod>[A-Za-z_][\w-]*):)?(?P<sym>[A-Za-z_.$][\w.$]*)(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?"
    r"(?P<ret>%return)?$|^(?P<addr>0x[0-9a-fA-F]+|\d+)$"
)
_UTARGET = re.compile(
    r"^(?P<path>/\S*?):(?P<off>0x[0-9a-fA-F]+|\d+)(?:\((?P<ref>0x[0-9a-fA-F]+|\d+)\))?"
    r"(?P<ret>%return)?$"
)
_BASIC_TYPES = {
    *(f"{s}{n}" for s in "usx" for n in (8, 16, 32, 64)),
    "string",
    "ustring",
    "symbol",
    "symstr",
    "char",
}
_TYPE = re.compile(
    r"^(?:(?P<basic>[a-z0-9]+)(?:\[(?P<n>\d+)\])?|b(?P<w>\d+)@(?P<o>\d+)/(?P<c>8|16|32|64))$"
)


@dataclass(frozen=True)
class Probe:
    """One kprobe or uprobe event definition.

    Attributes:
        kind: ``"kprobe"`` or ``"uprobe"``.
        ret: a return probe (``r``), fired when the function returns.
        group: the event group (``kprobes``/``uprobes`` by default).
        event: the event name.
        target: ``SYM[+OFFS]``, ``MOD:SYM``, an address, or ``PATH:OFFSET``.
        args: fetch arguments, e.g. ``("file=$arg1", "count=$arg3:u64")``.
        maxactive: kretprobe instances (the ``N`` of ``rN:``), if given.
        enabled: whether the event is enabled (from :func:`list_probes`).
    """

    kind: str
    ret: bool
    group: str
    event: str
    target: str
    args: Tuple[str, ...] = ()
    maxactive: Optional[int] = None
    enabled: Optional[bool] = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """``group/event``: the name the kernel lists and ``-:`` removes."""
        return f"{self.group}/{self.event}"

    @property
    def file(self) -> str:
        return KPROBE_FILE if self.kind == "kprobe" else UPROBE_FILE

    @property
    def enable_file(self) -> str:
        return f"events/{self.group}/{self.event}/enable"

    def definition(self) -> str:
        """The line to append to kprobe_events / uprobe_events."""
        head = "r" if self.ret else "p"
        if self.ret and self.maxactive is not None:
            head += str(self.maxactive)
        return " ".join([f"{head}:{self.group}/{self.event}", self.target, *self.args])

    def validate(self) -> Probe:
        """Check the shape of the definition; raise ConfigError; return self."""
        if self.kind not in _DEFAULT_GROUP:
            raise ConfigError(f"probe kind is kprobe or uprobe, not '{self.kind}'")
        for what, value in (("group", self.group), ("event", self.event)):
            if not _IDENT.fullmatch(value) or len(value) >= _MAX_NAME:
                raise ConfigError(
                    f"probe {what} '{value}': letters, digits and '_', not starting "
                    f"with a digit, under {_MAX_NAME} characters"
                )
        if self.kind == "kprobe":
            m = _KTARGET.match(self.target)
            if m is None:
                raise ConfigError(
                    f"kprobe target '{self.target}': expected SYMBOL[+OFFSET], "
                    "MODULE:SYMBOL or an address"
                )
            if self.ret and m.group("off") and int(m.group("off"), 0) != 0:
                raise ConfigError("a return probe goes on a function entry: no offset")
        else:
            if _UTARGET.match(self.target) is None:
                raise ConfigError(
                    f"uprobe target '{self.target}': expected /PATH:OFFSET (absolute path, "
                    "offset of the instruction in the file)"
                )
        if self.maxactive is not None and (not self.ret or self.kind != "kprobe"):
            raise ConfigError("maxactive applies to kretprobes only")
        seen = set()
        for i, arg in enumerate(self.args, 1):
            name = _check_arg(arg, i)
            if name in seen:
                raise ConfigError(f"argument name '{name}' used twice")
            seen.add(name)
        return self


def _check_arg(arg: str, pos: int) -> str:
    """Check one fetch argument's shape; return its (possibly implicit) name."""
    if not arg or any(c.isspace() for c in arg):
        raise ConfigError(f"argument {pos}: empty or contains spaces")
    name = f"arg{pos}"
    fetch = arg
    if "=" in arg.split("(", 1)[0]:
        name, _, fetch = arg.partition("=")
        if not _IDENT.fullmatch(name):
            raise ConfigError(f"argument name '{name}': letters, digits and '_' only")
    # The type follows the last ':' outside parentheses (fetch args nest in "+8(...)").
    depth = 0
    colon = -1
    for i, c in enumerate(fetch):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ":" and depth == 0:
            colon = i
    typ = fetch[colon + 1 :] if colon >= 0 else None
    fetch = fetch[:colon] if colon >= 0 else fetch
    if not fetch or (fetch[0] not in "%@$+-\\" and not fetch[0].isdigit()):
        raise ConfigError(
            f"argument '{arg}': a fetch argument starts with %reg, @addr, $var, "
            "+|-offs(...) or \\imm"
        )
    if typ is not None:
        m = _TYPE.match(typ)
        if m is None or (m.group("basic") and m.group("basic") not in _BASIC_TYPES):
            raise ConfigError(
                f"argument '{arg}': unknown type '{typ}' (u8..u64, s8..s64, x8..x64, "
                "string, ustring, symbol, bN@O/S, TYPE[N])"
            )
    return name


def kprobe(
    target: str,
    event: Optional[str] = None,
    args: Sequence[str] = (),
    ret: bool = False,
    group: str = "kprobes",
    maxactive: Optional[int] = None,
) -> Probe:
    """A checked kprobe (``ret``: kretprobe) on ``target`` (``vfs_read``, ``vfs_read+0x10``).

    Without ``event`` the name is made as the kernel would (``p_vfs_read_0``).
    """
    if event is None:
        sym, _, off = target.partition("+")
        sym = re.sub(r"\W", "_", sym.split(":")[-1])
        event = f"{'r' if ret else 'p'}_{sym}_{int(off, 0) if off else 0}"
    return Probe("kprobe", ret, group, event, target, tuple(args), maxactive).validate()


def uprobe(
    path: str,
    offset: int,
    event: Optional[str] = None,
    args: Sequence[str] = (),
    ret: bool = False,
    group: str = "uprobes",
) -> Probe:
    """A checked uprobe (``ret``: uretprobe) at ``offset`` in the file ``path``."""
    if event is None:
        base = re.sub(r"\W", "_", path.rsplit("/", 1)[-1]) or "file"
        event = f"{'r' if ret else 'p'}_{base}_0x{offset:x}"
    return Probe("uprobe", ret, group, event, f"{path}:0x{offset:x}", tuple(args)).validate()


def parse_probe(line: str, kind: Optional[str] = None) -> Probe:
    """Parse a definition, as typed or as the kernel lists it. Raises ConfigError.

    Args:
        kind: ``"kprobe"`` or ``"uprobe"``; guessed from the target when None
            (a target with ``/`` is a uprobe).
    """
    parts = line.split()
    if len(parts) < 2:
        raise ConfigError(f"'{line}': expected 'p|r[:[GRP/]EVENT] TARGET [ARGS]'")
    m = _HEAD.match(parts[0])
    if m is None:
        raise ConfigError(f"'{parts[0]}': a definition starts with p or r (or -: to remove)")
    target = parts[1]
    if kind is None:
        kind = "uprobe" if target.startswith("/") else "kprobe"
    ret = m.group("type") == "r"
    if target.endswith("%return"):
        ret = True
    maxactive = int(m.group("maxactive")) if m.group("maxactive") else None
    group = m.group("group") or _DEFAULT_GROUP.get(kind, "kprobes")
    event = m.group("event")
    if not event:
        if kind == "kprobe":
            return kprobe(target, None, parts[2:], ret, group, maxactive)
        path, _, off = target.partition(":")
        return uprobe(path, int(off, 0), None, parts[2:], ret, group)
    return Probe(kind, ret, group, event, target, tuple(parts[2:]), maxactive).validate()


# -- plans ----------------------------------------------------------------------------------


def plan_create(probe: Probe, enable: bool = False) -> List[Change]:
    """Define ``probe`` (appended, never truncating the file), and enable its event.

    Raises:
        ConfigError: a malformed definition, or a uprobe on a file that does not
            exist here (the kernel resolves the path in ftop's own mount namespace,
            so this check sees what it would see; its ENOENT alone reads as "not
            built in").
    """
    probe.validate()
    if probe.kind == "uprobe":
        path = uprobe_path(probe.target)
        if not os.path.isfile(path):
            what = "is not a regular file" if os.path.exists(path) else "does not exist"
            raise ConfigError(
                f"uprobe on '{path}': the file {what} "
                "(a uprobe goes on an executable or library, by its absolute path)"
            )
    out = [Change(probe.file, probe.definition(), append=True, describe=f"create {probe.name}")]
    if enable:
        out.append(plan_enable(probe, True))
    return out


def uprobe_path(target: str) -> str:
    """The file of a uprobe target (``/bin/bash:0x4245c0(0x10)%return`` -> ``/bin/bash``)."""
    return target.rsplit(":", 1)[0]


def plan_enable(probe: Probe, on: bool) -> Change:
    """Enable or disable the probe's event."""
    return Change(
        probe.enable_file,
        "1" if on else "0",
        describe=f"{'enable' if on else 'disable'} {probe.name}",
    )


def plan_remove(probe: Probe) -> List[Change]:
    """Disable the probe's event (EBUSY otherwise), then remove the probe."""
    return [
        plan_enable(probe, False),
        Change(probe.file, f"-:{probe.name}", append=True, describe=f"remove {probe.name}"),
    ]


# -- reading -------------------------------------------------------------------------------


def list_probes(tfs: Tracefs, enabled: bool = True) -> List[Probe]:
    """kprobes and uprobes defined now (global: read from the top level).

    Args:
        enabled: also read whether each event is enabled here (in ``tfs``,
            which may be an instance: enabling is per instance).
    """
    top = tfs.top()
    out: List[Probe] = []
    for kind, rel in (("kprobe", KPROBE_FILE), ("uprobe", UPROBE_FILE)):
        for line in (top.read_or(rel) or "").splitlines():
            if not line.strip():
                continue
            try:
                p: Optional[Probe] = parse_probe(line, kind)
            except ConfigError:
                # The kernel lists what it accepted; keep it, unchecked.
                p = _unchecked(line, kind)
            if p is None:
                continue
            if enabled:
                state = tfs.read_or(p.enable_file)
                p = replace(p, enabled=(state or "").strip() == "1" if state else None)
            out.append(p)
    return out


def _unchecked(line: str, kind: str) -> Optional[Probe]:
    parts = line.split()
    m = _HEAD.match(parts[0]) if parts else None
    if m is None or len(parts) < 2:
        return None
    return Probe(
        kind,
        m.group("type") == "r",
        m.group("group") or _DEFAULT_GROUP[kind],
        m.group("event") or "",
        parts[1],
        tuple(parts[2:]),
        int(m.group("maxactive")) if m.group("maxactive") else None,
    )


def explain_refusal(error: TracefsError) -> str:
    """The kernel's reason for refusing a probe definition, in one line.

    ENOENT from kprobe_events means an unknown symbol there, and from
    uprobe_events a missing file, not a missing feature, so the error_log
    entry is preferred over the errno's sentence. The caret block is not
    repeated here: the refusal's error_log lines, shown verbatim beside this
    line, carry it already.
    """
    entries = parse_error_log(error.error_log)
    value = (error.value or "").strip()
    if not entries:
        if error.errno_name == "EBUSY":
            return f"'{value}': the probe is enabled or in use; disable it first"
        if error.errno in (errno.ENOENT, errno.ENODEV) and error.path.endswith(UPROBE_FILE):
            target = value.split()[1] if len(value.split()) > 1 else value
            return f"'{value}': no such file: {uprobe_path(target)}"
        if error.errno == errno.ENOENT and error.path.endswith(KPROBE_FILE):
            return f"'{value}': no such symbol or probe in this kernel"
        return f"'{value}': the kernel refused it ({error.errno_name})"
    e = entries[-1]
    return f"the kernel refused '{value or e.command}': {e.message}"
