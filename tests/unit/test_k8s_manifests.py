"""The Kubernetes manifests in deploy/k8s are valid for a cluster and true to the code.

Core kinds go through kubernetes-validate's schemas (strict: unknown fields fail), the KEDA
ScaledObject through the openAPIV3Schema of KEDA's CRD (tests/unit/data/k8s). The other checks
are what no schema sees: selectors that select, probes that reach a port, worker pools that each
install and serve their own models while the API offers all of theirs, an autoscaler per pool
that counts the jobs of its models the code queues, can reach the database and stays within the
partitions the code creates, containers that run locked down.
Each check is a function returning its problems; `test_every_check_catches_a_broken_manifest`
runs each on manifests broken on purpose, so none of them can pass vacuously."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from jsonschema import Draft7Validator
from prometheus_client import CollectorRegistry

from nexus_image.adapters.kafka.config import client_config
from nexus_image.adapters.prometheus import PrometheusMetrics
from nexus_image.adapters.sqlalchemy.tables import jobs as jobs_table
from nexus_image.domain.job import JobStatus
from nexus_image.entrypoints.cli.main import _parser
from nexus_image.entrypoints.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
DATA = Path(__file__).resolve().parent / "data" / "k8s"
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
# The oldest Kubernetes the manifests support (the preStop `sleep` action) and a recent one.
KUBERNETES_VERSIONS = ("1.30.0", "1.34.0")
CORE_GROUPS = frozenset({"", "apps", "batch", "autoscaling", "policy", "networking.k8s.io"})
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): DATA / "keda-scaledobject-v1alpha1.schema.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): DATA / "keda-triggerauthentication-v1alpha1.schema.json",
}
POSTGRESQL_TRIGGER = DATA / "keda-postgresql-trigger-v2.20.2.json"
SECRET = "nexus-image-secrets"
# autoscaler-database-url: the database as a libpq URL, for KEDA (worker-autoscaler.yaml);
# hf-token: optional, the hub token of the workers' model pulls.
SECRET_KEYS = frozenset(
    {
        "database-url",
        "s3-access-key",
        "s3-secret-key",
        "jwt-public-key",
        "autoscaler-database-url",
        "hf-token",
    }
)
# The key that holds NEXUS_IMAGE_DATABASE_URL: documented in SQLAlchemy's form
# (postgresql+psycopg://), which KEDA's postgresql scaler (pgx) refuses.
SETTINGS_DATABASE_KEY = "database-url"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # what ParseFloat takes
WHOLE = re.compile(r"[0-9]+")
# The one query shape the checks read: a count of one table's rows with one column at one value,
# and another (the model) at one value.
COUNT_QUERY = re.compile(
    r"\s*SELECT\s+count\(\s*\*\s*\)\s+FROM\s+(?P<table>\w+)\s+WHERE\s+(?P<column>\w+)\s*=\s*'(?P<value>[^']*)'"
    r"(?:\s+AND\s+(?P<by>\w+)\s*=\s*'(?P<model>[^']*)')?\s*;?\s*",
    re.IGNORECASE,
)
# Which image target of deploy/Dockerfile runs each command (the API image has no diffusers).
IMAGE_FOR_COMMAND = {
    "serve": "nexus-image-api",
    "db": "nexus-image-api",
    "maintenance": "nexus-image-api",
    "worker": "nexus-image-worker",
    "models": "nexus-image-worker",  # the workers' init containers pull the models they serve
}
WORKER_MIN_STARTUP_SECONDS = 15 * 60  # a model load that takes minutes is never restarted
WORKER_MIN_GRACE_SECONDS = 60  # SIGTERM finishes the batch in hand
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")

Doc = dict[str, Any]
Check = Callable[[list[Doc]], list[str]]


# --- reading the manifests ----------------------------------------------------------------------


def load() -> list[Doc]:
    docs: list[Doc] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return docs


DOCS = load()


def ident(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def api_group(doc: Doc) -> str:
    return str(doc.get("apiVersion", "")).rpartition("/")[0]


def is_core(doc: Doc) -> bool:
    return api_group(doc) in CORE_GROUPS


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def pod_template(doc: Doc) -> Doc | None:
    """The pod template of a workload (Deployment, Job, CronJob), else None."""
    spec = doc.get("spec", {})
    if doc.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    for doc in docs:
        template = pod_template(doc)
        if template is not None:
            yield ident(doc), template.get("spec", {})


def all_containers(pod: Doc) -> list[Doc]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def containers(docs: list[Doc]) -> Iterator[tuple[str, Doc, Doc]]:
    """(owner/container, container, pod spec) for every container of every workload."""
    for owner, pod in pod_specs(docs):
        for container in all_containers(pod):
            yield f"{owner}/{container.get('name')}", container, pod


def command(container: Doc) -> str:
    args = container.get("args") or [""]
    return str(args[0])


def deployments_running(docs: list[Doc], cli_command: str) -> list[Doc]:
    return [
        d
        for d in of_kind(docs, "Deployment")
        if any(command(c) == cli_command for c in d["spec"]["template"]["spec"]["containers"])
    ]


def deployment_running(docs: list[Doc], cli_command: str) -> Doc:
    (doc,) = deployments_running(docs, cli_command)
    return doc


def worker_pools(docs: list[Doc]) -> list[Doc]:
    """The worker Deployments: one per pool of GPUs serving the same models."""
    return deployments_running(docs, "worker")


def worker_container(deployment: Doc) -> Doc:
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if command(c) == "worker"]
    found: Doc = container
    return found


def model_list(value: object) -> tuple[str, ...]:
    """NEXUS_IMAGE_MODELS' names, as Settings reads them."""
    return tuple(name.strip() for name in str(value or "").split(",") if name.strip())


def own_value(container: Doc, name: str) -> str | None:
    """A variable's literal value in the container's own `env` (not from a ConfigMap)."""
    for item in container.get("env", []):
        if item["name"] == name and "value" in item:
            return str(item["value"])
    return None


def served_models(deployment: Doc) -> tuple[str, ...]:
    """What a pool serves: its worker container's own NEXUS_IMAGE_MODELS."""
    return model_list(own_value(worker_container(deployment), setting_env_name("models")))


def container_env(docs: list[Doc], container: Doc) -> dict[str, str]:
    """The literal environment a container gets: its ConfigMaps (envFrom), then its `env` values."""
    env: dict[str, str] = {}
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind(docs, "ConfigMap")}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update({str(k): str(v) for k, v in maps.get(source["configMapRef"]["name"], {}).items()})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
    return env


def postgresql_triggers(docs: list[Doc]) -> list[Doc]:
    return [
        t for so in of_kind(docs, "ScaledObject") for t in so["spec"]["triggers"] if t["type"] == "postgresql"
    ]


def postgresql_trigger(scaled_object: Doc) -> Doc:
    (trigger,) = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "postgresql"]
    found: Doc = trigger
    return found


def scaled_pool(docs: list[Doc], scaled_object: Doc) -> Doc | None:
    """The worker Deployment a ScaledObject scales, if it scales one."""
    name = scaled_object["spec"]["scaleTargetRef"]["name"]
    found = [d for d in worker_pools(docs) if d["metadata"]["name"] == name]
    return found[0] if found else None


def trigger_authentication(docs: list[Doc], trigger: Doc) -> Doc | None:
    """The TriggerAuthentication a trigger's authenticationRef names, where the manifests hold it."""
    ref = trigger.get("authenticationRef")
    if ref is None or ref.get("kind", "TriggerAuthentication") != "TriggerAuthentication":
        return None
    found = [d for d in of_kind(docs, "TriggerAuthentication") if d["metadata"]["name"] == ref["name"]]
    return found[0] if found else None


def auth_parameters(auth: Doc) -> dict[str, Doc]:
    """The parameters a TriggerAuthentication hands its scaler, each with where it comes from
    (from a Secret, a ConfigMap or the scale target's environment)."""
    spec = auth.get("spec", {})
    return {
        item["parameter"]: {source: item}
        for source in ("secretTargetRef", "configMapTargetRef", "env")
        for item in spec.get(source, [])
    }


