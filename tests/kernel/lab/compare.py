"""One plain shape for "what the table holds", built from ipvsadm's listings, from a backend
snapshot and from `lvs-top --batch --json`, so that the three can be compared field by field.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.kernel.lab.commands import estimator_stopped, listing, save
from tests.kernel.lab.ipvsadm_listing import FORWARD, Listing, parse_tunnel_info

if TYPE_CHECKING:
    from lvs_tui.model.records import Snapshot, Stats

Table = dict[str, Any]  # {"info": {...}, "services": {id: {..., "dests": {id: {...}}}}}

COUNTERS = ("conns", "inpkts", "outpkts", "inbytes", "outbytes")
RATES = ("cps", "inpps", "outpps", "inbps", "outbps")
STATS_COLUMNS = dict(zip(COUNTERS, ("Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"), strict=True))
RATE_COLUMNS = dict(zip(RATES, ("CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"), strict=True))
VIEWS = ("", "--stats", "--rate", "--thresholds", "--persistent-conn", "--tun-info")


def read_listings() -> dict[str, Listing]:
    return {view: listing(*view.split()) for view in VIEWS}


def from_ipvsadm(views: dict[str, Listing]) -> Table:
    plain = views[""]
    services: dict[str, Any] = {}
    for sid, listed in plain.services.items():
        flags = (["persistent"] if listed.persistent is not None else []) + (["ops"] if listed.ops else [])
        stats = views["--stats"].services[sid]
        rate = views["--rate"].services[sid]
        dests: dict[str, Any] = {}
        for did, dest in listed.dests.items():
            tun = parse_tunnel_info(views["--tun-info"].services[sid].dests[did].columns["TunnelInfo"])
            thresholds = views["--thresholds"].services[sid].dests[did]
            dests[did] = {
                "family": "ipv6" if ":" in dest.address else "ipv4",
                "forward": FORWARD[dest.columns["Forward"]],
                "tunnel": None
                if tun is None
                else {"type": tun.type, "port": tun.port, "flags": list(tun.flags)},
                "weight": dest.int("Weight"),
                "upper_threshold": thresholds.int("Uthreshold"),
                "lower_threshold": thresholds.int("Lthreshold"),
                "active_conns": dest.int("ActiveConn"),
                "inactive_conns": dest.int("InActConn"),
                "persistent_conns": views["--persistent-conn"].services[sid].dests[did].int("PersistConn"),
                "stats": {
                    **{k: views["--stats"].services[sid].dests[did].int(c) for k, c in STATS_COLUMNS.items()},
                    **{k: views["--rate"].services[sid].dests[did].int(c) for k, c in RATE_COLUMNS.items()},
                },
            }
        services[sid] = {
            "protocol": listed.protocol,
            "fwmark": listed.fwmark,
            "family": listed.family,
            "scheduler": listed.scheduler,
            "flags": flags + list(listed.flags),
            "persistence_timeout": listed.persistent or 0,
            "netmask": listed.mask or ("128" if listed.family == "ipv6" else "255.255.255.255"),
            "pe": listed.pe,
            "stats": {
                **{k: stats.int(c) for k, c in STATS_COLUMNS.items()},
                **{k: rate.int(c) for k, c in RATE_COLUMNS.items()},
            },
            "dests": dests,
        }
    return {"info": {"version": plain.version, "conn_table_size": plain.size}, "services": services}


def _stats(stats: Stats) -> dict[str, int]:
    return {name: getattr(stats, name) for name in COUNTERS + RATES}


def from_snapshot(snapshot: Snapshot) -> Table:
    services: dict[str, Any] = {}
    for service in snapshot.services:
        key = service.key
        services[key.id] = {
            "protocol": None if key.protocol is None else key.protocol.value,
            "fwmark": key.fwmark,
            "family": key.family.value,
            "scheduler": service.scheduler,
            "flags": list(service.flags),
            "persistence_timeout": service.persistence_timeout,
            "netmask": service.netmask,
            "pe": service.pe,
            "stats": _stats(service.stats),
            "dests": {
                dest.key.id: {
                    "family": dest.family.value,
                    "forward": dest.forward.value,
                    "tunnel": None
                    if dest.tunnel is None
                    else {
                        "type": dest.tunnel.type.value,
                        "port": dest.tunnel.port,
                        "flags": list(dest.tunnel.flags),
                    },
                    "weight": dest.weight,
                    "upper_threshold": dest.upper_threshold,
                    "lower_threshold": dest.lower_threshold,
                    "active_conns": dest.active_conns,
                    "inactive_conns": dest.inactive_conns,
                    "persistent_conns": dest.persistent_conns,
                    "stats": _stats(dest.stats),
                }
                for dest in service.dests
            },
        }
    info = {"version": snapshot.info.version, "conn_table_size": snapshot.info.conn_table_size}
    return {"info": info, "services": services}


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def from_json(obj: dict[str, Any]) -> Table:
    """The same shape from one `lvs-top --batch --json` line."""
    services: dict[str, Any] = {}
    for svc in obj["services"]:
        if svc["fwmark"] is not None:
            sid = f"fwm:{svc['fwmark']}" + (":ipv6" if svc["family"] == "ipv6" else "")
        else:
            sid = f"{svc['protocol']}:{_host_port(svc['address'], svc['port'])}"
        fields = ("protocol", "fwmark", "family", "scheduler", "flags", "persistence_timeout", "netmask")
        services[sid] = {name: svc[name] for name in (*fields, "pe")}
        services[sid]["stats"] = {name: svc["stats"][name] for name in COUNTERS + RATES}
        dfields = ("family", "forward", "tunnel", "weight", "upper_threshold", "lower_threshold",
                   "active_conns", "inactive_conns", "persistent_conns")
        services[sid]["dests"] = {
            _host_port(d["address"], d["port"]): {
                **{name: d[name] for name in dfields},
                "tunnel": None
                if d["tunnel"] is None
                else {
                    "type": d["tunnel"]["type"],
                    "port": d["tunnel"]["port"],
                    "flags": list(d["tunnel"]["flags"]),
                },
                "stats": {name: d["stats"][name] for name in COUNTERS + RATES},
            }
            for d in svc["dests"]
        }
    info = {"version": obj["info"]["version"], "conn_table_size": obj["info"]["conn_table_size"]}
    return {"info": info, "services": services}


def differences(expected: Table, actual: Table, what: str = "snapshot") -> list[str]:
    """Every mismatch as `where: field: ipvsadm X, <what> Y`."""
    out: list[str] = []
    for name in ("version", "conn_table_size"):
        if expected["info"][name] != actual["info"][name]:
            out.append(f"info: {name}: ipvsadm {expected['info'][name]!r}, {what} {actual['info'][name]!r}")
    exp_s, act_s = expected["services"], actual["services"]
    for sid in sorted(exp_s.keys() - act_s.keys()):
        out.append(f"service {sid}: listed by ipvsadm, missing from {what}")
    for sid in sorted(act_s.keys() - exp_s.keys()):
        out.append(f"service {sid}: in {what}, not listed by ipvsadm")
    for sid in sorted(exp_s.keys() & act_s.keys()):
        out += _diff_fields(f"service {sid}", exp_s[sid], act_s[sid], what)
        exp_d, act_d = exp_s[sid]["dests"], act_s[sid]["dests"]
        for did in sorted(exp_d.keys() - act_d.keys()):
            out.append(f"service {sid} dest {did}: listed by ipvsadm, missing from {what}")
        for did in sorted(act_d.keys() - exp_d.keys()):
            out.append(f"service {sid} dest {did}: in {what}, not listed by ipvsadm")
        for did in sorted(exp_d.keys() & act_d.keys()):
            out += _diff_fields(f"service {sid} dest {did}", exp_d[did], act_d[did], what)
    return out


def _diff_fields(where: str, expected: dict[str, Any], actual: dict[str, Any], what: str) -> list[str]:
    out = []
    for name, value in expected.items():
        if name == "dests":
            continue
        if name == "stats":
            out += [
                f"{where}: stats.{k}: ipvsadm {v!r}, {what} {actual['stats'].get(k)!r}"
                for k, v in value.items()
                if actual["stats"].get(k) != v
            ]
        elif actual.get(name) != value:
            out.append(f"{where}: {name}: ipvsadm {value!r}, {what} {actual.get(name)!r}")
    return out


def consistent_read(read: Callable[[], Table], attempts: int = 4) -> tuple[Table, Table]:
    """(ipvsadm's table, read()) taken while the table did not change.

    Counters and rates move on the kernel's 2-second estimator tick, and right after traffic the
    rates decay at every tick for some 20 s: the estimator is stopped meanwhile (see
    `estimator_stopped`). Then read ipvsadm, then `read()`, then ipvsadm again, and keep the result
    only when both ipvsadm reads agree (a connection may still expire or change state).
    """
    with estimator_stopped():
        for _ in range(attempts):
            before = from_ipvsadm(read_listings())
            actual = read()
            after = from_ipvsadm(read_listings())
            if before == after:
                return before, actual
            time.sleep(0.3)
    raise AssertionError(f"the IPVS table kept changing over {attempts} attempts")


def table_state() -> tuple[list[str], dict[str, Any]]:
    """`ipvsadm -Sn` (sorted) and every service's config and real servers' thresholds (which `-S`
    leaves out): what a write must leave as the equivalent ipvsadm command does."""
    listed = listing("--thresholds")
    thresholds = {
        sid: (s.scheduler, s.flags, s.persistent, s.mask, s.pe, s.ops,
              {did: (d.int("Uthreshold"), d.int("Lthreshold")) for did, d in s.dests.items()})
        for sid, s in listed.services.items()
    }
    return sorted(save()), thresholds
