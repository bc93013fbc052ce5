"""The layout fast path: what it decodes must equal the generic decoder's answer, message for message."""

from __future__ import annotations

import socket
import struct

import pytest

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.layout import DEST_FIELDS, compile_layout
from lvs_tui.ipvs.poll import PollDecoder
from lvs_tui.ipvs.templates import DestTemplates, ServiceTemplates
from lvs_tui.model.records import Dest, Family, Forward, Service, Stats
from tests.unit.test_kernel_codec import BIG, nla, stats32, stats64


def kernel_dest(ip: str, port: int, weight: int, *, fwd: int = 0, stats: list[int] = BIG,
                tunnel: bool = True, extra: bytes = b"") -> bytes:
    """A real server as Linux 6.1 lays it out (ip_vs_genl_fill_dest): order, sizes, both stats nests."""
    af = socket.AF_INET6 if ":" in ip else socket.AF_INET
    tun = nla(13, b"\1") + nla(14, struct.pack(">H", 6080)) + nla(15, struct.pack("=H", 1)) if tunnel else b""
    inner = b"".join([
        nla(1, socket.inet_pton(af, ip).ljust(16, b"\0")), nla(11, struct.pack("=H", af)),
        nla(2, struct.pack(">H", port)), nla(3, struct.pack("=I", fwd)), nla(4, struct.pack("=i", weight)),
        tun, *[nla(t, struct.pack("=I", 100 + t)) for t in (5, 6, 7, 8, 9)],
        nla(10 | 0x8000, stats32([v & 0xFFFFFFFF for v in stats])), extra,
        nla(12 | 0x8000, stats64(stats)),
    ])  # fmt: skip
    return nla(c.CMD_ATTR_DEST | 0x8000, inner)


def kernel_service(ip: str, port: int, sched: bytes, *, pe: bytes | None = None, fwmark: int = 0,
                   stats: list[int] = BIG) -> bytes:
    af = socket.AF_INET6 if ":" in ip else socket.AF_INET
    key = (nla(5, struct.pack("=I", fwmark)) if fwmark else
           nla(2, struct.pack("=H", 6)) + nla(3, socket.inet_pton(af, ip).ljust(16, b"\0"))
           + nla(4, struct.pack(">H", port)))
    inner = b"".join([
        nla(1, struct.pack("=H", af)), key, nla(6, sched + b"\0"), nla(11, pe + b"\0") if pe else b"",
        nla(7, struct.pack("=II", 0x3, 0)), nla(8, struct.pack("=I", 300)),
        nla(9, struct.pack("=I", 64 if af == socket.AF_INET6 else 0x00FFFFFF)),
        nla(10 | 0x8000, stats32([v & 0xFFFFFFFF for v in stats])), nla(12 | 0x8000, stats64(stats)),
    ])  # fmt: skip
    return nla(c.CMD_ATTR_SERVICE | 0x8000, inner)


def generic_dest(body: bytes, family: Family = Family.IPV4) -> Dest:
    return codec.decode_dest(body, 4, len(body), family)


def generic_service(body: bytes) -> Service:
    return codec.decode_service(body, 4, len(body))


def test_second_dest_of_a_shape_hits_the_template_and_equals_the_generic_decode() -> None:
    templates = DestTemplates()
    first = kernel_dest("10.0.0.1", 80, 1)
    assert templates.decode(first, Family.IPV4) == generic_dest(first)  # generic, then learnt
    assert templates.shapes.count == 1
    second = kernel_dest("10.9.8.7", 8080, -2, fwd=2, stats=[7] * 10)
    assert templates.shapes.match(second) is not None
    dest = templates.decode(second, Family.IPV4)
    assert dest == generic_dest(second)
    assert dest == Dest("10.9.8.7", 8080, Family.IPV4, Forward.TUNNEL, codec.decode_tunnel(1, 6080, 1), -2,
                        105, 106, 107, 108, 109, Stats(*[7] * 10))


def test_ipv6_dest_shares_the_ipv4_template_and_decodes_its_own_family() -> None:
    templates = DestTemplates()
    templates.decode(kernel_dest("10.0.0.1", 80, 1), Family.IPV4)
    body = kernel_dest("2001:db8::7", 443, 3)
    assert templates.shapes.match(body) is not None  # same length, same headers
    dest = templates.decode(body, Family.IPV4)
    assert dest == generic_dest(body)
    assert (dest.family, dest.address) == (Family.IPV6, "2001:db8::7")


def test_a_different_shape_misses_falls_back_and_is_learnt() -> None:
    templates = DestTemplates()
    templates.decode(kernel_dest("10.0.0.1", 80, 1), Family.IPV4)
    # a newer kernel's attribute (type 16) makes another length; unknown attributes are skipped
    odd = kernel_dest("10.0.0.2", 80, 1, extra=nla(16, b"\1\2\3\4"))
    assert templates.shapes.match(odd) is None
    assert templates.decode(odd, Family.IPV4) == generic_dest(odd)
    assert templates.shapes.count == 2
    assert templates.decode(odd, Family.IPV4) == generic_dest(odd)


