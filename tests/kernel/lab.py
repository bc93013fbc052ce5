"""The lab inside the VM: kernel modules, a NAT topology in network namespaces, traffic, ipvsadm.

Topology (addresses exist only inside the lab VM):

    client ns 10.10.0.2 --veth-- 10.10.0.1 director (root ns) 10.20.N.1 --veth-- 10.20.N.2 rsN ns

Each real server rsN runs `python3 -m http.server 80` answering "rsN", a UDP echo server on
port 9000, and on port 8081 a threaded HTTP server answering "rsN" too, after N seconds for
`/slow?s=N` (a long request that a drain must let finish). The director forwards (NAT) with
ip_forward=1.

For the health checker's tests, on demand: the HTTP server on port 80 of one real server can be
stopped and started again (`stop_http`, `start_http`); each real server can run a scripted HTTP
server on port 8082 whose answers (200 or 503) follow a pattern the test sets (`scripted`); and a
sorry server namespace 10.20.9.2 answers "sorry" on port 80 (`sorry`).
"""

from __future__ import annotations

import collections
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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
SLOW_HTTP_PORT = 8081
SCRIPTED_PORT = 8082
SORRY_NAME, SORRY_IP = "sorry", "10.20.9.2"
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


def connection_count() -> int:
    """Entries of the connection table (`ipvsadm -Lcn` less its two header lines), templates included."""
    return len(ipvsadm("-Lcn").stdout.splitlines()) - 2


def flush_connections(timeout: float = 30) -> None:
    """Empty the table and the connection table: `ipvsadm -C` leaves entries until they expire
    (TIME_WAIT lasts 2 minutes), and a real server added again comes back from the kernel's trash
    with its old counts.

    With expire_nodest_conn=1, deleting a real server makes the kernel flush every entry whose
    server is gone; a throwaway service triggers that once.
    """
    sysctl = "net.ipv4.vs.expire_nodest_conn"
    old = sh("sysctl", "-n", sysctl).stdout.strip()
    sh("sysctl", "-qw", f"{sysctl}=1")
    try:
        clear()
        ipvsadm_lines(["-A -t 10.10.0.1:1 -s rr", "-a -t 10.10.0.1:1 -r 10.20.1.2:1 -m"])
        clear()
        wait_until("an empty connection table", lambda: connection_count() == 0, timeout=timeout)
    finally:
        sh("sysctl", "-qw", f"{sysctl}={old}")


def proc_weights(service: str) -> dict[str, int] | None:
    """The real servers of TCP/UDP service `service` ("tcp:10.10.0.1:80") and their weights, from
    the kernel's own /proc/net/ip_vs: no exec, so cheap enough to poll every 50 ms. None when the
    service is not in the table."""
    services: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for line in Path("/proc/net/ip_vs").read_text().splitlines()[3:]:
        words = line.split()
        if not words:
            continue
        if words[0] in ("TCP", "UDP", "SCTP") and not words[1].startswith("["):
            address, port = words[1].split(":")
            current = services.setdefault(f"{words[0].lower()}:{_hex_ip(address)}:{int(port, 16)}", {})
        elif words[0] == "->" and current is not None and not words[1].startswith("["):
            address, port = words[1].split(":")
            current[f"{_hex_ip(address)}:{int(port, 16)}"] = int(words[3])
        elif words[0] != "->":
            current = None  # a fwmark or IPv6 service: not needed here
    return services.get(service)


def _hex_ip(text: str) -> str:
    return socket.inet_ntoa(bytes.fromhex(text))


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


