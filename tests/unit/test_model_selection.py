"""Which files of a hub repository a pull fetches (adapters.models.selection): pure rules over
listings, checked on a realistic repository and over random ones."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.adapters.models import InvalidModel, RepoFile, select_files
from nexus_image.adapters.models.selection import installed_model_index

EXCLUDED = (".ckpt", ".pt", ".pth", ".onnx", ".msgpack", ".h5", ".md", ".png")
INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
    "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}


def listing(*paths: str) -> list[RepoFile]:
    return [RepoFile(path, 100 + i) for i, path in enumerate(paths)]


SD15 = listing(
    "model_index.json",
    "README.md",
    "v1-5-pruned.ckpt",
    "v1-5-pruned.safetensors",
    "feature_extractor/preprocessor_config.json",
    "safety_checker/config.json",
    "safety_checker/model.safetensors",
    "safety_checker/pytorch_model.bin",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder/model.fp16.safetensors",
    "text_encoder/pytorch_model.bin",
    "text_encoder/flax_model.msgpack",
    "tokenizer/merges.txt",
    "tokenizer/special_tokens_map.json",
    "tokenizer/tokenizer_config.json",
    "tokenizer/vocab.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.bin",
    "unet/diffusion_pytorch_model.fp16.bin",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "unet/diffusion_pytorch_model.non_ema.safetensors",
    "unet/diffusion_flax_model.msgpack",
    "vae/config.json",
    "vae/diffusion_pytorch_model.bin",
    "vae/diffusion_pytorch_model.safetensors",
    "vae/model.onnx",
)


def test_a_stable_diffusion_repository_gives_the_pipeline_and_one_weight_file_per_component() -> None:
    chosen = select_files(SD15, model_index=INDEX)
    assert chosen.kind == "folder"
    assert {p.file.path for p in chosen.picks} == {
        "model_index.json",
        "feature_extractor/preprocessor_config.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    }
    assert chosen.variant is None
    assert chosen.dropped == ("safety_checker",)
    assert chosen.total_size == sum(p.file.size for p in chosen.picks)


def test_the_fp16_variant_is_installed_under_the_plain_name_with_a_fallback_per_component() -> None:
    chosen = select_files(SD15, variant="fp16", model_index=INDEX)
    weights = {p.file.path: p.target for p in chosen.picks if p.file.path.endswith((".safetensors", ".bin"))}
    assert weights == {
        "text_encoder/model.fp16.safetensors": "text_encoder/model.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors": "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors": "vae/diffusion_pytorch_model.safetensors",  # no fp16 there
    }
    assert chosen.variant == "fp16"


def test_bin_weights_when_there_is_no_safetensors() -> None:
    files = [f for f in SD15 if not (f.path.startswith("vae/") and f.path.endswith(".safetensors"))]
    picked = {p.file.path for p in select_files(files, model_index=INDEX).picks}
    assert "vae/diffusion_pytorch_model.bin" in picked


def test_components_model_index_leaves_out_are_not_fetched_and_read_null_once_installed() -> None:
    index = {**INDEX, "feature_extractor": [None, None]}
    chosen = select_files(SD15, model_index=index)
    assert not any(p.file.path.startswith("feature_extractor/") for p in chosen.picks)
    installed = installed_model_index(index, chosen.dropped)
    assert installed["safety_checker"] == [None, None]
    assert installed["unet"] == INDEX["unet"]


def test_without_model_index_content_every_pipeline_folder_counts() -> None:
    # the first look (before model_index.json is read) may only fetch more, never less
    before = {p.file.path for p in select_files(SD15).picks}
    after = {
        p.file.path
        for p in select_files(SD15, model_index={**INDEX, "feature_extractor": [None, None]}).picks
    }
    assert after <= before


def test_sharded_weights_come_together_and_the_variant_index_takes_the_plain_name() -> None:
    files = listing(
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
        "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model.fp16-00002-of-00002.safetensors",
        "unet/diffusion_pytorch_model.bin",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
        "tokenizer/vocab.json",
        "scheduler/scheduler_config.json",
    )
    targets = {
        p.file.path: p.target
        for p in select_files(files, variant="fp16").picks
        if p.file.path.startswith("unet/")
    }
    assert targets == {
        "unet/config.json": "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors.index.fp16.json": "unet/diffusion_pytorch_model.safetensors.index.json",
        "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors": "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model.fp16-00002-of-00002.safetensors": "unet/diffusion_pytorch_model.fp16-00002-of-00002.safetensors",
    }
    # a shard missing: that set cannot load, so the .bin it is
    incomplete = [f for f in files if not f.path.endswith("00002-of-00002.safetensors")]
    unet = {
        p.file.path for p in select_files(incomplete, variant="fp16").picks if p.file.path.startswith("unet/")
    }
    assert unet == {"unet/config.json", "unet/diffusion_pytorch_model.bin"}


def test_a_single_checkpoint_repository() -> None:
    chosen = select_files(listing("README.md", "model.ckpt", "dreamy-v2.safetensors", "sample.png"))
    assert chosen.kind == "single_file"
    assert [(p.file.path, p.target) for p in chosen.picks] == [
        ("dreamy-v2.safetensors", "dreamy-v2.safetensors")
    ]


@pytest.mark.parametrize(
    ("paths", "said"),
    [
        (("README.md", "model.ckpt"), "neither a diffusers pipeline"),
        (("a.safetensors", "b.safetensors"), "several .safetensors"),
        (("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"), "no vae"),
        (
            (
                "model_index.json",
                "unet/diffusion_pytorch_model.ckpt",
                "vae/diffusion_pytorch_model.safetensors",
                "text_encoder/model.safetensors",
                "tokenizer/vocab.json",
                "scheduler/scheduler_config.json",
            ),
            "unet/ has no weights",
        ),
    ],
)
def test_what_cannot_be_installed_is_refused_clearly(paths: tuple[str, ...], said: str) -> None:
    with pytest.raises(InvalidModel, match=said):
        select_files(listing(*paths))


# --- random repositories -------------------------------------------------------------------------

LIBRARIES = {"unet": "diffusers", "vae": "diffusers", "text_encoder": "transformers"}
RIGHT_BASE = {
    ("diffusers", "safetensors"): "diffusion_pytorch_model",
    ("diffusers", "bin"): "diffusion_pytorch_model",
}
RIGHT_BASE |= {("transformers", "safetensors"): "model", ("transformers", "bin"): "pytorch_model"}


@dataclass(frozen=True)
class Option:
    """One way a random repository offers a component's weights."""

    fmt: str
    variant: str | None
    right_base: bool  # the name its library loads
    shards: int  # 0: one file
    complete: bool  # every shard and the index present

    def files(self, component: str) -> list[str]:
        base = RIGHT_BASE[(LIBRARIES[component], self.fmt)] if self.right_base else "other_model"
        dot = f".{self.variant}" if self.variant else ""
        if not self.shards:
            return [f"{component}/{base}{dot}.{self.fmt}"]
        parts = [
            f"{component}/{base}{dot}-{i:05d}-of-{self.shards:05d}.{self.fmt}"
            for i in range(1, self.shards + 1)
        ]
        index = f"{component}/{base}.{self.fmt}.index{dot}.json"
        return [index, *parts] if self.complete else [*parts[:-1], index]

    def usable(self, variant: str | None) -> bool:
        return self.right_base and (self.complete or not self.shards) and self.variant in (None, variant)


