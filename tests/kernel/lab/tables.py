"""The mixed table of the kernel suite, written twice: as ipvsadm commands and as backend configs.

It covers tcp, udp, sctp, fwmark (ipv4 and ipv6), IPv6 services, persistence with a netmask, the
sip persistence engine, one-packet scheduling, sh and mh flags, masq/route/tunnel (and a local
real server), ipip/gue/gre tunnels with each checksum option, and thresholds. The first services
carry real traffic in the NAT lab (HTTP on 10.10.0.1:80, UDP echo on 10.10.0.1:9000).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import DestConfig, ServiceConfig

# ipvsadm command lines (thresholds included, which `ipvsadm -S` would omit).
MIXED_RULES: tuple[str, ...] = (
    "-A -t 10.10.0.1:80 -s wrr",
    "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 1",
    "-a -t 10.10.0.1:80 -r 10.20.2.2:80 -m -w 2",
    "-a -t 10.10.0.1:80 -r 10.20.3.2:80 -m -w 3 -x 500 -y 100",
    "-A -u 10.10.0.1:9000 -s rr",
    "-a -u 10.10.0.1:9000 -r 10.20.1.2:9000 -m -w 1",
    "-A -t 10.10.0.1:443 -s wlc -p 300 -M 255.255.255.0",
    "-a -t 10.10.0.1:443 -r 10.20.1.2:443 -g -w 0",
    "-a -t 10.10.0.1:443 -r 10.20.2.2:443 -i -w 4 --tun-type ipip",
    "-A -t 10.10.0.1:8080 -s lc",
    "-a -t 10.10.0.1:8080 -r 127.0.0.1:8081 -m -w 1",
    "-A -u 10.10.0.1:5060 -s rr -p 120 --pe sip",
    "-a -u 10.10.0.1:5060 -r 10.20.2.2:5060 -m -w 1 -x 10 -y 5",
    "-A -u 10.10.0.1:514 -s lc -o",
    "-a -u 10.10.0.1:514 -r 10.20.3.2:514 -m -w 2",
    "-A --sctp-service 10.10.0.1:3868 -s wlc",
    "-a --sctp-service 10.10.0.1:3868 -r 10.20.3.2:3868 -i -w 1 --tun-type gre --tun-csum",
    "-A -t [2001:db8::1]:443 -s rr -p 600 -M 64",
    "-a -t [2001:db8::1]:443 -r [2001:db8:1::2]:8443 -m -w 5",
    "-a -t [2001:db8::1]:443 -r [2001:db8:1::3]:443 -i -w 1 --tun-type gre --tun-nocsum",
    "-A -u [2001:db8::1]:53 -s sh -b sh-port",
    "-a -u [2001:db8::1]:53 -r [2001:db8:1::2]:53 -g -w 1 -x 100",
    "-A -f 5 -s sh -b sh-fallback,sh-port",
    "-a -f 5 -r 10.20.1.2:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
    "-a -f 5 -r 10.20.2.2:0 -i -w 2 --tun-type gue --tun-port 6081 --tun-remcsum",
    "-a -f 5 -r 10.20.3.2:0 -i -w 3 --tun-type gue --tun-port 6082 --tun-csum",
    "-A -f 6 -6 -s mh -b mh-fallback,mh-port",
    "-a -f 6 -6 -r [2001:db8:2::2]:0 -g -w 1",
    "-a -f 6 -6 -r [2001:db8:2::3]:0 -i -w 1 --tun-type gue --tun-port 7000",
    "-A -f 7 -s rr -p 360 -M 255.255.0.0",
    "-A -f 8 -s wrr -b flag-1",
)


def mixed_configs() -> list[tuple[ServiceConfig, list[DestConfig]]]:
    """The same table for the backend's add_service/add_dest."""
    from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
    from lvs_tui.model.records import Forward, ServiceKey, Tunnel, TunnelType

    tcp, udp, sctp = "tcp", "udp", "sctp"
    masq, route, tun = Forward.MASQ, Forward.ROUTE, Forward.TUNNEL

    def svc(key: ServiceKey, scheduler: str, *flags: str, **kw: object) -> ServiceConfig:
        return ServiceConfig(key, scheduler, tuple(flags), **kw)  # type: ignore[arg-type]

    return [
        (
            svc(ServiceKey.inet(tcp, "10.10.0.1", 80), "wrr"),
            [
                DestConfig("10.20.1.2", 80, masq, weight=1),
                DestConfig("10.20.2.2", 80, masq, weight=2),
                DestConfig("10.20.3.2", 80, masq, weight=3, upper_threshold=500, lower_threshold=100),
            ],
        ),
        (svc(ServiceKey.inet(udp, "10.10.0.1", 9000), "rr"), [DestConfig("10.20.1.2", 9000, masq)]),
        (
            svc(ServiceKey.inet(tcp, "10.10.0.1", 443), "wlc", "persistent",
                persistence_timeout=300, netmask="255.255.255.0"),
            [
                DestConfig("10.20.1.2", 443, route, weight=0),
                DestConfig("10.20.2.2", 443, tun, Tunnel(TunnelType.IPIP), weight=4),
            ],
        ),
        (svc(ServiceKey.inet(tcp, "10.10.0.1", 8080), "lc"), [DestConfig("127.0.0.1", 8081, masq)]),
        (
            svc(ServiceKey.inet(udp, "10.10.0.1", 5060), "rr", "persistent", persistence_timeout=120,
                pe="sip"),
            [DestConfig("10.20.2.2", 5060, masq, upper_threshold=10, lower_threshold=5)],
        ),
        (svc(ServiceKey.inet(udp, "10.10.0.1", 514), "lc", "ops"),
         [DestConfig("10.20.3.2", 514, masq, weight=2)]),
        (
            svc(ServiceKey.inet(sctp, "10.10.0.1", 3868), "wlc"),
            [DestConfig("10.20.3.2", 3868, tun, Tunnel(TunnelType.GRE, 0, ("csum",)))],
        ),
        (
            svc(ServiceKey.inet(tcp, "2001:db8::1", 443), "rr", "persistent", persistence_timeout=600,
                netmask="64"),
            [
                DestConfig("2001:db8:1::2", 8443, masq, weight=5),
                DestConfig("2001:db8:1::3", 443, tun, Tunnel(TunnelType.GRE, 0, ("nocsum",))),
            ],
        ),
        (
            svc(ServiceKey.inet(udp, "2001:db8::1", 53), "sh", "sh-port"),
            [DestConfig("2001:db8:1::2", 53, route, upper_threshold=100)],
        ),
        (
            svc(ServiceKey.mark(5), "sh", "sh-fallback", "sh-port"),
            [
                DestConfig("10.20.1.2", 0, tun, Tunnel(TunnelType.GUE, 6080, ("nocsum",)), weight=1),
                DestConfig("10.20.2.2", 0, tun, Tunnel(TunnelType.GUE, 6081, ("remcsum",)), weight=2),
                DestConfig("10.20.3.2", 0, tun, Tunnel(TunnelType.GUE, 6082, ("csum",)), weight=3),
            ],
        ),
        (
            svc(ServiceKey.mark(6, "ipv6"), "mh", "mh-fallback", "mh-port"),
            [
                DestConfig("2001:db8:2::2", 0, route),
                DestConfig("2001:db8:2::3", 0, tun, Tunnel(TunnelType.GUE, 7000)),
            ],
        ),
        (svc(ServiceKey.mark(7), "rr", "persistent", persistence_timeout=360, netmask="255.255.0.0"), []),
        (svc(ServiceKey.mark(8), "wrr", "flag-1"), []),
    ]
