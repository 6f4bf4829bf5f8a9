"""The compile chain (tổng hợp): a report of tier N is compiled from the tier N−1 reports its
agency received — directly, or through one of its departments (the provincial office receives
VPCP-TTHC for its province). Each cell follows its indicator's aggregation rule, with the same
code as the reporting center (app/domain/aggregation.py); every compiled cell stays traceable to
the units' values; the compiler may override any cell with a reason; changes below after
compiling are shown and taken over in one action, overrides kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.adapters.collation import sorted_vi
from app.domain import chain as rules
from app.domain.aggregation import CompiledCell, compile_cells
from app.domain.catalogue import CompilePolicy
from app.domain.hierarchy import obligations
from app.domain.layout import CellKey
from app.domain.numbers import canonical
from app.domain.workflow import Status
from app.extensions import db
from app.models import Agency, Submission, SubmissionValue, SubmissionVersion, User
from app.models.base import utcnow

from . import agencies as agency_service
from .errors import Invalid
from .submissions import Report, SaveResult, _commit_or_conflict, open_report, save

COUNTED = {"approved": ("approved",), "submitted": ("submitted", "approved")}


@dataclass
class UnitSource:
    """One unit owing the lower-tier report, and what the compile took from it."""

    code: str
    name: str
    status: str  # not_started | draft | submitted | returned | approved
    on_time: bool | None = None
    submission_id: int | None = None
    version: int | None = None  # the version counted, None when not counted
    carried_from: str | None = None  # period key whose value was carried (an estimate)
    values: dict[CellKey, tuple[Decimal | str | None, bool]] = field(default_factory=dict)  # cell → (value, estimate)
    outline: dict[str, str] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.version is not None


@dataclass
class Compilation:
    report: Report
    tier: int  # index of the tier compiled from
    policy: CompilePolicy
    units: list[UnitSource]
    cells: dict[CellKey, CompiledCell]

    @property
    def counted(self) -> list[UnitSource]:
        return [u for u in self.units if u.counted]

    @property
    def missing(self) -> list[UnitSource]:
        return [u for u in self.units if not u.counted]

    @property
    def late(self) -> list[UnitSource]:
        return [u for u in self.units if u.on_time is False]

    def record(self, at: datetime) -> dict:
        return {
            "at": at.isoformat(), "tier": self.tier, "policy": {"basis": self.policy.basis, "missing": self.policy.missing},
            "sources": {u.code: {"submission": u.submission_id, "version": u.version, "status": u.status}
                        for u in self.units if u.counted and not u.carried_from},
            "carried": {u.code: u.carried_from for u in self.units if u.carried_from},
            "missing": sorted(u.code for u in self.units if not u.counted),
            "values": {rules.cell_id(k): (None if c.value is None else canonical(c.value)) for k, c in self.cells.items()},
            "units": {rules.cell_id(k): c.units for k, c in self.cells.items()},
            "estimates": sorted(rules.cell_id(k) for k, c in self.cells.items() if c.estimate),
        }


def compiles(report: Report) -> bool:
    """Whether this report is compiled from a tier below (periodic regimes, tiers above the first)."""
    return report.request is None and report.tier >= 1


def _lower_units(report: Report) -> list[tuple[str, str]]:
    """(code, name) of the units owing the tier below to this report's agency or its departments."""
    definition, period = report.definition, report.period
    day = period.cutoff(definition.cutoff)[1]
    units = agency_service.units_on(day=day)
    parent = {u.code: u.parent for u in units}
    names = {u.code: u.name for u in units}
    me = report.agency.code
    out = []
    for o in obligations(definition, period, units):
        if o.tier == report.tier - 1 and o.receiver and (o.receiver == me or parent.get(o.receiver) == me) and o.agency != me:
            out.append((o.agency, names.get(o.agency, o.agency)))
    return sorted(out)


