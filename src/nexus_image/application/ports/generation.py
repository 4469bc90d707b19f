"""Rendering images from prompts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from nexus_image.domain.parameters import BatchKey, GenerationParameters


@dataclass(frozen=True, slots=True)
class RawImage:
    """Uncompressed 8-bit RGB pixels, row-major."""

    width: int
    height: int
    pixels: bytes


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """What the generator renders: one image's parameters, carried whole, with the prompts the
    model sees (styled) and the size to render at (the resolution's, unless a stage renders at
    another: a warm-up, a first pass); for image to image and inpainting, the starting image
    and the mask already decoded at that size (the mask's white, read from its red channel, is
    where the image is repainted)."""

    parameters: GenerationParameters
    prompt: str
    negative: str
    width: int
    height: int
    init_image: RawImage | None = field(default=None, repr=False, compare=False)
    mask_image: RawImage | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        parameters: GenerationParameters,
        init_image: RawImage | None = None,
        mask_image: RawImage | None = None,
    ) -> RenderSpec:
        """The one translation from a job's parameters (and its decoded images) to what the
        model sees."""
        prompt, negative = parameters.styled_prompts()
        return cls(parameters, prompt, negative, parameters.width, parameters.height, init_image, mask_image)

    @property
    def mode(self) -> str:
        return self.parameters.mode.value

    def batch_key(self) -> BatchKey:
        """Specs with equal keys can render as one batch (the domain's rule, at one size)."""
        return (self.width, self.height, *self.parameters.batch_key())


StepCallback = Callable[[int, int], bool]
"""Called after each step with (step, total); returning False stops the run (GenerationInterrupted)."""


@runtime_checkable
class PreviewingStepCallback(Protocol):
    """A step callback that also takes previews: a generator that can make them (the diffusers
    one, from the latents) asks `wants_preview` after a step and, when it does, hands one small
    picture per image of the run, in the order of the specs."""

    def __call__(self, step: int, total: int) -> bool: ...
    def wants_preview(self, step: int, total: int) -> bool: ...
    def preview(self, step: int, total: int, images: list[RawImage]) -> None: ...


class ImageGenerator(Protocol):
    """Renders one spec; `on_step` may stop it after any step."""

    @property
    def model_name(self) -> str: ...

    def generate(self, spec: RenderSpec, on_step: StepCallback) -> RawImage: ...


@runtime_checkable
class BatchImageGenerator(ImageGenerator, Protocol):
    """A generator that also renders several specs in one run (an optional capability: the
    composition root passes it to the worker as such when the adapter has it)."""

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        """All specs share one batch key (see `RenderSpec.batch_key`)."""


@runtime_checkable
class ModelLoader(Protocol):
    """An optional capability: load the model ahead of the first job."""

    def load(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LoraFile:
    name: str
    size: int  # bytes


@runtime_checkable
class LoraCatalog(Protocol):
    """The LoRA adapters the operator allows (a request may name only these)."""

    def available(self) -> list[LoraFile]: ...


@dataclass(frozen=True, slots=True)
class OfferedModel:
    """A model a request may name: `default` for the one used when none is named; `random` for
    the stand-in with random weights (its images are noise), offered only while no real model
    is installed."""

    name: str
    default: bool = False
    source: str | None = None  # where it came from: "hub:ORG/REPO", "file:…", "folder:…"
    revision: str | None = None
    size: int | None = None  # bytes on disk, where known
    random: bool = False


@runtime_checkable
class ModelCatalog(Protocol):
    """The models the operator offers, by name (a request may name only these); exactly one of
    them is the default. Read on every request: a model installed while the service runs is
    offered at once."""

    def offered(self) -> list[OfferedModel]: ...


def default_model(offered: list[OfferedModel]) -> OfferedModel | None:
    """The default among `offered` (the first if none says so); None when nothing is offered."""
    return next((m for m in offered if m.default), offered[0] if offered else None)
