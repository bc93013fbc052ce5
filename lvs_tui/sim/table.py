"""The tables the demo starts with: a small realistic director, or N x M generated for scale work.

Only documentation addresses: 192.0.2.0/24 (virtual IPs), 198.51.100.0/24 and 203.0.113.0/24
(real servers), 2001:db8::/32 (IPv6).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import Family, Forward, Protocol, ServiceKey, Tunnel, TunnelType
from lvs_tui.sim.state import Traffic

WEB = Traffic(rate=40.0, active_mean=6.0, in_pps=4.0, out_pps=8.0, in_size=420, out_size=1300)
TLS = Traffic(rate=15.0, active_mean=20.0, in_pps=3.0, out_pps=6.0, in_size=600, out_size=1400)
DNS = Traffic(rate=60.0, active_mean=0.1, in_pps=0.0, out_pps=0.0, in_size=72, out_size=180)
API = Traffic(rate=20.0, active_mean=3.0, in_pps=6.0, out_pps=6.0, in_size=300, out_size=900)
MAIL = Traffic(rate=2.0, active_mean=15.0, in_pps=10.0, out_pps=3.0, in_size=1200, out_size=120)


@dataclass(frozen=True, slots=True)
class Entry:
    """One service to create: its configuration, its clients' behaviour, its real servers."""

    config: ServiceConfig
    traffic: Traffic
    dests: tuple[DestConfig, ...]


def _d(address: str, port: int, forward: Forward = Forward.MASQ, weight: int = 1, **kw: object) -> DestConfig:
    return DestConfig(address, port, forward, weight=weight, **kw)  # type: ignore[arg-type]


def default_table() -> list[Entry]:
    """A small director as an operator would know it: every feature the dashboard shows."""
    web = ServiceKey.inet("tcp", "192.0.2.10", 80)
    tls = ServiceKey.inet("tcp", "192.0.2.10", 443)
    dns = ServiceKey.inet("udp", "192.0.2.53", 53)
    api = ServiceKey.inet("tcp", "192.0.2.20", 8080)
    web6 = ServiceKey.inet("tcp", "2001:db8::80", 80)
    fwm = ServiceKey.mark(7)
    mail = ServiceKey.inet("tcp", "192.0.2.25", 25)
    gue, gre = Tunnel(TunnelType.GUE, 6080, ("nocsum",)), Tunnel(TunnelType.GRE, 0, ("csum",))
    return [
        Entry(ServiceConfig(web, "wrr"), WEB, (
            _d("198.51.100.11", 8080, weight=3, upper_threshold=1500, lower_threshold=1200),
            _d("198.51.100.12", 8080, weight=2),
            _d("198.51.100.13", 8080, weight=1),
            _d("198.51.100.14", 8080, weight=0),  # draining: being taken out for maintenance
        )),
        # The same machines serve HTTP and HTTPS, as they usually do: "drain host" covers both.
        Entry(ServiceConfig(tls, "wlc", ("persistent",), 360, "255.255.255.0"), TLS, (
            _d("198.51.100.11", 443, weight=100),
            _d("198.51.100.12", 443, weight=100),
            _d("198.51.100.13", 443, weight=50),
        )),
        Entry(ServiceConfig(dns, "sh", ("sh-fallback", "sh-port")), DNS, (
            _d("198.51.100.31", 53),
            _d("198.51.100.32", 53),
            _d("198.51.100.33", 53),
        )),
        Entry(ServiceConfig(api, "mh", ("mh-fallback",)), API, (
            _d("203.0.113.41", 8080, Forward.TUNNEL, 1, tunnel=gue),
            _d("203.0.113.42", 8080, Forward.TUNNEL, 1, tunnel=gre),
            _d("203.0.113.43", 8080, Forward.TUNNEL, 1, tunnel=Tunnel()),
        )),
        Entry(ServiceConfig(web6, "rr"), Traffic(10.0, 6.0, 4.0, 8.0, 440, 1300), (
            _d("2001:db8:1::11", 80, Forward.ROUTE),
            _d("2001:db8:1::12", 80, Forward.ROUTE),
        )),
        Entry(ServiceConfig(fwm, "lc"), Traffic(8.0, 10.0, 5.0, 5.0, 500, 800), (
            _d("198.51.100.51", 0, Forward.ROUTE),
            _d("198.51.100.52", 0, Forward.ROUTE),
        )),
        Entry(ServiceConfig(mail, "sed"), MAIL, (
            _d("203.0.113.61", 25, weight=2),
            _d("203.0.113.62", 25, weight=1),
        )),
    ]


