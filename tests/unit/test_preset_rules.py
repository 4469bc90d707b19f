"""The rules of a user's preset: its fields, how it applies to a prompt, its portable document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain import InvalidValue, Style, UnknownScheduler
from nexus_image.domain.errors import UnknownStyle
from nexus_image.domain.names import canonical_name
from nexus_image.domain.parameters import Scheduler
from nexus_image.domain.preset import (
    DOCUMENT_FORMAT,
    PLACEHOLDER,
    Preset,
    check_parameters,
    preset_parameter_names,
)
from nexus_image.domain.resolution import Resolution
from tests.support.builders import T0


def preset(**fields: Any) -> Preset:
    return Preset.create("p1", "alice", T0, **{"name": "mine", **fields})


def test_the_prompt_goes_where_the_placeholder_is_each_time() -> None:
    styled = preset(template="cinematic still of {prompt}, 35mm, ({prompt})")
    assert styled.apply("a red fox") == "cinematic still of a red fox, 35mm, (a red fox)"


def test_a_template_without_placeholder_follows_the_prompt_and_an_empty_one_changes_nothing() -> None:
    assert (
        preset(template="film grain, muted colours").apply("a red fox")
        == "a red fox, film grain, muted colours"
    )
    assert preset().apply("a red fox") == "a red fox"


def test_a_placeholder_inside_the_prompt_is_left_as_the_user_wrote_it() -> None:
    assert preset(template="<{prompt}>").apply("say {prompt}") == "<say {prompt}>"


def test_the_negative_prompt_comes_after_the_users_own() -> None:
    assert preset(negative_prompt="blurry").apply_negative("  text ") == "text, blurry"
    assert preset(negative_prompt="blurry").apply_negative("") == "blurry"
    assert preset().apply_negative("") == ""


text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)


@given(prompt=text, before=text, after=text, placeholder=st.booleans())
def test_apply_keeps_the_users_prompt_whole(prompt: str, before: str, after: str, placeholder: bool) -> None:
    template = f"{before}{PLACEHOLDER if placeholder else ''}{after}"
    styled = preset(template=template)
    result = styled.apply(prompt)
    assert prompt in result
    if PLACEHOLDER in styled.template:
        assert result == styled.template.replace(PLACEHOLDER, prompt)
    else:
        assert result.startswith(prompt)
        assert result.endswith(styled.template)


def test_fields_are_checked_and_cleaned() -> None:
    made = preset(
        name="  Moody \u200b  film ",
        template="  shot on   film, {prompt} ",
        style="ANIME",
        parameters={
            "steps": 30,
            "guidance": 7,
            "scheduler": "Euler_A",
            "resolution": "768x768",
            "model": None,
        },
    )
    assert made.name == "Moody film" and made.template == "shot on film, {prompt}"
    assert made.style is Style.ANIME and made.is_public is False
    assert made.parameters == {"resolution": "768x768", "steps": 30, "guidance": 7.0, "scheduler": "euler_a"}
    assert list(made.parameters) == [n for n in preset_parameter_names() if n in made.parameters]
    assert made.created_at == made.updated_at == T0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 7}, "name"),
        ({"template": "x" * 1001}, "template"),
        ({"negative_prompt": ["no"]}, "negative_prompt"),
        ({"is_public": "yes"}, "is_public"),
        ({"colour": "red"}, "colour"),
        ({"parameters": []}, "parameters"),
    ],
)
def test_bad_fields_are_refused_by_name(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        preset(**fields)
    assert refused.value.field == field


def test_an_unknown_style_lists_the_styles() -> None:
    with pytest.raises(UnknownStyle) as refused:
        preset(style="vaporwave")
    assert refused.value.field == "style" and "anime" in refused.value.allowed


@pytest.mark.parametrize(
    "name", ["prompt", "seed", "init_image_id", "mask_image_id", "negative_prompt", "style", "bogus"]
)
def test_parameters_hold_only_what_suits_every_prompt(name: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        check_parameters({name: 1})
    assert refused.value.field == f"parameters.{name}"
    assert refused.value.allowed == preset_parameter_names() and "steps" in refused.value.allowed


@pytest.mark.parametrize(
    ("parameters", "field", "kind"),
    [
        ({"steps": 0}, "parameters.steps", InvalidValue),
        ({"steps": 2.5}, "parameters.steps", InvalidValue),
        ({"guidance": float("nan")}, "parameters.guidance", InvalidValue),
        ({"strength": 0}, "parameters.strength", InvalidValue),
        ({"scheduler": "warp"}, "parameters.scheduler", UnknownScheduler),
        ({"resolution": "640x480"}, "parameters.resolution", InvalidValue),
        ({"loras": [{"name": "a", "weight": 3}]}, "parameters.loras", InvalidValue),
    ],
)
def test_parameter_values_are_checked_by_their_declarations(
    parameters: dict[str, Any], field: str, kind: type[InvalidValue]
) -> None:
    with pytest.raises(kind) as refused:
        check_parameters(parameters)
    assert refused.value.field == field


def test_an_unknown_choice_names_the_allowed_values() -> None:
    with pytest.raises(UnknownScheduler) as refused:
        check_parameters({"scheduler": "warp"})
    assert set(refused.value.allowed) == {s.value for s in Scheduler}


def test_revise_changes_all_the_fields_given_or_none() -> None:
    made = preset(template="a {prompt}", style="anime")
    later = T0.replace(hour=13)
    with pytest.raises(InvalidValue):
        made.revise({"name": "renamed", "parameters": {"steps": 500}}, later)
    assert made.name == "mine" and made.updated_at == T0
    made.revise({"name": "renamed", "style": None, "is_public": True}, later)
    assert (made.name, made.style, made.is_public, made.template) == ("renamed", None, True, "a {prompt}")
    assert made.updated_at == later and made.created_at == T0


names = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=100).filter(
    lambda n: 0 < len(canonical_name(n)) <= 100
)
loras = st.lists(
    st.fixed_dictionaries(
        {"name": st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True), "weight": st.floats(0, 2)}
    ),
    max_size=3,
    unique_by=lambda lora: lora["name"],
)
parameters = st.fixed_dictionaries(
    {},
    optional={
        "steps": st.integers(1, 100),
        "guidance": st.floats(1, 20),
        "scheduler": st.sampled_from([s.value for s in Scheduler]),
        "resolution": st.sampled_from([r.value for r in Resolution]),
        "variation_seed": st.integers(0, 2**32 - 1),
        "variation_strength": st.floats(0, 1),
        "strength": st.floats(0.01, 1),
        "loras": loras,
    },
)


@given(
    name=names,
    template=text,
    negative=text,
    style=st.sampled_from([None, *Style]),
    chosen=parameters,
    public=st.booleans(),
)
def test_export_then_import_gives_the_same_preset(
    name: str, template: str, negative: str, style: Style | None, chosen: dict[str, Any], public: bool
) -> None:
    original = Preset.create(
        "p1",
        "alice",
        T0,
        name=name,
        template=template,
        negative_prompt=negative,
        style=style,
        parameters=chosen,
        is_public=public,
    )
    document = json.loads(json.dumps(original.to_document()))
    copy = Preset.from_document(document, "p2", "bob", T0.replace(year=2027))
    assert (copy.id, copy.owner_id, copy.is_public) == ("p2", "bob", False)
    kept = ("name", "template", "negative_prompt", "style", "parameters")
    assert {f: getattr(copy, f) for f in kept} == {f: getattr(original, f) for f in kept}
    assert copy.to_document() == document


def test_the_document_names_its_format_and_version() -> None:
    document = preset(template="a {prompt}", style="sketch", parameters={"steps": 12}).to_document()
    assert document == {
        "format": DOCUMENT_FORMAT,
        "version": 1,
        "name": "mine",
        "template": "a {prompt}",
        "negative_prompt": "",
        "style": "sketch",
        "parameters": {"steps": 12},
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "invokeai.style-preset"}, "format"),
        ({"format": None}, "format"),
        ({"version": 2}, "version"),
        ({"version": "1"}, "version"),
        ({"version": True}, "version"),
        ({"is_public": True}, "is_public"),
        ({"parameters": {"seed": 3}}, "parameters.seed"),
        ({"name": ""}, "name"),
    ],
)
def test_a_document_that_is_not_ours_is_refused_clearly(change: dict[str, Any], field: str) -> None:
    document = {**preset().to_document(), **change}
    with pytest.raises(InvalidValue) as refused:
        Preset.from_document(document, "p2", "bob", T0)
    assert refused.value.field == field
    if field in ("format", "version"):
        assert refused.value.allowed and refused.value.allowed[0] in ("nexus-image.preset", "1")


def test_a_document_must_be_an_object_and_needs_a_name() -> None:
    with pytest.raises(InvalidValue) as not_object:
        Preset.from_document(["nexus-image.preset"], "p2", "bob", T0)
    assert not_object.value.field == "document"
    nameless = {"format": DOCUMENT_FORMAT, "version": 1}
    with pytest.raises(InvalidValue) as refused:
        Preset.from_document(nameless, "p2", "bob", T0)
    assert refused.value.field == "name"


def test_only_the_owner_may_change_and_a_public_preset_is_visible_to_all() -> None:
    made = preset()
    assert made.visible_to("alice") and not made.visible_to("bob")
    made.revise({"is_public": True}, T0)
    assert made.visible_to("bob")
    made.ensure_owner("alice")
    with pytest.raises(Exception, match="does not belong"):
        made.ensure_owner("bob")


def test_a_request_gets_the_template_and_what_it_does_not_say_itself() -> None:
    noir = preset(
        template="cinematic still of {prompt}",
        negative_prompt="colour",
        style="realistic",
        parameters={"steps": 24, "guidance": 6.5},
    )
    given = {"prompt": "a red fox", "guidance": 9.0, "style": "", "preset": "p1"}
    assert noir.applied_to(given) == {
        "prompt": "cinematic still of a red fox",
        "negative_prompt": "colour",
        "style": "realistic",
        "steps": 24,
        "guidance": 9.0,  # the request's own value wins
        "preset": "p1",
    }
    assert noir.applied_to({"prompt": "x", "negative_prompt": "blur", "style": "anime"})["style"] == "anime"
    assert noir.applied_to({"prompt": "x", "negative_prompt": "blur"})["negative_prompt"] == "blur, colour"
    assert given == {"prompt": "a red fox", "guidance": 9.0, "style": "", "preset": "p1"}  # not changed


def test_an_empty_preset_leaves_the_request_as_it_is() -> None:
    given = {"prompt": "a red fox", "negative_prompt": "blur", "steps": 3}
    assert preset().applied_to(given) == given
