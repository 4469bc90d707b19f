"""GPU figures from NVML on the worker's /metrics: one series per device and figure, read at each
scrape; a device that stops answering drops out; no NVML means no collector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from nexus_image.adapters.prometheus import GPU_SERIES, GpuCollector, PrometheusMetrics, gpu, nvml_collector


@dataclass
class Memory:
    used: int
    total: int


@dataclass
class Rates:
    gpu: int
    memory: int


class FakeNvml:
    """The part of pynvml the collector calls, with figures a test can change between scrapes."""

    def __init__(self, devices: list[tuple[str, int, int, int]]) -> None:
        self.devices = devices  # (name, used bytes, total bytes, utilisation %)
        self.broken: set[int] = set()

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if index in self.broken:
            raise RuntimeError("GPU is lost")
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return self.devices[handle][0].encode()

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Memory:
        return Memory(self.devices[handle][1], self.devices[handle][2])

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Rates:
        return Rates(self.devices[handle][3], self.devices[handle][3] // 2)


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def value(text: str, series: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == series and sample.labels == labels:
                return float(sample.value)
    return None


def test_every_device_gets_its_memory_and_utilisation_read_at_each_scrape() -> None:
    nvml = FakeNvml([("NVIDIA H200", 10 * 2**30, 141 * 2**30, 87), ("NVIDIA L4", 0, 24 * 2**30, 0)])
    metrics = PrometheusMetrics()
    metrics.registry.register(GpuCollector(nvml))
    text = scrape(metrics.registry)
    assert value(text, "gpu_memory_used_bytes", gpu="0", name="NVIDIA H200") == 10 * 2**30
    assert value(text, "gpu_memory_total_bytes", gpu="1", name="NVIDIA L4") == 24 * 2**30
    assert 'gpu_utilization_ratio{gpu="0",name="NVIDIA H200"} 0.87' in text
    assert 'gpu_memory_utilization_ratio{gpu="0",name="NVIDIA H200"} 0.43' in text
    nvml.devices[0] = ("NVIDIA H200", 20 * 2**30, 141 * 2**30, 12)
    text = scrape(metrics.registry)
    assert value(text, "gpu_memory_used_bytes", gpu="0", name="NVIDIA H200") == 20 * 2**30
    assert 'gpu_utilization_ratio{gpu="0",name="NVIDIA H200"} 0.12' in text
    for name in GPU_SERIES:
        assert f"# TYPE {name} gauge" in text


def test_a_device_that_stops_answering_drops_out_of_the_scrape_and_the_others_stay() -> None:
    nvml = FakeNvml([("A", 1, 2, 3), ("B", 4, 5, 6)])
    registry = CollectorRegistry()
    registry.register(GpuCollector(nvml))
    nvml.broken.add(0)
    text = scrape(registry)
    assert 'gpu="0"' not in text
    assert 'gpu_memory_used_bytes{gpu="1",name="B"} 4.0' in text


def test_no_driver_means_no_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    def no_driver() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    assert nvml_collector() is None


def test_nvml_with_devices_gives_a_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    fake = FakeNvml([("NVIDIA T4", 1, 2, 3)])
    monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
    for name in ("nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetName"):
        monkeypatch.setattr(pynvml, name, getattr(fake, name))
    monkeypatch.setattr(pynvml, "nvmlDeviceGetMemoryInfo", fake.nvmlDeviceGetMemoryInfo)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetUtilizationRates", fake.nvmlDeviceGetUtilizationRates)
    collector = nvml_collector()
    assert isinstance(collector, GpuCollector)
    registry = CollectorRegistry()
    registry.register(collector)
    assert 'gpu_memory_total_bytes{gpu="0",name="NVIDIA T4"} 2.0' in scrape(registry)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 0)
    assert nvml_collector() is None  # a driver without devices: nothing to export


def test_the_worker_registers_the_gpus_where_nvml_finds_some(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from nexus_image.entrypoints.composition import compose
    from nexus_image.entrypoints.settings import Settings

    fake = FakeNvml([("NVIDIA A100", 5, 80, 50)])
    monkeypatch.setattr(gpu, "nvml_collector", lambda: GpuCollector(fake))
    import nexus_image.adapters.prometheus as package

    monkeypatch.setattr(package, "nvml_collector", lambda: GpuCollector(fake))
    worker = compose("worker", Settings(data_dir=tmp_path, image_safety="none"))
    api = compose("api", Settings(data_dir=tmp_path))
    try:
        assert 'gpu_utilization_ratio{gpu="0",name="NVIDIA A100"} 0.5' in scrape(worker.metrics.registry)
        assert "gpu_utilization_ratio" not in scrape(api.metrics.registry)
    finally:
        worker.close()
        api.close()
