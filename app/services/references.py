"""The stored data a report compares with: the version of record of earlier periods (approved, else
the last sealed), the previous period, the same period last year, the year so far, carried values."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.domain.layout import TOTAL, CellKey
from app.domain.periods import Frequency, Period
from app.extensions import db
from app.models import (
    Submission,
    SubmissionValue,
    SubmissionVersion,
)

if TYPE_CHECKING:
    from .submissions import Report


# --------------------------------------------------------------------------------- references
def _record_version_ids(regime_id: int, agency_id: int, period_keys: list[str]) -> dict[str, int]:
    """For each period, the version of record: the approved one, else the last sealed one."""
    if not period_keys:
        return {}
    subs = db.session.execute(
        select(Submission.id, Submission.period_key, Submission.approved_version)
        .where(Submission.regime_id == regime_id, Submission.agency_id == agency_id, Submission.period_key.in_(period_keys))
    ).all()
    if not subs:
        return {}
    versions = db.session.execute(
        select(SubmissionVersion.submission_id, SubmissionVersion.number, SubmissionVersion.id)
        .where(SubmissionVersion.submission_id.in_([s[0] for s in subs]), SubmissionVersion.seal_hash.is_not(None))
    ).all()
    out = {}
    for sid, key, approved in subs:
        mine = sorted((n, vid) for s, n, vid in versions if s == sid)
        pick = next((vid for n, vid in mine if n == approved), None) or (mine[-1][1] if mine else None)
        if pick:
            out[key] = pick
    return out


def _values_by_version(version_ids: list[int]) -> dict[int, dict[CellKey, Decimal | str | None]]:
    out: dict[int, dict[CellKey, Decimal | str | None]] = {v: {} for v in version_ids}
    if version_ids:
        for vid, ind, key, num, text in db.session.execute(
                select(SubmissionValue.version_id, SubmissionValue.indicator, SubmissionValue.dkey,
                       SubmissionValue.number, SubmissionValue.text).where(SubmissionValue.version_id.in_(version_ids))):
            out[vid][(ind, key)] = num if text is None else text
    return out


def references_of(report: Report) -> dict:
    empty = {"previous": {}, "last_year": {}, "ytd": []}
    if report.request is not None or report.period.frequency is Frequency.AD_HOC:
        return empty
    p = report.period
    prev, ly = p.previous(), p.same_period_last_year()
    earlier = [x for x in _periods_of_year_before(p)]
    keys = [prev.key, ly.key] + [x.key for x in earlier]
    ids = _record_version_ids(report.regime.id, report.agency.id, keys)
    values = _values_by_version(list(ids.values()))
    get = lambda k: values.get(ids.get(k), {})  # noqa: E731
    return {"previous": get(prev.key), "last_year": get(ly.key), "ytd": [get(x.key) for x in earlier]}


def _periods_of_year_before(p: Period) -> list[Period]:
    out, cur = [], p.previous()
    while cur.year == p.year and cur.frequency is p.frequency and len(out) < 60:
        out.append(cur)
        cur = cur.previous()
    return out


def carried_values(report: Report) -> dict[str, Decimal]:
    """Rows filled from an indicator of the previous period (e.g. "from the previous period")."""
    prev = report.references()["previous"]
    out = {}
    for cell in report.layout.cells.values():
        if cell.carried_from and cell.key == TOTAL:
            v = prev.get((cell.carried_from, TOTAL))
            if isinstance(v, Decimal):
                out[cell.indicator.code] = v
    return out
