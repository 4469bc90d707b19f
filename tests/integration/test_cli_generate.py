"""The README's run path: `nexus-image generate` in a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.integration


def test_generate_writes_png_of_the_asked_size_and_a_thumbnail(tmp_path: Path) -> None:
    env = {**os.environ, "NEXUS_IMAGE_DATA_DIR": str(tmp_path / "data"), "NEXUS_IMAGE_THREADS": "2"}
    out = tmp_path / "dragon.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nexus_image.entrypoints.cli.main",
            "generate",
            "a dragon over a castle",
            "--style",
            "anime",
            "--resolution",
            "768x768",
            "--seed",
            "42",
            "--steps",
            "4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "random weights" in result.stderr
    with Image.open(out) as image:
        assert image.size == (768, 768)
        assert image.text["seed"] == "42"  # type: ignore[attr-defined]
    thumb_line = next(line for line in result.stdout.splitlines() if line.startswith("thumbnail: "))
    thumb = Path(thumb_line.removeprefix("thumbnail: "))
    with Image.open(thumb) as small:
        assert max(small.size) == 256
    assert "tokens left: 90" in result.stderr
