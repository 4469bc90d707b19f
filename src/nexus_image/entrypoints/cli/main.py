"""`nexus-image`: generate images locally and run the service's processes."""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from nexus_image.application.dto import GenerateImage
from nexus_image.application.errors import Conflict, NotFound, PromptRejected, UserQueueFull
from nexus_image.domain.errors import DomainError, InsufficientTokens, InvalidValue
from nexus_image.domain.parameters import (
    MAX_PROMPT_LENGTH,
    MODEL_NAME,
    Fallback,
    FieldDescription,
    Kind,
    parameter_fields,
)
from nexus_image.domain.resolution import Resolution, price
from nexus_image.domain.styles import Style, preset_for

LOCAL_USER = "local"
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

RANDOM_MODEL_NOTICE = (
    "note: no model installed: using a tiny pipeline with random weights, so the image is noise. "
    "For real images: `nexus-image models pull stable-diffusion-v1-5/stable-diffusion-v1-5 "
    "--variant fp16`, or `nexus-image models add FILE.safetensors`."
)


# Modules under entrypoints/cli that add their own commands: each has `register(commands)`,
# which adds subparsers and sets `handler` on them with `set_defaults(handler=...)`.
COMMAND_MODULES: tuple[str, ...] = ("worker", "admin", "serve", "queue", "keys", "models")


def _version() -> str:
    try:
        return metadata.version("nexus-image")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        from nexus_image import __version__

        return __version__


def _choices(values: Sequence[str], default: str) -> str:
    return ", ".join(f"{value} (default)" if value == default else value for value in values)


def _option(parser: argparse.ArgumentParser, description: FieldDescription) -> None:
    """One option of `generate`, from a field's declaration (absent: the field's default)."""
    param, name = description.param, description.name
    kinds: dict[Kind, Any] = {Kind.INTEGER: int, Kind.NUMBER: float}
    words = param.help
    if param.choices is not None:
        default = description.default.value if isinstance(description.default, StrEnum) else ""
        words = f"{words} One of: {_choices([c.value for c in param.choices], default)}"
    if param.fallback is Fallback.STYLE:
        found = ", ".join(f"{style.value} {getattr(preset_for(style), name)}" for style in Style)
        words = f"{words} (the style's: {found})"
    if param.kind is Kind.FLAG:  # --tiling / --no-tiling
        flag = argparse.BooleanOptionalAction
        parser.add_argument(f"--{name.replace('_', '-')}", action=flag, default=None, help=words)
        return
    parser.add_argument(
        f"--{name.replace('_', '-')}", type=kinds.get(param.kind, str), default=None, help=words
    )


GENERATE_DESCRIPTION = (
    "Generates one image in this process (embedded mode: SQLite, files and models under "
    "NEXUS_IMAGE_DATA_DIR) for the local user 'local', and prints where the PNG and its thumbnail are. "
    "Without a model (--model or NEXUS_IMAGE_MODEL) the image is noise: it comes from a tiny "
    "Stable-Diffusion-shaped pipeline with random weights, built and cached on first use."
)
GENERATE_EPILOG = (
    "Each image costs tokens by resolution ("
    + ", ".join(f"{r.value} {price(r)}" for r in Resolution)
    + f"); top up with: nexus-image tokens grant {LOCAL_USER} N. Bad input exits 2 with one line, "
    "nothing charged."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nexus-image", description="Multi-user Stable Diffusion image generation."
    )
    parser.add_argument("--version", action="version", version=f"nexus-image {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"nexus_image.entrypoints.cli.{name}").register(commands)

    gen = commands.add_parser(
        "generate",
        help="generate one image locally (embedded mode)",
        description=GENERATE_DESCRIPTION,
        epilog=GENERATE_EPILOG,
    )
    gen.add_argument(
        "prompt",
        help=f"what to draw: 1 to {MAX_PROMPT_LENGTH} characters (runs of whitespace count as one); "
        "the style adds its own words; the model reads it whole, in chunks of 75 CLIP tokens, with "
        "AUTOMATIC1111's weights: (word:1.3), (word), [word], BREAK",
    )
    for description in parameter_fields():
        if description.param.cli:
            _option(gen, description)
    gen.add_argument(
        "--model",
        default=None,
        help="the model: the name of an installed one (nexus-image models list), or for this run a "
        "Stable Diffusion 1.x diffusers folder, .safetensors/.ckpt file or hub id (default: "
        "NEXUS_IMAGE_MODEL, else the default installed model, else the tiny random pipeline, whose "
        "images are noise)",
    )
    gen.add_argument(
        "--out", type=Path, default=None, help="also copy the PNG here (default: only in the data dir)"
    )
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
    if args.model and _location(args.model):  # a location, not an installed model's name
        settings = Settings(model=args.model)
        args.model = None
    if settings.model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app = compose("cli", settings, live_events=ProgressBar())
    try:
        return _generate(app, args)
    finally:
        app.close()


def _location(model: str) -> bool:
    """A folder, a checkpoint file or a hub id, rather than an installed model's name."""
    return (
        not MODEL_NAME.fullmatch(model) or model.endswith((".safetensors", ".ckpt")) or Path(model).exists()
    )


def _generate(app: Any, args: argparse.Namespace) -> int:
    queries = app.image_queries
    given = {d.name: getattr(args, d.name) for d in parameter_fields() if d.param.cli}
    command = GenerateImage(args.user, args.prompt, model=args.model, **given)
    try:
        job = app.request_generation.execute(command)
    except InvalidValue as error:
        return _fail(error.message, EXIT_BAD_INPUT)
    except InsufficientTokens as error:
        return _fail(f"{error}; add tokens with: {top_up_command(args.user)}", EXIT_BAD_INPUT)
    except (DomainError, PromptRejected, Conflict, UserQueueFull) as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    offered = app.container.model_catalog().offered()
    if any(m.random and m.name == job.parameters.model for m in offered):
        print(RANDOM_MODEL_NOTICE, file=sys.stderr)
    print(
        f"job {job.id}: {job.parameters.resolution}, style {job.parameters.style}, "
        f"seed {job.parameters.seed}, {job.tokens_cost} tokens",
        file=sys.stderr,
    )
    # Jobs an earlier interrupted run left queued come out of the outbox too: run them all.
    app.run_queued()
    try:
        view = queries.get(args.user, job.id)
    except NotFound as error:  # pragma: no cover - the job was just created
        return _fail(str(error), EXIT_FAILED)
    if view.status != "COMPLETED":
        return _fail(
            f"generation {view.status.lower()}: {view.failure_reason or 'no reason given'}", EXIT_FAILED
        )
    image, _ = queries.content(args.user, job.id)
    image_path = _local_path(view.storage_url)
    thumb_path = _local_path(view.thumbnail_url)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image_path, args.out)
        image_path = args.out.resolve()
    balance = app.manage_tokens.balance(args.user).balance
    print(f"image: {image_path} ({len(image)} bytes, {view.width}x{view.height})")
    print(f"thumbnail: {thumb_path}")
    print(f"tokens left: {balance}", file=sys.stderr)
    return 0


def top_up_command(user: str, amount: int = 100) -> str:
    """The admin command that adds tokens to `user`'s account (see admin.py: `tokens grant`)."""
    return f"nexus-image tokens grant {shlex.quote(user)} {amount}"


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
