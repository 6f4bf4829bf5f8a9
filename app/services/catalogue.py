"""Catalogue use cases: check and load the files, read regimes, their versions and calendars."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from app.adapters.catalogue_files import read_catalogue_tree
from app.adapters.collation import fold
from app.domain.catalogue import Catalogue, RegimeDef
from app.domain.catalogue_build import build_catalogue, regime_from_snapshot, snapshot_hash
from app.domain.catalogue_parse import receives_itself
from app.domain.deadlines import Deadline, compute_deadline
from app.domain.errors import DomainError, Problem, UnknownPeriod
from app.domain.periods import Period
from app.extensions import db
from app.models import (
    Agency,
    Disaggregation,
    Indicator,
    Regime,
    RegimeIndicator,
    RegimeVersion,
)

from .errors import Invalid, NotFound

RECEIVER_KEYWORDS = ("parent", "province")


@dataclass
class LoadSummary:
    indicators_created: int = 0
    indicators_updated: int = 0
    regimes_created: list[str] = field(default_factory=list)
    versions_created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def check_catalogue(*, root: Path) -> tuple[Catalogue, list[Problem]]:
    """Read and validate every catalogue file under root; write nothing."""
    problems: list[Problem] = []
    disaggs, indicators, regimes = read_catalogue_tree(root, problems)
    catalogue, more = build_catalogue(disaggs, indicators, regimes)
    problems += more + _check_agency_codes(catalogue, regimes)
    return catalogue, problems


def _check_agency_codes(catalogue: Catalogue, sources) -> list[Problem]:
    """Issuing and receiving agencies must exist — checked once the agency map is loaded."""
    rows = db.session.execute(select(Agency.code, Agency.level, Agency.kind)).all()
    known = {code: (level, kind) for code, level, kind in rows}
    if not known:
        return []
    paths = {src.data.get("code"): src for src, _ in sources
             if isinstance(src.data, dict) and isinstance(src.data.get("code"), str)}  # a code may be anything in a bad file
    out = []
    for regime in catalogue.regimes.values():
        src = paths.get(regime.code)
        wanted = [("issuing_agency", regime.issuing_agency)] + [
            ("receiver", t.receiver) for t in regime.tiers
            if t.receiver not in RECEIVER_KEYWORDS and not t.receiver.startswith("department:")
        ] + [("agencies", code) for t in regime.tiers for code in t.reporters.agencies]
        for key, code in wanted:
            if code not in known:
                line = getattr(src.data, "lines", {}).get(key if key == "issuing_agency" else "tiers") if src else None
                out.append(Problem(f"mã cơ quan “{code}” ({key}) không có trong danh mục cơ quan", src.path if src else None, line))
        for tier in regime.tiers:
            if tier.receiver in known and receives_itself(tier, *known[tier.receiver]):
                line = getattr(src.data, "lines", {}).get("tiers") if src else None
                out.append(Problem(f"cấp “{tier.name}”: cơ quan nhận “{tier.receiver}” thuộc chính các đối tượng báo cáo "
                                   "của cấp này — không ai được nhận và phê duyệt báo cáo của chính mình",
                                   src.path if src else None, line))
    return out


def load_catalogue(*, root: Path, progress: Callable[[int, int], None] = lambda done, total: None) -> LoadSummary:
    """Validate then upsert, idempotently. A changed regime gets a new version; old ones stay."""
    catalogue, problems = check_catalogue(root=root)
    if problems:
        raise Invalid(f"Danh mục có {len(problems)} lỗi; không có gì được ghi", problems)
    moved = issuer_changes(catalogue)
    if moved:
        raise Invalid(f"Tệp đổi cơ quan ban hành của {len(moved)} chế độ; không có gì được ghi — chuyển chế độ sang "
                      "cơ quan khác bằng lệnh “flask catalogue transfer” (quản trị hệ thống, có ghi nhật ký)", moved)
    summary = LoadSummary()
    total = len(catalogue.indicators) + len(catalogue.regimes)
    progress(0, total)
    _upsert_disaggregations(catalogue)
    _upsert_indicators(catalogue, summary)
    progress(len(catalogue.indicators), total)
    for i, (code, regime) in enumerate(catalogue.regimes.items(), start=1):
        _upsert_regime(regime, catalogue.snapshots[code], summary)
        progress(len(catalogue.indicators) + i, total)
    db.session.commit()
    return summary


def issuer_changes(catalogue: Catalogue) -> list[Problem]:
    """Regimes the files give another issuing agency than the one stored. No load, import or edit
    changes the issuer: that is an administrator's act (`transfer_regime`), audited."""
    stored = dict(db.session.execute(select(Regime.code, Regime.issuing_agency_code)
                                     .where(Regime.code.in_(list(catalogue.regimes)))).all()) if catalogue.regimes else {}
    return [Problem(f"chế độ {code} do “{stored[code]}” ban hành; tệp ghi “{r.issuing_agency}”",
                    f"report_templates/{code}/regime.yaml")
            for code, r in catalogue.regimes.items() if code in stored and stored[code] != r.issuing_agency]


