"""The kernel backend without a kernel: hand-built netlink buffers, a fake transport, errno mapping."""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import (
    InvalidArgument,
    IpvsError,
    IpvsUnavailable,
    ObjectBusy,
    ObjectExists,
    ObjectNotFound,
    PermissionDenied,
    SchedulerMissing,
)
from lvs_tui.ipvs.kernel import KernelBackend
from lvs_tui.ipvs.netlink import GenlSocket, NetlinkError
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Family,
    Forward,
    Protocol,
    Service,
    ServiceKey,
    Stats,
    Timeouts,
    Tunnel,
    TunnelType,
)

# --- hand-built attributes (independent of codec's encoder) --------------------------------------


def nla(atype: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), atype) + payload + b"\0" * (-len(payload) % 4)


def stats64(values: list[int]) -> bytes:
    return b"".join(nla(i, struct.pack("=Q", v)) for i, v in enumerate(values, 1))


def stats32(values: list[int]) -> bytes:
    # conns/inpkts/outpkts u32, in/out bytes u64, rates u32: the kernel's IPVS_*_ATTR_STATS layout
    fmts = ["=I", "=I", "=I", "=Q", "=Q", "=I", "=I", "=I", "=I", "=I"]
    return b"".join(nla(i, struct.pack(f, v)) for i, (f, v) in enumerate(zip(fmts, values, strict=True), 1))


BIG = [2**40 + 1, 2**33, 7, 2**50, 123456789012, 5, 6, 7, 8000000000, 9]


