"""What the health checker's tests share: loopback servers that stop and start, a simulated table
of their ports, and a thread that runs the checker's jobs as the poller does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from lvs_tui.ipvs.backend import Backend, DestConfig, ServiceConfig
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.model.printable import fault
from lvs_tui.model.records import ServiceKey
from lvs_tui.sim import SimulatedDirector

KEY = ServiceKey.inet("tcp", "192.0.2.99", 80)
LOOPBACK = "127.0.0.1"


class Listener:
    """A TCP server on loopback that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        self.server = await asyncio.start_server(handle, LOOPBACK, self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


class BackendThread:
    """The poller's part: jobs run one at a time on a thread that owns the backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.lock = threading.Lock()
        self.jobs = 0

    def submit(self, job: Callable[[Backend], Any], done: Callable[[Any], None]) -> None:
        def run() -> None:
            with self.lock:
                self.jobs += 1
                outcome: Any
                try:
                    outcome = job(self.backend)
                except IpvsError as error:
                    outcome = error
                except Exception as error:  # as Poller._run_job says it
                    outcome = IpvsError(f"failed unexpectedly ({fault(error)})")
                done(outcome)

        threading.Thread(target=run, daemon=True).start()


def config_text(ports: list[int], extra: str = "") -> str:
    servers = "".join(f'  [[service.server]]\n  address = "{LOOPBACK}:{port}"\n' for port in ports)
    return (f'[defaults]\ninterval = 0.1\ntimeout = 0.5\nrise = 2\nfall = 2\n{extra}\n'
            f'[[service]]\nservice = "tcp:192.0.2.99:80"\n{servers}')


def director(ports: list[int], weight: int = 5) -> SimulatedDirector:
    sim = SimulatedDirector(seed=1, services=0)
    sim.add_service(ServiceConfig(KEY, "wrr"))
    for port in ports:
        sim.add_dest(KEY, DestConfig(LOOPBACK, port, weight=weight))
    return sim


def weights(sim: SimulatedDirector) -> dict[int, int]:
    service = sim.snapshot().service(KEY)
    assert service is not None
    return {dest.port: dest.weight for dest in service.dests}


async def until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
