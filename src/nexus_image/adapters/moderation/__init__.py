"""Prompt moderation by rules."""

from nexus_image.adapters.moderation.rules import DEFAULT_RULES, RuleBasedModerator, normalise

__all__ = ["DEFAULT_RULES", "RuleBasedModerator", "normalise"]
