"""Real servers and services through layout templates, with the generic codec as the fallback.

`DestTemplates.decode` and `ServiceTemplates.decode` return exactly what `codec.decode_dest` and
`codec.decode_service` return for the same reply body (the unit tests hold them to it); they are
only faster once a message of the same shape has been decoded. One instance lives as long as its
poll decoder, so a fresh decoder learns the shapes again from its first messages.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.layout import (
    DEST_FIELDS,
    SERVICE_FIELDS,
    SERVICE_STRINGS,
    Layout,
    Values,
    Wanted,
    compile_layout,
)
from lvs_tui.model.records import Dest, Family, Service, Stats

_MAX_SHAPES = 8  # per message length (services differ by scheduler-name length); beyond: generic

# What make_dest / make_service take before the stats: (attribute, value offset, default if absent).
# A port comes as two bytes, high then low (see layout.DEST_FIELDS).
_DEST_ARGS: Wanted = (
    (c.DEST_ATTR_ADDR, 0, None), (c.DEST_ATTR_PORT, 0, 0), (c.DEST_ATTR_PORT, 1, 0),
    (c.DEST_ATTR_FWD_METHOD, 0, 0), (c.DEST_ATTR_WEIGHT, 0, 0),
    (c.DEST_ATTR_U_THRESH, 0, 0), (c.DEST_ATTR_L_THRESH, 0, 0),
    (c.DEST_ATTR_ACTIVE_CONNS, 0, 0), (c.DEST_ATTR_INACT_CONNS, 0, 0), (c.DEST_ATTR_PERSIST_CONNS, 0, 0),
    (c.DEST_ATTR_ADDR_FAMILY, 0, 0),
    (c.DEST_ATTR_TUN_TYPE, 0, 0), (c.DEST_ATTR_TUN_PORT, 0, 0), (c.DEST_ATTR_TUN_PORT, 1, 0),
    (c.DEST_ATTR_TUN_FLAGS, 0, 0),
)  # fmt: skip
_SERVICE_ARGS: Wanted = (
    (c.SVC_ATTR_AF, 0, 0), (c.SVC_ATTR_PROTOCOL, 0, 0), (c.SVC_ATTR_ADDR, 0, None),
    (c.SVC_ATTR_PORT, 0, 0), (c.SVC_ATTR_PORT, 1, 0), (c.SVC_ATTR_FWMARK, 0, 0),
    (c.SVC_ATTR_SCHED_NAME, 0, None), (c.SVC_ATTR_FLAGS, 0, 0), (c.SVC_ATTR_TIMEOUT, 0, 0),
    (c.SVC_ATTR_NETMASK, 0, None), (c.SVC_ATTR_PE_NAME, 0, None),
)  # fmt: skip


class Compiled:
    """A layout plus the getters that pick a record's arguments and its counters from the values."""

    __slots__ = ("args", "layout", "stats")

    def __init__(self, layout: Layout, wanted: Wanted) -> None:
        self.layout = layout
        self.args = layout.getter(wanted)
        self.stats: Callable[[Values], Values] = itemgetter(*layout.stats)


class Shapes:
    """Compiled layouts by message length, learnt from messages the generic decoder has handled."""

    def __init__(self, compile_one: Callable[[bytes], Compiled | None]) -> None:
        self._compile = compile_one
        self._by_length: dict[int, list[Compiled]] = {}
        self._tries: dict[int, int] = {}

    def match(self, body: bytes) -> tuple[Compiled, Values] | None:
        for compiled in self._by_length.get(len(body), ()):
            values = compiled.layout.unpack(body)
            if values is not None:
                return compiled, values
        return None

    def learn(self, body: bytes) -> None:
        """Compile `body`'s shape; a bounded number of tries per length, so odd messages stay generic."""
        tries = self._tries.get(len(body), 0)
        if tries < _MAX_SHAPES:
            self._tries[len(body)] = tries + 1
            compiled = self._compile(body)
            if compiled is not None:
                self._by_length.setdefault(len(body), []).append(compiled)

    @property
    def count(self) -> int:
        return sum(len(shapes) for shapes in self._by_length.values())


def _compile_dest(body: bytes) -> Compiled | None:
    layout = compile_layout(body, c.CMD_ATTR_DEST, DEST_FIELDS, frozenset(), c.DEST_ATTR_STATS64,
                            c.DEST_ATTR_STATS)
    if layout is None or c.DEST_ATTR_ADDR not in layout.index:
        return None
    return Compiled(layout, _DEST_ARGS)


def _compile_service(body: bytes) -> Compiled | None:
    layout = compile_layout(body, c.CMD_ATTR_SERVICE, SERVICE_FIELDS, SERVICE_STRINGS,
                            c.SVC_ATTR_STATS64, c.SVC_ATTR_STATS)
    return Compiled(layout, _SERVICE_ARGS) if layout is not None else None


class DestTemplates:
    """Decodes GET_DEST reply bodies (the attribute area: one CMD_ATTR_DEST nest)."""

    def __init__(self) -> None:
        self.shapes = Shapes(_compile_dest)

    def decode(self, body: bytes, service_family: Family) -> Dest | None:
        hit = self.shapes.match(body)
        if hit is not None:
            compiled, v = hit
            addr, p_hi, p_lo, fwd, weight, upper, lower, act, inact, pers, af, tt, tp_hi, tp_lo, tf = (
                compiled.args(v))
            return codec.make_dest(addr, p_hi << 8 | p_lo, fwd, weight, upper, lower, act, inact, pers,
                                   af, tt, tp_hi << 8 | tp_lo, tf, Stats._make(compiled.stats(v)),
                                   service_family)
        span = only_nest(body, c.CMD_ATTR_DEST)
        if span is None:
            return None
        dest = codec.decode_dest(body, span[0], span[1], service_family)
        self.shapes.learn(body)
        return dest


class ServiceTemplates:
    """Decodes GET_SERVICE reply bodies (the attribute area: one CMD_ATTR_SERVICE nest)."""

    def __init__(self) -> None:
        self.shapes = Shapes(_compile_service)

    def decode(self, body: bytes) -> Service | None:
        hit = self.shapes.match(body)
        if hit is not None:
            compiled, v = hit
            af, proto, addr, p_hi, p_lo, fwmark, sched, flags, timeout, netmask, pe = compiled.args(v)
            return codec.make_service(af, proto, addr, p_hi << 8 | p_lo, fwmark, sched, flags, timeout,
                                      netmask, pe, Stats._make(compiled.stats(v)))
        span = only_nest(body, c.CMD_ATTR_SERVICE)
        if span is None:
            return None
        service = codec.decode_service(body, span[0], span[1])
        self.shapes.learn(body)
        return service


def only_nest(body: bytes, atype: int) -> tuple[int, int] | None:
    """The payload span of `atype` in a reply; fast when it is the only attribute (the normal case)."""
    if len(body) >= 4:
        length, first = codec.NLA.unpack_from(body, 0)
        if first & c.NLA_TYPE_MASK == atype and 4 <= length <= len(body):
            return 4, length
    return codec.parse_attrs(body, 0, len(body)).get(atype)
