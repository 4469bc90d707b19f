"""`nexus-image models pull|add|list|remove|default`: the models installed under the data dir.

`pull` downloads from the Hugging Face hub (HF_ENDPOINT, HF_TOKEN or --token) with a progress
bar on stderr, resuming what an interrupted pull left; the others never touch the network."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from nexus_image.entrypoints.cli.main import EXIT_BAD_INPUT, EXIT_FAILED

SHORT_COMMIT = 8
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


def register(commands: Any) -> None:
    models = commands.add_parser(
        "models", help="install, list and remove Stable Diffusion models (under the data dir)"
    ).add_subparsers(dest="models_command", required=True)
    pull = models.add_parser(
        "pull",
        help="download a model from the Hugging Face hub and install it",
        description="Downloads a diffusers Stable Diffusion repository (only the files the pipeline "
        "loads: one set of weights per component, safetensors first) or a single-checkpoint "
        "repository, checks every file's checksum and installs it. An interrupted pull resumes "
        "where it stopped. The hub is HF_ENDPOINT (default https://huggingface.co).",
    )
    pull.add_argument(
        "repo", metavar="ID[@REVISION]", help="e.g. org/model or org/model@fp16 (default: main)"
    )
    pull.add_argument("--variant", default=None, help="weights variant to prefer, e.g. fp16 (default: none)")
    pull.add_argument("--name", default=None, help="install under this name (default: the repository's name)")
    pull.add_argument("--token", default=None, help="hub access token (default: HF_TOKEN)")
    pull.add_argument("--replace", action="store_true", help="replace a model installed under the same name")
    pull.set_defaults(handler=cmd_models_pull)
    add = models.add_parser(
        "add",
        help="install a local diffusers folder or .safetensors/.ckpt file",
        description="Copies a diffusers folder (with model_index.json) or a single checkpoint file "
        "into the store, or with --link records where it is without copying.",
    )
    add.add_argument("path", type=Path)
    add.add_argument("--name", default=None, help="install under this name (default: from the path)")
    add.add_argument("--link", action="store_true", help="link to the files instead of copying them")
    add.set_defaults(handler=cmd_models_add)
    listing = models.add_parser("list", help="installed models (* marks the default)")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    listing.set_defaults(handler=cmd_models_list)
    remove = models.add_parser("remove", help="delete an installed model (a linked one's files stay)")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_models_remove)
    default = models.add_parser("default", help="show the default model, or make NAME the default")
    default.add_argument("name", nargs="?", default=None)
    default.set_defaults(handler=cmd_models_default)


def human_size(n_bytes: float) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1000:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _guarded(work: Callable[[Any], str]) -> int:
    """Runs `work(store)`, prints what it returns; a model error is one `error:` line."""
    from nexus_image.entrypoints.composition import builders
    from nexus_image.entrypoints.settings import Settings

    try:
        print(work(builders.model_store(Settings())))
    except builders.ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT if error.bad_input else EXIT_FAILED
    return 0


def _described(model: Any) -> str:
    revision = f"@{model.revision[:SHORT_COMMIT]}" if model.revision else ""
    linked = ", linked" if model.linked else ""
    return f"{model.name} ({human_size(model.size)}, {model.source}{revision}{linked}) at {model.path}"


class PullBar:
    """The pull's progress as a tqdm bar on `stream` (bytes, speed, time left)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None

    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total_bytes,
            initial=done_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            desc=f"{files} file{'s' if files != 1 else ''}",
            file=self.stream,
            mininterval=0.2,
            dynamic_ncols=True,
        )

    def advanced(self, n_bytes: int) -> None:
        if self.bar is not None:
            self.bar.update(n_bytes)

    def file_done(self, path: str) -> None:
        pass

    def finished(self) -> None:
        self._close()

    def failed(self, error: str) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_models_pull(args: argparse.Namespace) -> int:
    from nexus_image.entrypoints.composition import builders
    from nexus_image.entrypoints.settings import Settings

    repo_id, _, revision = args.repo.partition("@")

    def work(store: Any) -> str:
        pull = builders.model_pull(Settings(), args.token)
        print(f"pulling {repo_id}@{revision or 'main'}", file=sys.stderr)
        model = pull(
            repo_id, revision or None, args.variant, args.name, replace=args.replace, progress=PullBar()
        )
        return f"installed {_described(model)}"

    try:
        return _guarded(work)
    except KeyboardInterrupt:
        print("error: interrupted; run the same pull again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def cmd_models_add(args: argparse.Namespace) -> int:
    def work(store: Any) -> str:
        return f"installed {_described(store.add(args.path, args.name, link=args.link))}"

    return _guarded(work)


def _row(model: Any, default: str | None) -> dict[str, Any]:
    return {
        "name": model.name,
        "kind": model.kind,
        "path": str(model.path),
        "source": model.source,
        "revision": model.revision,
        "variant": model.variant,
        "size": model.size,
        "installed_at": model.installed_at.isoformat(),
        "linked": model.linked,
        "default": model.name == default,
    }


def cmd_models_list(args: argparse.Namespace) -> int:
    def work(store: Any) -> str:
        models, default = store.list(), store.default()
        if args.json:
            return json.dumps([_row(model, default) for model in models])
        if not models:
            return "no models installed (install one: nexus-image models pull ORG/NAME, or models add PATH)"
        rows = [("", "NAME", "SIZE", "SOURCE", "REVISION")]
        for model in models:
            revision = model.revision[:SHORT_COMMIT] if model.revision else "-"
            source = f"{model.source} (linked)" if model.linked else model.source
            mark = "*" if model.name == default else ""
            rows.append((mark, model.name, human_size(model.size), source, revision))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
        )

    return _guarded(work)


def cmd_models_remove(args: argparse.Namespace) -> int:
    def work(store: Any) -> str:
        model = store.remove(args.name)
        kept = f" (its files stay at {model.path})" if model.linked else ""
        return f"removed {model.name}{kept}"

    return _guarded(work)


def cmd_models_default(args: argparse.Namespace) -> int:
    def work(store: Any) -> str:
        if args.name is None:
            return store.default() or "no models installed"
        store.set_default(args.name)
        return f"default model: {args.name}"

    return _guarded(work)
