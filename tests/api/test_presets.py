"""Presets over HTTP: the caller's own, shared ones, export and import, and who sees what."""

from __future__ import annotations

from typing import Any

from .conftest import Api

NOIR: dict[str, Any] = {
    "name": "Film noir",
    "template": "cinematic still of {prompt}, hard shadows",
    "negative_prompt": "colour",
    "style": "realistic",
    "parameters": {"steps": 24, "guidance": 6.5, "scheduler": "euler_a", "resolution": "768x768"},
}


def create(api: Api, user: str = "alice", **body: Any) -> dict[str, Any]:
    response = api.request("POST", "/presets", user, json={**NOIR, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_list_rename_and_delete(api: Api) -> None:
    preset = create(api, name="  Film   noir ")
    assert preset["name"] == "Film noir" and preset["owner_id"] == "alice" and preset["is_public"] is False
    assert preset["parameters"] == NOIR["parameters"] and preset["style"] == "realistic"
    assert preset["created_at"].endswith("Z") and preset["updated_at"] == preset["created_at"]
    other = create(api, name="Ink", template="", style=None, parameters={})
    listed = api.request("GET", "/presets").json()
    assert listed["total"] == 2 and {p["id"] for p in listed["items"]} == {preset["id"], other["id"]}
    renamed = api.request("PATCH", f"/presets/{preset['id']}", json={"name": "Noir", "style": None})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["style"]) == ("Noir", None)
    assert renamed.json()["template"] == NOIR["template"]  # what is not named stays
    assert api.request("GET", f"/presets/{preset['id']}").json()["name"] == "Noir"
    taken = api.request("PATCH", f"/presets/{other['id']}", json={"name": "Noir"})
    assert taken.status_code == 409
    assert api.request("POST", "/presets", json={**NOIR, "name": "Noir"}).status_code == 409
    assert api.request("DELETE", f"/presets/{preset['id']}").status_code == 204
    assert api.request("GET", f"/presets/{preset['id']}").status_code == 404
    assert [p["id"] for p in api.request("GET", "/presets").json()["items"]] == [other["id"]]
    assert ("alice", "preset.delete", preset["id"], "success") in api.audit()


def test_export_then_import_round_trips_as_a_new_preset_of_the_importer(api: Api) -> None:
    original = create(api, is_public=True, parameters={**NOIR["parameters"], "loras": []})
    exported = api.request("GET", f"/presets/{original['id']}/export", user="bob")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"].startswith('attachment; filename="Film-noir.preset.json"')
    document = exported.json()
    assert document["format"] == "nexus-image.preset" and document["version"] == 1
    for _ in range(2):
        imported = api.request("POST", "/presets/import", user="bob", json=document)
        assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["id"] != original["id"] and copy["owner_id"] == "bob" and copy["is_public"] is False
    assert copy["name"] == "Film noir (2)"
    fields = ("template", "negative_prompt", "style", "parameters")
    assert {f: copy[f] for f in fields} == {f: original[f] for f in fields}
    assert api.request("GET", "/presets", user="bob").json()["total"] == 2


def test_a_document_of_another_format_or_version_is_refused_by_field(api: Api) -> None:
    document = api.request("GET", f"/presets/{create(api)['id']}/export").json()
    for change, field in (({"format": "invokeai"}, "format"), ({"version": 2}, "version")):
        refused = api.request("POST", "/presets/import", json={**document, **change})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field and refused.json()["allowed"]
    unknown = api.request("POST", "/presets/import", json={**document, "owner": "mallory"})
    assert unknown.status_code == 400 and unknown.json()["field"] == "owner"


def test_a_shared_preset_is_visible_to_everyone_and_changed_by_its_owner_only(api: Api) -> None:
    shared = create(api, is_public=True)
    private = create(api, name="Mine only")
    gallery = api.request("GET", "/presets/public", user="bob").json()
    assert [p["id"] for p in gallery["items"]] == [shared["id"]] and gallery["total"] == 1
    assert api.request("GET", f"/presets/{shared['id']}", user="bob").json()["name"] == "Film noir"
    assert api.request("PATCH", f"/presets/{shared['id']}", user="bob", json={"name": "x"}).status_code == 403
    assert api.request("DELETE", f"/presets/{shared['id']}", user="bob").status_code == 403
    published = api.request("PATCH", f"/presets/{private['id']}", json={"is_public": True})
    assert published.json()["is_public"] is True
    assert api.request("GET", "/presets/public", user="bob").json()["total"] == 2


def test_another_users_private_preset_answers_like_a_missing_one(api: Api) -> None:
    private = create(api)
    answers = []
    for preset_id in (private["id"], "no-such-preset"):
        for method, path, body in (
            ("GET", f"/presets/{preset_id}", None),
            ("PATCH", f"/presets/{preset_id}", {"name": "mine now"}),
            ("DELETE", f"/presets/{preset_id}", None),
            ("GET", f"/presets/{preset_id}/export", None),
        ):
            response = api.request(method, path, user="bob", json=body)
            found = response.json()
            answers.append((response.status_code, found["code"], found["detail"].replace(preset_id, "ID")))
    assert set(answers) == {(404, "not_found", "preset ID not found")}
    assert api.request("GET", "/presets", user="bob").json() == {
        "items": [],
        "total": 0,
        "page": 0,
        "size": 20,
    }
    assert api.request("GET", "/presets/public", user="bob").json()["total"] == 0
    assert api.request("GET", f"/presets/{private['id']}").json() == private  # nothing changed


def test_bad_parameters_are_refused_naming_the_field(api: Api) -> None:
    cases = (
        ({"steps": 500}, "parameters.steps", None),
        ({"seed": 42}, "parameters.seed", None),
        ({"prompt": "a fox"}, "parameters.prompt", None),
        ({"scheduler": "warp"}, "parameters.scheduler", "euler_a"),
    )
    for parameters, field, one_allowed in cases:
        refused = api.request("POST", "/presets", json={**NOIR, "parameters": parameters})
        assert refused.status_code == 400, refused.text
        problem = refused.json()
        assert problem["field"] == field, problem
        if one_allowed:
            assert one_allowed in problem["allowed"]
    style = api.request("POST", "/presets", json={**NOIR, "style": "vaporwave"}).json()
    assert style["field"] == "style" and "anime" in style["allowed"]
    blank = api.request("POST", "/presets", json={**NOIR, "name": "   "})
    assert blank.status_code == 422 and blank.json()["field"] == "name"
    strength = api.request("POST", "/presets", json={**NOIR, "parameters": {"strength": 0}})
    assert strength.status_code == 400 and strength.json()["field"] == "parameters.strength"
    assert api.request("GET", "/presets").json()["total"] == 0


def test_the_routes_are_documented(api: Api) -> None:
    paths = api.client.get("/schema/openapi.json").json()["paths"]
    for path in (
        "/api/v1/presets",
        "/api/v1/presets/public",
        "/api/v1/presets/import",
        "/api/v1/presets/{preset_id}/export",
    ):
        assert path in paths, sorted(paths)
