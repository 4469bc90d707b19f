"""The studio counts the prompt's CLIP tokens per 75-token chunk as one types."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_studio import sign_in

pytestmark = pytest.mark.integration


def test_the_prompt_shows_its_tokens_per_chunk_as_one_types(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "tess")
    page.get_by_role("link", name="Generate").click()
    prompt = page.get_by_label("Prompt", exact=True)
    counter = page.locator("#prompt-tokens")
    prompt.fill("a red fox")
    expect(counter).to_have_text(re.compile(r"^Tokens \d+/75$"))
    one = int(counter.inner_text().split()[1].split("/")[0])
    prompt.fill("a (red:1.3) fox")  # weights add no tokens
    expect(counter).to_have_text(f"Tokens {one}/75")
    prompt.fill("a red fox, " * 40)
    expect(counter).to_have_text(re.compile(r"^Tokens \d+/75 · \d+/75 · \d+/75$"))
    prompt.fill("")
    expect(counter).to_have_text("")
    assert page.errors == []
