"""The operator's LoRA adapters: the .safetensors files of one folder, by file name."""

from __future__ import annotations

from pathlib import Path

from nexus_image.application.ports import LoraFile
from nexus_image.domain.parameters import LORA_NAME


class LoraFolder:
    """Every `NAME.safetensors` directly in `folder` whose NAME is a valid adapter name (others
    are ignored: they could not be asked for). No folder: no adapters."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def available(self) -> list[LoraFile]:
        if self.folder is None or not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.safetensors"):
            if path.is_file() and LORA_NAME.fullmatch(path.stem):
                found.append(LoraFile(path.stem, path.stat().st_size))
        return sorted(found, key=lambda lora: lora.name)
