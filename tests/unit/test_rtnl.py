"""The doctor's rtnetlink reader against this machine's own kernel, checked field by field against
iproute2 (`ip -j`): links, addresses, default gateways, and the route to an address."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from typing import Any

import pytest

from lvs_tui.doctor.host import read_director, read_host
from lvs_tui.ipvs import rtnl
from lvs_tui.ipvs.netlink import NetlinkError, RouteSocket

pytestmark = pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2's ip is not installed")


def ip(*args: str) -> Any:
    return json.loads(subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout)


def test_links_and_addresses_are_what_ip_lists() -> None:
    host = read_host()
    listed = {link["ifname"]: link for link in ip("addr", "show")}
    assert {i.name for i in host.interfaces} == set(listed)
    for interface in host.interfaces:
        link = listed[interface.name]
        assert interface.up == ("UP" in link["flags"]) and interface.mtu == link["mtu"]
        wanted = [f"{address['local']}/{address['prefixlen']}" for address in link["addr_info"]]
        assert sorted(interface.addresses) == sorted(wanted)


def test_the_default_gateways_are_the_main_tables() -> None:
    routes = [route for family in ("-4", "-6") for route in ip(family, "route", "show", "table", "main")]
    wanted = [route["gateway"] for route in routes if route["dst"] == "default" and "gateway" in route]
    assert list(read_host().default_gateways) == wanted


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "192.0.2.77", "2001:db8::77"])
def test_the_route_to_an_address_is_what_ip_route_get_says(address: str) -> None:
    got = subprocess.run(["ip", "-j", "route", "get", address], capture_output=True, text=True, check=False)
    director = read_director([address])
    route = director.route(address)
    if got.returncode != 0:  # no route here: unreachable
        assert route is None
        return
    (wanted,) = json.loads(got.stdout)
    assert route is not None and route.interface == wanted["dev"] and route.gateway == wanted.get("gateway")


class Refusing(RouteSocket):
    def __init__(self, error: int) -> None:
        self.error = error

    def exchange(self, msg_type: int, payload: bytes, *, dump: bool) -> list[bytes]:
        raise NetlinkError(self.error)


def test_no_route_is_none_and_any_other_refusal_is_said() -> None:
    for unreachable in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        assert rtnl.route_to(Refusing(unreachable), "192.0.2.1") is None
    with pytest.raises(NetlinkError):
        rtnl.route_to(Refusing(errno.EPERM), "192.0.2.1")
