"""PNG with text chunks (so an image can be reproduced) and a thumbnail 256 px on its long side;
uploads checked and decoded."""

from __future__ import annotations

import io
from collections.abc import Mapping

from PIL import Image, ImageOps, PngImagePlugin

from nexus_image.application.ports import EncodedImage, InspectedImage, RawImage
from nexus_image.domain.errors import InvalidImage

THUMBNAIL_SIZE = 256
PREVIEW_SIZE = 128  # pixels on the long side of a live preview


class PillowEncoder:
    def __init__(self, thumbnail_size: int = THUMBNAIL_SIZE, thumbnail_format: str = "WEBP") -> None:
        if thumbnail_format not in {"WEBP", "JPEG"}:
            raise ValueError("thumbnail_format must be WEBP or JPEG")
        self.thumbnail_size = thumbnail_size
        self.thumbnail_format = thumbnail_format

    def encode(self, raw: RawImage, metadata: Mapping[str, str]) -> EncodedImage:
        image = Image.frombytes("RGB", (raw.width, raw.height), raw.pixels)
        info = PngImagePlugin.PngInfo()
        for key, value in metadata.items():
            info.add_itxt(key, value)  # iTXt: UTF-8, so any prompt survives
        png = io.BytesIO()
        image.save(png, format="PNG", pnginfo=info, compress_level=6)

        thumb = image.copy()
        thumb.thumbnail((self.thumbnail_size, self.thumbnail_size), Image.Resampling.LANCZOS)
        small = io.BytesIO()
        if self.thumbnail_format == "WEBP":
            thumb.save(small, format="WEBP", quality=82, method=4)
            content_type, extension = "image/webp", "webp"
        else:
            thumb.save(small, format="JPEG", quality=85, optimize=True)
            content_type, extension = "image/jpeg", "jpg"
        return EncodedImage(png.getvalue(), "image/png", small.getvalue(), content_type, extension)

    def preview(self, raw: RawImage, max_bytes: int) -> bytes:
        image = Image.frombytes("RGB", (raw.width, raw.height), raw.pixels)
        if max(image.size) < PREVIEW_SIZE:  # latents are an eighth of the image: show them larger
            scale = PREVIEW_SIZE / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        data = b""
        while True:
            for quality in (60, 40, 20):
                out = io.BytesIO()
                image.save(out, format="WEBP", quality=quality, method=4)
                data = out.getvalue()
                if len(data) <= max_bytes:
                    return data
            if max(image.size) <= 16:
                return data
            image = image.resize(
                (max(1, image.width // 2), max(1, image.height // 2)), Image.Resampling.BILINEAR
            )


def read_png_metadata(data: bytes) -> dict[str, str]:
    """The text chunks of a PNG, e.g. to reproduce an image from its file."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return {k: str(v) for k, v in getattr(image, "text", {}).items()}


MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
)
ACCEPTED = ("image/png", "image/jpeg", "image/webp")
MAX_JPEG_SCANS = 100  # a progressive JPEG has about 10; libjpeg sets no limit of its own


def _format_of(data: bytes) -> str | None:
    """The format by the file's first bytes (never by its name or a declared type)."""
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


class PillowDecoder:
    """Uploads: the format from the magic bytes, the size from the header before any pixel is
    decoded (so a small file claiming a huge canvas costs nothing), then a full decode of the
    first frame to prove it is whole; stored again as a plain RGB PNG."""

    def inspect(self, data: bytes, max_side: int, mask_from_alpha: bool = False) -> InspectedImage:
        kind = _format_of(data)
        if kind is None:
            raise InvalidImage("file", "the file is not a PNG, JPEG or WebP image", ACCEPTED)
        if kind == "JPEG" and data.count(b"\xff\xda") > MAX_JPEG_SCANS:
            # each scan of a progressive JPEG walks the whole image again: thousands of them
            # would take minutes to decode (0xFF in the coded data is stuffed, so none is missed)
            raise InvalidImage("file", f"the JPEG has more than {MAX_JPEG_SCANS} scans")
        try:
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                self._check_size(image.size, max_side)
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                self._check_size(upright.size, max_side)
                rgb = self._mask_from_alpha(upright) if mask_from_alpha else self._rgb(upright)
        except InvalidImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidImage(
                "file", f"images may be at most {max_side} pixels a side; this one claims a far larger canvas"
            ) from None
        except Exception as error:  # Pillow raises many kinds for damaged files
            raise InvalidImage("file", f"the {kind} file could not be read: {error}"[:300]) from None
        out = io.BytesIO()
        rgb.save(out, format="PNG", compress_level=6)
        return InspectedImage(rgb.width, rgb.height, kind.lower(), out.getvalue())

    @staticmethod
    def _check_size(size: tuple[int, int], max_side: int) -> None:
        width, height = size
        if width < 1 or height < 1 or max(width, height) > max_side:
            raise InvalidImage(
                "file", f"images may be at most {max_side} pixels a side; this one is {width}x{height}"
            )

    @staticmethod
    def _rgb(image: Image.Image) -> Image.Image:
        """RGB; 16-bit and 32-bit greys scaled to 8 bits (not clipped); transparent pixels
        (an alpha channel, or a colour key) become black (in a mask: kept as they are)."""
        if image.mode.startswith("I;16") or image.mode == "I":
            extrema = image.getextrema()
            brightest = (
                extrema[1] if isinstance(extrema, tuple) and isinstance(extrema[1], int | float) else 0
            )
            top = 65535 if image.mode != "I" or brightest > 255 else 255
            image = image.convert("I").point(lambda v: v * 255 / top).convert("L")
        if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")

    @staticmethod
    def _mask_from_alpha(image: Image.Image) -> Image.Image:
        """White where the picture is transparent, black where opaque, grey in between."""
        if image.mode not in {"RGBA", "LA", "PA"} and "transparency" not in image.info:
            raise InvalidImage(
                "mask", "the mask has no transparency: its transparent pixels say where to paint"
            )
        alpha = image.convert("RGBA").getchannel("A")
        return ImageOps.invert(alpha).convert("RGB")

    def decode(self, data: bytes, width: int, height: int) -> RawImage:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            rgb = image.convert("RGB")
        fitted = ImageOps.fit(rgb, (width, height), Image.Resampling.LANCZOS)
        return RawImage(width, height, fitted.tobytes())
