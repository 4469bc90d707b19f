"""Remixing an image from its stored settings, and reading the settings out of a PNG upload:
over HTTP, with the access rules (another user's private image is 404, a public one may be
remixed), moderation and charging of a normal request, and uploads refused with 4xx problems."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

from .conftest import Api

A1111 = (
    "a red fox in the snow\nNegative prompt: blurry\n"
    "Steps: 12, Sampler: Euler a, CFG scale: 6, Seed: 99, Size: 512x512, Model: sd15"
)


def upload(api: Api, data: bytes, user: str = "alice", field: str = "file") -> dict[str, object]:
    answer = api.request("POST", "/images/parameters", user, files={field: ("image.png", data, "image/png")})
    return {"status": answer.status_code, **answer.json()}


def png_with(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def test_a_remix_keeps_the_stored_settings_and_changes_what_is_given(api: Api) -> None:
    original = api.completed(seed=4242, steps=7, style="anime", resolution="768x768", guidance=9)
    answer = api.request("POST", f"/images/{original['id']}/remix", json={"prompt": "a blue fox"})
    assert answer.status_code == 201, answer.text
    remix = answer.json()
    assert remix["prompt"] == "a blue fox" and remix["id"] != original["id"]
    kept = ("seed", "steps", "style", "resolution", "guidance", "scheduler", "negative_prompt")
    assert {k: remix[k] for k in kept} == {k: original[k] for k in kept}
    assert answer.headers["location"] == f"/api/v1/images/{remix['id']}"
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100 - 10 - 10
    again = api.request("POST", f"/images/{original['id']}/remix", json={}).json()
    assert again["prompt"] == original["prompt"] and again["seed"] == 4242  # same settings, same image
    varied = api.request(
        "POST", f"/images/{original['id']}/remix", json={"variation_seed": 5, "variation_strength": 0.3}
    ).json()
    assert (varied["seed"], varied["variation_seed"], varied["variation_strength"]) == (4242, 5, 0.3)


def test_another_users_private_image_is_404_and_a_public_one_can_be_remixed(api: Api) -> None:
    private = api.completed(user="bob")
    hidden = api.request("POST", f"/images/{private['id']}/remix", json={})
    missing = api.request("POST", "/images/no-such-image/remix", json={})
    assert (
        hidden.status_code == 404 == missing.status_code and hidden.json()["code"] == missing.json()["code"]
    )
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100
    public = api.completed(user="bob", is_public=True)
    taken = api.request("POST", f"/images/{public['id']}/remix", json={"num_images": 2})
    assert taken.status_code == 201 and len(taken.json()["images"]) == 2
    assert {i["user_id"] for i in taken.json()["images"]} == {"alice"}
    assert taken.json()["is_public"] is False  # a remix starts private
    assert api.request("GET", "/tokens/balance").json()["balance"] == 90


def test_a_remix_is_moderated_and_validated_like_a_request(api: Api) -> None:
    original = api.completed()
    refused = api.request("POST", f"/images/{original['id']}/remix", json={"prompt": "a n.u.d.e portrait"})
    assert refused.status_code == 422 and refused.json()["category"] == "sexual"
    unknown = api.request("POST", f"/images/{original['id']}/remix", json={"colour": "red"})
    assert unknown.status_code == 400
    assert api.request("GET", "/tokens/balance").json()["balance"] == 95


def test_our_png_gives_back_parameters_that_make_the_same_request(api: Api) -> None:
    original = api.completed(
        seed=31337, steps=5, negative_prompt="fog", variation_seed=8, variation_strength=0.5
    )
    data = api.request("GET", f"/images/{original['id']}/file").content
    found = upload(api, data)
    assert found["status"] == 200 and found["source"] == "nexus-image"
    parameters = found["parameters"]
    assert isinstance(parameters, dict)
    assert parameters["seed"] == 31337 and parameters["variation_strength"] == 0.5
    again = api.request("POST", "/images/generate", json=parameters)
    assert again.status_code == 201, again.text
    fields = ("prompt", "negative_prompt", "seed", "steps", "guidance", "scheduler", "variation_seed")
    assert {k: again.json()[k] for k in fields} == {k: original[k] for k in fields}


def test_an_automatic1111_png_is_read(api: Api) -> None:
    found = upload(api, png_with(A1111))
    assert found["status"] == 200 and found["source"] == "automatic1111"
    assert found["parameters"] == {
        "prompt": "a red fox in the snow", "negative_prompt": "blurry", "steps": 12, "guidance": 6.0,
        "seed": 99, "resolution": "512x512", "scheduler": "euler_a", "style": "realistic",
    }  # fmt: skip
    assert found["unsupported"] == {"Model": "sd15"}


def test_uploads_that_are_not_usable_pngs_are_4xx_naming_the_field(api: Api) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    for data in (jpeg.getvalue(), b"not an image", png_with("")[:40]):
        found = upload(api, data)
        assert found["status"] == 422 and found["field"] == "file", found
    plain = io.BytesIO()
    Image.new("RGB", (8, 8)).save(plain, format="PNG")
    assert upload(api, plain.getvalue())["field"] == "file"  # a PNG with no parameters
    wrong = upload(api, png_with(A1111), field="image")
    assert wrong["status"] == 400 and wrong["field"] == "file"
    huge = api.request(
        "POST", "/images/parameters", files={"file": ("big.png", b"\x89PNG" + b"0" * (11 * 2**20))}
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    json_body = api.request("POST", "/images/parameters", json={"file": "x"})
    assert json_body.status_code == 400 and json_body.json()["field"] == "file"


def test_a_new_variation_seed_alone_keeps_the_stored_variation_strength(api: Api) -> None:
    original = api.completed(seed=11, variation_seed=12, variation_strength=0.25)
    answer = api.request("POST", f"/images/{original['id']}/remix", json={"variation_seed": 40})
    assert answer.status_code == 201, answer.text
    remix = answer.json()
    assert (remix["seed"], remix["variation_seed"], remix["variation_strength"]) == (11, 40, 0.25)
    given = api.request(
        "POST", f"/images/{original['id']}/remix", json={"variation_seed": 41, "variation_strength": 0.5}
    ).json()
    assert (given["variation_seed"], given["variation_strength"]) == (41, 0.5)  # given fields override


def test_a_remix_is_audited_as_a_remix(api: Api) -> None:
    original = api.completed()
    remix = api.request("POST", f"/images/{original['id']}/remix", json={"prompt": "a blue fox"}).json()
    group = api.request("POST", f"/images/{original['id']}/remix", json={"num_images": 2}).json()
    rows = [a for a in api.audit() if a[2] in (remix["id"], group["id"])]
    assert rows == [
        ("alice", "image.remix", remix["id"], "success"),
        ("alice", "image.remix", group["id"], "success"),
    ]
    assert [a for a in api.audit() if a[1] == "image.generate"] == [
        ("alice", "image.generate", original["id"], "success")
    ]
    remixed = [a for a in api.db.store.audit if a.target == remix["id"]]
    assert f"remix of {original['id']}" in remixed[0].detail


def test_a_file_over_10_mb_within_the_body_limit_is_413_naming_the_field(api: Api) -> None:
    data = png_with(A1111) + b"0" * (10 * 2**20)  # just over 10 MB, under the body limit
    answer = api.request("POST", "/images/parameters", files={"file": ("big.png", data, "image/png")})
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    found = answer.json()
    assert (found["code"], found["field"], found["status"]) == ("payload_too_large", "file", 413)
    assert "10 MB" in found["detail"]
    exactly = png_with(A1111)
    exactly += b"\0" * (10 * 2**20 - len(exactly))  # exactly 10 MB is read
    assert upload(api, exactly)["status"] == 200
