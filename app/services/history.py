"""Reports received before baocao (or generated for the demo): loaded as approved, sealed
submissions with a version source "import", then rolled up like any other. Administrators only."""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from app.domain import seal as sealing
from app.domain.hierarchy import obligations
from app.domain.layout import Entry, Layout
from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, Regime, Role, Submission, SubmissionEvent, SubmissionValue, SubmissionVersion, User

from . import agencies as agency_svc
from . import aggregation_rebuild, quality_store
from .catalogue import regime_definition
from .errors import Forbidden
from .sending import _signing_key, seal_payload
from .submissions import version_in_force


def load_reports(*, actor: User, regime_code: str, period_key: str, reports: Mapping[str, Mapping[tuple[str, str], Decimal]],
                 on_time: Callable[[str], bool] = lambda code: True, compilations: Mapping[str, dict] | None = None) -> int:
    """Store approved reports {agency code: {(indicator, key): value}} for one regime and period.
    Agencies that already have a report for it are left alone. Returns how many were stored."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Chỉ quản trị hệ thống được nạp số liệu lịch sử")
    regime = db.session.scalar(select(Regime).where(Regime.code == regime_code))
    definition, cat = regime_definition(regime.current_version)
    period = Period.parse(period_key)
    version = version_in_force(regime, period.cutoff(definition.cutoff)[1])
    definition, cat = regime_definition(version)
    layout = Layout(definition, cat)
    units = agency_svc.units_on(day=period.cutoff(definition.cutoff)[1])
    owed = {o.agency: o for o in obligations(definition, period, units)}
    agencies = {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(list(reports))))}
    existing = set(db.session.scalars(select(Agency.code).join(Submission, Submission.agency_id == Agency.id)
                                      .where(Submission.regime_id == regime.id, Submission.period_key == period_key)))
    receivers = {a.code: a.id for a in db.session.scalars(select(Agency).where(Agency.code.in_({o.receiver for o in owed.values() if o.receiver})))}
    stored = 0
    for code, values in reports.items():
        ob = owed.get(code)
        if ob is None or code in existing or code not in agencies:
            continue
        agency = agencies[code]
        deadline = ob.deadline.at
        when = (deadline - timedelta(days=2) if on_time(code) else deadline + timedelta(days=3)).replace(microsecond=0)
        full = layout.complete(values)
        entries = {k: Entry(v) for k, v in full.items() if v is not None}
        sub = Submission(regime_id=regime.id, agency_id=agency.id, period_key=period_key, tier=ob.tier,
                         receiver_id=receivers.get(ob.receiver), status="approved", deadline_at=deadline, lock_at=None,
                         approved_version=1, first_submitted_at=when, on_time=when <= deadline, created_at=when, updated_at=when,
                         updated_by_id=actor.id)
        v = SubmissionVersion(number=1, regime_version_id=version.id, status="approved", source="import", outline={},
                              compilation=(compilations or {}).get(code),
                              created_at=when, created_by_id=actor.id, saved_at=when, submitted_at=when, submitted_by_id=actor.id,
                              submitted_by=actor, on_time=when <= deadline, decided_at=when, decided_by_id=actor.id)
        sub.versions.append(v)
        db.session.add(sub)
        db.session.flush()
        db.session.execute(insert(SubmissionValue), [
            {"version_id": v.id, "indicator": k[0], "dkey": k[1], "number": e.value, "text": None, "estimate": False, "comment": ""}
            for k, e in sorted(entries.items())])
        db.session.expire(v, ["values"])
        key, passphrase = _signing_key(agency)
        v.seal_hash = sealing.digest(seal_payload(sub, v))
        v.seal_signature = sealing.sign(key.private_key.encode(), passphrase, v.seal_hash)
        v.seal_key_id = key.id
        db.session.add(SubmissionEvent(submission_id=sub.id, version_number=1, action="imported", actor_id=actor.id, at=when,
                                       detail="Số liệu lịch sử"))
        stored += 1
    db.session.flush()
    if stored:
        aggregation_rebuild.rebuild(regime=regime_code, period=period_key)  # one set-based roll-up for the whole batch
        quality_store.refresh_period(regime.id, period_key)  # and the values' features for the outlier pass
    db.session.commit()
    return stored


def demo_values(layout: Layout, agency: str, period: str, scale: int = 1000) -> dict[tuple[str, str], Decimal]:
    """Plausible, deterministic figures for every typed cell (rules hold once totals are computed),
    shaped like real series: each agency has its own level per cell, figures grow about 6 % a year,
    follow the seasons (the Tết month nearly doubles retail; the fourth quarter is busier) and
    carry ±5 % of noise — so that a check that ignores seasons would cry wolf every Tết."""
    p = Period.parse(period)
    per_year = p.frequency.periods_per_year
    years = p.year - 2024 + ((p.index - 1) / per_year if per_year > 1 else 0)
    if per_year == 12:
        season = 1 + 0.12 * math.sin(2 * math.pi * (p.index - 4) / 12) + (0.85 if p.index == 1 else 0.0)
    elif per_year == 4:
        season = (0.9, 1.0, 1.0, 1.3)[p.index - 1]
    else:
        season = 1.0
    out = {}
    for (code, key), cell in layout.cells.items():
        if cell.computed or cell.indicator.value_type == "text":
            continue
        level = int(hashlib.sha256(f"{agency}|{code}|{key}".encode()).hexdigest()[:8], 16)
        noise = int(hashlib.sha256(f"{agency}|{period}|{code}|{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF - 0.5
        ind = cell.indicator
        if ind.max is not None and ind.max <= 100:  # a percentage: the agency's own level, a few points either way
            lo, hi = int(ind.min or 0), int(ind.max)
            base = lo + (hi - lo) * (0.55 + 0.35 * (level % 1000) / 1000)
            value = Decimal(max(lo, min(hi, round(base + 6 * noise))))
        else:
            base = level % scale + scale // 10
            value = Decimal(max(0, round(base * season * 1.06 ** years * (1 + 0.1 * noise))))
        out[(code, key)] = value
    # "of which" rows stay below their parent; derived rows that must balance are made to
    for line in (ln for g in layout.forms for ln in g.lines):
        if line.row.of_which and line.row.parent and (line.row.parent, "") in out:
            out[(line.indicator.code, "")] = (out[(line.row.parent, "")] / 4).quantize(Decimal(1))
    return out


def seed_history(*, actor: User, communes_of: tuple[str, ...] = ("T01",), compile_last: int = 2,
                 regimes: tuple[str, ...] | None = None, periods: tuple[str, ...] | None = None) -> dict[str, int]:
    """Approved demo reports (about nine in ten agencies report, one in five late): BCT-BANLE from
    the 34 Departments of Industry and Trade (Aug 2025 – Oct 2026); VPCP-TTHC from the 63 provinces
    of the time (2024 – Q2 2025) and, after the reorganisation, from the departments and the
    communes of `communes_of` (Q3 2025 – Q3 2026). For the last `compile_last` periods of each, the
    provinces' own reports are compiled from those (the compile chain). `regimes` and `periods`
    narrow it (tests that need one regime's few periods)."""
    counts = {}
    plan = [("BCT-BANLE", [f"{y}-M{m:02d}" for y, m in [(2025, m) for m in range(8, 13)] + [(2026, m) for m in range(1, 11)]]),
            ("VPCP-TTHC", [f"{y}-Q{q}" for y in (2024, 2025) for q in range(1, 5)] + ["2026-Q1", "2026-Q2", "2026-Q3"])]
    for code, keys in plan:
        keys = [k for k in keys if periods is None or k in periods]
        if regimes is not None and code not in regimes:
            continue
        regime = db.session.scalar(select(Regime).where(Regime.code == code))
        if regime is None:
            continue
        for key in keys:
            definition, cat = regime_definition(regime.current_version)
            period = Period.parse(key)
            if not definition.covers(period):
                continue
            layout = Layout(definition, cat)
            units = agency_svc.units_on(day=period.cutoff(definition.cutoff)[1])
            tiers = sorted({o.tier for o in obligations(definition, period, units)})
            by_code = {u.code: u for u in units}
            first = [o.agency for o in obligations(definition, period, units) if o.tier == tiers[0]
                     and (o.agency[:1] == "T" or by_code[o.agency].province in communes_of)]
            reports = {a: demo_values(layout, a, key) for a in first if int(hashlib.md5(f"{a}{key}".encode()).hexdigest(), 16) % 10 < 9}
            counts[f"{code} {key}"] = load_reports(actor=actor, regime_code=code, period_key=key, reports=reports,
                                                   on_time=lambda a, k=key: int(hashlib.md5(f"late{a}{k}".encode()).hexdigest(), 16) % 5 != 0)
        for key in keys[-compile_last:] if compile_last else []:
            counts[f"{code} {key} tổng hợp"] = compile_provinces(actor=actor, regime_code=code, period_key=key)
    return counts


def compile_provinces(*, actor: User, regime_code: str, period_key: str) -> int:
    """The compile chain in the demo: each province's own report for the period, compiled from what
    its units reported (app/services/chain.py), stored as approved with its compilation record."""
    from datetime import UTC, datetime

    from . import chain
    from .submissions import open_report

    regime = db.session.scalar(select(Regime).where(Regime.code == regime_code))
    definition, _ = regime_definition(regime.current_version)
    period = Period.parse(period_key)
    if len(definition.tiers) < 2 or not definition.covers(period):
        return 0
    units = agency_svc.units_on(day=period.cutoff(definition.cutoff)[1])
    compilers = sorted({o.agency for o in obligations(definition, period, units) if o.tier == 1})
    reports, records = {}, {}
    for code in compilers:
        comp = chain.gather(open_report(user=actor, regime_code=regime_code, agency_code=code, period_key=period_key))
        if comp.counted:
            reports[code] = {k: c.value for k, c in comp.cells.items() if c.value is not None}
            records[code] = comp.record(datetime.now(UTC))
    return load_reports(actor=actor, regime_code=regime_code, period_key=period_key, reports=reports, compilations=records)
