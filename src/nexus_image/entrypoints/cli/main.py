"""`nexus-image`: generate images locally and run the service's processes."""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from nexus_image.application.dto import GenerateImage
from nexus_image.application.errors import Conflict, NotFound, PromptRejected
from nexus_image.domain.errors import DomainError, InvalidValue
from nexus_image.domain.parameters import Scheduler
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style

LOCAL_USER = "local"
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

RANDOM_MODEL_NOTICE = (
    "note: no model configured (NEXUS_IMAGE_MODEL): using a tiny pipeline with random weights, "
    "so the image is noise. Point NEXUS_IMAGE_MODEL at a Stable Diffusion 1.5 folder or "
    ".safetensors file for real images."
)


# Modules under entrypoints/cli that add their own commands: each has `register(commands)`,
# which adds subparsers and sets `handler` on them with `set_defaults(handler=...)`.
COMMAND_MODULES: tuple[str, ...] = ("worker", "admin", "serve")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nexus-image", description="Multi-user Stable Diffusion image generation."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"nexus_image.entrypoints.cli.{name}").register(commands)

    gen = commands.add_parser("generate", help="generate one image locally (embedded mode)")
    gen.add_argument("prompt")
    gen.add_argument("--style", default="realistic", help=f"one of: {', '.join(s.value for s in Style)}")
    gen.add_argument(
        "--resolution", default="512x512", help=f"one of: {', '.join(r.value for r in Resolution)}"
    )
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--negative-prompt", default=None)
    gen.add_argument("--steps", type=int, default=None)
    gen.add_argument("--guidance", type=float, default=None)
    gen.add_argument("--scheduler", default=None, help=f"one of: {', '.join(s.value for s in Scheduler)}")
    gen.add_argument("--out", type=Path, default=None, help="also copy the PNG here")
    gen.add_argument("--user", default=LOCAL_USER, help=argparse.SUPPRESS)
    gen.set_defaults(handler=cmd_generate)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_generate(args: argparse.Namespace) -> int:
    from nexus_image.entrypoints.cli.progress import ProgressBar
    from nexus_image.entrypoints.composition import compose
    from nexus_image.entrypoints.settings import Settings

    settings = Settings()
    if settings.model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app = compose("cli", settings, live_events=ProgressBar())
    try:
        return _generate(app, args)
    finally:
        app.close()


def _generate(app: Any, args: argparse.Namespace) -> int:
    settings, service = app.settings, app.service
    command = GenerateImage(
        user_id=args.user,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        style=args.style,
        resolution=args.resolution,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        scheduler=args.scheduler,
    )
    try:
        job = service.request_generation(command)
    except InvalidValue as error:
        return _fail(error.message, EXIT_BAD_INPUT)
    except (DomainError, PromptRejected, Conflict) as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    if settings.model is None:
        print(RANDOM_MODEL_NOTICE, file=sys.stderr)
    print(
        f"job {job.id}: {job.resolution}, style {job.style}, seed {job.seed}, {job.tokens_cost} tokens",
        file=sys.stderr,
    )
    # Jobs an earlier interrupted run left queued come out of the outbox too: run them all.
    app.run_queued()
    try:
        view = service.get_image(args.user, job.id)
    except NotFound as error:  # pragma: no cover - the job was just created
        return _fail(str(error), EXIT_FAILED)
    if view.status != "COMPLETED":
        return _fail(
            f"generation {view.status.lower()}: {view.failure_reason or 'no reason given'}", EXIT_FAILED
        )
    image, _ = service.images.content(args.user, job.id)
    image_path = _local_path(view.storage_url)
    thumb_path = _local_path(view.thumbnail_url)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image_path, args.out)
        image_path = args.out.resolve()
    balance = service.tokens.balance(args.user).balance
    print(f"image: {image_path} ({len(image)} bytes, {view.width}x{view.height})")
    print(f"thumbnail: {thumb_path}")
    print(f"tokens left: {balance}", file=sys.stderr)
    return 0


def _local_path(url: str | None) -> Path:
    if url is None or not url.startswith("file://"):
        raise RuntimeError(f"embedded storage returned a non-file URL: {url}")
    return Path(unquote(urlparse(url).path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