def test_same_length_other_headers_is_a_miss() -> None:
    templates = DestTemplates()
    templates.decode(kernel_dest("10.0.0.1", 80, 1), Family.IPV4)
    body = bytearray(kernel_dest("10.0.0.2", 80, 1))
    struct.pack_into("=H", body, 4 + 2, 16)  # ADDR's type becomes an unknown 16: same length
    assert templates.shapes.match(bytes(body)) is None
    assert templates.decode(bytes(body), Family.IPV4) == generic_dest(bytes(body))


def test_old_kernel_without_tunnel_attrs_or_family_uses_defaults() -> None:
    templates = DestTemplates()
    inner = b"".join([nla(1, socket.inet_aton("10.0.0.3").ljust(16, b"\0")), nla(2, b"\0\x50"),
                      nla(3, struct.pack("=I", 2)), nla(4, struct.pack("=I", 5)),
                      nla(12 | 0x8000, stats64(BIG))])
    body = nla(c.CMD_ATTR_DEST | 0x8000, inner)
    for family in (Family.IPV4, Family.IPV4):  # learn, then hit
        assert templates.decode(body, family) == generic_dest(body, family)
    assert templates.shapes.match(body) is not None
    dest = templates.decode(body, Family.IPV4)
    assert dest is not None and dest.tunnel == codec.decode_tunnel(0, 0, 0) and dest.family is Family.IPV4


def test_only_32bit_stats_are_read_when_stats64_is_absent() -> None:
    templates = DestTemplates()
    inner = b"".join([nla(1, socket.inet_aton("10.0.0.3").ljust(16, b"\0")), nla(2, b"\0\x50"),
                      nla(10 | 0x8000, stats32([1, 2, 3, 2**40, 5, 6, 7, 8, 9, 10]))])
    body = nla(c.CMD_ATTR_DEST | 0x8000, inner)
    templates.decode(body, Family.IPV4)
    assert templates.shapes.match(body) is not None
    assert templates.decode(body, Family.IPV4) == generic_dest(body)


@pytest.mark.parametrize(
    "body",
    [
        nla(c.CMD_ATTR_DEST | 0x8000, nla(1, bytes(16)) + nla(1, bytes(16))
            + nla(12 | 0x8000, stats64(BIG))),  # a duplicate attribute
        nla(c.CMD_ATTR_DEST | 0x8000, nla(1, socket.inet_aton("10.0.0.1")) + nla(12 | 0x8000, stats64(BIG))),
        nla(c.CMD_ATTR_DEST | 0x8000, nla(1, bytes(16))),  # no stats
        nla(c.CMD_ATTR_DEST | 0x8000, nla(1, bytes(16)) + nla(12 | 0x8000, stats64(BIG[:9]))),
    ],
)  # fmt: skip
def test_unusual_messages_compile_to_no_template(body: bytes) -> None:
    assert compile_layout(body, c.CMD_ATTR_DEST, DEST_FIELDS, frozenset(), 12, 10) is None


@pytest.mark.parametrize(
    "bodies",
    [
        [kernel_service("10.0.0.1", 80, b"wrr"), kernel_service("10.0.0.2", 443, b"wrr", stats=[3] * 10)],
        [kernel_service("2001:db8::1", 80, b"rr"), kernel_service("2001:db8::2", 53, b"sh")],
        [kernel_service("10.0.0.1", 80, b"rr", pe=b"sip"),
         kernel_service("10.0.0.9", 5060, b"lc", pe=b"sip")],
        [kernel_service("", 0, b"wlc", fwmark=7), kernel_service("", 0, b"wlc", fwmark=8)],
        # same length, other header (scheduler-name length): two templates for one length
        [kernel_service("10.0.0.1", 80, b"rr"), kernel_service("10.0.0.2", 80, b"wrr"),
         kernel_service("10.0.0.3", 80, b"rr"), kernel_service("10.0.0.4", 80, b"wrr")],
    ],
)  # fmt: skip
def test_services_through_templates_equal_the_generic_decode(bodies: list[bytes]) -> None:
    templates = ServiceTemplates()
    for body in bodies + bodies:
        assert templates.decode(body) == generic_service(body)
    assert all(templates.shapes.match(body) is not None for body in bodies)


def test_a_fresh_decoder_and_a_warm_one_agree() -> None:
    bodies = [kernel_dest(f"10.1.{i}.1", 80 + i, i) for i in range(5)]
    service = generic_service(kernel_service("10.0.0.1", 80, b"wrr"))
    svc_body = kernel_service("10.0.0.1", 80, b"wrr")
    cold = PollDecoder()
    cold.start()
    first = cold.with_dests(svc_body, service, bodies)
    assert first.dests == tuple(generic_dest(b) for b in bodies)
    assert (first.key, first.scheduler, first.stats, first.netmask) == (
        service.key, service.scheduler, service.stats, service.netmask)
