"""Several models in one worker: one pipeline per model name, loaded on first use, the least
recently used unloaded when the loaded ones together pass a memory budget (the one in use is
never unloaded). Each job's parameters name its model; a batch has one model (it is part of the
batch key)."""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from nexus_image.adapters.diffusers.generator import DiffusersGenerator, GeneratorOptions
from nexus_image.application.errors import GenerationError
from nexus_image.application.ports import RawImage, RenderSpec, StepCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a model's weights are: a diffusers folder, a checkpoint file or a hub id (None:
    the tiny random pipeline), and the config folder a checkpoint file is read with, if any."""

    location: str | None
    config: str | None = None


Locate = Callable[[str], ModelSource]  # raises GenerationError for a model not served here


class ModelPipelines:
    """The ImageGenerator (with batches and loading ahead) over the models `locate` finds.
    `default` names the model of a job that names none (jobs from before models had names)."""

    def __init__(
        self,
        options: GeneratorOptions,
        locate: Locate,
        default: Callable[[], str],
        memory_budget_bytes: int | None = None,
    ) -> None:
        self.options = options
        self.locate = locate
        self.default = default
        self.memory_budget_bytes = memory_budget_bytes
        self._loaded: OrderedDict[str, DiffusersGenerator] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self.default()

    @property
    def loaded(self) -> list[str]:
        """The models whose pipelines are in memory, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def load(self) -> None:
        """Load the default model ahead of the first job."""
        self._generator(self.default()).load()

    def generator_for(self, name: str | None) -> DiffusersGenerator:
        return self._generator(name or self.default())

    def _generator(self, name: str) -> DiffusersGenerator:
        with self._lock:
            found = self._loaded.get(name)
            if found is not None:
                self._loaded.move_to_end(name)
                return found
            source = self.locate(name)
            made = DiffusersGenerator(
                replace(self.options, model=source.location, model_config=source.config)
            )
            made.label = name
            self._loaded[name] = made
        try:
            made.load()
        except Exception:
            with self._lock:
                self._loaded.pop(name, None)
            raise
        self._within_budget(keep=name)
        return made

    def _within_budget(self, keep: str) -> None:
        """Unload the least recently used pipelines while the loaded ones pass the budget."""
        if self.memory_budget_bytes is None:
            return
        with self._lock:
            while len(self._loaded) > 1:
                total = sum(g.memory_bytes() for g in self._loaded.values())
                if total <= self.memory_budget_bytes:
                    return
                oldest = next(n for n in self._loaded if n != keep)
                self._loaded.pop(oldest).unload()
                log.info("model %s unloaded (memory budget %d MiB)", oldest, self.memory_budget_bytes >> 20)
                gc.collect()

    def generate(self, spec: RenderSpec, on_step: StepCallback) -> RawImage:
        return self.generate_batch([spec], on_step)[0]

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        names = {spec.parameters.model or self.default() for spec in specs}
        if len(names) > 1:
            raise GenerationError(f"one batch, one model: got {sorted(names)}")
        return self._generator(names.pop()).generate_batch(specs, on_step)
