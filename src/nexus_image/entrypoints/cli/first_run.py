"""A first run with no model installed: offer to pull the starter model (Stable Diffusion 1.5)
from the hub, and pull it in the background while the studio serves on the tiny pipeline. The
studio shows the download (it reads the store's status file) and the new model is offered, and
used, as soon as it is installed: no restart.

NEXUS_IMAGE_FIRST_RUN_PULL chooses: `yes`, `no`, or `ask` (the default): asked once on a
terminal (the answer is kept in the model folder), never asked without one (then it is no)."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from nexus_image.entrypoints.composition import builders
from nexus_image.entrypoints.composition.builders import ModelError
from nexus_image.entrypoints.settings import Settings

log = logging.getLogger(__name__)

ANSWER_FILE = "first-run-answer"  # in the model folder: "yes" or "no", once asked
PROBE_SECONDS = 5.0


def needs_model(settings: Settings) -> bool:
    """Nothing would draw real images: no model configured, named or installed."""
    return not settings.model and not settings.model_names and not builders.model_store(settings).list()


def decide(
    choice: str, remembered: str | None, terminal: bool, ask: Callable[[str], str], question: str
) -> bool:
    """Whether to pull: `yes`/`no` as set; `ask`: the answer given once before, else the
    person's at a terminal (empty or y/yes: yes), else no."""
    if choice != "ask":
        return choice == "yes"
    if remembered in ("yes", "no"):
        return remembered == "yes"
    if not terminal:
        return False
    try:
        answer = ask(question).strip().lower()
    except EOFError:
        return False
    return answer in ("", "y", "yes")


def _size(gigabytes: float) -> str:
    return f"{gigabytes:.1f} GB"


def offer_starter_model(
    settings: Settings,
    ask: Callable[[str], str] = input,
    terminal: bool | None = None,
    out: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> threading.Thread | None:
    """Starts pulling the starter model in a background thread (returned) where nothing is
    installed, the setting (or the person) says yes and the hub answers; None otherwise."""
    if not needs_model(settings):
        return None
    store = builders.model_store(settings)
    terminal = sys.stdin.isatty() and sys.stderr.isatty() if terminal is None else terminal
    repo, variant = settings.starter_model, settings.starter_variant
    answer_file = store.root / ANSWER_FILE
    remembered = answer_file.read_text().strip() if answer_file.is_file() else None
    if not decide(settings.first_run_pull, remembered, terminal, lambda question: "", ""):
        return None  # no, whatever the hub says: it is not asked
    try:
        endpoint, total = builders.starter_model_size(settings, PROBE_SECONDS)
    except (ModelError, ValueError) as error:
        out(f"note: no model installed, and the starter model {repo} cannot be fetched: {error}")
        return None
    question = (
        f"No model is installed, so images would be noise. Download {repo} "
        f"({_size(total / 1e9)}) from {endpoint} now, in the background? [Y/n] "
    )
    chosen = decide(settings.first_run_pull, remembered, terminal, ask, question)
    if settings.first_run_pull == "ask" and terminal and remembered is None:
        store.root.mkdir(parents=True, exist_ok=True)
        answer_file.write_text("yes\n" if chosen else "no\n")
    if not chosen:
        return None
    out(f"downloading {repo} ({_size(total / 1e9)}) in the background: the studio shows how far it got")
    thread = threading.Thread(
        target=_pull,
        args=(builders.model_pull(settings), repo, variant, out),
        name="starter-model-pull",
        daemon=True,
    )
    thread.start()
    return thread


def _pull(pull: Callable[..., Any], repo: str, variant: str | None, out: Callable[[str], None]) -> None:
    try:
        model = pull(repo, variant=variant)
    except ModelError as error:
        out(f"error: the starter model was not installed: {error}")
        return
    except Exception:
        log.exception("the starter model was not installed")
        return
    out(f"model {model.name} installed: new images use it")
