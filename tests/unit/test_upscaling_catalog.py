"""The upscaler catalog and the ESRGAN key layouts, read from names and shapes alone (no torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nexus_image.adapters.upscaling import UpscalerFolder
from nexus_image.adapters.upscaling.layout import (
    Architecture,
    NotEsrgan,
    canonical,
    read_architecture,
    unwrap,
)
from nexus_image.application.ports import LANCZOS, UpscalerInfo
from nexus_image.domain.errors import InvalidValue, UnknownUpscaler
from tests.support.esrgan import esrgan_shapes, write_header_only

LANCZOS_INFO = UpscalerInfo(LANCZOS, None, "lanczos", None)


@pytest.mark.parametrize("upsamplings", [0, 1, 2, 3])
def test_the_three_layouts_name_the_same_network(upsamplings: int) -> None:
    named = canonical(esrgan_shapes("basicsr", upsamplings=upsamplings))

    assert canonical(esrgan_shapes("esrgan", upsamplings=upsamplings)) == named
    assert canonical(esrgan_shapes("bsrgan", upsamplings=upsamplings)) == named
    assert {k for k in named if k.startswith("conv_up")} == {
        f"conv_up{n}.{kind}" for n in range(1, upsamplings + 1) for kind in ("weight", "bias")
    }
    assert read_architecture(named) == Architecture(16, 8, 2, upsamplings, 1, 3, 3)


@pytest.mark.parametrize(("first_in", "scale", "unshuffle"), [(3, 4, 1), (12, 2, 2), (48, 1, 4)])
def test_real_esrgan_x2_and_x1_fold_pixels_into_the_first_convolution(
    first_in: int, scale: int, unshuffle: int
) -> None:
    architecture = read_architecture(
        canonical(esrgan_shapes(features=32, growth=4, blocks=3, first_in=first_in))
    )

    assert (architecture.scale, architecture.unshuffle, architecture.in_channels) == (scale, unshuffle, 3)
    assert (architecture.features, architecture.growth, architecture.blocks) == (32, 4, 3)


def test_basicsr_wrappers_are_unwrapped_preferring_the_averaged_weights() -> None:
    assert unwrap({"params": {"a": 1}, "params_ema": {"a": 2}}) == {"a": 2}
    assert unwrap({"params": {"a": 1}}) == {"a": 1}
    assert unwrap({"model.0.weight": 3}) == {"model.0.weight": 3}


def test_other_networks_are_not_taken_for_esrgan() -> None:
    unet = {"conv_in.weight": (320, 4, 3, 3), "time_embedding.linear_1.weight": (1280, 320)}
    with pytest.raises(NotEsrgan):
        canonical(unet)
    with pytest.raises(NotEsrgan, match="unexpected key"):
        canonical({**esrgan_shapes(), "layers.0.attn.qkv.weight": (3, 3)})
    with pytest.raises(NotEsrgan, match="only RGB"):
        read_architecture(canonical(esrgan_shapes(first_in=4, out=4)))  # RGBA: not offered, not run
    with pytest.raises(NotEsrgan, match="missing layer"):
        read_architecture({k: v for k, v in canonical(esrgan_shapes()).items() if not k.startswith("body.")})


def test_no_folder_offers_lanczos_alone(tmp_path: Path) -> None:
    assert UpscalerFolder(None).available() == [LANCZOS_INFO]
    assert UpscalerFolder(tmp_path / "missing").available() == [LANCZOS_INFO]
    assert UpscalerFolder(None).locate(LANCZOS) is None


def test_listing_and_lanczos_need_no_torch(tmp_path: Path) -> None:
    """The API role lists the upscalers; it may have no torch installed."""
    write_header_only(tmp_path / "4x.safetensors", esrgan_shapes())
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from nexus_image.adapters.upscaling import FolderUpscaler, UpscalerFolder\n"
        "from nexus_image.application.ports import RawImage\n"
        f"upscaler = FolderUpscaler(UpscalerFolder(Path({str(tmp_path)!r})))\n"
        "assert [i.scale for i in upscaler.available()] == [None, 4]\n"
        "assert upscaler.upscale(RawImage(2, 1, bytes(6)), 2, 'lanczos').width == 4\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_the_folder_offers_its_esrgan_files_by_name(tmp_path: Path) -> None:
    x4 = write_header_only(tmp_path / "4x-Sharp.safetensors", esrgan_shapes())
    write_header_only(tmp_path / "RealESRGAN_x2plus.safetensors", esrgan_shapes("basicsr", first_in=12))
    (tmp_path / "old-esrgan.pth").write_bytes(b"not read until used")
    write_header_only(tmp_path / "unet.safetensors", {"conv_in.weight": (320, 4, 3, 3)})  # not an upscaler
    write_header_only(tmp_path / "rgba.safetensors", esrgan_shapes(first_in=4, out=4))  # not RGB
    (tmp_path / "-hidden.pth").write_bytes(b"x")  # not a valid name
    (tmp_path / "lanczos.pth").write_bytes(b"x")  # the built-in keeps its name
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub.pth").mkdir()

    offered = UpscalerFolder(tmp_path).available()

    assert offered == [
        LANCZOS_INFO,
        UpscalerInfo("4x-Sharp", 4, "esrgan", x4.stat().st_size),
        UpscalerInfo(
            "RealESRGAN_x2plus", 2, "esrgan", (tmp_path / "RealESRGAN_x2plus.safetensors").stat().st_size
        ),
        UpscalerInfo("old-esrgan", None, "esrgan", len(b"not read until used")),
    ]
    assert UpscalerFolder(tmp_path).locate("4x-Sharp") == x4


def test_a_name_with_both_files_is_its_safetensors(tmp_path: Path) -> None:
    (tmp_path / "both.pth").write_bytes(b"x")
    chosen = write_header_only(tmp_path / "both.safetensors", esrgan_shapes(upsamplings=1))

    assert [i.name for i in UpscalerFolder(tmp_path).available()] == [LANCZOS, "both"]
    assert UpscalerFolder(tmp_path).locate("both") == chosen


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    folder = UpscalerFolder(tmp_path)
    path = write_header_only(tmp_path / "model.safetensors", esrgan_shapes(upsamplings=2))
    assert folder.available()[1].scale == 4

    write_header_only(path, esrgan_shapes(upsamplings=1, blocks=1))

    assert folder.available()[1].scale == 2


@pytest.mark.parametrize("name", ["unet", "missing", "../4x", "4x.safetensors", "", "-hidden"])
def test_names_outside_the_list_are_refused_with_the_list(tmp_path: Path, name: str) -> None:
    write_header_only(tmp_path / "4x.safetensors", esrgan_shapes())
    write_header_only(tmp_path / "unet.safetensors", {"conv_in.weight": (320, 4, 3, 3)})
    (tmp_path / "-hidden.pth").write_bytes(b"x")

    with pytest.raises(UnknownUpscaler) as refused:
        UpscalerFolder(tmp_path).locate(name)

    assert isinstance(refused.value, InvalidValue)
    assert refused.value.field == "upscaler"
    assert refused.value.allowed == (LANCZOS, "4x")
    assert "allowed: lanczos, 4x" in str(refused.value)