def svc_v4_body() -> bytes:
    inner = b"".join(
        [
            nla(1, struct.pack("=H", socket.AF_INET)),
            nla(2, struct.pack("=H", 6)),
            nla(3, socket.inet_aton("10.0.0.1") + b"\0" * 12),
            nla(4, b"\x00\x50"),  # port 80, big-endian
            nla(6, b"sh\0"),
            nla(7, struct.pack("=II", 0x1 | 0x2 | 0x8 | 0x10, 0xFFFFFFFF)),
            nla(8, struct.pack("=I", 300)),
            nla(9, b"\xff\xff\xff\x00"),  # 255.255.255.0 in network order
            nla(10 | 0x8000, stats32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
            nla(12 | 0x8000, stats64(BIG)),
        ]
    )
    return nla(c.CMD_ATTR_SERVICE | 0x8000, inner)


def dest_body(
    addr: bytes, af: int, port: int, fwd: int, extra: bytes = b"", stats: bytes | None = None
) -> bytes:
    inner = b"".join(
        [
            nla(1, addr.ljust(16, b"\0")),
            nla(2, struct.pack(">H", port)),
            nla(3, struct.pack("=I", fwd)),
            nla(4, struct.pack("=I", 3)),
            nla(5, struct.pack("=I", 100)),
            nla(6, struct.pack("=I", 10)),
            nla(7, struct.pack("=I", 11)),
            nla(8, struct.pack("=I", 12)),
            nla(9, struct.pack("=I", 13)),
            extra,
            nla(12 | 0x8000, stats if stats is not None else stats64(BIG)),
            nla(11, struct.pack("=H", af)),
        ]
    )
    return nla(c.CMD_ATTR_DEST | 0x8000, inner)


def tunnel_attrs(tun_type: int, port: int, flags: int) -> bytes:
    return nla(13, bytes([tun_type])) + nla(14, struct.pack(">H", port)) + nla(15, struct.pack("=H", flags))


def decode_svc(body: bytes) -> Service:
    span = codec.parse_attrs(body, 0, len(body))[c.CMD_ATTR_SERVICE]
    return codec.decode_service(body, *span)


def decode_dest(body: bytes, family: Family = Family.IPV4) -> Dest:
    span = codec.parse_attrs(body, 0, len(body))[c.CMD_ATTR_DEST]
    return codec.decode_dest(body, span[0], span[1], family)


# --- decoding ------------------------------------------------------------------------------------


def test_decode_ipv4_service_prefers_stats64_and_decodes_flags_and_netmask() -> None:
    svc = decode_svc(svc_v4_body())
    assert svc.key == ServiceKey.inet("tcp", "10.0.0.1", 80)
    assert svc.scheduler == "sh"
    assert svc.flags == ("persistent", "sh-fallback", "sh-port")
    assert svc.raw_flags == 0x1B
    assert svc.persistence_timeout == 300
    assert svc.netmask == "255.255.255.0"
    assert svc.pe is None
    assert svc.stats == Stats(*BIG)


def test_decode_ipv6_service_netmask_is_a_prefix_length_and_pe() -> None:
    inner = b"".join(
        [
            nla(1, struct.pack("=H", socket.AF_INET6)),
            nla(2, struct.pack("=H", 17)),
            nla(3, socket.inet_pton(socket.AF_INET6, "2001:db8::1")),
            nla(4, struct.pack(">H", 5060)),
            nla(6, b"rr\0"),
            nla(7, struct.pack("=II", 0x3, 0xFFFFFFFF)),
            nla(9, struct.pack("=I", 64)),
            nla(11, b"sip\0"),
        ]
    )
    svc = decode_svc(nla(c.CMD_ATTR_SERVICE | 0x8000, inner))
    assert svc.key == ServiceKey(Family.IPV6, Protocol.UDP, "2001:db8::1", 5060)
    assert svc.key.id == "udp:[2001:db8::1]:5060"
    assert svc.netmask == "64"
    assert svc.pe == "sip"
    assert svc.flags == ("persistent",)  # HASHED is never shown


def test_decode_fwmark_service_and_32bit_stats_fallback() -> None:
    inner = b"".join(
        [
            nla(1, struct.pack("=H", socket.AF_INET6)),
            nla(5, struct.pack("=I", 42)),
            nla(6, b"wlc\0"),
            nla(10 | 0x8000, stats32([1, 2, 3, 2**40, 5, 6, 7, 8, 9, 10])),
        ]
    )
    svc = decode_svc(nla(c.CMD_ATTR_SERVICE | 0x8000, inner))
    assert svc.key == ServiceKey.mark(42, "ipv6")
    assert svc.key.protocol is None
    assert svc.stats == Stats(1, 2, 3, 2**40, 5, 6, 7, 8, 9, 10)


def test_stats64_with_pad_attributes_takes_the_generic_path() -> None:
    # architectures without efficient unaligned access insert IPVS_STATS_ATTR_PAD (11) attributes
    payload = (
        nla(11, b"")
        + stats64(BIG[:5])
        + nla(11, b"")
        + stats64([0] * 5)[0:0]
        + b"".join(nla(i, struct.pack("=Q", v)) for i, v in enumerate(BIG[5:], 6))
    )
    assert codec.decode_stats(payload, 0, len(payload)) == Stats(*BIG)


def test_decode_masq_dest_with_conns_thresholds_and_stats() -> None:
    dest = decode_dest(dest_body(socket.inet_aton("192.168.1.2"), socket.AF_INET, 8080, 0))
    assert dest == Dest(
        "192.168.1.2", 8080, Family.IPV4, Forward.MASQ, None, 3, 100, 10, 11, 12, 13, Stats(*BIG)
    )


@pytest.mark.parametrize(
    ("tun_type", "port", "flags", "expected"),
    [
        (0, 0, 0, Tunnel(TunnelType.IPIP, 0, ())),
        (1, 6080, 1, Tunnel(TunnelType.GUE, 6080, ("csum",))),
        (1, 7000, 2, Tunnel(TunnelType.GUE, 7000, ("remcsum",))),
        (2, 0, 0, Tunnel(TunnelType.GRE, 0, ("nocsum",))),
    ],
)
def test_decode_tunnel_dest(tun_type: int, port: int, flags: int, expected: Tunnel) -> None:
    body = dest_body(socket.inet_aton("10.1.1.1"), socket.AF_INET, 80, 2, tunnel_attrs(tun_type, port, flags))
    dest = decode_dest(body)
    assert dest.forward is Forward.TUNNEL
    assert dest.tunnel == expected


def test_tunnel_attrs_are_ignored_unless_forwarding_is_tunnel() -> None:
    body = dest_body(socket.inet_aton("10.1.1.1"), socket.AF_INET, 80, 3, tunnel_attrs(1, 6080, 1))
    dest = decode_dest(body)
    assert dest.forward is Forward.ROUTE and dest.tunnel is None


def test_decode_ipv6_dest_in_ipv4_service_uses_the_dest_family() -> None:
    body = dest_body(socket.inet_pton(socket.AF_INET6, "2001:db8::7"), socket.AF_INET6, 443, 2)
    dest = decode_dest(body, Family.IPV4)
    assert dest.family is Family.IPV6 and dest.address == "2001:db8::7"


@pytest.mark.parametrize(
    "service",
    [
        Service(ServiceKey.inet("tcp", "10.0.0.1", 80), "wrr", raw_flags=0x4, netmask="255.255.0.0"),
        Service(
            ServiceKey.inet("sctp", "2001:db8::1", 3868),
            "mh",
            raw_flags=0x19,
            persistence_timeout=60,
            netmask="48",
            pe="sip",
        ),
        Service(ServiceKey.mark(9, "ipv6"), "lc", netmask="128"),
    ],
)
def test_service_encode_decode_round_trip(service: Service) -> None:
    decoded = decode_svc(codec.encode_service(service))
    assert decoded.key == service.key
    assert (
        decoded.scheduler,
        decoded.raw_flags,
        decoded.persistence_timeout,
        decoded.netmask,
        decoded.pe,
    ) == (service.scheduler, service.raw_flags, service.persistence_timeout, service.netmask, service.pe)


def test_encoded_service_sends_port_big_endian_and_full_flag_mask() -> None:
    body = codec.encode_service(Service(ServiceKey.inet("tcp", "10.0.0.1", 443), "rr", raw_flags=0x3))
    inner = codec.parse_attrs(body, 4, len(body))
    start, end = inner[c.SVC_ATTR_PORT]
    assert body[start : start + 2] == b"\x01\xbb"
    start, _ = inner[c.SVC_ATTR_FLAGS]
    assert struct.unpack_from("=II", body, start) == (0x1, 0xFFFFFFFF)  # HASHED is the kernel's to set
    start, end = inner[c.SVC_ATTR_ADDR]
    assert body[start:end] == socket.inet_aton("10.0.0.1") + b"\0" * 12


@pytest.mark.parametrize(
    "dest",
    [
        Dest("10.0.0.2", 80, Family.IPV4, Forward.MASQ, None, 0, 50, 5),
        Dest("2001:db8::2", 0, Family.IPV6, Forward.ROUTE, None, 7),
        Dest("10.0.0.3", 80, Family.IPV4, Forward.TUNNEL, Tunnel(TunnelType.GUE, 6080, ("remcsum",)), 2),
        Dest("10.0.0.4", 80, Family.IPV4, Forward.TUNNEL, Tunnel(TunnelType.GRE, 0, ("csum",)), 1),
    ],
)
def test_dest_encode_decode_round_trip(dest: Dest) -> None:
    assert decode_dest(codec.encode_dest(dest), Family.IPV4) == dest


def test_version_string() -> None:
    assert codec.version_string(0x010201) == "1.2.1"


# --- a fake kernel -------------------------------------------------------------------------------


class FakeTransport:
    """Answers GET_* from canned bodies and records every request; `fail` maps a command to an errno."""

    def __init__(
        self,
        services: dict[ServiceKey, tuple[bytes, list[bytes]]] | None = None,
        fail: dict[int, int] | None = None,
    ) -> None:
        self.services = services or {}
        self.fail = fail or {}
        self.sent: list[tuple[int, bytes, bool]] = []

    def request(self, cmd: int, attrs: bytes = b"", *, dump: bool = False) -> list[bytes]:
        self.sent.append((cmd, attrs, dump))
        if cmd in self.fail:
            raise NetlinkError(self.fail[cmd])
        if cmd == c.CMD_GET_INFO:
            return [nla(1, struct.pack("=I", 0x010201)) + nla(2, struct.pack("=I", 4096))]
        if cmd == c.CMD_GET_CONFIG:
            return [
                nla(4, struct.pack("=I", 900))
                + nla(5, struct.pack("=I", 120))
                + nla(6, struct.pack("=I", 300))
            ]
        if cmd == c.CMD_GET_SERVICE and dump:
            return [body for body, _ in self.services.values()]
        if cmd in (c.CMD_GET_SERVICE, c.CMD_GET_DEST):
            key = decode_svc(attrs).key
            if key not in self.services:
                raise NetlinkError(errno.ESRCH)
            body, dests = self.services[key]
            return dests if cmd == c.CMD_GET_DEST else [body]
        return []

    def writes(self) -> list[tuple[int, bytes]]:
        return [(cmd, attrs) for cmd, attrs, _ in self.sent if cmd not in (c.CMD_GET_SERVICE, c.CMD_GET_DEST)]

    def close(self) -> None:
        pass


KEY = ServiceKey.inet("tcp", "10.0.0.1", 80)


def fake_table() -> FakeTransport:
    gue = tunnel_attrs(1, 6080, 1)
    dests = [
        dest_body(socket.inet_aton("192.168.1.2"), socket.AF_INET, 8080, 0),
        dest_body(socket.inet_aton("192.168.1.3"), socket.AF_INET, 80, 2, gue),
    ]
    return FakeTransport({KEY: (svc_v4_body(), dests)})


def sent_dest(attrs: bytes) -> Dest:
    return decode_dest(attrs[len(codec.nest(c.CMD_ATTR_SERVICE, *codec.service_key_attrs(KEY))) :])


def test_snapshot_reads_info_services_and_dests() -> None:
    snap = KernelBackend(transport=fake_table()).snapshot()
    assert (snap.info.version, snap.info.conn_table_size) == ("1.2.1", 4096)
    svc = snap.service(KEY)
    assert svc is not None
    assert [d.key.id for d in svc.dests] == ["192.168.1.2:8080", "192.168.1.3:80"]
    assert svc.dests[1].tunnel == Tunnel(TunnelType.GUE, 6080, ("csum",))


def test_snapshot_leaves_out_a_service_deleted_between_the_dumps() -> None:
    fake = fake_table()
    gone = ServiceKey.inet("udp", "10.9.9.9", 53)
    body = codec.encode_service(Service(gone, "rr"))
    fake.services[gone] = (body, [])
    real_request = fake.request

    def request(cmd: int, attrs: bytes = b"", *, dump: bool = False) -> list[bytes]:
        if cmd == c.CMD_GET_DEST and decode_svc(attrs).key == gone:
            raise NetlinkError(errno.ESRCH)
        return real_request(cmd, attrs, dump=dump)

    fake.request = request  # type: ignore[method-assign]
    snap = KernelBackend(transport=fake).snapshot()
    assert [s.key for s in snap.services] == [KEY]


def test_timeouts() -> None:
    assert KernelBackend(transport=fake_table()).timeouts() == Timeouts(900, 120, 300)


def test_edit_dest_weight_only_resends_every_other_field_unchanged() -> None:
    fake = fake_table()
    KernelBackend(transport=fake).edit_dest(KEY, DestKey("192.168.1.3", 80), DestEdit(weight=0))
    [(cmd, attrs)] = fake.writes()
    assert cmd == c.CMD_SET_DEST
    sent = sent_dest(attrs)
    assert (sent.address, sent.port, sent.forward, sent.weight) == ("192.168.1.3", 80, Forward.TUNNEL, 0)
    assert (sent.upper_threshold, sent.lower_threshold) == (100, 10)
    assert sent.tunnel == Tunnel(TunnelType.GUE, 6080, ("csum",))


def test_edit_dest_leaving_tunnel_mode_drops_tunnel_settings() -> None:
    fake = fake_table()
    KernelBackend(transport=fake).edit_dest(KEY, DestKey("192.168.1.3", 80), DestEdit(forward=Forward.ROUTE))
    sent = sent_dest(fake.writes()[0][1])
    assert sent.forward is Forward.ROUTE and sent.weight == 3 and sent.tunnel is None


def test_edit_dest_of_a_missing_server_names_it() -> None:
    with pytest.raises(ObjectNotFound, match=r"real server 192\.168\.1\.9:80 does not exist in service tcp:"):
        KernelBackend(transport=fake_table()).edit_dest(KEY, DestKey("192.168.1.9", 80), DestEdit(weight=1))


def test_edit_service_scheduler_only_keeps_flags_timeout_netmask() -> None:
    fake = fake_table()
    KernelBackend(transport=fake).edit_service(KEY, ServiceEdit(scheduler="mh"))
    [(cmd, attrs)] = fake.writes()
    assert cmd == c.CMD_SET_SERVICE
    sent = decode_svc(attrs)
    assert sent.scheduler == "mh"
    assert sent.flags == ("persistent", "mh-fallback", "mh-port")  # same bits, named for mh
    assert (sent.persistence_timeout, sent.netmask) == (300, "255.255.255.0")


def test_edit_service_flags_replace_only_writable_bits() -> None:
    fake = fake_table()
    KernelBackend(transport=fake).edit_service(KEY, ServiceEdit(flags=("sh-port",), netmask="16"))
    sent = decode_svc(fake.writes()[0][1])
    assert sent.raw_flags & 0x3F == 0x10
    assert sent.netmask == "255.255.0.0"
    assert sent.persistence_timeout == 300


def test_add_service_not_persistent_sends_timeout_zero_and_host_mask() -> None:
    fake = FakeTransport()
    KernelBackend(transport=fake).add_service(ServiceConfig(ServiceKey.inet("udp", "2001:db8::1", 53), "rr"))
    sent = decode_svc(fake.writes()[0][1])
    assert (sent.persistence_timeout, sent.netmask, sent.raw_flags) == (0, "128", 0)


# --- errors --------------------------------------------------------------------------------------


def test_errno_mapping_names_the_object() -> None:
    dest = DestConfig("10.0.0.2", 80)
    with pytest.raises(ObjectExists) as exc:
        KernelBackend(transport=FakeTransport(fail={c.CMD_NEW_DEST: errno.EEXIST})).add_dest(KEY, dest)
    assert str(exc.value) == "real server 10.0.0.2:80 already exists in service tcp:10.0.0.1:80."
    with pytest.raises(ObjectExists, match=r"^service tcp:10\.0\.0\.1:80 already exists\.$"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_NEW_SERVICE: errno.EEXIST})).add_service(
            ServiceConfig(KEY)
        )
    with pytest.raises(SchedulerMissing, match="modprobe ip_vs_foo"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_NEW_SERVICE: errno.ENOENT})).add_service(
            ServiceConfig(KEY, "foo")
        )
    with pytest.raises(ObjectNotFound, match=r"^service tcp:10\.0\.0\.1:80 does not exist\.$"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_DEL_SERVICE: errno.ESRCH})).delete_service(KEY)
    with pytest.raises(ObjectNotFound, match=r"real server 10\.0\.0\.2:80 does not exist"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_DEL_DEST: errno.ENOENT})).delete_dest(
            KEY, DestKey("10.0.0.2", 80)
        )
    with pytest.raises(PermissionDenied, match="run lvs-top as root"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_GET_SERVICE: errno.EPERM})).snapshot()
    with pytest.raises(ObjectBusy):
        KernelBackend(transport=FakeTransport(fail={c.CMD_ZERO: errno.EBUSY})).zero()
    with pytest.raises(InvalidArgument, match="EINVAL"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_SET_CONFIG: errno.EINVAL})).set_timeouts(
            Timeouts(1, 0, 0)
        )
    with pytest.raises(IpvsError, match="No buffer space"):
        KernelBackend(transport=FakeTransport(fail={c.CMD_GET_INFO: errno.ENOBUFS})).snapshot()


