"""Search in the studio: a person types words in My images and sees the matching image only,
filters by the generation's settings, then clears the search and sees the listing again."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Studio, screenshot

pytestmark = pytest.mark.integration


def requested(studio: Studio, user: str, prompt: str, **settings: Any) -> str:
    """An image asked for over the API (the worker need not have drawn it: search reads prompts)."""
    token = httpx.post(f"{studio.url}/studio/local-token", json={"user": user}, timeout=10).json()["token"]
    answer = httpx.post(
        f"{studio.url}/api/v1/images/generate",
        json={"prompt": prompt, "steps": 1, **settings},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    image_id: str = answer.json()["id"]
    return image_id


def test_typing_words_shows_the_matching_image_only(new_page: Any, studio: Studio) -> None:
    quokka = requested(studio, "searcher", "a quokka smiling on a beach")
    lighthouse = requested(studio, "searcher", "a lighthouse in a storm", style="anime", seed=77)
    requested(studio, "someone-else", "a quokka of somebody else's")
    page = new_page()
    page.goto("/")
    page.get_by_label("User name").fill("searcher")
    page.get_by_role("button", name="Local sign-in").click()
    page.get_by_role("link", name="My images").click()
    listing = page.get_by_role("list", name="My images").get_by_role("listitem")
    expect(listing).to_have_count(2)

    search = page.get_by_role("search", name="Search my images")
    search.get_by_label("Words of the prompt").fill("quokkas smile")  # other forms of its words
    search.get_by_label("Words of the prompt").press("Enter")
    results = page.get_by_role("list", name="Search results").get_by_role("listitem")
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-id", quokka)
    expect(page.locator("#images-results-summary")).to_have_text(re.compile(r"^1 image matches"))
    expect(page.get_by_role("list", name="My images")).to_be_hidden()
    screenshot(page, "search-my-images")

    search.get_by_label("Words of the prompt").fill("ighthou")  # a part of a word
    search.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-id", lighthouse)

    # the filters are the generation fields marked searchable, each offered as its kind asks
    search.get_by_label("Words of the prompt").fill("")
    search.get_by_text("Search filters").click()
    search.get_by_label("Style filter").select_option(label="Anime")
    search.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-id", lighthouse)
    search.get_by_label("Style filter").select_option(label="Any")
    search.get_by_label("Seed filter").fill("78")
    search.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#images-results-summary")).to_have_text("No images match.")
    search.get_by_label("LoRA adapters filter").fill("../up")
    search.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#images-search-error")).to_contain_text("lora must be an adapter's name")
    expect(search.get_by_label("LoRA adapters filter")).to_have_attribute("aria-invalid", "true")

    search.get_by_role("button", name="Clear search").click()
    expect(page.get_by_role("list", name="Search results")).to_be_hidden()
    expect(listing).to_have_count(2)
    assert [e for e in page.errors if "422" not in e] == [], page.errors  # the refused filter
