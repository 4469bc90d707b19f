"""The second round of generation features over HTTP: a hires fix answered at its final size
(the nested `hires` object too), upscaling an image into a new job of its own with problems
for every bad input, the upscalers and fast modes offered, and the A1111 text of the PNG."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from nexus_image.adapters.imaging import read_png_metadata
from nexus_image.entrypoints.settings import Settings

from .conftest import Api, open_api

FAST = {"lcm": {"lora": "lcm-lora", "scheduler": "lcm", "steps": 4, "guidance": 1.5, "price": 0.5}}


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[Api]:
    upscalers, loras = tmp_path / "upscalers", tmp_path / "loras"
    upscalers.mkdir()
    loras.mkdir()
    (loras / "lcm-lora.safetensors").write_bytes(b"{}")
    configured = settings.model_copy(
        update={
            "upscaler_dir": upscalers,
            "lora_dir": loras,
            "fast_modes": json.dumps(FAST),
            "welcome_tokens": 500,
        }
    )
    yield from open_api(configured)


def picture_size(api: Api, image_id: str) -> tuple[int, int]:
    answer = api.request("GET", f"/images/{image_id}/file")
    assert answer.status_code == 200, answer.text
    return Image.open(io.BytesIO(answer.content)).size


def test_a_hires_fix_is_answered_at_its_final_size_and_priced_by_it(api: Api) -> None:
    image = api.completed(hires_scale=2, hires_steps=4, clip_skip=2, tiling=True)
    assert (image["width"], image["height"], image["tokens_cost"]) == (1024, 1024, 20)
    assert (image["hires_scale"], image["hires_upscaler"], image["clip_skip"], image["tiling"]) == (
        2.0,
        "latent",
        2,
        True,
    )
    assert picture_size(api, image["id"]) == (1024, 1024)
    png = api.request("GET", f"/images/{image['id']}/file").content
    text = read_png_metadata(png)["a1111_parameters"]
    assert "Hires upscale: 2.0" in text and "Clip skip: 2" in text and "Tiling: True" in text
    found = api.request("POST", "/images/parameters", files={"file": ("i.png", png, "image/png")}).json()
    assert found["parameters"]["hires_scale"] == 2.0 and found["parameters"]["clip_skip"] == 2


def test_the_nested_hires_object_is_the_same_request(api: Api) -> None:
    nested = api.generate(hires={"scale": 1.5, "steps": 4, "denoise": 0.5, "upscaler": "lanczos"})
    assert (
        nested["hires_scale"],
        nested["hires_steps"],
        nested["hires_denoise"],
        nested["hires_upscaler"],
    ) == (
        1.5,
        4,
        0.5,
        "lanczos",
    )
    assert (nested["width"], nested["tokens_cost"]) == (768, 12)
    bad = api.request("POST", "/images/generate", json={"prompt": "a fox", "hires": {"scale": 2, "size": 3}})
    assert bad.status_code in (400, 422) and "size" in bad.text
    too_big = api.request(
        "POST", "/images/generate", json={"prompt": "a fox", "resolution": "1024x1536", "hires": {"scale": 2}}
    )
    assert too_big.status_code == 422 and too_big.json()["field"] == "hires_scale"


def test_an_image_is_upscaled_into_a_new_image_linked_to_its_source(api: Api) -> None:
    source = api.completed(seed=3)
    before = api.request("GET", "/tokens/balance").json()["balance"]
    answer = api.request("POST", f"/images/{source['id']}/upscale", json={"factor": 2})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert (
        made["upscale_of"] == source["id"]
        and made["upscaler"] == "lanczos"
        and made["prompt"] == source["prompt"]
    )
    assert (made["width"], made["height"]) == (1024, 1024)
    assert api.request("GET", "/tokens/balance").json()["balance"] == before - made["tokens_cost"]
    assert api.run_jobs() == ["COMPLETED"]
    assert picture_size(api, made["id"]) == (1024, 1024)
    four = api.request("POST", f"/images/{source['id']}/upscale", json={"factor": 4}).json()
    api.run_jobs()
    assert picture_size(api, four["id"]) == (2048, 2048)


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"factor": 3}, "factor", 422),
        ({"factor": 2, "upscaler": "nope"}, "upscaler", 400),
        ({"factor": "two"}, "factor", 400),
    ],
)
def test_bad_upscale_requests_are_problems_naming_the_field(
    api: Api, body: dict[str, Any], field: str, status: int
) -> None:
    source = api.completed()
    answer = api.request("POST", f"/images/{source['id']}/upscale", json=body)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert field in json.dumps(problem)
    if field == "upscaler":
        assert problem["allowed"] == ["lanczos"]


def test_another_users_private_image_cannot_be_upscaled_as_if_missing(api: Api) -> None:
    private = api.completed("bob")
    hidden = api.request("POST", f"/images/{private['id']}/upscale", json={"factor": 2})
    missing = api.request("POST", "/images/no-such-image/upscale", json={"factor": 2})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(private["id"], "X") == missing.json()["detail"].replace(
        "no-such-image", "X"
    )


def test_the_upscalers_and_fast_modes_offered_are_listed(api: Api, tmp_path: Path) -> None:
    listed = api.request("GET", "/models/upscalers").json()["upscalers"]
    assert [u["name"] for u in listed] == ["lanczos"]
    config = api.client.get("/studio/config").json()
    assert config["fast_modes"][0]["name"] == "lcm" and "latent" in config["upscalers"]
    fields = {f["name"]: f for f in config["fields"]}
    assert (
        fields["hires_upscaler"]["offered_by"] == "upscalers" and fields["fast"]["offered_by"] == "fast_modes"
    )
    assert "upscale_of" not in fields  # set by the service, never sent
    fast = api.generate(fast="lcm", steps=30)
    assert (fast["steps"], fast["scheduler"], fast["tokens_cost"]) == (4, "lcm", 3)
    unknown = api.request("POST", "/images/generate", json={"prompt": "a fox", "fast": "turbo"})
    assert unknown.status_code == 400 and unknown.json()["allowed"] == ["lcm"]


def test_an_upscaler_model_from_the_operators_folder_upscales_through_the_worker(api: Api) -> None:
    from safetensors.torch import save_file

    from tests.support.esrgan import esrgan_shapes, random_state

    folder = api.settings.upscaler_dir
    assert folder is not None
    shapes = esrgan_shapes("basicsr", features=8, growth=4, blocks=1, upsamplings=1)  # a 2x network
    save_file(random_state(shapes), str(folder / "tiny-x2.safetensors"))
    listed = {u["name"]: u for u in api.request("GET", "/models/upscalers").json()["upscalers"]}
    assert listed["tiny-x2"]["scale"] == 2 and listed["tiny-x2"]["kind"] == "esrgan"
    source = api.completed(seed=8)
    made = api.request("POST", f"/images/{source['id']}/upscale", json={"factor": 2, "upscaler": "tiny-x2"})
    assert made.status_code == 201, made.text
    assert api.run_jobs() == ["COMPLETED"]
    assert picture_size(api, made.json()["id"]) == (1024, 1024)
    png = api.request("GET", f"/images/{made.json()['id']}/file").content
    assert "Postprocess upscaler: tiny-x2" in read_png_metadata(png)["a1111_parameters"]
