"""A person using the studio in Chromium, against a real server: sign in, generate and watch,
organise (favorite, album), share to the gallery and take it back, cancel with a refund, the
errors the API gives shown next to their fields, the keyboard, a phone-sized screen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Studio, screenshot

pytestmark = pytest.mark.integration

FINISH_MS = 120_000  # the tiny pipeline on two CPU cores (the first job also loads it)


def sign_in(page: Any, user: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(user)
    page.get_by_role("button", name="Local sign-in").click()
    expect(page.get_by_role("status", name="Tokens")).to_have_text(re.compile(r"^\s*\d+\s*$"))


def tokens(page: Any) -> Any:
    return page.get_by_role("status", name="Tokens")


def fill_form(page: Any, prompt: str, resolution: str | None = None, steps: str | None = None) -> None:
    page.get_by_role("link", name="Generate").click()
    page.get_by_label("Prompt", exact=True).fill(prompt)
    if resolution is not None:
        page.get_by_label("Resolution").select_option(resolution)
    if steps is not None:
        page.get_by_label("Steps", exact=True).fill(steps)


def job(page: Any, prompt: str) -> Any:
    return page.get_by_role("listitem", name=f"Job: {prompt}")


def open_details(page: Any, grid: str, prompt: str) -> Any:
    page.get_by_role("list", name=grid).get_by_role("button", name=prompt).first.click()
    dialog = page.get_by_role("dialog", name="Image details")
    expect(dialog).to_be_visible()
    return dialog


def test_the_page_is_honest_about_noise_and_loads_nothing_from_elsewhere(
    new_page: Any, studio: Studio
) -> None:
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/")
    expect(page.locator("#model-notice")).to_contain_text("noise")
    expect(page.get_by_role("button", name="Local sign-in")).to_be_visible()
    page.get_by_label("Token", exact=True).fill("not-a-token")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#signin-error")).to_contain_text("refused")
    screenshot(page, "01-sign-in")
    assert requested and all(url.startswith(studio.url) for url in requested), requested
    assert [e for e in page.errors if "401" not in e] == []


def test_generate_watch_organise_share_and_take_back(new_page: Any) -> None:
    alice = new_page()
    sign_in(alice, "alice")
    expect(tokens(alice)).to_have_text("100")
    prompt = "a lighthouse on a cliff at dusk"
    fill_form(alice, prompt, steps="40")
    alice.get_by_label("Prompt", exact=True).press("Enter")  # Enter submits
    watched = job(alice, prompt)
    expect(watched).to_be_visible()
    progress = watched.get_by_role("progressbar", name="Progress")
    expect(progress).to_have_attribute("aria-valuemax", "40", timeout=FINISH_MS)
    expect(progress).to_have_text(re.compile(r"\d+ / 40"))
    screenshot(alice, "02-generating")
    expect(watched.get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)
    expect(tokens(alice)).to_have_text("95")
    screenshot(alice, "03-generated")

    alice.get_by_role("link", name="My images").click()
    expect(alice.get_by_role("list", name="My images").get_by_role("img", name=prompt)).to_be_visible()
    screenshot(alice, "04-my-images")
    details = open_details(alice, "My images", prompt)
    expect(details.locator("#detail-params")).to_contain_text("40")  # steps
    expect(details.locator("#detail-params")).to_contain_text("dpmpp_2m_karras")
    expect(details.locator("#detail-params")).to_contain_text("ExpiresNever")  # no retention here
    expect(details.get_by_role("img")).to_be_visible()
    favorite = details.get_by_role("button", name="Favorite", exact=True)
    expect(favorite).to_have_attribute("aria-pressed", "false")
    favorite.click()
    expect(favorite).to_have_attribute("aria-pressed", "true")
    screenshot(alice, "05-details")
    with alice.expect_download() as download:
        details.get_by_role("link", name="Download").click()
    assert download.value.path().read_bytes().startswith(b"\x89PNG")
    details.get_by_role("button", name="Use these settings").click()
    expect(alice.get_by_label("Prompt", exact=True)).to_have_value(prompt)
    expect(alice.get_by_label("Steps", exact=True)).to_have_value("40")
    expect(alice.get_by_label("Seed", exact=True)).to_have_value(re.compile(r"^\d+$"))

    alice.get_by_role("link", name="Albums").click()
    alice.get_by_label("Album name").fill("Coast")
    alice.get_by_role("button", name="Create album").click()
    expect(alice.get_by_role("listitem", name="Album: Coast")).to_contain_text("0 images")
    alice.get_by_role("link", name="My images").click()
    alice.get_by_label("Favorites only").check()
    details = open_details(alice, "My images", prompt)
    details.get_by_label("Album", exact=True).select_option(label="Coast")
    details.get_by_role("button", name="Add to album").click()
    expect(details.locator("#detail-message")).to_contain_text("Coast")
    details.get_by_role("button", name="Make public").click()
    expect(details.get_by_role("button", name="Make private")).to_be_visible()
    details.get_by_role("button", name="Close").click()
    alice.get_by_role("link", name="Albums").click()
    album = alice.get_by_role("listitem", name="Album: Coast")
    expect(album).to_contain_text("1 image")
    album.get_by_role("button", name="Open").click()
    expect(alice.get_by_role("list", name="Coast").get_by_role("img", name=prompt)).to_be_visible()
    screenshot(alice, "06-album")

    bob = new_page()
    sign_in(bob, "bob")
    bob.get_by_role("link", name="Gallery").click()
    shared = bob.get_by_role("list", name="Gallery").get_by_role("listitem").filter(has_text="by alice")
    expect(shared.get_by_role("img", name=prompt)).to_be_visible()
    screenshot(bob, "07-gallery")
    bob.get_by_role("link", name="My images").click()
    expect(bob.get_by_role("list", name="My images").get_by_role("img", name=prompt)).to_have_count(0)

    alice.get_by_role("link", name="My images").click()
    details = open_details(alice, "My images", prompt)
    details.get_by_role("button", name="Make private").click()
    expect(details.get_by_role("button", name="Make public")).to_be_visible()

    bob.reload()
    bob.get_by_role("link", name="Gallery").click()
    expect(bob.get_by_role("heading", name="Gallery")).to_be_visible()
    expect(bob.get_by_role("list", name="Gallery").get_by_role("img", name=prompt)).to_have_count(0)

    alice.once("dialog", lambda dialog: dialog.accept())  # "Delete this image?"
    details.get_by_role("button", name="Delete").click()
    expect(alice.get_by_role("list", name="My images").get_by_role("img", name=prompt)).to_have_count(0)
    alice.get_by_role("link", name="Albums").click()
    expect(alice.get_by_role("listitem", name="Album: Coast")).to_contain_text("0 images")
    assert alice.errors == [] and bob.errors == []


def test_cancelling_a_running_job_refunds_it_in_the_balance(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "carol")
    expect(tokens(page)).to_have_text("100")
    prompt = "a very slow cathedral interior"
    fill_form(page, prompt, resolution="1024x1536", steps="100")
    page.get_by_role("button", name="Generate", exact=True).click()
    running = job(page, prompt)
    expect(running.get_by_role("progressbar", name="Progress")).to_be_visible(timeout=FINISH_MS)
    expect(tokens(page)).to_have_text("70")
    running.get_by_role("button", name="Cancel").click()
    expect(running).to_contain_text("Cancelled — refunded 30 tokens", timeout=30_000)
    expect(tokens(page)).to_have_text("100", timeout=15_000)
    screenshot(page, "08-cancelled")
    assert page.errors == []


def test_refusals_are_shown_next_to_the_field_they_concern(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "dave")
    fill_form(page, "a n.u.d.e portrait")
    page.get_by_role("button", name="Generate", exact=True).click()
    refusal = page.locator("#prompt-error")
    expect(refusal).to_contain_text("sexual")
    expect(page.get_by_label("Prompt", exact=True)).to_have_attribute("aria-invalid", "true")
    screenshot(page, "09-refused")

    fill_form(page, "a quiet lake", steps="500")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#steps-error")).to_be_visible()
    expect(refusal).to_be_hidden()  # cleared by the next submit

    queued = [f"costly picture {n}" for n in range(3)]  # 90 of dave's 100 tokens
    for prompt in queued:
        fill_form(page, prompt, resolution="1024x1536", steps="100")
        page.get_by_role("button", name="Generate", exact=True).click()
        expect(job(page, prompt)).to_be_visible()
    expect(tokens(page)).to_have_text("10")
    fill_form(page, "one too many", resolution="1024x1536", steps="100")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#resolution-error")).to_contain_text("needs 30, you have 10")
    for prompt in queued:  # several jobs at once, each cancelled and refunded
        job(page, prompt).get_by_role("button", name="Cancel").click()
        expect(job(page, prompt)).to_contain_text("refunded 30 tokens", timeout=30_000)
    expect(tokens(page)).to_have_text("100", timeout=15_000)
    assert [e for e in page.errors if not re.search(r"\b(402|422|400)\b", e)] == []


def test_keyboard_focus_is_visible_and_a_phone_screen_has_no_sideways_scroll(new_page: Any) -> None:
    page = new_page(width=360, height=760)
    sign_in(page, "erin")
    page.get_by_label("Prompt", exact=True).focus()
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), outline
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    screenshot(page, "10-phone")
    page.get_by_role("link", name="My images").click()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(e => e.offsetParent !== null)
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unlabelled == []
