"""Prometheus metrics from the use cases and the HTTP layer; JSON logs carrying the request id
and the user id; the health and readiness probes."""

from __future__ import annotations

import io
import json
from typing import Any

from .conftest import Api

SIX_SERIES = (
    'image_generation_requests_total{resolution="768x768",style="anime"} 1.0',
    'image_generation_duration_seconds_count{resolution="512x512"} 1.0',
    "image_generation_queue_size 0.0",
    'image_generation_failures_total{resolution="768x768"} 1.0',
    "tokens_consumed_total 15.0",
    "s3_upload_duration_seconds_count 2.0",
    'image_finish_stage_duration_seconds_count{stage="encode"} 1.0',
    'image_finish_stage_duration_seconds_count{stage="store"} 1.0',
    'image_finish_stage_duration_seconds_count{stage="settle"} 1.0',
)


def test_metrics_expose_the_six_business_series_and_http_latency(api: Api) -> None:
    gauges = api.container.queue_gauges()  # its loop refreshes every few seconds; here, on demand
    api.generate()
    gauges.refresh()
    assert "image_generation_queue_size 1.0" in api.client.get("/metrics").text
    api.run_jobs()
    api.generator.fail_with = RuntimeError("out of memory")
    api.generate(style="anime", resolution="768x768")
    api.run_jobs()
    gauges.refresh()
    response = api.client.get("/metrics")  # public: no token needed
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    for series in SIX_SERIES:
        assert series in response.text, series
    assert (
        'http_request_duration_seconds_count{method="POST",route="/api/v1/images/generate",status="201"} 2.0'
        in response.text
    )
    assert (
        'http_request_duration_seconds_bucket{le="0.1",method="GET",route="/metrics",status="200"}'
        in response.text
    )


def test_a_database_outage_leaves_metrics_up_with_the_last_queue_size(api: Api) -> None:
    gauges = api.container.queue_gauges()
    api.generate()
    assert gauges.refresh()
    api.db.failure = ConnectionError("database down")
    assert not gauges.refresh()
    response = api.client.get("/metrics")  # a scrape never queries the database
    assert response.status_code == 200
    assert "image_generation_queue_size 1.0" in response.text


def test_responses_are_counted_by_status_class_from_zero(api: Api) -> None:
    first = api.client.get("/metrics").text  # counted once it has been answered
    for status_class in ("1xx", "2xx", "3xx", "4xx", "5xx"):
        assert f'http_responses_total{{status_class="{status_class}"}}' in first
    assert 'http_responses_total{status_class="5xx"} 0.0' in first
    assert api.client.get("/api/v1/images/no-such-job").status_code in (401, 404)
    api.db.failure = ConnectionError("database down")
    assert api.client.get("/ready").status_code == 503
    api.db.failure = None
    text = api.client.get("/metrics").text
    assert 'http_responses_total{status_class="5xx"} 1.0' in text
    assert 'http_responses_total{status_class="4xx"} 1.0' in text
    assert 'http_responses_total{status_class="2xx"} 1.0' in text  # the first scrape


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_log_line_of_a_request_carries_its_request_id_and_user(
    api: Api, log_lines: io.StringIO
) -> None:
    response = api.request(
        "POST", "/images/generate", json={"prompt": "a fox"}, headers={"X-Request-ID": "req-42"}
    )
    assert response.headers["x-request-id"] == "req-42"
    api.request("GET", "/images/no-such-image", headers={"X-Request-ID": "req-43"})
    lines = records(log_lines)
    access = [r for r in lines if r["event"] == "request"]
    assert [(r["request_id"], r["user_id"], r["status"]) for r in access] == [
        ("req-42", "alice", 201),
        ("req-43", "alice", 404),
    ]
    assert access[0]["route"] == "/api/v1/images/generate" and access[0]["level"] == "info"
    assert all("timestamp" in r for r in lines)


def test_probes_answered_well_are_counted_not_logged(api: Api, log_lines: io.StringIO) -> None:
    for path in ("/health", "/api/v1/health", "/metrics"):
        assert api.client.get(path).status_code == 200
    api.db.failure = RuntimeError("database down")
    assert api.client.get("/ready").status_code == 503  # a failing probe is worth a line
    access = [r for r in records(log_lines) if r["event"] == "request"]
    assert [(r["route"], r["status"]) for r in access] == [("/ready", 503)]
    metrics = api.client.get("/metrics").text
    assert 'route="/health"' in metrics and 'route="/api/v1/health"' in metrics


def test_an_unusable_request_id_is_replaced(api: Api) -> None:
    response = api.request("GET", "/tokens/balance", headers={"X-Request-ID": "no spaces allowed"})
    assert len(response.headers["x-request-id"]) == 32


def test_failed_authentication_is_logged_without_a_user(api: Api, log_lines: io.StringIO) -> None:
    api.client.get("/api/v1/tokens/balance")
    access = [r for r in records(log_lines) if r["event"] == "request"]
    assert access[-1]["status"] == 401 and "user_id" not in access[-1]


def test_health_and_readiness_are_public(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok", "checks": {}}
    assert api.client.get("/api/v1/health").status_code == 200
    ready = api.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok", "broker": "ok"}}


def test_readiness_is_503_naming_what_failed(api: Api) -> None:
    api.db.failure = ConnectionError("database down")
    ready = api.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "failed: ConnectionError"
    assert ready.json()["status"] == "not_ready"


def test_the_openapi_document_and_swagger_ui_are_served_without_a_token(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json").json()
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/images/generate"]["post"]["security"] == [{"BearerToken": []}]
    assert "security" not in schema["paths"]["/health"]["get"]
    assert schema["components"]["schemas"]["GenerateRequest"]["additionalProperties"] is False
    swagger = api.client.get("/schema/swagger")
    assert swagger.status_code == 200 and "swagger-ui" in swagger.text
