"""Integration tests use real components: the diffusers pipeline, and real servers where needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_folder(model_cache: Path) -> Path:
    from nexus_image.adapters.diffusers.tiny import ensure_tiny_pipeline

    return ensure_tiny_pipeline(model_cache)
