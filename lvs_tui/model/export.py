"""The JSON form of a snapshot: lvs-top's scripting interface (`--batch --json`).

Keep it stable: scripts depend on it. Add keys, never rename or remove them; bump SCHEMA when a
change could break a reader.
"""

from __future__ import annotations

from typing import Any

from lvs_tui.model import flags
from lvs_tui.model.rates import Rates, SnapshotRates
from lvs_tui.model.records import (
    Dest,
    Family,
    Forward,
    Info,
    Protocol,
    Service,
    ServiceKey,
    Snapshot,
    Stats,
    SyncDaemon,
    Tunnel,
    TunnelType,
)

SCHEMA = 1

JsonObject = dict[str, Any]


def stats_json(stats: Stats) -> JsonObject:
    return {
        "conns": stats.conns,
        "inpkts": stats.inpkts,
        "outpkts": stats.outpkts,
        "inbytes": stats.inbytes,
        "outbytes": stats.outbytes,
        "cps": stats.cps,
        "inpps": stats.inpps,
        "outpps": stats.outpps,
        "inbps": stats.inbps,
        "outbps": stats.outbps,
    }


def rates_json(rates: Rates | None) -> JsonObject | None:
    if rates is None:
        return None
    return {
        "cps": rates.cps,
        "inpps": rates.inpps,
        "outpps": rates.outpps,
        "inbps": rates.inbps,
        "outbps": rates.outbps,
    }


def tunnel_json(tunnel: Tunnel | None) -> JsonObject | None:
    return None if tunnel is None else {"type": tunnel.type.value, "port": tunnel.port,
                                        "flags": list(tunnel.flags)}


def dest_json(dest: Dest, client_rates: Rates | None = None) -> JsonObject:
    return {
        "address": dest.address,
        "port": dest.port,
        "family": dest.family.value,
        "forward": dest.forward.value,
        "tunnel": tunnel_json(dest.tunnel),
        "weight": dest.weight,
        "upper_threshold": dest.upper_threshold,
        "lower_threshold": dest.lower_threshold,
        "active_conns": dest.active_conns,
        "inactive_conns": dest.inactive_conns,
        "persistent_conns": dest.persistent_conns,
        "stats": stats_json(dest.stats),
        "client_rates": rates_json(client_rates),
    }


def service_json(service: Service, rates: SnapshotRates | None = None) -> JsonObject:
    key = service.key
    return {
        "id": key.id,
        "protocol": None if key.protocol is None else key.protocol.value,
        "fwmark": key.fwmark,
        "family": key.family.value,
        "address": key.address,
        "port": key.port,
        "scheduler": service.scheduler,
        "flags": list(service.flags),
        "persistence_timeout": service.persistence_timeout,
        "netmask": service.netmask,
        "pe": service.pe,
        "stats": stats_json(service.stats),
        "client_rates": None if rates is None else rates_json(rates.services.get(key)),
        "dests": [
            dest_json(dest, None if rates is None else rates.dests.get((key, dest.key)))
            for dest in service.dests
        ],
    }


def snapshot_json(snapshot: Snapshot, rates: SnapshotRates | None = None, source: str = "") -> JsonObject:
    """One snapshot as a JSON-ready dict; `rates` are client-side rates since the previous one.

    `client_rates` is null on the first snapshot, for objects new since the previous one, and
    for an interval in which the object's counters were reset.
    """
    return {
        "schema": SCHEMA,
        "time": snapshot.time,
        "source": source,
        "info": {"version": snapshot.info.version, "conn_table_size": snapshot.info.conn_table_size},
        "interval": None if rates is None else rates.seconds,
        "services": [service_json(service, rates) for service in snapshot.services],
    }


def daemon_json(daemon: SyncDaemon) -> JsonObject:
    return {"state": daemon.state, "mcast_ifn": daemon.mcast_ifn, "syncid": daemon.syncid}


def daemons_of_json(data: object) -> tuple[SyncDaemon, ...]:
    """The sync daemons `daemon_json` gave; FormError when that is not what `data` is."""
    try:
        return tuple(SyncDaemon(str(item["state"]), str(item["mcast_ifn"]), _whole(item["syncid"]))
                     for item in map(_object, _list(data)))
    except KeyError as missing:
        raise FormError(f"no {missing}") from None


# --- and back: a snapshot from its JSON form (what an agent sends) ---------------------------------

class FormError(ValueError):
    """JSON that is not a snapshot of this SCHEMA; the message names the first thing wrong."""


def snapshot_of_json(data: object) -> Snapshot:
    """The snapshot `snapshot_json` gave (its client rates, which are the sender's, left out)."""
    try:
        top = _object(data)
        if top["schema"] != SCHEMA:
            raise FormError(f"schema {top['schema']!r}, not {SCHEMA}")
        info = _object(top["info"])
        services = tuple(_service(_object(item)) for item in _list(top["services"]))
        # The sender's wall clock stands in for its monotonic one: rates need only the spans
        # between one director's snapshots, never a comparison with this host's clock.
        return Snapshot(time=_number(top["time"]), monotonic=_number(top["time"]),
                        info=Info(str(info["version"]), _whole(info["conn_table_size"])), services=services)
    except KeyError as missing:
        raise FormError(f"no {missing}") from None
    except (TypeError, ValueError) as error:
        raise FormError(str(error)) from None


def _service(item: JsonObject) -> Service:
    family = Family(item["family"])
    if item["fwmark"] is not None:
        key = ServiceKey.mark(_whole(item["fwmark"]), family)
    else:
        key = ServiceKey.inet(Protocol(item["protocol"]), str(item["address"]), _whole(item["port"]))
    scheduler = str(item["scheduler"])
    names = tuple(str(name) for name in _list(item["flags"]))
    return Service(key, scheduler, names, flags.encode(names, scheduler), _whole(item["persistence_timeout"]),
                   str(item["netmask"]), None if item["pe"] is None else str(item["pe"]),
                   _stats(_object(item["stats"])),
                   tuple(_dest(_object(dest)) for dest in _list(item["dests"])))


def tunnel_of_json(data: object) -> Tunnel | None:
    """The tunnel settings `tunnel_json` gave; FormError (or KeyError) when they are not."""
    if data is None:
        return None
    raw = _object(data)
    flags = tuple(str(flag) for flag in _list(raw["flags"]))
    return Tunnel(TunnelType(raw["type"]), _whole(raw["port"]), flags)


def _dest(item: JsonObject) -> Dest:
    tunnel = tunnel_of_json(item["tunnel"])
    return Dest(str(item["address"]), _whole(item["port"]), Family(item["family"]), Forward(item["forward"]),
                tunnel, weight=_whole(item["weight"]), upper_threshold=_whole(item["upper_threshold"]),
                lower_threshold=_whole(item["lower_threshold"]), active_conns=_whole(item["active_conns"]),
                inactive_conns=_whole(item["inactive_conns"]),
                persistent_conns=_whole(item["persistent_conns"]), stats=_stats(_object(item["stats"])))


def _stats(item: JsonObject) -> Stats:
    return Stats(*(_whole(item[name]) for name in Stats._fields))


def _object(value: object) -> JsonObject:
    if not isinstance(value, dict):
        raise FormError(f"an object was expected, not {type(value).__name__}")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise FormError(f"a list was expected, not {type(value).__name__}")
    return value


def _whole(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormError(f"a whole number was expected, not {value!r}")
    return value


def _number(value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise FormError(f"a number was expected, not {value!r}")
    return float(value)