def test_an_ipv4_real_server_the_kernel_refuses_says_what_the_kernel_checks() -> None:
    backend = KernelBackend(transport=FakeTransport(fail={c.CMD_NEW_DEST: errno.EINVAL}))
    with pytest.raises(InvalidArgument) as refused:
        backend.add_dest(KEY, DestConfig("10.20.1.2", 80))
    assert str(refused.value) == (
        "could not add real server 10.20.1.2:80 to service tcp:10.0.0.1:80: the kernel refused it (EINVAL): "
        "an IPv4 real server must be a unicast or local address, and the director's network namespace needs "
        "an IPv4 address of its own (`ip link set lo up` gives it 127.0.0.1).")
    v6 = ServiceKey.inet("tcp", "2001:db8::1", 80)
    with pytest.raises(InvalidArgument, match=r"rejected the settings as invalid \(EINVAL\)"):
        backend.add_dest(v6, DestConfig("2001:db8::2", 80))  # IPv6 has no such rule in the kernel


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (DestConfig("2001:db8::2", 80), "needs tunnel forwarding"),
        (DestConfig("10.0.0.2", 80, weight=-1), "weight"),
        (DestConfig("10.0.0.2", 80, upper_threshold=5, lower_threshold=6), "lower threshold"),
        (DestConfig("10.0.0.2", 70000), "port"),
        (DestConfig("10.0.0.2", 80, Forward.TUNNEL, Tunnel(TunnelType.GUE, 0)), "gue tunnel needs a port"),
        (DestConfig("10.0.0.2", 80, Forward.ROUTE, Tunnel(TunnelType.GRE)), "need tunnel forwarding"),
        (DestConfig("not-an-ip", 80), "not an IP address"),
    ],
)
def test_invalid_dest_is_rejected_before_sending(config: DestConfig, message: str) -> None:
    fake = FakeTransport()
    with pytest.raises(InvalidArgument, match=message) as exc:
        KernelBackend(transport=fake).add_dest(KEY, config)
    assert "service tcp:10.0.0.1:80" in str(exc.value)
    assert fake.sent == []


