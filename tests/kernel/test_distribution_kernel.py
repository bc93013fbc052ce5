"""The simulated director's schedulers against the kernel's, once each for wlc and sh: the same
connections land on the same real servers; and the distribution check raises no alarm on what the
kernel did."""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest

from tests.kernel.lab.commands import ipvsadm_lines, landed, sh, wait_until
from tests.kernel.lab.topology import CLIENT, REAL_SERVERS, SLOW_HTTP_PORT, VIP, NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.model.distribution import ServiceMemory
    from lvs_tui.model.records import ServiceKey
    from lvs_tui.sim import SimulatedDirector

WEIGHTS = {"rs1": 3, "rs2": 2, "rs3": 1}
HELD = 60  # connections held open on the wlc service
CLIENTS = [f"10.10.0.{n}" for n in range(10, 74)]  # extra client addresses for sh


def simulated(scheduler: str, port: int) -> tuple[SimulatedDirector, ServiceKey]:
    """A simulated director with the lab's service: its real servers added in the same order."""
    from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
    from lvs_tui.model.records import ServiceKey
    from lvs_tui.sim import SimulatedDirector

    def frozen() -> float:  # no simulated time passes: nothing ends on its own
        return 0.0

    director = SimulatedDirector(seed=1, services=0, dests_per_service=0, clock=frozen, wall_clock=frozen)
    key = ServiceKey.inet("tcp", VIP, port)
    director.add_service(ServiceConfig(key, scheduler))
    director.set_rate(key, 0)
    for name, address in REAL_SERVERS.items():
        director.add_dest(key, DestConfig(address, port, weight=WEIGHTS[name]))
    return director, key


def hold(address: str, port: int, seconds: int) -> socket.socket:
    """A connection left waiting on /slow: established, so active, for `seconds`."""
    sock = socket.create_connection((address, port), timeout=10)
    sock.sendall(f"GET /slow?s={seconds} HTTP/1.0\r\n\r\n".encode())
    return sock


def test_wlc_places_held_connections_as_the_simulator_does(topology: NatLab, backend: KernelBackend) -> None:
    from lvs_tui.ipvs.netlink import in_netns
    from lvs_tui.model.distribution import DestState, Verdict, spreads
    from lvs_tui.model.records import DestKey, ServiceKey

    ipvsadm_lines([f"-A -t {VIP}:{SLOW_HTTP_PORT} -s wlc"] + [
        f"-a -t {VIP}:{SLOW_HTTP_PORT} -r {address}:{SLOW_HTTP_PORT} -m -w {WEIGHTS[name]}"
        for name, address in REAL_SERVERS.items()
    ])
    key = ServiceKey.inet("tcp", VIP, SLOW_HTTP_PORT)
    with ExitStack() as stack:
        # One after another: each is established (active) before the next is scheduled, as the
        # simulator binds each connection before picking the next.
        for _ in range(HELD):
            stack.enter_context(in_netns(CLIENT, lambda: hold(VIP, SLOW_HTTP_PORT, 40)))
        snapshot = backend.snapshot()
        service = snapshot.service(key)
        assert service is not None
        kernel = {dest.address: dest.active_conns for dest in service.dests}
        assert sum(kernel.values()) == HELD

        sim, sim_key = simulated("wlc", SLOW_HTTP_PORT)
        for _ in range(HELD):
            assert sim.inject(sim_key, 1) == 1
        sim_service = sim.snapshot().service(sim_key)
        assert sim_service is not None
        assert {dest.address: dest.active_conns for dest in sim_service.dests} == kernel

        # The check, on a few polls of the kernel: as promised, nothing skewed.
        memory: dict[ServiceKey, ServiceMemory] = {}
        for _ in range(3):
            polled = landed(backend.snapshot)
            found, memory = spreads(polled, polled.monotonic, memory)
        spread = found[key]
        assert spread.verdict is Verdict.OK
        assert all(share.state is DestState.OK for share in spread.shares)
        assert spread.of(DestKey(REAL_SERVERS["rs1"], SLOW_HTTP_PORT)) is not None


@pytest.fixture
def clients(topology: NatLab) -> Iterator[list[str]]:
    """The client namespace with CLIENTS as extra addresses (sh hashes the client's address)."""
    sh("ip", "-n", CLIENT, "-batch", "-", input="".join(f"addr add {a}/24 dev vc0\n" for a in CLIENTS))
    try:
        yield CLIENTS
    finally:
        sh("ip", "-n", CLIENT, "-batch", "-", input="".join(f"addr del {a}/24 dev vc0\n" for a in CLIENTS),
           check=False)


def answer_from(source: str) -> str:
    """One HTTP request to the VIP from `source`: who answered (rsN)."""
    with socket.socket() as sock:
        sock.settimeout(10)
        sock.bind((source, 0))
        sock.connect((VIP, 80))
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    return data.decode(errors="replace").rsplit("\r\n\r\n", 1)[-1].strip()


def test_sh_sends_each_client_where_the_simulator_does(
    topology: NatLab, backend: KernelBackend, clients: list[str]
) -> None:
    from lvs_tui.ipvs.netlink import in_netns

    ipvsadm_lines([f"-A -t {VIP}:80 -s sh"] + [
        f"-a -t {VIP}:80 -r {address}:80 -m -w {WEIGHTS[name]}" for name, address in REAL_SERVERS.items()
    ])
    wait_until("the VIP answers", lambda: in_netns(CLIENT, lambda: answer_from(clients[0])) in REAL_SERVERS)
    kernel = {source: in_netns(CLIENT, functools.partial(answer_from, source)) for source in clients}
    assert set(kernel.values()) <= set(REAL_SERVERS)

    sim, key = simulated("sh", 80)
    by_address = {address: name for name, address in REAL_SERVERS.items()}
    placed = {}
    for source in clients:
        before = sim.snapshot().service(key)
        assert sim.inject(key, 1, client=source) == 1
        after = sim.snapshot().service(key)
        assert before is not None and after is not None
        held = {d.address: d.active_conns for d in before.dests}
        (address,) = [d.address for d in after.dests if d.active_conns > held[d.address]]
        placed[source] = by_address[address]
    assert placed == kernel
    assert len(set(kernel.values())) == 3  # 64 clients reach every server: the comparison means something
