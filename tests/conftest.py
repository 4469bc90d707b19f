"""Shared test set-up. Fixtures that start real servers live in tests/support/ and are loaded here.

Integration tests never skip for a missing server: the fixtures start one or fail."""

from __future__ import annotations

import pytest
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

# The longest files first: the test command hands whole files to its two processes in
# collection order, and a long file taken last leaves one process running it alone. The first
# process starts with the first and the third (the second process with the second): the soak
# and the thousand-job drain run one after the other, as side by side each slows the other
# down by more than it gains.
LONGEST_FIRST = (  # the rest follow in their own order (--no-loadscope-reorder)
    "tests/integration/test_soak.py",
    "tests/integration/distributed/test_replicas.py",
    "tests/integration/distributed/test_scale.py",
    "tests/integration/distributed/test_faults.py",
    "tests/integration/test_serve.py",
    "tests/integration/test_webhooks_serve.py",
    "tests/browser/test_generation_features.py",
    "tests/integration/distributed/test_fair_queue.py",
    "tests/integration/test_models_served.py",
    "tests/integration/test_openai_sdk.py",
    "tests/integration/distributed/test_generation_features.py",
    "tests/integration/test_live_feed_outage.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    root = config.rootpath
    items.sort(key=lambda item: rank.get(item.path.relative_to(root).as_posix(), len(rank)))
