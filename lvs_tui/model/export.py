"""The JSON form of a snapshot: lvs-top's scripting interface (`--batch --json`).

Keep it stable: scripts depend on it. Add keys, never rename or remove them; bump SCHEMA when a
change could break a reader.
"""

from __future__ import annotations

from typing import Any

from lvs_tui.model.rates import Rates, SnapshotRates
from lvs_tui.model.records import Dest, Service, Snapshot, Stats, Tunnel

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
