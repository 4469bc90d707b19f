"""The hires fix and upscaling in the studio, in Chromium against a real server with the tiny
pipeline: the hires group priced by the final size, an image made at that size, then a larger
copy of it made from its details and followed like any job."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_studio import FINISH_MS, fill_form, open_details, sign_in, tokens

pytestmark = pytest.mark.integration


def job(page: Any, name: str) -> Any:
    return page.get_by_role("listitem", name=f"Job: {name}", exact=True)


def test_a_hires_image_is_priced_by_its_final_size_then_upscaled_from_its_details(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "ivy")
    prompt = "a lighthouse at dusk"
    fill_form(page, prompt, steps="2")
    page.locator("#hires summary").click()
    page.get_by_label("Hires scale").fill("1.25")
    page.get_by_label("Hires scale").dispatch_event("change")
    expect(page.get_by_text("Costs 8 tokens")).to_be_visible()  # 640x640 from 512x512: 5 x 1.5625
    page.get_by_label("Hires upscaler").select_option("lanczos")
    page.get_by_role("button", name="Generate", exact=True).click()
    made = job(page, prompt)
    expect(made.get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)
    expect(tokens(page)).to_have_text("92")

    page.get_by_role("link", name="My images").click()
    details = open_details(page, "My images", prompt)
    expect(details.locator("#detail-params")).to_contain_text("640")
    details.get_by_label("Upscale").select_option("lanczos")
    details.get_by_role("button", name="×2").click()
    expect(page.get_by_role("listitem", name=f"Job: {prompt}").nth(0)).to_be_visible()
    expect(tokens(page)).to_have_text("88")  # 1280x1280: 1.64 MP x 2 tokens = 3.3, rounded up to 4
    page.get_by_role("link", name="My images").click()
    grid = page.get_by_role("list", name="My images").get_by_role("button", name=prompt)
    expect(grid).to_have_count(2, timeout=FINISH_MS)
    screenshot(page, "15-upscaled")
    assert page.errors == []


def test_a_preset_is_saved_used_shared_exported_and_imported(new_page: Any, tmp_path: Any) -> None:
    page = new_page()
    sign_in(page, "jude")
    fill_form(page, "{prompt}, film noir, rain", steps="2")
    page.get_by_label("Negative prompt").fill("colour")
    page.get_by_label("Save as").fill("noir")
    page.get_by_role("button", name="Save preset").click()
    expect(page.locator("#preset-status")).to_contain_text("Saved the preset “noir”")
    expect(page.get_by_label("Use preset")).to_have_value(re.compile(r".+"))
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#preset-status")).to_contain_text("is shared now")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    saved = tmp_path / "noir.preset.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert (document["format"], document["template"], document["negative_prompt"]) == (
        "nexus-image.preset",
        "{prompt}, film noir, rain",
        "colour",
    )
    page.get_by_label("Import").set_input_files(str(saved))
    expect(page.locator("#preset-status")).to_contain_text("Imported the preset “noir (2)”")

    page.get_by_label("Prompt", exact=True).fill("a detective")
    page.get_by_label("Negative prompt").fill("")
    page.get_by_role("button", name="Generate", exact=True).click()
    done = job(page, "a detective, film noir, rain")
    expect(done.get_by_role("img", name="a detective, film noir, rain", exact=True)).to_be_visible(
        timeout=FINISH_MS
    )
    assert page.errors == []
