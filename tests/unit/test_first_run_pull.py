"""A first run with no model: whether the starter model is pulled (the setting, a remembered
answer, a person at a terminal), and that nothing is offered once a model is there."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.entrypoints.cli.first_run import ANSWER_FILE, decide, needs_model, offer_starter_model
from nexus_image.entrypoints.composition import builders
from nexus_image.entrypoints.settings import Settings


def never(question: str) -> str:
    raise AssertionError("asked although it must not be")


@given(st.sampled_from(["yes", "no"]), st.sampled_from([None, "yes", "no"]), st.booleans())
def test_yes_and_no_are_never_asked(choice: str, remembered: str | None, terminal: bool) -> None:
    assert decide(choice, remembered, terminal, never, "?") is (choice == "yes")


@pytest.mark.parametrize(
    ("remembered", "terminal", "answer", "pulled"),
    [
        ("yes", False, None, True),  # asked once before: not again, even without a terminal
        ("no", True, None, False),
        (None, False, None, False),  # no terminal: ask means no
        (None, True, "", True),  # Enter takes the default, yes
        (None, True, "Y", True),
        (None, True, "n", False),
        (None, True, "later", False),
    ],
)
def test_ask_asks_once_on_a_terminal_only(
    remembered: str | None, terminal: bool, answer: str | None, pulled: bool
) -> None:
    asked: list[str] = []

    def person(question: str) -> str:
        asked.append(question)
        assert answer is not None
        return answer

    assert decide("ask", remembered, terminal, person, "Download?") is pulled
    assert asked == (["Download?"] if answer is not None else [])


def test_end_of_input_is_no() -> None:
    def closed(question: str) -> str:
        raise EOFError

    assert decide("ask", None, True, closed, "?") is False


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_the_answer_at_a_terminal_is_kept_and_nothing_runs_on_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builders, "starter_model_size", lambda s, timeout: ("http://hub", 2_100_000_000))
    lines: list[str] = []
    chosen = settings(tmp_path, first_run_pull="ask")
    assert offer_starter_model(chosen, ask=lambda q: "n", terminal=True, out=lines.append) is None
    assert (tmp_path / "models" / ANSWER_FILE).read_text().strip() == "no"
    assert lines == []  # the server's own notice says how to install a model
    # asked once: the next start does not ask again
    assert offer_starter_model(chosen, ask=never, terminal=True, out=lines.append) is None


def test_without_a_terminal_the_hub_is_not_even_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def probe(settings: Settings, timeout: float) -> tuple[str, int]:
        raise AssertionError("the hub was probed for an answer that is no anyway")

    monkeypatch.setattr(builders, "starter_model_size", probe)
    assert offer_starter_model(settings(tmp_path, first_run_pull="ask"), ask=never, terminal=False) is None
    assert offer_starter_model(settings(tmp_path, first_run_pull="no"), ask=never, terminal=True) is None
    assert not (tmp_path / "models" / ANSWER_FILE).exists()  # nothing asked, nothing remembered


def test_an_unreachable_hub_is_one_note_and_no_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[str] = []
    chosen = settings(tmp_path, first_run_pull="yes")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    assert offer_starter_model(chosen, ask=never, terminal=True, out=lines.append) is None
    assert len(lines) == 1 and "cannot be fetched" in lines[0]


def test_nothing_is_offered_where_a_model_is_named_or_configured(tmp_path: Path) -> None:
    assert needs_model(settings(tmp_path))
    assert not needs_model(settings(tmp_path, models="sd15"))
    assert not needs_model(settings(tmp_path, model="/models/sd15"))
    assert offer_starter_model(settings(tmp_path, models="sd15"), ask=never, terminal=True) is None
