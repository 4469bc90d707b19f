"""The NudeNet image check with the real detector from the nudenet wheel (the `safety` extra).

No photo of a person ships with any package here, so the threshold tests use a drawn face: its
soft edges (a Gaussian blur) are what NudeNet needs to see FACE_FEMALE in it (about 0.6)."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from nexus_image.adapters.safety import DEFAULT_UNSAFE_LABELS, NoImageCheck, NudeNetChecker
from nexus_image.application.ports import RawImage
from nexus_image.application.ports.safety import ImageSafetyChecker, ImageSafetyVerdict

pytestmark = pytest.mark.integration

FACES = frozenset({"FACE_FEMALE", "FACE_MALE"})


def raw(image: Image.Image) -> RawImage:
    rgb = image.convert("RGB")
    return RawImage(rgb.width, rgb.height, rgb.tobytes())


def flat(width: int = 512, height: int = 512) -> Image.Image:
    return Image.new("RGB", (width, height), (200, 120, 90))


def noise(width: int = 512, height: int = 512) -> Image.Image:
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def landscape(width: int = 768, height: int = 512) -> Image.Image:
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # sky, then a field
        t = y / height
        colour = (int(90 + 100 * t), int(150 + 70 * t), 235) if t < 0.6 else (60, int(150 - 60 * t), 50)
        draw.line([(0, y), (width, y)], fill=colour)
    draw.ellipse([width * 0.75, 40, width * 0.75 + 70, 110], fill=(250, 230, 120))
    draw.polygon(
        [(0, height * 0.6), (width * 0.3, height * 0.2), (width * 0.6, height * 0.6)], fill=(110, 110, 130)
    )
    draw.polygon(
        [(width * 0.4, height * 0.6), (width * 0.7, height * 0.3), (width, height * 0.6)], fill=(90, 95, 115)
    )
    for x in range(40, width, 110):
        draw.rectangle([x + 12, height * 0.72, x + 22, height * 0.82], fill=(90, 60, 30))
        draw.ellipse([x - 8, height * 0.6, x + 42, height * 0.75], fill=(30, 100, 40))
    return image.filter(ImageFilter.GaussianBlur(1))


def drawn_face(size: int = 512) -> Image.Image:
    """A head and shoulders: skin-toned face with eyes, brows, nose and mouth, hair, a shirt."""
    skin = (240, 200, 170)
    image = Image.new("RGB", (size, size), (90, 140, 200))
    draw = ImageDraw.Draw(image)
    c, w, h = size / 2, size * 0.28, size * 0.36
    draw.ellipse([c - w - 10, c - h - 30, c + w + 10, c + h - 60], fill=(60, 40, 25))
    draw.rectangle([c - w * 0.35, c + h * 0.7, c + w * 0.35, size], fill=skin)
    draw.rectangle([c - w * 2, c + h * 1.05, c + w * 2, size], fill=(40, 60, 120))
    draw.ellipse([c - w, c - h, c + w, c + h], fill=skin)
    draw.ellipse([c - w - 12, c - 15, c - w + 12, c + 35], fill=skin)
    draw.ellipse([c + w - 12, c - 15, c + w + 12, c + 35], fill=skin)
    for side in (-1, 1):
        ex, ey = c + side * w * 0.42, c - h * 0.12
        draw.ellipse([ex - w * 0.2, ey - h * 0.08, ex + w * 0.2, ey + h * 0.08], fill=(250, 250, 250))
        draw.ellipse([ex - w * 0.08, ey - h * 0.08, ex + w * 0.08, ey + h * 0.08], fill=(70, 45, 30))
        draw.ellipse([ex - w * 0.035, ey - h * 0.035, ex + w * 0.035, ey + h * 0.035], fill=(10, 10, 10))
        draw.line([ex - w * 0.22, ey - h * 0.2, ex + w * 0.22, ey - h * 0.24], fill=(50, 35, 20), width=8)
    draw.polygon([(c, c), (c - w * 0.12, c + h * 0.28), (c + w * 0.12, c + h * 0.28)], fill=(200, 140, 110))
    draw.chord([c - w * 0.35, c + h * 0.35, c + w * 0.35, c + h * 0.6], 0, 180, fill=(170, 60, 70))
    return image.filter(ImageFilter.GaussianBlur(5))


def bundled_photo(name: str) -> Path | None:
    """scikit-learn's sample photos (a temple, a flower), when it is installed: no people."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "images" / name
    return path if path.is_file() else None


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the detector must load without the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def checker() -> NudeNetChecker:
    c = NudeNetChecker()
    c.load()
    return c


@pytest.fixture(scope="module")
def face_score() -> float:
    """What NudeNet scores the drawn face as FACE_FEMALE (any threshold: it is reported)."""
    verdict = NudeNetChecker(threshold=0.0, unsafe_labels=FACES).check(raw(drawn_face()))
    assert verdict.labels == ("FACE_FEMALE",), verdict
    assert verdict.score > 0.4, verdict
    return verdict.score


def test_the_detector_loads_from_the_wheel_without_the_network(no_network: None) -> None:
    c = NudeNetChecker()
    c.load()
    assert c.name == "nudenet"
    assert c.check(raw(flat())) == ImageSafetyVerdict(safe=True, score=0.0, labels=(), checker="nudenet")


def test_it_is_an_image_safety_checker() -> None:
    checkers: list[ImageSafetyChecker] = [NudeNetChecker(), NoImageCheck()]
    assert [c.name for c in checkers] == ["nudenet", "none"]


