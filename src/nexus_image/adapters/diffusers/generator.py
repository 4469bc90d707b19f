"""The Stable Diffusion generator: one pipeline, loaded once, rendering one job or a batch, from
noise, from a starting image or inside a mask (the image-to-image and inpainting pipelines share
the loaded components), with LoRA adapters loaded beside the model and switched per batch."""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_image.adapters.diffusers.device import Placement, choose_placement
from nexus_image.adapters.diffusers.hires import enlarged_latents, enlarged_picture, seamless
from nexus_image.adapters.diffusers.loading import load_pipeline
from nexus_image.adapters.diffusers.prompt_weights import encode_batch
from nexus_image.application.errors import GenerationError, GenerationInterrupted
from nexus_image.application.ports import PreviewingStepCallback, RawImage, RenderSpec, StepCallback
from nexus_image.application.ports.upscaling import Upscaler
from nexus_image.domain.parameters import (
    LATENT_UPSCALER,
    GenerationParameters,
    LoraWeight,
    Mode,
    Schedule,
    hires_size,
)

log = logging.getLogger(__name__)

SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
    "lcm": ("LCMScheduler", {}),
    "tcd": ("TCDScheduler", {}),
}


class _Stop(Exception):
    """Raised from the step callback to leave the denoising loop without decoding."""


