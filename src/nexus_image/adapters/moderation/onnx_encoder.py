"""The moderation encoder (all-MiniLM-L6-v2) as an ONNX graph with int8 weights, run by ONNX
Runtime on one thread: the same network as `embeddings.MiniLMEncoder`, written out from the same
safetensors file, then quantized (dynamic int8: weights int8 per output channel, activations
quantized per call). Against the NumPy encoder: cosine ≥ 0.99 between the embeddings of a prompt,
the labelled sets' figures unchanged, and 3.9 ms of CPU for a 25-token prompt instead of 25.8
(benchmarks/moderation_load.py).

The graph is built here with `onnx.helper` (no torch, no export) and kept in the cache folder as
`minilm-int8-<digest>.onnx`, so only the first load pays for it (about 3 s)."""

from __future__ import annotations

import hashlib
import math
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nexus_image.adapters.moderation.embeddings import MAX_TOKENS, model_directory

OPSET = 17


def _graph(weights: dict[str, Any], heads: int, layers: int, eps: float) -> Any:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    hidden = weights["embeddings.LayerNorm.weight"].shape[0]
    size = hidden // heads
    for name, value in weights.items():
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue  # not used by the sentence embedding
        # dense weights as (in, out) for MatMul; embeddings and norms as they are
        is_dense = value.ndim == 2 and "embeddings" not in name
        const(name, np.ascontiguousarray(value.T if is_dense else value).astype(np.float32))

    const("zero", np.array([0], np.int64))
    const("one", np.array([1], np.int64))
    const("axis1", np.array([1], np.int64))
    const("half", np.array(0.5, np.float32))
    const("unit", np.array(1.0, np.float32))
    const("root2", np.array(math.sqrt(2.0), np.float32))
    const("scale", np.array(1.0 / math.sqrt(size), np.float32))
    const("neg", np.array(-1e9, np.float32))
    const("split_heads", np.array([0, 0, heads, size], np.int64))
    const("merge_heads", np.array([0, 0, hidden], np.int64))

    # embeddings: words + positions (the first T) + token type 0, then LayerNorm
    words = node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], "words")
    shape = node("Shape", ["input_ids"], "ids_shape")
    length = node("Gather", [shape, "one"], "length", axis=0)
    positions = node("Slice", ["embeddings.position_embeddings.weight", "zero", length], "positions")
    types = node("Gather", ["embeddings.token_type_embeddings.weight", "zero"], "types", axis=0)
    x = node("Add", [node("Add", [words, positions], "wp"), types], "embedded")
    x = node(
        "LayerNormalization",
        [x, "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"],
        "x_in",
        axis=-1,
        epsilon=eps,
    )
    # padded keys get no attention: (1 - mask) * -1e9, as (B, 1, 1, T)
    bias = node("Mul", [node("Sub", ["unit", "attention_mask"], "unmasked"), "neg"], "mask_bias")
    bias = node("Unsqueeze", [node("Unsqueeze", [bias, "axis1"], "mb1"), "axis1"], "mask_bias4")

    def dense(x: str, name: str, out: str) -> str:
        return node("Add", [node("MatMul", [x, f"{name}.weight"], f"{out}_mm"), f"{name}.bias"], out)

    def norm(x: str, name: str, out: str) -> str:
        return node("LayerNormalization", [x, f"{name}.weight", f"{name}.bias"], out, axis=-1, epsilon=eps)

    for i in range(layers):
        p = f"encoder.layer.{i}"
        heads_of = {}
        for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
            projected = dense(x, f"{p}.attention.self.{part}", f"l{i}_{part}")
            split = node("Reshape", [projected, "split_heads"], f"l{i}_{part}_split")
            heads_of[part] = node("Transpose", [split], f"l{i}_{part}_heads", perm=perm)
        scores = node("MatMul", [heads_of["query"], heads_of["key"]], f"l{i}_scores")
        scores = node("Add", [node("Mul", [scores, "scale"], f"l{i}_scaled"), bias], f"l{i}_masked")
        weights_ = node("Softmax", [scores], f"l{i}_attention", axis=-1)
        context = node("MatMul", [weights_, heads_of["value"]], f"l{i}_context")
        context = node("Transpose", [context], f"l{i}_context_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, "merge_heads"], f"l{i}_merged")
        attended = dense(context, f"{p}.attention.output.dense", f"l{i}_attended")
        x = norm(node("Add", [x, attended], f"l{i}_res1"), f"{p}.attention.output.LayerNorm", f"l{i}_x1")
        inner = dense(x, f"{p}.intermediate.dense", f"l{i}_inner")
        erf = node("Erf", [node("Div", [inner, "root2"], f"l{i}_div")], f"l{i}_erf")
        halved = node("Mul", [inner, "half"], f"l{i}_halfx")
        gelu = node("Mul", [halved, node("Add", [erf, "unit"], f"l{i}_erf1")], f"l{i}_gelu")
        out = dense(gelu, f"{p}.output.dense", f"l{i}_out")
        x = norm(node("Add", [x, out], f"l{i}_res2"), f"{p}.output.LayerNorm", f"l{i}_x2")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))

    graph = helper.make_graph(
        nodes,
        "minilm",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", hidden])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def built_model(root: Path, cache: Path, quantized: bool = True) -> Path:
    """The ONNX file (int8 weights, per output channel, unless `quantized` is False) for the
    model in `root`, built into `cache` once."""
    import json

    from safetensors.numpy import load_file

    weights_file = root / "model.safetensors"
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()[:16]
    target = cache / f"minilm-{'int8' if quantized else 'fp32'}-{digest}.onnx"
    if target.is_file():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    config = json.loads((root / "config.json").read_text())
    model = _graph(
        load_file(str(weights_file)),
        config["num_attention_heads"],
        config["num_hidden_layers"],
        config["layer_norm_eps"],
    )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        plain = Path(work) / "minilm.onnx"
        onnx.save(model, str(plain))
        built = Path(work) / target.name
        if quantized:
            # per channel: one scale per output column (per tensor loses too much: cosine 0.95
            # against the float encoder, 0.99 per channel)
            quantize_dynamic(str(plain), str(built), weight_type=QuantType.QInt8, per_channel=True)
        else:
            plain.replace(built)
        built.replace(target)  # whole or not at all, whoever else builds it meanwhile
    return target


class OnnxMiniLMEncoder:
    """`encode(texts)` -> an (n, 384) float32 array of unit vectors, as MiniLMEncoder gives,
    from the int8 graph on one ONNX Runtime thread."""

    def __init__(self, cache: Path, directory: Path | None = None, quantized: bool = True) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._np = np
        root = directory or model_directory()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = built_model(root, cache, quantized)
        self.name = f"onnx-{'int8' if quantized else 'fp32'}"
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 1) -> Any:
        """One text per run, whatever `batch_size` says: int8 activations are quantized per
        call, so a text batched with others (and their padding) would come out a little
        different from the same text alone (cosine 0.97 to 0.99); one at a time, a text always
        gives the same vector, and batching bought little on the CPU anyway."""
        np = self._np
        with self._lock:
            encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(encodings), 384), np.float32)
        for row, encoding in enumerate(encodings):
            ids = np.asarray([encoding.ids], np.int64)
            mask = np.ones(ids.shape, np.float32)
            (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            pooled = hidden[0].mean(0)
            out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out
