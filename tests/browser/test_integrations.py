"""The Integrations page in Chromium: a webhook endpoint refused next to its field when its URL
is inside the network, then added with its secret shown once (and copied), disabled, its empty
delivery log opened, and deleted after a confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_studio import sign_in

pytestmark = pytest.mark.integration

URL = "https://hooks.example/in"


def test_a_webhook_endpoint_from_refusal_to_deletion(new_page: Any) -> None:
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "erin")
    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Integrations", level=2)).to_be_focused()
    page.get_by_role("button", name="Show secret").click()  # the request webhooks' secret
    expect(page.get_by_role("textbox", name="Request webhook secret")).to_have_value(re.compile(r"^whsec_"))

    url = page.get_by_label("URL", exact=True)
    url.fill("http://127.0.0.1:8080/in")
    page.get_by_label("generation.completed").check()
    add = page.get_by_role("button", name="Add endpoint")
    add.click()
    refusal = page.locator("#endpoint-url-error")
    expect(refusal).to_contain_text("not a public address")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_be_focused()

    url.fill(URL)
    page.get_by_label("Description (optional)").fill("build server")
    add.click()
    secret = page.get_by_role("textbox", name="Secret of the new endpoint")
    expect(secret).to_have_value(re.compile(r"^whsec_\S+$"))
    expect(refusal).to_be_hidden()
    page.get_by_role("button", name="Copy: Secret of the new endpoint").click()
    expect(page.locator("#integrations-message")).to_have_text("Secret copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret.input_value()
    endpoint = page.get_by_role("listitem", name=f"Endpoint: {URL}")
    expect(endpoint).to_contain_text("Events: generation.completed")
    expect(endpoint).to_contain_text("build server")
    screenshot(page, "20-integrations")

    endpoint.get_by_role("button", name=f"Disable: {URL}").click()
    expect(endpoint).to_contain_text("Disabled")
    expect(endpoint.get_by_role("button", name=f"Enable: {URL}")).to_be_focused()
    endpoint.get_by_role("button", name=f"Deliveries: {URL}").click()
    expect(page.get_by_role("heading", name=f"Deliveries to {URL}")).to_be_focused()
    expect(page.locator("#deliveries-summary")).to_contain_text("No deliveries yet")

    page.once("dialog", lambda dialog: dialog.accept())  # "Delete the endpoint …?"
    endpoint.get_by_role("button", name=f"Delete: {URL}").click()
    expect(endpoint).to_have_count(0)
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Deliveries to {URL}")).to_be_hidden()
    assert [e for e in page.errors if "422" not in e] == []  # the refusal's own answer
