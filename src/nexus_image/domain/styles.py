"""The five styles: a prompt template, a default negative prompt and sampling defaults."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nexus_image.domain.errors import UnknownStyle


class Style(StrEnum):
    REALISTIC = "realistic"
    ANIME = "anime"
    ARTISTIC = "artistic"
    THREE_D = "3d"
    SKETCH = "sketch"

    @classmethod
    def parse(cls, value: str) -> Style:
        if isinstance(value, cls):
            return value
        try:
            return cls(value.strip().lower())
        except (ValueError, AttributeError):
            allowed = tuple(s.value for s in cls)
            raise UnknownStyle(
                "style", f"unknown style {value!r}; allowed: {', '.join(allowed)}", allowed
            ) from None


@dataclass(frozen=True, slots=True)
class StylePreset:
    template: str
    negative_prompt: str
    steps: int
    guidance: float

    def apply(self, prompt: str, negative_prompt: str | None) -> tuple[str, str]:
        """Return the styled prompt and the negative prompt (user's first, then the style's)."""
        styled = self.template.format(prompt=prompt.strip())
        parts = [p.strip() for p in (negative_prompt or "", self.negative_prompt) if p and p.strip()]
        return styled, ", ".join(parts)


PRESETS: dict[Style, StylePreset] = {
    Style.REALISTIC: StylePreset(
        "RAW photo, {prompt}, highly detailed, sharp focus, natural lighting, 8k uhd",
        "cartoon, anime, painting, drawing, illustration, blurry, low quality, deformed",
        30,
        7.0,
    ),
    Style.ANIME: StylePreset(
        "anime artwork, {prompt}, vibrant colors, clean line art, key visual, studio anime",
        "photo, realistic, 3d render, blurry, low quality, extra limbs",
        25,
        7.5,
    ),
    Style.ARTISTIC: StylePreset(
        "{prompt}, oil painting, expressive brush strokes, fine art, masterpiece",
        "photo, low quality, blurry, watermark, text",
        30,
        8.0,
    ),
    Style.THREE_D: StylePreset(
        "3d render of {prompt}, octane render, volumetric lighting, highly detailed",
        "photo, 2d, flat, sketch, blurry, low quality",
        25,
        7.0,
    ),
    Style.SKETCH: StylePreset(
        "pencil sketch of {prompt}, graphite, monochrome, hand-drawn lines, paper texture",
        "color, photo, 3d render, blurry, low quality",
        25,
        6.5,
    ),
}


def preset_for(style: Style) -> StylePreset:
    return PRESETS[style]