def test_mixed_family_is_allowed_with_tunnel_forwarding() -> None:
    fake = FakeTransport()
    KernelBackend(transport=fake).add_dest(KEY, DestConfig("2001:db8::2", 80, Forward.TUNNEL))
    assert sent_dest(fake.writes()[0][1]).family is Family.IPV6


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ServiceConfig(KEY, "wrr", flags=("sh-port",)), "does not apply to scheduler"),
        (ServiceConfig(ServiceKey.mark(0), "wrr"), "firewall mark"),
        (ServiceConfig(KEY, "w r r"), "not a scheduler name"),
        (ServiceConfig(KEY, "rr", netmask="255.0.255.0"), "not an IPv4 netmask"),
        (ServiceConfig(ServiceKey.inet("tcp", "10.0.0.1", 0), "rr"), "port 0"),
    ],
)
def test_invalid_service_is_rejected_before_sending(config: ServiceConfig, message: str) -> None:
    fake = FakeTransport()
    with pytest.raises(InvalidArgument, match=message):
        KernelBackend(transport=fake).add_service(config)
    assert fake.sent == []


def test_set_timeouts_sends_only_the_nonzero_ones() -> None:
    fake = FakeTransport()
    KernelBackend(transport=fake).set_timeouts(Timeouts(0, 0, 45))
    [(cmd, attrs)] = fake.writes()
    assert cmd == c.CMD_SET_CONFIG
    assert attrs == nla(c.CMD_ATTR_TIMEOUT_UDP, struct.pack("=I", 45))


