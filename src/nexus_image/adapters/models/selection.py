"""Which files of a hub repository make an installable model, and under which names.

A diffusers Stable Diffusion repository holds far more than a pipeline loads: root checkpoints
(`.ckpt`), the same weights as `.bin`, `.safetensors`, fp16 variants, ONNX and Flax exports, a
safety checker. This keeps `model_index.json`, each used component's configuration, and one set
of weights per component (safetensors before `.bin`; the asked variant before the plain file).
Variant weights are installed under the plain name, so the folder loads without naming a
variant. Pure functions: the listing in, the picks out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nexus_image.adapters.models.errors import InvalidModel
from nexus_image.adapters.models.hub import RepoFile

MODEL_INDEX = "model_index.json"
# What StableDiffusionPipeline needs to generate: each needs its folder; the first three weights.
NEEDED = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
WEIGHTED = frozenset({"unet", "vae", "text_encoder"})
OPTIONAL = ("feature_extractor",)  # configuration only: kept when named, never required
COMPONENTS = NEEDED + OPTIONAL
CONFIG_SUFFIXES = (".json", ".txt", ".model")
FORMATS = ("safetensors", "bin")  # in order of preference: safetensors cannot run code on load
# The weight file each library reads; an unknown library may use any of them.
BASES = {
    "diffusers": {"safetensors": ("diffusion_pytorch_model",), "bin": ("diffusion_pytorch_model",)},
    "transformers": {"safetensors": ("model",), "bin": ("pytorch_model",)},
}
ANY_BASE = ("diffusion_pytorch_model", "model", "pytorch_model")

_SINGLE = re.compile(r"(?P<base>[^.]+)(?:\.(?P<variant>[^.]+))?\.(?P<fmt>safetensors|bin)")
_SHARD = re.compile(
    r"(?P<base>[^.]+?)(?:\.(?P<v1>[^.]+))?-(?P<index>\d{5})-of-(?P<count>\d{5})"
    r"(?:\.(?P<v2>[^.]+))?\.(?P<fmt>safetensors|bin)"
)
_INDEX = re.compile(
    r"(?P<base>[^.]+)(?:\.(?P<v1>[^.]+))?\.(?P<fmt>safetensors|bin)\.index(?:\.(?P<v2>[^.]+))?\.json"
)


@dataclass(frozen=True, slots=True)
class Pick:
    """A repository file to fetch, and its path in the installed model."""

    file: RepoFile
    target: str


@dataclass(frozen=True, slots=True)
class Selection:
    kind: str  # "folder" | "single_file"
    picks: tuple[Pick, ...]
    variant: str | None  # the variant of at least one weight picked
    dropped: tuple[str, ...] = ()  # components model_index.json names that are not installed

    @property
    def total_size(self) -> int:
        return sum(pick.file.size for pick in self.picks)


@dataclass(frozen=True, slots=True)
class _Weights:
    """One way to load a component's weights: a file, or a shard index with all its shards."""

    fmt: str
    variant: str | None
    base: str
    files: tuple[RepoFile, ...]
    sharded: bool

    def rank(self, variant: str | None) -> tuple[int, int, int, str]:
        return (FORMATS.index(self.fmt), 0 if self.variant == variant else 1, int(self.sharded), self.base)

    def targets(self) -> tuple[Pick, ...]:
        def plain(file: RepoFile) -> str:
            folder, _, name = file.path.rpartition("/")
            if self.sharded:  # the index keeps naming the shards it lists; only its own name changes
                named = f"{self.base}.{self.fmt}.index.json" if name.endswith(".json") else name
            else:
                named = f"{self.base}.{self.fmt}"
            return f"{folder}/{named}"

        return tuple(Pick(file, plain(file)) for file in self.files)


def components(model_index: Mapping[str, Any]) -> dict[str, str | None]:
    """Component name -> its library ("diffusers", "transformers"; None for `[null, null]`)."""
    found: dict[str, str | None] = {}
    for key, value in model_index.items():
        if key.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        found[key] = value[0] if isinstance(value[0], str) and value[1] is not None else None
    return found


def installed_model_index(model_index: Mapping[str, Any], dropped: Sequence[str]) -> dict[str, Any]:
    """model_index.json for the installed folder: the components left out read `[null, null]`, so
    the folder loads as it is."""
    return {key: [None, None] if key in dropped else value for key, value in model_index.items()}


