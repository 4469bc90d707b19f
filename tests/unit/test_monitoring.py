"""The alert rules and the dashboard as files: `promtool check rules`, the rules' unit tests
(`promtool test rules`), and a dashboard Grafana can provision. Their queries are evaluated on
a real Prometheus in tests/integration/distributed/test_prometheus.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.support.prometheus import binary

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *args], cwd=MONITORING, capture_output=True, text=True, timeout=60
    )


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_the_rules_unit_tests_pass() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The stuck-jobs alert as first shipped (`and ... == 0`) never fired for a worker without a
    finished series; the unit tests must say so."""
    broken = (
        (MONITORING / "alerts.yml")
        .read_text()
        .replace(
            "unless sum(increase(image_generation_finished_total[15m])) > 0",
            "and sum(rate(image_generation_finished_total[15m])) == 0",
        )
    )
    assert broken != (MONITORING / "alerts.yml").read_text()
    (tmp_path / "alerts.yml").write_text(broken)
    (tmp_path / "alerts.test.yml").write_text((MONITORING / "alerts.test.yml").read_text())
    result = subprocess.run(
        [binary("promtool"), "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "JobsStuckProcessing" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test_or_a_reason() -> None:
    rules = {
        r["alert"] for r in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    }
    cases = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())["tests"]
    tested = {t["alertname"] for case in cases for t in case.get("alert_rule_test", [])}
    # thresholds on one series: read live in the real-Prometheus test instead
    live_only = {
        "ImageQueueBacklog",
        "ImageGenerationSlow",
        "WorkerDown",
        "S3UploadsSlow",
        "UnsafeOutputsRising",
    }
    assert rules - tested <= live_only, rules - tested - live_only
    assert tested <= rules


def test_every_alert_has_a_runbook_entry() -> None:
    runbook = (MONITORING.parents[1] / "docs" / "operations.md").read_text()
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    for rule in rules:
        assert f"### {rule['alert']}" in runbook, rule["alert"]


def test_the_dashboard_is_provisionable() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["type"] == "prometheus"
        assert panel["datasource"]["uid"].strip("${}") in variables
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        grid = panel["gridPos"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
