"""The generation features in the studio, in Chromium against a real server: several images
per request watched side by side with live previews, a remix from an image's settings, four
variations of an image, the settings read back from a PNG (ours and AUTOMATIC1111's), an image
from a starting image (and a mask), and LoRA adapters picked from those a server offers."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin
from playwright.sync_api import expect

from tests.browser.conftest import Studio, screenshot, watch_errors
from tests.browser.test_studio import FINISH_MS, fill_form, open_details, sign_in, tokens

pytestmark = pytest.mark.integration


def job(page: Any, name: str) -> Any:
    return page.get_by_role("listitem", name=f"Job: {name}", exact=True)


def test_two_images_at_once_with_live_previews(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "fay")
    prompt = "two boats in a harbour"
    fill_form(page, prompt, steps="60")
    page.get_by_label("Images", exact=True).select_option("2")
    expect(page.get_by_text("Costs 10 tokens")).to_be_visible()
    page.get_by_role("button", name="Generate", exact=True).click()
    first, second = job(page, prompt), job(page, f"{prompt} (2 of 2)")
    expect(first).to_be_visible()
    expect(second).to_be_visible()
    expect(first.get_by_role("img", name=f"Preview of {prompt}")).to_be_visible(timeout=FINISH_MS)
    assert (
        first.get_by_role("img", name=f"Preview of {prompt}")
        .get_attribute("src")
        .startswith("data:image/webp")
    )
    screenshot(page, "11-previews")
    for item in (first, second):
        expect(item.get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)
    expect(tokens(page)).to_have_text("90")
    assert page.errors == []


def test_remix_and_variations_from_an_images_details(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "gus")
    prompt = "a windmill in a field"
    fill_form(page, prompt, steps="6")
    page.get_by_label("Seed", exact=True).fill("4242")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(job(page, prompt).get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)

    page.get_by_role("link", name="My images").click()
    details = open_details(page, "My images", prompt)
    details.get_by_role("button", name="Remix").click()
    expect(page.locator("#remix-notice")).to_contain_text(f"Remixing {prompt}")
    page.get_by_label("Prompt", exact=True).fill("a windmill at night")
    page.get_by_role("button", name="Generate", exact=True).click()
    remixed = job(page, "a windmill at night")
    expect(remixed.get_by_role("img", name="a windmill at night")).to_be_visible(timeout=FINISH_MS)
    expect(tokens(page)).to_have_text("90")

    page.get_by_role("link", name="My images").click()
    details = open_details(page, "My images", "a windmill at night")
    expect(details.locator("#detail-params")).to_contain_text("4242")  # the source's seed, kept
    details.get_by_role("button", name="Variations").click()
    for n in (2, 3, 4):
        expect(job(page, f"a windmill at night ({n} of 4)")).to_be_visible()
    expect(tokens(page)).to_have_text("70")
    for n in (2, 3, 4):
        done = job(page, f"a windmill at night ({n} of 4)")
        expect(done.get_by_role("img", name="a windmill at night", exact=True)).to_be_visible(
            timeout=FINISH_MS
        )
    screenshot(page, "12-variations")
    assert page.errors == []


def a1111_png(path: Path) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a castle on a hill\nNegative prompt: fog\n"
        "Steps: 12, Sampler: Euler a, CFG scale: 6, Seed: 99, Size: 768x768, Model: sd15",
    )
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, format="PNG", pnginfo=info)
    path.write_bytes(out.getvalue())
    return path


def test_settings_are_read_back_from_a_png(new_page: Any, studio: Studio, tmp_path: Path) -> None:
    page = new_page()
    sign_in(page, "hal")
    page.get_by_label("Settings from a PNG").set_input_files(str(a1111_png(tmp_path / "castle.png")))
    expect(page.locator("#png-status")).to_contain_text("automatic1111")
    expect(page.locator("#png-status")).to_contain_text("Model: sd15")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a castle on a hill")
    expect(page.get_by_label("Negative prompt")).to_have_value("fog")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("99")
    expect(page.get_by_label("Steps", exact=True)).to_have_value("12")
    expect(page.get_by_label("Scheduler")).to_have_value("euler_a")
    expect(page.get_by_label("Resolution")).to_have_value("768x768")

    token = httpx.post(f"{studio.url}/studio/local-token", json={"user": "hal"}, timeout=10).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"prompt": "a red kite", "steps": 3, "seed": 31337}
    made = httpx.post(f"{studio.url}/api/v1/images/generate", json=body, headers=headers, timeout=10).json()
    for _ in range(600):
        state = httpx.get(f"{studio.url}/api/v1/images/{made['id']}", headers=headers, timeout=10).json()
        if state["status"] == "COMPLETED":
            break
        page.wait_for_timeout(200)
    ours = tmp_path / "kite.png"
    ours.write_bytes(
        httpx.get(f"{studio.url}/api/v1/images/{made['id']}/file", headers=headers, timeout=10).content
    )
    page.get_by_label("Settings from a PNG").set_input_files(str(ours))
    expect(page.locator("#png-status")).to_contain_text("nexus-image")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a red kite")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("31337")

    (tmp_path / "notes.png").write_bytes(b"not a png at all")
    page.get_by_label("Settings from a PNG").set_input_files(str(tmp_path / "notes.png"))
    expect(page.locator("#png-error")).to_contain_text(re.compile("not a PNG", re.I))
    assert [e for e in page.errors if "422" not in e] == []


# --- image to image, inpainting and LoRA adapters ------------------------------------------------


def picture(path: Path, size: tuple[int, int], color: str = "gray") -> Path:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def session_token(page: Any) -> str:
    token: str = page.evaluate("() => sessionStorage.getItem('nexus-image.token')")
    return token


def generate_request(page: Any) -> Any:
    return page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith("/api/v1/images/generate")
    )


def test_an_image_from_a_starting_image_at_half_strength(new_page: Any, tmp_path: Path) -> None:
    page = new_page()
    sign_in(page, "ida")
    prompt = "a harbour repainted"
    fill_form(page, prompt, steps="4")
    expect(page.get_by_label("Strength", exact=True)).to_be_hidden()  # only with a starting image
    expect(page.get_by_text("Costs 5 tokens")).to_be_visible()
    page.get_by_label("Starting image").set_input_files(str(picture(tmp_path / "start.png", (64, 48))))
    preview = page.get_by_role("img", name="Starting image", exact=True)
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))  # fetched with the token
    expect(page.locator("#init-preview-text")).to_contain_text("64×48")
    strength = page.get_by_label("Strength", exact=True)
    expect(strength).to_have_value("0.75")
    expect(page.get_by_label("Mask (optional)")).to_be_visible()
    expect(page.get_by_label("Variation seed")).to_be_disabled()  # refused with a starting image
    expect(page.locator("#variation-off")).to_be_visible()
    strength.fill("0.5")
    expect(page.get_by_label("Strength slider")).to_have_value("0.5")
    with generate_request(page) as sent:
        page.get_by_role("button", name="Generate", exact=True).click()
    body = sent.value.post_data_json
    assert body["strength"] == 0.5 and body["init_image_id"] and "mask_image_id" not in body, body
    assert "variation_seed" not in body and "loras" not in body, body
    expect(job(page, prompt).get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)
    screenshot(page, "13-image-to-image")
    page.get_by_role("button", name="Remove starting image").click()
    expect(page.get_by_label("Starting image")).to_be_focused()
    expect(page.get_by_label("Strength", exact=True)).to_be_hidden()
    expect(page.get_by_label("Variation seed")).to_be_enabled()

    page.get_by_role("link", name="My images").click()
    details = open_details(page, "My images", prompt)
    params = details.locator("#detail-params")
    expect(params).to_contain_text("Image to image")
    expect(params).to_contain_text(body["init_image_id"])
    expect(params.locator("div", has_text="Strength")).to_contain_text("0.5")
    details.get_by_role("button", name="Use these settings").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(prompt)
    expect(page.get_by_label("Strength", exact=True)).to_have_value("0.5")
    expect(page.get_by_role("img", name="Starting image", exact=True)).to_be_visible()
    expect(page.locator("#init-preview-text")).to_contain_text(body["init_image_id"])  # used: kept
    expect(page.get_by_label("Variation seed")).to_be_disabled()
    assert page.errors == []


def test_upload_errors_and_a_mask_of_another_size_are_shown_next_to_their_inputs(
    new_page: Any, studio: Studio, tmp_path: Path
) -> None:
    page = new_page()
    sign_in(page, "jon")
    fill_form(page, "a garden with a hole in it", steps="4")
    (tmp_path / "notes.png").write_bytes(b"these are notes, not a picture")
    page.get_by_label("Starting image").set_input_files(str(tmp_path / "notes.png"))
    error = page.locator("#init-image-error")
    expect(error).to_contain_text("notes.png was refused")
    expect(error).to_contain_text(re.compile("not a PNG, JPEG or WebP", re.I))
    expect(page.get_by_label("Starting image")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Mask (optional)")).to_be_hidden()

    page.get_by_label("Starting image").set_input_files(str(picture(tmp_path / "start.png", (64, 64))))
    expect(error).to_be_hidden()
    mask_input = page.get_by_label("Mask (optional)")
    expect(mask_input).to_be_visible()
    mask_input.set_input_files(str(picture(tmp_path / "mask.png", (32, 32), "white")))
    expect(page.get_by_role("img", name="Mask", exact=True)).to_be_visible()
    mask_error = page.locator("#mask-image-error")
    expect(mask_error).to_contain_text("must have the starting image’s size, 64×64")
    page.get_by_role("button", name="Generate", exact=True).click()  # the API refuses it too
    expect(mask_error).to_contain_text("64x64")
    expect(mask_input).to_be_focused()
    expect(mask_input).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#jobs-empty")).to_be_visible()  # nothing was made, nothing charged
    expect(tokens(page)).to_have_text("100")
    screenshot(page, "14-mask-error")

    page.get_by_role("button", name="Remove mask").click()
    expect(mask_error).to_be_hidden()
    page.get_by_role("button", name="Remove starting image").click()
    expect(mask_input).to_be_hidden()
    # Uploads that no request used are deleted once removed: the allowance is not used up.
    headers = {"Authorization": f"Bearer {session_token(page)}"}
    for _ in range(50):
        left = httpx.get(f"{studio.url}/api/v1/uploads", headers=headers, timeout=10).json()
        if left["count"] == 0:
            break
        page.wait_for_timeout(200)
    assert left["count"] == 0, left
    assert [e for e in page.errors if "422" not in e] == []


def test_the_lora_picker_is_hidden_when_none_are_offered(new_page: Any, studio: Studio) -> None:
    assert httpx.get(f"{studio.url}/studio/config", timeout=10).json()["loras"]["loras"] == []
    page = new_page()
    sign_in(page, "kim")
    expect(page.get_by_label("Prompt", exact=True)).to_be_visible()
    expect(page.locator("#loras")).to_be_hidden()
    expect(page.get_by_role("button", name="Add LoRA")).to_be_hidden()
    assert page.errors == []


LORAS = ("grain", "ink-wash", "paper", "sepia")


@pytest.fixture(scope="module")
def lora_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """A second server whose operator offers four LoRA adapters (random ones for the tiny
    pipeline) and prices image to image and inpainting apart."""
    from nexus_image.adapters.diffusers.tiny import build_tiny_pipeline, save_random_lora

    root = tmp_path_factory.mktemp("lora-studio")
    pipe = build_tiny_pipeline()
    for seed, name in enumerate(LORAS):
        save_random_lora(pipe, root / "loras" / f"{name}.safetensors", seed=seed)
    with pytest.MonkeyPatch.context() as env:  # the fixture's server takes the rest of its environment
        env.setenv("NEXUS_IMAGE_LORA_DIR", str(root / "loras"))
        env.setenv("NEXUS_IMAGE_IMG2IMG_PRICES", "512x512=7")
        env.setenv("NEXUS_IMAGE_INPAINT_PRICES", "512x512=9")
        server = Studio(root)
    yield server
    server.stop()


def test_loras_are_picked_sent_and_shown_and_the_price_follows_the_mode(
    browser: Any, lora_studio: Studio, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 800}, base_url=lora_studio.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    watch_errors(page)
    try:
        prices = httpx.get(f"{lora_studio.url}/studio/config", timeout=10).json()["prices"]
        sign_in(page, "lou")
        prompt = "a lantern festival"
        fill_form(page, prompt, steps="3")
        cost = page.locator("#generate-cost")
        expect(cost).to_have_text(f"Costs {prices['txt2img']['512x512']} tokens")
        page.get_by_label("Starting image").set_input_files(str(picture(tmp_path / "a.png", (40, 40))))
        expect(page.get_by_role("img", name="Starting image", exact=True)).to_be_visible()
        expect(cost).to_have_text(f"Costs {prices['img2img']['512x512']} tokens")
        page.get_by_label("Mask (optional)").set_input_files(
            str(picture(tmp_path / "m.png", (40, 40), "white"))
        )
        expect(cost).to_have_text(f"Costs {prices['inpaint']['512x512']} tokens")
        page.get_by_role("button", name="Remove starting image").click()
        expect(cost).to_have_text(f"Costs {prices['txt2img']['512x512']} tokens")

        picker = page.get_by_role("group", name="LoRA adapters")
        expect(picker).to_be_visible()
        add = picker.get_by_role("button", name="Add LoRA")
        for n in (1, 2, 3):
            add.click()
            expect(picker.get_by_label(f"LoRA {n}", exact=True)).to_be_focused()
        expect(add).to_be_disabled()  # at most three
        expect(picker.get_by_label("LoRA 1", exact=True)).to_have_value("grain")
        expect(picker.get_by_label("LoRA 2", exact=True)).to_have_value("ink-wash")
        picker.get_by_label("Weight of LoRA 1").fill("0.8")
        picker.get_by_label("LoRA 3", exact=True).select_option("sepia")
        picker.get_by_role("button", name="Remove LoRA 2").click()
        expect(picker.get_by_label("LoRA 2", exact=True)).to_be_focused()  # sepia's row, now second
        expect(picker.get_by_label("LoRA 2", exact=True)).to_have_value("sepia")
        expect(add).to_be_enabled()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        screenshot(page, "15-loras-phone")
        with generate_request(page) as sent:
            page.get_by_role("button", name="Generate", exact=True).click()
        assert sent.value.post_data_json["loras"] == [
            {"name": "grain", "weight": 0.8},
            {"name": "sepia", "weight": 1},
        ]
        expect(job(page, prompt).get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)

        page.get_by_role("link", name="My images").click()
        details = open_details(page, "My images", prompt)
        expect(details.locator("#detail-params")).to_contain_text("grain (weight 0.8), sepia (weight 1)")
        details.get_by_role("button", name="Use these settings").click()
        expect(picker.get_by_label("LoRA 1", exact=True)).to_have_value("grain")
        expect(picker.get_by_label("Weight of LoRA 1")).to_have_value("0.8")
        expect(picker.get_by_label("LoRA 2", exact=True)).to_have_value("sepia")
        expect(picker.get_by_label("LoRA 3", exact=True)).to_have_count(0)
        assert page.errors == []
    finally:
        context.close()