class _Passes:
    """The pipeline's step callback over one or two passes (a hires fix's): the steps count on
    from the first pass into the second, out of both passes' total, so watchers see one
    progress; it stops the run when `on_step` says so and hands out previews."""

    def __init__(self, on_step: StepCallback, later_steps: int) -> None:
        self.on_step = on_step
        self.watcher = on_step if isinstance(on_step, PreviewingStepCallback) else None
        self.later = later_steps  # the steps of the passes still to come
        self.done = 0  # the steps of the passes already run
        self.current = 0

    def next_pass(self) -> None:
        self.done, self.later = self.done + self.current, 0

    def __call__(self, pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.current = int(pipeline.num_timesteps)
        total = self.done + self.current + self.later
        at = self.done + step + 1
        if not self.on_step(at, total):
            raise _Stop()
        watcher = self.watcher
        if watcher is not None and watcher.wants_preview(at, total) and "latents" in kwargs:
            watcher.preview(at, total, latent_previews(kwargs["latents"]))
        return kwargs


@dataclass(frozen=True, slots=True)
class GeneratorOptions:
    model: str | None = None  # folder, .safetensors file or hub id; None = tiny random pipeline
    model_config: str | None = None  # config folder for single-file checkpoints
    cache_dir: Path = Path.home() / ".cache" / "nexus-image" / "models"
    device: str | None = None
    dtype: str | None = None
    threads: int | None = None
    low_memory: bool | None = None
    channels_last: bool | None = None  # None: on CUDA only (on CPU it costs about 3 %)
    fuse_qkv: bool | None = None  # None: on CUDA only
    compile: str = "none"  # none | unet | unet+vae: torch.compile, cached under cache_dir
    compile_mode: str = "reduce-overhead"  # reduce-overhead / max-autotune use CUDA graphs
    warm_up: tuple[str, ...] = ()  # "WIDTHxHEIGHT" run once at load (compiles them, fills caches)
    lora_dir: Path | None = None  # the operator's allowed LoRA files: NAME.safetensors
    upscaler: Upscaler | None = None  # the hires fix's upscaler models (Lanczos and latent need none)
    loras_kept: int = 8  # adapters kept loaded (least recently used ones are deleted past this)


class DiffusersGenerator:
    """Loads the pipeline on `load()` (or first use) and serialises generations on it."""

    def __init__(self, options: GeneratorOptions | None = None) -> None:
        self.options = options or GeneratorOptions()
        self._pipe: Any = None
        self._placement: Placement | None = None
        self._schedulers: dict[str, Any] = {}
        self._scheduler_config: dict[str, Any] = {}
        self._modes: dict[str, Any] = {}  # img2img / inpaint pipelines made from the loaded one
        self._adapters: dict[str, str] = {}  # LoRA name -> adapter name, least recently used first
        self._adapters_made = 0
        self._lock = threading.Lock()
        self.applied: list[str] = []  # the speed-ups in effect once loaded
        self.warmed: list[str] = []  # the resolutions run at load
        self.label: str | None = None  # the model's name where it has one (see pool.py)

    @property
    def model_name(self) -> str:
        return self.label or self.options.model or "tiny-sd15-random (noise: no real model configured)"

    def memory_bytes(self) -> int:
        """What the loaded weights take (UNet, VAE, text encoder); 0 before loading."""
        pipe = self._pipe
        if pipe is None:
            return 0
        parts = (pipe.unet, pipe.vae, pipe.text_encoder)
        return sum(p.numel() * p.element_size() for part in parts for p in part.parameters())

    def unload(self) -> None:
        """Let the pipeline go (its memory is freed once nothing else holds it)."""
        with self._lock:
            self._pipe = None
            self._modes.clear()
            self._schedulers.clear()
            self._adapters.clear()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    @property
    def is_random_model(self) -> bool:
        return not self.options.model

    @property
    def placement(self) -> Placement:
        self.load()
        assert self._placement is not None
        return self._placement

    def load(self) -> None:
        with self._lock:
            if self._pipe is not None:
                return
            import torch
            from diffusers.utils import logging as diffusers_logging
            from transformers.utils import logging as transformers_logging

            diffusers_logging.disable_progress_bar()
            transformers_logging.disable_progress_bar()
            transformers_logging.set_verbosity_error()
            o = self.options
            placement = choose_placement(o.device, o.dtype, o.threads, o.low_memory)
            torch.set_num_threads(placement.threads)
            pipe = load_pipeline(o.model, o.cache_dir, placement.dtype, o.model_config)
            pipe.set_progress_bar_config(disable=True)
            pipe = pipe.to(placement.device)
            self.applied = self._accelerate(pipe, placement)
            if placement.low_memory:
                self._save_memory(pipe)
            self._pipe, self._placement = pipe, placement
            self._scheduler_config = dict(pipe.scheduler.config)  # the model's, before any switch
            log.info(
                "model loaded: %s on %s (%s)%s",
                self.model_name,
                placement.device,
                placement.dtype_name,
                f", with {', '.join(self.applied)}" if self.applied else "",
            )
        self._warm_up()

    def _accelerate(self, pipe: Any, placement: Placement) -> list[str]:
        """The options' speed-ups, each where asked or (None) where it pays: CUDA."""
        import torch

        o = self.options
        cuda = placement.device.startswith("cuda")
        applied: list[str] = []
        if o.channels_last if o.channels_last is not None else cuda:
            pipe.unet.to(memory_format=torch.channels_last)
            pipe.vae.to(memory_format=torch.channels_last)
            applied.append("channels_last")
        if (o.fuse_qkv if o.fuse_qkv is not None else cuda) and hasattr(pipe, "fuse_qkv_projections"):
            pipe.fuse_qkv_projections()
            applied.append("fused QKV")
        if o.compile != "none":
            self._compile_cache()
            pipe.unet = torch.compile(pipe.unet, mode=o.compile_mode)
            applied.append(f"compiled UNet ({o.compile_mode})")
            if o.compile == "unet+vae":
                pipe.vae.decode = torch.compile(pipe.vae.decode, mode=o.compile_mode)
                applied.append("compiled VAE decoder")
        return applied

    def _compile_cache(self) -> None:
        """Compiled kernels persist next to the models, so a restart reuses them."""
        import os

        folder = self.options.cache_dir / "torch-compile"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")

    def _warm_up(self) -> None:
        """One short run per configured resolution, so the first user's job pays neither the
        compilation nor the first-call allocations."""
        for resolution in self.options.warm_up:
            width, height = (int(v) for v in resolution.lower().split("x"))
            settings = GenerationParameters.create(prompt="warm-up", seed=0, steps=2, guidance=7.5)
            spec = RenderSpec(settings, "warm-up", "", width, height)
            began = time.perf_counter()
            self.generate(spec, lambda step, total: True)
            self.warmed.append(resolution)
            log.info("warmed up %s in %.1fs", resolution, time.perf_counter() - began)

    @staticmethod
    def _save_memory(pipe: Any) -> None:
        pipe.enable_attention_slicing()
        pipe.vae.enable_slicing()
        pipe.vae.enable_tiling()

    def _scheduler(self, name: str, schedule: str = Schedule.DEFAULT.value) -> Any:
        """The scheduler called `name` (made once from the model's own config), its noise levels
        spaced by `schedule` where it is not the scheduler's default."""
        key = f"{name}/{schedule}"
        if key not in self._schedulers:
            import diffusers

            if name not in SCHEDULERS:
                raise GenerationError(f"unknown scheduler {name!r}")
            class_name, extra = SCHEDULERS[name]
            cls = getattr(diffusers, class_name)
            if schedule != Schedule.DEFAULT.value or "use_karras_sigmas" not in extra:
                # each spacing said outright: the model's config may name one of its own
                spacings = {
                    f"use_{s.value}_sigmas": s.value == schedule
                    for s in Schedule
                    if s is not Schedule.DEFAULT
                }
                takes = inspect.signature(cls.__init__).parameters
                extra = {**extra, **{k: v for k, v in spacings.items() if k in takes}}
            with _quiet():  # "config attributes … will be ignored": the model's own, meant for another
                self._schedulers[key] = cls.from_config(self._scheduler_config, **extra)
        return self._schedulers[key]

    def _pipeline(self, mode: str) -> Any:
        """The pipeline of `mode`, made once from the loaded one: the same UNet, VAE, text
        encoder and tokenizer objects (no weight is loaded twice)."""
        if mode == Mode.TXT2IMG.value:
            return self._pipe
        if mode not in self._modes:
            from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline

            cls = (
                StableDiffusionInpaintPipeline
                if mode == Mode.INPAINT.value
                else StableDiffusionImg2ImgPipeline
            )
            assert self._placement is not None
            # from_pipe casts the shared components to `dtype` (float32 unless told), and warns
            # about casting even when the dtype is already the one they have
            with _quiet():
                pipe = cls.from_pipe(self._pipe, dtype=self._placement.dtype)
            pipe.set_progress_bar_config(disable=True)
            self._modes[mode] = pipe
        return self._modes[mode]

    def lora_path(self, name: str) -> Path:
        folder = self.options.lora_dir
        if folder is None:
            raise GenerationError(f"LoRA {name!r} asked for, but no LoRA folder is configured")
        path = folder / f"{name}.safetensors"
        if path.parent != folder or not path.is_file():
            raise GenerationError(f"LoRA {name!r} is not in {folder}")
        return path

    def _use_loras(self, loras: tuple[LoraWeight, ...]) -> None:
        """Exactly `loras` active, at their weights: each file loaded once (kept, least recently
        used deleted past `loras_kept`); with none, the adapters are switched off, so the model
        computes as if none had ever been loaded."""
        pipe = self._pipe
        if not loras:
            if self._adapters:
                pipe.disable_lora()
            return
        for lora in loras:
            if lora.name in self._adapters:
                self._adapters[lora.name] = self._adapters.pop(lora.name)  # most recently used
                continue
            self._adapters_made += 1
            adapter = f"lora{self._adapters_made}"
            with _quiet():  # "no LoRA keys for the text encoder" for UNet-only adapters, and so on
                pipe.load_lora_weights(str(self.lora_path(lora.name)), adapter_name=adapter)
            log.info("LoRA %s loaded as adapter %s", lora.name, adapter)
            self._adapters[lora.name] = adapter
        wanted = {lora.name for lora in loras}
        while len(self._adapters) > max(self.options.loras_kept, len(wanted)):
            oldest = next(name for name in self._adapters if name not in wanted)
            pipe.delete_adapters(self._adapters.pop(oldest))
        pipe.enable_lora()
        pipe.set_adapters([self._adapters[lora.name] for lora in loras], [lora.weight for lora in loras])

    def unload_loras(self) -> None:
        """Every adapter removed from the model (the weights as loaded)."""
        with self._lock:
            if self._pipe is not None and self._adapters:
                self._pipe.unload_lora_weights()
            self._adapters.clear()

    @property
    def loaded_loras(self) -> list[str]:
        return list(self._adapters)

    def generate(self, spec: RenderSpec, on_step: StepCallback) -> RawImage:
        return self.generate_batch([spec], on_step)[0]

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        """One denoising run for several prompts; each image keeps its own seed."""
        first = specs[0]
        if len({spec.batch_key() for spec in specs}) > 1:
            raise ValueError("a batch needs specs with one batch key (the same size and settings)")
        if first.width % 8 or first.height % 8:
            raise ValueError("width and height must be multiples of 8")
        self.load()
        with self._lock:
            try:
                return self._run(specs, on_step)
            except _Stop:
                raise GenerationInterrupted("stopped between steps") from None
            except GenerationInterrupted:
                raise
            except Exception as error:
                if not self._is_out_of_memory(error) or self._placement is None or self._placement.low_memory:
                    raise
                log.warning("out of memory: enabling attention and VAE slicing and retrying once")
                self._recover_memory()
                try:
                    return self._run(specs, on_step)
                except _Stop:
                    raise GenerationInterrupted("stopped between steps") from None

    def _run(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        import numpy as np
        import torch

        first, settings = specs[0], specs[0].parameters
        placement = self._placement
        assert placement is not None
        self._use_loras(settings.loras)
        pipe = self._pipeline(first.mode)
        pipe.scheduler = self._scheduler(settings.scheduler, settings.schedule)
        gen_device = "cuda" if placement.device.startswith("cuda") else "cpu"
        generators = [torch.Generator(device=gen_device).manual_seed(s.parameters.seed) for s in specs]
        # The initial noise is drawn here only when a spec asks for a variation; drawn from the
        # same generators the pipeline would use, so the other images of the batch (and a
        # strength of 0) come out exactly as without.
        inputs: dict[str, Any] = {"width": first.width, "height": first.height}
        if first.mode == Mode.TXT2IMG.value:
            if any(spec.parameters.variation_strength > 0 for spec in specs):
                inputs["latents"] = self._initial_noise(specs, generators, gen_device)
        else:
            inputs.update(
                image=[_picture(spec.init_image, spec) for spec in specs], strength=settings.strength
            )
            if first.mode == Mode.INPAINT.value:
                inputs["mask_image"] = [_picture(spec.mask_image, spec) for spec in specs]
            else:
                del inputs["width"], inputs["height"]  # image to image keeps the image's size
        hires = settings.hires_scale is not None and first.mode == Mode.TXT2IMG.value
        passes = _Passes(on_step, settings.hires_pass_steps if hires else 0)
        latent = hires and settings.hires_upscaler == LATENT_UPSCALER

        with torch.inference_mode(), seamless(pipe, settings.tiling):
            # Weighted and read whole, in 75-token chunks (AUTOMATIC1111's way), after the LoRA
            # switch: an adapter may change the text encoder too.
            embeds, negative_embeds = encode_batch(
                pipe,
                [spec.prompt for spec in specs],
                [spec.negative for spec in specs],
                settings.clip_skip,
            )
            result = pipe(
                prompt_embeds=embeds,
                negative_prompt_embeds=negative_embeds,
                num_inference_steps=settings.steps,
                guidance_scale=settings.guidance,
                generator=generators,
                output_type="latent" if latent else "np",
                callback_on_step_end=passes,
                **inputs,
            )
            images = result.images
            if hires:
                width, height = hires_size(first.width, first.height, settings.hires_scale)
                images = self._second_pass(specs, images, (embeds, negative_embeds), generators, passes)
                return [RawImage(width, height, p.tobytes()) for p in images]
        pixels = (np.clip(images, 0.0, 1.0) * 255).round().astype("uint8")
        if first.mode == Mode.INPAINT.value:
            pixels = np.stack([_keep_unmasked(p, spec) for p, spec in zip(pixels, specs, strict=True)])
        return [RawImage(first.width, first.height, p.tobytes()) for p in pixels]

    def _second_pass(
        self,
        specs: list[RenderSpec],
        first: Any,
        embeds: tuple[Any, Any],
        generators: list[Any],
        passes: _Passes,
    ) -> Any:
        """The hires fix's second pass: the first pass enlarged (latents, or pixels by an
        upscaler) and redrawn at the final size over `hires_denoise` of the way, with the same
        prompts and the same generators (their noise carries on: the same seed, the same image)."""
        import numpy as np

        settings = specs[0].parameters
        width, height = hires_size(specs[0].width, specs[0].height, settings.hires_scale)
        name = settings.hires_upscaler or LATENT_UPSCALER
        if name == LATENT_UPSCALER:
            image: Any = enlarged_latents(first, width, height)
        else:
            image = [enlarged_picture(p, width, height, name, self.options.upscaler) for p in first]
        pipe = self._pipeline(Mode.IMG2IMG.value)
        pipe.scheduler = self._scheduler(settings.scheduler, settings.schedule)
        passes.next_pass()
        result = pipe(
            prompt_embeds=embeds[0],
            negative_prompt_embeds=embeds[1],
            image=image,
            strength=settings.hires_denoise,
            num_inference_steps=settings.hires_steps or settings.steps,
            guidance_scale=settings.guidance,
            generator=generators,
            output_type="np",
            callback_on_step_end=passes,
        )
        return (np.clip(result.images, 0.0, 1.0) * 255).round().astype("uint8")

    def _initial_noise(self, specs: list[RenderSpec], generators: list[Any], device: str) -> Any:
        """Each image's starting latents: its seed's Gaussian noise, or for a variation the
        spherical interpolation from it to the variation seed's, `variation_strength` of the way
        (AUTOMATIC1111's variation seeds), on the pipeline's device and dtype."""
        import torch

        pipe = self._pipe
        first = specs[0]
        shape = (
            1,
            pipe.unet.config.in_channels,
            first.height // pipe.vae_scale_factor,
            first.width // pipe.vae_scale_factor,
        )
        dtype = pipe.unet.dtype
        noises = []
        for spec, generator in zip(specs, generators, strict=True):
            noise = torch.randn(shape, generator=generator, device=device, dtype=dtype)
            variation = spec.parameters
            if variation.variation_strength > 0 and variation.variation_seed is not None:
                other = torch.Generator(device=device).manual_seed(variation.variation_seed)
                target = torch.randn(shape, generator=other, device=device, dtype=dtype)
                noise = slerp(variation.variation_strength, noise, target)
            noises.append(noise)
        return torch.cat(noises).to(self._placement.device if self._placement else device)

    @staticmethod
    def _is_out_of_memory(error: Exception) -> bool:
        import torch

        return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()

    def _recover_memory(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self._save_memory(self._pipe)
        assert self._placement is not None
        p = self._placement
        self._placement = Placement(p.device, p.dtype_name, p.threads, True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """diffusers' and peft's advisory warnings off for one call."""
    import warnings

    from diffusers.utils import logging as diffusers_logging

    level = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        diffusers_logging.set_verbosity(level)


def _picture(raw: RawImage | None, spec: RenderSpec) -> Any:
    """A spec's starting image or mask as the pipelines take it (PIL), at the spec's size."""
    from PIL import Image

    if raw is None or (raw.width, raw.height) != (spec.width, spec.height):
        raise GenerationError(f"a {spec.mode} spec needs its images decoded at {spec.width}x{spec.height}")
    return Image.frombytes("RGB", (raw.width, raw.height), raw.pixels)


def _keep_unmasked(pixels: Any, spec: RenderSpec) -> Any:
    """The inpainted image laid over the starting one through the mask, read as grey (luma, as
    the pipeline reads it): where the mask is black the starting image's own pixels (the VAE's
    round trip would blur them), where white the new ones, and greys blend the two (a soft edge
    stays soft; the pipeline repaints from half grey up)."""
    import numpy as np

    assert spec.init_image is not None and spec.mask_image is not None
    shape = (spec.height, spec.width, 3)
    init = np.frombuffer(spec.init_image.pixels, dtype=np.uint8).reshape(shape).astype(np.float32)
    rgb = np.frombuffer(spec.mask_image.pixels, dtype=np.uint8).reshape(shape).astype(np.float32)
    mask = (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None] / 255
    mixed = pixels.astype(np.float32) * mask + init * (1.0 - mask)
    return mixed.round().clip(0, 255).astype("uint8")


# Stable Diffusion 1.5's latent channels mapped linearly to RGB: a cheap picture of where the
# denoising is, with no decoder run (the factors AUTOMATIC1111's "approximate cheap" preview uses).
LATENT_RGB = (
    (0.298, 0.207, 0.208),
    (0.187, 0.286, 0.173),
    (-0.158, 0.189, 0.264),
    (-0.184, -0.271, -0.473),
)


def latent_previews(latents: Any) -> list[RawImage]:
    """One small RGB picture (an eighth of the image's size) per latent of the batch."""
    import torch

    with torch.inference_mode():
        factors = torch.tensor(LATENT_RGB, dtype=torch.float32, device=latents.device)
        rgb = torch.einsum("bchw,cr->bhwr", latents.float(), factors)
        pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).cpu().numpy()
    return [RawImage(p.shape[1], p.shape[0], p.tobytes()) for p in pixels]


def slerp(t: float, start: Any, end: Any) -> Any:
    """Spherical interpolation between two noise tensors (as flat vectors): 0 gives `start`,
    1 gives `end`, and in between a tensor of about the same norm (a straight blend would
    shrink it, and the image would wash out). Nearly parallel vectors blend linearly."""
    import torch

    if t <= 0:
        return start
    if t >= 1:
        return end
    a, b = start.float().flatten(), end.float().flatten()
    cosine = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    if cosine.abs() > 0.9995:
        mixed = (1 - t) * a + t * b
    else:
        omega = torch.arccos(cosine)
        mixed = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return mixed.reshape(start.shape).to(start.dtype)
