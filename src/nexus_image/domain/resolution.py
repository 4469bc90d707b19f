"""The four supported resolutions and what each costs in tokens, by mode."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from nexus_image.domain.errors import InvalidValue, UnsupportedResolution


class Resolution(StrEnum):
    SQUARE_512 = "512x512"
    SQUARE_768 = "768x768"
    SQUARE_1024 = "1024x1024"
    PORTRAIT_1024 = "1024x1536"

    @property
    def width(self) -> int:
        return int(self.value.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.value.split("x")[1])

    @property
    def token_cost(self) -> int:
        return TOKEN_COSTS[self]

    @classmethod
    def parse(cls, value: str) -> Resolution:
        if isinstance(value, cls):
            return value
        try:
            return cls(value.strip().lower().replace("×", "x").replace(" ", ""))
        except (ValueError, AttributeError):
            allowed = tuple(r.value for r in cls)
            raise UnsupportedResolution(
                "resolution",
                f"unsupported resolution {value!r}; allowed: {', '.join(allowed)}",
                allowed,
            ) from None


TOKEN_COSTS: dict[Resolution, int] = {
    Resolution.SQUARE_512: 5,
    Resolution.SQUARE_768: 10,
    Resolution.SQUARE_1024: 20,
    Resolution.PORTRAIT_1024: 30,
}


def price(resolution: Resolution) -> int:
    """The price of one image: it depends on the resolution only."""
    return TOKEN_COSTS[resolution]


@dataclass(frozen=True, slots=True)
class Pricing:
    """What one image costs by mode: text to image as `TOKEN_COSTS`; image to image and
    inpainting as the operator sets per resolution, and where not set, as text to image."""

    img2img: Mapping[Resolution, int] = field(default_factory=dict)
    inpaint: Mapping[Resolution, int] = field(default_factory=dict)
    upscale_per_megapixel: float = 2.0  # an upscale's price by its output's size (at least 1)

    def upscale_cost(self, width: int, height: int) -> int:
        """An upscale's price: its output's megapixels times `upscale_per_megapixel`, rounded up."""
        return max(1, math.ceil(width * height / 1_000_000 * self.upscale_per_megapixel - 1e-9))

    def __post_init__(self) -> None:
        if not 0 < self.upscale_per_megapixel <= 1000:
            raise InvalidValue("upscale_price", "the upscale price per megapixel must be above 0")
        for table in (self.img2img, self.inpaint):
            for resolution, cost in table.items():
                if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
                    # every job is charged (and refunded) a positive amount: no free mode
                    raise InvalidValue("price", f"the price of {resolution.value} must be a whole number ≥ 1")

    def cost(self, resolution: Resolution, mode: str = "txt2img") -> int:
        table = {"img2img": self.img2img, "inpaint": self.inpaint}.get(mode, {})
        return table.get(resolution, price(resolution))

    def table(self) -> dict[str, dict[str, int]]:
        """Every mode's price of every resolution."""
        return {
            mode: {r.value: self.cost(r, mode) for r in Resolution}
            for mode in ("txt2img", "img2img", "inpaint")
        }

    @classmethod
    def parse(cls, img2img: str = "", inpaint: str = "", upscale_per_megapixel: float = 2.0) -> Pricing:
        """From "512x512=6,1024x1024=25" (empty: as text to image)."""

        def one(text: str, name: str) -> dict[Resolution, int]:
            table: dict[Resolution, int] = {}
            for item in (part.strip() for part in text.split(",")):
                if not item:
                    continue
                resolution, _, cost = item.partition("=")
                if not cost.strip().isdigit():
                    raise InvalidValue(name, f"{name}: {item!r} is not RESOLUTION=TOKENS")
                table[Resolution.parse(resolution)] = int(cost)
            return table

        return cls(one(img2img, "img2img_prices"), one(inpaint, "inpaint_prices"), upscale_per_megapixel)
