"""The operator's wildcard folder: names from the files' paths, their lines without blanks and
comments, each file read once and again when it changes, nothing outside the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_image.adapters.filesystem.wildcards import WildcardFolder
from nexus_image.domain.dynamic_prompts import expand, expansions
from nexus_image.domain.errors import UnknownWildcard
from nexus_image.entrypoints.composition import builders
from nexus_image.entrypoints.settings import Settings


def write(path: Path, text: str, mtime_ns: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "wildcards"
    write(root / "colors.txt", "\ufeff# the colours\nred\n\n  blue  \n{light|dark} green\n")
    write(root / "animals" / "cats.txt", "tabby\nsiamese __colors__\n")
    write(root / "animals" / "deep" / "dogs.txt", "pug\n")
    write(root / "notes.md", "not a wildcard\n")
    write(root / ".hidden" / "secret.txt", "hidden\n")
    write(root / "two__parts.txt", "a template cannot spell this name\n")
    return root


def test_names_are_relative_paths_without_the_suffix(folder: Path) -> None:
    assert WildcardFolder(folder).names() == ["animals/cats", "animals/deep/dogs", "colors"]


def test_lines_are_stripped_without_blanks_comments_or_byte_order_mark(folder: Path) -> None:
    wildcards = WildcardFolder(folder)
    assert wildcards.lines("colors") == ["red", "blue", "{light|dark} green"]
    assert wildcards.lines("animals/deep/dogs") == ["pug"]
    assert wildcards.lines("dogs") is None
    assert wildcards.lines("notes") is None


def test_a_file_is_read_once_and_again_when_it_changes(folder: Path) -> None:
    path, wildcards = folder / "colors.txt", WildcardFolder(folder)
    write(path, "red\n", mtime_ns=1_000_000_000)
    assert wildcards.lines("colors") == ["red"]
    write(path, "tan\n", mtime_ns=1_000_000_000)  # same time, same size: not read again
    assert wildcards.lines("colors") == ["red"]
    write(path, "tan\n", mtime_ns=2_000_000_000)
    assert wildcards.lines("colors") == ["tan"]
    path.unlink()
    assert wildcards.lines("colors") is None
    assert "colors" not in wildcards.names()


def test_names_that_leave_the_folder_are_no_wildcards(folder: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside.txt", "secret\n")
    (folder / "link.txt").symlink_to(tmp_path / "outside.txt")
    (folder / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    wildcards = WildcardFolder(folder)
    for name in ("../outside", "link", "elsewhere/outside", "/etc/hostname", ".hidden/secret", "a//b"):
        assert wildcards.lines(name) is None
    assert wildcards.names() == ["animals/cats", "animals/deep/dogs", "colors"]


def test_no_folder_is_no_wildcards(tmp_path: Path) -> None:
    for wildcards in (WildcardFolder(None), WildcardFolder(tmp_path / "missing")):
        assert wildcards.names() == []
        assert wildcards.lines("colors") is None
        with pytest.raises(UnknownWildcard, match="no wildcards are installed"):
            expand("__colors__", 1, wildcards)


def test_templates_expand_through_the_folder(folder: Path) -> None:
    wildcards = WildcardFolder(folder)
    assert expansions("__animals/cats__", wildcards) == [
        "siamese blue",
        "siamese dark green",
        "siamese light green",
        "siamese red",
        "tabby",
    ]
    assert expand("a __animals/*__", 3, wildcards) in (expansions("a __animals/*__", wildcards) or [])
    with pytest.raises(UnknownWildcard) as refused:
        expand("__animals/cat__", 1, wildcards, field="negative_prompt")
    assert refused.value.field == "negative_prompt"
    assert refused.value.allowed[0] == "animals/cats"


def test_the_setting_names_the_folder(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_WILDCARD_DIR", str(folder))
    settings = Settings()
    assert settings.wildcard_dir == folder
    assert builders.wildcard_library(settings).lines("animals/deep/dogs") == ["pug"]
    monkeypatch.delenv("NEXUS_IMAGE_WILDCARD_DIR")
    assert builders.wildcard_library(Settings()).names() == []
