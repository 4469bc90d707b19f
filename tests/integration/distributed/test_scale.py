"""Scale: 1,000 queued jobs drain through two worker processes sharing one consumer group, every
job COMPLETED exactly once. The workers run the real worker process, Kafka consumer, S3 and
PostgreSQL code with the pattern generator in place of the diffusion model: the tiny pipeline
costs ~0.25 s per 512x512 image on these 2-core machines (~2 minutes for 1,000 on two workers),
which the other tests already cover; this test is about the pipeline around it."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from nexus_image.adapters.kafka import Topics
from tests.support.cluster import (
    Cluster,
    assert_nothing_lost_nothing_charged_twice,
    request,
    wait_for,
)
from tests.support.kafka_read import read_until_quiet
from tests.support.tansu import TansuBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
JOBS = 1000


def test_a_thousand_jobs_drain_through_two_workers_exactly_once(cluster: Cluster, kafka: TansuBroker) -> None:
    cluster.fields["tiers"] = f'{{"standard": {{"max_queued": {JOBS}}}}}'  # one user queues them all
    api = cluster.api()
    began = time.monotonic()
    job_ids = [request(api, seed=i, steps=1).id for i in range(JOBS)]
    queued_in = time.monotonic() - began
    for worker_id in ("w1", "w2"):
        cluster.start_worker(worker_id, "--max-batch", "4", module="tests.support.pattern_worker")

    def counts() -> dict[str, int]:
        with api.service.deps.uow_factory() as uow:
            return uow.jobs.count_by_status()

    wait_for(
        lambda: counts()["COMPLETED"] == JOBS,
        240,
        "all jobs to complete",
        lambda: f"{counts()}\n{cluster.worker_logs()}",
    )
    drained_in = time.monotonic() - began - queued_in
    print(f"\n{JOBS} jobs: queued in {queued_in:.1f}s, drained by two workers in {drained_in:.1f}s")

    with api.service.deps.uow_factory() as uow:
        jobs = uow.jobs.list_by_ids(job_ids)
    assert {job.attempts for job in jobs} == {1}
    share = Counter(job.worker_id for job in jobs)
    assert set(share) == {"w1", "w2"} and min(share.values()) >= JOBS // 10, share  # both took a real share
    assert_nothing_lost_nothing_charged_twice(api, job_ids)

    topic = Topics(cluster.fields["kafka_topic_prefix"]).completed
    completed = Counter(r.key for r in read_until_quiet(kafka.client_config(), topic, timeout=60))
    assert len(completed) == JOBS and set(completed.values()) == {1}  # one completion event per job
