"""Prometheus metrics for the Metrics port, the loop feeding the queue gauges, and the metrics
port of a process without an HTTP API."""

from nexus_image.adapters.prometheus.metrics import PrometheusMetrics
from nexus_image.adapters.prometheus.queue import QueueGauges
from nexus_image.adapters.prometheus.server import start_metrics_server

__all__ = ["PrometheusMetrics", "QueueGauges", "start_metrics_server"]