_SCHEDULERS = ("wrr", "wlc", "rr", "lc", "wrr", "sh", "mh", "sed", "wlc", "nq")
ZIPF = 1.6  # steep enough that a 10,000-service table has a quiet tail (and stays cheap)
_FORWARDS = (Forward.MASQ, Forward.MASQ, Forward.ROUTE, Forward.ROUTE, Forward.TUNNEL)
_WEIGHTS = (1, 1, 2, 3, 5)


@dataclass(frozen=True, slots=True)
class Generated:
    """One generated service, kept compact for 100,000 real servers: they all share the service's
    forwarding method (and tunnel); each row is (address, port, weight), in kernel list order."""

    config: ServiceConfig
    traffic: Traffic
    forward: Forward
    tunnel: Tunnel | None
    rows: list[tuple[str, int, int]]


def generated_table(services: int, dests: int, seed: int) -> list[Generated]:
    """N services x M real servers, deterministic for the seed.

    Popularity follows a Zipf law (a few busy sites, a long quiet tail), as on real shared directors;
    that also keeps the simulation's cost proportional to traffic rather than to table size.
    """
    rng = random.Random(seed)
    total = 1000.0 + 0.1 * services  # connections per second over the whole director
    norm = sum(1.0 / (i + 1) ** ZIPF for i in range(services)) or 1.0
    # 508 distinct real-server addresses, each string shared by every row that uses it.
    hosts = {net: [f"{net}.{n}" for n in range(1, 255)] for net in ("198.51.100", "203.0.113")}
    tcp, udp_ = Protocol.TCP, Protocol.UDP
    table = []
    for i in range(services):
        host, slot = divmod(i, 254)
        vip = f"192.0.2.{slot + 1}"
        udp = i % 10 == 9
        port = (53 if udp else 80) if host == 0 else 10000 + host
        key = ServiceKey(Family.IPV4, udp_ if udp else tcp, vip, port)
        scheduler = "sh" if udp else _SCHEDULERS[i % len(_SCHEDULERS)]
        flags: tuple[str, ...] = ("persistent",) if i % 20 == 7 and scheduler not in ("sh", "mh") else ()
        if scheduler in ("sh", "mh") and rng.random() < 0.5:
            flags = (f"{scheduler}-fallback",)
        rate = total / norm / (i + 1) ** ZIPF
        base = DNS if udp else WEB
        traffic = Traffic(rate, base.active_mean, base.in_pps, base.out_pps, base.in_size, base.out_size)
        forward = _FORWARDS[i % len(_FORWARDS)]
        tunnel = Tunnel() if forward is Forward.TUNNEL else None
        names = hosts["198.51.100" if i % 2 else "203.0.113"]
        rport = 53 if udp else 8080
        weights = rng.choices(_WEIGHTS, k=dests)
        if dests <= 254:
            first = i * dests
            rows = [(names[(first + j) % 254], rport, weights[j]) for j in range(dests)]
        else:
            rows = [(names[j % 254], rport + j // 254, weights[j]) for j in range(dests)]
        table.append(Generated(ServiceConfig(key, scheduler, flags, 300), traffic, forward, tunnel, rows))
    return table


_SIZE = re.compile(r"\s*([0-9]{1,6})\s*[xX*]\s*([0-9]{1,6})\s*")


def parse_demo_size(text: str) -> tuple[int, int]:
    """`"10000x10"` -> (10000, 10): services x real servers per service."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"demo size {text!r} is not SERVICESxSERVERS, for example 10000x10 (services x real servers)"
        )
    services, dests = int(match[1]), int(match[2])
    if not 1 <= services <= 65536 or not 0 <= dests <= 1000:
        raise ValueError(
            f"demo size {text!r} is out of range: 1 to 65536 services and 0 to 1000 real servers each"
        )
    return services, dests
