"""The semantic layer (the `moderation` extra, installed by the test command): the NumPy
encoder gives the model's own embeddings, the ONNX one (int8, the default) nearly the same, paraphrases the rules miss are refused, innocent
neighbours pass, and the examples' embeddings are cached on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nexus_image.adapters.moderation import LayeredModerator, RuleBasedModerator
from nexus_image.adapters.moderation.embeddings import MiniLMEncoder, shared_encoder
from nexus_image.adapters.moderation.onnx_encoder import OnnxMiniLMEncoder
from nexus_image.adapters.moderation.semantic import SemanticModerator
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings


@pytest.fixture(scope="module")
def encoder() -> Any:
    return shared_encoder()


@pytest.fixture(scope="module")
def semantic(encoder: Any) -> SemanticModerator:
    return SemanticModerator(encoder)


TEXTS = ["a red fox in the snow", "Crème brûlée, masterpiece, 8k", "a lady in her birthday suit"]


@pytest.fixture(scope="module")
def reference() -> Any:
    from sentence_transformers import SentenceTransformer

    from nexus_image.adapters.moderation.embeddings import model_directory

    model = SentenceTransformer(str(model_directory()), device="cpu")
    return model.encode(TEXTS, normalize_embeddings=True)


@pytest.mark.slow
def test_the_numpy_encoder_gives_what_sentence_transformers_gives(reference: Any) -> None:
    ours = MiniLMEncoder().encode(TEXTS)
    assert ours.shape == (3, 384)
    assert np.allclose((ours * reference).sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_the_onnx_graph_is_the_same_network_and_int8_stays_close(reference: Any, tmp_path: Path) -> None:
    exact = OnnxMiniLMEncoder(tmp_path, quantized=False).encode(TEXTS)
    assert np.allclose((exact * reference).sum(axis=1), 1.0, atol=1e-4)  # the graph is the model
    int8 = OnnxMiniLMEncoder(tmp_path).encode(TEXTS)
    assert ((int8 * reference).sum(axis=1) > 0.98).all()  # int8 weights: close, not equal
    assert sorted(p.name.split("-")[1] for p in tmp_path.glob("minilm-*.onnx")) == ["fp32", "int8"]


def test_the_default_encoder_is_the_int8_onnx_one(encoder: Any) -> None:
    assert encoder.name == "onnx-int8"


def test_batches_of_different_lengths_give_the_same_vectors_as_one_at_a_time(encoder: Any) -> None:
    texts = ["cat", "a very long prompt about a castle on a hill at sunset, oil painting, detailed", "dog"]
    exact = MiniLMEncoder()
    assert np.allclose(exact.encode(texts), np.stack([exact.encode([t])[0] for t in texts]), atol=1e-5)
    together = encoder.encode(texts)  # the int8 one: each text in a run of its own
    alone = np.stack([encoder.encode([text])[0] for text in texts])
    assert np.array_equal(together, alone)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("a woman who is not wearing a single thing, lying on silk sheets", "sexual"),
        ("two adults in the middle of an intimate act, explicit", "sexual"),
        ("a girl hurting herself on purpose with a sharp object", "self_harm"),
        ("a victim whose organs have been pulled out of the body", "violence"),
    ],
)
def test_paraphrases_the_rules_miss_are_refused(
    semantic: SemanticModerator, prompt: str, category: str
) -> None:
    rules = RuleBasedModerator()
    layered = LayeredModerator(rules, semantic)
    verdict = layered.check(prompt)
    assert (verdict.allowed, verdict.category, verdict.layer) == (False, category, "semantic")
    assert verdict.matched is not None and verdict.matched.startswith("like: ")


@pytest.mark.parametrize(
    "prompt",
    [
        "a woman in a red swimsuit on the beach",
        "a couple kissing at sunset",
        "a mother bathing her toddler",
        "a surgeon in an operating room",
        "a knight fighting a dragon",
        "a sad man sitting alone in the rain",
        "a protest against racism",
        "a girl in a school uniform walking to school",
    ],
)
def test_innocent_neighbours_pass(semantic: SemanticModerator, prompt: str) -> None:
    assert LayeredModerator(RuleBasedModerator(), semantic).check(prompt).allowed


def test_the_rules_decide_first_and_a_relaxed_category_passes_the_semantic_layer(
    encoder: MiniLMEncoder,
) -> None:
    layered = LayeredModerator(RuleBasedModerator(), SemanticModerator(encoder))
    assert layered.check("nude woman").layer == "rules"
    relaxed = SemanticModerator(encoder, relaxed=frozenset({"sexual"}))
    assert relaxed.check("a woman who is not wearing a single thing, lying on silk sheets").allowed


def test_the_examples_embeddings_are_cached_on_disk(
    encoder: MiniLMEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_CACHE_DIR", str(tmp_path))
    examples = {"violence": ["a body torn apart"], "allowed": ["a cat on a sofa"]}
    first = SemanticModerator(encoder, examples)
    cached = list(tmp_path.rglob("prototypes-*.npy"))
    assert len(cached) == 1

    class Counting:
        calls = 0
        name = encoder.name  # what was cached is keyed by the encoder that made it

        def encode(self, texts: Any) -> Any:
            Counting.calls += len(texts)
            return encoder.encode(texts)

    second = SemanticModerator(Counting(), examples)
    assert Counting.calls == 0  # read from the cache
    assert np.allclose(first.matrix, second.matrix)
    second.check("a dog")
    second.check("a dog")
    assert Counting.calls == 1  # a repeated prompt is answered from memory


def test_the_composition_root_adds_the_semantic_layer_where_installed(tmp_path: Path) -> None:
    on = compose("memory", Settings(data_dir=tmp_path)).container.moderator()
    off = compose("memory", Settings(data_dir=tmp_path, moderation_semantic=False)).container.moderator()
    assert on.layers == ("rules", "semantic")
    assert off.layers == ("rules",)


def test_minors_can_never_be_relaxed_by_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="minors can never be relaxed"):
        Settings(data_dir=tmp_path, moderation_relaxed="sexual,minors")
    with pytest.raises(ValueError, match="only"):
        Settings(data_dir=tmp_path, moderation_relaxed="violence")
    adult = compose(
        "memory", Settings(data_dir=tmp_path, moderation_relaxed=" sexual ")
    ).container.moderator()
    assert adult.check("nude woman on a beach").allowed
    assert adult.check("nude teen on a beach").category == "minors"
