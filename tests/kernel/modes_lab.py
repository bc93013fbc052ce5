"""What the tests of `lvs-top doctor` and `lvs-top realserver` share: lvs-top run as a real process
(in a namespace if asked), HTTP requests and a stream of TCP connection attempts from a client
namespace, `arping`, and a DR + TUN topology on one bridged segment (after the verified recipe
/work/shared/lab/dr-tun-topology.sh), every piece of it in network namespaces of the lab VM:

    lvc  10.30.0.2   client                                  ─┐
    lvr1 10.30.0.11  DR real server, VIP 10.30.0.100 on lo    ─┤
    lvr2 10.30.0.12  DR real server, VIP 10.30.0.100 on lo    ─┼─ br0 of lvd: the director, 10.30.0.1,
    lvr3 10.30.0.13  TUN real server, VIP 10.30.0.200 on tunl0 ─┘  VIPs 10.30.0.100 (DR), 10.30.0.200 (TUN)

The director lvd is a namespace of its own with its own IPVS table (`ipvsadm` through `ip netns exec
lvd`; `lvs-top doctor --netns lvd`), so the root namespace, its NAT lab and its table stay as they
are: each veth pair goes from lvd to one host namespace, nothing is created in the root namespace.
The real servers hold their VIP on lo (DR) or tunl0 (TUN) with arp_ignore=1 and arp_announce=2, and
answer HTTP on port 80 with their name. These addresses exist only inside the VM.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import lab

from lvs_tui.ipvs.netlink import enter_netns, in_netns, netns_path

DIRECTOR, CLIENT = "lvd", "lvc"
DIRECTOR_IP, CLIENT_IP = "10.30.0.1", "10.30.0.2"
DR_VIP, TUN_VIP = "10.30.0.100", "10.30.0.200"
BRIDGE_MAC = "02:00:00:30:00:01"  # set, so that ports joining later never change the director's MAC
DR_SERVERS = {"lvr1": "10.30.0.11", "lvr2": "10.30.0.12"}
TUN_SERVERS = {"lvr3": "10.30.0.13"}
REQUEST_TIMEOUT = 1.0  # a request that gets no answer in 1 s on this segment gets none at all
DR_ARP = ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
          "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2")
RULES = [
    f"-A -t {DR_VIP}:80 -s rr",
    *(f"-a -t {DR_VIP}:80 -r {address}:80 -g" for address in DR_SERVERS.values()),
    f"-A -t {TUN_VIP}:80 -s rr",
    *(f"-a -t {TUN_VIP}:80 -r {address}:80 -i" for address in TUN_SERVERS.values()),
]


# --- lvs-top as a process ------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One `lvs-top ...` run: its exit status, output and wall time."""

    args: tuple[str, ...]
    netns: str | None
    code: int
    out: str
    err: str
    seconds: float

    def findings(self) -> list[dict[str, str]]:
        """The findings of a `--json` run."""
        try:
            return list(json.loads(self.out)["findings"])
        except (ValueError, KeyError) as error:
            raise AssertionError(f"lvs-top {' '.join(self.args)} printed no JSON findings ({error}):\n"
                                 f"{self.out}\n{self.err}") from None

    def errors(self) -> list[dict[str, str]]:
        return [finding for finding in self.findings() if finding["severity"] == "error"]

    def subjects(self, severity: str) -> list[str]:
        return [finding["subject"] for finding in self.findings() if finding["severity"] == severity]

    def finding(self, severity: str, subject: str) -> dict[str, str]:
        """The one finding of this severity about `subject`; fails with every finding shown."""
        found = [f for f in self.findings() if (f["severity"], f["subject"]) == (severity, subject)]
        assert len(found) == 1, f"not one {severity} about {subject!r} but {len(found)}:\n{self.report()}"
        return found[0]

    def report(self) -> str:
        try:
            return "\n".join(f"{f['severity']:7} {f['subject']}: {f['cause']}" for f in self.findings())
        except AssertionError:
            return f"{self.out}{self.err}"


def lvs_top(*args: str, netns: str | None = None, timeout: float = 120) -> Run:
    """Run `python -m lvs_tui ARGS` as a process (inside `netns` with `ip netns exec`), print what it
    said. In the emulated VM each such process takes 20-30 s to start (pyroute2 alone ~15 s)."""
    argv = [sys.executable, "-m", "lvs_tui", *args]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return _shown(Run(args, netns, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start),
                  "a process")


def lvs_top_here(*args: str, netns: str | None = None) -> Run:
    """The same command line through `lvs_tui.cli.main` in this process: in a thread that joined
    `netns` (whose sockets, /proc/sys reads and child processes are that namespace's, as with `ip netns
    exec`), its output captured. The code of the command without an interpreter's start."""
    from lvs_tui.cli import main

    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                return main(list(args))
            except SystemExit as exit_:  # argparse's errors
                return exit_.code if isinstance(exit_.code, int) else 1

    start = time.monotonic()
    code = call() if netns is None else in_netns(netns, call)
    return _shown(Run(args, netns, code, out.getvalue(), err.getvalue(), time.monotonic() - start),
                  "in-process")


