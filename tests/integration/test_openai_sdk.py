"""The OpenAI-compatible API with the official `openai` package as the client, against a real
`nexus-image serve` (embedded database, in-process worker, the tiny diffusers pipeline): it
generates (n = 2, as URLs and as base64), edits with a mask, lists the models, streams partial
images (our live previews), and sees a moderation refusal and a short balance as the SDK's own
exceptions. Beside it, `Prefer: wait=1` on a long job of our own API answers after about 1 s."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from PIL import Image

from tests.support.serve import Server, mint_token, serve_env
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

INIT_COLOR = (40, 90, 200)


class Served:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.headers = {"Authorization": f"Bearer {token}"}

    def client(self) -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=self.token, timeout=120)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_folder: Path) -> Iterator[Served]:
    """One server for the module: each test makes its own request of it."""
    home = tmp_path_factory.mktemp("openai")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = serve_env(home / "data", tiny_folder, public_url=url, rate_limit_per_minute="100")
    token = mint_token(env)
    server = Server(env, home / "serve.log", port)
    try:
        yield Served(url, token)
    finally:
        server.kill()


def png_of(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_generates_two_images_as_urls_and_one_as_base64(served: Served) -> None:
    client = served.client()
    urls = client.images.generate(
        prompt="a lighthouse at dawn", n=2, response_format="url", extra_body={"steps": 4, "seed": 1}
    )
    assert urls.data is not None and len(urls.data) == 2
    for image in urls.data:
        assert image.url is not None and image.url.startswith(f"{served.url}/api/v1/images/")
        assert png_of(httpx.get(image.url, headers=served.headers, timeout=30).content).size == (512, 512)
    inline = client.images.generate(prompt="a heron", response_format="b64_json", extra_body={"steps": 4})
    assert inline.data is not None and inline.data[0].b64_json is not None
    assert png_of(base64.b64decode(inline.data[0].b64_json)).size == (512, 512)


def test_an_edit_repaints_only_where_the_mask_is_transparent(served: Served) -> None:
    start = io.BytesIO()
    Image.new("RGB", (512, 512), INIT_COLOR).save(start, format="PNG")
    mask = Image.new("RGBA", (512, 512), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 512))  # the left half is to be painted
    drawn = io.BytesIO()
    mask.save(drawn, format="PNG")
    edited = served.client().images.edit(
        image=("start.png", start.getvalue(), "image/png"),
        mask=("mask.png", drawn.getvalue(), "image/png"),
        prompt="a red boat",
        response_format="b64_json",
        extra_body={"steps": 4},
    )
    assert edited.data is not None and edited.data[0].b64_json is not None
    result = png_of(base64.b64decode(edited.data[0].b64_json)).convert("RGB")
    kept, painted = result.getpixel((400, 256)), result.getpixel((100, 256))
    assert all(abs(a - b) <= 3 for a, b in zip(kept, INIT_COLOR, strict=True)), kept  # type: ignore[arg-type]
    assert painted != kept


def test_lists_the_model_served(served: Served, tiny_folder: Path) -> None:
    assert [m.id for m in served.client().models.list()] == [tiny_folder.name]


def test_a_refused_prompt_is_a_content_policy_error(served: Served) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        served.client().images.generate(prompt="n.u.d.e portrait")
    assert refused.value.code == "content_policy_violation"


def test_a_short_balance_is_an_insufficient_quota_error(served: Served) -> None:
    with pytest.raises(openai.RateLimitError) as refused:
        served.client().images.generate(prompt="a fox", n=4, size="1024x1792")
    assert refused.value.code == "insufficient_quota"


def test_streams_live_previews_as_partial_images_then_the_image(served: Served) -> None:
    events = list(
        served.client().images.generate(
            prompt="a harbour", stream=True, partial_images=2, extra_body={"steps": 40, "seed": 5}
        )
    )
    partial = [e for e in events if e.type == "image_generation.partial_image"]
    assert [e.partial_image_index for e in partial] == list(range(len(partial))) and 1 <= len(partial) <= 2
    assert png_of(base64.b64decode(partial[0].b64_json)).format == "WEBP"
    assert events[-1].type == "image_generation.completed"
    assert png_of(base64.b64decode(events[-1].b64_json)).size == (512, 512)


def test_wait_1_on_a_long_job_answers_in_progress_after_about_a_second(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers, timeout=60) as client:
        started = time.monotonic()
        response = client.post(
            "/api/v1/images/generate",
            json={"prompt": "a long night", "steps": 100},
            headers={"Prefer": "wait=1"},
        )
        took = time.monotonic() - started
        assert response.status_code == 201, response.text
        assert response.json()["status"] in ("QUEUED", "PROCESSING")
        assert response.headers["Preference-Applied"] == "wait=1"
        assert 0.9 <= took < 10, took  # generous: a loaded two-core machine
        client.post(f"/api/v1/images/{response.json()['id']}/cancel")
