"""Addresses with ports, host names and service ids: one strict reading for the health config, the
state file and the journal's targets (lvs_tui.model.inputs, and ServiceKey.parse over it)."""

from __future__ import annotations

import pytest

from lvs_tui.model.inputs import InputError, host_port, hostname
from lvs_tui.model.records import ServiceKey


@pytest.mark.parametrize(("text", "expected"), [
    ("192.0.2.1:80", ("192.0.2.1", 80)),
    (" [2001:DB8::1]:443 ", ("2001:db8::1", 443)),
    ("[::ffff:c000:201]:80", ("::ffff:192.0.2.1", 80)),  # the kernel's (inet_ntop's) form
    ("192.0.2.1:0", ("192.0.2.1", 0)),  # IPVS's "every port"
])
def test_an_address_and_port_in_the_kernels_form(text: str, expected: tuple[str, int]) -> None:
    assert host_port(text) == expected


@pytest.mark.parametrize("text", ["192.0.2.1", "2001:db8::1:80", "[192.0.2.1]:80", "[fe80::1%lo]:80",
                                  "fe80::1%lo:80", "192.0.2.1:65536", "192.0.2.1:-1", "192.0.2.1:+80",
                                  "192.0.2.1:\uff18\uff10", "[[::1]]:80", "[::1]]:80", "host.example:80",
                                  ":80", "192.0.2.1:80\x00"])
def test_anything_else_is_refused_in_one_clause(text: str) -> None:
    with pytest.raises(InputError, match=r"^the address must"):
        host_port(text)


def test_a_port_may_be_required() -> None:
    with pytest.raises(InputError, match="a port from 1 to 65535"):
        host_port("192.0.2.1:0", low_port=1)


@pytest.mark.parametrize("text", ["www.example.org", "xn--bcher-kva.example", "192.0.2.1", "a_b.example",
                                  "localhost"])
def test_host_names(text: str) -> None:
    assert hostname(text) == text


@pytest.mark.parametrize("text", ["a..b", ".example", "example.", "www.example.org\r\nX-Injected: 1",
                                  "bücher.example", "www.example.org:8080", "-a.example", "a" * 64,
                                  "", "[2001:db8::1]"])
def test_what_is_not_a_host_name(text: str) -> None:
    with pytest.raises(InputError, match="must be a host name"):
        hostname(text)


@pytest.mark.parametrize(("text", "why"), [
    ("fwm:0", "firewall mark must be a whole number from 1 to 4294967295"),
    ("fwm:-1", "firewall mark"),
    ("fwm:4294967296", "firewall mark"),
    ("fwm:١٢", "firewall mark"),
    ("tcp:[fe80::1%lo]:80", "without a scope"),
    ("tcp:10.0.0.1:99999", "a port from 0 to 65535"),
    ("fwm:7:ipv5", "not a family"),
    ("http:10.0.0.1:80", "not a protocol"),
])
def test_service_ids_are_read_strictly_and_say_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=r"is not a service: write tcp:192\.0\.2\.10:80") as caught:
        ServiceKey.parse(text)
    assert why in str(caught.value)


def test_fwmark_bounds_that_work() -> None:
    assert ServiceKey.parse("fwm:4294967295").fwmark == 0xFFFFFFFF
    assert ServiceKey.parse("fwm:1:ipv6").id == "fwm:1:ipv6"