def _shown(run: Run, how: str) -> Run:
    where = f" in namespace {run.netns}" if run.netns else ""
    print(f"$ lvs-top {' '.join(run.args)} ({how}{where}): exit {run.code} after {run.seconds:.1f} s")
    shown = run.report() if "--json" in run.args else run.out + run.err
    for line in shown.splitlines():
        print(f"    {line}")
    return run


# --- traffic --------------------------------------------------------------------------------------

def http_get(address: str, port: int = 80, timeout: float = REQUEST_TIMEOUT) -> str:
    """One HTTP/1.0 request on a connection of its own: the answering server's name, or FAIL:<why>."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.sendall(f"GET / HTTP/1.0\r\nHost: {address}\r\n\r\n".encode())
            response = b""
            while chunk := conn.recv(65536):
                response += chunk
    except OSError as error:
        return f"FAIL:{type(error).__name__}"
    head, _, body = response.partition(b"\r\n\r\n")
    answer = body.decode(errors="replace").strip()
    return answer if head.startswith(b"HTTP/1.0 200") and answer else "FAIL:status"


def requests(netns: str, address: str, n: int, port: int = 80,
             timeout: float = REQUEST_TIMEOUT) -> dict[str, int]:
    """`n` requests to `address` from namespace `netns` (a thread of this process that joined it: no
    interpreter to start in the slow VM), counted by answer."""
    answers = in_netns(netns, lambda: [http_get(address, port, timeout) for _ in range(n)])
    return dict(sorted(collections.Counter(answers).items()))


def failures(answers: dict[str, int]) -> int:
    return sum(count for answer, count in answers.items() if answer.startswith("FAIL"))


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_serving(netns: str, servers: dict[str, str], procs: dict[str, subprocess.Popen[bytes]],
                 port: int = 80, timeout: float = 120) -> None:
    """Until each server (name -> address) accepts connections from namespace `netns`."""
    def ready(name: str, address: str) -> bool:
        if procs[name].poll() is not None:
            raise RuntimeError(f"the HTTP server of {name} exited ({procs[name].returncode})")
        return _accepts(address, port)

    def wait() -> None:
        for name, address in servers.items():
            lab.wait_until(f"the HTTP server of {name} at {address}:{port}",
                           lambda n=name, a=address: ready(n, a), timeout=timeout, step=0.1)

    in_netns(netns, wait)


class Flood:
    """TCP connection attempts to address:port from namespace `netns`, one every `every` s from a
    thread, each closed `hold` s after it started, answered or not: every attempt is a new
    connection that IPVS schedules, so each real server sees a steady stream of SYNs. `unanswered`
    counts the attempts still not established after `hold` s."""

    def __init__(self, netns: str, address: str, port: int = 80, every: float = 0.02, hold: float = 0.5):
        self.netns, self.address, self.port, self.every, self.hold = netns, address, port, every, hold
        self.attempts = 0
        self.established = 0
        self.unanswered = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name=f"flood-{netns}", daemon=True)

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self._failure:
            raise RuntimeError(f"the connection flood from {self.netns} failed") from self._failure[0]
        print(f"flood from {self.netns} to {self.address}:{self.port}: {self.attempts} connection attempts "
              f"in {self.seconds:.1f} s, {self.established} established, {self.unanswered} unanswered "
              f"after {self.hold} s")

    def _run(self) -> None:
        try:
            enter_netns(netns_path(self.netns))
            start = time.monotonic()
            pending: collections.deque[tuple[float, socket.socket]] = collections.deque()
            while not self._stop.is_set():
                conn = socket.socket()
                conn.setblocking(False)
                conn.connect_ex((self.address, self.port))
                self.attempts += 1
                pending.append((time.monotonic(), conn))
                while pending and time.monotonic() - pending[0][0] >= self.hold:
                    if not self._close(pending.popleft()[1]):
                        self.unanswered += 1
                time.sleep(self.every)
            for _, conn in pending:  # too young to count as unanswered
                self._close(conn)
            self.seconds = time.monotonic() - start
        except BaseException as error:  # handed to the test by __exit__
            self._failure.append(error)

    def _close(self, conn: socket.socket) -> bool:
        """Close `conn`; whether it was established."""
        try:
            conn.getpeername()  # ENOTCONN while the handshake is not done
            self.established += 1
            return True
        except OSError:
            return False
        finally:
            conn.close()


def arping(netns: str, address: str, interface: str = "eth0", count: int = 1) -> set[str]:
    """The MAC addresses that answer ARP requests for `address`, sent from `netns`: `arping -b`
    (broadcast only: arping would otherwise switch to unicast to the first host that answered)."""
    proc = lab.sh("ip", "netns", "exec", netns, "arping", "-b", "-c", str(count), "-I", interface, address,
                  check=False, timeout=30)
    macs = {mac.lower() for mac in re.findall(r"reply from \S+ \[([0-9A-Fa-f:]{17})\]", proc.stdout)}
    print(f"arping {address} from {netns}: {sorted(macs) or 'no answer'} "
          f"({len(re.findall('reply from', proc.stdout))} replies to {count} requests)")
    return macs


def mac(netns: str, device: str) -> str:
    info = json.loads(lab.sh("ip", "-n", netns, "-j", "link", "show", "dev", device).stdout)
    return str(info[0]["address"]).lower()


def neighbour(netns: str, address: str) -> str | None:
    """The MAC address `netns` has for `address` in its neighbour table, if any."""
    entries: list[dict[str, Any]] = json.loads(
        lab.sh("ip", "-n", netns, "-j", "neigh", "show", address).stdout)
    return next((str(e["lladdr"]).lower() for e in entries if "lladdr" in e), None)


# --- namespaces -----------------------------------------------------------------------------------

def ip(netns: str, *commands: str, check: bool = True) -> None:
    """Several `ip` commands in namespace `netns`, one exec (`ip -n NETNS -batch -`); the first that
    fails stops the rest and raises, or with check=False (to undo) each is tried and failures ignored."""
    proc = subprocess.run(["ip", "-n", netns, *(() if check else ("-force",)), "-batch", "-"],
                          input="\n".join(commands) + "\n", capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip -n {netns} -batch failed: {proc.stderr.strip()}\n" + "\n".join(commands))


def sysctl(netns: str, *settings: str) -> None:
    lab.sh("ip", "netns", "exec", netns, "sysctl", "-qw", *settings)


def director(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`ipvsadm ARGS` in the director's namespace."""
    return lab.sh("ip", "netns", "exec", DIRECTOR, "ipvsadm", *args, check=check)