def env_names(docs: list[Doc], container: Doc) -> set[str]:
    """Every variable a container gets, whatever its source (KEDA resolves them all)."""
    return set(container_env(docs, container)) | {item["name"] for item in container.get("env", [])}


def env_secret_key(container: Doc, name: str) -> str | None:
    """The Secret key a container's variable comes from, if it comes from one."""
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if item["name"] == name and ref:
            return str(ref["key"])
    return None


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def setting_env_name(field: str) -> str:
    info = Settings.model_fields[field]
    return info.alias or f"{Settings.model_config['env_prefix']}{field.upper()}"


def kafka_partitions(env: dict[str, str]) -> int:
    """The partitions the worker creates its topics with: its setting, else the code's default."""
    default = Settings.model_fields["kafka_partitions"].default
    return int(env.get(setting_env_name("kafka_partitions"), default))


# --- the checks ---------------------------------------------------------------------------------


def check_kubernetes_validate(docs: list[Doc], version: str) -> list[str]:
    """kubernetes-validate, strict, on every core-kind document (one file each, so a message
    names its document). With --quiet it prints only warnings and failures: any output fails,
    which catches an apiVersion it has no schema for (a warning, exit status 0)."""
    core = [d for d in docs if is_core(d)]
    if not core:
        return ["no core-kind documents"]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, doc in enumerate(core):
            path = Path(tmp) / f"{i:02d}-{doc.get('kind')}-{doc.get('metadata', {}).get('name')}.yaml"
            path.write_text(yaml.safe_dump(doc))
            files.append(str(path))
        run = subprocess.run(
            [str(KUBERNETES_VALIDATE), "--quiet", "--strict", "--kubernetes-version", version, *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = (run.stdout + run.stderr).strip()
    problems = [line for line in output.splitlines() if line.strip()]
    if run.returncode != 0 and not problems:
        problems = [f"kubernetes-validate exited with {run.returncode}"]
    return problems


def check_every_document_has_a_schema(docs: list[Doc]) -> list[str]:
    """A kind neither kubernetes-validate nor a vendored CRD schema knows would go unchecked."""
    return [
        f"{ident(d)} ({d.get('apiVersion')}): no schema checks it"
        for d in docs
        if not is_core(d) and (d.get("apiVersion"), d.get("kind")) not in CRD_SCHEMAS
    ]


def closed(schema: Any) -> Any:
    """The schema as the API server applies it with strict field validation: an object's fields
    are the ones it lists (CRD schemas leave additionalProperties unset, and the server rejects
    or prunes what they do not list)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: closed(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = closed(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [closed(s) for s in out[key]]
    return out


def crd_schema(api_version: str, kind: str) -> Any:
    return json.loads(CRD_SCHEMAS[(api_version, kind)].read_text())


def check_crd_schemas(docs: list[Doc]) -> list[str]:
    """Custom resources against their CRD's openAPIV3Schema, plus the CEL rule of KEDA's CRD."""
    problems = []
    found = [d for d in docs if (d.get("apiVersion"), d.get("kind")) in CRD_SCHEMAS]
    if not found:
        return ["no custom resources"]
    for doc in found:
        validator = Draft7Validator(closed(crd_schema(doc["apiVersion"], doc["kind"])))
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(map(str, error.absolute_path))
            problems.append(f"{ident(doc)}: {where}: {error.message}")
        spec = doc.get("spec", {})
        if doc["kind"] == "ScaledObject" and spec.get("minReplicaCount", 0) > spec.get(
            "maxReplicaCount", 100
        ):
            problems.append(f"{ident(doc)}: minReplicaCount must be less than or equal to maxReplicaCount")
    return problems


def check_postgresql_trigger_metadata(docs: list[Doc]) -> list[str]:
    """KEDA's postgresql scaler ignores metadata it does not know: a misspelt targetQueryValue
    would leave the trigger without a target, refused. Every key must be one it reads from the
    metadata (NAME, or NAMEFromEnv where it resolves NAME from the container's environment),
    with a value it parses; every parameter of the TriggerAuthentication one it reads from there.
    The target is a whole number of waiting jobs per worker, above 0."""
    params: dict[str, Any] = json.loads(POSTGRESQL_TRIGGER.read_text())["parameters"]
    problems = []
    triggers = postgresql_triggers(docs)
    if not triggers:
        return ["no postgresql trigger"]
    for trigger in triggers:
        metadata: dict[str, Any] = trigger.get("metadata", {})
        given = set()
        for key, value in metadata.items():
            from_env = key.endswith("FromEnv")
            name = key.removesuffix("FromEnv")
            order = params.get(name, {}).get("order", [])
            if ("resolvedEnv" if from_env else "triggerMetadata") not in order:
                if "authParams" in order and not from_env:
                    problems.append(
                        f"{key}: read from a TriggerAuthentication (or {key}FromEnv), not from metadata"
                    )
                else:
                    problems.append(f"{key}: not a metadata parameter of KEDA's postgresql scaler")
                continue
            given.add(name)
            text = str(value)
            if from_env:
                if not ENV_NAME.fullmatch(text):
                    problems.append(f"{key}: {text!r} is not an environment variable name")
            elif params[name]["type"] == "number" and not NUMBER.fullmatch(text):
                problems.append(f"{key}: {text!r} is not a number")
        auth = trigger_authentication(docs, trigger)
        for parameter in auth_parameters(auth) if auth is not None else {}:
            if "authParams" not in params.get(parameter, {}).get("order", []):
                problems.append(
                    f"{ident(auth or {})}: {parameter!r} is no parameter KEDA's postgresql scaler reads from it"
                )
            given.add(parameter)
        missing = {n for n, p in params.items() if p.get("required")} - given
        problems += [f"{n}: required by KEDA's postgresql scaler" for n in sorted(missing)]
        target = str(metadata.get("targetQueryValue", ""))
        if "targetQueryValue" in metadata and not (WHOLE.fullmatch(target) and int(target) > 0):
            problems.append(f"targetQueryValue: {target!r} is not a whole number of jobs above 0")
        activation = str(
            metadata.get("activationTargetQueryValue", params["activationTargetQueryValue"]["default"])
        )
        if NUMBER.fullmatch(activation) and float(activation) < 0:
            problems.append(f"activationTargetQueryValue: {activation!r} is below 0 jobs")
    return problems


def check_deployment_selectors(docs: list[Doc]) -> list[str]:
    problems = []
    for doc in of_kind(docs, "Deployment"):
        selector = doc["spec"].get("selector", {})
        labels = doc["spec"]["template"].get("metadata", {}).get("labels", {})
        if set(selector) - {"matchLabels"}:
            problems.append(f"{ident(doc)}: use matchLabels only (this test reads no matchExpressions)")
        if not selects(selector.get("matchLabels", {}), labels):
            problems.append(f"{ident(doc)}: selector {selector} does not match template labels {labels}")
        for other in of_kind(docs, "Deployment"):
            theirs = other["spec"]["template"].get("metadata", {}).get("labels", {})
            if other is not doc and selects(selector.get("matchLabels", {}), theirs):
                problems.append(f"{ident(doc)}: selector {selector} also selects the pods of {ident(other)}")
    return problems


def check_service_selectors(docs: list[Doc]) -> list[str]:
    """Every Service selects a Deployment's pods, and its target ports exist on them."""
    problems = []
    for service in of_kind(docs, "Service"):
        selector = service["spec"].get("selector", {})
        targets = [
            d
            for d in of_kind(docs, "Deployment")
            if selects(selector, d["spec"]["template"].get("metadata", {}).get("labels", {}))
        ]
        if not targets:
            problems.append(f"{ident(service)}: selector {selector} selects no Deployment")
            continue
        ports = [
            p
            for d in targets
            for c in d["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        ]
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port.get("port"))
            if target not in {p.get("name") for p in ports} | {p["containerPort"] for p in ports}:
                problems.append(f"{ident(service)}: targetPort {target!r} is no port of its pods")
    return problems


def probe_port(probe: Doc) -> Any:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if handler in probe:
            return probe[handler].get("port")
    return None


def check_probe_ports(docs: list[Doc]) -> list[str]:
    problems = []
    for where, container, _pod in containers(docs):
        names = {p.get("name") for p in container.get("ports", [])}
        numbers = {p["containerPort"] for p in container.get("ports", [])}
        for kind in PROBES:
            if kind not in container:
                continue
            port = probe_port(container[kind])
            if port is None and "exec" not in container[kind]:
                problems.append(f"{where}: {kind} has no handler")
            elif isinstance(port, str) and port not in names:
                problems.append(f"{where}: {kind} port {port!r} is not a named port of the container")
            elif isinstance(port, int) and port not in numbers:
                problems.append(f"{where}: {kind} port {port} is not a containerPort")
    return problems


def probe_path(container: Doc, kind: str) -> str | None:
    path = container.get(kind, {}).get("httpGet", {}).get("path")
    return None if path is None else str(path)


def probe_seconds(probe: Doc) -> int:
    """How long a probe keeps failing before it acts (Kubernetes' defaults where unset)."""
    return int(probe.get("failureThreshold", 3)) * int(probe.get("periodSeconds", 10))


def check_probes(docs: list[Doc]) -> list[str]:
    """The API: startup, readiness on /ready (503 while the database is down), liveness on
    /health. The worker: liveness on /health behind a startup probe that outlasts a slow model
    load, and a grace period for the batch in hand."""
    problems = []
    api_pod = deployment_running(docs, "serve")["spec"]["template"]["spec"]
    (api,) = [c for c in api_pod["containers"] if command(c) == "serve"]
    for kind, path in (
        ("startupProbe", "/health"),
        ("readinessProbe", "/ready"),
        ("livenessProbe", "/health"),
    ):
        if probe_path(api, kind) != path:
            problems.append(f"api: {kind} must GET {path}, not {probe_path(api, kind)}")
    for pool in worker_pools(docs):
        worker, where = worker_container(pool), ident(pool)
        for kind in ("startupProbe", "livenessProbe"):
            if probe_path(worker, kind) != "/health":
                problems.append(f"{where}: {kind} must GET /health, not {probe_path(worker, kind)}")
        if "startupProbe" in worker and probe_seconds(worker["startupProbe"]) < WORKER_MIN_STARTUP_SECONDS:
            problems.append(
                f"{where}: the startup probe gives up after {probe_seconds(worker['startupProbe'])} s, "
                f"under {WORKER_MIN_STARTUP_SECONDS} s for a model load"
            )
        grace = int(pool["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30))
        if grace < WORKER_MIN_GRACE_SECONDS:
            problems.append(
                f"{where}: terminationGracePeriodSeconds {grace} leaves no time to finish a batch"
            )
    return problems


def autoscaler_targets(docs: list[Doc]) -> list[tuple[str, Doc]]:
    """(autoscaler, its scaleTargetRef) for every HPA and ScaledObject."""
    return [
        (ident(d), d["spec"]["scaleTargetRef"])
        for d in docs
        if d.get("kind") in {"HorizontalPodAutoscaler", "ScaledObject"}
    ]


def check_autoscalers_own_their_deployments(docs: list[Doc]) -> list[str]:
    """Each Deployment's count comes from exactly one place: a fixed `replicas` or one
    autoscaler (a fixed count next to an autoscaler resets it on every apply; two autoscalers
    fight each other; neither leaves a Deployment at one replica unnoticed)."""
    problems = []
    owners: dict[str, list[str]] = {}
    for owner, ref in autoscaler_targets(docs):
        if ref.get("kind", "Deployment") != "Deployment" or ref.get("apiVersion", "apps/v1") != "apps/v1":
            problems.append(f"{owner}: scales {ref}, not an apps/v1 Deployment")
        owners.setdefault(ref["name"], []).append(owner)
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    for name in sorted(set(owners) - set(deployments)):
        problems.append(f"{owners[name]}: no Deployment {name}")
    for name, doc in deployments.items():
        scalers = owners.get(name, [])
        fixed = "replicas" in doc["spec"]
        if fixed and scalers:
            problems.append(f"Deployment/{name}: fixed replicas and autoscaler {scalers}")
        if len(scalers) > 1:
            problems.append(f"Deployment/{name}: scaled by {scalers} at once")
        if not fixed and not scalers:
            problems.append(f"Deployment/{name}: neither replicas nor an autoscaler")
    return problems


def check_scaled_objects_target_worker_pools(docs: list[Doc]) -> list[str]:
    """Every worker pool is scaled by a ScaledObject of its own, and every ScaledObject scales a
    worker pool (by a container it has)."""
    problems = []
    scaled: dict[str, list[str]] = {}
    for so in of_kind(docs, "ScaledObject"):
        ref = so["spec"]["scaleTargetRef"]
        pool = scaled_pool(docs, so)
        if pool is None:
            problems.append(
                f"{ident(so)}: scaleTargetRef names {ref['name']!r}, which is no worker Deployment"
            )
            continue
        scaled.setdefault(pool["metadata"]["name"], []).append(ident(so))
        names = {c["name"] for c in pool["spec"]["template"]["spec"]["containers"]}
        if ref.get("envSourceContainerName", next(iter(names))) not in names:
            problems.append(
                f"{ident(so)}: envSourceContainerName {ref['envSourceContainerName']!r} is no container of {ident(pool)}"
            )
    for pool in worker_pools(docs):
        owners = scaled.get(pool["metadata"]["name"], [])
        if len(owners) != 1:
            problems.append(f"{ident(pool)}: scaled by {owners or 'no ScaledObject'}, not by one of its own")
    return problems


def check_worker_replica_bounds(docs: list[Doc]) -> list[str]:
    """At most one worker of a pool per partition of its models' topics (more sit idle on a
    GPU). Zero workers may be the minimum now that the backlog is counted in the database, which
    needs no worker, but only with a trigger that one waiting job activates: a database count
    active from 1 job up (the Kafka lag stays 0 with no worker, as nothing is dispatched then)."""
    problems = []
    for so in of_kind(docs, "ScaledObject"):
        spec, pool = so["spec"], scaled_pool(docs, so)
        if pool is None:
            problems.append(f"{ident(so)}: scales no worker Deployment")
            continue
        partitions = kafka_partitions(container_env(docs, worker_container(pool)))
        high, low = spec.get("maxReplicaCount", 100), spec.get("minReplicaCount", 0)
        if high > partitions:
            problems.append(
                f"{ident(so)}: maxReplicaCount {high} exceeds the {partitions} partitions of a requests topic"
            )
        if low < 1:
            activations = [
                str(t.get("metadata", {}).get("activationTargetQueryValue", "0"))
                for t in spec["triggers"]
                if t["type"] == "postgresql"
            ]
            if not any(NUMBER.fullmatch(a) and float(a) < 1 for a in activations):
                problems.append(
                    f"{ident(so)}: minReplicaCount {low}: no postgresql trigger with "
                    "activationTargetQueryValue below 1 wakes a worker for the first waiting job"
                )
        if low > high:
            problems.append(f"{ident(so)}: minReplicaCount {low} above maxReplicaCount {high}")
    return problems


def check_postgresql_trigger_matches_code(docs: list[Doc]) -> list[str]:
    """Each pool's query counts what the code queues for it: the rows of its jobs table whose
    status is QUEUED and whose model is the one the pool serves (the jobs table records the
    model that draws each job), and a partial index of exactly the QUEUED rows serves it, so
    the count KEDA runs every poll reads no finished job."""
    problems = []
    for so in of_kind(docs, "ScaledObject"):
        pool = scaled_pool(docs, so)
        served = served_models(pool) if pool is not None else ()
        if len(served) != 1:
            problems.append(f"{ident(so)}: its pool serves {served}: the query counts one model's jobs")
            continue
        problems += [f"{ident(so)}: {p}" for p in query_problems(postgresql_trigger(so), served[0])]
    return problems


def query_problems(trigger: Doc, model: str) -> list[str]:
    query = str(trigger.get("metadata", {}).get("query", ""))
    status, column = jobs_table.c.status.name, jobs_table.c.model.name
    expected = (
        f"SELECT count(*) FROM {jobs_table.name} WHERE {status} = '{JobStatus.QUEUED.value}' "
        f"AND {column} = '{model}'"
    )
    match = COUNT_QUERY.fullmatch(query)
    if match is None:
        return [f"query {query!r}: not a count of the QUEUED jobs of {model} ({expected})"]
    problems = []
    table, by, value = match["table"].lower(), match["column"].lower(), match["value"]
    if table != jobs_table.name:
        problems.append(f"query counts rows of {table!r}: the jobs are in {jobs_table.name!r}")
    if by != status:
        problems.append(f"query selects on {by!r}: the job's state is {status!r}")
    if value != JobStatus.QUEUED.value:
        problems.append(f"query counts status {value!r}: waiting jobs are {JobStatus.QUEUED.value!r}")
    if (match["by"] or "").lower() != column or match["model"] != model:
        problems.append(f"query {query!r} does not count the jobs of {model}, the model its pool serves")
    predicate = f"{by} = '{value}'"
    partial = [
        ix.name
        for ix in jobs_table.indexes
        if ix.dialect_options["postgresql"]["where"] is not None
        and " ".join(str(ix.dialect_options["postgresql"]["where"]).split()) == predicate
    ]
    if table == jobs_table.name and not partial:
        problems.append(f"no partial index of {jobs_table.name} WHERE {predicate} serves the query")
    return problems


def check_postgresql_connection(docs: list[Doc]) -> list[str]:
    """KEDA can open the database: the trigger's connection comes from one place the manifests
    hold, in libpq form. That is a TriggerAuthentication here whose Secret keys are documented
    ones, or a variable of the worker container (connectionFromEnv), or host, port, userName,
    dbName and sslmode given one by one; never the key or variable of NEXUS_IMAGE_DATABASE_URL,
    documented in SQLAlchemy's form (postgresql+psycopg://), which the scaler refuses."""
    problems = []
    for so in of_kind(docs, "ScaledObject"):
        pool = scaled_pool(docs, so)
        if pool is None:
            problems.append(f"{ident(so)}: scales no worker Deployment")
            continue
        problems += [f"{ident(so)}: {p}" for p in connection_problems(docs, postgresql_trigger(so), pool)]
    return problems


def connection_problems(docs: list[Doc], trigger: Doc, pool: Doc) -> list[str]:
    metadata: dict[str, Any] = trigger.get("metadata", {})
    worker = worker_container(pool)
    settings_url = setting_env_name("database_url")
    problems, sources = [], []
    parts: set[str] = {k.removesuffix("FromEnv") for k in metadata}
    ref = trigger.get("authenticationRef")
    auth = trigger_authentication(docs, trigger)
    if ref is not None and auth is None:
        problems.append(f"authenticationRef {ref}: no such TriggerAuthentication in the manifests")
    if auth is not None:
        params = auth_parameters(auth)
        parts |= set(params)
        for item in auth.get("spec", {}).get("secretTargetRef", []):
            if item["name"] != SECRET or item["key"] not in SECRET_KEYS:
                problems.append(
                    f"{ident(auth)}: {item['parameter']} from {item['name']}/{item['key']}, not a documented key of {SECRET}"
                )
            elif item["parameter"] == "connection" and item["key"] == SETTINGS_DATABASE_KEY:
                problems.append(
                    f"{ident(auth)}: connection from {item['key']}, SQLAlchemy's form, not libpq's"
                )
        for item in auth.get("spec", {}).get("env", []):
            if item["name"] not in env_names(docs, worker):
                problems.append(
                    f"{ident(auth)}: {item['parameter']} from {item['name']}, no variable of the worker"
                )
        if "connection" in params:
            sources.append(ident(auth))
    if "connectionFromEnv" in metadata:
        name = str(metadata["connectionFromEnv"])
        sources.append("connectionFromEnv")
        if name not in env_names(docs, worker):
            problems.append(f"connectionFromEnv {name!r}: no variable of the worker container")
        elif name == settings_url or env_secret_key(worker, name) == SETTINGS_DATABASE_KEY:
            problems.append(f"connectionFromEnv {name!r}: {settings_url} is SQLAlchemy's form, not libpq's")
    if len(sources) > 1:
        problems.append(
            f"connection given twice ({', '.join(sources)}): KEDA takes the TriggerAuthentication's"
        )
    connection_parts = json.loads(POSTGRESQL_TRIGGER.read_text())["connectionParts"]
    if not sources and not set(connection_parts) <= parts:
        problems.append(f"no connection: neither a connection nor all of {', '.join(connection_parts)}")
    return problems


def check_model_pools(docs: list[Doc]) -> list[str]:
    """Two pools at least, each naming the models it serves in its worker's own environment (a
    worker without a list of its own would take the ConfigMap's: every model), no model in two
    pools (both autoscalers would count its jobs); the API offers exactly the models the pools
    serve (a model no pool serves keeps its jobs waiting), its default and the styles' models
    among them; and each pool installs every model it serves before its worker starts."""
    problems = []
    pools = worker_pools(docs)
    if len(pools) < 2:
        problems.append(f"{len(pools)} worker pool: two models want a pool each")
    served_by: dict[str, str] = {}
    for pool in pools:
        served = served_models(pool)
        if not served:
            problems.append(f"{ident(pool)}: its worker sets no {setting_env_name('models')} of its own")
        for model in served:
            if model in served_by:
                problems.append(f"{model}: served by {served_by[model]} and {ident(pool)}")
            served_by.setdefault(model, ident(pool))
        problems += install_problems(docs, pool, served)
    api_pod = deployment_running(docs, "serve")["spec"]["template"]["spec"]
    (api,) = [c for c in api_pod["containers"] if command(c) == "serve"]
    env = container_env(docs, api)
    offered = set(model_list(env.get(setting_env_name("models"))))
    if offered != set(served_by):
        problems.append(
            f"the API offers {sorted(offered)}, the pools serve {sorted(served_by)}: "
            f"not served {sorted(offered - set(served_by))}, not offered {sorted(set(served_by) - offered)}"
        )
    default = env.get(setting_env_name("default_model"))
    if default is not None and default not in offered:
        problems.append(f"the API's default model {default!r} is not one it offers")
    for pair in model_list(env.get(setting_env_name("style_models"))):
        if pair.partition("=")[2] not in offered:
            problems.append(f"the API's style model {pair!r} is not one it offers")
    return problems


def install_problems(docs: list[Doc], pool: Doc, served: tuple[str, ...]) -> list[str]:
    """Each model the pool serves is pulled by an init container into the volume its worker
    reads as the model store (`<data dir>/models`), under the name the pool serves it by."""
    data_dir = setting_env_name("data_dir")
    worker = worker_container(pool)
    store = f"{container_env(docs, worker).get(data_dir)}/models"
    volume = {m["mountPath"]: m["name"] for m in worker.get("volumeMounts", [])}.get(store)
    problems = [] if volume else [f"{ident(pool)}: its worker mounts no volume at {store}, the model store"]
    installed = set()
    for init in pool["spec"]["template"]["spec"].get("initContainers", []):
        args = [str(a) for a in init.get("args", [])]
        if args[:2] != ["models", "pull"]:
            continue
        where = f"{ident(pool)}/{init.get('name')}"
        try:
            name = _parser().parse_args(args).name
        except SystemExit:
            problems.append(f"{where}: {args} is no `nexus-image models pull` command")
            continue
        if name is None:
            problems.append(f"{where}: a pull without --name installs under the repository's name")
            continue
        into = f"{container_env(docs, init).get(data_dir)}/models"
        if {m["mountPath"]: m["name"] for m in init.get("volumeMounts", [])}.get(into) != volume:
            problems.append(f"{where}: installs {name} into {into}, not the volume its worker reads")
            continue
        installed.add(name)
    missing = sorted(set(served) - installed)
    if missing:
        problems.append(f"{ident(pool)}: serves {missing}, which no init container installs")
    return problems


def check_disruption_budgets(docs: list[Doc]) -> list[str]:
    """Every Deployment has a PodDisruptionBudget, and none forbids every eviction (a drain
    would hang): maxUnavailable of at least 1, or a minAvailable below the fewest replicas."""
    problems = []
    budgets = of_kind(docs, "PodDisruptionBudget")
    minimum: dict[str, int] = {}  # the fewest replicas each autoscaler leaves
    for doc in docs:
        if doc.get("kind") == "HorizontalPodAutoscaler":
            minimum[doc["spec"]["scaleTargetRef"]["name"]] = doc["spec"].get("minReplicas", 1)
        if doc.get("kind") == "ScaledObject":
            minimum[doc["spec"]["scaleTargetRef"]["name"]] = doc["spec"].get("minReplicaCount", 0)
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [b for b in budgets if selects(b["spec"].get("selector", {}).get("matchLabels", {}), labels)]
        if not mine:
            problems.append(f"Deployment/{name}: no PodDisruptionBudget selects its pods")
        for budget in mine:
            spec = budget["spec"]
            fewest = minimum.get(name, deployment["spec"].get("replicas", 1))
            if "maxUnavailable" in spec and str(spec["maxUnavailable"]) in ("0", "0%"):
                problems.append(f"{ident(budget)}: maxUnavailable 0 blocks every drain")
            if isinstance(spec.get("minAvailable"), int) and spec["minAvailable"] >= fewest:
                problems.append(
                    f"{ident(budget)}: minAvailable {spec['minAvailable']} blocks drains at {fewest} replicas"
                )
            if str(spec.get("minAvailable")) == "100%":
                problems.append(f"{ident(budget)}: minAvailable 100% blocks every drain")
    return problems


def check_resources(docs: list[Doc]) -> list[str]:
    """Requests for scheduling (and the HPA's CPU share), a memory limit, and GPUs requested as
    whole devices (extended resources need requests equal to limits)."""
    problems = []
    for where, container, _pod in containers(docs):
        resources = container.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        for needed in ("cpu", "memory"):
            if needed not in requests:
                problems.append(f"{where}: no {needed} request")
        if "memory" not in limits:
            problems.append(f"{where}: no memory limit")
        for name in (set(requests) | set(limits)) - {"cpu", "memory", "ephemeral-storage"}:
            if requests.get(name) != limits.get(name):
                problems.append(
                    f"{where}: {name} request {requests.get(name)} and limit {limits.get(name)} differ"
                )
    for pool in worker_pools(docs):
        if "nvidia.com/gpu" not in worker_container(pool).get("resources", {}).get("limits", {}):
            problems.append(f"{ident(pool)}: no nvidia.com/gpu")
    return problems


def check_run_as_non_root(docs: list[Doc]) -> list[str]:
    problems = []
    for where, container, pod in containers(docs):
        context, pod_context = container.get("securityContext", {}), pod.get("securityContext", {})
        if context.get("runAsNonRoot") is not True:
            problems.append(f"{where}: securityContext.runAsNonRoot is not true")
        if pod_context.get("runAsNonRoot") is not True:
            problems.append(f"{where}: the pod's securityContext.runAsNonRoot is not true")
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if user != 10001:  # the image's user (deploy/Dockerfile)
            problems.append(f"{where}: runs as user {user}, not 10001")
    return problems


def check_locked_down(docs: list[Doc]) -> list[str]:
    problems = []
    for where, container, pod in containers(docs):
        context, pod_context = container.get("securityContext", {}), pod.get("securityContext", {})
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            problems.append(f"{where}: capabilities do not drop ALL")
        if context.get("capabilities", {}).get("add"):
            problems.append(f"{where}: adds capabilities")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile is {seccomp.get('type')}, not RuntimeDefault")
        if context.get("privileged"):
            problems.append(f"{where}: privileged")
    for owner, pod in pod_specs(docs):
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{owner}: mounts a service account token it never uses")
    return problems


def writable(path: str, mounts: dict[str, Doc]) -> bool:
    return any(
        (path == m or path.startswith(m.rstrip("/") + "/")) and not mount.get("readOnly")
        for m, mount in mounts.items()
    )


def check_writable_paths(docs: list[Doc]) -> list[str]:
    """With a read-only root filesystem, /tmp, the data directory and $HOME must be writable
    volumes; every mount names a volume of the pod."""
    problems = []
    data_dir = setting_env_name("data_dir")
    for where, container, pod in containers(docs):
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
        for mount in mounts.values():
            if mount["name"] not in volumes:
                problems.append(f"{where}: mounts {mount['name']!r}, which is no volume of the pod")
        writable_mounts = {p: m for p, m in mounts.items() if "emptyDir" in volumes.get(m["name"], {})}
        env = container_env(docs, container)
        for what, path in (("/tmp", "/tmp"), (data_dir, env.get(data_dir)), ("HOME", env.get("HOME"))):
            if path is None:
                problems.append(f"{where}: {what} unset (the image's default may change)")
            elif not writable(path, writable_mounts):
                problems.append(f"{where}: {what} {path} is on the read-only root filesystem")
    return problems


def check_images(docs: list[Doc]) -> list[str]:
    """Pinned tags, never latest; each command in the image target built for it."""
    problems = []
    for where, container, _pod in containers(docs):
        image = str(container.get("image", ""))
        repository, _, tag = image.rpartition(":") if ":" in image.rpartition("/")[2] else (image, "", "")
        if "@sha256:" in image:
            repository, tag = image.split("@", 1)[0], "digest"
        if not tag or tag == "latest":
            problems.append(f"{where}: image {image!r} is not pinned to a version")
        expected = IMAGE_FOR_COMMAND.get(command(container))
        if repository.startswith("nexus-image") and repository.rpartition("/")[2] != expected:
            problems.append(f"{where}: `{command(container)}` runs in {repository}, not {expected}")
    return problems


def check_configuration(docs: list[Doc]) -> list[str]:
    """Every ConfigMap and Secret reference exists (operators create only `nexus-image-secrets`,
    with the documented keys), and what each container's environment sets, Settings accepts."""
    problems = []
    maps = {d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")}
    for where, container, _pod in containers(docs):
        for source in container.get("envFrom", []):
            if "configMapRef" in source and source["configMapRef"]["name"] not in maps:
                problems.append(f"{where}: no ConfigMap {source['configMapRef']['name']}")
            if "secretRef" in source:
                problems.append(f"{where}: takes a whole Secret; name the keys it needs instead")
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref and (ref["name"] != SECRET or ref["key"] not in SECRET_KEYS):
                problems.append(
                    f"{where}: {item['name']} from {ref['name']}/{ref['key']}, not a documented key of {SECRET}"
                )
        values = {k: v for k, v in container_env(docs, container).items() if k.startswith("NEXUS_IMAGE_")}
        with mock.patch.dict(os.environ, values, clear=True):
            try:
                settings = Settings()
                if settings.kafka_client_config:
                    client_config("", settings.kafka_client_config)
            except (ValueError, TypeError) as error:
                problems.append(f"{where}: {' '.join(str(error).split())}")
    return problems


def check_jobs(docs: list[Doc]) -> list[str]:
    """The migration Job retries a little, ends, and removes itself (its template cannot change,
    so the next release's apply creates it again); the cleanup CronJob never overlaps itself and
    keeps a short history."""
    problems = []
    jobs = of_kind(docs, "Job")
    if not any(command(c) == "db" for job in jobs for c in job["spec"]["template"]["spec"]["containers"]):
        problems.append("no Job runs `db upgrade`")
    for job in jobs:
        for field in ("backoffLimit", "ttlSecondsAfterFinished", "activeDeadlineSeconds"):
            if field not in job["spec"]:
                problems.append(f"{ident(job)}: no {field}")
    cronjobs = of_kind(docs, "CronJob")
    if not any(command(c) == "maintenance" for _o, c, _p in containers(cronjobs)):
        problems.append("no CronJob runs `maintenance cleanup`")
    for cronjob in cronjobs:
        spec = cronjob["spec"]
        if spec.get("concurrencyPolicy") != "Forbid":
            problems.append(
                f"{ident(cronjob)}: concurrencyPolicy is {spec.get('concurrencyPolicy')}, not Forbid"
            )
        for field in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit", "startingDeadlineSeconds"):
            if field not in spec:
                problems.append(f"{ident(cronjob)}: no {field}")
        if "activeDeadlineSeconds" not in spec["jobTemplate"]["spec"]:
            problems.append(f"{ident(cronjob)}: its jobs have no activeDeadlineSeconds")
    for owner, pod in pod_specs([*jobs, *cronjobs]):
        if pod.get("restartPolicy") not in ("Never", "OnFailure"):
            problems.append(f"{owner}: restartPolicy {pod.get('restartPolicy')}")
    return problems


def check_scrape_annotations(docs: list[Doc]) -> list[str]:
    """Prometheus finds every Deployment's /metrics on a port its container serves, and the
    series there include the queue gauge that shows what the autoscaler's query counts."""
    problems = []
    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    exported = {m.name for m in registry.collect()}
    for name in ("image_generation_queue_size", "image_model_queue_waiting"):
        if name not in exported:
            problems.append(f"the API no longer exports {name} (named in worker-autoscaler.yaml)")
    for deployment in of_kind(docs, "Deployment"):
        template = deployment["spec"]["template"]
        annotations = template.get("metadata", {}).get("annotations", {})
        ports = {str(p["containerPort"]) for c in template["spec"]["containers"] for p in c.get("ports", [])}
        if (
            annotations.get("prometheus.io/scrape") != "true"
            or annotations.get("prometheus.io/port") not in ports
        ):
            problems.append(f"{ident(deployment)}: prometheus.io annotations name no port of its containers")
    return problems


# --- the tests ----------------------------------------------------------------------------------


def test_the_manifests_hold_every_kind_they_should() -> None:
    kinds = {d["kind"] for d in DOCS}
    assert kinds >= {
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
        "CronJob",
        "ScaledObject",
        "TriggerAuthentication",
    }
    assert all(isinstance(d, dict) and d.get("apiVersion") and d.get("kind") for d in DOCS)


def test_kubernetes_validate_is_installed() -> None:
    assert KUBERNETES_VALIDATE.exists(), f"{KUBERNETES_VALIDATE}: install the dev extra"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_kinds_pass_kubernetes_validate_strict(version: str) -> None:
    assert check_kubernetes_validate(DOCS, version) == []


def test_every_document_has_a_schema() -> None:
    assert check_every_document_has_a_schema(DOCS) == []


def test_vendored_keda_schema_names_its_source() -> None:
    for path in [*CRD_SCHEMAS.values(), POSTGRESQL_TRIGGER]:
        data = json.loads(path.read_text())
        assert "github.com/kedacore/keda" in data["$comment"], path
        assert data["x-source"]["release"] == "v2.20.2", path
    schema = crd_schema("keda.sh/v1alpha1", "ScaledObject")
    assert schema["x-source"]["crd"] == "scaledobjects.keda.sh"
    assert {"scaleTargetRef", "triggers"} <= set(schema["properties"]["spec"]["required"])
    auth = crd_schema("keda.sh/v1alpha1", "TriggerAuthentication")
    assert auth["x-source"]["crd"] == "triggerauthentications.keda.sh"
    assert "secretTargetRef" in auth["properties"]["spec"]["properties"]


def test_scaled_object_matches_the_keda_crd_schema() -> None:
    assert check_crd_schemas(DOCS) == []


def test_postgresql_trigger_metadata_is_what_the_postgresql_scaler_reads() -> None:
    assert check_postgresql_trigger_metadata(DOCS) == []


def test_deployment_selectors_match_their_template_labels() -> None:
    assert check_deployment_selectors(DOCS) == []


def test_service_selectors_reach_a_deployment() -> None:
    assert check_service_selectors(DOCS) == []


def test_probe_ports_exist_on_their_containers() -> None:
    assert check_probe_ports(DOCS) == []


def test_probes_survive_a_slow_model_load() -> None:
    assert check_probes(DOCS) == []


def test_no_deployment_has_both_fixed_replicas_and_an_autoscaler() -> None:
    assert check_autoscalers_own_their_deployments(DOCS) == []


def test_each_worker_pool_has_its_own_scaled_object() -> None:
    assert check_scaled_objects_target_worker_pools(DOCS) == []


def test_pools_serve_install_and_offer_the_same_models() -> None:
    assert check_model_pools(DOCS) == []


def test_each_pool_scales_on_its_own_models_jobs() -> None:
    """Two pools, two ScaledObjects, each on its pool's Deployment and its model's jobs."""
    scaled = {so["spec"]["scaleTargetRef"]["name"]: so for so in of_kind(DOCS, "ScaledObject")}
    pools = {pool["metadata"]["name"]: served_models(pool) for pool in worker_pools(DOCS)}
    assert len(pools) >= 2 and set(scaled) == set(pools), (sorted(scaled), sorted(pools))
    for name, (model,) in pools.items():
        match = COUNT_QUERY.fullmatch(postgresql_trigger(scaled[name])["metadata"]["query"])
        assert match is not None and match["model"] == model, (name, model)


def test_workers_never_outnumber_the_partitions() -> None:
    assert check_worker_replica_bounds(DOCS) == []


def test_workers_may_scale_to_zero() -> None:
    """The backlog is counted without a worker, and one waiting job wakes one: minReplicaCount
    0 passes every check that reads it."""
    docs = copy.deepcopy(DOCS)
    so_spec(docs).update(minReplicaCount=0)
    assert check_worker_replica_bounds(docs) == []
    assert check_crd_schemas(docs) == []
    assert check_disruption_budgets(docs) == []


def test_postgresql_triggers_count_the_queued_jobs_of_their_models() -> None:
    assert check_postgresql_trigger_matches_code(DOCS) == []


def test_keda_can_open_the_database() -> None:
    assert check_postgresql_connection(DOCS) == []


def test_every_deployment_has_a_disruption_budget_that_allows_drains() -> None:
    assert check_disruption_budgets(DOCS) == []


def test_every_container_has_resources() -> None:
    assert check_resources(DOCS) == []


def test_every_container_runs_as_non_root() -> None:
    assert check_run_as_non_root(DOCS) == []


def test_every_container_is_locked_down() -> None:
    assert check_locked_down(DOCS) == []


def test_writable_paths_are_volumes() -> None:
    assert check_writable_paths(DOCS) == []


def test_images_are_pinned_and_match_their_command() -> None:
    assert check_images(DOCS) == []


def test_configuration_references_exist_and_settings_accept_them() -> None:
    assert check_configuration(DOCS) == []


def test_jobs_end_and_never_overlap() -> None:
    assert check_jobs(DOCS) == []


def test_metrics_are_scraped_where_they_are_served() -> None:
    assert check_scrape_annotations(DOCS) == []


# --- every check fails on a broken manifest -----------------------------------------------------


def api(docs: list[Doc]) -> Doc:
    return named(docs, "Deployment", "image-generation-api")


def worker(docs: list[Doc]) -> Doc:
    return named(docs, "Deployment", "image-generation-worker")


def anime(docs: list[Doc]) -> Doc:
    return named(docs, "Deployment", "image-generation-worker-anime")


def anime_install(docs: list[Doc]) -> Doc:
    (init,) = anime(docs)["spec"]["template"]["spec"]["initContainers"]
    found: Doc = init
    return found


def anime_env(docs: list[Doc]) -> list[Doc]:
    env: list[Doc] = first_container(anime(docs))["env"]
    return env


def first_container(doc: Doc) -> Doc:
    template = pod_template(doc)
    assert template is not None
    container: Doc = template["spec"]["containers"][0]
    return container


def config(docs: list[Doc]) -> dict[str, str]:
    data: dict[str, str] = named(docs, "ConfigMap", "nexus-image-config")["data"]
    return data


def so_spec(docs: list[Doc], name: str = "image-generation-worker") -> Doc:
    spec: Doc = named(docs, "ScaledObject", name)["spec"]
    return spec


def sd15_trigger(docs: list[Doc]) -> Doc:
    return postgresql_trigger(named(docs, "ScaledObject", "image-generation-worker"))


def queued(docs: list[Doc]) -> Doc:
    metadata: Doc = sd15_trigger(docs)["metadata"]
    return metadata


def database_auth(docs: list[Doc]) -> Doc:
    return named(docs, "TriggerAuthentication", "image-generation-database")


def connection_ref(docs: list[Doc]) -> Doc:
    (ref,) = [r for r in database_auth(docs)["spec"]["secretTargetRef"] if r["parameter"] == "connection"]
    found: Doc = ref
    return found


def connect_from_env(docs: list[Doc], name: str) -> None:
    sd15_trigger(docs).pop("authenticationRef")
    queued(docs).update(connectionFromEnv=name)


def kubernetes_validate_130(docs: list[Doc]) -> list[str]:
    return check_kubernetes_validate(docs, KUBERNETES_VERSIONS[0])


BROKEN: list[tuple[Check, str, Callable[[list[Doc]], Any]]] = [
    (kubernetes_validate_130, "unknown field", lambda d: api(d)["spec"].update(replica=2)),
    (kubernetes_validate_130, "unknown apiVersion", lambda d: api(d).update(apiVersion="apps/v2")),
    (
        kubernetes_validate_130,
        "wrong type",
        lambda d: first_container(worker(d)).update(ports=[{"containerPort": "9464"}]),
    ),
    (
        check_every_document_has_a_schema,
        "unchecked kind",
        lambda d: d.append(
            {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"}}
        ),
    ),
    (check_crd_schemas, "unknown field", lambda d: so_spec(d).update(maxReplicas=6)),
    (check_crd_schemas, "metadata not a string", lambda d: queued(d).update(targetQueryValue=12)),
    (
        check_crd_schemas,
        "unknown TriggerAuthentication field",
        lambda d: database_auth(d)["spec"].update(secretTargetRefs=[]),
    ),
    (
        check_crd_schemas,
        "min above max",
        lambda d: so_spec(d).update(minReplicaCount=so_spec(d)["maxReplicaCount"] + 1),
    ),
    (check_crd_schemas, "no triggers", lambda d: so_spec(d).pop("triggers")),
    (
        check_postgresql_trigger_metadata,
        "misspelt key",
        lambda d: queued(d).update(targetValue=queued(d).pop("targetQueryValue")),
    ),
    (
        check_postgresql_trigger_metadata,
        "not a number",
        lambda d: queued(d).update(activationTargetQueryValue="none"),
    ),
    (
        check_postgresql_trigger_metadata,
        "fractional target",
        lambda d: queued(d).update(targetQueryValue="12.5"),
    ),
    (check_postgresql_trigger_metadata, "zero target", lambda d: queued(d).update(targetQueryValue="0")),
    (check_postgresql_trigger_metadata, "no query", lambda d: queued(d).pop("query")),
    (
        check_postgresql_trigger_metadata,
        "secret in metadata",
        lambda d: queued(d).update(connection="postgresql://nexus:secret@db:5432/nexus"),
    ),
    (
        check_postgresql_trigger_metadata,
        "bad env name",
        lambda d: queued(d).update(passwordFromEnv="database password"),
    ),
    (
        check_postgresql_trigger_metadata,
        "unknown auth parameter",
        lambda d: connection_ref(d).update(parameter="connectionString"),
    ),
    (
        check_deployment_selectors,
        "labels differ",
        lambda d: worker(d)["spec"]["template"]["metadata"]["labels"].update(component="gpu"),
    ),
    (
        check_deployment_selectors,
        "overlapping pools",
        lambda d: anime(d)["spec"]["selector"]["matchLabels"].pop("model"),
    ),
    (
        check_service_selectors,
        "selects nothing",
        lambda d: named(d, "Service", "image-generation-api")["spec"]["selector"].update(component="web"),
    ),
    (
        check_service_selectors,
        "no such port",
        lambda d: named(d, "Service", "image-generation-api")["spec"]["ports"][0].update(targetPort="web"),
    ),
    (
        check_probe_ports,
        "no such port",
        lambda d: first_container(worker(d))["livenessProbe"]["httpGet"].update(port="metric"),
    ),
    (
        check_probe_ports,
        "no such number",
        lambda d: first_container(api(d))["readinessProbe"]["httpGet"].update(port=8080),
    ),
    (
        check_probes,
        "short startup",
        lambda d: first_container(worker(d))["startupProbe"].update(failureThreshold=30),
    ),
    (check_probes, "no startup probe", lambda d: first_container(worker(d)).pop("startupProbe")),
    (
        check_probes,
        "readiness on /health",
        lambda d: first_container(api(d))["readinessProbe"]["httpGet"].update(path="/health"),
    ),
    (
        check_probes,
        "no grace",
        lambda d: worker(d)["spec"]["template"]["spec"].pop("terminationGracePeriodSeconds"),
    ),
    (check_probes, "second pool without startup", lambda d: first_container(anime(d)).pop("startupProbe")),
    (
        check_autoscalers_own_their_deployments,
        "fixed replicas",
        lambda d: worker(d)["spec"].update(replicas=2),
    ),
    (
        check_autoscalers_own_their_deployments,
        "two autoscalers",
        lambda d: named(d, "HorizontalPodAutoscaler", "image-generation-api")["spec"][
            "scaleTargetRef"
        ].update(name="image-generation-worker"),
    ),
    (
        check_scaled_objects_target_worker_pools,
        "wrong target",
        lambda d: so_spec(d)["scaleTargetRef"].update(name="image-generation-api"),
    ),
    (
        check_scaled_objects_target_worker_pools,
        "wrong container",
        lambda d: so_spec(d)["scaleTargetRef"].update(envSourceContainerName="gpu"),
    ),
    (
        check_scaled_objects_target_worker_pools,
        "both on one pool",
        lambda d: so_spec(d, "image-generation-worker-anime")["scaleTargetRef"].update(
            name="image-generation-worker"
        ),
    ),
    (
        check_model_pools,
        "one pool",
        lambda d: d.remove(anime(d)),
    ),
    (
        check_model_pools,
        "no list of its own",
        lambda d: anime_env(d).remove(next(e for e in anime_env(d) if e["name"] == "NEXUS_IMAGE_MODELS")),
    ),
    (
        check_model_pools,
        "a model in two pools",
        lambda d: next(e for e in anime_env(d) if e["name"] == "NEXUS_IMAGE_MODELS").update(
            value="anything-v5,sd15"
        ),
    ),
    (
        check_model_pools,
        "offered, served by none",
        lambda d: config(d).update(NEXUS_IMAGE_MODELS="sd15,anything-v5,sdxl"),
    ),
    (check_model_pools, "served, not offered", lambda d: config(d).update(NEXUS_IMAGE_MODELS="sd15")),
    (check_model_pools, "default not offered", lambda d: config(d).update(NEXUS_IMAGE_DEFAULT_MODEL="sdxl")),
    (
        check_model_pools,
        "style model not offered",
        lambda d: config(d).update(NEXUS_IMAGE_STYLE_MODELS="anime=anything-v4"),
    ),
    (
        check_model_pools,
        "pulls another name",
        lambda d: anime_install(d).update(
            args=["models", "pull", "stablediffusionapi/anything-v5", "--name", "anything-v4"]
        ),
    ),
    (
        check_model_pools,
        "pull without a name",
        lambda d: anime_install(d).update(args=["models", "pull", "stablediffusionapi/anything-v5"]),
    ),
    (
        check_model_pools,
        "installs beside the store",
        lambda d: anime_install(d).update(
            volumeMounts=[
                {"name": "data", "mountPath": "/var/lib/nexus-image"},
                {"name": "tmp", "mountPath": "/tmp"},
            ]
        ),
    ),
    (
        check_model_pools,
        "no install",
        lambda d: anime(d)["spec"]["template"]["spec"].pop("initContainers"),
    ),
    (check_worker_replica_bounds, "beyond partitions", lambda d: so_spec(d).update(maxReplicaCount=10)),
    (
        check_worker_replica_bounds,
        "second pool beyond partitions",
        lambda d: so_spec(d, "image-generation-worker-anime").update(maxReplicaCount=7),
    ),
    (
        check_worker_replica_bounds,
        "fewer partitions",
        lambda d: config(d).update(NEXUS_IMAGE_KAFKA_PARTITIONS="4"),
    ),
    (
        check_worker_replica_bounds,
        "zero that nothing wakes",
        lambda d: (so_spec(d).update(minReplicaCount=0), queued(d).update(activationTargetQueryValue="5")),
    ),
    (
        check_worker_replica_bounds,
        "zero on the lag",
        lambda d: so_spec(d).update(
            minReplicaCount=0,
            triggers=[
                {"type": "kafka", "metadata": {"topic": "image.generation.requests", "lagThreshold": "12"}}
            ],
        ),
    ),
    (
        check_postgresql_trigger_matches_code,
        "wrong table",
        lambda d: queued(d).update(query="SELECT count(*) FROM job WHERE status = 'QUEUED'"),
    ),
    (
        check_postgresql_trigger_matches_code,
        "wrong status",
        lambda d: queued(d).update(query="SELECT count(*) FROM jobs WHERE status = 'PENDING'"),
    ),
    (
        check_postgresql_trigger_matches_code,
        "wrong column",
        lambda d: queued(d).update(query="SELECT count(*) FROM jobs WHERE state = 'QUEUED'"),
    ),
    (
        check_postgresql_trigger_matches_code,
        "every job",
        lambda d: queued(d).update(query="SELECT count(*) FROM jobs"),
    ),
    (
        check_postgresql_trigger_matches_code,
        "every model",
        lambda d: queued(d).update(query="SELECT count(*) FROM jobs WHERE status = 'QUEUED'"),
    ),
    (
        check_postgresql_trigger_matches_code,
        "another model",
        lambda d: queued(d).update(
            query="SELECT count(*) FROM jobs WHERE status = 'QUEUED' AND model = 'anything-v5'"
        ),
    ),
    (
        check_postgresql_trigger_matches_code,
        "another column",
        lambda d: queued(d).update(
            query="SELECT count(*) FROM jobs WHERE status = 'QUEUED' AND style = 'sd15'"
        ),
    ),
    (
        check_postgresql_connection,
        "no TriggerAuthentication",
        lambda d: d.remove(database_auth(d)),
    ),
    (check_postgresql_connection, "no connection", lambda d: sd15_trigger(d).pop("authenticationRef")),
    (check_postgresql_connection, "undocumented key", lambda d: connection_ref(d).update(key="db-url")),
    (check_postgresql_connection, "SQLAlchemy URL", lambda d: connection_ref(d).update(key="database-url")),
    (
        check_postgresql_connection,
        "settings variable",
        lambda d: connect_from_env(d, "NEXUS_IMAGE_DATABASE_URL"),
    ),
    (
        check_postgresql_connection,
        "no such variable",
        lambda d: connect_from_env(d, "AUTOSCALER_DATABASE_URL"),
    ),
    (
        check_postgresql_connection,
        "given twice",
        lambda d: queued(d).update(connectionFromEnv="NEXUS_IMAGE_S3_ENDPOINT"),
    ),
    (
        check_disruption_budgets,
        "no budget",
        lambda d: d.remove(named(d, "PodDisruptionBudget", "image-generation-worker")),
    ),
    (
        check_disruption_budgets,
        "blocks drains",
        lambda d: named(d, "PodDisruptionBudget", "image-generation-api")["spec"].update(maxUnavailable=0),
    ),
    (
        check_disruption_budgets,
        "minAvailable at minimum",
        lambda d: named(d, "PodDisruptionBudget", "image-generation-api").update(
            spec={
                "minAvailable": 2,
                "selector": {"matchLabels": {"app": "image-generation", "component": "api"}},
            }
        ),
    ),
    (check_resources, "no resources", lambda d: first_container(api(d)).pop("resources")),
    (
        check_resources,
        "second pool without a GPU",
        lambda d: (
            first_container(anime(d))["resources"]["requests"].pop("nvidia.com/gpu"),
            first_container(anime(d))["resources"]["limits"].pop("nvidia.com/gpu"),
        ),
    ),
    (
        check_resources,
        "gpu limit only",
        lambda d: first_container(worker(d))["resources"]["requests"].pop("nvidia.com/gpu"),
    ),
    (
        check_resources,
        "job without",
        lambda d: first_container(named(d, "CronJob", "image-generation-cleanup")).pop("resources"),
    ),
    (
        check_run_as_non_root,
        "container",
        lambda d: first_container(named(d, "Job", "image-generation-migrate"))["securityContext"].pop(
            "runAsNonRoot"
        ),
    ),
    (
        check_run_as_non_root,
        "root",
        lambda d: first_container(worker(d))["securityContext"].update(runAsUser=0),
    ),
    (
        check_locked_down,
        "writable root",
        lambda d: first_container(worker(d))["securityContext"].update(readOnlyRootFilesystem=False),
    ),
    (
        check_locked_down,
        "capabilities",
        lambda d: first_container(api(d))["securityContext"]["capabilities"].update(drop=[]),
    ),
    (
        check_locked_down,
        "seccomp",
        lambda d: api(d)["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile"),
    ),
    (
        check_locked_down,
        "escalation",
        lambda d: first_container(api(d))["securityContext"].pop("allowPrivilegeEscalation"),
    ),
    (
        check_locked_down,
        "token",
        lambda d: worker(d)["spec"]["template"]["spec"].pop("automountServiceAccountToken"),
    ),
    (
        check_writable_paths,
        "no /tmp",
        lambda d: first_container(worker(d)).update(
            volumeMounts=[m for m in first_container(worker(d))["volumeMounts"] if m["mountPath"] != "/tmp"]
        ),
    ),
    (check_writable_paths, "data dir elsewhere", lambda d: config(d).update(NEXUS_IMAGE_DATA_DIR="/data")),
    (
        check_writable_paths,
        "no such volume",
        lambda d: worker(d)["spec"]["template"]["spec"]["volumes"].pop(0),
    ),
    (check_images, "latest", lambda d: first_container(api(d)).update(image="nexus-image-api:latest")),
    (
        check_images,
        "no tag",
        lambda d: first_container(worker(d)).update(image="registry.example.com:5000/nexus-image-worker"),
    ),
    (
        check_images,
        "wrong target",
        lambda d: first_container(worker(d)).update(image="nexus-image-api:0.1.0"),
    ),
    (check_images, "pull in the API image", lambda d: anime_install(d).update(image="nexus-image-api:0.1.0")),
    (
        check_configuration,
        "unknown secret key",
        lambda d: first_container(api(d))["env"][-1]["valueFrom"]["secretKeyRef"].update(key="jwt-key"),
    ),
    (
        check_configuration,
        "no such ConfigMap",
        lambda d: first_container(worker(d))["envFrom"][0]["configMapRef"].update(name="nexus-config"),
    ),
    (check_configuration, "invalid setting", lambda d: config(d).update(NEXUS_IMAGE_KAFKA_PARTITIONS="six")),
    (
        check_configuration,
        "undocumented hub token key",
        lambda d: anime_install(d)["env"][-1]["valueFrom"]["secretKeyRef"].update(key="huggingface"),
    ),
    (check_configuration, "not a model name", lambda d: config(d).update(NEXUS_IMAGE_MODELS="SD 1.5")),
    (
        check_configuration,
        "client config not JSON",
        lambda d: config(d).update(NEXUS_IMAGE_KAFKA_CLIENT_CONFIG="session.timeout.ms=20000"),
    ),
    (
        check_jobs,
        "overlapping",
        lambda d: named(d, "CronJob", "image-generation-cleanup")["spec"].update(concurrencyPolicy="Allow"),
    ),
    (
        check_jobs,
        "job stays",
        lambda d: named(d, "Job", "image-generation-migrate")["spec"].pop("ttlSecondsAfterFinished"),
    ),
    (
        check_jobs,
        "no history limit",
        lambda d: named(d, "CronJob", "image-generation-cleanup")["spec"].pop("failedJobsHistoryLimit"),
    ),
    (
        check_scrape_annotations,
        "wrong port",
        lambda d: worker(d)["spec"]["template"]["metadata"]["annotations"].update(
            {"prometheus.io/port": "9090"}
        ),
    ),
]


@pytest.mark.parametrize(
    ("check", "breakage", "mutate"), BROKEN, ids=[f"{c.__name__}-{b}" for c, b, _ in BROKEN]
)
def test_every_check_catches_a_broken_manifest(
    check: Check, breakage: str, mutate: Callable[[list[Doc]], Any]
) -> None:
    docs = copy.deepcopy(DOCS)
    assert check(docs) == [], "the manifests as shipped must pass"
    mutate(docs)
    assert check(docs), f"{check.__name__} misses: {breakage}"


def test_every_check_has_a_broken_case() -> None:
    checks = {name for name in globals() if name.startswith("check_")} - {"check_kubernetes_validate"}
    covered = {c.__name__ for c, _, _ in BROKEN} - {"kubernetes_validate_130"}
    assert checks == covered
