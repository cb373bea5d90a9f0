"""What this user may read and write in tracefs: decided by access, not by uid.

A tracefs mounted with ``gid=`` (or files given group modes) lets a non-root
user trace as far as the modes go. ftop asks the kernel, per file, with
``os.access`` (the real uid's view, which is how ftop runs: no setuid), and
says what it cannot do instead of asking for root. The access function is
injectable: root passes every mode check, so tests decide with a fake one.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from pathlib import Path
from typing import Callable, List, Optional

from ftop.engine.errors import TracefsNotFound

# os.access's shape: (path, mode) -> allowed.
AccessFn = Callable[[str, int], bool]

# The files ftop writes to change tracing (an instance has the same names). The
# note at start lists those of them this user cannot write; events/*/enable and
# instances/ (mkdir) are summarised apart.
WRITE_FILES = (
    "current_tracer",
    "tracing_on",
    "set_event",
    "set_event_pid",
    "set_event_notrace_pid",
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
    "set_ftrace_pid",
    "set_ftrace_notrace_pid",
    "buffer_size_kb",
    "trace_clock",
    "trace_marker",
    "kprobe_events",
    "uprobe_events",
    "max_graph_depth",
    "tracing_thresh",
)


_FIRST = ("current_tracer", "set_event", "tracing_on")


class TracefsUnreadable(TracefsNotFound):
    """tracefs is mounted but this user may not read it (one line: who may, and how)."""


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def owner_mode(path: Path) -> str:
    """``owner root, group tracing (gid 1001), mode 0750`` of ``path`` (or why not)."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot stat it: {e.strerror or e}"
    return (
        f"owner {_user(st.st_uid)}, group {_group(st.st_gid)} (gid {st.st_gid}), "
        f"mode {stat.S_IMODE(st.st_mode):04o}"
    )


def mount_options(root: Path, proc_mounts: str = "/proc/mounts") -> Optional[str]:
    """The options /proc/mounts shows for the tracefs mounted at ``root`` (``gid=``, ``mode=``)."""
    try:
        with open(proc_mounts) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[1].replace("\\040", " ") == str(root):
                    return parts[3]
    except OSError:
        pass
    return None


def read_refusal(root: Path, access: AccessFn = os.access) -> Optional[str]:
    """Why this user cannot use the tracefs at ``root`` at all, or None when it can.

    Readable means: the folder can be entered, ``trace`` or ``current_tracer``
    read, and a pipe to stream from (``trace_pipe``, or the per_cpu
    ``trace_pipe_raw``) opened for reading. The sentence names the mount, its owner, group and mode and what would
    allow it; never only "use sudo" (the machine may have none).
    """
    top = str(root)
    ok = access(top, os.R_OK | os.X_OK) and any(
        access(os.path.join(top, name), os.R_OK) for name in ("trace", "current_tracer")
    )
    if ok:
        pipes = [os.path.join(top, "trace_pipe")] + [
            str(p) for p in sorted(Path(top).glob("per_cpu/cpu*/trace_pipe_raw"))
        ]
        present = [p for p in pipes if os.path.exists(p)]
        if not present or any(access(p, os.R_OK) for p in present):
            return None
        return (
            f"can read tracefs at {root} but not its trace_pipe or per_cpu pipes as "
            f"{_user(os.getuid())} ({owner_mode(Path(present[0]))}): "
            "root may, or `chmod g+r` on them for the mount's group (gid=)"
        )
    return (
        f"cannot read tracefs at {root} as {_user(os.getuid())} ({owner_mode(root)}): "
        "root may, or a member of the mount's group: as root, "
        f"`mount -o remount,gid=tracing,mode=0750 {root}` "
        "(a group this user is in; `chmod g+w` on the files it may change)"
    )


def check_readable(root: Path, access: AccessFn = os.access) -> None:
    """Raise TracefsUnreadable with :func:`read_refusal`'s sentence when it applies."""
    why = read_refusal(root, access)
    if why is not None:
        raise TracefsUnreadable(why)


def write_refusal(path: Path, rel: str, access: AccessFn = os.access) -> Optional[str]:
    """Why this user may not write ``rel`` under ``path``, or None.

    A file that is not there is left to the kernel's own answer (ENOENT: not built
    in): only modes are judged here. ``mkdir`` of an instance is judged by
    ``instances/`` itself (pass ``rel`` ``instances``).
    """
    target = path / rel
    if not target.exists():
        return None
    mode = os.W_OK | (os.X_OK if target.is_dir() else 0)
    if access(str(target), mode):
        return None
    what = "instances/ (mkdir)" if rel == "instances" else rel
    return f"{what} is not writable for {_user(os.getuid())} ({owner_mode(target)})"


def unwritable(path: Path, access: AccessFn = os.access) -> List[str]:
    """The files of :data:`WRITE_FILES` (and events/*/enable, instances/) under ``path``
    that this user may not write, as names; empty when it may write them all."""
    files = [
        rel for rel in WRITE_FILES if (path / rel).exists() and not access(str(path / rel), os.W_OK)
    ]
    # What most keys write first, then events and instances, then the rest: a long
    # list is cut in the note.
    out = [rel for rel in files if rel in _FIRST]
    enables = sorted(path.glob("events/*/*/enable"))
    if enables:
        barred = [p for p in enables if not access(str(p), os.W_OK)]
        if len(barred) == len(enables):
            out.append("events/*/enable")
        elif barred:
            out.append(f"events/*/enable ({len(barred)} of {len(enables)})")
    inst = path / "instances"
    if inst.is_dir() and not access(str(inst), os.W_OK | os.X_OK):
        out.append("instances/ (mkdir)")
    return out + [rel for rel in files if rel not in _FIRST]


def access_note(
    root: Path, path: Path, access: AccessFn = os.access, proc_mounts: str = "/proc/mounts"
) -> Optional[str]:
    """The start note: what this user cannot do here, with the mount's group and mode;
    None when everything ftop writes is writable (root, or a fully granted group)."""
    barred = unwritable(path, access)
    if not barred:
        return None
    opts = mount_options(root, proc_mounts)
    gid_mode = [o for o in (opts or "").split(",") if o.startswith(("gid=", "mode="))]
    where = f"tracefs {' '.join(gid_mode)}; {owner_mode(root)}" if gid_mode else owner_mode(root)
    shown = ", ".join(barred[:8]) + (f" (+{len(barred) - 8} more)" if len(barred) > 8 else "")
    return f"not writable for {_user(os.getuid())}: {shown} ({where}); keys that write them say so"


# A kallsyms line with a non-zero address (as engine.raw.stream tells them apart).
_SHOWN = re.compile(rb"^0*[1-9a-fA-F][0-9a-fA-F]* ", re.MULTILINE)


def hidden_symbols(
    top: Path, kallsyms: str = "/proc/kallsyms", access: AccessFn = os.access
) -> Optional[str]:
    """Said once when the raw stream can name no kernel function: kallsyms shows this
    user only zeros (kptr_restrict) and ``available_filter_functions_addrs`` (6.5+)
    cannot be read either; None when one of them gives addresses."""
    try:
        with open(kallsyms, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        head = b""
    if _SHOWN.search(head):
        return None
    addrs = top / "available_filter_functions_addrs"
    if addrs.exists() and access(str(addrs), os.R_OK):
        return None
    return (
        "kernel addresses are hidden from this user (kptr_restrict zeroes /proc/kallsyms"
        + (", and available_filter_functions_addrs is not readable" if addrs.exists() else "")
        + "): function records in the raw stream show addresses, not names (--text: the "
        "kernel's own names)"
    )
