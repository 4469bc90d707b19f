"""Time per output megapixel and peak memory of the upscalers: Lanczos, and a random-weight
ESRGAN x4 network run whole and in tiles.

    PYTHONPATH=src python benchmarks/upscaling.py [--size 256] [--blocks 6] [--features 64] [--tile 128]

Each case runs in its own process, so its peak resident memory (getrusage) is its own; on
CUDA the peak of torch's allocations is printed too. RealESRGAN_x4plus is 23 blocks of 64
features, the anime 6B model 6 blocks: the defaults are that one's shape. "whole" is one tile
larger than the image, so no tiling happens."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def case(kind: str, size: int, blocks: int, features: int, tile: int) -> dict[str, float]:
    import numpy as np

    from nexus_image.adapters.upscaling import FolderUpscaler, UpscalerFolder
    from nexus_image.application.ports import RawImage

    image = RawImage(
        size, size, np.random.default_rng(0).integers(0, 256, size * size * 3, np.uint8).tobytes()
    )
    with tempfile.TemporaryDirectory() as folder:
        name = "lanczos"
        if kind != "lanczos":
            import torch
            from safetensors.torch import save_file

            from nexus_image.adapters.upscaling.layout import Architecture
            from nexus_image.adapters.upscaling.network import RRDBNet

            network = RRDBNet(Architecture(features, features // 2, blocks, 2, 1, 3, 3))
            save_file(
                {k: v.contiguous() for k, v in network.state_dict().items()}, f"{folder}/x4.safetensors"
            )
            name = "x4"
        side = tile if kind == "tiled" else size + 1
        upscaler = FolderUpscaler(
            UpscalerFolder(Path(folder)), tile=side, overlap=32 if kind == "tiled" else 0
        )
        upscaler.upscale(RawImage(8, 8, bytes(192)), 4, name)  # load, and the first call's setup
        began = time.perf_counter()
        out = upscaler.upscale(image, 4, name)
        seconds = time.perf_counter() - began
    result = {"seconds": seconds, "mp": out.width * out.height / 1e6}
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if kind != "lanczos" and torch.cuda.is_available():
        result["cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--case")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.size, args.blocks, args.features, args.tile)))
        return
    print(
        f"{args.size}x{args.size} -> x4; ESRGAN {args.blocks} blocks of {args.features} features; tile {args.tile}"
    )
    for kind in ("lanczos", "whole", "tiled"):
        command = [sys.executable, __file__, "--case", kind, *sys.argv[1:]]
        line = (
            subprocess.run(command, check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(line)
        cuda = f", CUDA peak {r['cuda_mib']:.0f} MiB" if "cuda_mib" in r else ""
        print(
            f"{kind:8} {r['seconds'] / r['mp']:8.3f} s per output MP, peak RSS {r['rss_mib']:.0f} MiB{cuda}"
        )


if __name__ == "__main__":
    main()
