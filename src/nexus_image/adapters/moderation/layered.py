"""The moderator the service uses: the rules layer first, then the semantic layer on what the
rules let through (on their normalised text, with innocent phrases masked)."""

from __future__ import annotations

from nexus_image.adapters.moderation.rules import RuleBasedModerator
from nexus_image.adapters.moderation.semantic import SemanticModerator
from nexus_image.application.ports import ModerationVerdict


class LayeredModerator:
    def __init__(self, rules: RuleBasedModerator, semantic: SemanticModerator | None = None) -> None:
        self.rules = rules
        self.semantic = semantic

    @property
    def layers(self) -> tuple[str, ...]:
        return ("rules", "semantic") if self.semantic is not None else ("rules",)

    def check(self, text: str) -> ModerationVerdict:
        verdict = self.rules.check(text)
        if not verdict.allowed or self.semantic is None:
            return verdict
        return self.semantic.check(self.rules.masked(text))
