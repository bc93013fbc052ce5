import pytest

from lvs_tui.model.format import bits, forward_label, human, service_label, service_options
from lvs_tui.model.records import Dest, Family, Forward, Service, ServiceKey, Tunnel, TunnelType


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (0.5, "0.5"),
        (7.25, "7.2"),
        (12, "12"),
        (999, "999"),
        (1000, "1.0K"),
        (1234567, "1.2M"),
        (25e9, "25G"),
    ],
)
def test_human_units(value: float, text: str) -> None:
    assert human(value) == text


def test_exact_gives_the_integer() -> None:
    assert human(1234567.4, exact=True) == "1234567"


def test_bits_are_eight_per_byte() -> None:
    assert bits(125_000) == "1.0Mb"


def test_service_label_and_options_read_like_ipvsadm() -> None:
    https = Service(
        ServiceKey.inet("tcp", "192.0.2.1", 443),
        "wlc",
        flags=("persistent",),
        persistence_timeout=600,
        netmask="255.255.255.0",
    )
    assert service_label(https) == "TCP  192.0.2.1:443"
    assert service_options(https) == "wlc persistent 600 mask 255.255.255.0"
    dns = Service(ServiceKey.mark(7, "ipv6"), "sh", flags=("sh-fallback", "sh-port"))
    assert service_label(dns) == "FWM  7 IPv6"
    assert service_options(dns) == "sh (sh-fallback,sh-port)"


def test_forward_label_names_non_ipip_tunnels() -> None:
    gue = Dest("198.51.100.1", 80, Family.IPV4, Forward.TUNNEL, Tunnel(TunnelType.GUE, 6080))
    ipip = Dest("198.51.100.2", 80, Family.IPV4, Forward.TUNNEL, Tunnel())
    assert forward_label(gue) == "Tunnel(gue:6080)"
    assert forward_label(ipip) == "Tunnel"
