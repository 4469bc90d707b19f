"""Prompt moderation in layers: normalisation, a lexicon with combination rules, and sentence
embeddings compared with labelled examples (the `moderation` extra)."""

from nexus_image.adapters.moderation import embeddings
from nexus_image.adapters.moderation.layered import LayeredModerator
from nexus_image.adapters.moderation.rules import RuleBasedModerator
from nexus_image.adapters.moderation.text import normalise, views

__all__ = ["LayeredModerator", "RuleBasedModerator", "embeddings", "normalise", "views"]