def _serves(proc: subprocess.Popen[bytes], address: str, port: int) -> bool:
    """Whether the server `proc` accepts connections yet; raises if it has exited."""
    if proc.poll() is not None:
        raise RuntimeError(f"the server {proc.args!r} exited ({proc.returncode})")
    return _tcp_accepts(address, port)


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
    http: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # rsN's port 80 server
    namespaces: list[str] = field(default_factory=list)
    _scripted: dict[str, Scripted] = field(default_factory=dict)

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
            self.http[name] = self._spawn(name, self._http_server(name))
            self._spawn(name, [self.python, "-c", UDP_ECHO, address, str(UDP_ECHO_PORT)])
            self._spawn(name, [self.python, "-c", SLOW_HTTP, name, address, str(SLOW_HTTP_PORT)])
        # The director reaches every real server directly; wait until each HTTP server accepts.
        for name, address in REAL_SERVERS.items():
            for port in (80, SLOW_HTTP_PORT):
                wait_until(f"the HTTP server of {name} on port {port}",
                           lambda a=address, p=port: _tcp_accepts(a, p), timeout=120)

    def _http_server(self, name: str) -> list[str]:
        return [self.python, "-m", "http.server", "80", "--bind", REAL_SERVERS[name], "--directory",
                str(WWW / name)]

    def _namespace(self, name: str, link: str, address: str, gateway: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "link", "add", link, "type", "veth", "peer", "name", f"{link}0", "netns", name)
        sh("ip", "addr", "add", f"{gateway}/24", "dev", link)
        sh("ip", "link", "set", link, "up")
        sh("ip", "-n", name, "addr", "add", f"{address}/24", "dev", f"{link}0")
        sh("ip", "-n", name, "link", "set", f"{link}0", "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "route", "add", "default", "via", gateway)

    def _spawn(self, netns: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # `ip netns exec` execs the command: the process is the server itself.
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
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
        wait_until(f"port 80 of {name} closed", lambda: not _tcp_accepts(REAL_SERVERS[name], 80), timeout=10)

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
                       functools.partial(_serves, self.http[name], REAL_SERVERS[name], 80), timeout=120,
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
                procs[name] = self._spawn(name, [self.python, "-c", SCRIPTED_HTTP, name, address,
                                                 str(SCRIPTED_PORT), str(server.script), str(server.served)])
                self._scripted[name] = server
            for name, server in self._scripted.items():
                wait_until(f"the scripted HTTP server of {name}",
                           functools.partial(_serves, procs[name], server.address, SCRIPTED_PORT),
                           timeout=120)
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
            self._spawn(SORRY_NAME, [self.python, "-c", SLOW_HTTP, SORRY_NAME, SORRY_IP, "80"])
            wait_until("the sorry server", lambda: _tcp_accepts(SORRY_IP, 80), timeout=120)
        return SORRY_IP

    # --- traffic from the client namespace ---------------------------------------------------

    def client(self, code: str, *args: str, timeout: float = 300) -> str:
        """Run Python `code` in the client namespace; return its stdout."""
        proc = sh("ip", "netns", "exec", "client", self.python, "-c", code, *args, timeout=timeout)
        return proc.stdout

    def load(self, path: str = "/", port: int = 80, limit: int = 400, pause: float = 0.02) -> Load:
        """A background HTTP client in the client namespace (see `Load`); call `go()` to start it."""
        return Load(self.python, path, port, limit, pause)

    def requests(self, n: int, port: int = 80, path: str = "/") -> dict[str, int]:
        """Like `traffic`, over plain sockets (a faster start); a failed request counts as "FAIL:..."."""
        out = self.client(REQUESTS, VIP, str(port), path, str(n))
        return dict(sorted(collections.Counter(out.split()).items()))

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


# The real servers' second HTTP server: a thread per connection, so a long request does not
# hold up the others; plain sockets, as it starts much faster than http.server in the slow VM.
SLOW_HTTP = """
import socket, sys, threading, time
name, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])

def serve(conn):
    with conn:
        request = b""
        while b"\\r\\n\\r\\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        path, _, query = request.split(b" ", 2)[1].decode().partition("?")
        if path == "/slow":
            params = dict(p.partition("=")[::2] for p in query.split("&"))
            time.sleep(float(params.get("s") or 1))
        body = (name + "\\n").encode()
        conn.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n"
                     b"Connection: close\\r\\n\\r\\n%s" % (len(body), body))

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

# One HTTP/1.0 request per connection over a plain socket (urllib takes seconds to import in the
# VM); prints who answered ("rsN"), or FAIL:<why>. With a stop file: requests until it exists
# (at most `limit`), each line "START END ANSWER" (CLOCK_MONOTONIC, shared by every namespace),
# "ready" first, and the first request once the go file exists.
REQUEST = """
import os, socket, sys, time

def request(host, port, path):
    try:
        with socket.create_connection((host, port), timeout=30) as conn:
            conn.sendall(f"GET {path} HTTP/1.0\\r\\nHost: {host}\\r\\n\\r\\n".encode())
            response = b""
            while chunk := conn.recv(65536):
                response += chunk
    except OSError as error:
        return "FAIL:" + repr(error).replace(" ", "_")
    head, _, body = response.partition(b"\\r\\n\\r\\n")
    status = head.split(b" ", 2)[1:2]
    answer = body.decode(errors="replace").strip()
    return answer if status == [b"200"] and answer and " " not in answer else f"FAIL:status-{status}"
"""

REQUESTS = REQUEST + """
host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for _ in range(n):
    print(request(host, port, path))
"""

LOAD_CLIENT = REQUEST + """
host, port, path, go, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
limit, pause = int(sys.argv[6]), float(sys.argv[7])
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
for _ in range(limit):
    if os.path.exists(stop):
        break
    start = time.monotonic()
    answer = request(host, port, path)
    print(f"{start:.6f} {time.monotonic():.6f} {answer}", flush=True)
    time.sleep(pause)
print("end", flush=True)
"""


@dataclass(frozen=True)
class Answer:
    """One request of a `Load`: when it started and ended (time.monotonic()), who answered."""

    start: float
    end: float
    server: str  # "rs1", ..., or "FAIL:<why>"

    @property
    def failed(self) -> bool:
        return self.server.startswith("FAIL")


class Load:
    """HTTP requests to the VIP from the client namespace, one connection each, in the background."""

    def __init__(self, python: str, path: str, port: int, limit: int, pause: float) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="lvs-top-load."))
        self._go, self._stop = self._dir / "go", self._dir / "stop"
        self._stderr = (self._dir / "stderr").open("w")
        self.answers: list[Answer] = []
        self.ended = False
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", "client", python, "-c", LOAD_CLIENT, VIP, str(port), path,
             str(self._go), str(self._stop), str(limit), str(pause)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            words = line.split()
            if words == ["ready"]:
                self._ready.set()
            elif words == ["end"]:
                self.ended = True
            elif len(words) == 3:
                self.answers.append(Answer(float(words[0]), float(words[1]), words[2]))

    def _alive(self) -> bool:
        if self.proc.poll() is not None and not self.ended:
            raise RuntimeError(f"the load client exited ({self.proc.returncode}): {self.stderr()}")
        return True

    def stderr(self) -> str:
        self._stderr.flush()
        return (self._dir / "stderr").read_text().strip()

    def wait_ready(self, timeout: float = 60) -> None:
        wait_until("the load client", lambda: self._alive() and self._ready.is_set(), timeout=timeout)

    def go(self) -> None:
        self._go.touch()

    def since(self, at: float) -> list[Answer]:
        """The requests started after `at`."""
        return [answer for answer in list(self.answers) if answer.start > at]

    def wait_for(self, count: int, since: float = 0.0, timeout: float = 60) -> None:
        """Until `count` requests started after `since` have their answer."""
        wait_until(f"{count} answers of the load", lambda: self._alive() and len(self.since(since)) >= count,
                   timeout=timeout)

    def stop(self, timeout: float = 60) -> list[Answer]:
        """Stop after the request in flight; every answer."""
        self._go.touch()
        self._stop.touch()
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self._reader.join(timeout=10)
            self._stderr.close()
            shutil.rmtree(self._dir, ignore_errors=True)
        return list(self.answers)


@dataclass(frozen=True)
class Scripted:
    """A real server's scripted HTTP server: each request takes the next letter of the pattern in
    the `script` file, cycled (S: 200 "rsN", F: 503), and is logged to `served` as "MONOTONIC
    LETTER". A new pattern starts from its first letter."""

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


SCRIPTED_HTTP = """
import socket, sys, time
name, address, port, script, served = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(128)
pattern, count = "", 0
while True:
    conn, _ = server.accept()
    with conn:
        try:
            conn.settimeout(2)
            request = b""
            while b"\\r\\n\\r\\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            if b"\\r\\n\\r\\n" not in request:
                continue  # a bare connect (a TCP check, a readiness probe): nothing to answer
            with open(script) as f:
                now = f.read().strip() or "S"
            if now != pattern:
                pattern, count = now, 0
            letter = pattern[count % len(pattern)]
            count += 1
            status = b"200 OK" if letter == "S" else b"503 Service Unavailable"
            body = (name + "\\n").encode()
            conn.sendall(b"HTTP/1.0 %s\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n"
                         b"Connection: close\\r\\n\\r\\n%s" % (status, len(body), body))
            with open(served, "a") as f:
                f.write(f"{time.monotonic():.6f} {letter}\\n")
        except OSError:
            pass
"""

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

