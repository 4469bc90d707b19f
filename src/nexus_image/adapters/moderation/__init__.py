"""Prompt moderation in layers: normalisation, a lexicon with combination rules, and sentence
embeddings compared with labelled examples (the `moderation` extra)."""

from nexus_image.adapters.moderation import embeddings, semantic
from nexus_image.adapters.moderation.layered import LayeredModerator
from nexus_image.adapters.moderation.lexicon import CATEGORIES
from nexus_image.adapters.moderation.rules import LAYER, MINORS, RuleBasedModerator
from nexus_image.adapters.moderation.text import normalise, views

# Every category and layer a refusal can name (metrics start each pair at 0).
REFUSAL_CATEGORIES: tuple[str, ...] = (MINORS, *(name for name, _ in CATEGORIES))
REFUSAL_LAYERS: tuple[str, ...] = (LAYER, semantic.LAYER)

__all__ = [
    "REFUSAL_CATEGORIES",
    "REFUSAL_LAYERS",
    "LayeredModerator",
    "RuleBasedModerator",
    "embeddings",
    "normalise",
    "views",
]
