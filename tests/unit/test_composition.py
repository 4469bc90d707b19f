"""The composition root: one container builds every role from the settings, applied at
construction; nothing else in the package builds an adapter or a use case."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.application import GenerateImage
from nexus_image.entrypoints.composition import ROLES, compose, plan_for
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import ManualClock, PatternGenerator

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "nexus_image"

USE_CASES = {
    "RequestGeneration",
    "CancelGeneration",
    "ImageQueries",
    "ManageImages",
    "ManageAlbums",
    "ManageTokens",
    "RecordAudit",
    "RelayOutbox",
    "CleanupFailedJobs",
    "ApplyRetention",
    "RecoverStalledJobs",
    "RedeliverQueuedJobs",
    "ProcessJobs",
    "ImageService",
}
ADAPTERS = {
    "SqlDatabase",
    "FileStorage",
    "S3ObjectStorage",
    "KafkaEventPublisher",
    "KafkaJobQueue",
    "KafkaLivePublisher",
    "InMemoryQueue",
    "LiveEventBroadcaster",
    "TeePublisher",
    "SlidingLogLimiter",
    "SqlRateLimiter",
    "PrometheusMetrics",
    "DiffusersGenerator",
    "PillowEncoder",
    "RuleBasedModerator",
    "SystemClock",
    "UuidGenerator",
    "RandomSeeds",
    "MemoryStore",
    "InMemoryStorage",
    "PatternGenerator",
}


def constructed(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            names.add(name)
    return names


def test_only_the_composition_root_constructs_use_cases_and_adapters() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("adapters/", "entrypoints/composition/", "testing/")):
            continue  # adapters build their own parts; the root builds the rest
        found = constructed(path) & (USE_CASES | ADAPTERS)
        if found:
            offenders[relative] = sorted(found)
    assert offenders == {}


def settings(tmp_path: Path, **fields: Any) -> Settings:
    return Settings.model_construct(data_dir=tmp_path, **fields)


def test_each_role_gets_its_adapters_from_the_settings(tmp_path: Path) -> None:
    local = settings(tmp_path)
    distributed = settings(
        tmp_path,
        database_url="postgresql+psycopg://db/x",
        kafka_bootstrap_servers="kafka:9092",
        s3_endpoint="http://minio:9000",
    )
    memory = plan_for("memory", local)
    assert (memory.database, memory.storage, memory.messaging, memory.generator) == (
        "memory",
        "memory",
        "memory",
        "pattern",
    )
    embedded = plan_for("embedded", local)
    assert (embedded.database, embedded.storage, embedded.messaging) == ("sql", "files", "memory")
    assert embedded.publisher == "tee" and embedded.live == "local" and embedded.recover_previous_run
    api = plan_for("api", distributed)
    assert (api.storage, api.messaging, api.generator) == ("s3", "kafka", "none")
    worker = plan_for("worker", distributed)
    assert (worker.publisher, worker.live, worker.metrics) == ("direct", "kafka", "prometheus")
    assert not plan_for("embedded", distributed).recover_previous_run  # the broker kept the queue
    assert plan_for("cli", local).metrics == "null"
    with pytest.raises(ValueError, match="unknown role"):
        compose("gpu", local)
    assert set(ROLES) == {"embedded", "api", "worker", "cli", "memory", "dispatcher"}
    dispatcher = plan_for("dispatcher", distributed)
    assert (dispatcher.database, dispatcher.messaging, dispatcher.generator) == ("sql", "kafka", "none")


def test_settings_are_applied_at_construction_and_both_worker_roles_run_the_same_loops(
    tmp_path: Path,
) -> None:
    s = settings(
        tmp_path, lease_seconds=40, max_attempts=5, max_batch=3, batch_wait_seconds=0.2, worker_relay=False
    )
    embedded = compose("embedded", s, generator=PatternGenerator())
    worker = compose("worker", s, generator=PatternGenerator(), worker_id="gpu-1")
    try:
        for app in (embedded, worker):
            assert app.service.worker.claim.lease.total_seconds() == 40
            assert app.service.recover.max_attempts == 5
            runtime = app.runtime
            assert (runtime.max_batch, runtime.batch_wait_seconds) == (3, 0.2)
            assert runtime.recovery_every_seconds == 20.0
        assert embedded.runtime.relay and not worker.runtime.relay  # NEXUS_IMAGE_WORKER_RELAY
        assert not embedded.runtime.exit_on_model_error and worker.runtime.exit_on_model_error
        assert worker.service.worker.claim.worker_id == "gpu-1"
        assert embedded.service.worker.claim.worker_id.startswith("embedded-")
        assert embedded.service.worker.render.batch_generator is embedded.generator
    finally:
        embedded.close()
        worker.close()


def test_the_api_role_does_not_generate_and_builds_only_what_it_is_asked_for(tmp_path: Path) -> None:
    app = compose("api", settings(tmp_path))
    with pytest.raises(RuntimeError, match="does not generate"):
        _ = app.service.worker
    assert app.generator is None
    app.close()
    assert not (tmp_path / "models").exists()  # no model was built or cached


def test_overrides_replace_providers_by_name(tmp_path: Path) -> None:
    clock, queue = ManualClock(), InMemoryQueue()
    app = compose("memory", settings(tmp_path, welcome_tokens=7), clock=clock, in_process_queue=queue)
    view = app.service.request_generation(GenerateImage(user_id="u", prompt="a heron", steps=2))
    assert view.created_at == clock.now()
    assert app.service.tokens.balance("u").balance == 7 - view.tokens_cost
    assert app.run_queued() == 1 and queue.size() == 0
    assert app.service.get_image("u", view.id).status == "COMPLETED"
    with pytest.raises(TypeError, match="no provider named 'clocks'"):
        compose("memory", settings(tmp_path), clocks=clock)


def test_a_stop_asked_before_the_runtime_starts_is_kept_and_a_restart_is_a_new_run(tmp_path: Path) -> None:
    app = compose("embedded", settings(tmp_path), generator=PatternGenerator())
    try:
        runtime = app.runtime
        runtime.stop_event.set()  # a SIGTERM while the process was still starting
        began = time.monotonic()
        runtime.run()
        assert time.monotonic() - began < 10
        assert runtime.model_state == "not started" and not runtime.ready.is_set()
        runtime.start()  # started again after that stop: a new run, which gets ready
        assert runtime.ready.wait(10) and not runtime.stop_event.is_set()
        runtime.stop()
        assert runtime.stop_event.is_set()
    finally:
        app.close()
