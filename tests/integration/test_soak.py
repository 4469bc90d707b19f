"""The soak (benchmarks/soak.py) for three minutes: the distributed deployment under a steady mix of clients
while every kind of fault happens at least once, then the checker finds nothing lost, charged
twice, left behind or answered with an unexpected 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.soak import FAULTS, parse, soak

pytestmark = pytest.mark.integration


def test_a_soak_with_every_fault_loses_nothing(postgres_server: str, tmp_path: Path) -> None:
    args = parse(["--duration", "180", "--fault-every", "10", "--outage", "2", "--server", postgres_server])
    report = soak(args, tmp_path)
    assert report["problem_count"] == 0, report["problems"]
    assert set(report["faults"]) == set(FAULTS), report["faults"]
    assert report["statuses"].get("COMPLETED", 0) > 100 and report["replays"] > 0
