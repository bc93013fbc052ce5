"""A lean encoder/decoder for IPVS generic-netlink attributes: pure bytes in, records out.

The dump path (one message per service, one per real server) is what a poll costs, so decoding walks
the raw buffer with precompiled `struct.Struct`s and never builds intermediate objects per attribute.
Byte order follows the kernel: ports (and the tunnel port) are big-endian, everything else is native;
the IPv4 netmask is a mask in network order, the IPv6 one a prefix length.
"""

from __future__ import annotations

import socket
import struct

from lvs_tui.ipvs import constants as c
from lvs_tui.model import flags as service_flags
from lvs_tui.model.records import (
    ZERO_STATS,
    Dest,
    Family,
    Forward,
    Protocol,
    Service,
    ServiceKey,
    Stats,
    SyncDaemon,
    Tunnel,
    TunnelType,
)

NLA = struct.Struct("=HH")  # nlattr: len, type
_U8 = struct.Struct("=B")
_U16 = struct.Struct("=H")
_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
_BE16 = struct.Struct(">H")
_FLAGS = struct.Struct("=II")
# STATS64 as the kernel lays it out on 64-bit hosts: ten u64 attributes 1..10, no padding attributes.
_STATS64_FAST = struct.Struct("=" + "HHQ" * 10)
_STATS64_TYPES = tuple(range(1, 11))
_STATS64_LEN = tuple([12] * 10)

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
_FAMILY_OF_AF: dict[int, Family] = {AF_INET: Family.IPV4, AF_INET6: Family.IPV6}
_AF_OF_FAMILY: dict[Family, int] = {Family.IPV4: AF_INET, Family.IPV6: AF_INET6}
_PROTO_OF_NUM = {6: Protocol.TCP, 17: Protocol.UDP, 132: Protocol.SCTP}
_NUM_OF_PROTO = {proto: num for num, proto in _PROTO_OF_NUM.items()}
FORWARD_OF_NUM = {
    c.FWD_MASQ: Forward.MASQ,
    c.FWD_LOCALNODE: Forward.LOCAL,
    c.FWD_TUNNEL: Forward.TUNNEL,
    c.FWD_DROUTE: Forward.ROUTE,
    c.FWD_BYPASS: Forward.BYPASS,
}
NUM_OF_FORWARD = {fwd: num for num, fwd in FORWARD_OF_NUM.items()}
TUNNEL_OF_NUM = {c.TUNNEL_TYPE_IPIP: TunnelType.IPIP, c.TUNNEL_TYPE_GUE: TunnelType.GUE,
                 c.TUNNEL_TYPE_GRE: TunnelType.GRE}
NUM_OF_TUNNEL = {tun: num for num, tun in TUNNEL_OF_NUM.items()}
TUNNEL_FLAG_BITS = (("csum", c.TUNNEL_FLAG_CSUM), ("remcsum", c.TUNNEL_FLAG_REMCSUM))

Buffer = bytes | bytearray | memoryview  # collections.abc.Buffer is 3.12+
Attrs = dict[int, tuple[int, int]]  # attribute type -> (payload start, payload end) in the buffer


# --- encoding ------------------------------------------------------------------------------------

