from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_image.adapters.moderation import RuleBasedModerator, normalise


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("a NUDE statue", "sexual"),
        ("a nüde statue", "sexual"),
        ("s3x scene", "sexual"),
        ("a n u d e figure", "sexual"),
        ("N.A.K.E.D", "sexual"),
        ("self-harm drawing", "self_harm"),
        ("selfharm", "self_harm"),
        ("beheading scene", "violence"),
    ],
)
def test_disguised_terms_are_caught_with_their_category(prompt: str, category: str) -> None:
    verdict = RuleBasedModerator().check(prompt)
    assert not verdict.allowed
    assert verdict.category == category


@pytest.mark.parametrize("prompt", ["a therapist at work", "Sussex countryside", "1024x1024 castle", "a cat"])
def test_innocent_prompts_pass(prompt: str) -> None:
    assert RuleBasedModerator().check(prompt).allowed


def test_rules_are_configurable_from_a_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"brands": ["acme corp"]}))
    moderator = RuleBasedModerator.from_file(rules)
    assert moderator.check("ACME   Corp logo").category == "brands"
    assert moderator.check("a nude statue").allowed
    rules.write_text(json.dumps({"x": "not a list"}))
    with pytest.raises(ValueError, match="category"):
        RuleBasedModerator.from_file(rules)


def test_normalise_folds_case_accents_and_spacing() -> None:
    assert normalise("  Crème   BRÛLÉE ") == ["creme", "brulee"]
