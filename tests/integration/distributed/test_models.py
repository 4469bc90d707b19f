"""Two models in the distributed deployment: two `nexus-image worker` processes, one model each,
behind one API. Each model's jobs go to its own requests topic, which only the workers serving
it read, so every job is drawn by the worker (and the model) it names: checked by the worker
recorded on the job and pixel by pixel against the model's own rendering."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from nexus_image.domain.errors import UnknownModel
from tests.integration.distributed.conftest import MakeCluster
from tests.support.cluster import USER, all_in, assert_nothing_lost_nothing_charged_twice, request, wait_for
from tests.support.models import difference, install_models, png_pixels, reference_pixels
from tests.support.tansu import TansuBroker

pytestmark = pytest.mark.integration


def test_each_models_jobs_reach_only_the_worker_serving_it(
    make_cluster: MakeCluster, kafka: TansuBroker, tmp_path: Path
) -> None:
    folders = install_models(tmp_path / "data" / "models", tmp_path / "sources", {"alpha": 0, "beta": 1})
    cluster = make_cluster(kafka, model="", models="alpha,beta", threads=2)
    api = cluster.api()
    cluster.start_worker("w-alpha", models="alpha")
    cluster.start_worker("w-beta", models="beta")

    with pytest.raises(UnknownModel) as unknown:
        request(api, model="gamma")
    assert unknown.value.allowed == ("alpha", "beta")

    asked = ["alpha", "beta", "beta", "alpha"]
    views = [request(api, model=model, seed=5) for model in asked]
    jobs = [view.id for view in views]
    wait_for(all_in(api, jobs, "COMPLETED"), 180, "the four images", cluster.worker_logs)

    with api.service.deps.uow_factory() as uow:
        done = {job.id: job for job in uow.jobs.list_by_ids(jobs)}
    assert [done[job].worker_id for job in jobs] == ["w-alpha", "w-beta", "w-beta", "w-alpha"]
    assert [done[job].parameters.model for job in jobs] == asked

    own = {
        name: reference_pixels(folder, tmp_path / "cache", views[0].parameters)
        for name, folder in folders.items()
    }
    for model, view in zip(asked, views, strict=True):
        stored = api.service.get_image(USER, view.id).storage_url
        assert stored is not None
        with urllib.request.urlopen(stored, timeout=10) as answer:
            drawn = png_pixels(answer.read())
        other = "beta" if model == "alpha" else "alpha"
        assert difference(drawn, own[model]) < 1.0 and difference(drawn, own[other]) > 10, model
    assert_nothing_lost_nothing_charged_twice(api, jobs)