def select_files(
    files: Sequence[RepoFile], variant: str | None = None, model_index: Mapping[str, Any] | None = None
) -> Selection:
    """The files to fetch: a diffusers pipeline when the repository has model_index.json (its
    content, once known, narrows the components to those it names), else a single `.safetensors`
    checkpoint at the root. InvalidModel when it is neither, or a component lacks weights."""
    paths = {file.path for file in files}
    if MODEL_INDEX not in paths:
        return _single_file(files, variant)
    named = components(model_index) if model_index is not None else None
    picks = [Pick(next(f for f in files if f.path == MODEL_INDEX), MODEL_INDEX)]
    used_variant: str | None = None
    for component in COMPONENTS:
        library = named.get(component) if named is not None else None
        in_repo = [f for f in files if f.path.startswith(f"{component}/") and f.path.count("/") == 1]
        # the listing alone: every pipeline folder there counts; model_index.json: what it names
        wanted = bool(in_repo) if named is None else library is not None
        if not wanted:
            if component in NEEDED:
                raise InvalidModel(f"not a Stable Diffusion pipeline: it has no {component}")
            continue
        if not in_repo:
            if component in NEEDED:
                raise InvalidModel(
                    f"model_index.json names {component}, but the repository has no {component}/"
                )
            continue
        picks.extend(Pick(f, f.path) for f in in_repo if _is_config(f.path))
        if component in WEIGHTED:
            chosen = _best_weights(component, in_repo, variant, library)
            picks.extend(chosen.targets())
            used_variant = used_variant or chosen.variant
    dropped = tuple(sorted(k for k, lib in (named or {}).items() if lib is not None and k not in COMPONENTS))
    return Selection("folder", tuple(picks), used_variant, dropped)


def _is_config(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name.endswith(CONFIG_SUFFIXES) and not _INDEX.fullmatch(name)


def _candidates(in_folder: Sequence[RepoFile]) -> list[_Weights]:
    found: list[_Weights] = []
    shards: dict[tuple[str, str, str | None, int], dict[int, RepoFile]] = {}
    indexes: dict[tuple[str, str, str | None], RepoFile] = {}
    for file in in_folder:
        name = file.path.rpartition("/")[2]
        if shard := _SHARD.fullmatch(name):
            key = (shard["base"], shard["fmt"], shard["v1"] or shard["v2"], int(shard["count"]))
            shards.setdefault(key, {})[int(shard["index"])] = file
        elif index := _INDEX.fullmatch(name):
            indexes[(index["base"], index["fmt"], index["v1"] or index["v2"])] = file
        elif single := _SINGLE.fullmatch(name):
            found.append(_Weights(single["fmt"], single["variant"], single["base"], (file,), False))
    for (base, fmt, variant, count), parts in shards.items():
        index_file = indexes.get((base, fmt, variant))
        if index_file is not None and count > 0 and sorted(parts) == list(range(1, count + 1)):
            ordered = (index_file, *(parts[i] for i in sorted(parts)))
            found.append(_Weights(fmt, variant, base, ordered, True))
    return found


def _best_weights(
    component: str, in_folder: Sequence[RepoFile], variant: str | None, library: str | None
) -> _Weights:
    bases = BASES.get(library or "")
    usable = [
        w
        for w in _candidates(in_folder)
        if w.base in (bases[w.fmt] if bases else ANY_BASE) and w.variant in (None, variant)
    ]
    if not usable:
        kinds = " or ".join(f"*.{fmt}" for fmt in FORMATS)
        raise InvalidModel(f"{component}/ has no weights that can be installed ({kinds})")
    return min(usable, key=lambda w: w.rank(variant))


def _single_file(files: Sequence[RepoFile], variant: str | None) -> Selection:
    roots = [f for f in files if "/" not in f.path and f.path.endswith(".safetensors")]
    if len(roots) > 1 and variant:
        roots = [f for f in roots if f".{variant}." in f.path] or roots
    if len(roots) == 1:
        return Selection("single_file", (Pick(roots[0], roots[0].path),), None)
    if not roots:
        raise InvalidModel(
            "the repository is neither a diffusers pipeline (no model_index.json) nor a single "
            ".safetensors checkpoint"
        )
    names = ", ".join(sorted(f.path for f in roots))
    raise InvalidModel(f"the repository holds several .safetensors checkpoints ({names}): cannot tell which")
