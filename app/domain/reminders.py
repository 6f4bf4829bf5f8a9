"""Who is reminded of what, when — a pure function of what is owed, what was submitted, the
policies, what was already sent, and the instant.

A policy is a list of days relative to the deadline (-5 = five days before, 0 = the deadline
morning, 3 = three days late). The step of day d is due at REMINDER_HOUR local time on
deadline-date + d. At any instant an agency that has not submitted gets the *latest* step that is
due (within a day) and not yet sent — never a burst of old steps after a pause — and never a step
it already got.
From the first overdue step on, the receiving agency's approvers get one digest per day listing
their late agencies.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from .deadlines import VN_TZ

SUBMITTED = frozenset({"submitted", "approved"})  # a draft does not count; returned is not submitted
DIGEST = "digest"
REMINDER = "reminder"


@dataclass(frozen=True)
class Owed:
    regime: str
    period: str  # period key, or "YC12" for a request
    agency: str
    receiver: str | None
    deadline: datetime
    policy: tuple[int, ...]
    status: str = "not_started"  # the report's status

    @property
    def submitted(self) -> bool:
        return self.status in SUBMITTED


@dataclass(frozen=True)
class Due:
    owed: Owed
    step: int
    at: datetime  # when this step became due

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (REMINDER, self.owed.regime, self.owed.period, self.owed.agency, self.step)

    @property
    def overdue(self) -> bool:
        return self.step > 0


@dataclass(frozen=True)
class Digest:
    receiver: str
    day: str  # local date, ISO
    items: tuple[Due, ...]

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (DIGEST, "*", self.day, self.receiver, 0)


def step_at(deadline: datetime, step: int, hour: int = 8) -> datetime:
    day = deadline.astimezone(VN_TZ).date() + timedelta(days=step)
    return datetime.combine(day, time(hour), VN_TZ)


def due(owed: Iterable[Owed], now: datetime, sent: set[tuple], *, hour: int = 8,
        catch_up: timedelta = timedelta(days=1)) -> tuple[list[Due], list[Digest]]:
    """The reminders and digests to send at `now`. `sent` holds the keys already sent (or claimed).
    Only the latest due step of each report is sent, only if no later step was sent already, and
    only within `catch_up` of becoming due (so a restart after a pause, or a new installation,
    does not nag about long-past steps)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    out: list[Due] = []
    for o in owed:
        if o.submitted or not o.policy:
            continue
        steps = sorted(s for s in set(o.policy) if step_at(o.deadline, s, hour) <= now)
        if not steps:
            continue
        latest = steps[-1]
        if any((REMINDER, o.regime, o.period, o.agency, s) in sent for s in steps if s >= latest):
            continue
        at = step_at(o.deadline, latest, hour)
        if now - at > catch_up:
            continue  # stale (the scheduler was stopped, or the report is long past): no late nagging
        out.append(Due(o, latest, at))
    today = now.astimezone(VN_TZ).date().isoformat()
    late: dict[str, list[Due]] = defaultdict(list)
    for d in out:
        if d.overdue and d.owed.receiver:
            late[d.owed.receiver].append(d)
    digests = [Digest(r, today, tuple(sorted(items, key=lambda d: (d.owed.agency, d.owed.regime, d.owed.period))))
               for r, items in sorted(late.items()) if (DIGEST, "*", today, r, 0) not in sent]
    return out, digests


def describe(deadline: datetime, now: datetime) -> str:
    """"còn 3 ngày", "hạn hôm nay", "quá hạn 2 ngày" — counted in local calendar days."""
    days = (deadline.astimezone(VN_TZ).date() - now.astimezone(VN_TZ).date()).days
    if days > 0:
        return f"còn {days} ngày"
    if days == 0:
        return "hạn hôm nay"
    return f"quá hạn {-days} ngày"
