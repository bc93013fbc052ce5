"""Traffic from a client namespace: HTTP requests and UDP datagrams sent from this process (a
thread that joined the namespace: no interpreter to start in the slow VM), a background HTTP load
run as a process (programs/load_client.py, with the time of each answer), and a flood of TCP
connection attempts."""

from __future__ import annotations

import collections
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from lvs_tui.ipvs.netlink import enter_netns, in_netns, netns_path
from tests.kernel.lab.commands import wait_until
from tests.kernel.lab.programs import command as program
from tests.kernel.lab.programs import load_client

IPV4_UDP_OVERHEAD = 20 + 8  # IPv4 header + UDP header, counted by IPVS in each packet's bytes


def request(address: str, port: int = 80, path: str = "/", timeout: float = 30) -> str:
    """One HTTP/1.0 request on a connection of its own, from this thread's namespace: who answered
    ("rsN"), or FAIL:<why>."""
    return load_client.request(address, port, path, timeout)


def requests(netns: str, address: str, n: int, port: int = 80, path: str = "/",
             timeout: float = 30) -> dict[str, int]:
    """`n` requests to `address` from namespace `netns`, one after another, counted by answer."""
    answers = in_netns(netns, lambda: [request(address, port, path, timeout) for _ in range(n)])
    return dict(sorted(collections.Counter(answers).items()))


def failures(answers: dict[str, int]) -> int:
    return sum(count for answer, count in answers.items() if answer.startswith("FAIL"))


def udp(netns: str, address: str, port: int, n: int, size: int) -> int:
    """Send `n` datagrams of `size` payload bytes from ONE socket in `netns` (one IPVS connection);
    return how many were echoed back whole."""
    def send() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.connect((address, port))
            echoed = 0
            for i in range(n):
                sock.send(bytes([i % 256]) * size)
                try:
                    if len(sock.recv(65535)) == size:
                        echoed += 1
                except TimeoutError:
                    pass
            return echoed

    return in_netns(netns, send)


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
    """HTTP requests to address:port from namespace `netns`, one connection each, in the background:
    a process (programs/load_client.py) so that it runs beside this one, not under its GIL."""

    def __init__(self, netns: str, address: str, port: int, path: str, limit: int, pause: float,
                 timeout: float = 30) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="lvs-top-load."))
        self._go, self._stop = self._dir / "go", self._dir / "stop"
        self._stderr = (self._dir / "stderr").open("w")
        self.answers: list[Answer] = []
        self.ended = False
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, *program("load_client", address, str(port), path, str(self._go),
                                                    str(self._stop), str(limit), str(pause), str(timeout))],
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
        wait_until("the load client", lambda: self._alive() and self._ready.is_set(), timeout=timeout,
                   step=0.05)

    def go(self) -> None:
        self._go.touch()

    def start(self, answers: int = 0) -> None:
        """Once the client is ready: go, then wait for `answers` answers."""
        self.wait_ready()
        self.go()
        if answers:
            self.wait_for(answers)

    def since(self, at: float) -> list[Answer]:
        """The requests started after `at`."""
        return [answer for answer in list(self.answers) if answer.start > at]

    def wait_for(self, count: int, since: float = 0.0, timeout: float = 60) -> None:
        """Until `count` requests started after `since` have their answer."""
        wait_until(f"{count} answers of the load", lambda: self._alive() and len(self.since(since)) >= count,
                   timeout=timeout, step=0.05)

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

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
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