def transfer_regime(*, code: str, to_agency: str) -> Regime:
    """Move a regime to another issuing agency (administrator's act; the audit log records it).
    The stored versions stay as they were issued; the next version is issued by the new agency."""
    from app.models import RegimeDraft

    row = get_regime(code=code)
    if db.session.scalar(select(Agency.id).where(Agency.code == to_agency)) is None:
        raise NotFound(f"Không có cơ quan mã “{to_agency}”")
    row.issuing_agency_code = to_agency
    for draft in db.session.scalars(select(RegimeDraft).where(RegimeDraft.regime_code == code)):
        draft.issuing_agency_code = to_agency
        draft.document = {**draft.document, "regime": {**draft.document["regime"], "issuing_agency": to_agency}}
    db.session.commit()
    return row


def _upsert_disaggregations(catalogue: Catalogue) -> None:
    existing = {d.code: d for d in db.session.scalars(select(Disaggregation))}
    for d in catalogue.disaggregations.values():
        row = existing.get(d.code) or Disaggregation(code=d.code)
        row.name_vi, row.name_en = d.name_vi, d.name_en
        row.options = [{"code": o.code, "name_vi": o.name_vi, "name_en": o.name_en} for o in d.options]
        db.session.add(row)


def _upsert_indicators(catalogue: Catalogue, summary: LoadSummary) -> None:
    existing = {i.code: i for i in db.session.scalars(select(Indicator))}
    for ind in catalogue.indicators.values():
        row = existing.get(ind.code)
        values = dict(
            name_vi=ind.name_vi, name_en=ind.name_en or None, unit=ind.unit, value_type=ind.value_type,
            aggregation=ind.aggregation, disaggregations=list(ind.disaggregations), min_value=ind.min,
            max_value=ind.max, description=ind.description or None, numerator=list(ind.numerator),
            denominator=list(ind.denominator), scale=ind.scale,
        )
        if row is None:
            db.session.add(Indicator(code=ind.code, **values))
            summary.indicators_created += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            summary.indicators_updated += 1


def _upsert_regime(regime: RegimeDef, snapshot: dict, summary: LoadSummary, source: str | None = None) -> None:
    digest = snapshot_hash(snapshot)
    row = db.session.scalar(select(Regime).where(Regime.code == regime.code))
    if row is None:
        row = Regime(code=regime.code)
        db.session.add(row)
        summary.regimes_created.append(regime.code)
    elif row.versions and row.current_version.content_hash == digest:
        summary.unchanged.append(regime.code)
        return
    else:
        summary.versions_created.append(regime.code)
    row.name_vi, row.name_en, row.type = regime.name_vi, regime.name_en or None, regime.type
    row.frequency, row.issuing_agency_code = regime.frequency.value, regime.issuing_agency
    row.legal_basis, row.valid_from, row.valid_to = regime.legal_basis, regime.valid_from, regime.valid_to
    version = RegimeVersion(
        version=len(row.versions) + 1, snapshot=snapshot, content_hash=digest,
        source=source or f"report_templates/{regime.code}",
    )
    version.indicator_links = [
        RegimeIndicator(indicator_code=r.indicator, form_code=f.code) for f in regime.forms for r in f.rows
    ]
    row.versions.append(version)


