"""The alerting rules (contrib/prometheus) and the Grafana dashboard (contrib/grafana) stay in step with
the exporter: promtool accepts the rules and their unit tests pass, every dashboard expression parses,
and every `lvs_*` metric they query is one the exporter really serves (scraped in process, with a
health checker's view and a drain record so that those metrics are there too)."""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lvs_tui.exporter.serve import TableCollector, registry_of
from lvs_tui.exporter.source import Source
from lvs_tui.health.feed import StateFileFeed
from lvs_tui.health.state import Health
from lvs_tui.health.status import HealthView, ServerStatus
from lvs_tui.ops.drainrecords import DrainRecord, DrainRecords
from lvs_tui.sim.director import SimulatedDirector
from tests.unit.maintenance_runs import WEB

pytestmark = pytest.mark.unit

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
RULES = CONTRIB / "prometheus" / "lvs-top-alerts.yml"
RULE_TESTS = CONTRIB / "prometheus" / "lvs-top-alerts.test.yml"
DASHBOARD = CONTRIB / "grafana" / "lvs-top.json"
METRIC = re.compile(r"\blvs_\w+")
# What Grafana puts in place of the dashboard's variables, for promtool to parse the expressions.
FILLED_IN = {
    "${service:raw}": 'family="ipv4",local_address="192.0.2.10",local_port="80",proto="tcp"',
    "$__rate_interval": "1m",
    "$instance": "lb1.example.net:9743",
}
ALERTS = {"LvsServiceNoRealServerInRotation", "LvsRealServerDistributionSkewed",
          "LvsHealthCheckerNotReporting", "LvsExporterCannotReadIpvs"}


class Feed:
    """A health checker's state file, as StateFileFeed gives it."""

    def __init__(self, view: HealthView) -> None:
        self.current = view

    def view(self) -> HealthView | None:
        return self.current


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        assert os.environ.get("CI") != "true", "CI installs Debian's prometheus for promtool"
        pytest.skip("promtool (Debian package prometheus) is not installed")
    return found


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> frozenset[str]:
    """Every sample name of a scrape: a counter family X is served as X_total, an info as X_info."""
    sim = SimulatedDirector(seed=3)
    web = sim.snapshot().service(WEB)
    assert web is not None
    dest = web.dests[0]
    records = DrainRecords(tmp_path_factory.mktemp("drains") / "drains.json")
    records.add([DrainRecord(WEB, dest.key, 3, time.time(), "drain", os.getpid(), wait_inactive=True)])
    view = HealthView({(WEB, dest.key): ServerStatus(Health.HEALTHY, 1.0, "ok", True)},
                      source="lvs-top health (pid 1)", updated=1_800_000_000.0)
    feed = cast(StateFileFeed, Feed(view))
    text = generate_latest(registry_of(TableCollector(Source(lambda: sim, feed, records, cache=0), 10_000)))
    names = frozenset(sample.name for family in text_string_to_metric_families(text.decode())
                      for sample in family.samples)
    for name in ("lvs_backend_health_state", "lvs_backend_drain_remaining_connections",
                 "lvs_health_checker_up", "lvs_backend_connections_total", "lvs_ipvs_info"):
        assert name in names, f"the scrape lacks {name}: the check below would be weaker than it says"
    return names


def indented(line: str, indent: int) -> bool:
    """A line of a block scalar under a key at `indent` (blank lines belong to the block)."""
    return not line.strip() or len(line) - len(line.lstrip()) > indent


def rule_expressions(text: str) -> list[str]:
    """The `expr:` of every rule in a rules file, inline or as a block scalar (`expr: |`)."""
    lines = text.splitlines()
    expressions = []
    for number, line in enumerate(lines):
        found = re.match(r"^(\s*)(?:- )?expr:\s*(.*)$", line)
        if found is None:
            continue
        indent, value = len(found.group(1)), found.group(2).strip()
        if value.startswith(("|", ">")):
            block = itertools.takewhile(functools.partial(indented, indent=indent), lines[number + 1:])
            value = " ".join(part.strip() for part in block)
        expressions.append(value.strip("'\""))
    return expressions


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside (collapsed) rows too."""
    stack: list[dict[str, Any]] = list(dashboard["panels"])
    while stack:
        panel = stack.pop(0)
        yield panel
        stack.extend(panel.get("panels", []))


def dashboard_expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every target's expression and every query variable's query."""
    expressions = [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])
                   if "expr" in target]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            expressions.append(query["query"] if isinstance(query, dict) else query)
    return expressions


def load_dashboard() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(DASHBOARD.read_text()))


def test_promtool_accepts_the_alerting_rules_and_their_unit_tests_pass() -> None:
    tool = promtool()
    checked = run(tool, "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    found = re.search(r"(\d+) rules found", checked.stdout)
    assert found is not None and int(found.group(1)) == len(ALERTS), checked.stdout
    tested = run(tool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    test_text = RULE_TESTS.read_text()
    for alert in ALERTS:
        assert f"alertname: {alert}\n" in test_text, f"{alert} has no unit test"
        assert f"alert: {alert}\n" in RULES.read_text()


def test_the_alerting_rules_query_only_metrics_the_exporter_serves(served: frozenset[str]) -> None:
    expressions = rule_expressions(RULES.read_text())
    assert len(expressions) == len(ALERTS), expressions
    used = {name for expression in expressions for name in METRIC.findall(expression)}
    assert {"lvs_service_connections_total", "lvs_backend_weight", "lvs_exporter_poll_ok"} <= used
    assert used <= served, f"not served by the exporter: {sorted(used - served)}"


def test_the_dashboard_queries_only_metrics_the_exporter_serves(served: frozenset[str]) -> None:
    expressions = dashboard_expressions(load_dashboard())
    used = {name for expression in expressions for name in METRIC.findall(expression)}
    assert len(used) >= 15, sorted(used)  # the extraction works: the dashboard queries many
    assert used <= served, f"not served by the exporter: {sorted(used - served)}"


def test_the_dashboard_reads_prometheus_through_its_variables_for_data_source_director_and_service() -> None:
    dashboard = load_dashboard()
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "label_values(lvs_exporter_poll_ok, instance)" in json.dumps(variables["instance"]["query"])
    assert "lvs_service_connections_total" in json.dumps(variables["service"]["query"])
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            if "lvs_backend" in target["expr"]:  # per service: the repeated row's service, one director
                assert 'instance="$instance"' in target["expr"] and "${service:raw}" in target["expr"]


def test_promtool_parses_every_dashboard_expression_with_its_variables_filled_in(tmp_path: Path) -> None:
    tool = promtool()
    rules = []
    for number, expression in enumerate(dashboard_expressions(load_dashboard())):
        # Grafana's own functions around PromQL: query_result(EXPR), label_values(SELECTOR, LABEL).
        query = re.sub(r"^query_result\((.*)\)$", r"\1", expression)
        query = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", query)
        for variable, value in FILLED_IN.items():
            query = query.replace(variable, value)
        assert "$" not in query, query
        rules.append({"record": f"lvs_top_dashboard_expression_{number}", "expr": query})
    written = tmp_path / "dashboard.rules.json"  # JSON is YAML: promtool reads it as a rules file
    written.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run(tool, "check", "rules", str(written))
    assert checked.returncode == 0, checked.stdout + checked.stderr