def test_the_default_unsafe_labels_are_exposed_intimate_parts_only() -> None:
    expected = {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
    assert NudeNetChecker().unsafe_labels == DEFAULT_UNSAFE_LABELS == expected


@pytest.mark.parametrize(
    "image",
    [flat(), noise(), landscape(), drawn_face(), noise(768, 512), landscape(512, 768)],
    ids=["flat", "noise", "landscape", "drawn-face", "noise-768x512", "landscape-512x768"],
)
def test_benign_images_pass_the_default_check(checker: NudeNetChecker, image: Image.Image) -> None:
    verdict = checker.check(raw(image))
    assert verdict.safe, verdict
    assert verdict.labels == ()
    assert verdict.score < checker.threshold
    assert verdict.checker == "nudenet"


@pytest.mark.parametrize("name", ["china.jpg", "flower.jpg"])
def test_real_photos_without_people_pass(checker: NudeNetChecker, name: str) -> None:
    path = bundled_photo(name)
    # scikit-learn comes with the `moderation` extra, which the test command installs: a missing
    # photo is a broken install here, never a reason to skip.
    assert path is not None, "scikit-learn's sample photos are not installed"
    with Image.open(path) as photo:
        verdict = checker.check(raw(photo))
    assert verdict == ImageSafetyVerdict(safe=True, score=0.0, labels=(), checker="nudenet")


def test_a_label_scoring_above_the_threshold_is_flagged(face_score: float) -> None:
    verdict = NudeNetChecker(threshold=face_score - 0.05, unsafe_labels=FACES).check(raw(drawn_face()))
    assert verdict == ImageSafetyVerdict(
        safe=False, score=face_score, labels=("FACE_FEMALE",), checker="nudenet"
    )


def test_a_score_equal_to_the_threshold_is_flagged(face_score: float) -> None:
    verdict = NudeNetChecker(threshold=face_score, unsafe_labels=FACES).check(raw(drawn_face()))
    assert not verdict.safe


def test_a_label_scoring_below_the_threshold_passes_but_its_score_is_reported(face_score: float) -> None:
    verdict = NudeNetChecker(threshold=face_score + 0.05, unsafe_labels=FACES).check(raw(drawn_face()))
    assert verdict == ImageSafetyVerdict(safe=True, score=face_score, labels=(), checker="nudenet")


def test_a_per_label_threshold_overrides_the_default(face_score: float) -> None:
    image = raw(drawn_face())
    stricter = NudeNetChecker(
        threshold=1.0, unsafe_labels=FACES, thresholds={"FACE_FEMALE": face_score - 0.05}
    )
    laxer = NudeNetChecker(threshold=0.0, unsafe_labels=FACES, thresholds={"FACE_FEMALE": face_score + 0.05})
    assert stricter.check(image).labels == ("FACE_FEMALE",)
    assert laxer.check(image).safe


def test_labels_outside_the_unsafe_set_are_ignored(face_score: float) -> None:
    verdict = NudeNetChecker(threshold=0.0).check(raw(drawn_face()))
    assert verdict == ImageSafetyVerdict(safe=True, score=0.0, labels=(), checker="nudenet")


@pytest.mark.parametrize(("width", "height"), [(768, 512), (512, 768)])
def test_non_square_images_are_read_the_right_way_round(face_score: float, width: int, height: int) -> None:
    # rows and columns mixed up would scramble the face: it is found only if the layout is right
    canvas = Image.new("RGB", (width, height), (90, 140, 200))
    canvas.paste(drawn_face(), ((width - 512) // 2, (height - 512) // 2))
    verdict = NudeNetChecker(threshold=0.0, unsafe_labels=FACES).check(raw(canvas))
    assert verdict.labels == ("FACE_FEMALE",), verdict
    assert verdict.score == pytest.approx(face_score, abs=0.2)


def test_a_wrong_pixel_length_is_refused(checker: NudeNetChecker) -> None:
    with pytest.raises(ValueError, match="bytes"):
        checker.check(RawImage(768, 512, bytes(512 * 512 * 3)))
    with pytest.raises(ValueError, match="positive"):
        checker.check(RawImage(0, 512, b""))


def test_concurrent_first_checks_share_one_detector() -> None:
    c = NudeNetChecker()
    image = raw(landscape())
    results: list[ImageSafetyVerdict] = []
    start = threading.Barrier(6)

    def run() -> None:
        start.wait()
        results.append(c.check(image))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and len(set(results)) == 1
    detector = c._detector
    c.load()
    assert c._detector is detector


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 1.5}, "between 0 and 1"),
        ({"threshold": -0.1}, "between 0 and 1"),
        ({"thresholds": {"ANUS_EXPOSED": 2.0}}, "between 0 and 1"),
        ({"unsafe_labels": frozenset()}, "at least one label"),
        ({"unsafe_labels": frozenset({"NIPPLE"})}, "unknown NudeNet labels: NIPPLE"),
        ({"thresholds": {"FACE_FEMALE": 0.3}}, "not unsafe: FACE_FEMALE"),
        ({"threads": 0}, "threads"),
    ],
)
def test_a_bad_configuration_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        NudeNetChecker(**kwargs)  # type: ignore[arg-type]


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    built = NudeNetChecker()  # before the extra "goes missing"
    monkeypatch.setitem(sys.modules, "nudenet", None)  # `import nudenet` now raises ImportError
    with pytest.raises(ImportError, match=r"`safety` extra"):
        NudeNetChecker()
    with pytest.raises(ImportError, match=r"`safety` extra"):
        built.load()


def test_no_image_check_passes_everything() -> None:
    check = NoImageCheck()
    assert check.name == "none"
    assert check.check(raw(noise())) == ImageSafetyVerdict(safe=True, score=0.0, labels=(), checker="none")
