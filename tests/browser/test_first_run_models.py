"""A first run in the browser: `nexus-image serve` with no model installed pulls the starter model
from a hub (a local emulator, throttled so the download can be watched) while the studio serves.
The page shows how far the download got, then names the model once it is installed, without a
reload; the form's model field offers it, and an image made with it says so through the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Studio, screenshot, watch_errors
from tests.browser.test_generation_features import generate_request, session_token
from tests.browser.test_studio import FINISH_MS, job, sign_in
from tests.support.hub import HubEmulator

pytestmark = pytest.mark.integration

REPO = "nexus-test/first-run-tiny"
NAME = "first-run-tiny"  # the name a pull gives: the repository's
RANDOM = "tiny-sd15-random"  # the built-in stand-in offered until a model is installed
SLOW = 4_000  # bytes a second: the tiny pipeline (about 470 kB) would take two minutes


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubEmulator]:
    """The hub, serving a tiny pipeline of other random weights (seed 1) than the stand-in's."""
    from nexus_image.adapters.diffusers.tiny import TINY, build_random_pipeline

    folder = tmp_path_factory.mktemp("hub") / "first-run-tiny"
    build_random_pipeline(TINY, seed=1).save_pretrained(folder, safe_serialization=True)
    with HubEmulator({REPO: folder}, bytes_per_second=SLOW) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def first_run(hub: HubEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """A server started with nothing installed, told to pull the starter model at start."""
    with pytest.MonkeyPatch.context() as env:  # the server takes the rest of its environment
        env.setenv("NEXUS_IMAGE_FIRST_RUN_PULL", "yes")
        env.setenv("HF_ENDPOINT", hub.url)
        env.setenv("NEXUS_IMAGE_STARTER_MODEL", REPO)
        env.setenv("NEXUS_IMAGE_STARTER_VARIANT", "")  # the repository has no fp16 files
        env.delenv("HF_TOKEN", raising=False)
        server = Studio(tmp_path_factory.mktemp("first-run"))
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, first_run: Studio) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=first_run.url)
    context.set_default_timeout(20_000)
    opened = context.new_page()
    watch_errors(opened)
    yield opened
    context.close()


def options(select: Any) -> list[tuple[str, str]]:
    found: list[list[str]] = select.evaluate("s => [...s.options].map(o => [o.value, o.text])")
    return [(value, text) for value, text in found]


def test_the_starter_model_download_is_shown_then_offered_and_used(
    page: Any, hub: HubEmulator, first_run: Studio
) -> None:
    sign_in(page, "fay")
    page.get_by_role("link", name="Generate").click()
    notice = page.get_by_role("status").filter(has=page.locator("#model-notice-text"))
    expect(notice).to_contain_text(
        re.compile(rf"Downloading {NAME}: \d+ % — [\d.]+ kB of [\d.]+ kB", re.I), timeout=60_000
    )
    expect(notice).to_contain_text("noise")
    expect(notice).to_have_class(re.compile(r"\bwarning\b"))
    expect(page.locator("#model-progress")).to_be_visible()
    model = page.get_by_label("Model", exact=True)
    assert options(model) == [
        ("", f"Default ({RANDOM} — random weights: noise)"),
        (RANDOM, f"{RANDOM} — random weights: noise"),
    ]
    screenshot(page, "16-first-run-downloading")
    served = httpx.get(f"{first_run.url}/studio/models", timeout=10).json()
    assert served["download"]["name"] == NAME and served["download"]["state"] == "downloading"
    assert served["download"]["source"] == f"hub:{REPO}"

    hub.bytes_per_second = None  # the rest at full speed
    expect(notice).to_have_text(f"Model: {NAME}", timeout=60_000)  # no reload
    expect(notice).not_to_have_class(re.compile(r"\bwarning\b"))
    expect(notice).to_have_class(re.compile(r"\bconfigured\b"))
    expect(page.locator("#model-progress")).to_be_hidden()
    expect(model.locator("option")).to_have_count(2)
    assert options(model) == [("", f"Default ({NAME})"), (NAME, NAME)]  # the stand-in is gone
    assert hub.file_requests(), "nothing was fetched from the hub"
    screenshot(page, "17-first-run-installed")

    prompt = "a first picture from a real model"
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_label("Steps", exact=True).fill("2")
    model.select_option(NAME)
    with generate_request(page) as sent:
        page.get_by_role("button", name="Generate", exact=True).click()
    assert sent.value.post_data_json["model"] == NAME
    expect(job(page, prompt).get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)
    image_id = sent.value.response().json()["id"]
    headers = {"Authorization": f"Bearer {session_token(page)}"}
    image = httpx.get(f"{first_run.url}/api/v1/images/{image_id}", headers=headers, timeout=10).json()
    assert image["status"] == "COMPLETED" and image["model"] == NAME, image
    assert page.errors == []


def model(name: str, default: bool = False, random: bool = False) -> dict[str, Any]:
    return {"name": name, "default": default, "source": f"hub:org/{name}", "revision": None,
            "size": None, "random": random, "loaded": None}  # fmt: skip


