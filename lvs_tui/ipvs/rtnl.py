"""A host's links, addresses and routes over rtnetlink, with lvs-top's own netlink socket.

The doctor needs four small reads (RTM_GETLINK, RTM_GETADDR, the main table's default routes, and
one `ip route get` per real server). pyroute2 would do them too, but importing it loads some 160
modules: a quarter of a second on a director, fifteen in the emulated kernel lab. Everything is
read in the namespace the socket was opened in.
"""

from __future__ import annotations

import errno
import socket
import struct
from dataclasses import dataclass

from lvs_tui.ipvs import codec
from lvs_tui.ipvs.netlink import NetlinkError, RouteSocket

RTM_GETLINK = 18
RTM_GETADDR = 22
RTM_GETROUTE = 26
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINKINFO = 18
IFLA_INFO_KIND = 1
IFA_ADDRESS = 1
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_TABLE = 15
RT_TABLE_MAIN = 254
IFF_UP = 0x1

_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst len, src len, tos, table, protocol, scope, type, flags
_SIZES: dict[int, int] = {socket.AF_INET: 4, socket.AF_INET6: 16}
# Errors that mean "no route to it", as `ip route get` reports them.
NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EINVAL, errno.ESRCH, errno.ENETDOWN})


@dataclass(frozen=True, slots=True)
class Link:
    index: int
    name: str
    up: bool
    mtu: int
    kind: str | None  # "veth", "ipip", ...; None for a plain device


def links(sock: RouteSocket) -> list[Link]:
    out = []
    for body in sock.exchange(RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), dump=True):
        if len(body) < _IFINFOMSG.size:
            continue
        _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(body)
        attrs = codec.parse_attrs(body, _IFINFOMSG.size, len(body))
        kind = None
        info = attrs.get(IFLA_LINKINFO)
        if info is not None:
            kind = codec.get_string(body, codec.parse_attrs(body, *info), IFLA_INFO_KIND)
        name = codec.get_string(body, attrs, IFLA_IFNAME) or f"if{index}"
        out.append(Link(index, name, bool(flags & IFF_UP), codec.get_u32(body, attrs, IFLA_MTU), kind))
    return out


def addresses(sock: RouteSocket) -> list[tuple[int, str]]:
    """(interface index, `address/prefix length`) of every address."""
    out = []
    for body in sock.exchange(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), dump=True):
        if len(body) < _IFADDRMSG.size:
            continue
        family, prefix, _flags, _scope, index = _IFADDRMSG.unpack_from(body)
        attrs = codec.parse_attrs(body, _IFADDRMSG.size, len(body))
        address = _address(body, attrs.get(IFA_ADDRESS), family)
        if address is not None:
            out.append((index, f"{address}/{prefix}"))
    return out


def default_gateways(sock: RouteSocket) -> list[str]:
    """The gateways of the main table's default routes, IPv4 then IPv6."""
    out = []
    for family in (socket.AF_INET, socket.AF_INET6):
        request = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        for body in sock.exchange(RTM_GETROUTE, request, dump=True):
            if len(body) < _RTMSG.size:
                continue
            got_family, dst_len, _src, _tos, table, *_ = _RTMSG.unpack_from(body)
            attrs = codec.parse_attrs(body, _RTMSG.size, len(body))
            table = codec.get_u32(body, attrs, RTA_TABLE, table)  # tables above 255 only say it here
            gateway = _address(body, attrs.get(RTA_GATEWAY), got_family)
            if table == RT_TABLE_MAIN and dst_len == 0 and gateway is not None:
                out.append(gateway)
    return out


def route_to(sock: RouteSocket, address: str) -> tuple[str | None, int] | None:
    """How this host reaches `address`, as `ip route get` says: (its gateway, or None when directly
    connected; the outgoing interface's index), or None when there is no route."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    raw = socket.inet_pton(family, address)
    request = _RTMSG.pack(family, len(raw) * 8, 0, 0, 0, 0, 0, 0, 0) + codec.attr(RTA_DST, raw)
    try:
        replies = sock.exchange(RTM_GETROUTE, request, dump=False)
    except NetlinkError as error:
        if error.errno in NO_ROUTE:
            return None
        raise
    for body in replies:
        if len(body) < _RTMSG.size:
            continue
        attrs = codec.parse_attrs(body, _RTMSG.size, len(body))
        return _address(body, attrs.get(RTA_GATEWAY), family), codec.get_u32(body, attrs, RTA_OIF)
    return None


def _address(body: bytes, span: tuple[int, int] | None, family: int) -> str | None:
    size = _SIZES.get(family)
    if span is None or size is None or span[1] - span[0] < size:
        return None
    return socket.inet_ntop(family, body[span[0]:span[0] + size])
