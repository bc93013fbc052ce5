"""The checker's decisions, applied to a simulated director round by round: take out, hold by
min_healthy, bring back with slow start, the sorry server, and a manual drain left alone."""

from __future__ import annotations

from pathlib import Path

from lvs_tui.health.config import parse_config
from lvs_tui.health.policy import Decision, decide, ramp
from lvs_tui.health.state import Health
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig
from lvs_tui.model.records import DestKey, Service, ServiceKey
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.runner import run_plan
from lvs_tui.sim import SimulatedDirector

KEY = ServiceKey.inet("tcp", "192.0.2.99", 80)
A, B, C = (DestKey(f"198.51.100.{n}", 80) for n in (1, 2, 3))
SORRY = DestKey("198.51.100.250", 80)

CONFIG = """\
[defaults]
action = "{action}"
min_healthy = {min_healthy}
slow_start = {slow_start}

[[service]]
service = "tcp:192.0.2.99:80"
sorry = "198.51.100.250:80"
  [[service.server]]
  address = "198.51.100.1:80"
  [[service.server]]
  address = "198.51.100.2:80"
  [[service.server]]
  address = "198.51.100.3:80"
"""


class Round:
    """One director, one configured service, and the checker's memory between rounds."""

    def __init__(self, tmp_path: Path, action: str = "quiesce", min_healthy: int = 0,
                 slow_start: float = 0) -> None:
        text = CONFIG.format(action=action, min_healthy=min_healthy, slow_start=slow_start)
        (self.config,) = parse_config(text).services
        self.director = SimulatedDirector(seed=1)
        self.director.add_service(ServiceConfig(KEY, "wrr"))
        for dest, weight in ((A, 3), (B, 2), (C, 1)):
            self.director.add_dest(KEY, DestConfig(dest.address, dest.port, weight=weight))
        self.journal = Journal(tmp_path / "journal.jsonl")
        self.taken_out: dict[DestKey, DestConfig] = {}
        self.recovered: dict[DestKey, float] = {}

    def service(self) -> Service:
        found = self.director.snapshot().service(KEY)
        assert found is not None
        return found

    def weights(self) -> dict[DestKey, int]:
        return {dest.key: dest.weight for dest in self.service().dests}

    def run(self, health: dict[DestKey, Health], now: float = 0.0) -> Decision:
        decision = decide(self.config, self.service(), health, self.recovered, self.taken_out, now)
        report = run_plan(decision.plan, self.director, self.journal, action="health")
        assert not report.failed, report.summary()
        self.taken_out = decision.taken_out
        return decision


HEALTHY = {A: Health.HEALTHY, B: Health.HEALTHY, C: Health.HEALTHY}


def test_an_unhealthy_server_is_quiesced_and_comes_back_at_its_weight(tmp_path: Path) -> None:
    r = Round(tmp_path)
    assert not r.run(HEALTHY).plan.changes  # all well: nothing to do
    r.run({**HEALTHY, A: Health.UNHEALTHY})
    assert r.weights() == {A: 0, B: 2, C: 1}
    assert not r.run({**HEALTHY, A: Health.UNHEALTHY}).plan.changes  # no change twice
    r.run(HEALTHY)
    assert r.weights() == {A: 3, B: 2, C: 1} and r.taken_out == {}
    assert [e["action"] for e in outcomes(r.journal.entries())] == ["health", "health"]


def test_remove_deletes_and_re_adds_with_the_same_settings(tmp_path: Path) -> None:
    r = Round(tmp_path, action="remove")
    r.run({**HEALTHY, B: Health.UNHEALTHY})
    assert B not in r.weights()
    r.run(HEALTHY)
    assert r.weights() == {A: 3, B: 2, C: 1}


def test_min_healthy_keeps_the_last_servers_in_and_says_so(tmp_path: Path) -> None:
    r = Round(tmp_path, min_healthy=2)
    decision = r.run({A: Health.UNHEALTHY, B: Health.UNHEALTHY, C: Health.UNHEALTHY})
    # One out; two stay although they fail; none is healthy, so the sorry server stands in too.
    assert r.weights() == {A: 0, B: 2, C: 1, SORRY: 1}
    assert len(decision.held) == 2 and all("min_healthy=2" in line for line in decision.held)


def test_slow_start_ramps_the_weight_back(tmp_path: Path) -> None:
    r = Round(tmp_path, slow_start=30)
    r.run({**HEALTHY, A: Health.UNHEALTHY}, now=0)
    r.recovered[A] = 100.0
    seen = []
    for now in (100, 110, 120, 130, 140):
        r.run(HEALTHY, now=now)
        seen.append(r.weights()[A])
    assert seen == [1, 1, 2, 3, 3]
    assert r.taken_out == {}
    assert [ramp(90, 0.0, 30, t) for t in (0, 1, 15, 29, 30)] == [1, 3, 45, 87, 90]


def test_the_sorry_server_stands_in_while_none_is_healthy(tmp_path: Path) -> None:
    r = Round(tmp_path)
    down = {A: Health.UNHEALTHY, B: Health.UNHEALTHY, C: Health.UNHEALTHY}
    r.run(down)
    assert r.weights() == {A: 0, B: 0, C: 0, SORRY: 1}
    r.run(down)
    assert SORRY in r.weights()  # added once
    r.run({**down, C: Health.HEALTHY})
    assert r.weights() == {A: 0, B: 0, C: 1}


def test_a_manual_drain_wins_over_the_checker(tmp_path: Path) -> None:
    r = Round(tmp_path)
    r.director.edit_dest(KEY, B, DestEdit(weight=0))  # drained by hand
    r.run({**HEALTHY, B: Health.HEALTHY})
    assert r.weights()[B] == 0  # healthy, but not the checker's to bring back
    r.run({**HEALTHY, B: Health.UNHEALTHY})
    assert B not in r.taken_out
