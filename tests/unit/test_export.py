import json

from lvs_tui.model.export import SCHEMA, snapshot_json
from lvs_tui.model.rates import snapshot_rates
from lvs_tui.model.records import (
    Dest,
    Family,
    Forward,
    Info,
    Service,
    ServiceKey,
    Snapshot,
    Stats,
    Tunnel,
    TunnelType,
)

GUE = Dest(
    "198.51.100.7",
    80,
    Family.IPV4,
    Forward.TUNNEL,
    Tunnel(TunnelType.GUE, 6080, ("csum",)),
    weight=3,
    upper_threshold=100,
    lower_threshold=50,
    active_conns=4,
    inactive_conns=2,
    stats=Stats(conns=10, inpkts=20, inbytes=3000),
)
DNS = Service(
    ServiceKey.mark(42, "ipv6"),
    "sh",
    flags=("sh-fallback",),
    raw_flags=0x0A,
    stats=Stats(conns=10, inpkts=20, inbytes=3000),
    dests=(GUE,),
)


def _snapshot(monotonic: float, stats: Stats) -> Snapshot:
    service = Service(DNS.key, DNS.scheduler, DNS.flags, stats=stats, dests=(GUE,))
    return Snapshot(1_700_000_000.5, monotonic, Info("1.2.1", 4096), (service,))


def test_json_has_the_documented_keys_and_values() -> None:
    snapshot = Snapshot(1_700_000_000.5, 5.0, Info("1.2.1", 4096), (DNS,))
    doc = json.loads(json.dumps(snapshot_json(snapshot, source="demo")))
    assert doc["schema"] == SCHEMA
    assert doc["info"] == {"version": "1.2.1", "conn_table_size": 4096}
    (service,) = doc["services"]
    assert (service["protocol"], service["fwmark"], service["family"]) == (None, 42, "ipv6")
    assert service["flags"] == ["sh-fallback"]
    assert service["stats"]["inbytes"] == 3000
    assert service["client_rates"] is None
    (dest,) = service["dests"]
    assert dest["forward"] == "tunnel"
    assert dest["tunnel"] == {"type": "gue", "port": 6080, "flags": ["csum"]}
    assert (dest["weight"], dest["upper_threshold"], dest["lower_threshold"]) == (3, 100, 50)
    assert (dest["active_conns"], dest["inactive_conns"], dest["persistent_conns"]) == (4, 2, 0)


def test_json_carries_client_rates_between_snapshots() -> None:
    first = _snapshot(1.0, Stats(conns=10, inbytes=3000))
    second = _snapshot(3.0, Stats(conns=30, inbytes=7000))
    doc = snapshot_json(second, snapshot_rates(first, second))
    assert doc["interval"] == 2.0
    assert doc["services"][0]["client_rates"]["cps"] == 10.0
    assert doc["services"][0]["client_rates"]["inbps"] == 2000.0
    # The dest's counters did not move: zero rates, not null.
    assert doc["services"][0]["dests"][0]["client_rates"]["cps"] == 0.0
