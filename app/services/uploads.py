"""The Excel template of a report: download it filled with what is stored, upload it back as a new
draft version (all or nothing, every bad cell named)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from flask import current_app

from app.adapters import excel
from app.domain.deadlines import VN_TZ
from app.domain.layout import TOTAL
from app.models import (
    User,
)
from app.models.base import utcnow

from .errors import Invalid
from .references import carried_values
from .submissions import Report, SaveResult, open_report, save, workflow_check


# ------------------------------------------------------------------------------------- upload
def upload_limits() -> excel.Limits:
    mb = current_app.config.get("MAX_UPLOAD_MB", 10)
    return excel.Limits(max_bytes=int(mb * 1024 * 1024))


def upload(*, user: User, regime_code: str, agency_code: str, period_key: str, data: bytes, file_name: str,
           revision: int | None = None, now: datetime | None = None, commit: bool = True,
           book: excel.WorkbookData | None = None) -> SaveResult:
    """A filled Excel template → a new draft version, or nothing at all and every problem.
    `commit=False`: the caller commits (a background upload commits it with its job's end).
    `book`: the file already read (read_file, by a job before it takes the write lock); its
    identity is checked again against the report as it is now."""
    report = open_report(user=user, regime_code=regime_code, agency_code=agency_code, period_key=period_key, for_write=True)
    workflow_check(report, now or utcnow())
    if book is None:
        book = read_file(report, data, file_name)
    else:
        problems = _identity_problems(report, book.meta)
        if problems:
            raise _wrong_template(file_name, excel.WrongTemplate(problems))
    return save(user=user, report=report, raw=book.raw, outline=report.outline(), revision=revision, source="excel",
                file_name=file_name[:255], new_version=True, refs=book.refs, extra=book.findings, now=now, commit=commit)


def read_file(report: Report, data: bytes, file_name: str) -> excel.WorkbookData:
    """The cells of a filled template of this report (every bad cell a finding), or Invalid."""
    try:
        return excel.read_workbook(data, upload_limits(), report.layout, lambda meta: _identity_problems(report, meta))
    except excel.WrongTemplate as exc:
        raise _wrong_template(file_name, exc) from None
    except excel.WorkbookRefused as exc:
        raise Invalid(f"Không nhận tệp “{file_name}”: {exc}", details=[{"code": "file", "message": str(exc), "where": file_name}]) from None


def _wrong_template(file_name: str, exc: excel.WrongTemplate) -> Invalid:
    return Invalid(f"Không nhận tệp “{file_name}”: {exc}",
                   details=[{"code": "wrong_template", "message": m, "where": file_name} for m in exc.problems])


def _identity_problems(report: Report, meta: Mapping[str, str]) -> list[str]:
    out = []
    if meta.get("regime") != report.regime.code:
        out.append(f"tệp là mẫu của chế độ “{meta.get('regime')}”, không phải “{report.regime.code}”")
    if meta.get("agency") != report.agency.code:
        out.append(f"tệp lập cho đơn vị “{meta.get('agency')}”, không phải “{report.agency.code}” ({report.agency.name})")
    if meta.get("period") != report.period_key:
        out.append(f"tệp lập cho kỳ “{meta.get('period')}”, không phải kỳ “{report.period_key}”")
    if meta.get("regime") == report.regime.code and (
            meta.get("regime_version") != str(report.version.version) or meta.get("regime_hash") != report.version.content_hash):
        out.append(f"tệp theo phiên bản {meta.get('regime_version')} của chế độ, báo cáo này dùng phiên bản "
                   f"{report.version.version} — hãy tải mẫu mới")
    return out


def template(*, user: User, regime_code: str, agency_code: str, period_key: str) -> tuple[bytes, str]:
    report = open_report(user=user, regime_code=regime_code, agency_code=agency_code, period_key=period_key)
    entries = report.entries()
    sysv = report.system(entries)
    refs = report.references()
    earlier = {}
    for code in (k[0] for k in report.layout.cells if k[1] == TOTAL):
        parts = [r.get((code, TOTAL)) for r in refs["ytd"]]
        nums = [p for p in parts if isinstance(p, Decimal)]
        earlier[code] = sum(nums, Decimal(0)) if nums else None
    spec = excel.TemplateSpec(
        layout=report.layout, regime_code=report.regime.code, regime_name=report.title,
        regime_version=report.version.version, regime_hash=report.version.content_hash,
        agency_code=report.agency.code, agency_name=report.agency.name, period_key=report.period_key,
        period_label=report.period_label, deadline=report.deadline_at.astimezone(VN_TZ).strftime("%d/%m/%Y"),
        current={k: e.value for k, e in entries.items()},
        estimates={k[0] for k, e in entries.items() if e.estimate},
        comments={k[0]: e.comment for k, e in entries.items() if e.comment and k[1] == TOTAL},
        system=sysv, earlier_ytd=earlier, carried=carried_values(report))
    name = f"{report.regime.code}_{report.agency.code}_{report.period_key}.xlsx"
    return excel.build_template(spec), name