def attr(atype: int, payload: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return NLA.pack(length, atype) + payload + b"\0" * (-length % 4)


def nest(atype: int, *parts: bytes) -> bytes:
    return attr(atype | c.NLA_F_NESTED, b"".join(parts))


def u8(atype: int, value: int) -> bytes:
    return attr(atype, _U8.pack(value))


def u16(atype: int, value: int) -> bytes:
    return attr(atype, _U16.pack(value))


def u32(atype: int, value: int) -> bytes:
    return attr(atype, _U32.pack(value))


def u64(atype: int, value: int) -> bytes:
    return attr(atype, _U64.pack(value))


def be16(atype: int, value: int) -> bytes:
    return attr(atype, _BE16.pack(value))


def string(atype: int, value: str) -> bytes:
    return attr(atype, value.encode() + b"\0")


def address(atype: int, family: Family, text: str) -> bytes:
    """The kernel's `union nf_inet_addr`: 16 bytes, IPv4 in the first 4."""
    raw = socket.inet_pton(_AF_OF_FAMILY[family], text)
    return attr(atype, raw.ljust(16, b"\0"))


def af_of(family: Family) -> int:
    return _AF_OF_FAMILY[family]


def netmask_to_u32(family: Family, netmask: str) -> int:
    """ipvsadm's notation to the kernel's u32 (the caller has validated `netmask`)."""
    if family is Family.IPV6:
        return int(netmask)
    return int(_U32.unpack(socket.inet_aton(netmask))[0])


def netmask_of_u32(family: Family, value: int) -> str:
    if family is Family.IPV6:
        return str(value)
    return socket.inet_ntoa(_U32.pack(value))


def service_key_attrs(key: ServiceKey) -> list[bytes]:
    """The attributes that identify a service (what every service or dest command starts with)."""
    parts = [u16(c.SVC_ATTR_AF, _AF_OF_FAMILY[key.family])]
    if key.fwmark is not None:
        parts.append(u32(c.SVC_ATTR_FWMARK, key.fwmark))
    else:
        assert key.protocol is not None
        parts += [
            u16(c.SVC_ATTR_PROTOCOL, _NUM_OF_PROTO[key.protocol]),
            address(c.SVC_ATTR_ADDR, key.family, key.address),
            be16(c.SVC_ATTR_PORT, key.port),
        ]
    return parts


def encode_service(service: Service) -> bytes:
    """A full CMD_ATTR_SERVICE for NEW_SERVICE/SET_SERVICE: key, scheduler, flags, timeout, netmask, pe.

    The flags mask is all ones: the kernel then takes our flags as they are (and adds HASHED itself).
    """
    parts = service_key_attrs(service.key)
    parts += [
        string(c.SVC_ATTR_SCHED_NAME, service.scheduler),
        attr(c.SVC_ATTR_FLAGS, _FLAGS.pack(service.raw_flags & ~service_flags.HASHED, 0xFFFFFFFF)),
        u32(c.SVC_ATTR_TIMEOUT, service.persistence_timeout),
        u32(c.SVC_ATTR_NETMASK, netmask_to_u32(service.key.family, service.netmask)),
    ]
    if service.pe:
        parts.append(string(c.SVC_ATTR_PE_NAME, service.pe))
    return nest(c.CMD_ATTR_SERVICE, *parts)


def tunnel_flags_to_u16(names: tuple[str, ...]) -> int:
    bits = dict(TUNNEL_FLAG_BITS)
    return sum(bits.get(name, 0) for name in set(names))


def dest_key_attrs(dest: Dest) -> list[bytes]:
    return [
        address(c.DEST_ATTR_ADDR, dest.family, dest.address),
        be16(c.DEST_ATTR_PORT, dest.port),
        u16(c.DEST_ATTR_ADDR_FAMILY, _AF_OF_FAMILY[dest.family]),
    ]


def encode_dest(dest: Dest) -> bytes:
    """A full CMD_ATTR_DEST for NEW_DEST/SET_DEST (the kernel needs all of these every time)."""
    parts = dest_key_attrs(dest)
    parts += [
        u32(c.DEST_ATTR_FWD_METHOD, NUM_OF_FORWARD[dest.forward]),
        u32(c.DEST_ATTR_WEIGHT, dest.weight),
        u32(c.DEST_ATTR_U_THRESH, dest.upper_threshold),
        u32(c.DEST_ATTR_L_THRESH, dest.lower_threshold),
    ]
    if dest.forward is Forward.TUNNEL:
        tunnel = dest.tunnel or Tunnel()
        parts += [
            u8(c.DEST_ATTR_TUN_TYPE, NUM_OF_TUNNEL[tunnel.type]),
            be16(c.DEST_ATTR_TUN_PORT, tunnel.port),
            u16(c.DEST_ATTR_TUN_FLAGS, tunnel_flags_to_u16(tunnel.flags)),
        ]
    return nest(c.CMD_ATTR_DEST, *parts)


# --- decoding ------------------------------------------------------------------------------------

def parse_attrs(buf: Buffer, start: int, end: int) -> Attrs:
    """Attribute type -> (payload start, payload end); a later duplicate wins."""
    out: Attrs = {}
    unpack = NLA.unpack_from
    while start + 4 <= end:
        length, atype = unpack(buf, start)
        if length < 4:
            break  # malformed: stop rather than loop forever
        out[atype & c.NLA_TYPE_MASK] = (start + 4, start + length)
        start += (length + 3) & ~3
    return out


def get_u32(buf: Buffer, attrs: Attrs, atype: int, default: int = 0) -> int:
    span = attrs.get(atype)
    return int(_U32.unpack_from(buf, span[0])[0]) if span else default


def get_u16(buf: Buffer, attrs: Attrs, atype: int, default: int = 0) -> int:
    span = attrs.get(atype)
    return int(_U16.unpack_from(buf, span[0])[0]) if span else default


def get_be16(buf: Buffer, attrs: Attrs, atype: int) -> int:
    span = attrs.get(atype)
    return int(_BE16.unpack_from(buf, span[0])[0]) if span else 0


def get_string(buf: Buffer, attrs: Attrs, atype: int) -> str | None:
    span = attrs.get(atype)
    if span is None:
        return None
    raw = bytes(memoryview(buf)[span[0]:span[1]])
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def get_address(buf: Buffer, attrs: Attrs, atype: int, family: Family) -> str:
    span = attrs.get(atype)
    if span is None:
        return "::" if family is Family.IPV6 else "0.0.0.0"
    size = 16 if family is Family.IPV6 else 4
    return socket.inet_ntop(_AF_OF_FAMILY[family], bytes(memoryview(buf)[span[0]:span[0] + size]))


def decode_stats(buf: Buffer, start: int, end: int) -> Stats:
    """STATS64 (all u64) or the 32-bit STATS (bytes u64, the rest u32): width from the attribute length."""
    if end - start == _STATS64_FAST.size:
        v = _STATS64_FAST.unpack_from(buf, start)
        if v[1::3] == _STATS64_TYPES and v[0::3] == _STATS64_LEN:
            return Stats(*v[2::3])
    values = [0] * 11
    unpack = NLA.unpack_from
    while start + 4 <= end:
        length, atype = unpack(buf, start)
        if length < 4:
            break
        if 1 <= atype <= 10:
            fmt = _U64 if length >= 12 else _U32
            values[atype] = fmt.unpack_from(buf, start + 4)[0]
        start += (length + 3) & ~3
    return Stats(*values[1:])


def decode_service(buf: Buffer, start: int, end: int) -> Service:
    """The payload of a CMD_ATTR_SERVICE (a nest of SVC_ATTR_*) as a record without dests."""
    a = parse_attrs(buf, start, end)
    span = a.get(c.SVC_ATTR_ADDR)
    span_flags = a.get(c.SVC_ATTR_FLAGS)
    span_stats = a.get(c.SVC_ATTR_STATS64) or a.get(c.SVC_ATTR_STATS)  # STATS64 since Linux 4.1
    netmask = a.get(c.SVC_ATTR_NETMASK)
    return make_service(
        get_u16(buf, a, c.SVC_ATTR_AF),
        get_u16(buf, a, c.SVC_ATTR_PROTOCOL),
        bytes(memoryview(buf)[span[0]:span[0] + 16]) if span else None,
        get_be16(buf, a, c.SVC_ATTR_PORT),
        get_u32(buf, a, c.SVC_ATTR_FWMARK),
        _raw(buf, a.get(c.SVC_ATTR_SCHED_NAME)),
        int(_FLAGS.unpack_from(buf, span_flags[0])[0]) if span_flags else 0,
        get_u32(buf, a, c.SVC_ATTR_TIMEOUT),
        int(_U32.unpack_from(buf, netmask[0])[0]) if netmask else None,
        _raw(buf, a.get(c.SVC_ATTR_PE_NAME)),
        decode_stats(buf, *span_stats) if span_stats else ZERO_STATS,
    )


def _raw(buf: Buffer, span: tuple[int, int] | None) -> bytes | None:
    return bytes(memoryview(buf)[span[0]:span[1]]) if span else None


def _text(raw: bytes | None) -> str | None:
    return raw.split(b"\0", 1)[0].decode(errors="replace") if raw is not None else None


_flag_names: dict[tuple[int, str], tuple[str, ...]] = {}  # few distinct (flags, scheduler) pairs
_netmasks: dict[tuple[Family, int], str] = {}


def make_service(af: int, proto: int, raw_addr: bytes | None, port: int, fwmark: int,
                 raw_sched: bytes | None, raw_flags: int, timeout: int, netmask: int | None,
                 raw_pe: bytes | None, stats: Stats) -> Service:
    """A service record from its attribute values (None or 0 where absent); shared by both decoders."""
    family = _FAMILY_OF_AF.get(af, Family.IPV4)
    if fwmark:
        key = ServiceKey.mark(fwmark, family)
    else:
        key = ServiceKey(family, _PROTO_OF_NUM.get(proto, Protocol.TCP), _address(raw_addr, family), port)
    scheduler = _text(raw_sched) or ""
    names = _flag_names.get((raw_flags, scheduler))
    if names is None:
        names = _flag_names[raw_flags, scheduler] = service_flags.decode(raw_flags, scheduler)
    if netmask is None:
        netmask = 128 if family is Family.IPV6 else 0xFFFFFFFF
    mask = _netmasks.get((family, netmask))
    if mask is None:
        mask = _netmasks[family, netmask] = netmask_of_u32(family, netmask)
    return Service(key, scheduler, names, raw_flags, timeout, mask, _text(raw_pe) or None, stats)


def decode_tunnel(tun_type: int, port: int, raw_flags: int) -> Tunnel:
    kind = TUNNEL_OF_NUM.get(tun_type, TunnelType.IPIP)
    if kind is TunnelType.IPIP:
        return Tunnel(kind, port, ())  # ipip has no port and no checksum options
    names = tuple(name for name, bit in TUNNEL_FLAG_BITS if raw_flags & bit)
    return Tunnel(kind, port, names or ("nocsum",))


def decode_dest(buf: Buffer, start: int, end: int, service_family: Family) -> Dest:
    """The payload of a CMD_ATTR_DEST; kernels before 3.18 send no ADDR_FAMILY (= the service's).

    One pass over the attributes, without a dict. (Polls mostly take the layout fast path, see
    lvs_tui.ipvs.layout; this is the reference it must agree with.)
    """
    v = [0] * 16  # scalar attribute values by type (DEST_ATTR_* are 1..15)
    addr = -1
    stats64: tuple[int, int] | None = None
    stats32: tuple[int, int] | None = None
    unpack, u32, u16, b16 = NLA.unpack_from, _U32.unpack_from, _U16.unpack_from, _BE16.unpack_from
    while start + 4 <= end:
        length, atype = unpack(buf, start)
        if length < 4:
            break
        atype &= c.NLA_TYPE_MASK
        at = start + 4
        if atype >= 16:
            pass  # a newer kernel's attribute
        elif length == 8:
            v[atype] = u32(buf, at)[0]
        elif atype == c.DEST_ATTR_ADDR:
            addr = at
        elif atype == c.DEST_ATTR_PORT or atype == c.DEST_ATTR_TUN_PORT:
            v[atype] = b16(buf, at)[0]
        elif atype == c.DEST_ATTR_ADDR_FAMILY or atype == c.DEST_ATTR_TUN_FLAGS:
            v[atype] = u16(buf, at)[0]
        elif atype == c.DEST_ATTR_TUN_TYPE:
            v[atype] = _U8.unpack_from(buf, at)[0]
        elif atype == c.DEST_ATTR_STATS64:
            stats64 = (at, start + length)
        elif atype == c.DEST_ATTR_STATS:
            stats32 = (at, start + length)
        start += (length + 3) & ~3
    span = stats64 or stats32  # STATS64 since Linux 4.1
    return make_dest(
        bytes(memoryview(buf)[addr:addr + 16]) if addr >= 0 else None,
        v[c.DEST_ATTR_PORT],
        v[c.DEST_ATTR_FWD_METHOD],
        v[c.DEST_ATTR_WEIGHT],
        v[c.DEST_ATTR_U_THRESH],
        v[c.DEST_ATTR_L_THRESH],
        v[c.DEST_ATTR_ACTIVE_CONNS],
        v[c.DEST_ATTR_INACT_CONNS],
        v[c.DEST_ATTR_PERSIST_CONNS],
        v[c.DEST_ATTR_ADDR_FAMILY],
        v[c.DEST_ATTR_TUN_TYPE],
        v[c.DEST_ATTR_TUN_PORT],
        v[c.DEST_ATTR_TUN_FLAGS],
        decode_stats(buf, span[0], span[1]) if span else ZERO_STATS,
        service_family,
    )


def _address(raw: bytes | None, family: Family) -> str:
    """The text of a 16-byte address attribute (an IPv4 address fills its first 4 bytes)."""
    if raw is None:
        return "::" if family is Family.IPV6 else "0.0.0.0"
    if family is Family.IPV6:
        return socket.inet_ntop(AF_INET6, raw)
    return socket.inet_ntop(AF_INET, raw[:4])


def make_dest(raw_addr: bytes | None, port: int, fwd: int, weight: int, upper: int, lower: int,
              active: int, inactive: int, persistent: int, af: int, tun_type: int, tun_port: int,
              tun_flags: int, stats: Stats, service_family: Family) -> Dest:
    """A real-server record from its attribute values (None or 0 where absent); shared by both decoders."""
    family = _FAMILY_OF_AF.get(af, service_family)
    address = _address(raw_addr, family)
    forward = FORWARD_OF_NUM.get(fwd & c.FWD_MASK, Forward.MASQ)
    tunnel = decode_tunnel(tun_type, tun_port, tun_flags) if forward is Forward.TUNNEL else None
    return Dest(
        address,
        port,
        family,
        forward,
        tunnel,
        weight - (1 << 32) if weight & 0x80000000 else weight,  # an int in the kernel
        upper,
        lower,
        active,
        inactive,
        persistent,
        stats,
    )


def decode_daemon(buf: Buffer, start: int, end: int) -> SyncDaemon:
    a = parse_attrs(buf, start, end)
    state = get_u32(buf, a, c.DAEMON_ATTR_STATE)
    name = {c.DAEMON_STATE_MASTER: "master", c.DAEMON_STATE_BACKUP: "backup"}.get(state, str(state))
    return SyncDaemon(name, get_string(buf, a, c.DAEMON_ATTR_MCAST_IFN) or "",
                      get_u32(buf, a, c.DAEMON_ATTR_SYNC_ID))


def version_string(raw: int) -> str:
    """0x010201 -> "1.2.1", as ipvsadm prints it."""
    return f"{(raw >> 16) & 0xFF}.{(raw >> 8) & 0xFF}.{raw & 0xFF}"
