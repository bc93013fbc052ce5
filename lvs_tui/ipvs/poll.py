"""The poll's decoder: turns dump replies into records, reusing last poll's records for unchanged bytes.

The kernel refreshes counters and rates every 2 s (the estimator), and idle servers never change, so
most of a poll's messages are byte-for-byte what the previous poll saw. Looking the raw bytes up in
the previous poll's results skips decoding and record construction for those; a cache holds only
what the last poll saw, so it never grows beyond one table. Messages that did change (all of them on
a busy director, or in a fresh decoder) go through layout templates (see lvs_tui.ipvs.templates).
"""

from __future__ import annotations

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.templates import DestTemplates, ServiceTemplates, only_nest
from lvs_tui.model.records import Dest, Family, Service, ServiceKey


def service_request(key: ServiceKey) -> bytes:
    """The CMD_ATTR_SERVICE nest that names `key` (what GET_DEST and the service commands take)."""
    return codec.nest(c.CMD_ATTR_SERVICE, *codec.service_key_attrs(key))


def decode_service_reply(body: bytes) -> Service | None:
    span = only_nest(body, c.CMD_ATTR_SERVICE)
    return codec.decode_service(body, *span) if span else None


def decode_dest_replies(bodies: list[bytes], family: Family) -> tuple[Dest, ...]:
    out = []
    for body in bodies:
        span = only_nest(body, c.CMD_ATTR_DEST)
        if span:
            out.append(codec.decode_dest(body, span[0], span[1], family))
    return tuple(out)


def with_dests(service: Service, dests: tuple[Dest, ...]) -> Service:
    """`service` with `dests` (positional: dataclasses.replace costs several times as much)."""
    s = service
    return Service(s.key, s.scheduler, s.flags, s.raw_flags, s.persistence_timeout, s.netmask, s.pe,
                   s.stats, dests)


class PollDecoder:
    """Decodes one poll at a time; call `start()` before each poll."""

    def __init__(self) -> None:
        self._service_templates = ServiceTemplates()
        self._dest_templates = DestTemplates()
        self._services: dict[bytes, tuple[Service, bytes]] = {}
        self._dests: dict[bytes, Dest] = {}
        self._full: dict[tuple[bytes, ...], Service] = {}
        self._prev_services, self._prev_dests, self._prev_full = self._services, self._dests, self._full

    def start(self) -> None:
        self._prev_services, self._prev_dests, self._prev_full = self._services, self._dests, self._full
        self._services, self._dests, self._full = {}, {}, {}

    def service(self, body: bytes) -> tuple[Service, bytes] | None:
        """The service (without real servers) of one GET_SERVICE reply, and its GET_DEST request."""
        hit = self._prev_services.get(body)
        if hit is None:
            svc = self._service_templates.decode(body)
            if svc is None:
                return None
            hit = (svc, service_request(svc.key))
        self._services[body] = hit
        return hit

    def with_dests(self, body: bytes, service: Service, dest_bodies: list[bytes]) -> Service:
        """`service` with the real servers of its GET_DEST replies."""
        key = (body, *dest_bodies)
        full = self._prev_full.get(key)
        if full is None:
            full = with_dests(service, self._decode_dests(dest_bodies, service.key.family))
        elif len(full.dests) == len(dest_bodies):
            # keep the servers known by their bytes too, for when only some of them change next time
            self._dests.update(zip(dest_bodies, full.dests, strict=True))
        self._full[key] = full
        return full

    def _decode_dests(self, bodies: list[bytes], family: Family) -> tuple[Dest, ...]:
        prev, now, decode = self._prev_dests, self._dests, self._dest_templates.decode
        out = []
        for body in bodies:
            # keyed by bytes alone: kernels since 3.18 put the dest's own family in them
            dest = prev.get(body)
            if dest is None:
                dest = decode(body, family)
                if dest is None:
                    continue
            now[body] = dest
            out.append(dest)
        return tuple(out)
