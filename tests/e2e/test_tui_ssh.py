"""End to end over a real ssh login: the connection dropping (SIGHUP) leaves tracefs as it was.

The test starts its own sshd on a free localhost port, with a temporary host
key, a temporary client key in its own authorized_keys file and root login
allowed by its own config file; the system's sshd and ~/.ssh are not touched.
ftop runs remotely in a pty (``ssh -tt``) inside a local tmux pane; the ssh
client is then killed, as when a network link drops: sshd hangs up the pty,
the kernel sends SIGHUP to ftop, and ftop restores before it exits.
Needs: openssh-server, openssh-client, tmux (Debian packages), root, tracefs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Tuple

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.live, pytest.mark.timeout(180)]

FTOP = Path(sys.executable).with_name("ftop")
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def wait(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def sshd(tmp_path: Path) -> Iterator[Tuple[int, Path]]:
    """(port, client key) of a private sshd that lets root in with that key only."""
    missing = [
        p
        for p in (SSHD, "ssh", "ssh-keygen", "tmux")
        if shutil.which(p) is None and not os.path.exists(p)
    ]
    if missing:
        why = f"missing {', '.join(missing)} (Debian packages openssh-server, openssh-client, tmux)"
        print(f"\nSKIP ssh e2e: {why}", file=sys.stderr)
        pytest.skip(why)
    d = tmp_path / "ssh"
    d.mkdir(mode=0o700)
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True
        )
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = free_port()
    cfg = d / "sshd_config"
    cfg.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "PermitRootLogin yes\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitTTY yes\n"
        "LogLevel VERBOSE\n"
    )
    made_privsep = False
    if not os.path.isdir("/run/sshd"):  # sshd's privilege-separation directory
        os.makedirs("/run/sshd", mode=0o755)
        made_privsep = True
    log = (d / "sshd.log").open("w")  # closed in finally, after sshd
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=log
    )

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        if not wait(listening, 10):
            pytest.fail("sshd did not start:\n" + (d / "sshd.log").read_text())
        yield port, d / "client_key"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if made_privsep:
            shutil.rmtree("/run/sshd", ignore_errors=True)


def ssh_client_pid(pane_pid: int) -> Optional[int]:
    """The ssh client in the tmux pane (the pane's process, or its child)."""
    for pid in [pane_pid] + [
        int(p) for p in Path(f"/proc/{pane_pid}/task/{pane_pid}/children").read_text().split()
    ]:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "ssh":
                return pid
        except OSError:
            continue
    return None


def test_ssh_session_drop_sighup_leaves_tracefs_as_it_was(
    sshd: Tuple[int, Path], tracefs_root: Path, tfs, unchanged, journal_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from ftop.engine.ftrace.event_catalog import enabled_events

    port, key = sshd
    instance = f"ftop-ssh-{os.getpid()}"
    home = tmp_path / "home"
    home.mkdir()
    remote = (
        f"env TERM=xterm-256color HOME={home} XDG_CONFIG_HOME={home}/.config "
        f"FTOP_JOURNAL_DIR={journal_dir} {FTOP} -B {instance} -e sched:sched_switch"
    )
    ssh = (
        f"ssh -tt -p {port} -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 '{remote}'"
    )
    sock = f"ftop-ssh-{os.getpid()}"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=20
        ).stdout

    tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", ssh)
    inst = tracefs_root / "instances" / instance
    try:
        # ftop is up remotely: its instance exists, the event streams onto the screen.
        assert wait(lambda: "sched_switch:" in tmux("capture-pane", "-t", "t", "-p"), 30), tmux(
            "capture-pane", "-t", "t", "-p"
        )
        assert inst.is_dir() and "sched/sched_switch" in enabled_events(tfs.sub(instance))
        assert list(journal_dir.glob("*.json")), "the journal is written before the first change"
        ftop_pids = subprocess.run(
            ["pgrep", "-f", "--", f"-B {instance}"], capture_output=True, text=True
        )
        pids = [int(p) for p in ftop_pids.stdout.split()]
        assert pids
        # The link drops: kill the ssh client outright.
        client = ssh_client_pid(
            int(tmux("display-message", "-t", "t", "-p", "#{pane_pid}").strip())
        )
        assert client is not None
        os.kill(client, signal.SIGKILL)
        assert wait(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids), 20), (
            "ftop survived the hangup"
        )
    finally:
        tmux("kill-server")
        wait(lambda: not inst.exists(), 20)
    assert not inst.exists(), "the instance ftop created is removed"
    assert not list(journal_dir.glob("*.json")), "the journal is dropped after the restore"
