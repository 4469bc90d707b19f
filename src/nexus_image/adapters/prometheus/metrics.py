"""The six business series of the original design, plus what operators need around them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

GENERATION_BUCKETS = (0.5, 1, 2, 5, 8, 12, 20, 30, 45, 60, 120, 300)
SAFETY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
UPLOAD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class PrometheusMetrics:
    """Implements the Metrics port. Pass a registry per process (tests use their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "image_generation_requests", "Accepted generation requests", ["style", "resolution"], registry=r
        )
        self.duration = Histogram(
            "image_generation_duration_seconds",
            "Time from start of generation to stored result",
            ["resolution"],
            buckets=GENERATION_BUCKETS,
            registry=r,
        )
        self.queue_size = Gauge("image_generation_queue_size", "Jobs waiting (QUEUED)", registry=r)
        self.processing = Gauge(
            "image_generation_processing", "Jobs being generated (PROCESSING)", registry=r
        )
        self.failures = Counter(
            "image_generation_failures", "Jobs that ended FAILED", ["resolution"], registry=r
        )
        self.finished = Counter(
            "image_generation_finished", "Jobs that left PROCESSING, by outcome", ["outcome"], registry=r
        )
        self.tokens = Counter("tokens_consumed", "Tokens charged for accepted requests", registry=r)
        self.upload = Histogram(
            "s3_upload_duration_seconds", "Object upload time", buckets=UPLOAD_BUCKETS, registry=r
        )
        self.safety_checks = Counter(
            "image_safety_checks",
            "Finished images scored by the output check",
            ["checker", "outcome"],
            registry=r,
        )
        self.safety_score = Histogram(
            "image_safety_score",
            "Unsafe score of each checked image",
            ["checker"],
            buckets=SAFETY_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "moderation_refusals",
            "Prompts refused, by category and deciding layer",
            ["category", "layer"],
            registry=r,
        )

    def generation_requested(self, style: str, resolution: str, tokens: int) -> None:
        self.requests.labels(style=style, resolution=resolution).inc()
        self.tokens.inc(tokens)

    def generation_finished(self, outcome: str, resolution: str, seconds: float) -> None:
        self.finished.labels(outcome=outcome).inc()
        if outcome == "completed":
            self.duration.labels(resolution=resolution).observe(seconds)
        elif outcome == "failed":
            self.failures.labels(resolution=resolution).inc()

    def storage_upload(self, seconds: float) -> None:
        self.upload.observe(seconds)

    def image_checked(self, checker: str, flagged: bool, score: float) -> None:
        self.safety_checks.labels(checker=checker, outcome="flagged" if flagged else "passed").inc()
        self.safety_score.labels(checker=checker).observe(score)

    def prompt_refused(self, category: str, layer: str) -> None:
        self.refusals.labels(category=category, layer=layer).inc()

    def track_queue(self, counts: Callable[[], dict[str, int]]) -> None:
        """Read the queue gauges from `counts` (job counts by status) at every scrape."""
        self.queue_size.set_function(lambda: counts().get("QUEUED", 0))
        self.processing.set_function(lambda: counts().get("PROCESSING", 0))
