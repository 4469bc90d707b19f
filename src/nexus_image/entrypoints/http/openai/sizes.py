"""OpenAI's `size` (`WIDTHxHEIGHT` or `auto`) as one of our resolutions."""

from __future__ import annotations

import math
import re

from nexus_image.domain.errors import UnsupportedResolution
from nexus_image.domain.resolution import Resolution

SQUARE_WITHIN = 1.25  # a picture at most this much wider than tall (or taller than wide) is square
_SIZE = re.compile(r"\s*([0-9]{1,5})\s*[xX×]\s*([0-9]{1,5})\s*")
ALLOWED = tuple(r.value for r in Resolution)


def shape(width: int, height: int) -> str:
    ratio = width / height
    if 1 / SQUARE_WITHIN <= ratio <= SQUARE_WITHIN:
        return "square"
    return "landscape" if ratio > 1 else "portrait"


def nearest(width: int, height: int) -> Resolution | None:
    """The allowed resolution of the same shape nearest in area to `width` x `height`; None
    when no allowed resolution has that shape."""
    wanted = shape(width, height)
    same = [r for r in Resolution if shape(r.width, r.height) == wanted]
    if not same:
        return None
    return min(same, key=lambda r: abs(math.log(r.width * r.height / (width * height))))


def resolution_for(size: str | None, picture: tuple[int, int] | None = None) -> Resolution | None:
    """The resolution a `size` asks for: its nearest allowed one of the same shape. `auto` (or
    none): the nearest to `picture` (an edit's image) where one has its shape, else None (the
    default). A size of a shape nothing allowed has, or no size at all, is refused with the
    allowed ones listed."""
    if size is None or size.strip().lower() == "auto":
        return nearest(*picture) if picture is not None else None
    matched = _SIZE.fullmatch(size)
    width, height = (int(matched.group(1)), int(matched.group(2))) if matched else (0, 0)
    if width < 1 or height < 1:
        raise UnsupportedResolution(
            "size", f"size must be WIDTHxHEIGHT or auto, not {size!r}; allowed: {', '.join(ALLOWED)}", ALLOWED
        )
    found = nearest(width, height)
    if found is None:
        raise UnsupportedResolution(
            "size",
            f"no allowed size is {shape(width, height)} like {size!r}; allowed: {', '.join(ALLOWED)}",
            ALLOWED,
        )
    return found
