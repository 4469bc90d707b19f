"""Prometheus metrics for the Metrics port, the loop feeding the queue gauges, and the metrics
port of a process without an HTTP API, with the GPUs' figures from NVML."""

from nexus_image.adapters.prometheus.gpu import GPU_SERIES, GpuCollector, nvml_collector
from nexus_image.adapters.prometheus.metrics import PrometheusMetrics
from nexus_image.adapters.prometheus.queue import QueueGauges
from nexus_image.adapters.prometheus.server import start_metrics_server

__all__ = [
    "GPU_SERIES",
    "GpuCollector",
    "PrometheusMetrics",
    "QueueGauges",
    "nvml_collector",
    "start_metrics_server",
]