options = st.builds(
    Option,
    fmt=st.sampled_from(["safetensors", "bin"]),
    variant=st.sampled_from([None, "fp16", "ema"]),
    right_base=st.booleans() | st.just(True),
    shards=st.sampled_from([0, 0, 2, 3]),
    complete=st.booleans() | st.just(True),
)
junk = st.lists(
    st.sampled_from(
        [
            "v1-5.ckpt",
            "README.md",
            "sample.png",
            "unet/diffusion_flax_model.msgpack",
            "unet/model.onnx",
            "text_encoder/tf_model.h5",
            "text_encoder/flax_model.msgpack",
            "vae/diffusion_pytorch_model.pt",
            "safety_checker/config.json",
            "safety_checker/model.safetensors",
            "safety_checker/pytorch_model.bin",
            "v1-5-pruned.safetensors",
        ]
    ),
    unique=True,
)


@settings(max_examples=300, deadline=None)
@given(
    weights=st.fixed_dictionaries({c: st.lists(options, max_size=4) for c in LIBRARIES}),
    extras=junk,
    variant=st.sampled_from([None, "fp16"]),
)
def test_random_repositories(
    weights: dict[str, list[Option]], extras: list[str], variant: str | None
) -> None:
    paths = ["model_index.json", "tokenizer/vocab.json", "scheduler/scheduler_config.json", *extras]
    for component, offered in weights.items():
        paths.append(f"{component}/config.json")
        for option in offered:
            paths.extend(option.files(component))
    files = listing(*dict.fromkeys(paths))
    lacking = [c for c, offered in weights.items() if not any(o.usable(variant) for o in offered)]
    if lacking:
        with pytest.raises(InvalidModel, match="has no weights"):
            select_files(files, variant, INDEX)
        return
    chosen = select_files(files, variant, INDEX)
    targets = [p.target for p in chosen.picks]
    assert len(targets) == len(set(targets))
    for pick in chosen.picks:
        assert not pick.file.path.endswith(EXCLUDED)
        assert pick.file.path == "model_index.json" or pick.file.path.split("/")[0] in (
            *LIBRARIES,
            "tokenizer",
            "scheduler",
        )
    for component, offered in weights.items():
        picked = [
            p
            for p in chosen.picks
            if p.file.path.startswith(f"{component}/") and p.file.path.endswith((".safetensors", ".bin"))
        ]
        indexes = [
            p for p in chosen.picks if p.file.path.startswith(f"{component}/") and ".index" in p.file.path
        ]
        usable = [o for o in offered if o.usable(variant)]
        best = min(usable, key=lambda o: (o.fmt != "safetensors", o.variant != variant))
        # one set of weights: a single file, or one index with all its shards
        assert (len(picked), len(indexes)) == (1, 0) or (len(indexes) == 1 and len(picked) >= 2)
        fmt = picked[0].file.path.rpartition(".")[2]
        assert fmt == best.fmt  # safetensors whenever a usable set exists
        has_variant = any(f".{variant}" in p.file.path for p in picked) if variant else False
        assert has_variant == (best.variant == variant is not None)  # the variant when there is one
        if not indexes:
            assert ".fp16" not in picked[0].target and ".ema" not in picked[0].target  # the plain name
        if variant is None:
            assert not any(".fp16" in p.file.path or ".ema" in p.file.path for p in picked)
