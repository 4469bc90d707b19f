"""Models: how fast a pull installs a model from a hub on loopback (download, checksum of every
file, one rename), how much a resumed pull fetches again, and what switching between two models
costs in one worker when both pipelines stay loaded vs when the memory budget holds only one.

    PYTHONPATH=src:. python benchmarks/models.py --weight-mb 64 --switches 20

The hub is the test suite's emulator (tests/support/hub.py) serving a repository shaped like
Stable Diffusion's (random bytes for weights: nothing loads them); the switching runs the tiny
random pipelines (tests/support/models.py) on this machine's CPU, one image of 512x512 in 2 steps
each, alternating between the two models."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.hub import HubEmulator, fake_pipeline
from tests.support.models import install_models

from nexus_image.adapters.diffusers import GeneratorOptions
from nexus_image.adapters.diffusers.pool import ModelPipelines, ModelSource
from nexus_image.adapters.models.hub import HubClient
from nexus_image.adapters.models.install import pull
from nexus_image.adapters.models.progress import NoProgress
from nexus_image.adapters.models.store import ModelStore
from nexus_image.application.ports import RenderSpec
from nexus_image.domain.parameters import GenerationParameters


class _Cut(Exception):
    pass


class _Seen(NoProgress):
    """What a pull found already downloaded when it started."""

    def __init__(self) -> None:
        self.total = self.already = 0

    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None:
        self.total, self.already = total_bytes, done_bytes


class _CutHalfWay(NoProgress):
    """Stops a pull once half its bytes have arrived (an interrupted download)."""

    def __init__(self) -> None:
        self.total = self.done = 0

    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None:
        self.total, self.done = total_bytes, done_bytes

    def advanced(self, n_bytes: int) -> None:
        self.done += n_bytes
        if self.done >= self.total // 2:
            raise _Cut


def pulls(root: Path, weight_mb: int) -> None:
    repo = fake_pipeline(root / "repo", weight_size=weight_mb << 20)
    with HubEmulator({"bench/sd": repo}, cdn_host=None) as hub:
        store = ModelStore(root / "models")
        began = time.perf_counter()
        model = pull(store, "bench/sd", hub=HubClient(hub.url))
        seconds = time.perf_counter() - began
        print(
            f"pull: {model.size / 2**20:.0f} MiB installed in {seconds:.2f} s = {model.size / 2**20 / seconds:.0f} MiB/s"
        )

        other = ModelStore(root / "other")
        try:
            pull(other, "bench/sd", hub=HubClient(hub.url), progress=_CutHalfWay())
        except _Cut:
            pass
        hub.requests.clear()
        seen = _Seen()
        began = time.perf_counter()
        pull(other, "bench/sd", hub=HubClient(hub.url), progress=seen)
        seconds = time.perf_counter() - began
        ranged = [r for r in hub.file_requests() if r.range]
        print(
            f"resumed pull: {seconds:.2f} s after an interruption at half way; "
            f"{seen.already / 2**20:.0f} of {seen.total / 2**20:.0f} MiB kept "
            f"({seen.already / seen.total:.0%}), {len(ranged)} file(s) resumed with a Range request"
        )


def switching(root: Path, switches: int) -> None:
    folders = install_models(root / "models", root / "sources", {"alpha": 0, "beta": 1})
    store = ModelStore(root / "models")

    def locate(name: str) -> ModelSource:
        found = store.get(name)
        assert found is not None
        return ModelSource(str(found.path))

    params = {
        n: GenerationParameters.create(prompt="a lighthouse", seed=1, steps=2, model=n) for n in folders
    }
    specs = {n: RenderSpec(p, *p.styled_prompts(), p.width, p.height) for n, p in params.items()}
    results = {}
    for label, budget in (("both kept", 1 << 40), ("one at a time", 1)):
        pool = ModelPipelines(
            GeneratorOptions(cache_dir=root / "cache", threads=2), locate, lambda: "alpha", budget
        )
        pool.generate(specs["alpha"], lambda s, t: True)
        pool.generate(specs["beta"], lambda s, t: True)
        times = []
        for index in range(switches):
            name = "alpha" if index % 2 == 0 else "beta"
            began = time.perf_counter()
            pool.generate(specs[name], lambda s, t: True)
            times.append(time.perf_counter() - began)
        results[label] = statistics.median(times)
        print(
            f"switching, {label}: median {results[label] * 1000:.0f} ms per image ({switches} images, models alternating)"
        )
    print(f"ratio one-at-a-time / both-kept: {results['one at a time'] / results['both kept']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weight-mb", type=int, default=64, help="size of each weight file")
    parser.add_argument("--switches", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        pulls(root / "pulls", args.weight_mb)
        switching(root / "switching", args.switches)


if __name__ == "__main__":
    main()
