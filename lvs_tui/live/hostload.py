"""The director's own load, for the dashboard's strip: CPU (with the softirq share, where IPVS
does its work), memory, and receive/transmit rates per network interface. Uses psutil; no Textual."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class InterfaceLoad:
    name: str
    rx_bps: float  # bytes per second
    tx_bps: float


@dataclass(frozen=True, slots=True)
class HostLoad:
    cpu_percent: float  # all cores, 0-100
    softirq_percent: float  # the part of it spent in softirq (packet processing, IPVS)
    memory_percent: float
    interfaces: tuple[InterfaceLoad, ...]  # busiest first


class HostSampler:
    """Each `sample()` returns the load since the previous call (the first call primes it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_net: dict[str, tuple[int, int]] = {}
        self._last_time = clock()
        psutil.cpu_times_percent(interval=None)  # prime: the next call measures from here
        self._prime_net()

    def _prime_net(self) -> None:
        counters = psutil.net_io_counters(pernic=True)
        self._last_net = {name: (c.bytes_recv, c.bytes_sent) for name, c in counters.items()}

    def sample(self) -> HostLoad:
        now = self._clock()
        seconds = max(now - self._last_time, 1e-6)
        self._last_time = now
        cpu = psutil.cpu_times_percent(interval=None)
        softirq = float(getattr(cpu, "softirq", 0.0))
        busy = 100.0 - float(getattr(cpu, "idle", 0.0)) - float(getattr(cpu, "iowait", 0.0))
        interfaces = []
        current = psutil.net_io_counters(pernic=True)
        for name, counters in current.items():
            before = self._last_net.get(name)
            if before is None or name == "lo":
                continue
            rx = max(0, counters.bytes_recv - before[0]) / seconds
            tx = max(0, counters.bytes_sent - before[1]) / seconds
            interfaces.append(InterfaceLoad(name, rx, tx))
        self._last_net = {name: (c.bytes_recv, c.bytes_sent) for name, c in current.items()}
        interfaces.sort(key=lambda load: (-(load.rx_bps + load.tx_bps), load.name))
        return HostLoad(max(0.0, busy), softirq, psutil.virtual_memory().percent, tuple(interfaces))
