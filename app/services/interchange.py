"""Importing SDMX-CSV and DHIS2 data value sets into submissions: the same checks as a web form
or an Excel upload, all or nothing across every report in the file, and a dry run that says what
would change."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from app.adapters import interchange as fmt
from app.domain.errors import DomainError
from app.extensions import db
from app.models import User

from . import submissions
from .errors import Forbidden, Invalid


@dataclass
class ImportResult:
    dry_run: bool
    reports: list[dict] = field(default_factory=list)  # one per (agency, period): what changes


def import_rows(*, user: User, regime: str, rows, source_label: str, dry_run: bool) -> ImportResult:
    groups: dict[tuple[str, str], dict] = defaultdict(dict)
    where: dict[tuple[str, str], dict] = defaultdict(dict)
    problems = []
    for pos, agency, indicator, key, period, value in rows:
        cell = (indicator, key)
        if cell in groups[(agency, period)]:
            problems.append({"code": "duplicate", "where": f"{source_label} {pos}", "indicator": indicator,
                             "message": f"Ô {indicator} {key or ''} của {agency}, kỳ {period} xuất hiện hai lần"})
        groups[(agency, period)][cell] = (value, False, "")
        where[(agency, period)][cell] = f"{source_label} {pos}"
    result = ImportResult(dry_run)
    prepared, forbidden = [], []
    for (agency, period), raw in sorted(groups.items()):
        try:
            report = submissions.open_report(user=user, regime_code=regime, agency_code=agency, period_key=period, for_write=True)
        except Forbidden:
            forbidden.append(agency)
            continue
        except DomainError as exc:
            problems.append({"code": getattr(exc, "code", "invalid"), "where": f"{agency} {period}", "message": str(exc)})
            continue
        before = {k: e.value for k, e in report.entries().items()}
        prepared.append((report, raw, agency, period, before))
    if forbidden:  # a file that writes for someone else is refused as a whole (403), not as a content problem
        raise Forbidden(f"Bạn chỉ nhập được số liệu của đơn vị mình; tệp có số liệu của {', '.join(sorted(set(forbidden)))}"
                        " — không có gì bị thay đổi")
    if problems:
        raise Invalid(f"Không nhập: {len(problems)} vấn đề — không có gì bị thay đổi", details=problems)
    try:
        for report, raw, agency, period, before in prepared:
            res = submissions.save(user=user, report=report, raw=raw, outline=report.outline(), revision=None, source="api",
                                   new_version=True, refs=where[(agency, period)], commit=False)
            after = {(v.indicator, v.dkey): v.number for v in res.version.values}
            changed = sorted(k for k in set(before) | set(after) if _num(before.get(k)) != _num(after.get(k)))
            result.reports.append({"agency": agency, "period": period, "new_report": not before, "version": res.version.number,
                                   "changed_cells": len(changed), "warnings": len(res.findings)})
    except (Invalid, DomainError) as exc:
        db.session.rollback()
        details = getattr(exc, "details", None) or [{"message": str(exc)}]
        raise Invalid(f"Không nhập: {exc} — không có gì bị thay đổi", details=details) from None
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return result


def _num(v):
    return Decimal(str(v)) if v is not None and not isinstance(v, str) else v


def import_sdmx(*, user: User, text: str, dry_run: bool) -> ImportResult:
    try:
        regime, rows = fmt.read_sdmx_csv(text)
    except fmt.InterchangeError as exc:
        raise Invalid(str(exc), details=[{"code": "format", "message": str(exc)}]) from None
    return import_rows(user=user, regime=regime, rows=rows, source_label="dòng", dry_run=dry_run)


def import_dhis2(*, user: User, regime: str, body: bytes, content_type: str, dry_run: bool) -> ImportResult:
    try:
        rows = fmt.read_dhis2(body, content_type)
    except fmt.InterchangeError as exc:
        raise Invalid(str(exc), details=[{"code": "format", "message": str(exc)}]) from None
    label = "dataValues" if "json" in content_type else "dòng"
    return import_rows(user=user, regime=regime, rows=rows, source_label=label, dry_run=dry_run)
