"""What the output check found in a finished image."""

from __future__ import annotations

from dataclasses import dataclass

UNSAFE_OUTPUT = "unsafe_output"  # the failure reason of a job whose image was withheld


@dataclass(frozen=True, slots=True)
class OutputSafety:
    """`flagged` images are never public; `score` (0 to 1) is the checker's highest unsafe score
    and `labels` the unsafe classes it found."""

    flagged: bool
    score: float = 0.0
    labels: tuple[str, ...] = ()
    checker: str = "none"

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"a safety score is between 0 and 1, not {self.score}")

    @property
    def reason(self) -> str:
        found = ", ".join(self.labels) or "unsafe content"
        return f"{UNSAFE_OUTPUT}: {found} (score {self.score:.2f}, {self.checker})"