def download(state: str, done: int = 0, total: int = 0, rate: float = 0.0, error: str | None = None) -> Any:
    return {"name": "sd15", "source": "hub:org/sd15", "state": state, "bytes_done": done,
            "bytes_total": total, "bytes_per_second": rate, "error": error}  # fmt: skip


def models_answer(models: list[dict[str, Any]], pulled: Any = None) -> dict[str, Any]:
    default = next(m["name"] for m in models if m["default"])
    return {"models": models, "default": default, "resolutions": ["512x512"], "download": pulled}


def serve_models(page: Any, at_load: dict[str, Any], then: list[dict[str, Any]]) -> list[str]:
    """The page sees `at_load` in its configuration, then each of `then` in turn from
    /studio/models (the last one again after that); returns the URLs of the polls made."""
    polls: list[str] = []

    def config(route: Any) -> None:
        answer = route.fetch().json()
        chosen = next(m for m in at_load["models"] if m["default"])
        answer["models"] = at_load
        answer["model"] = {
            "configured": not chosen["random"],
            "name": chosen["name"],
            "notice": answer["model"]["notice"] if chosen["random"] else None,
        }
        route.fulfill(json=answer)

    def models(route: Any) -> None:
        polls.append(route.request.url)
        route.fulfill(json=then[min(len(polls), len(then)) - 1])

    page.route("**/studio/config", config)
    page.route("**/studio/models", models)
    return polls


def test_each_step_of_a_download_is_said_and_a_failure_stops_the_polling(new_page: Any) -> None:
    page = new_page()
    stand_in = [model(RANDOM, default=True, random=True)]
    polls = serve_models(
        page,
        models_answer(stand_in, download("checking")),
        [
            models_answer(stand_in, download("downloading", 900_000_000, 2_000_000_000, 12_400_000)),
            models_answer(stand_in, download("verifying", 2_000_000_000, 2_000_000_000)),
            models_answer(
                stand_in, download("failed", 900_000_000, 2_000_000_000, error="checksum mismatch")
            ),
        ],
    )
    page.goto("/")
    notice = page.get_by_role("status").filter(has=page.locator("#model-notice-text"))
    expect(notice).to_contain_text("Preparing to download sd15")
    expect(notice).to_have_text(
        "Downloading sd15: 45 % — 0.9 GB of 2.0 GB, 12 MB/s. Images are noise until it is installed."
    )
    progress = page.locator("#model-progress")
    expect(progress).to_have_attribute("value", "900000000")
    expect(notice).to_contain_text("Verifying sd15")
    expect(progress).not_to_have_attribute("value", re.compile(".*"))  # no amount: indeterminate
    expect(notice).to_have_text(
        "The download of sd15 failed: checksum mismatch. Images stay noise until a model is "
        "installed (nexus-image models pull org/sd15)."
    )
    expect(notice).to_have_class(re.compile(r"\bwarning\b"))
    expect(progress).to_be_hidden()
    asked = len(polls)
    page.wait_for_timeout(2_000)  # longer than the polling interval
    assert len(polls) == asked == 3, polls
    assert page.errors == []


def test_the_model_field_follows_the_models_offered_and_keeps_the_choice_made(
    new_page: Any, tmp_path: Path
) -> None:
    page = new_page()
    before = [model("alpha", default=True), model("beta")]
    after = [model("alpha", default=True), model("beta"), model("sd15")]
    polls = serve_models(
        page,
        models_answer(before, download("downloading", 1_500, 3_000, 800)),
        [models_answer(after, download("installed", 3_000, 3_000))],
    )
    sign_in(page, "gus")
    page.get_by_role("link", name="Generate").click()
    notice = page.get_by_role("status").filter(has=page.locator("#model-notice-text"))
    expect(notice).to_have_text("Model: alpha. Downloading sd15: 50 % — 1.5 kB of 3.0 kB, 800 B/s")
    field = page.get_by_label("Model", exact=True)
    assert options(field) == [("", "Default (alpha)"), ("alpha", "alpha"), ("beta", "beta")]
    field.select_option("beta")
    expect(notice).to_have_text("Model: alpha")
    expect(field.locator("option")).to_have_count(4)
    assert options(field)[-1] == ("sd15", "sd15")
    expect(field).to_have_value("beta")  # still offered: kept
    assert len(polls) == 1

    parameters = {"prompt": "a kite", "model": "gone"}
    page.route(
        "**/api/v1/images/parameters",
        lambda route: route.fulfill(
            json={"source": "nexus-image", "unsupported": {}, "parameters": parameters}
        ),
    )
    png = tmp_path / "any.png"
    png.write_bytes(b"\x89PNG")
    page.get_by_label("Settings from a PNG").set_input_files(str(png))
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a kite")
    expect(field).to_have_value("")  # a model not offered: the default
    parameters["model"] = "sd15"
    page.get_by_label("Settings from a PNG").set_input_files(str(png))
    expect(field).to_have_value("sd15")
    assert page.errors == []