def gather(report: Report) -> Compilation:
    """Read what the units below reported (set-based: a few queries whatever their number) and
    compile every typed cell. Writes nothing."""
    if not compiles(report):
        raise Invalid("Báo cáo này không tổng hợp từ báo cáo cấp dưới (chỉ cấp báo cáo thứ hai trở lên của chế độ định kỳ)")
    tier = report.tier - 1
    policy = report.definition.tiers[report.tier].compile
    lower = _lower_units(report)
    codes = [c for c, _ in lower]
    ids = dict(db.session.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes))).all()) if codes else {}
    subs = {s.agency_id: s for s in db.session.scalars(
        select(Submission).where(Submission.regime_id == report.regime.id, Submission.period_key == report.period_key,
                                 Submission.agency_id.in_(list(ids.values())), Submission.tier == tier)
        .options(selectinload(Submission.versions)))} if ids else {}
    counted = COUNTED[policy.basis]
    units, version_ids = [], {}
    for code, name in lower:
        sub = subs.get(ids.get(code))
        unit = UnitSource(code, name, sub.status if sub else Status.NOT_STARTED.value, sub.on_time if sub else None,
                          sub.id if sub else None)
        if sub is not None:
            chosen = _counted_version(sub, counted)
            if chosen is not None:
                unit.version = chosen.number
                unit.outline = dict(chosen.outline or {})
                version_ids[chosen.id] = unit
        units.append(unit)
    if policy.missing == "carry_last":
        _carry_last(report, [u for u in units if not u.counted], ids, tier, counted, version_ids)
    _load_values(version_ids)
    inputs = [(k, c.indicator) for k, c in report.layout.cells.items() if not c.computed]
    sources = {u.code: (u.values if not u.carried_from else {k: (v, True) for k, (v, _e) in u.values.items()})
               for u in units if u.counted}
    return Compilation(report, tier, policy, units, compile_cells(inputs, sources))


def _counted_version(sub: Submission, counted: tuple[str, ...]) -> SubmissionVersion | None:
    """The version a compile takes: the submitted one when the policy counts submitted reports and
    one is waiting; else the approved one (as the reporting center counts), if any."""
    latest = sub.latest
    if "submitted" in counted and sub.status in ("submitted", "approved") and latest is not None and latest.seal_hash:
        return latest
    return sub.version(sub.approved_version) if sub.approved_version else None


def _carry_last(report: Report, missing: list[UnitSource], ids: dict[str, int], tier: int, counted, version_ids) -> None:
    """A missing unit contributes its last counted value of an earlier period, marked as an estimate."""
    by_id = {ids[u.code]: u for u in missing if u.code in ids}
    if not by_id:
        return
    earlier = db.session.scalars(
        select(Submission).where(Submission.regime_id == report.regime.id, Submission.agency_id.in_(list(by_id)),
                                 Submission.tier == tier, Submission.request_id.is_(None),
                                 Submission.period_key < report.period_key)
        .order_by(Submission.period_key.desc()))
    for sub in earlier:
        unit = by_id.get(sub.agency_id)
        if unit is None or unit.carried_from:
            continue
        chosen = _counted_version(sub, counted)
        if chosen is not None:
            unit.carried_from, unit.version, unit.submission_id = sub.period_key, chosen.number, sub.id
            version_ids[chosen.id] = unit


def _load_values(version_ids: dict[int, UnitSource]) -> None:
    """The values of the counted versions, in one query read as plain rows (31,500 of them for a
    province of 126 communes: the ORM's per-row type processing was a third of the compile)."""
    if not version_ids:
        return
    from .center import _raw

    rows = db.session.execute(select(SubmissionValue.version_id, SubmissionValue.indicator, SubmissionValue.dkey,
                                     _raw(SubmissionValue.number), SubmissionValue.text, SubmissionValue.estimate)
                              .where(SubmissionValue.version_id.in_(list(version_ids))))
    for vid, ind, dkey, number, text, estimate in rows:
        value = text if text is not None else (None if number is None else number if isinstance(number, Decimal) else Decimal(number))
        version_ids[vid].values[(ind, dkey)] = (value, bool(estimate))


