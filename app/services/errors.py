"""Errors services raise; web and API translate them (404 / 422 / 403 / 409)."""
from __future__ import annotations

from app.domain.errors import DomainError, Problem


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    """Input refused; `problems` lists every reason at once."""

    code = "invalid"

    def __init__(self, message: str, problems: list[Problem] | None = None, details: list[dict] | None = None):
        super().__init__(message)
        self.problems = problems or []
        self.details = details  # richer, already shaped details (e.g. cell findings) when given


class Conflict(DomainError):
    """Someone else changed the record since it was read (optimistic locking)."""

    code = "conflict"
