"""Property-based run of the served OpenAPI document against the app itself (in-process ASGI,
with a valid token): no 5xx, every status documented, every body matching its schema.

A fixed, bounded number of derandomized examples per operation keeps it reproducible and fast.
The live event stream never ends, so it is left to its own test (test_events.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator

from .conftest import SECRET, CountingStore, app_for, bearer

EXAMPLES_PER_OPERATION = 12


def not_a_server_error_but_a_job_nobody_ran(ctx: Any, response: Any, case: Any) -> bool | None:
    """No worker runs here, so an OpenAI-style request ends in its documented 504 (its images
    were not ready in time: cancelled and refunded); any other 5xx is a fault."""
    if response.status_code == 504 and case.path.startswith("/v1/images/"):
        return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error_but_a_job_nobody_ran,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def fuzzed_app() -> Any:
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-fuzz-"))
    config = Settings(
        data_dir=data_dir,
        jwt_secret=SecretStr(SECRET),
        embedded_worker=False,
        rate_limit_per_minute=100_000,
        welcome_tokens=10**9,
        openai_wait_seconds=1,  # no worker runs: an OpenAI-style request waits this long, then 504
    )
    return app_for(config, CountingStore(), generator=PatternGenerator())


schema = schemathesis.openapi.from_asgi("/schema/openapi.json", fuzzed_app()).exclude(path="/api/v1/events")


def fuzzing(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings for a bounded, reproducible run (shared with the PostgreSQL run)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@schema.parametrize()
@fuzzing(EXAMPLES_PER_OPERATION)
def test_the_api_keeps_its_documented_promises(case: Any) -> None:
    case.call_and_validate(headers=bearer("fuzzer"), checks=CHECKS)
