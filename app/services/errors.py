"""Errors services raise; web and API translate them (404 / 422 / 403 / 409)."""
from __future__ import annotations

from app.domain.errors import DomainError, Problem, clip

MAX_DETAILS = 100  # an answer lists the first problems and says how many there are


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    """Input refused; `problems` lists every reason at once."""

    code = "invalid"

    def __init__(self, message: str, problems: list[Problem] | None = None, details: list[dict] | None = None):
        problems = problems or []
        self.total = len(details) if details is not None else len(problems)
        if self.total > MAX_DETAILS:
            message = f"{clip(message, 1000)} (liệt kê {MAX_DETAILS} vấn đề đầu tiên trong {self.total})"
        super().__init__(clip(message, 1200))
        self.problems = problems[:MAX_DETAILS]
        # richer, already shaped details (e.g. cell findings) when given; every text in them kept short
        self.details = None if details is None else [
            {k: clip(v) if isinstance(v, str) else v for k, v in d.items()} for d in details[:MAX_DETAILS]]


class Busy(DomainError):
    """The server has no room for this piece of work now (a bounded queue is full): try later."""

    code = "busy"


class Conflict(DomainError):
    """Someone else changed the record since it was read (optimistic locking)."""

    code = "conflict"
