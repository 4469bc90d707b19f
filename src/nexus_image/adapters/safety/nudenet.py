"""The output image check on NudeNet 3.4.2: its bundled 320n ONNX detector, run on the CPU.

nudenet, onnxruntime and numpy (the `safety` extra) are imported on first use only.

NudeNet reports one class per box, at most one box per region (its non-maximum suppression runs
across classes), and nothing scoring under 0.25: a score is the model's confidence in that class
for that box, not a probability that the image is unsafe."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nexus_image.application.ports import RawImage
from nexus_image.application.ports.safety import ImageSafetyVerdict

NUDENET_LABELS: frozenset[str] = frozenset(
    {
        "FEMALE_GENITALIA_COVERED",
        "FACE_FEMALE",
        "BUTTOCKS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_BREAST_EXPOSED",
        "ANUS_EXPOSED",
        "FEET_EXPOSED",
        "BELLY_COVERED",
        "FEET_COVERED",
        "ARMPITS_COVERED",
        "ARMPITS_EXPOSED",
        "FACE_MALE",
        "BELLY_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_COVERED",
        "FEMALE_BREAST_COVERED",
        "BUTTOCKS_COVERED",
    }
)
"""Every class the bundled model knows."""

DEFAULT_UNSAFE_LABELS: frozenset[str] = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)
"""Exposed genitalia, female breasts, anus and buttocks; faces, feet, armpits, belly and male
breasts are not unsafe by themselves."""

DEFAULT_THRESHOLD = 0.5
MODEL_RESOLUTION = 320  # the bundled 320n.onnx
EXTRA_MISSING = "NudeNetChecker needs the `safety` extra: pip install 'nexus-image[safety]'"


class NudeNetChecker:
    """Flags an image when an unsafe label scores at least its threshold (`thresholds[label]`,
    else `threshold`). Loads the detector on `load()` or first use; `check` may run on several
    threads at once (an onnxruntime session is safe to share)."""

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        unsafe_labels: frozenset[str] = DEFAULT_UNSAFE_LABELS,
        thresholds: Mapping[str, float] | None = None,
        threads: int = 1,
    ) -> None:
        overrides = dict(thresholds or {})
        if not 0.0 <= threshold <= 1.0 or not all(0.0 <= t <= 1.0 for t in overrides.values()):
            raise ValueError("thresholds must lie between 0 and 1")
        if not unsafe_labels:
            raise ValueError("unsafe_labels must name at least one label")
        if unknown := sorted((set(unsafe_labels) | set(overrides)) - NUDENET_LABELS):
            raise ValueError(f"unknown NudeNet labels: {', '.join(unknown)}")
        if stray := sorted(set(overrides) - set(unsafe_labels)):
            raise ValueError(f"thresholds given for labels that are not unsafe: {', '.join(stray)}")
        if threads < 1:
            raise ValueError("threads must be at least 1")
        if importlib.util.find_spec("nudenet") is None:
            raise ImportError(EXTRA_MISSING)
        self.threshold = threshold
        self.unsafe_labels = frozenset(unsafe_labels)
        self.thresholds = {label: overrides.get(label, threshold) for label in self.unsafe_labels}
        self.threads = threads
        self._detector: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "nudenet"

    def load(self) -> None:
        with self._lock:
            if self._detector is None:
                self._detector = _load_detector(self.threads)

    def check(self, image: RawImage) -> ImageSafetyVerdict:
        pixels = _pixels(image)
        if self._detector is None:
            self.load()
        detections: list[dict[str, Any]] = self._detector.detect(pixels)
        score = 0.0
        labels: set[str] = set()
        for detection in detections:
            label, value = str(detection["class"]), float(detection["score"])
            if label in self.unsafe_labels:
                score = max(score, value)
                if value >= self.thresholds[label]:
                    labels.add(label)
        found = tuple(sorted(labels))
        return ImageSafetyVerdict(safe=not found, score=score, labels=found, checker=self.name)


def _pixels(image: RawImage) -> Any:
    """The image as the H x W x 3 uint8 RGB array NudeNet takes (a view: nothing is copied).

    RGB, not OpenCV's BGR: nudenet 3.4.2 swaps red and blue twice on the way in, so an RGB array
    reaches the model as RGB, as its earlier releases fed it (an image read from a file reaches
    it as BGR: notAI-tech/NudeNet#203)."""
    if image.width < 1 or image.height < 1:
        raise ValueError(f"image size must be positive, got {image.width}x{image.height}")
    expected = image.width * image.height * 3
    if len(image.pixels) != expected:
        raise ValueError(
            f"a {image.width}x{image.height} RGB image has {expected} bytes, got {len(image.pixels)}"
        )
    try:
        import numpy as np
    except ImportError as exc:
        raise ImportError(EXTRA_MISSING) from exc
    return np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width, 3)


def _load_detector(threads: int) -> Any:
    """NudeNet's detector on a CPU session of our own: its constructor ignores `providers` and
    leaves onnxruntime to take every core, so the attributes it sets are set here instead."""
    try:
        import nudenet
        import onnxruntime
        from nudenet import NudeDetector
    except ImportError as exc:
        raise ImportError(EXTRA_MISSING) from exc
    model = Path(nudenet.__file__).with_name("320n.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    detector = NudeDetector.__new__(NudeDetector)
    detector.onnx_session = session
    detector.input_name = session.get_inputs()[0].name
    detector.input_width = detector.input_height = MODEL_RESOLUTION
    return detector


def nudenet_available() -> bool:
    """Whether the `safety` extra is installed (nothing is imported to find out)."""
    return all(importlib.util.find_spec(name) is not None for name in ("nudenet", "onnxruntime", "numpy"))
