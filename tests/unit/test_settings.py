"""Settings that configure the generator's speed-ups are checked when read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nexus_image.entrypoints.settings import Settings


def test_warm_up_resolutions_are_sizes_the_pipeline_can_render() -> None:
    assert Settings(warm_up_resolutions="512x512, 768x768").warm_up_resolutions == "512x512, 768x768"
    for bad in ("512", "512x500", "axb", "512x512,huge"):
        with pytest.raises(ValidationError, match="WIDTHxHEIGHT"):
            Settings(warm_up_resolutions=bad)


def test_the_speed_ups_default_to_where_they_pay() -> None:
    settings = Settings()
    assert (settings.channels_last, settings.fuse_qkv, settings.compile) == (None, None, "none")
    with pytest.raises(ValidationError):
        Settings(compile="everything")  # type: ignore[arg-type]
