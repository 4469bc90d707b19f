"""Several models in one embedded server: each is offered by name (GET /api/v1/models), each job
is drawn by the model it names (checked pixel by pixel against that model's own rendering), the
default draws when none is named, and a model that is not installed is a 400 naming those that
are. A model's name is recorded in the job and in its PNG."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nexus_image.domain.parameters import GenerationParameters
from tests.support.models import difference, install_models, png_pixels, reference_pixels
from tests.support.serve import Server, mint_token, serve_env, wait_for

pytestmark = pytest.mark.integration


def test_two_models_in_one_embedded_server_each_job_drawn_by_its_own(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folders = install_models(data / "models", tmp_path / "sources", {"alpha": 0, "beta": 1})
    env = serve_env(data, Path(""), model_memory_gb="1e-9")  # one pipeline at a time
    env.pop("NEXUS_IMAGE_MODEL")
    server = Server(env, tmp_path / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {mint_token(env)}"}
        with httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=30) as http:
            listed = http.get("/models").json()
            assert [(m["name"], m["default"]) for m in listed["models"]] == [("alpha", True), ("beta", False)]
            assert listed["default"] == "alpha" and "512x512" in listed["resolutions"]

            wrong = http.post("/images/generate", json={"prompt": "a kite", "model": "gamma"})
            assert wrong.status_code == 400
            problem = wrong.json()
            assert problem["field"] == "model" and problem["allowed"] == ["alpha", "beta"]

            asked = {"prompt": "a lighthouse at dusk", "seed": 5, "steps": 2}
            jobs = {
                name: http.post(
                    "/images/generate", json={**asked, **({"model": name} if name else {})}
                ).json()
                for name in ("beta", "alpha", "")
            }
            assert [jobs[n]["model"] for n in ("beta", "alpha", "")] == [
                "beta",
                "alpha",
                "alpha",
            ]

            def done() -> bool:
                found = [http.get(f"/images/{job['id']}").json()["status"] for job in jobs.values()]
                assert "FAILED" not in found, server.log.read_text()[-3000:]
                return set(found) == {"COMPLETED"}

            wait_for(done, 120, "the three images")
            files = {name: http.get(f"/images/{job['id']}/file").content for name, job in jobs.items()}
            read = http.post("/images/parameters", files={"file": ("beta.png", files["beta"], "image/png")})
            assert read.status_code == 200, read.text
            # Within a budget of one pipeline, the one used last stays loaded: readiness says which.
            assert httpx.get(server.url + "/ready").json()["models"] == {"alpha": True, "beta": False}
            assert [m["loaded"] for m in http.get("/models").json()["models"]] == [True, False]
            metrics = httpx.get(server.url + "/metrics").text
            assert 'image_model_loaded{model="alpha"} 1.0' in metrics
            assert 'image_model_loaded{model="beta"} 0.0' in metrics
            assert 'image_model_requests_total{model="alpha"} 2.0' in metrics
            assert 'image_model_requests_total{model="beta"} 1.0' in metrics
    finally:
        server.stop()

    drawn = {name: png_pixels(data) for name, data in files.items()}
    parameters = GenerationParameters.restore(jobs["beta"])
    own = {name: reference_pixels(folder, tmp_path / "cache", parameters) for name, folder in folders.items()}
    assert difference(own["alpha"], own["beta"]) > 10  # the two models draw different pictures
    assert difference(drawn["beta"], own["beta"]) < 1.0 and difference(drawn["beta"], own["alpha"]) > 10
    assert difference(drawn["alpha"], own["alpha"]) < 1.0 and difference(drawn["alpha"], own["beta"]) > 10
    assert difference(drawn[""], own["alpha"]) < 1.0  # none named: the default
    assert read.json()["parameters"]["model"] == "beta"  # the PNG says which model drew it
