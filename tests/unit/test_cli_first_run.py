"""What a first-time CLI user meets: --version, a helpful `generate --help`, a hint when tokens run
out, notes about the signing secret, progress that suits a log, a busy port said at once."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nexus_image.domain.events import GenerationProgress
from nexus_image.entrypoints.cli import main
from nexus_image.entrypoints.cli.progress import ProgressBar


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("NEXUS_IMAGE_MODEL", "NEXUS_IMAGE_JWT_SECRET", "NEXUS_IMAGE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "data"
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(folder))
    return folder


class Composed(Exception):
    """Raised by the fake `compose`: the command got as far as building the application."""


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records the settings `compose` is called with, and stops there (no model, no server)."""
    import nexus_image.entrypoints.composition as composition

    seen: list[Any] = []

    def fake(role: str, settings: Any = None, **overrides: Any) -> Any:
        seen.append(settings)
        raise Composed(role)

    monkeypatch.setattr(composition, "compose", fake)
    return seen


# --- item 5: --version, generate --help, --model ------------------------------------------------


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"nexus-image {version('nexus-image')}"


def test_generate_help_explains_the_prompt_the_defaults_the_noise_and_the_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "1 to 1000 characters" in text
    assert "realistic (default)" in text and "512x512 (default)" in text
    assert "dpmpp_2m_karras (default)" in text
    assert "realistic 30" in text and "sketch 6.5" in text  # the styles' steps and guidance
    assert "noise" in text and "random weights" in text
    assert "--model" in text and "an installed one" in text and "NEXUS_IMAGE_MODEL" in text
    assert "nexus-image tokens grant local N" in text
    assert "chunks of 75 CLIP tokens" in text and "(word:1.3)" in text and "BREAK" in text


def test_model_option_overrides_the_environment(
    data_dir: Path, composed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_MODEL", "/from/the/environment")
    with pytest.raises(Composed):
        main(["generate", "a fox", "--model", "/from/the/option"])
    with pytest.raises(Composed):
        main(["generate", "a fox"])
    assert [settings.model for settings in composed] == ["/from/the/option", "/from/the/environment"]


# --- item 3: out of tokens ----------------------------------------------------------------------


def test_running_out_of_tokens_says_how_to_top_up(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_WELCOME_TOKENS", "5")
    assert main(["generate", "a fox", "--resolution", "1024x1536"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: 30 tokens required, balance is 5; add tokens with: nexus-image tokens grant local 100"
    ]
    # the hint is the real admin command, for the CLI's own user
    assert main(["tokens", "grant", "local", "100"]) == 0
    assert capsys.readouterr().out.strip() == "granted 100 tokens to local: balance 105"


# --- item 4: the development signing secret -----------------------------------------------------


def test_token_says_when_it_creates_a_new_secret_and_where(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--user", "alice"]) == 0
    first = capsys.readouterr()
    secret = data_dir / "jwt-dev-secret"
    assert secret.exists() and first.out.count(".") == 2  # a JWT on stdout, nothing else
    [note] = first.err.strip().splitlines()
    assert note.startswith("note: created a new signing secret in ") and str(secret) in note
    assert "same NEXUS_IMAGE_DATA_DIR" in note and "not the default" in note
    # the secret exists now; the data dir is still not the default one: one note, naming it
    assert main(["token", "--user", "alice"]) == 0
    [again] = capsys.readouterr().err.strip().splitlines()
    assert again.startswith(f"note: signed with the secret in {secret}")
    assert "Signature verification failed" in again


def test_token_is_quiet_with_the_default_data_dir_and_an_existing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("NEXUS_IMAGE_DATA_DIR", "NEXUS_IMAGE_JWT_SECRET", "NEXUS_IMAGE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # the default data dir, in a sandbox
    assert main(["token", "--user", "alice"]) == 0
    assert "created a new signing secret" in capsys.readouterr().err
    assert (tmp_path / "nexus-image" / "jwt-dev-secret").exists()
    assert main(["token", "--user", "bob"]) == 0
    assert capsys.readouterr().err == ""


def test_token_with_a_configured_secret_says_nothing_about_the_data_dir(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_JWT_SECRET", "s" * 40)
    assert main(["token", "--user", "alice"]) == 0
    assert capsys.readouterr().err == ""
    assert not (data_dir / "jwt-dev-secret").exists()


# --- item 6: progress ---------------------------------------------------------------------------


def progress(step: int, total: int, job: str = "job-1") -> GenerationProgress:
    now = datetime.now(UTC)
    return GenerationProgress(
        event_id=f"e{step}", job_id=job, user_id="local", occurred_at=now, step=step, total_steps=total
    )


def test_progress_in_a_log_is_a_few_plain_lines_without_carriage_returns() -> None:
    log = io.StringIO()  # not a terminal
    bar = ProgressBar(log)
    for step in range(1, 21):
        bar.publish(progress(step, 20))
    assert "\r" not in log.getvalue()
    bar_width = 30
    assert log.getvalue().splitlines() == [
        f"generating [{'#' * (bar_width * q // 4)}{'-' * (bar_width - bar_width * q // 4)}] {5 * q}/20 ({25 * q}%)"
        for q in range(1, 5)
    ]
    for step in range(1, 3):  # the next job starts over
        bar.publish(progress(step, 2, job="job-2"))
    assert [line.rsplit("] ", 1)[1] for line in log.getvalue().splitlines()[4:]] == [
        "1/2 (50%)",
        "2/2 (100%)",
    ]


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = ProgressBar(screen, width=4)
    for step in range(1, 5):
        bar.publish(progress(step, 4))
    assert screen.getvalue() == (
        "\rgenerating [#---] 1/4\rgenerating [##--] 2/4\rgenerating [###-] 3/4\rgenerating [####] 4/4\n"
    )


# --- item 7: a busy port ------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_serve_on_a_busy_port_fails_at_once_in_one_line(
    data_dir: Path, busy_port: int, composed: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", "127.0.0.1", "--port", str(busy_port)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: port {busy_port} on 127.0.0.1 is already in use; set NEXUS_IMAGE_PORT or --port"]
    assert composed == []  # nothing was built, no model loaded


def test_serve_reads_the_port_from_the_environment_too(
    data_dir: Path,
    busy_port: int,
    composed: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_PORT", str(busy_port))
    monkeypatch.setenv("NEXUS_IMAGE_HOST", "127.0.0.1")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    assert main(["serve"]) == 1
    assert "is already in use" in capsys.readouterr().err
    assert composed == []


def test_serve_on_a_free_port_goes_on_to_build_the_app(
    data_dir: Path, composed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    root = logging.getLogger()  # the command configures logging
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    with pytest.raises(Composed):
        main(["serve", "--host", "127.0.0.1", "--port", str(free)])
    assert [settings.port for settings in composed] == [free]
