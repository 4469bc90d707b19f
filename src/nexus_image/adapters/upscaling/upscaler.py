"""The Upscaler port: an ESRGAN model from the operator's folder, or Lanczos.

A factor below the model's scale runs the model, then Lanczos down to the size asked (as
AUTOMATIC1111's web UI does); a factor above it runs the model again on its own output until
the size is reached or passed, then Lanczos down (a 1x model, which never enlarges, runs once
and Lanczos does the enlarging). torch is imported on the first model run, so a process that
only lists upscalers or uses Lanczos never loads it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_image.adapters.upscaling.folder import UpscalerFolder
from nexus_image.adapters.upscaling.lanczos import resize
from nexus_image.application.errors import GenerationError
from nexus_image.application.ports import MAX_UPSCALE_FACTOR, RawImage, UpscalerInfo
from nexus_image.domain.errors import InvalidValue

if TYPE_CHECKING:
    from nexus_image.adapters.upscaling.network import RRDBNet

MAX_OUTPUT_PIXELS = 8192 * 8192  # the largest image (final or between passes) made: 192 MiB of RGB
FACTORS = tuple(str(n) for n in range(1, MAX_UPSCALE_FACTOR + 1))


class FolderUpscaler:
    """Upscales with the upscalers of an `UpscalerFolder` (it is their catalog as well).

    The last `cached` networks used stay loaded; one image is upscaled at a time (the lock
    bounds device memory to one tile's work). `device`: None picks CUDA where there is one;
    `half`: None runs float16 on CUDA and float32 elsewhere."""

    def __init__(
        self,
        folder: UpscalerFolder,
        device: str | None = None,
        half: bool | None = None,
        tile: int = 256,
        overlap: int = 32,
        cached: int = 2,
        max_output_pixels: int = MAX_OUTPUT_PIXELS,
    ) -> None:
        if tile < 1 or overlap < 0 or cached < 1:
            raise ValueError("tile and cached must be positive, overlap not negative")
        self.folder = folder
        self.tile, self.overlap, self.cached = tile, overlap, cached
        self.max_output_pixels = max_output_pixels
        self._device_name, self._half = device, half
        self._networks: OrderedDict[tuple[Path, int, int], RRDBNet] = OrderedDict()
        self._lock = threading.Lock()

    def available(self) -> list[UpscalerInfo]:
        return self.folder.available()

    def upscale(self, image: RawImage, factor: int, name: str) -> RawImage:
        if not 1 <= factor <= MAX_UPSCALE_FACTOR:
            raise InvalidValue("factor", f"factor {factor}: from 1 to {MAX_UPSCALE_FACTOR}", FACTORS)
        width, height = image.width * factor, image.height * factor
        self._check_size(width, height)
        path = self.folder.locate(name)
        if path is None:
            return resize(image, width, height)
        with self._lock:
            network = self._network(name, path)
            passes = 1
            while network.scale > 1 and network.scale**passes < factor:
                passes += 1
            reach = network.scale**passes
            self._check_size(image.width * reach, image.height * reach)
            enlarged = self._run(network, image, passes)
        return resize(enlarged, width, height)

    def network(self, name: str) -> RRDBNet:
        """The loaded network of an upscaler file (loaded once, kept among the last used)."""
        path = self.folder.locate(name)
        if path is None:
            raise ValueError(f"{name!r} is not a model")
        with self._lock:
            return self._network(name, path)

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self.max_output_pixels:
            raise InvalidValue(
                "factor",
                f"the image would be {width}x{height}; at most {self.max_output_pixels} pixels are made",
            )

    def _network(self, name: str, path: Path) -> RRDBNet:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        network = self._networks.get(key)
        if network is not None:
            self._networks.move_to_end(key)
            return network
        from nexus_image.adapters.upscaling.network import network_from_state, read_state

        try:
            network = network_from_state(read_state(path))
        except Exception as failure:  # whatever the file holds, the caller sees one error
            raise GenerationError(f"upscaler {name!r} could not be loaded: {failure}") from failure
        device, dtype = self._placement()
        network = network.to(device, dtype)
        self._networks[key] = network
        while len(self._networks) > self.cached:
            self._networks.popitem(last=False)
        return network

    def _placement(self) -> tuple[Any, Any]:
        import torch

        device = torch.device(self._device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
        half = self._half if self._half is not None else device.type == "cuda"
        return device, torch.float16 if half else torch.float32

    def _run(self, network: RRDBNet, image: RawImage, passes: int) -> RawImage:
        import numpy as np

        from nexus_image.adapters.upscaling.tiled import run_tiled

        device, dtype = self._placement()
        pixels = np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width, 3)
        try:
            for _ in range(passes):
                pixels = run_tiled(network, pixels, network.scale, self.tile, self.overlap, device, dtype)
        except RuntimeError as failure:  # out of memory, above all
            raise GenerationError(f"upscaling failed: {failure}") from failure
        return RawImage(pixels.shape[1], pixels.shape[0], pixels.tobytes())