# ---------------------------------------------------------------------------------- the draft
def fill(*, user: User, regime_code: str, agency_code: str, period_key: str, revision: int | None = None,
         now: datetime | None = None) -> tuple[SaveResult, Compilation]:
    """"Tổng hợp từ báo cáo cấp dưới": fill the draft from the units' reports. Cells the compiler
    overrode since the last compile keep their value (and their reason); every other typed cell
    takes the compiled value. Empty compiled outline sections get the units' texts under their names."""
    now = now or utcnow()
    report = open_report(user=user, regime_code=regime_code, agency_code=agency_code, period_key=period_key, for_write=True)
    comp = gather(report)
    if not comp.counted:
        basis = "đã duyệt" if comp.policy.basis == "approved" else "đã gửi hoặc đã duyệt"
        raise Invalid(f"Chưa có báo cáo nào của {len(comp.units)} đơn vị cấp dưới ({basis}) để tổng hợp; không có gì thay đổi")
    latest = report.submission.latest if report.submission else None
    current = report.entries()
    previous = latest.compilation if latest is not None else None
    kept = rules.overrides(previous, current) if previous else {}
    raw: dict[CellKey, tuple[object, bool, str]] = {}
    for key, cell in comp.cells.items():
        if key in kept:
            e = current[key]
            raw[key] = (e.value, e.estimate, e.comment)
        elif cell.value is not None:
            note = current[key].comment if key in current and key[1] == "" else ""
            raw[key] = (format(cell.value, "f"), cell.estimate, note)
    for key, e in current.items():  # notes on rows (reasons of overrides) and text cells stay
        if key not in raw and key in report.layout.cells and not report.layout.cells[key].computed and (e.comment or isinstance(e.value, str)):
            raw[key] = (e.value, e.estimate, e.comment)
    outline = dict(report.outline())
    sections = [s.code for s in report.definition.outline if s.compiled]
    gathered = rules.gathered_narrative(sections, {u.code: u.outline for u in comp.counted}, {u.code: u.name for u in comp.units})
    for code, text in gathered.items():
        if not (outline.get(code) or "").strip():
            outline[code] = text[:20000]
    result = save(user=user, report=report, raw=raw, outline=outline, revision=revision, source="compiled", now=now,
                  commit=False)
    result.version.compilation = comp.record(now)
    _commit_or_conflict(result.submission, "save.compiled")
    return result, comp


# ----------------------------------------------------------------------------- what changed below
@dataclass(frozen=True)
class Change:
    code: str
    name: str
    before: str  # "v2 (đã duyệt)" / "chưa có"
    after: str


def changes_below(report: Report, comp: Compilation | None = None) -> list[Change]:
    """Units whose counted report differs from what the latest version was compiled from: a unit
    resubmitted, was approved or returned, or reported after the compile."""
    version = report.submission.latest if report.submission else None
    record = version.compilation if version is not None else None
    if not record or not compiles(report):
        return []
    comp = comp or gather(report)
    before = record.get("sources") or {}
    out = []
    for u in comp.units:
        was = before.get(u.code)
        now_v = (u.submission_id, u.version) if u.counted and not u.carried_from else None
        then_v = (was["submission"], was["version"]) if was else None
        if now_v != then_v:
            out.append(Change(u.code, u.name, f"phiên bản {then_v[1]}" if then_v else "chưa có",
                              f"phiên bản {now_v[1]} ({_status_vi(u.status)})" if now_v else f"không còn được tính ({_status_vi(u.status)})"))
    return out


def _status_vi(status: str) -> str:
    return {"approved": "đã duyệt", "submitted": "đã gửi", "returned": "bị trả lại", "draft": "đang soạn",
            "not_started": "chưa lập"}.get(status, status)


@dataclass(frozen=True)
class SourceValue:
    code: str
    name: str
    value: object
    version: int | None
    status: str
    estimate: bool
    carried_from: str | None


def sources_of(comp: Compilation, key: CellKey) -> list[SourceValue]:
    """The drill-back list of one compiled cell: every unit owed, its value, version and status."""
    out = []
    for u in comp.units:
        value, estimate = u.values.get(key, (None, False))
        out.append(SourceValue(u.code, u.name, value, u.version, u.status, bool(value is not None and (estimate or u.carried_from)),
                               u.carried_from))
    return out


# ------------------------------------------------------------------ the reporting center: both figures
@dataclass(frozen=True)
class TierRow:
    code: str
    name: str
    primary: Decimal | None  # the sum (by the indicator's rule) of the first-tier reports of the province
    primary_units: int
    compiled: Decimal | None  # the province's own compiled report
    difference: Decimal | None

    @property
    def differs(self) -> bool:
        return self.difference is not None and self.difference != 0


@dataclass
class TierComparison:
    indicator: object  # IndicatorDef
    indicators: list
    primary_tier: int
    top_tier: int
    rows: list[TierRow]
    completeness: list[tuple[str, object]]  # (tier name, Completeness)
    national_primary: Decimal | None
    national_compiled: Decimal | None


