"""SDMX and DHIS2, both ways. Out: the SDMX-ML structure, SDMX-CSV data and DHIS2 data value sets
of approved reports, streamed from the database. In: SDMX-CSV and DHIS2 data value sets into
submissions — the same checks as a web form or an Excel upload, all or nothing across every report
in the file, and a dry run that says what would change."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from app.adapters import interchange as fmt
from app.domain.errors import DomainError
from app.domain.layout import Layout
from app.extensions import db
from app.models import Agency, RecordVersion, User

from . import center as center_svc
from . import submissions
from .errors import Forbidden, Invalid


@dataclass
class ImportResult:
    dry_run: bool
    reports: list[dict] = field(default_factory=list)  # one per (agency, period): what changes


def import_rows(*, user: User, regime: str, rows, source_label: str, dry_run: bool, commit: bool = True) -> ImportResult:
    """All or nothing. `commit=False` (a background job): the caller commits — the job's "done" with it."""
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
    elif commit:
        db.session.commit()
    return result


def _num(v):
    return Decimal(str(v)) if v is not None and not isinstance(v, str) else v


def import_sdmx(*, user: User, text: str, dry_run: bool, commit: bool = True) -> ImportResult:
    try:
        regime, rows = fmt.read_sdmx_csv(text)
    except fmt.InterchangeError as exc:
        raise Invalid(str(exc), details=[{"code": "format", "message": str(exc)}]) from None
    return import_rows(user=user, regime=regime, rows=rows, source_label="dòng", dry_run=dry_run, commit=commit)


def import_dhis2(*, user: User, regime: str, body: bytes, content_type: str, dry_run: bool, commit: bool = True) -> ImportResult:
    try:
        rows = fmt.read_dhis2(body, content_type)
    except fmt.InterchangeError as exc:
        raise Invalid(str(exc), details=[{"code": "format", "message": str(exc)}]) from None
    label = "dataValues" if "json" in content_type else "dòng"
    return import_rows(user=user, regime=regime, rows=rows, source_label=label, dry_run=dry_run, commit=commit)


# ----------------------------------------------------------------------------- SDMX and DHIS2
def _period_keys(regime_code: str, start: str, end: str) -> tuple[object, list[str]]:
    from app.domain.errors import DomainError
    from app.domain.periods import Period, periods_between

    from .catalogue import get_regime, regime_definition
    from .errors import Invalid

    regime = get_regime(code=regime_code)
    definition, _ = regime_definition(regime.current_version)
    try:
        first, last = Period.parse(start), Period.parse(end or start)
        definition.check_period(first)
        definition.check_period(last)
    except DomainError as exc:
        raise Invalid(str(exc)) from None
    keys = [p.key for p in periods_between(definition.frequency, first.cutoff(definition.cutoff)[1], last.cutoff(definition.cutoff)[1],
                                           definition.cutoff)]
    if len(keys) > 120:
        raise Invalid("Khoảng kỳ quá dài: tối đa 120 kỳ mỗi lần xuất")
    return regime, keys


def record_rows(*, user: User, regime: str, start: str, end: str = "") -> Iterator[tuple[str, str, str, str, Decimal]]:
    """(agency, indicator, breakdown, period, value) of every approved report in the range —
    streamed from the database in batches, so memory stays flat however many values there are."""
    from app.models import SubmissionValue

    scope = center_svc.scope_of(user)
    r, keys = _period_keys(regime, start, end)
    rv, sv = RecordVersion, SubmissionValue
    # the number as stored (canonical text on SQLite, NUMERIC on PostgreSQL): no per-row normalising
    stmt = (select(rv.agency_code, sv.indicator, sv.dkey, rv.period_key, center_svc._raw(sv.number))
            .join(sv, sv.version_id == rv.version_id)
            .where(rv.regime_id == r.id, rv.basis == "approved", rv.period_key.in_(keys), sv.number.is_not(None))
            .execution_options(yield_per=10000))
    if scope is not None:  # with the old provinces merged into it: records keep the province as reported
        stmt = stmt.where(rv.province_code.in_(sorted(center_svc.scope_units(scope))))
    # a plain DB-API cursor in batches: a million rows without building a Row object for each
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.driver_connection
    cursor = raw.cursor(name="baocao_export") if conn.dialect.name == "postgresql" else raw.cursor()  # server-side on PostgreSQL
    params = compiled.params if conn.dialect.paramstyle in ("named", "pyformat") else tuple(compiled.params[k] for k in compiled.positiontup)
    cursor.execute(str(compiled), params)
    try:
        while batch := cursor.fetchmany(10000):
            for agency, indicator, key, period, number in batch:
                yield agency, indicator, key, period, (number if isinstance(number, str) else format(number.normalize(), "f"))
    finally:
        cursor.close()


def sdmx_structure(*, user: User, regime: str) -> tuple[bytes, str]:
    from app.adapters import interchange

    center_svc.scope_of(user)
    r = center_svc._regime(regime)
    from .catalogue import regime_definition

    definition, cat = regime_definition(r.current_version)
    areas = db.session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(
        select(RecordVersion.agency_code).where(RecordVersion.regime_id == r.id).distinct())).order_by(Agency.code)).all()
    breakdowns = {}
    for grid in Layout(definition, cat).forms:
        for c in grid.columns:
            if c.key:
                breakdowns[c.key] = c.label
    data = interchange.structure_xml(regime=r.code, regime_name=definition.name_vi, version=r.current_version.version,
                                     indicators=[(c, cat.indicators[c].name_vi) for c in definition.indicator_codes],
                                     areas=[(c, n) for c, n in areas], breakdowns=sorted(breakdowns.items()))
    return data, f"{r.code}-structure.xml"


def sdmx_data(*, user: User, regime: str, start: str, end: str = "") -> tuple[Iterator[str], str]:
    from app.adapters import interchange

    center_svc.scope_of(user)  # refuse now: record_rows is a generator and would refuse mid-stream, after a 200
    r, keys = _period_keys(regime, start, end)
    rows = record_rows(user=user, regime=regime, start=start, end=end)
    return interchange.sdmx_csv(r.code, r.current_version.version, rows), f"{r.code}_{keys[0]}_{keys[-1]}.sdmx.csv"


def dhis2(*, user: User, regime: str, start: str, end: str = "", fmt: str = "json") -> tuple[bytes, str]:
    from app.adapters import interchange

    r, keys = _period_keys(regime, start, end)
    rows = list(record_rows(user=user, regime=regime, start=start, end=end))
    if fmt == "csv":
        return interchange.dhis2_csv(rows), f"{r.code}_{keys[0]}_{keys[-1]}.dhis2.csv"
    return interchange.dhis2_json(rows), f"{r.code}_{keys[0]}_{keys[-1]}.dhis2.json"