# ---------------------------------------------------------------------------------- reading
def list_regimes(*, q: str = "", issuing_agency: str = "", type: str = "", frequency: str = ""):
    stmt = select(Regime).order_by(Regime.code)
    if q and fold(q):
        stmt = stmt.where(Regime.search_text.contains(fold(q), autoescape=True))  # "xang dau" finds "xăng dầu"
    if issuing_agency:
        stmt = stmt.where(Regime.issuing_agency_code == issuing_agency)
    if type:
        stmt = stmt.where(Regime.type == type)
    if frequency:
        stmt = stmt.where(Regime.frequency == frequency)
    return stmt


def issuing_agencies() -> dict[str, str]:
    """Code → name of every agency that issued a regime in the catalogue (for the filter)."""
    rows = db.session.execute(select(Agency.code, Agency.name).where(
        Agency.code.in_(select(Regime.issuing_agency_code).distinct())))
    return {code: name for code, name in rows}


def get_regime(*, code: str) -> Regime:
    row = db.session.scalar(select(Regime).where(Regime.code == code))
    if row is None:
        raise NotFound(f"Không có chế độ báo cáo mã “{code}”")
    return row


def get_version(*, regime: Regime, version: int | None = None) -> RegimeVersion:
    if version is None:
        return regime.current_version
    for v in regime.versions:
        if v.version == version:
            return v
    raise NotFound(f"Chế độ {regime.code} không có phiên bản {version}")


_DEFINITIONS: dict[tuple[int, str], tuple[RegimeDef, Catalogue]] = {}


def regime_definition(version: RegimeVersion) -> tuple[RegimeDef, Catalogue]:
    """The parsed definition of a version; versions are immutable, so parse each once."""
    key = (version.id, version.content_hash)
    if key not in _DEFINITIONS:
        _DEFINITIONS[key] = regime_from_snapshot(version.snapshot)
    return _DEFINITIONS[key]


@dataclass(frozen=True)
class CalendarRow:
    period: Period
    cutoff_start: date
    cutoff_end: date
    deadlines: list[Deadline]  # one per tier


def regime_calendar(*, regime: RegimeDef, first: date, last: date) -> list[CalendarRow]:
    if (last - first).days > 3660:
        raise Invalid("Khoảng thời gian quá dài: tối đa 10 năm")
    return [calendar_row(regime=regime, period=p) for p in regime.periods(first, last)]


def calendar_row(*, regime: RegimeDef, period: Period) -> CalendarRow:
    start, end = period.cutoff(regime.cutoff)
    return CalendarRow(period, start, end, [compute_deadline(t.deadline, end, period.year) for t in regime.tiers])


def regime_period(*, regime: RegimeDef, key: str) -> CalendarRow:
    try:
        period = Period.parse(key)
        regime.check_period(period)
    except UnknownPeriod as exc:
        raise Invalid(str(exc)) from None
    except DomainError as exc:
        raise Invalid(str(exc)) from None
    return calendar_row(regime=regime, period=period)


def regimes_using(*, indicator_code: str) -> list[Regime]:
    """Regimes whose current version collects this indicator."""
    latest = (select(RegimeVersion.regime_id, func.max(RegimeVersion.version).label("v"))
              .group_by(RegimeVersion.regime_id).subquery())
    stmt = (select(Regime).join(RegimeVersion, RegimeVersion.regime_id == Regime.id)
            .join(latest, (latest.c.regime_id == RegimeVersion.regime_id) & (latest.c.v == RegimeVersion.version))
            .join(RegimeIndicator, RegimeIndicator.regime_version_id == RegimeVersion.id)
            .where(RegimeIndicator.indicator_code == indicator_code).distinct().order_by(Regime.code))
    return list(db.session.scalars(stmt))


def list_indicators(*, q: str = ""):
    stmt = select(Indicator).order_by(Indicator.code)
    if q and fold(q):
        stmt = stmt.where(Indicator.search_text.contains(fold(q), autoescape=True))
    return stmt


def get_indicator(*, code: str) -> Indicator:
    row = db.session.scalar(select(Indicator).where(Indicator.code == code))
    if row is None:
        raise NotFound(f"Không có chỉ tiêu mã “{code}”")
    return row


def disaggregation_names() -> dict[str, Disaggregation]:
    return {d.code: d for d in db.session.scalars(select(Disaggregation))}
