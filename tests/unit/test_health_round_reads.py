"""A health round reads only the services it checks: on a director with thousands of services a
round costs what it checks, not a dump of every service's real servers."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from lvs_tui.health.config import parse_config
from lvs_tui.health.rounds import RoundInput, play_round
from lvs_tui.health.state import Health
from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
from lvs_tui.model.records import DestKey, ServiceKey, Snapshot
from lvs_tui.ops.journal import Journal
from lvs_tui.sim import SimulatedDirector
from tests.health_fixtures import KEY, LOOPBACK, config_text


class Counting(SimulatedDirector):
    """A simulated director that counts what a round reads."""

    whole_reads = 0
    asked: list[list[ServiceKey]]

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        self.whole_reads += 1
        return super().snapshot(whole)

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        self.asked.append(list(keys))
        return super().snapshot_of(keys)


def test_a_round_reads_the_services_it_checks_and_nothing_else(tmp_path: Path) -> None:
    counting = Counting(seed=1, services=0)
    counting.asked = []
    counting.add_service(ServiceConfig(KEY, "wrr"))
    for port in (8001, 8002):
        counting.add_dest(KEY, DestConfig(LOOPBACK, port, weight=5))
    for port in range(1, 200):  # others' services, which the round has no business reading
        counting.add_service(ServiceConfig(ServiceKey.inet("tcp", "192.0.2.50", port), "rr"))
    config = parse_config(config_text([8001, 8002]))
    down = {(KEY, DestKey(LOOPBACK, 8001)): Health.UNHEALTHY, (KEY, DestKey(LOOPBACK, 8002)): Health.HEALTHY}
    before = counting.whole_reads
    (played,) = play_round(counting, Journal(tmp_path / "journal.jsonl"), None,
                           RoundInput(config, down, {}, {}, {}, 0.0))
    assert counting.asked == [[KEY]] and counting.whole_reads - before <= 1  # snapshot_of's own
    assert played.service is not None and played.decision is not None
    assert [change.target for change in played.decision.plan.changes] == [f"{KEY}>{LOOPBACK}:8001"]
