"""The lab inside the VM: kernel modules, a NAT topology in network namespaces, traffic, ipvsadm.

Topology (addresses exist only inside the lab VM):

    client ns 10.10.0.2 --veth-- 10.10.0.1 director (root ns) 10.20.N.1 --veth-- 10.20.N.2 rsN ns

Each real server rsN runs `python3 -m http.server 80` answering "rsN", and a UDP echo server on
port 9000. The director forwards (NAT) with ip_forward=1.
"""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ipvsadm_listing import Listing, parse_listing

IN_LAB_ENV = "LVS_TOP_KERNEL_LAB"
MODULES = (
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_sh",
    "ip_vs_mh",
    "ip_vs_pe_sip",
)
VIP = "10.10.0.1"
CLIENT_IP = "10.10.0.2"
REAL_SERVERS = {f"rs{i}": f"10.20.{i}.2" for i in (1, 2, 3)}
UDP_ECHO_PORT = 9000
WWW = Path("/tmp/lvs-top-lab")


def in_lab() -> bool:
    return os.environ.get(IN_LAB_ENV) == "1"


def sh(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with its stderr in the message."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def ipvsadm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ipvsadm", *args, check=check)


def ipvsadm_lines(rules: Sequence[str]) -> None:
    """Run lines of ipvsadm command syntax, all in one `ipvsadm -R` (one exec: the VM is slow)."""
    restore(rules)


def restore(rules: Sequence[str]) -> None:
    """Load many rules at once with `ipvsadm -R`."""
    proc = subprocess.run(
        ["ipvsadm", "-R"], input="\n".join(rules) + "\n", capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ipvsadm -R failed: {proc.stderr.strip()}")


def clear() -> None:
    ipvsadm("-C")


def listing(*options: str) -> Listing:
    """`ipvsadm -Ln --exact OPTIONS`, parsed."""
    return parse_listing(ipvsadm("-Ln", "--exact", *options).stdout)


def save() -> list[str]:
    """`ipvsadm -Sn`, one rule per line, in ipvsadm's order."""
    return [line for line in ipvsadm("-Sn").stdout.splitlines() if line.strip()]


def load_modules() -> None:
    for module in MODULES:
        sh("modprobe", module)
    if not Path("/proc/net/ip_vs").exists():
        raise RuntimeError("modprobe ip_vs succeeded but /proc/net/ip_vs is missing")


def wait_until(what: str, ready: Callable[[], bool], timeout: float = 60, step: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def _tcp_accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
"""


@dataclass
class Lab:
    """The NAT topology; `close()` stops the servers and removes the namespaces."""

    python: str = sys.executable
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def build(self) -> None:
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        sh("ip", "link", "set", "lo", "up")
        self._namespace("client", "vc", CLIENT_IP, VIP)
        for i, (name, address) in enumerate(REAL_SERVERS.items(), 1):
            self._namespace(name, f"vr{i}", address, f"10.20.{i}.1")
            root = WWW / name
            root.mkdir(parents=True, exist_ok=True)
            (root / "index.html").write_text(f"{name}\n")
            self._spawn(name, [self.python, "-m", "http.server", "80", "--bind", address,
                               "--directory", str(root)])
            self._spawn(name, [self.python, "-c", UDP_ECHO, address, str(UDP_ECHO_PORT)])
        # The director reaches every real server directly; wait until each HTTP server accepts.
        for name, address in REAL_SERVERS.items():
            wait_until(f"the HTTP server of {name}", lambda a=address: _tcp_accepts(a, 80), timeout=120)

    def _namespace(self, name: str, link: str, address: str, gateway: str) -> None:
        sh("ip", "netns", "add", name)
        sh("ip", "link", "add", link, "type", "veth", "peer", "name", f"{link}0", "netns", name)
        sh("ip", "addr", "add", f"{gateway}/24", "dev", link)
        sh("ip", "link", "set", link, "up")
        sh("ip", "-n", name, "addr", "add", f"{address}/24", "dev", f"{link}0")
        sh("ip", "-n", name, "link", "set", f"{link}0", "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "route", "add", "default", "via", gateway)

    def _spawn(self, netns: str, argv: list[str]) -> None:
        self.procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", netns, *argv],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(timeout=10)
        for name in ("client", *REAL_SERVERS):
            sh("ip", "netns", "del", name, check=False)

    # --- traffic from the client namespace ---------------------------------------------------

    def client(self, code: str, *args: str, timeout: float = 300) -> str:
        """Run Python `code` in the client namespace; return its stdout."""
        proc = sh("ip", "netns", "exec", "client", self.python, "-c", code, *args, timeout=timeout)
        return proc.stdout

    def traffic(self, n: int, url: str = f"http://{VIP}/") -> dict[str, int]:
        """Send `n` HTTP requests (one connection each) and count answers per real server."""
        out = self.client(HTTP_CLIENT, url, str(n))
        counts: collections.Counter[str] = collections.Counter()
        for line in out.split():
            counts[line] += 1
        return dict(sorted(counts.items()))

    def udp(self, n: int, size: int, address: str = VIP, port: int = UDP_ECHO_PORT) -> int:
        """Send `n` datagrams of `size` payload bytes from ONE socket; return how many were echoed."""
        return int(self.client(UDP_CLIENT, address, str(port), str(n), str(size)).strip())


HTTP_CLIENT = """
import sys, urllib.request
for _ in range(int(sys.argv[2])):
    print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode().strip())
"""

UDP_CLIENT = """
import socket, sys
address, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((address, port))
echoed = 0
for i in range(n):
    s.send(bytes([i % 256]) * size)
    try:
        if len(s.recv(65535)) == size:
            echoed += 1
    except TimeoutError:
        pass
print(echoed)
"""

IPV4_UDP_OVERHEAD = 20 + 8  # IPv4 header + UDP header, counted by IPVS in each packet's bytes


def settle(read: Callable[[], object], timeout: float = 15, quiet: float = 2.5) -> object:
    """Poll `read()` until it returns the same value for `quiet` seconds (counters lag ~2 s)."""
    deadline = time.monotonic() + timeout
    last = read()
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise TimeoutError(f"value did not settle within {timeout} s: {last!r}")

