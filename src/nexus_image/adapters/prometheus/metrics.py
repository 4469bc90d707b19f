"""The six business series of the original design, plus what operators need around them
(among them the fair queue's, per tier).

Every series with labels starts at 0 for each known label value, so `increase()` and `rate()`
see the first event too; the process and Python runtime series come with them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily

from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style

GENERATION_BUCKETS = (0.5, 1, 2, 5, 8, 12, 20, 30, 45, 60, 120, 300)
SAFETY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
FINISH_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5)
UPLOAD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
WAIT_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
WAITING_PREFIX = "waiting:"  # in the counts a QueueGauges refresher passes: images waiting per tier
MODEL_WAITING_PREFIX = "model:"  # and per model
NO_MODEL = "default"  # the label of jobs that name no model (made before models had names)

STYLES = tuple(s.value for s in Style)
RESOLUTIONS = tuple(r.value for r in Resolution)
OUTCOMES = ("completed", "failed", "cancelled")  # what ProcessJobs reports as finished
SAFETY_OUTCOMES = ("flagged", "passed")


class PrometheusMetrics:
    """Implements the Metrics port. Pass a registry per process (tests use their own); the
    known label values (defaults: the domain's styles and resolutions and the job outcomes;
    the moderators' refusal categories and layers, and the image checkers in use, as given)
    are created at 0."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        styles: Iterable[str] = STYLES,
        resolutions: Iterable[str] = RESOLUTIONS,
        outcomes: Iterable[str] = OUTCOMES,
        refusal_categories: Iterable[str] = (),
        refusal_layers: Iterable[str] = (),
        checkers: Iterable[str] = (),
        tiers: Iterable[str] = (),
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self._models_watched = False
        r = self.registry
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        PlatformCollector(registry=r)  # python_info
        GCCollector(registry=r)  # python_gc_*
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
        # Per model: what each model's pool of workers is asked for, takes, and has waiting.
        self.model_requests = Counter(
            "image_model_requests", "Accepted images by the model that draws them", ["model"], registry=r
        )
        self.model_duration = Histogram(
            "image_model_generation_duration_seconds",
            "Time from start of generation to stored result, by model",
            ["model"],
            buckets=GENERATION_BUCKETS,
            registry=r,
        )
        self.model_waiting = Gauge(
            "image_model_queue_waiting",
            "Images waiting for their turn (QUEUED, not dispatched), by model",
            ["model"],
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
        self.finish_stages = Histogram(
            "image_finish_stage_duration_seconds",
            "Time of each stage of finishing a rendered image: check, encode, store, settle",
            ["stage"],
            buckets=FINISH_BUCKETS,
            registry=r,
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
        self.waiting = Gauge(
            "image_queue_waiting",
            "Images waiting for their turn (QUEUED, not dispatched), by tier",
            ["tier"],
            registry=r,
        )
        self.queue_wait = Histogram(
            "image_queue_wait_seconds",
            "Time from request to start of generation, by tier",
            ["tier"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.expired = Counter(
            "image_generation_expired",
            "Jobs whose deadline passed before they started, by tier",
            ["tier"],
            registry=r,
        )
        self.webhook_attempts = Counter(
            "image_webhook_attempts",
            "Webhook attempts by outcome: delivered, retry (failed, to be tried again), failed (given up)",
            ["outcome"],
            registry=r,
        )
        self.queue_refusals = Counter(
            "image_queue_refusals",
            "Requests refused because the user had too many images queued, by tier",
            ["tier"],
            registry=r,
        )
        for outcome in ("delivered", "retry", "failed"):  # a rate of 0 before the first webhook
            self.webhook_attempts.labels(outcome=outcome)
        for tier in tiers:
            self.waiting.labels(tier=tier)
            self.queue_wait.labels(tier=tier)
            self.expired.labels(tier=tier)
            self.queue_refusals.labels(tier=tier)
        self._start_from_zero(
            tuple(styles),
            tuple(resolutions),
            tuple(outcomes),
            tuple(refusal_categories),
            tuple(refusal_layers),
            tuple(checkers),
        )

    def _start_from_zero(
        self,
        styles: tuple[str, ...],
        resolutions: tuple[str, ...],
        outcomes: tuple[str, ...],
        categories: tuple[str, ...],
        layers: tuple[str, ...],
        checkers: tuple[str, ...],
    ) -> None:
        for resolution in resolutions:
            for style in styles:
                self.requests.labels(style=style, resolution=resolution)
            self.duration.labels(resolution=resolution)
            self.failures.labels(resolution=resolution)
        for outcome in outcomes:
            self.finished.labels(outcome=outcome)
        for category in categories:
            for layer in layers:
                self.refusals.labels(category=category, layer=layer)
        for checker in checkers:
            for safety_outcome in SAFETY_OUTCOMES:
                self.safety_checks.labels(checker=checker, outcome=safety_outcome)
            self.safety_score.labels(checker=checker)

    def generation_requested(
        self, style: str, resolution: str, tokens: int, model: str | None = None
    ) -> None:
        self.requests.labels(style=style, resolution=resolution).inc()
        self.model_requests.labels(model=model or NO_MODEL).inc()
        self.tokens.inc(tokens)

    def generation_finished(
        self, outcome: str, resolution: str, seconds: float, model: str | None = None
    ) -> None:
        self.finished.labels(outcome=outcome).inc()
        if outcome == "completed":
            self.duration.labels(resolution=resolution).observe(seconds)
            self.model_duration.labels(model=model or NO_MODEL).observe(seconds)
        elif outcome == "failed":
            self.failures.labels(resolution=resolution).inc()

    def storage_upload(self, seconds: float) -> None:
        self.upload.observe(seconds)

    def finish_stage(self, stage: str, seconds: float) -> None:
        self.finish_stages.labels(stage=stage).observe(seconds)

    def image_checked(self, checker: str, flagged: bool, score: float) -> None:
        self.safety_checks.labels(checker=checker, outcome="flagged" if flagged else "passed").inc()
        self.safety_score.labels(checker=checker).observe(score)

    def prompt_refused(self, category: str, layer: str) -> None:
        self.refusals.labels(category=category, layer=layer).inc()

    def queue_refused(self, tier: str) -> None:
        self.queue_refusals.labels(tier=tier).inc()

    def queue_waited(self, tier: str, seconds: float) -> None:
        self.queue_wait.labels(tier=tier).observe(max(0.0, seconds))

    def job_expired(self, tier: str) -> None:
        self.expired.labels(tier=tier).inc()

    def webhook_attempted(self, outcome: str) -> None:
        self.webhook_attempts.labels(outcome=outcome).inc()

    def watch_models(self, served: Callable[[], Iterable[str]], loaded: Callable[[], Iterable[str]]) -> None:
        """`image_model_loaded{model}`: for each model this process serves, 1 while its pipeline
        is in memory, else 0 (read at each scrape). Once per process."""
        if self._models_watched:
            return
        self.registry.register(_ModelsLoaded(served, loaded))
        self._models_watched = True

    def queue_counts(self, counts: Mapping[str, int]) -> None:
        """Set the queue gauges from job counts by status, and `waiting:<tier>` images waiting
        per tier (fed by a QueueGauges refresher); a tier no longer waiting shows 0."""
        self.queue_size.set(counts.get("QUEUED", 0))
        self.processing.set(counts.get("PROCESSING", 0))
        for gauge, prefix in ((self.waiting, WAITING_PREFIX), (self.model_waiting, MODEL_WAITING_PREFIX)):
            known = {labels[0] for labels in _labels(gauge)}
            for name in known | {k[len(prefix) :] for k in counts if k.startswith(prefix)}:
                gauge.labels(name).set(counts.get(prefix + name, 0))


def _labels(gauge: Gauge) -> list[tuple[str, ...]]:
    return [tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples]


class _ModelsLoaded:
    """A collector: which served models are loaded, asked of the generator at scrape time."""

    def __init__(self, served: Callable[[], Iterable[str]], loaded: Callable[[], Iterable[str]]) -> None:
        self.served = served
        self.loaded = loaded

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "image_model_loaded",
            "Whether each model served here is in memory (1) or not (0)",
            labels=["model"],
        )
        now = set(self.loaded())
        for name in self.served():
            family.add_metric([name], 1.0 if name in now else 0.0)
        yield family
