"""The four supported resolutions and what each costs in tokens."""

from __future__ import annotations

from enum import StrEnum

from nexus_image.domain.errors import UnsupportedResolution


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
        except ValueError:
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
