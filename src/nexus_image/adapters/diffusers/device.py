"""Choosing where and how to run: device, dtype, threads, and whether memory is short."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

LOW_MEMORY_BYTES = 10 * 1024**3


@dataclass(frozen=True, slots=True)
class Placement:
    device: str
    dtype_name: str  # float16, bfloat16, float32
    threads: int
    low_memory: bool

    @property
    def dtype(self) -> Any:
        import torch

        return getattr(torch, self.dtype_name)


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 16 * 1024**3


def cpu_supports_bf16() -> bool:
    import torch

    capability = str(torch.backends.cpu.get_cpu_capability())
    return "AVX512" in capability.upper() or "SVE" in capability.upper()


def choose_placement(
    device: str | None = None,
    dtype: str | None = None,
    threads: int | None = None,
    low_memory: bool | None = None,
) -> Placement:
    """CUDA with fp16 when there is a GPU; else the CPU in bf16 where the CPU has it, fp32
    otherwise. Threads are pinned so a seed reproduces byte for byte across processes."""
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        dtype = "float16" if device.startswith("cuda") else "bfloat16" if cpu_supports_bf16() else "float32"
    if threads is None:
        threads = int(os.environ.get("NEXUS_IMAGE_THREADS", "0")) or (os.cpu_count() or 1)
    if low_memory is None:
        if device.startswith("cuda"):
            free, _total = torch.cuda.mem_get_info()
            low_memory = free < LOW_MEMORY_BYTES
        else:
            low_memory = _available_ram() < LOW_MEMORY_BYTES
    return Placement(device, dtype, threads, low_memory)