def compare_tiers(*, user: User, regime: str, period: str, indicator: str = "", basis: str = "approved") -> TierComparison:
    """For a multi-tier regime, per province: the figure summed from the primary (first-tier)
    reports beside the province's own compiled report, and the difference ("chênh lệch"); with
    the completeness of each tier."""
    from . import center as center_svc
    from . import completeness as completeness_svc

    first = center_svc.view(user=user, regime=regime, period=period, basis=basis, tier=0)
    top = len(first.definition.tiers) - 1
    if top < 1:
        raise Invalid("Chế độ này chỉ có một cấp báo cáo: không có báo cáo tổng hợp để so sánh")
    compiled = center_svc.view(user=user, regime=regime, period=period, basis=basis, tier=top)
    has_top = compiled.tier == top
    inds = [r.indicator for r in first.rows if r.indicator.value_type != "text" and r.indicator.aggregation != "none"]
    ind = next((i for i in inds if i.code == indicator), inds[0] if inds else None)
    if ind is None:
        raise Invalid("Chế độ này không có chỉ tiêu số để so sánh")
    own = {c.code: c for c in compiled.children} if has_top else {}
    rows = []
    for c in first.children:
        p, q = c.values.get(ind.code), (own[c.code].values.get(ind.code) if c.code in own else None)
        rows.append(TierRow(c.code, c.name, p, c.reporting, q, (q - p) if p is not None and q is not None else None))
    for code, c in own.items():
        if code not in {r.code for r in rows}:
            q = c.values.get(ind.code)
            rows.append(TierRow(code, c.name, None, 0, q, None))
    row_of = {r.indicator.code: r for r in first.rows}
    top_row = {r.indicator.code: r for r in compiled.rows} if has_top else {}
    comp = []
    for t, tier in enumerate(first.definition.tiers):
        cv = completeness_svc.completeness(user=user, regime=regime, period=period, tier=t, periods=1)
        comp.append((tier.name, cv.totals.get(first.period.key)))
    return TierComparison(ind, inds, 0, top, sorted_vi(rows, key=lambda r: r.name), comp,
                          row_of[ind.code].values.get("") if ind.code in row_of else None,
                          top_row[ind.code].values.get("") if ind.code in top_row else None)


def own_report(*, regime: str, period: str, agency: str):
    """(submission, version) of the report an agency compiled and sent for (regime, period) — its
    approved version, else its last sealed one — or None (a first-tier agency, nothing sent yet)."""
    from app.models import Regime

    sub = db.session.scalar(select(Submission).join(Regime, Regime.id == Submission.regime_id)
                            .join(Agency, Agency.id == Submission.agency_id)
                            .where(Regime.code == regime, Agency.code == agency, Submission.period_key == period,
                                   Submission.tier >= 1, Submission.request_id.is_(None)))
    if sub is None:
        return None
    version = sub.version(sub.approved_version) if sub.approved_version else None
    if version is None:
        sealed = [v for v in sub.versions if v.seal_hash]
        version = sealed[-1] if sealed else None
    return (sub, version) if version is not None else None


@dataclass(frozen=True)
class Correction:
    """An estimate (ước thực hiện) the previous period's report was compiled from, now that the
    actual arrived below: what was sent, what the units' reports give now."""

    code: str
    name: str
    unit: str
    sent: Decimal | None
    actual: Decimal | None


def previous_corrections(report: Report, user: User) -> list[Correction]:
    """Cells of the previous period's compiled report that rested on estimates and whose actual has
    since arrived from the units below (their estimate replaced by an actual, or the figure changed)."""
    from .submissions import get_report

    if not compiles(report):
        return []
    own = own_report(regime=report.regime.code, period=report.period.previous().key, agency=report.agency.code)
    if own is None or not (own[1].compilation or {}).get("estimates"):
        return []
    sub, version = own
    record = version.compilation
    comp = gather(get_report(user=user, submission_id=sub.id))
    out = []
    for cid in record["estimates"]:
        key = rules.key_of(cid)
        now = comp.cells.get(key)
        before = record["values"].get(cid)
        if now is None or now.value is None or now.estimate:
            continue
        if before is None or Decimal(str(before)) != now.value:
            cell = report.layout.cells.get(key)
            out.append(Correction(key[0], cell.indicator.name_vi if cell else key[0], cell.indicator.unit if cell else "",
                                  None if before is None else Decimal(str(before)), now.value))
    return out
