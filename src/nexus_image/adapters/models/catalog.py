"""The models a deployment offers, by name: the operator's list where one is configured (an API
replica holds no model files), else what is installed in the model store; with nothing
installed, the tiny random-weight pipeline stands in (its images are noise)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nexus_image.adapters.models.store import InstalledModel, ModelStore
from nexus_image.application.ports import OfferedModel
from nexus_image.domain.parameters import MODEL_NAME


def name_for(location: str) -> str:
    """A model name made from a path or hub id (its last part, lower case, other characters
    as '-'), for a model configured by location rather than installed by name."""
    stem = Path(location.rstrip("/")).name
    for suffix in (".safetensors", ".ckpt"):
        stem = stem.removesuffix(suffix)
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")[:64] or "model"
    return name if MODEL_NAME.fullmatch(name) else f"m{name}"[:64]


@dataclass(frozen=True, slots=True)
class ConfiguredModel:
    """A model given by location in the settings (NEXUS_IMAGE_MODEL: a folder, a checkpoint
    file or a hub id), offered under a name made from it, as the default."""

    name: str
    location: str

    @classmethod
    def of(cls, location: str | None) -> ConfiguredModel | None:
        return cls(name_for(location), location) if location else None


class ModelOffer:
    """The ModelCatalog port. `names` (the operator's list, default first unless `default` says
    otherwise) wins when given; else the store's installed models, the configured one first."""

    def __init__(
        self,
        store: ModelStore,
        names: tuple[str, ...] = (),
        default: str | None = None,
        configured: ConfiguredModel | None = None,
        stand_in: str = "tiny-sd15-random",
    ) -> None:
        self.store = store
        self.stand_in = stand_in  # offered, with random weights, while nothing is installed
        self.names = names
        self.default = default
        self.configured = configured

    def offered(self) -> list[OfferedModel]:
        if self.names:
            named = self.default if self.default in self.names else self.names[0]
            return [OfferedModel(name, default=name == named) for name in self.names]
        installed = self.store.list()
        if self.configured is not None:
            first = OfferedModel(self.configured.name, default=True, source="configured")
            return [first, *(_offer(m, False) for m in installed if m.name != first.name)]
        if not installed:
            return [OfferedModel(self.stand_in, default=True, source="built-in", random=True)]
        chosen = self.default if self.default and self.store.get(self.default) else self.store.default()
        return [_offer(m, m.name == chosen) for m in installed]


def _offer(model: InstalledModel, default: bool) -> OfferedModel:
    """As users may see it: a file or folder by its name only (a server's paths stay there)."""
    kind, _, where = model.source.partition(":")
    source = model.source if kind == "hub" else f"{kind}:{Path(where).name}"
    return OfferedModel(model.name, default, source, model.revision, model.size)
