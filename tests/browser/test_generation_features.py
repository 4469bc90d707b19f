"""The generation features in the studio, in Chromium against a real server: several images
per request watched side by side with live previews, a remix from an image's settings, four
variations of an image, and the settings read back from a PNG (ours and AUTOMATIC1111's)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin
from playwright.sync_api import expect

from tests.browser.conftest import Studio, screenshot
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
    expect(page.get_by_label("Steps")).to_have_value("12")
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
