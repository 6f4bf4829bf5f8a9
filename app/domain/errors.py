"""Errors the domain raises; entry points translate them into messages for people."""
from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGE = 300


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """Shorten a message (or a value quoted in one) to `limit` characters, marking the cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DomainError(ValueError):
    """A rule of the domain refused the input; the message is safe to show to a user."""


class UnknownPeriod(DomainError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    message: str
    file: str | None = None
    line: int | None = None
    where: str | None = None  # e.g. a field path such as "tiers[0].deadline"
    field: str | None = None  # a catalogue file's key the message names by its label (shown to file editors: str())

    def __post_init__(self) -> None:  # a message may quote what the input said: keep it short
        object.__setattr__(self, "message", clip(self.message))
        if self.where is not None:
            object.__setattr__(self, "where", clip(self.where, 120))

    def __str__(self) -> str:
        loc = ":".join(str(x) for x in (self.file, self.line) if x is not None)
        at = f" ({self.where})" if self.where else ""
        key = f" [{self.field}]" if self.field else ""
        return f"{loc}: {self.message}{key}{at}" if loc else f"{self.message}{key}{at}"
