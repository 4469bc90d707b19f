"""Deployment files stay true to the code: configuration names, commands and metric names."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from nexus_image.adapters.prometheus import GPU_SERIES, PrometheusMetrics
from nexus_image.entrypoints.cli.main import _parser
from nexus_image.entrypoints.http.observability import http_metrics
from nexus_image.entrypoints.settings import Settings
from tests.support import promql

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
EXTERNAL_METRICS = {"up"}  # Prometheus' own, per target
SHELLS = (["/bin/sh", "-c"], ["sh", "-c"])
# One command of our CLI in a shell script: `nexus-image ARGS` up to the end of the line or the
# next `;`, `&&`, `||` or `|`.
CLI_IN_SCRIPT = re.compile(r"\bnexus-image\s+([^;&|\n]+)")


def documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(field.alias or f"NEXUS_IMAGE_{name.upper()}")
    return names


def series_names() -> set[str]:
    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    http_metrics(registry)
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    names = {f.name + s for f in registry.collect() for s in suffixes[f.type]}
    return names | set(GPU_SERIES) | EXTERNAL_METRICS


def test_every_yaml_file_parses() -> None:
    assert len(YAML_FILES) >= 6
    for path in YAML_FILES:
        assert documents(path), path


def test_configuration_names_exist() -> None:
    known = setting_names()
    text = "\n".join(p.read_text() for p in [*YAML_FILES, DEPLOY / "Dockerfile"])
    used = set(re.findall(r"\bNEXUS_IMAGE_[A-Z0-9_]+", text))
    assert used, "deployment files configure nothing"
    assert used <= known, used - known


def script_commands(script: str) -> list[list[str]]:
    """The `nexus-image …` commands a shell script runs, each as its arguments."""
    return [shlex.split(match) for match in CLI_IN_SCRIPT.findall(script)]


def service_commands(service: dict[str, Any]) -> list[list[str]]:
    """What a compose service of our image runs: its command, or with a shell as its entrypoint,
    each `nexus-image` command of the script."""
    if service.get("entrypoint") in SHELLS:
        return [c for line in service["command"] for c in script_commands(str(line))]
    assert "entrypoint" not in service, f"an entrypoint this test cannot read: {service['entrypoint']}"
    return [service["command"]]


def commands() -> list[list[str]]:
    """Our image's commands: compose services built from our Dockerfile, k8s containers' args."""
    services = documents(DEPLOY / "compose.yaml")[0]["services"].values()
    found = [c for s in services if "build" in s for c in service_commands(s)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "args" in node and str(node.get("image", "")).startswith("nexus-image"):
                found.append(node["args"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in documents(path):
            walk(doc)
    return [[str(v) for v in c] for c in found]


def test_commands_are_real_cli_commands() -> None:
    found = commands()
    assert {c[0] for c in found} >= {"serve", "worker", "db", "maintenance", "models"}
    parser = _parser()
    for args in found:
        parsed = parser.parse_args(args)
        assert callable(parsed.handler), args


def test_commands_in_a_shell_script_are_read() -> None:
    script = "set -e\ntest -f x || nexus-image models pull org/m --name m; nexus-image db upgrade && true\n"
    assert script_commands(script) == [["models", "pull", "org/m", "--name", "m"], ["db", "upgrade"]]
    with pytest.raises(SystemExit):  # and a misspelt one fails the check above
        _parser().parse_args(script_commands("nexus-image models fetch org/m")[0])


def test_alerts_and_dashboard_query_series_that_exist() -> None:
    known = series_names()
    rules = documents(DEPLOY / "monitoring" / "alerts.yml")[0]["groups"][0]["rules"]
    assert len(rules) >= 5
    dashboard = json.loads((DEPLOY / "monitoring" / "grafana-dashboard.json").read_text())
    exprs = [r["expr"] for r in rules] + [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for expr in exprs:
        missing = promql.metrics(expr) - known
        assert not missing, f"{expr}: {missing}"
    for rule in rules:
        assert rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in {"page", "warn"}


@pytest.mark.parametrize(
    "title",
    ["Generation rate", "Mean generation time", "Queue", "Failure rate", "Token consumption", "GPU use"],
)
def test_dashboard_has_the_original_panels(title: str) -> None:
    dashboard = json.loads((DEPLOY / "monitoring" / "grafana-dashboard.json").read_text())
    assert any(p["title"].startswith(title) for p in dashboard["panels"])


def test_promql_reader_sees_metrics_labels_and_thresholds() -> None:
    expr = 'sum by (le, route) (rate(foo_bucket{a_b="b_c", route!~"/x|/y"}[5m])) > 0.1'
    assert promql.metrics(expr) == {"foo_bucket"}
    assert promql.matchers(expr) == [("a_b", "=", "b_c"), ("route", "!~", "/x|/y")]
    assert promql.grouping_labels(expr) == {"le", "route"}
    assert (
        promql.without_threshold(expr)
        == 'sum by (le, route) (rate(foo_bucket{a_b="b_c", route!~"/x|/y"}[5m]))'
    )
    assert promql.without_threshold("absent(up)") == "absent(up)"
