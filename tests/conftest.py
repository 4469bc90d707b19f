"""Shared test set-up. Fixtures that start real servers live in tests/support/ and are loaded here.

Integration tests never skip for a missing server: the fixtures start one or fail."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "tests.support.tansu",
    "tests.support.moto",
    "tests.support.postgres",
]
