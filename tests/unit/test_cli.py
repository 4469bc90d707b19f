"""Bad CLI input: one line on stderr, exit code 2, nothing charged, no model loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_image.entrypoints.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--style", "vaporwave"],
            "unknown style 'vaporwave'; allowed: realistic, anime, artistic, 3d, sketch",
        ),
        (["--resolution", "640x480"], "allowed: 512x512, 768x768, 1024x1024, 1024x1536"),
        (["--steps", "500"], "steps must be between 1 and 100"),
        (["--scheduler", "magic"], "unknown scheduler 'magic'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    assert main(["generate", "a fox", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "files").exists()


def test_moderated_prompt_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    assert main(["generate", "a n.u.d.e portrait"]) == 2
    assert "category: sexual" in capsys.readouterr().err


def test_insufficient_tokens_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEXUS_IMAGE_WELCOME_TOKENS", "4")
    assert main(["generate", "a fox"]) == 2
    assert "5 tokens required, balance is 4" in capsys.readouterr().err


def test_refused_input_leaves_the_persistent_balance_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    for args in (["--resolution", "640x480"], ["--style", "noir"]):
        assert main(["generate", "a fox", *args]) == 2
    assert main(["generate", "a n.u.d.e portrait", "--resolution", "1024x1536"]) == 2
    capsys.readouterr()
    assert main(["tokens", "balance", "local"]) == 0
    assert capsys.readouterr().out.strip() == "local: 100 tokens"