# --- the socket's reply loop ---------------------------------------------------------------------


class FakeSocket:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def recv_into(self, buf: bytearray) -> int:
        chunk = self.chunks.pop(0)
        buf[: len(chunk)] = chunk
        return len(chunk)


def nlmsg(msg_type: int, seq: int, payload: bytes) -> bytes:
    padding = b"\0" * (-len(payload) % 4)
    return struct.pack("=IHHII", 16 + len(payload), msg_type, 2, seq, 0) + payload + padding


def reply_socket(chunks: list[bytes]) -> GenlSocket:
    sock = GenlSocket.__new__(GenlSocket)
    sock._buf = bytearray(1 << 16)
    sock._skip = 4  # the generic netlink header
    sock._sock = FakeSocket(chunks)  # type: ignore[assignment]
    return sock


def test_collect_handles_multipart_stale_messages_done_and_errors() -> None:
    genl = b"\x04\x01\0\0"
    chunks = [
        nlmsg(0x20, 6, genl + b"stale") + nlmsg(0x20, 7, genl + nla(1, b"a")),
        nlmsg(0x20, 7, genl + nla(1, b"b")) + nlmsg(c.NLMSG_DONE, 7, struct.pack("=i", 0)),
    ]
    assert reply_socket(chunks)._collect(7) == [nla(1, b"a"), nla(1, b"b")]
    error = [nlmsg(c.NLMSG_ERROR, 3, struct.pack("=i", -errno.EEXIST) + b"\0" * 16)]
    with pytest.raises(NetlinkError) as exc:
        reply_socket(error)._collect(3)
    assert exc.value.errno == errno.EEXIST


