"""Each role runs with only its extra's packages: `pip install 'nexus-image[worker]'` gives a
worker (plus torch, which is installed first on purpose), `'nexus-image[api]'` an API.

The check runs the role in a child process that sees only the installed files of the extra's
requirement closure (every other distribution is absent, as in a fresh install): the worker loads
the tiny pipeline and serves /health and /metrics; the API serves /health, /ready, /metrics
and its OpenAPI document over HTTP, with the moderation it falls back to."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "nexus-image"
INSTALLED_FIRST = frozenset({"torch"})  # the README installs torch first, pinned, for the worker role


def closure(extra: str) -> set[str]:
    """Canonical names of the distributions `nexus-image[extra]` pulls in, transitively."""
    wanted: list[tuple[str, frozenset[str]]] = [(PROJECT, frozenset({extra}))]
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(canonicalize_name(name))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # an optional requirement not installed here
        for line in requires:
            requirement = Requirement(line)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if requirement.marker is not None and not any(
                requirement.marker.evaluate(env) for env in environments
            ):
                continue
            wanted.append((requirement.name, frozenset(requirement.extras)))
    return names


def site_with_only(allowed: set[str], folder: Path) -> Path:
    """A site-packages folder holding links to the installed files of the `allowed`
    distributions only (modules, their metadata, their bundled libraries): what a fresh
    `pip install` of the extra would leave, minus the copying."""
    site = folder / "site-packages"
    site.mkdir()
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) not in allowed:
            continue
        base = Path(str(dist.locate_file("")))
        for entry in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            source, target = base / entry, site / entry
            if source.exists() and not target.exists() and not entry.endswith(".pth"):
                target.symlink_to(source)
    return site


DISTRIBUTED = """
import importlib
for name in ("nexus_image.adapters.kafka", "nexus_image.adapters.minio", "nexus_image.adapters.sqlalchemy",
             "psycopg", "confluent_kafka", "minio"):
    importlib.import_module(name)  # what the distributed deployment adds to the embedded one
"""

WORKER = (
    DISTRIBUTED
    + """
import json, sys, urllib.request
from pathlib import Path
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
data, model = Path(sys.argv[1]), sys.argv[2]
app = compose("worker", Settings(data_dir=data, model=model, threads=1))
app.container.generator().load()
runtime = app.runtime
port = app.serve_metrics(0)
health = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read().decode()
metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
checker = app.container.image_checker()
print(json.dumps({"health": health, "metrics": "image_generation_finished_total" in metrics,
                  "checker": None if checker is None else checker.name,
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
app.close()
"""
)

API = (
    DISTRIBUTED
    + """
import json, socket, sys, threading, time, urllib.request
from pathlib import Path
import uvicorn
from nexus_image.entrypoints.composition import compose, http_app
from nexus_image.entrypoints.settings import Settings
data = Path(sys.argv[1])
app = compose("api", Settings(data_dir=data))
asgi = http_app(app)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning"))
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.05)
def get(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.status, r.read().decode()
result = {path: get(path)[0] for path in ("/health", "/ready", "/metrics", "/schema/openapi.json")}
verdict = app.container.moderator().check("a lighthouse at dawn")
result["moderation_allows"] = verdict.allowed
result["layers"] = list(app.container.moderator().layers)
result["modules"] = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(result))
server.should_exit = True
time.sleep(0.5)
app.close()
"""
)


def run_role(
    extra: str, script: str, tmp_path: Path, *args: str, allow: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Runs `script` with no site-packages but the extra's (python -S, the links on PYTHONPATH,
    and the project's sources, as its editable install would give)."""
    allowed = closure(extra) | {canonicalize_name(a) for a in allow}
    site = site_with_only(allowed, tmp_path)
    env = {
        "PYTHONPATH": f"{ROOT / 'src'}:{site}",
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"the {extra} role failed with only its extra:\n{result.stderr[-4000:]}"
    # The script prints its findings as one JSON line; the server's thread may log a request
    # line after it, so the last line that is a JSON object is the one.
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    found: dict[str, Any] = json.loads(lines[-1])
    return found


def test_the_extras_closures_differ_where_the_roles_do() -> None:
    api, worker = closure("api"), closure("worker")
    assert {"litestar", "uvicorn", "pyjwt"} <= api and not {"litestar", "uvicorn"} & worker
    assert {"diffusers", "transformers", "nvidia-ml-py", "prometheus-client", "structlog"} <= worker
    assert "diffusers" not in api and "nudenet" not in api | worker
    assert {"psycopg", "confluent-kafka", "minio"} <= api & worker


def test_the_worker_role_runs_with_only_the_worker_extra(tmp_path: Path, tiny_folder: Path) -> None:
    found = run_role(
        "worker", WORKER, tmp_path, str(tmp_path / "data"), str(tiny_folder), allow=INSTALLED_FIRST
    )
    assert json.loads(found["health"]) == {"status": "ok"}
    assert found["metrics"] is True
    assert found["checker"] is None  # the output check is the `safety` extra: off without it
    assert not set(found["modules"]) & {"litestar", "uvicorn", "nudenet", "onnxruntime"}
    assert {"diffusers", "torch", "confluent_kafka", "psycopg"} <= set(found["modules"])


def test_the_api_role_runs_with_only_the_api_extra(tmp_path: Path) -> None:
    found = run_role("api", API, tmp_path, str(tmp_path / "data"))
    for path in ("/health", "/ready", "/metrics", "/schema/openapi.json"):
        assert found[path] == 200, path
    assert found["moderation_allows"] is True
    assert found["layers"] == ["rules"]  # the semantic layer is the `moderation` extra
    assert not set(found["modules"]) & {"torch", "diffusers", "numpy", "transformers"}
    assert {"litestar", "uvicorn", "jwt", "prometheus_client"} <= set(found["modules"])
