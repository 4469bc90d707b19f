"""The generation form's plain fields are built from the field descriptions /studio/config
serves: a parameter the page has never heard of shows up with its label, hint, bounds and error
box, is sent (numbers as numbers, flags as booleans, empty ones left out), shows the API's
refusal next to it, and is filled from a PNG's settings; fields of one group share a <details>.
The server's answer is changed in the browser, so no new JavaScript or server code is involved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_studio import sign_in

pytestmark = pytest.mark.integration


def described(name: str, label: str, kind: str, **given: Any) -> dict[str, Any]:
    field = {
        "name": name, "label": label, "help": f"What {label.lower()} does.", "kind": kind, "min": None,
        "max": None, "min_exclusive": False, "max_length": None, "required": False, "choices": None,
        "default": None, "fallback": None, "group": None, "scope": "image",
    }  # fmt: skip
    return field | given


NEW_FIELDS = [
    described("noise_offset", "Noise offset", "integer", min=1, max=12),
    described("sharpness", "Sharpness", "number", min=0.0, max=1.0, group="finish"),
    described("grain", "Grain", "choice", choices=["none", "fine", "coarse"], default="fine", group="finish"),
    described("mirrored", "Mirrored", "flag", default=False),
]


def with_new_fields(route: Any) -> None:
    config = route.fetch().json()
    names = [field["name"] for field in config["fields"]]
    at = names.index("num_images")
    config["fields"][at:at] = NEW_FIELDS
    route.fulfill(json=config)


def test_a_new_parameter_appears_in_the_form_is_sent_refused_and_filled(
    new_page: Any, tmp_path: Path
) -> None:
    page = new_page()
    page.route("**/studio/config", with_new_fields)
    sent: list[Any] = []

    def refuse(route: Any) -> None:
        sent.append(route.request.post_data_json)
        problem = {"status": 422, "detail": "Must be 12 at most.", "field": "noise_offset", "code": "invalid"}
        route.fulfill(status=422, content_type="application/problem+json", body=json.dumps(problem))

    page.route("**/api/v1/images/generate", refuse)
    sign_in(page, "nia")

    offset = page.get_by_label("Noise offset")
    expect(offset).to_have_attribute("type", "number")
    expect(offset).to_have_attribute("name", "noise_offset")
    for attribute, value in {"min": "1", "max": "12", "step": "1"}.items():
        expect(offset).to_have_attribute(attribute, value)
    expect(offset).to_have_attribute("aria-describedby", "noise-offset-hint noise-offset-error")
    expect(page.locator("#noise-offset-hint")).to_have_text("What noise offset does.")
    finish = page.locator("details#finish")
    expect(finish.locator("summary")).to_have_text("Finish")
    expect(finish.get_by_label("Sharpness")).to_be_hidden()  # folded until opened
    finish.locator("summary").click()
    expect(finish.get_by_label("Sharpness")).to_have_attribute("step", "0.05")
    expect(finish.get_by_label("Grain")).to_have_value("fine")
    expect(page.get_by_label("Mirrored")).not_to_be_checked()
    expect(page.locator("#companion-id")).to_have_count(0)  # not shown
    order = page.evaluate("() => [...document.querySelectorAll('#generate-form [name]')].map(e => e.name)")
    places = [order.index(name) for name in ("strength", "noise_offset", "sharpness", "num_images")]
    assert places == sorted(places), order

    page.get_by_label("Prompt", exact=True).fill("a kite over dunes")
    offset.fill("20")
    page.get_by_label("Mirrored").check()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#noise-offset-error")).to_have_text("Must be 12 at most.")
    expect(offset).to_have_attribute("aria-invalid", "true")
    expect(offset).to_be_focused()
    body = sent[0]
    assert body["noise_offset"] == 20 and body["mirrored"] is True and body["grain"] == "fine", body
    assert body["num_images"] == 1 and body["is_public"] is False, body
    assert not {"sharpness", "negative_prompt", "steps", "variation_seed", "companion_id"} & set(body), body

    page.route(
        "**/api/v1/images/parameters",
        lambda route: route.fulfill(json={
            "source": "nexus-image", "unsupported": {},
            "parameters": {"prompt": "a kite at night", "noise_offset": 3, "sharpness": 0.4, "steps": 9, "mirrored": True},
        }),
    )  # fmt: skip
    finish.locator("summary").click()  # folded again: filling a value opens it
    (tmp_path / "any.png").write_bytes(b"\x89PNG")
    page.get_by_label("Settings from a PNG").set_input_files(str(tmp_path / "any.png"))
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a kite at night")
    expect(offset).to_have_value("3")
    expect(offset).not_to_have_attribute("aria-invalid", "true")
    expect(finish.get_by_label("Sharpness")).to_have_value("0.4")
    expect(finish.get_by_label("Grain")).to_have_value("fine")
    expect(page.get_by_label("Steps", exact=True)).to_have_value("9")
    expect(page.get_by_label("Mirrored")).to_be_checked()
    assert [e for e in page.errors if "422" not in e] == []