def director_rules(rules: Iterable[str]) -> None:
    proc = subprocess.run(["ip", "netns", "exec", DIRECTOR, "ipvsadm", "-R"], input="\n".join(rules) + "\n",
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"ipvsadm -R in {DIRECTOR} failed: {proc.stderr.strip()}")


@dataclass
class ModesLab:
    """The DR + TUN topology; `host` and `web` add real-server namespaces later, `remove` takes one
    away again, `close` removes everything."""

    python: str = sys.executable
    namespaces: list[str] = field(default_factory=list)
    web_procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)  # namespace -> its address on the bridge

    def build(self) -> None:
        lab.sh("modprobe", "ipip")  # before the namespaces: each then gets its tunl0
        lab.sh("ip", "netns", "add", DIRECTOR)
        self.namespaces.append(DIRECTOR)
        ip(DIRECTOR, "link set lo up", f"link add br0 address {BRIDGE_MAC} type bridge", "link set br0 up",
           f"addr add {DIRECTOR_IP}/24 dev br0", f"addr add {DR_VIP}/32 dev br0",
           f"addr add {TUN_VIP}/32 dev br0")
        sysctl(DIRECTOR, "net.ipv4.ip_forward=1")  # as on the recipe's director
        self.host(CLIENT, CLIENT_IP)
        for name, address in DR_SERVERS.items():
            self.host(name, address)
            ip(name, f"addr add {DR_VIP}/32 dev lo")
            sysctl(name, *DR_ARP)
            self.web(name)
        for name, address in TUN_SERVERS.items():
            self.host(name, address)
            ip(name, "link set tunl0 up", f"addr add {TUN_VIP}/32 dev tunl0")
            sysctl(name, "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.tunl0.rp_filter=0",
                   "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
            self.web(name)
        director_rules(RULES)
        self.wait_web(*DR_SERVERS, *TUN_SERVERS)

    def host(self, name: str, address: str) -> None:
        """A namespace `name` with eth0 at address/24 on the director's bridge."""
        lab.sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        self.addresses[name] = address
        ip(DIRECTOR, f"link add p-{name} type veth peer name eth0 netns {name}",
           f"link set p-{name} master br0", f"link set p-{name} up")
        ip(name, "link set lo up", f"addr add {address}/24 dev eth0", "link set eth0 up")

    def web(self, name: str) -> None:
        """An HTTP server on port 80 of every address of namespace `name`, answering `name`."""
        self.web_procs[name] = subprocess.Popen(
            ["ip", "netns", "exec", name, self.python, "-c", lab.SLOW_HTTP, name, "0.0.0.0", "80"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_web(self, *names: str) -> None:
        wait_serving(CLIENT, {name: self.addresses[name] for name in names}, self.web_procs)

    def remove(self, name: str) -> None:
        proc = self.web_procs.pop(name, None)
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)
        lab.sh("ip", "netns", "del", name, check=False)  # its veth pair goes with it
        if name in self.namespaces:
            self.namespaces.remove(name)
        self.addresses.pop(name, None)

    def close(self) -> None:
        for proc in self.web_procs.values():
            proc.kill()
        for proc in self.web_procs.values():
            proc.wait(timeout=10)
        for name in reversed(self.namespaces):
            lab.sh("ip", "netns", "del", name, check=False)
        self.namespaces.clear()
