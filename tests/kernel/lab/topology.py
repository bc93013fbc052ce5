"""The NAT lab: network namespaces inside the VM, its servers, and servers that stop, fail or
stand in for the health checker's tests.

    client ns 10.10.0.2 --veth-- 10.10.0.1 director (root ns) 10.20.N.1 --veth-- 10.20.N.2 rsN ns

Each real server rsN runs `python3 -m http.server 80` answering "rsN", a UDP echo server on port
9000, and on port 8081 a threaded HTTP server answering "rsN" too, after N seconds for `/slow?s=N`
(a long request that a drain must let finish). The director forwards (NAT) with ip_forward=1.

On demand: the HTTP server on port 80 of a real server can be stopped and started again
(`stop_http`, `start_http`); each real server can run a scripted HTTP server on port 8082 whose
answers (200 or 503) follow a pattern the test sets (`scripted`); and a sorry server namespace
10.20.9.2 answers "sorry" on port 80 (`sorry`). These addresses exist only inside the VM.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.kernel.lab import traffic
from tests.kernel.lab.commands import set_sysctl, sh, tcp_accepts, wait_until
from tests.kernel.lab.programs import command as program

VIP = "10.10.0.1"
CLIENT = "client"
CLIENT_IP = "10.10.0.2"
REAL_SERVERS = {f"rs{i}": f"10.20.{i}.2" for i in (1, 2, 3)}
UDP_ECHO_PORT = 9000
SLOW_HTTP_PORT = 8081
SCRIPTED_PORT = 8082
SORRY_NAME, SORRY_IP = "sorry", "10.20.9.2"
WWW = Path("/tmp/lvs-top-lab")
def spawn(netns: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """A server in namespace `netns`; `ip netns exec` execs it, so the process is the server."""
    return subprocess.Popen(["ip", "netns", "exec", netns, *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def serves(proc: subprocess.Popen[bytes], address: str, port: int) -> bool:
    """Whether the server `proc` accepts connections yet; raises if it has exited."""
    if proc.poll() is not None:
        raise RuntimeError(f"the server {proc.args!r} exited ({proc.returncode})")
    return tcp_accepts(address, port)


@dataclass(frozen=True)
class Scripted:
    """A real server's scripted HTTP server (programs/scripted_http.py): each request takes the next
    letter of the pattern in the `script` file, cycled (S: 200 "rsN", F: 503), and is logged to
    `served` as "MONOTONIC LETTER". A new pattern starts from its first letter."""

    name: str
    address: str
    port: int
    script: Path
    served: Path

    def set(self, pattern: str) -> None:
        if not pattern or set(pattern) - {"S", "F"}:
            raise ValueError(f"a pattern of S and F letters, not {pattern!r}")
        temporary = self.script.with_suffix(".new")
        temporary.write_text(pattern)
        os.replace(temporary, self.script)  # the server never reads half a pattern

    def reset(self) -> None:
        self.set("S")
        self.served.write_text("")

    def log(self) -> list[tuple[float, str]]:
        """(time.monotonic(), "S" or "F") of every request answered since the last reset."""
        entries = []
        for line in self.served.read_text().splitlines():
            at, letter = line.split()
            entries.append((float(at), letter))
        return entries


@dataclass
class NatLab:
    """The NAT topology; `close()` stops the servers and removes the namespaces."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    http: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # rsN's port 80 server
    namespaces: list[str] = field(default_factory=list)
    _scripted: dict[str, Scripted] = field(default_factory=dict)

    def build(self) -> None:
        self.start()
        self.wait()

    def start(self) -> None:
        """The namespaces, and the servers started: each takes seconds to come up in the VM, which
        the suite lets happen while it runs tests that need no topology (see `wait`)."""
        set_sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        sh("ip", "link", "set", "lo", "up")
        self._namespace(CLIENT, "vc", CLIENT_IP, VIP)
        for i, (name, address) in enumerate(REAL_SERVERS.items(), 1):
            self._namespace(name, f"vr{i}", address, f"10.20.{i}.1")
            root = WWW / name
            root.mkdir(parents=True, exist_ok=True)
            (root / "index.html").write_text(f"{name}\n")
            self.http[name] = self._spawn(name, self._http_server(name))
            self._spawn(name, program("udp_echo", address, str(UDP_ECHO_PORT)))
            self._spawn(name, program("slow_http", name, address, str(SLOW_HTTP_PORT)))

    def wait(self) -> None:
        """Until each real server's HTTP servers accept connections (the director reaches them)."""
        for name, address in REAL_SERVERS.items():
            for port in (80, SLOW_HTTP_PORT):
                wait_until(f"the HTTP server of {name} on port {port}",
                           functools.partial(tcp_accepts, address, port), timeout=120, step=0.05)

    @staticmethod
    def _http_server(name: str) -> list[str]:
        return [sys.executable, "-m", "http.server", "80", "--bind", REAL_SERVERS[name], "--directory",
                str(WWW / name)]

    def _namespace(self, name: str, link: str, address: str, gateway: str) -> None:
        """Namespace `name`, its end of veth pair `link` at address/24, routed via `gateway`."""
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-batch", "-", input="\n".join([
            f"link add {link} type veth peer name {link}0 netns {name}",
            f"addr add {gateway}/24 dev {link}", f"link set {link} up"]) + "\n")
        sh("ip", "-n", name, "-batch", "-", input="\n".join([
            f"addr add {address}/24 dev {link}0", f"link set {link}0 up", "link set lo up",
            f"route add default via {gateway}"]) + "\n")

    def _spawn(self, netns: str, argv: list[str]) -> subprocess.Popen[bytes]:
        proc = spawn(netns, argv)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(timeout=10)
        for name in self.namespaces:
            sh("ip", "netns", "del", name, check=False)

    # --- servers that stop, fail or stand in, for the health checker ---------------------------

    def stop_http(self, name: str) -> None:
        """Stop rsN's HTTP server on port 80 (SIGKILL): from now on its port refuses connections."""
        proc = self.http[name]
        proc.kill()
        proc.wait(timeout=10)
        wait_until(f"port 80 of {name} closed", lambda: not tcp_accepts(REAL_SERVERS[name], 80), timeout=10,
                   step=0.05)

    def start_http(self, *names: str, wait: bool = True) -> None:
        """Start the HTTP server on port 80 of these real servers again (together: each start takes
        seconds in the VM); back once each accepts connections, or at once without `wait`."""
        for name in names:
            if self.http[name].poll() is None:
                raise RuntimeError(f"the HTTP server of {name} is already running")
            self.http[name] = self._spawn(name, self._http_server(name))
        if wait:
            self.wait_http(*names)

    def wait_http(self, *names: str) -> None:
        for name in names:
            wait_until(f"the HTTP server of {name} on port 80",
                       functools.partial(serves, self.http[name], REAL_SERVERS[name], 80), timeout=120,
                       step=0.05)

    def stopped_http(self) -> list[str]:
        return [name for name, proc in self.http.items() if proc.poll() is not None]

    def scripted(self) -> dict[str, Scripted]:
        """rsN -> its scripted HTTP server on port 8082 (started on first use, then kept)."""
        if not self._scripted:
            procs = {}
            for name, address in REAL_SERVERS.items():
                server = Scripted(name, address, SCRIPTED_PORT, WWW / name / "script", WWW / name / "served")
                server.reset()
                procs[name] = self._spawn(name, program("scripted_http", name, address, str(SCRIPTED_PORT),
                                                        str(server.script), str(server.served)))
                self._scripted[name] = server
            for name, server in self._scripted.items():
                wait_until(f"the scripted HTTP server of {name}",
                           functools.partial(serves, procs[name], server.address, SCRIPTED_PORT),
                           timeout=120, step=0.05)
        return self._scripted

    def reset_scripted(self) -> None:
        """Every scripted server answers 200 again, its log emptied."""
        for server in self._scripted.values():
            server.reset()

    def sorry(self) -> str:
        """The sorry server's address: namespace "sorry" at 10.20.9.2, answering "sorry" on port 80
        (created on first use, then kept)."""
        if SORRY_NAME not in self.namespaces:
            self._namespace(SORRY_NAME, "vr9", SORRY_IP, "10.20.9.1")
            self._spawn(SORRY_NAME, program("slow_http", SORRY_NAME, SORRY_IP, "80"))
            wait_until("the sorry server", functools.partial(tcp_accepts, SORRY_IP, 80), timeout=120,
                       step=0.05)
        return SORRY_IP

    # --- traffic from the client namespace ---------------------------------------------------

    def requests(self, n: int, port: int = 80, path: str = "/") -> dict[str, int]:
        """`n` HTTP requests to the VIP from the client namespace, one connection each, counted by
        who answered; a failed request counts as "FAIL:<why>" (see traffic.requests)."""
        return traffic.requests(CLIENT, VIP, n, port=port, path=path, timeout=30)

    def udp(self, n: int, size: int, address: str = VIP, port: int = UDP_ECHO_PORT) -> int:
        """Send `n` datagrams of `size` payload bytes from ONE socket; return how many were echoed."""
        return traffic.udp(CLIENT, address, port, n, size)

    def load(self, path: str = "/", port: int = 80, limit: int = 400, pause: float = 0.02,
             timeout: float = 30) -> traffic.Load:
        """A background HTTP client in the client namespace (see `traffic.Load`); `go()` starts it;
        `timeout` bounds each wait for an answer."""
        return traffic.Load(CLIENT, VIP, port, path, limit, pause, timeout)
