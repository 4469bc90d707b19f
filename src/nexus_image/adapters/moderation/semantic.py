"""The semantic layer: what a prompt means, compared with labelled examples.

A prompt's sentence embedding (all-MiniLM-L6-v2) is compared with every example in
`data/prototypes.json`. It is refused when its nearest refused example is at least `threshold`
similar (cosine) and closer, by `margin`, than its nearest innocent example: a paraphrase of
"a woman with no clothes on" is caught, "a woman in a swimsuit on the beach" is not. The
examples' embeddings are computed once and cached on disk."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nexus_image.adapters.moderation.embeddings import cache_dir, model_directory, shared_encoder
from nexus_image.application.ports import ModerationVerdict

LAYER = "semantic"
ALLOWED = "allowed"
PROTOTYPES = Path(__file__).parent / "data" / "prototypes.json"
DEFAULT_THRESHOLD = 0.55
DEFAULT_MARGIN = 0.04
RECENT = 2048


def load_prototypes(path: Path = PROTOTYPES) -> dict[str, list[str]]:
    data = json.loads(path.read_text())
    return {k: [str(t) for t in v] for k, v in data.items() if not k.startswith("_")}


class SemanticModerator:
    def __init__(
        self,
        encoder: Any = None,
        prototypes: Mapping[str, Sequence[str]] | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        margin: float = DEFAULT_MARGIN,
        relaxed: frozenset[str] = frozenset(),
    ) -> None:
        import numpy as np

        self._np = np
        self.encoder = encoder or shared_encoder()
        examples = prototypes if prototypes is not None else load_prototypes()
        self.labels: list[str] = [label for label, texts in examples.items() for _ in texts]
        self.texts: list[str] = [text for texts in examples.values() for text in texts]
        self.threshold = threshold
        self.margin = margin
        self.relaxed = relaxed
        self._allowed = np.array([label == ALLOWED for label in self.labels])
        self.matrix = self._embed_examples()
        self._recent: dict[str, tuple[str, float, float, str]] = {}  # retries and replays cost nothing
        self._lock = threading.Lock()

    def _embed_examples(self) -> Any:
        np = self._np
        weights = model_directory() / "model.safetensors"
        key = hashlib.sha256(
            json.dumps(
                [self.texts, weights.stat().st_size, getattr(self.encoder, "name", "numpy-fp32")],
                ensure_ascii=False,
            ).encode()
        ).hexdigest()[:24]
        path = cache_dir() / f"prototypes-{key}.npy"
        try:
            cached = np.load(path)
            if cached.shape == (len(self.texts), cached.shape[1]):
                return cached
        except (OSError, ValueError):
            pass
        matrix = self.encoder.encode(self.texts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npy")
            np.save(temporary, matrix)
            temporary.replace(path)
        except OSError:
            pass  # a read-only home: computed again next time, nothing else changes
        return matrix

    def scores(self, text: str) -> tuple[str, float, float, str]:
        """(nearest refused category, its similarity, nearest innocent similarity, its example)."""
        np = self._np
        similarity = self.matrix @ self.encoder.encode([text])[0]
        refused = np.where(self._allowed, -1.0, similarity)
        best = int(refused.argmax())
        innocent = float(np.where(self._allowed, similarity, -1.0).max())
        return self.labels[best], float(refused[best]), innocent, self.texts[best]

    def check(self, text: str) -> ModerationVerdict:
        """`text` is expected normalised already (`RuleBasedModerator.masked`)."""
        with self._lock:
            cached = self._recent.get(text)
        if cached is None:
            cached = self.scores(text)
            with self._lock:
                self._recent[text] = cached
                while len(self._recent) > RECENT:
                    self._recent.pop(next(iter(self._recent)))
        category, similarity, innocent, example = cached
        if category in self.relaxed or similarity < self.threshold or similarity < innocent + self.margin:
            return ModerationVerdict(True, layer=LAYER)
        return ModerationVerdict(False, category, f"like: {example} ({similarity:.2f})", layer=LAYER)
