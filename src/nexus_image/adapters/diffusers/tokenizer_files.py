"""The tokenizer files of a pipeline whose checkpoint carries no tokenizer.

A Stable Diffusion 1.x checkpoint holds the text encoder's weights but not its tokenizer, and the
size of the token embedding is all it says about it. Two vocabularies are known by their size:
CLIP's byte-pair vocabulary (49408 tokens, every SD 1.x model), rebuilt here from CLIP's merges
shipped in this package (`data/bpe_simple_vocab_16e6.txt.gz`, MIT, see the licence file beside
it), and the byte-level vocabulary of the built-in test pipeline (514 symbols, no merges)."""

from __future__ import annotations

import functools
import gzip
import json
from importlib.resources import files

from nexus_image.adapters.diffusers.tiny import byte_symbols, tokenizer_vocab

CLIP_VOCAB_SIZE = 49408
BYTE_LEVEL_VOCAB_SIZE = 514
BPE_MERGES_FILE = "bpe_simple_vocab_16e6.txt.gz"
KNOWN_VOCABULARY_SIZES = (CLIP_VOCAB_SIZE, BYTE_LEVEL_VOCAB_SIZE)
START, END = "<|startoftext|>", "<|endoftext|>"


def unknown_vocabulary(vocab_size: int) -> str:
    """Why a text encoder of `vocab_size` tokens gets no tokenizer."""
    return (
        f"its text encoder has a vocabulary of {vocab_size} tokens; tokenizers exist here for "
        f"CLIP's {CLIP_VOCAB_SIZE}-token vocabulary (every Stable Diffusion 1.x model) and the "
        f"{BYTE_LEVEL_VOCAB_SIZE}-symbol byte-level vocabulary of the built-in test pipeline"
    )


@functools.cache
def clip_bpe() -> tuple[dict[str, int], tuple[str, ...]]:
    """CLIP's vocabulary and merges, built as CLIP builds them: the 256 byte symbols, the same
    symbols ending a word (`</w>`), one token per merge in merge order, then the start and end
    tokens. The merges file holds more merges than CLIP uses; its first line is a header."""
    packed = (files("nexus_image.adapters.diffusers") / "data" / BPE_MERGES_FILE).read_bytes()
    lines = gzip.decompress(packed).decode("utf-8").split("\n")
    merges = tuple(lines[1 : 1 + CLIP_VOCAB_SIZE - 2 * 256 - 2])
    # CLIP orders the byte symbols by code point: printable bytes first, the stand-ins after.
    symbols = sorted(byte_symbols())
    tokens = [*symbols, *(s + "</w>" for s in symbols), *(m.replace(" ", "") for m in merges), START, END]
    return {token: index for index, token in enumerate(tokens)}, merges


def tokenizer_files(vocab_size: int, max_length: int) -> dict[str, bytes]:
    """`vocab.json`, `merges.txt` and `tokenizer_config.json` of the CLIPTokenizer that goes with a
    text encoder of `vocab_size` tokens and `max_length` positions."""
    if vocab_size == CLIP_VOCAB_SIZE:
        vocab, merges = clip_bpe()
    elif vocab_size == BYTE_LEVEL_VOCAB_SIZE:
        vocab, merges = tokenizer_vocab(), ()
    else:
        raise ValueError(unknown_vocabulary(vocab_size))
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": max_length,
        "bos_token": START,
        "eos_token": END,
        "pad_token": END,
        "unk_token": END,
    }
    return {
        "vocab.json": json.dumps(vocab, ensure_ascii=False).encode("utf-8"),
        "merges.txt": "\n".join(("#version: 0.2", *merges, "")).encode("utf-8"),
        "tokenizer_config.json": json.dumps(config, indent=2, sort_keys=True).encode("utf-8"),
    }
