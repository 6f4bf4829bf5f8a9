"""Who has reported: agencies × periods (on time, late, returned, draft, missing, or not owed),
the totals per period and per level, grouped by province and paged at national scale (3,700+
units), and as an Excel workbook."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from app.adapters.collation import sorted_vi
from app.domain import aggregation as rules
from app.domain.hierarchy import obligations
from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, Submission, User

from . import agencies as agency_svc
from .aggregation import NATION
from .catalogue import regime_definition
from .center import _period, _regime, _unit_for


@dataclass
class CompletenessRow:
    code: str
    name: str
    level: str
    cells: dict[str, str]  # period key → on_time | late | returned | draft | missing | "" (not owed)
    province: str = ""  # the province (or CENTRAL) it belongs to, for grouping


@dataclass
class CompletenessView:
    periods: list[Period]
    rows: list[CompletenessRow]
    totals: dict[str, rules.Completeness]  # period key → counts
    by_level: dict[str, rules.Completeness]  # for the latest period
    by_tier: dict[int, rules.Completeness] = field(default_factory=dict)  # the latest period, every tier (timeliness by tier)
    tier_names: dict[int, str] = field(default_factory=dict)
    tier: int = 0


def completeness(*, user: User, regime: str, period: str, unit: str = NATION, tier: int | None = None,
                 periods: int = 6) -> CompletenessView:
    """Agencies × periods: on time, late, returned, draft, missing — only agencies that existed and
    were obliged to report in each period count, so no rate can exceed 100 %."""
    unit = _unit_for(user, unit)
    r = _regime(regime)
    definition, _ = regime_definition(r.current_version)
    last = _period(definition, period)
    keys = [last.shift(-i) for i in range(periods - 1, -1, -1)]
    keys = [p for p in keys if definition.covers(p)]
    tier_choice = tier if tier is not None else 0
    status = {}
    rows = db.session.execute(select(Submission.period_key, Agency.code, Submission.status, Submission.on_time)
                              .join(Agency, Agency.id == Submission.agency_id)
                              .where(Submission.regime_id == r.id, Submission.period_key.in_([p.key for p in keys]))).all()
    for key, code, s, on_time in rows:
        status[(key, code)] = (s, on_time)
    matrix: dict[str, CompletenessRow] = {}
    totals, by_level, by_tier, chosen = {}, {}, {}, tier_choice
    maps: list[tuple] = []  # (day, units): the map is read once for the periods it did not change between
    for p in keys:
        day = p.cutoff(definition.cutoff)[1]
        units = next((u for d, u in maps if not agency_svc.map_changed_between(d, day)), None)
        if units is None:
            units = agency_svc.units_on(day=day)
            maps.append((day, units))
        pkey = p.key
        by_code = {u.code: u for u in units}
        obs = obligations(definition, p, units)
        tiers_here = sorted({o.tier for o in obs})
        t = tier_choice if tier_choice in tiers_here else (tiers_here[0] if tiers_here else 0)
        owed = [o.agency for o in obs if o.tier == t]
        if unit != NATION:
            owed = [c for c in owed if c == unit or by_code[c].province == unit]
        st = {c: status.get((pkey, c), (None, None)) for c in owed}
        totals[pkey] = rules.completeness(owed, st)
        for c in owed:
            u = by_code[c]
            row = matrix.setdefault(c, CompletenessRow(c, u.name, u.level, {}, u.province or ""))
            row.cells[pkey] = rules.classify(*st[c])
        if p == keys[-1]:
            by_tier = {}
            for tier_no in tiers_here:
                owed_t = [o.agency for o in obs if o.tier == tier_no]
                if unit != NATION:
                    owed_t = [c for c in owed_t if c == unit or by_code[c].province == unit]
                by_tier[tier_no] = rules.completeness(owed_t, {c: status.get((pkey, c), (None, None)) for c in owed_t})
            chosen = t
            levels = defaultdict(list)
            for c in owed:
                levels[by_code[c].level].append(c)
            by_level = {lvl: rules.completeness(cs, st) for lvl, cs in levels.items()}
    ordered = sorted(sorted_vi(matrix.values(), key=lambda r: r.name), key=lambda r: r.level)
    names = {i: t.name for i, t in enumerate(definition.tiers)}
    return CompletenessView(keys, ordered, totals, by_level, by_tier, names, chosen)


@dataclass
class ProvinceGroup:
    code: str
    name: str
    rows: list[CompletenessRow]
    sent: int  # rows whose latest period is sent (on time or late)
    owed: int  # rows that owe the latest period


def grouped(cv: CompletenessView, *, page: int = 1, rows_per_page: int = 400) -> tuple[list[ProvinceGroup], int]:
    """The matrix grouped by province (Vietnamese order; ministries last), cut into pages of whole
    provinces of about `rows_per_page` rows. Returns (the page's groups, the number of pages)."""
    by: dict[str, list[CompletenessRow]] = defaultdict(list)
    for r in cv.rows:
        by[r.province or "TW"].append(r)
    names = agency_svc.names_for([c for c in by if c != "TW"])
    last = cv.periods[-1].key if cv.periods else ""
    groups = [ProvinceGroup(code, names.get(code, "Bộ, ngành trung ương" if code == "TW" else code), rows,
                            sum(1 for r in rows if r.cells.get(last) in ("on_time", "late")),
                            sum(1 for r in rows if r.cells.get(last))) for code, rows in by.items()]
    groups = sorted(sorted_vi(groups, key=lambda g: g.name), key=lambda g: g.code == "TW")
    pages: list[list[ProvinceGroup]] = [[]]
    size = 0
    for g in groups:
        if size and size + len(g.rows) > rows_per_page:
            pages.append([])
            size = 0
        pages[-1].append(g)
        size += len(g.rows)
    page = min(max(page, 1), len(pages))
    return pages[page - 1], len(pages)


STATUS_VI = {"on_time": "Đúng hạn", "late": "Muộn", "returned": "Bị trả lại", "draft": "Đang soạn", "missing": "Chưa gửi", "": "—"}


def workbook(cv: CompletenessView, *, title: str) -> bytes:
    """Every unit, grouped by province, one column per period, as .xlsx (text cells as text)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from app.adapters import cells

    groups, _pages = grouped(cv, rows_per_page=10**9)
    wb = Workbook()
    ws = wb.active
    ws.title = "Tình hình gửi báo cáo"
    cells.append(ws, [title])
    ws["A1"].font = Font(bold=True)
    cells.append(ws, ["Tỉnh, thành phố", "Mã đơn vị", "Đơn vị", "Cấp", *[p.label_vi for p in cv.periods]])
    for g in groups:
        for r in g.rows:
            cells.append(ws, [g.name, r.code, r.name, r.level, *[STATUS_VI[r.cells.get(p.key, "")] for p in cv.periods]])
    for col, width in (("A", 28), ("B", 14), ("C", 48)):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
