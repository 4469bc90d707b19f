"""The one declaration of a generation request: every outer shape is derived from it (the HTTP
bodies and response, the CLI's options, the studio's field descriptions, the PNG reader), and
its bounds are what the checks enforce, over their whole ranges."""

from __future__ import annotations

from dataclasses import MISSING
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.application.dto import GenerateImage
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.parameters import (
    FieldDescription,
    GenerationParameters,
    Kind,
    RequestOptions,
    option_fields,
    parameter_fields,
    request_fields,
)
from nexus_image.domain.png_parameters import generate_fields
from nexus_image.entrypoints.cli.main import _parser
from nexus_image.entrypoints.http.controllers.studio import describe
from nexus_image.entrypoints.http.schemas import GenerateRequest, ImageResponse, RemixRequest

NAMES = [d.name for d in request_fields()]
BOUNDED = [d for d in request_fields() if d.param.kind in (Kind.INTEGER, Kind.NUMBER)]


def test_the_http_bodies_are_the_declared_fields_in_order() -> None:
    # then the hires fix's flat fields once more, as one object
    assert list(GenerateRequest.__struct_fields__) == [*NAMES, "hires"]
    assert list(RemixRequest.__struct_fields__) == [*NAMES, "hires"]
    required = [f for f, d in zip(NAMES, request_fields(), strict=True) if d.param.required]
    assert required == ["prompt"]
    assert RemixRequest.__struct_defaults__ == (None,) * (len(NAMES) + 1)  # a partial: nothing required


def test_the_response_carries_every_parameter() -> None:
    fields = ImageResponse.__struct_fields__
    assert [f for f in fields if f in {d.name for d in parameter_fields()}] == [
        d.name for d in parameter_fields()
    ]


def test_the_cli_offers_exactly_the_fields_declared_for_it() -> None:
    generate = _parser()._subparsers._group_actions[0].choices["generate"]  # type: ignore[union-attr,index]
    options = {a.dest for a in generate._actions if a.option_strings} - {"help", "model", "out", "user"}
    assert options == {d.name for d in parameter_fields() if d.param.cli}


def test_the_studio_describes_every_field_from_its_declaration() -> None:
    described = [describe(d) for d in request_fields()]
    assert [d["name"] for d in described] == NAMES
    for description, shown in zip(request_fields(), described, strict=True):
        assert (shown["min"], shown["max"], shown["label"]) == (
            description.param.low,
            description.param.high,
            description.param.label,
        )
        assert shown["scope"] == ("request" if description.per_request else "image")


def test_a_png_may_fill_every_parameter_a_request_takes() -> None:
    assert generate_fields() == tuple(d.name for d in parameter_fields() if d.param.request)
    assert {"upscale_of", "prompt_template"} <= {d.name for d in parameter_fields()} - set(generate_fields())


def _outside(description: FieldDescription) -> list[Any]:
    low, high = description.param.low, description.param.high
    assert low is not None and high is not None
    step = 1 if description.param.kind is Kind.INTEGER else 0.001
    below = [low] if description.param.above_low else [low - step]
    return [*below, high + step]


@pytest.mark.parametrize("description", BOUNDED, ids=[d.name for d in BOUNDED])
def test_every_declared_bound_is_enforced_and_names_its_field(description: FieldDescription) -> None:
    create = GenerationParameters.create if not description.per_request else RequestOptions.create
    base: dict[str, Any] = {} if description.per_request else {"prompt": "a fox", "seed": 1}
    if description.name == "strength":
        base["init_image_id"] = "up-1"
    for value in _outside(description):
        with pytest.raises(InvalidValue) as refused:
            create(**{**base, description.name: value})
        assert refused.value.field == description.name


@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(1, 100),
    guidance=st.floats(1.0, 20.0, allow_nan=False),
    variation=st.one_of(st.none(), st.tuples(st.integers(0, 2**32 - 1), st.floats(0.01, 1.0))),
)
def test_parameters_survive_their_stored_form(
    seed: int, steps: int, guidance: float, variation: tuple[int, float] | None
) -> None:
    extra = {} if variation is None else {"variation_seed": variation[0], "variation_strength": variation[1]}
    made = GenerationParameters.create(prompt="a fox", seed=seed, steps=steps, guidance=guidance, **extra)
    assert GenerationParameters.restore(made.to_dict()) == made
    assert set(made.to_dict()) == {d.name for d in parameter_fields()}


def test_a_stored_document_missing_newer_fields_takes_their_defaults() -> None:
    old = {"prompt": "a fox", "negative_prompt": "", "style": "anime", "resolution": "512x512",
           "seed": 3, "steps": 20, "guidance": 7.0, "scheduler": "euler"}  # fmt: skip
    restored = GenerationParameters.restore(old)
    for description in parameter_fields():
        if description.name not in old and description.default is not MISSING:
            assert getattr(restored, description.name) == description.default


def test_a_command_refuses_a_field_the_declaration_does_not_have() -> None:
    with pytest.raises(TypeError, match="cfg_scale"):
        GenerateImage("u", "a fox", cfg_scale=7)
    assert set(GenerateImage("u", "a fox", num_images=2).options().__slots__) == {
        d.name for d in option_fields()
    }


def test_spelling_a_default_out_is_the_same_request() -> None:
    """The fingerprint of an idempotent retry fills absent fields with their defaults."""
    from nexus_image.application.request_generation import _fingerprint

    assert _fingerprint(GenerateImage("u", "a fox")) == _fingerprint(
        GenerateImage("u", "a fox", style="realistic", num_images=1, is_public=False, loras=[])
    )
    assert _fingerprint(GenerateImage("u", "a fox")) != _fingerprint(GenerateImage("u", "a fox", steps=9))


@pytest.mark.parametrize("field", [d.name for d in BOUNDED if d.param.kind is Kind.NUMBER])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_that_are_not_finite_are_refused(field: str, value: float) -> None:
    base: dict[str, Any] = {"prompt": "a fox", "seed": 1, "init_image_id": "up-1"}
    if field == "variation_strength":
        base = {"prompt": "a fox", "seed": 1, "variation_seed": 2}
    with pytest.raises(InvalidValue) as refused:
        GenerationParameters.create(**{**base, field: value})
    assert refused.value.field == field


def test_an_empty_choice_is_its_default() -> None:
    chosen = GenerationParameters.create(prompt="a fox", seed=1, scheduler="", style="")
    defaults = {d.name: d.default for d in parameter_fields()}
    assert (chosen.scheduler, chosen.style) == (defaults["scheduler"], defaults["style"])


def test_a_command_copies_and_pickles_as_itself() -> None:
    import copy
    import pickle

    command = GenerateImage("u", "a fox", steps=9, loras=[{"name": "grain", "weight": 0.5}], client_key="k")
    assert copy.copy(command) == command == pickle.loads(pickle.dumps(command))
    assert copy.deepcopy(command).given["loras"] == [{"name": "grain", "weight": 0.5}]
    with pytest.raises(AttributeError):
        del command.user_id
    assert repr(GenerateImage("u")) == "GenerateImage(user_id='u', client_key=None)"
