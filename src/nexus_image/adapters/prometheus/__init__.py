"""Prometheus metrics for the Metrics port."""

from nexus_image.adapters.prometheus.metrics import PrometheusMetrics

__all__ = ["PrometheusMetrics"]
