"""A fast stand-in generator with no model: deterministic patterns from the seed and prompt."""

from __future__ import annotations

import hashlib
import threading

from nexus_image.application.errors import GenerationError, GenerationInterrupted
from nexus_image.application.ports import RawImage, RenderSpec, StepCallback


class PatternGenerator:
    """Same spec, same bytes; a different seed or prompt, different bytes. `fail_with` makes the
    next calls raise, like a model running out of memory; `step_hook` runs inside every step."""

    model_name = "pattern (test generator)"

    def __init__(self) -> None:
        self.fail_with: Exception | None = None
        self.calls: list[list[RenderSpec]] = []
        self._lock = threading.Lock()

    def generate(self, spec: RenderSpec, on_step: StepCallback) -> RawImage:
        return self.generate_batch([spec], on_step)[0]

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        with self._lock:
            self.calls.append(list(specs))
            if self.fail_with is not None:
                raise GenerationError(str(self.fail_with)) from self.fail_with
            # a hires fix's second pass counts too (as the diffusers generator reports it)
            total = specs[0].parameters.steps + specs[0].parameters.hires_pass_steps
            for step in range(1, total + 1):
                if not on_step(step, total):
                    raise GenerationInterrupted("stopped between denoising steps")
            return [self._pattern(spec) for spec in specs]

    @classmethod
    def _pattern(cls, spec: RenderSpec) -> RawImage:
        """A pattern from the seed, prompts and adapters; over a starting image, blended in by
        the strength (and, with a mask, only where the mask is white)."""
        pattern = cls._noise(spec)
        init, mask = spec.init_image, spec.mask_image
        if init is None:
            return pattern
        strength = spec.parameters.strength or 0.0
        if mask is None:
            mixed = bytes(
                round(a + (b - a) * strength) for a, b in zip(init.pixels, pattern.pixels, strict=True)
            )
        else:
            mixed = bytes(
                round(a + (b - a) * strength * m / 255)
                for a, b, m in zip(init.pixels, pattern.pixels, mask.pixels, strict=True)
            )
        return RawImage(spec.width, spec.height, mixed)

    @staticmethod
    def _noise(spec: RenderSpec) -> RawImage:
        settings = spec.parameters
        adapters = ",".join(f"{lora.name}:{lora.weight}" for lora in settings.loras)
        key = f"{settings.seed}|{spec.prompt}|{spec.negative}" + (f"|{adapters}" if adapters else "")
        digest = hashlib.sha256(key.encode()).digest()
        hires = settings.hires_scale is not None and spec.init_image is None
        width, height = settings.drawn_size if hires else (spec.width, spec.height)
        row = bytes((digest[(x * 3 + c) % 32] + x) % 256 for x in range(width) for c in range(3))
        pixels = b"".join(bytes((b + y) % 256 for b in row) if y % 64 == 0 else row for y in range(height))
        return RawImage(width, height, pixels)
