"""Shared test set-up. Fixtures that start real servers live in tests/support/ and are loaded here.

Integration tests never skip for a missing server: the fixtures start one or fail."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

pytest_plugins: list[str] = [
    "tests.support.tansu",
    "tests.support.moto",
    "tests.support.postgres",
]

# The tests run two at a time on two cores, beside servers and a diffusion pipeline: how long
# one example takes to draw or to run says nothing about the code, so neither is a failure.
settings.register_profile(
    "shared-cores", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("shared-cores")
