"""Layout templates: decode a whole dump message with one `struct` call once its shape is known.

A given kernel emits every real server (and every service of one shape) with the same attributes in
the same order and sizes. After one message has been decoded generically, `compile_layout` records
its shape as a single `struct.Struct` that reads every attribute header and every payload field the
decoder needs. A later message of the same length is unpacked in one call; its headers (read as one
u32 each) must equal the template's, compared as one tuple, or the caller falls back to the generic
decoder. Matching headers at matching offsets mean the generic walk would find the same attributes at
the same places, so the fast path decodes exactly what the generic one would.

Anything unusual (a known attribute of an unexpected size, a duplicate, a malformed header, missing
stats) compiles to no template: those messages always take the generic path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c

Values = tuple[Any, ...]
Wanted = tuple[tuple[int, int, Any], ...]  # (attribute type, value offset within it, default if absent)

# The scalar attributes the decoders read: exact payload size, struct code, number of values. Ports
# are big-endian while the rest is native, so a port is read as two bytes ("BB": high, low).
DEST_FIELDS: Mapping[int, tuple[int, str, int]] = {
    c.DEST_ATTR_ADDR: (16, "16s", 1),
    c.DEST_ATTR_PORT: (2, "BB", 2),
    c.DEST_ATTR_FWD_METHOD: (4, "I", 1),
    c.DEST_ATTR_WEIGHT: (4, "I", 1),
    c.DEST_ATTR_U_THRESH: (4, "I", 1),
    c.DEST_ATTR_L_THRESH: (4, "I", 1),
    c.DEST_ATTR_ACTIVE_CONNS: (4, "I", 1),
    c.DEST_ATTR_INACT_CONNS: (4, "I", 1),
    c.DEST_ATTR_PERSIST_CONNS: (4, "I", 1),
    c.DEST_ATTR_ADDR_FAMILY: (2, "H", 1),
    c.DEST_ATTR_TUN_TYPE: (1, "B", 1),
    c.DEST_ATTR_TUN_PORT: (2, "BB", 2),
    c.DEST_ATTR_TUN_FLAGS: (2, "H", 1),
}
SERVICE_FIELDS: Mapping[int, tuple[int, str, int]] = {
    c.SVC_ATTR_AF: (2, "H", 1),
    c.SVC_ATTR_PROTOCOL: (2, "H", 1),
    c.SVC_ATTR_ADDR: (16, "16s", 1),
    c.SVC_ATTR_PORT: (2, "BB", 2),
    c.SVC_ATTR_FWMARK: (4, "I", 1),
    c.SVC_ATTR_FLAGS: (8, "I4x", 1),  # flags, then the mask (always 0 in a reply)
    c.SVC_ATTR_TIMEOUT: (4, "I", 1),
    c.SVC_ATTR_NETMASK: (4, "I", 1),
}
SERVICE_STRINGS = frozenset({c.SVC_ATTR_SCHED_NAME, c.SVC_ATTR_PE_NAME})  # any size: "Ns"

_STAT_TYPES = range(1, 11)  # STATS_ATTR_CONNS .. STATS_ATTR_OUTBPS
_STAT_CODES = {4: "I", 8: "Q"}  # by payload size: the 32-bit STATS nest mixes u32 and u64; STATS64 is all u64


@dataclass(frozen=True, slots=True)
class Layout:
    """One compiled message shape.

    `index[t]` is where attribute t's first value lands in the unpacked tuple (absent attributes
    have no entry); `stats` are the ten counters' positions, in Stats order.
    """

    struct: struct.Struct
    headers: Callable[[Values], Values]  # the unpacked attribute headers
    expected: Values  # ... as they must read for a message of this shape
    index: Mapping[int, int]
    stats: tuple[int, ...]
    count: int  # values per message

    def getter(self, wanted: Wanted) -> Callable[[Values], Values]:
        """A function picking the `wanted` values (at least two) out of an unpacked message.

        An itemgetter; when some attribute is absent (older kernels send no tunnel attributes), over
        the values with the defaults appended.
        """
        spots: list[int] = []
        defaults: list[Any] = []
        for atype, k, default in wanted:
            at = self.index.get(atype)
            if at is None:
                spots.append(self.count + len(defaults))
                defaults.append(default)
            else:
                spots.append(at + k)
        pick = itemgetter(*spots)
        if not defaults:
            return pick
        extra = tuple(defaults)
        return lambda values: pick(values + extra)

    def unpack(self, body: codec.Buffer) -> Values | None:
        """Every field of a message of this shape, or None if `body` has another shape."""
        if len(body) != self.struct.size:
            return None
        values = self.struct.unpack_from(body)
        return values if self.headers(values) == self.expected else None


class _Builder:
    """Accumulates a struct format and the position of each value it will unpack."""

    def __init__(self) -> None:
        self.codes: list[str] = ["="]
        self.count = 0
        self.size = 0
        self.headers: list[int] = []

    def header(self) -> None:
        self.headers.append(self.count)
        self.add("I", 1, 4)  # nla_len and nla_type as one u32: only ever compared

    def add(self, code: str, values: int, size: int) -> int:
        self.codes.append(code)
        self.count += values
        self.size += size
        return self.count - values

    def skip(self, size: int) -> None:
        if size > 0:
            self.codes.append(f"{size}x")
            self.size += size


def _walk(buf: codec.Buffer, start: int, end: int) -> list[tuple[int, int, int]] | None:
    """(offset, nla_len, nla_type) of each attribute in [start, end); None if malformed or a type repeats.

    Types keep their flag bits (NLA_F_NESTED): callers mask them where the generic decoder does.
    """
    out: list[tuple[int, int, int]] = []
    seen: set[int] = set()
    while start < end:
        if end - start < 4:
            return None
        length, atype = codec.NLA.unpack_from(buf, start)
        if length < 4 or start + length > end or atype & c.NLA_TYPE_MASK in seen:
            return None
        seen.add(atype & c.NLA_TYPE_MASK)
        out.append((start, length, atype))
        start += (length + 3) & ~3
    return out


def _padded(length: int) -> int:
    return (length + 3) & ~3


def compile_layout(
    body: codec.Buffer,
    outer: int,
    fields: Mapping[int, tuple[int, str, int]],
    strings: frozenset[int],
    stats64: int,
    stats32: int,
) -> Layout | None:
    """The template of `body`: one `outer` nest holding the attributes `fields`/`strings` name."""
    top = _walk(body, 0, len(body))
    if top is None or len(top) != 1:
        return None
    _, outer_length, outer_type = top[0]
    if outer_type & c.NLA_TYPE_MASK != outer or _padded(outer_length) != len(body):
        return None
    nested = _walk(body, 4, outer_length)
    if nested is None:
        return None
    attrs = [(offset, length, atype & c.NLA_TYPE_MASK) for offset, length, atype in nested]
    present = {atype for _, _, atype in attrs}
    stats_type = stats64 if stats64 in present else stats32
    if stats_type not in present:
        return None
    b = _Builder()
    b.header()  # the outer nest
    index: dict[int, int] = {}
    stats: tuple[int, ...] = ()
    for offset, length, atype in attrs:
        b.header()
        size = length - 4
        if atype in fields:
            want, code, values = fields[atype]
            if size != want:
                return None  # not what the generic decoder expects either: let it decide
            index[atype] = b.add(code, values, size)
        elif atype in strings:
            index[atype] = b.add(f"{size}s", 1, size)
        elif atype == stats_type:
            found = _compile_stats(body, offset + 4, offset + length, b)
            if found is None:
                return None
            stats = found
        else:
            b.skip(size)  # an attribute the decoder does not read (a newer kernel's, the other stats)
        b.skip(_padded(length) - length)
    if b.size != len(body):
        return None
    compiled = struct.Struct("".join(b.codes))
    if compiled.size != len(body):
        return None  # cannot happen if the codes match their sizes; cheap insurance
    headers = itemgetter(*b.headers)
    return Layout(compiled, headers, headers(compiled.unpack_from(body)), index, stats, b.count)


def _compile_stats(body: codec.Buffer, start: int, end: int, b: _Builder) -> tuple[int, ...] | None:
    """The ten counters of a stats nest; None unless each appears once as a u32 or u64.

    Types are not masked here: codec.decode_stats does not mask them either.
    """
    attrs = _walk(body, start, end)
    if attrs is None:
        return None
    where: dict[int, int] = {}
    for _, length, atype in attrs:
        b.header()
        code = _STAT_CODES.get(length - 4)
        if atype in _STAT_TYPES and code is not None:
            where[atype] = b.add(code, 1, length - 4)
        else:
            b.skip(length - 4)  # IPVS_STATS_ATTR_PAD and the like
        b.skip(_padded(length) - length)
    if len(where) != len(_STAT_TYPES):
        return None
    return tuple(where[t] for t in _STAT_TYPES)
