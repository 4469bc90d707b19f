"""Prompts into text embeddings as AUTOMATIC1111 makes them: weighted, and read whole.

CLIP reads 77 positions. A prompt's tokens (the syntax of `domain/prompt_syntax.py` taken off,
each token carrying its text's weight) go in chunks of 75: a chunk that fills up ends at its last
comma when one lies within its last 20 tokens, so a phrase is not split, and a BREAK ends a chunk
where it stands. Each chunk is read as `BOS, tokens, EOS, padding`; its hidden states are
multiplied by the weights and scaled back to the chunk's unweighted mean, and the chunks follow
each other along the sequence axis, which the UNet's cross-attention reads at any length.

Unlike AUTOMATIC1111, which takes the mean over all the prompts of a batch at once, each prompt's
chunk is scaled on its own: an image renders the same whatever it is batched with."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from nexus_image.domain.prompt_syntax import Segment, parse

CHUNK = 75  # tokens a chunk holds, BOS and EOS aside
COMMA_BACKTRACK = 20  # a full chunk ends at a comma this close to its end
COMMA = ",</w>"


@dataclass(slots=True)
class Chunk:
    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def _comma_id(tokenizer: Any) -> int | None:
    token = tokenizer.convert_tokens_to_ids(COMMA)
    return None if token is None or token == tokenizer.unk_token_id else int(token)


def _tokens(tokenizer: Any, segments: tuple[Segment, ...]) -> list[list[int] | None]:
    """Each segment's token ids (no BOS or EOS); None for a BREAK."""
    texts = [s.text for s in segments if not s.brk]
    found = iter(
        tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False).input_ids if texts else []
    )
    return [None if s.brk else list(next(found)) for s in segments]


def chunks(tokenizer: Any, text: str, size: int = CHUNK) -> list[Chunk]:
    """`text`'s tokens and their weights, chunk by chunk (at least one, maybe empty)."""
    segments = parse(text)
    comma = _comma_id(tokenizer)
    done: list[Chunk] = []
    current, last_comma = Chunk(), -1
    for segment, ids in zip(segments, _tokens(tokenizer, segments), strict=True):
        if ids is None:  # BREAK: the chunk ends here, even an empty one (as in AUTOMATIC1111)
            done.append(current)
            current, last_comma = Chunk(), -1
            continue
        for token in ids:
            if token == comma:
                last_comma = len(current.tokens)
            elif len(current.tokens) == size and last_comma != -1 and size - last_comma <= COMMA_BACKTRACK:
                # The words after the last comma move on to the next chunk.
                moved = Chunk(current.tokens[last_comma + 1 :], current.weights[last_comma + 1 :])
                del current.tokens[last_comma + 1 :], current.weights[last_comma + 1 :]
                done.append(current)
                current, last_comma = moved, -1
            if len(current.tokens) == size:
                done.append(current)
                current, last_comma = Chunk(), -1
            current.tokens.append(token)
            current.weights.append(segment.weight)
    if current.tokens or not done:
        done.append(current)
    return done


def token_chunks(tokenizer: Any, text: str) -> list[int]:
    """How many tokens each chunk of `text` holds (of 75), for a token counter."""
    return [len(chunk.tokens) for chunk in chunks(tokenizer, text)]


@functools.cache
def clip_tokenizer() -> Any:
    """Stable Diffusion 1.x's CLIP tokenizer, from the merges shipped in this package: counts
    tokens with no model loaded (every SD 1.x model has this tokenizer)."""
    from transformers import CLIPTokenizer

    from nexus_image.adapters.diffusers.tokenizer_files import clip_bpe

    vocab, merges = clip_bpe()
    pairs: Any = [tuple(m.split(" ")) for m in merges]  # the tokenizers backend takes pairs
    return CLIPTokenizer(vocab=vocab, merges=pairs, model_max_length=CHUNK + 2)


def clip_token_chunks(text: str) -> list[int]:
    """`token_chunks` with Stable Diffusion 1.x's CLIP tokenizer."""
    return token_chunks(clip_tokenizer(), text)


