"""Time the CPU side of finishing a job: PNG with metadata + thumbnail (PillowEncoder).

    PYTHONPATH=src python benchmarks/encoding.py

Uses a smooth synthetic picture (gradients, like a real render) and pure noise (what a random-
weight model produces: the worst case for PNG)."""

from __future__ import annotations

import os
import time

from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.application.ports import RawImage


def smooth(width: int, height: int) -> bytes:
    row = bytes(v for x in range(width) for v in (x * 255 // width, 128, 255 - x * 255 // width))
    return b"".join(bytes((b + y // 4) % 256 for b in row) for y in range(height))


def main() -> None:
    encoder = PillowEncoder()
    meta = {"prompt": "a lighthouse", "seed": "42", "parameters": "{}"}
    for width, height in ((512, 512), (1024, 1024), (1024, 1536)):
        for name, pixels in (("smooth", smooth(width, height)), ("noise", os.urandom(width * height * 3))):
            raw = RawImage(width, height, pixels)
            best, out = float("inf"), None
            for _ in range(3):
                began = time.perf_counter()
                out = encoder.encode(raw, meta)
                best = min(best, time.perf_counter() - began)
            assert out is not None
            print(
                f"{width}x{height} {name}: {best * 1000:.0f} ms, PNG {len(out.image) / 1024:.0f} KiB, "
                f"thumbnail {len(out.thumbnail) / 1024:.1f} KiB"
            )


if __name__ == "__main__":
    main()
