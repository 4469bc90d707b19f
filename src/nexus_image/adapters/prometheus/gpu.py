"""GPU memory and utilisation read through NVML (`nvidia-ml-py`) at each scrape, so the worker's
own `/metrics` feeds the GPU panel and no DCGM exporter is needed. Where there is no NVIDIA
driver (or no `pynvml`), `nvml_collector()` returns None and nothing is exported."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

GPU_SERIES = (
    "gpu_memory_used_bytes",
    "gpu_memory_total_bytes",
    "gpu_utilization_ratio",
    "gpu_memory_utilization_ratio",
)


class GpuCollector(Collector):
    """One series per device and figure, labelled `gpu` (the index) and `name` (the model).
    `nvml` is the `pynvml` module, already initialised (tests pass a stand-in)."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self._count = int(nvml.nvmlDeviceGetCount())

    def describe(self) -> list[GaugeMetricFamily]:
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        used, total, busy, memory_busy = families
        for index in range(self._count):
            try:
                handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
                name = self._nvml.nvmlDeviceGetName(handle)
                memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
                rates = self._nvml.nvmlDeviceGetUtilizationRates(handle)
            except Exception as error:  # a device that stops answering drops out of this scrape
                log.warning("NVML could not read GPU %d: %s", index, error)
                continue
            labels = [str(index), name.decode() if isinstance(name, bytes) else str(name)]
            used.add_metric(labels, float(memory.used))
            total.add_metric(labels, float(memory.total))
            busy.add_metric(labels, float(rates.gpu) / 100.0)
            memory_busy.add_metric(labels, float(rates.memory) / 100.0)
        yield from families

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        labels = ["gpu", "name"]
        return (
            GaugeMetricFamily("gpu_memory_used_bytes", "GPU memory in use (NVML)", labels=labels),
            GaugeMetricFamily("gpu_memory_total_bytes", "GPU memory installed (NVML)", labels=labels),
            GaugeMetricFamily(
                "gpu_utilization_ratio", "Share of time a kernel ran on the GPU, 0-1 (NVML)", labels=labels
            ),
            GaugeMetricFamily(
                "gpu_memory_utilization_ratio",
                "Share of time GPU memory was read or written, 0-1 (NVML)",
                labels=labels,
            ),
        )


def nvml_collector() -> GpuCollector | None:
    """The collector for this machine's NVIDIA GPUs, or None where NVML cannot start."""
    try:
        import pynvml

        pynvml.nvmlInit()
        collector = GpuCollector(pynvml)
    except Exception as error:  # no package, no driver, no device: a CPU worker
        log.info("no GPU metrics: %s", error)
        return None
    return collector if collector._count else None
