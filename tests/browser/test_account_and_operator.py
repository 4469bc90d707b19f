"""The Account and Operator screens in Chromium: a user sees their tier, balance and usage (which
a generation moves), a quota refusal in words, downloads and erases their data, and is not
offered the Operator screen; an operator (a JWT whose role claim is admin) pauses the queue,
sees a user's waiting image there, looks the user up, grants them tokens with a reason (the
balance and the ledger show it), cancels the job and resumes the queue."""

from __future__ import annotations

import io
import re
import time
import zipfile
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import expect

from nexus_image.entrypoints.http.security import DEV_SECRET_FILE
from tests.browser.conftest import Studio, screenshot
from tests.browser.test_studio import FINISH_MS, fill_form, job, sign_in, tokens

pytestmark = pytest.mark.integration

QUOTA_REFUSAL = {
    "type": "about:blank",
    "title": "Too Many Requests",
    "status": 429,
    "code": "quota_exceeded",
    "detail": "the standard tier allows 3 images a day; 3 used, 1 asked",
    "quota": "images_per_day",
    "limit": 3,
    "used": 3,
    "tier": "standard",
    "resets_at": "2030-01-02T00:00:00+00:00",
}


def operator_token(studio: Studio, user: str = "olga") -> str:
    """A JWT with the operator role, signed with the embedded server's development secret."""
    secret = (studio.log_path.parent / "data" / DEV_SECRET_FILE).read_text().strip()
    claims = {"sub": user, "role": "admin", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


def api(studio: Studio, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, f"{studio.url}/api/v1{path}", headers=headers, timeout=20, **kwargs)


def test_a_user_sees_their_account_and_no_operator_page(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "ada")
    expect(page.locator("#tier")).to_have_text("standard")
    balance = int(tokens(page).inner_text())
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", level=2)).to_be_focused()
    facts = page.locator("#account-facts")
    today = facts.get_by_role("row").filter(has_text="Images today")
    expect(today).to_contain_text("0 (no limit)")
    expect(facts).to_contain_text("standard")
    expect(page.locator("#account-balance")).to_have_text(f"{balance} tokens")
    expect(facts.get_by_role("row").filter(has_text="Storage")).to_contain_text("0 bytes (no limit)")
    expect(page.locator("#account-retention")).to_have_text("Images are kept until they are deleted.")

    # This server's tier has no quota: its refusal is stood in for, to see it in words.
    prompt = "a copper kettle on a stove"
    fill_form(page, prompt, steps="2")
    page.route("**/api/v1/images/generate", lambda route: route.fulfill(status=429, json=QUOTA_REFUSAL))
    generate = page.get_by_role("button", name="Generate", exact=True)
    generate.click()
    expect(page.locator("#generate-error")).to_contain_text(
        "Quota reached: images today 3 / 3 on the standard tier. The count starts again at"
    )
    page.unroute("**/api/v1/images/generate")
    generate.click()
    expect(job(page, prompt).get_by_role("img", name=prompt, exact=True)).to_be_visible(timeout=FINISH_MS)
    expect(tokens(page)).not_to_have_text(str(balance))
    page.get_by_role("link", name="Account").click()
    expect(today).to_contain_text("1 (no limit)")
    expect(page.locator("#account-balance")).to_have_text(f"{tokens(page).inner_text()} tokens")
    expect(page.get_by_role("link", name="Operator")).to_be_hidden()
    screenshot(page, "30-account")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())) as archive:
        assert prompt in archive.read("images.json").decode()
        assert any(name.startswith("images/") and name.endswith(".png") for name in archive.namelist())
    expect(page.locator("#account-data-status")).to_contain_text("downloaded")
    assert [e for e in page.errors if "429" not in e] == []  # the refusal stood in for

    page.once("dialog", lambda dialog: dialog.accept())  # "Erase the account ada …?"
    page.get_by_role("button", name="Erase my data").click()
    expect(page.locator("#signin-error")).to_have_text("The account ada and all its data were erased.")
    expect(page.get_by_role("button", name="Local sign-in")).to_be_visible()


def test_an_operator_watches_the_queue_and_grants_tokens(new_page: Any, studio: Studio) -> None:
    admin = operator_token(studio)
    page = new_page()
    page.goto("/")
    page.get_by_label("Token", exact=True).fill(admin)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name="Operator").click()
    expect(page.get_by_role("heading", name="Operator", level=2)).to_be_focused()
    state = page.locator("#queue-state")
    try:
        page.get_by_role("button", name="Pause queue").click()
        expect(state).to_contain_text("Paused")
        resume = page.get_by_role("button", name="Resume queue")
        expect(resume).to_be_visible()

        minted = httpx.post(f"{studio.url}/studio/local-token", json={"user": "pia"}, timeout=10)
        user = minted.json()["token"]
        prompt = "a heron waiting in the reeds"
        created = api(studio, "POST", "/images/generate", user, json={"prompt": prompt, "steps": 2})
        assert created.status_code in (200, 201, 202), created.text
        balance = api(studio, "GET", "/account", user).json()["balance"]

        page.get_by_role("button", name="Refresh").click()
        row = page.locator("#queue-users").get_by_role("row").filter(has_text="pia")
        expect(row.locator("td").nth(1)).to_have_text("1")  # waiting
        row.get_by_role("button", name="Look up: pia").click()
        expect(page.get_by_role("heading", name="User pia")).to_be_focused()
        expect(page.locator("#lookup-balance")).to_have_text(f"{balance} tokens")
        expect(page.locator("#lookup-active")).to_contain_text(prompt)

        page.get_by_label("Amount", exact=True).fill("25")
        page.get_by_label("Reason", exact=True).fill("sorry for the wait")
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#operator-message")).to_have_text(
            f"Granted 25 tokens to pia: the balance is {balance + 25}."
        )
        expect(page.locator("#lookup-balance")).to_have_text(f"{balance + 25} tokens")
        newest = page.locator("#lookup-ledger").get_by_role("row").first
        expect(newest).to_contain_text("GRANT")
        expect(newest).to_contain_text("+25")
        expect(newest).to_contain_text("sorry for the wait")
        screenshot(page, "31-operator")

        page.get_by_role("button", name=f"Cancel job: {prompt}").click()
        expect(page.locator("#operator-message")).to_contain_text(
            re.compile(r"Cancelled .* \d+ tokens refunded")
        )
        expect(page.locator("#lookup-active-empty")).to_be_visible()
        resume.click()
        expect(state).to_contain_text("Dispatching")
        expect(page.get_by_role("button", name="Pause queue")).to_be_visible()
        assert page.errors == []
    finally:  # the server is shared with the other browser tests
        api(studio, "POST", "/admin/queue/resume", admin)