def test_repeated_polls_reuse_records_for_unchanged_bytes_only() -> None:
    fake = fake_table()
    backend = KernelBackend(transport=fake)
    first = backend.snapshot().services[0]
    second = backend.snapshot().services[0]
    assert second is first  # nothing changed: the same records, nothing decoded
    body, dests = fake.services[KEY]
    changed = dest_body(socket.inet_aton("192.168.1.2"), socket.AF_INET, 8080, 0, stats=stats64([9] * 10))
    fake.services[KEY] = (body, [changed, dests[1]])
    third = backend.snapshot().services[0]
    assert third is not second
    assert third.dests[0].stats == Stats(*[9] * 10)
    assert third.dests[1] is first.dests[1]  # the untouched server is reused
    assert third.stats == first.stats


def test_ipvs_unloaded_after_opening_reads_as_unavailable() -> None:
    # The kernel answers ENOENT for a family id it no longer has (ip_vs removed under us).
    backend = KernelBackend(transport=FakeTransport(fail={c.CMD_GET_INFO: errno.ENOENT}))
    with pytest.raises(IpvsUnavailable, match="modprobe ip_vs"):
        backend.snapshot()


def test_a_small_table_polled_in_tiers_reads_proc_once_not_at_every_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lvs_tui.ipvs.procfs import ProcReader

    reads: list[int] = []

    def counted(self: ProcReader) -> dict[object, object]:
        reads.append(1)
        return {}

    monkeypatch.setattr(ProcReader, "read", counted)
    backend = KernelBackend(transport=fake_table())
    for _ in range(3):
        snap = backend.snapshot({KEY})
        assert [d.key.id for d in snap.services[0].dests] == ["192.168.1.2:8080", "192.168.1.3:80"]
        assert snap.dests_read_at == {}  # read whole: two real servers are far below tiers
    assert len(reads) == 1  # the first poll, before the table's size is known
