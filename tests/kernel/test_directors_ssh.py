"""A director reached over real OpenSSH: sshd runs in the director's namespace with a key the test
makes (the key restricted to the agent, as docs/directors.md advises), this namespace is the other
director. `compare` and `--batch --director` read both; the sshd killed mid-stream is said and the
local director keeps updating."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, sh, tcp_accepts, wait_until
from tests.kernel.lab.tables import MIXED_RULES

pytestmark = pytest.mark.kernel

LB2 = "lvstop-ssh"
MIXED_SERVICES = [rule for rule in MIXED_RULES if rule.startswith("-A")]
HERE, THERE = "10.99.0.1", "10.99.0.2"  # a veth pair between this namespace and LB2's
PORT = 2222


@dataclass
class Remote:
    destination: str
    ssh_command: str
    sshd: subprocess.Popen[bytes]

    def kill_sshd(self) -> None:
        """Every sshd of the namespace: the listener and the sessions it started."""
        for pid in sh("ip", "netns", "pids", LB2).stdout.split():
            if Path(f"/proc/{pid}/exe").resolve().name == "sshd":
                os.kill(int(pid), signal.SIGKILL)
        self.sshd.wait(timeout=10)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    if shutil.which("sshd", path="/usr/sbin") is None:
        pytest.fail("OpenSSH's server is not installed (Debian package openssh-server)", pytrace=False)
    sh("ip", "netns", "add", LB2)
    sh("ip", "link", "add", "lvstop-v0", "type", "veth", "peer", "name", "lvstop-v1", "netns", LB2)
    sh("ip", "addr", "add", f"{HERE}/30", "dev", "lvstop-v0")
    sh("ip", "link", "set", "lvstop-v0", "up")
    for command in (("addr", "add", f"{THERE}/30", "dev", "lvstop-v1"), ("link", "set", "lvstop-v1", "up"),
                    ("link", "set", "lo", "up")):
        sh("ip", "-n", LB2, *command)
    for name in ("host", "client"):
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name))
    # The key may start only the agent, read-only, with no terminal or forwarding: what an operator
    # should give the key lvs-top uses.
    agent = " ".join(f"{name}={value}" for name, value in lvs_top.env().items()
                     if name in ("PYTHONPATH", "PYTHONPYCACHEPREFIX"))
    agent = f"env {agent} {sys.executable} -m lvs_tui agent --read-only".replace('"', "")
    public = (tmp_path / "client.pub").read_text().strip()
    (tmp_path / "authorized_keys").write_text(f'restrict,command="{agent}" {public}\n')
    (tmp_path / "sshd_config").write_text(
        f"ListenAddress {THERE}:{PORT}\nHostKey {tmp_path / 'host'}\nAuthorizedKeysFile "
        f"{tmp_path / 'authorized_keys'}\nPidFile {tmp_path / 'sshd.pid'}\nStrictModes no\n"
        # PAM decides whether the account may log in: without it sshd refuses root, whose password
        # is locked (*), even for a key.
        "UsePAM yes\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    log = (tmp_path / "sshd.log").open("wb")
    sshd = subprocess.Popen(["ip", "netns", "exec", LB2, "/usr/sbin/sshd", "-D", "-e", "-f",
                             str(tmp_path / "sshd_config")], stdout=log, stderr=log)
    try:
        wait_until("sshd listens", lambda: tcp_accepts(THERE, PORT), timeout=30)
        ssh = (f"ssh -i {tmp_path / 'client'} -p {PORT} -o BatchMode=yes -o StrictHostKeyChecking=no "
               f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10")
        ipvsadm_lines(MIXED_RULES)
        ipvsadm_lines(MIXED_RULES, netns=LB2)
        yield Remote(f"root@{THERE}", ssh, sshd)
    finally:
        if sshd.poll() is None:
            sshd.kill()
            sshd.wait()
        log.close()
        sh("ip", "link", "del", "lvstop-v0", check=False)
        sh("ip", "netns", "del", LB2, check=False)
        print((tmp_path / "sshd.log").read_text(errors="replace")[-2000:])


def test_compare_over_ssh_agrees_then_names_the_drift_then_says_ssh_is_gone(remote: Remote) -> None:
    over_ssh = ("--ssh-command", remote.ssh_command)
    same = lvs_top.run("compare", "local", remote.destination, *over_ssh)
    assert (same.code, same.err) == (0, ""), same.err
    assert same.out.startswith(f"local and {remote.destination} agree: ")

    ipvsadm("-e", "-t", "10.10.0.1:80", "-r", "10.20.3.2:80", "-m", "-w", "7", "-x", "500", "-y", "100",
            netns=LB2)
    drifted = lvs_top.run("compare", "local", remote.destination, *over_ssh)
    assert drifted.code == 1, drifted.err
    # This VM holds 10.10.0.1 while the NAT lab is up (the client's gateway); lb2 holds no VIP.
    held = "10.10.0.1" if " 10.10.0.1/" in sh("ip", "-o", "addr", "show").stdout else "none"
    assert drifted.out.splitlines()[1:4] == [
        f"  tcp:10.10.0.1:80 -> 10.20.3.2:80: weight 3 on local, 7 on {remote.destination}",
        f"sync daemons: local none; {remote.destination} none.",
        f"VIPs: local {held}; {remote.destination} none."]

    remote.kill_sshd()
    gone = lvs_top.run("compare", "local", remote.destination, *over_ssh)
    assert gone.code == 2 and len(gone.err.splitlines()) == 1, gone.err
    assert gone.err.startswith(f"lvs-top compare: director {remote.destination}: its agent ended before it "
                               "answered (exit 255: ssh: connect to host"), gone.err
    assert "Connection refused" in gone.err


def test_batch_follows_both_directors_and_keeps_the_local_one_when_sshd_is_killed(
    remote: Remote, tmp_path: Path,
) -> None:
    argv = lvs_top.argv("--batch", "--json", "-n", "0", "-d", "1", "--director", "local", "--director",
                        remote.destination, "--ssh-command", remote.ssh_command)
    errors = (tmp_path / "batch.err").open("wb")
    batch = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                             cwd=lvs_top.REPO, env=lvs_top.env())
    stdout = batch.stdout
    assert stdout is not None
    lines: list[dict[str, Any]] = []

    def read_until(count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while len(lines) < count and time.monotonic() < deadline:
                if selector.select(1):
                    raw = stdout.readline()
                    if not raw:
                        break
                    lines.append(json.loads(raw))
        said = (tmp_path / "batch.err").read_text(errors="replace")
        assert len(lines) >= count, f"{len(lines)} lines of {count}; stderr: {said}"

    try:
        read_until(4)
        assert [line["director"] for line in lines[:4]] == ["local", remote.destination] * 2
        assert all(len(line["services"]) == len(MIXED_SERVICES) for line in lines[:4])
        remote.kill_sshd()
        read_until(len(lines) + 8)
    finally:
        batch.kill()
        batch.wait()
        errors.close()
    after = lines[4:]
    failed = [line for line in after if line["director"] == remote.destination and "error" in line]
    local = [line for line in after if line["director"] == "local"]
    assert failed, after
    assert str(failed[-1]["error"]).startswith(f"director {remote.destination}: ")
    assert len(local) >= 4 and all("services" in line for line in local)
    times = [float(line["time"]) for line in local]
    assert times == sorted(times) and times[-1] - times[0] >= 2  # still polled, once a second
