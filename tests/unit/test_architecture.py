"""The import contracts of pyproject.toml hold for the code, and break when the code breaks them.

`lint-imports` runs in the test command on the real tree; here it runs on a copy of the package
with one violation of each kind planted, to prove that each contract really catches its kind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

VIOLATIONS = {
    # a controller reaching for an adapter instead of asking the composition root
    "entrypoints/http/controllers/tokens.py": "from nexus_image.adapters.memory import InMemoryQueue",
    # a use case leaning on another use case
    "application/tokens.py": "from nexus_image.application.cancel import CancelGeneration",
    # one adapter package using another
    "adapters/kafka/config.py": "from nexus_image.adapters.filesystem import FileStorage",
    # the domain reaching outwards
    "domain/styles.py": "from nexus_image.application.errors import NotFound",
    # a runtime adapter using a test fake
    "adapters/memory/queue.py": "from nexus_image.testing import ManualClock",
    # a test fake leaning on a real adapter other than the in-memory ones
    "testing/fakes.py": "from nexus_image.adapters.sqlalchemy import metadata",
    # one stage of the worker's job leaning on another of its layer
    "application/process_job/finish.py": "from nexus_image.application.process_job.render import batches",
}

BROKEN = (
    "Only the composition root's builders import adapters and test fakes BROKEN",
    "Use cases are independent",
    "Adapter packages are independent of each other BROKEN",
    "Layers point inwards: entrypoints -> adapters -> application -> domain BROKEN",
    "Adapters do not lean on the test fakes BROKEN",
    "The test fakes use the application's ports and the in-memory adapters only BROKEN",
    "The worker's stages: the orchestrator over render and finish (independent of each other), "
    "over claim and the storage retry BROKEN",
)


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "src" / "nexus_image",
        tree / "src" / "nexus_image",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copyfile(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_every_contract_is_kept_by_the_code_and_broken_by_a_planted_violation(tmp_path: Path) -> None:
    tree = copy_of_the_code(tmp_path)
    clean = lint(tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 broken" in clean.stdout

    for relative, line in VIOLATIONS.items():
        module = tree / "src" / "nexus_image" / relative
        module.write_text(module.read_text() + f"\n{line}  # noqa: E402, F401\n")
    broken = lint(tree)
    report = " ".join(broken.stdout.split())
    assert broken.returncode != 0, report
    for contract in BROKEN:
        assert " ".join(contract.split()) in report, contract
    assert f"{len(BROKEN)} broken" in report