def _row(tokenizer: Any, chunk: Chunk, size: int) -> tuple[list[int], list[float]]:
    """A chunk as the text encoder reads it, the way the tokenizer pads: BOS, the tokens, EOS,
    then padding; BOS, EOS and padding at weight 1."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rest = size - len(chunk.tokens)
    ids = [tokenizer.bos_token_id, *chunk.tokens, tokenizer.eos_token_id, *([pad] * rest)]
    return ids, [1.0, *chunk.weights, *([1.0] * (rest + 1))]


def _hidden(encoder: Any, ids: Any, clip_skip: int) -> Any:
    """The text encoder's output for `ids`; with a clip skip of N > 1 (AUTOMATIC1111's count,
    1 = the last layer), the hidden state N layers from the end through the final layer norm."""
    if clip_skip <= 1:
        return encoder(ids)[0]
    states = encoder(ids, output_hidden_states=True).hidden_states
    layer = states[-min(clip_skip, len(states) - 1)]  # never the bare token embeddings
    return getattr(encoder, "text_model", encoder).final_layer_norm(layer)  # transformers 4 and 5


def weigh(z: Any, weights: Any) -> Any:
    """AUTOMATIC1111's emphasis on one chunk's hidden states `z` [positions, dim]: each position
    multiplied by its weight, then all scaled so that the mean is the unweighted one again."""
    weighted = z * weights.reshape(-1, 1)
    new_mean = weighted.mean()
    if new_mean == 0 or not bool(new_mean.isfinite()):  # nothing to scale back to
        return weighted
    return weighted * (z.mean() / new_mean)


def _weighted(z: Any, weights: list[float]) -> Any:
    """`weigh` in float32 (a half-precision mean is coarse); an unweighted chunk untouched, so it
    is the plain encoding bit for bit."""
    import torch

    if all(weight == 1.0 for weight in weights):
        return z
    return weigh(z.float(), torch.tensor(weights, device=z.device)).to(z.dtype)


def _embed(pipe: Any, split: list[list[Chunk]], count: int, clip_skip: int) -> Any:
    """Texts cut in chunks, each padded with empty chunks to `count`, in one run of the text
    encoder: [texts, count * 77, dim]."""
    import torch

    tokenizer, encoder = pipe.tokenizer, pipe.text_encoder
    size = encoder.config.max_position_embeddings - 2
    rows = [_row(tokenizer, c, size) for found in split for c in found + [Chunk()] * (count - len(found))]
    device = getattr(pipe, "_execution_device", encoder.device)
    with torch.inference_mode():
        ids = torch.tensor([ids for ids, _ in rows], dtype=torch.long, device=device)
        z = _hidden(encoder, ids, clip_skip)
        scaled = [_weighted(z[i], weights) for i, (_, weights) in enumerate(rows)]
        stacked = torch.stack(scaled).to(dtype=encoder.dtype)
    return stacked.reshape(len(split), count * stacked.shape[1], stacked.shape[2])


def _split(pipe: Any, texts: list[str]) -> list[list[Chunk]]:
    size = pipe.text_encoder.config.max_position_embeddings - 2
    return [chunks(pipe.tokenizer, text, size) for text in texts]


def encode(pipe: Any, texts: list[str], clip_skip: int = 1) -> Any:
    """The embeddings of `texts`, [len(texts), chunks * 77, dim], the shorter texts padded with
    encoded empty chunks (BOS, EOS, padding)."""
    split = _split(pipe, texts)
    return _embed(pipe, split, max(len(found) for found in split), clip_skip)


def encode_batch(pipe: Any, prompts: list[str], negatives: list[str], clip_skip: int = 1) -> tuple[Any, Any]:
    """The prompts' and the negative prompts' embeddings for classifier-free guidance, of one
    shape (the shorter padded with empty chunks); each side encoded in one run of the text
    encoder, as the pipeline itself encodes them."""
    wanted, unwanted = _split(pipe, prompts), _split(pipe, negatives)
    count = max(len(found) for found in [*wanted, *unwanted])
    return _embed(pipe, wanted, count, clip_skip), _embed(pipe, unwanted, count, clip_skip)
