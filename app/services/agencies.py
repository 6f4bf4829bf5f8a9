"""The agency map: load it, browse it, follow lineage, and say who owes which report."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from app.adapters import reference_data as ref
from app.adapters.collation import fold
from app.domain import hierarchy
from app.domain.catalogue import RegimeDef
from app.domain.periods import Period
from app.extensions import db
from app.models import Agency, AgencyLineage, AgencyParent, Level

from . import center_cache
from .errors import Invalid, NotFound

REFORM_PROVINCES = date(2025, 7, 1)
GOVERNMENT = "CP"
CENTER = "VPCP"  # the Government Office: its reporting center issues (and signs) the national report


@dataclass
class AgencyLoadSummary:
    created: int = 0
    updated: int = 0
    links_created: int = 0
    lineage_created: int = 0
    by_level: dict[str, int] = field(default_factory=dict)


def province_code(official: str, old: bool = False) -> str:
    return f"T{official}-63" if old else f"T{official}"


def load_agencies(*, progress: Callable[[int, int], None] = lambda done, total: None) -> AgencyLoadSummary:
    """Build the real map idempotently: Government, ministries (before and after 1 Mar 2025),
    provinces (63 before and 34 after 1 Jul 2025), 3,321 communes, demo departments, lineage."""
    summary = AgencyLoadSummary()
    units, links, lineage = _reference_units()
    total = len(units) + len(links) + len(lineage)
    progress(0, total)
    existing = {a.code: a for a in db.session.scalars(select(Agency))}
    for spec in units:
        row = existing.get(spec["code"])
        if row is None:
            row = Agency(**spec)
            db.session.add(row)
            existing[row.code] = row
            summary.created += 1
        elif any(getattr(row, k) != v for k, v in spec.items()):
            for k, v in spec.items():
                setattr(row, k, v)
            summary.updated += 1
        summary.by_level[spec["level"]] = summary.by_level.get(spec["level"], 0) + 1
    db.session.flush()
    progress(len(units), total)
    have = {(link.child_id, link.parent_id, link.valid_from) for link in db.session.scalars(select(AgencyParent))}
    new_links = []
    for child, parent, since, until in links:
        key = (existing[child].id, existing[parent].id, since)
        if key not in have:
            new_links.append(dict(child_id=key[0], parent_id=key[1], valid_from=since, valid_to=until))
            have.add(key)
    if new_links:
        db.session.execute(AgencyParent.__table__.insert(), new_links)
    summary.links_created = len(new_links)
    progress(len(units) + len(links), total)
    pairs = {(link.predecessor_id, link.successor_id) for link in db.session.scalars(select(AgencyLineage))}
    for old, new, effective, weight, basis in lineage:
        key = (existing[old].id, existing[new].id)
        if key not in pairs:
            db.session.add(AgencyLineage(predecessor_id=key[0], successor_id=key[1], effective=effective,
                                         weight=weight, legal_basis=basis))
            pairs.add(key)
            summary.lineage_created += 1
    center_cache.bump_map()  # names, lineage and obligations the reporting center's kept views read
    db.session.commit()
    progress(total, total)
    return summary


def _reference_units():
    units = [dict(code=GOVERNMENT, name="Chính phủ", level=Level.CENTRAL.value, kind="chính phủ",
                  official_code=None, edoc_code=None, valid_from=None, valid_to=None, note=None)]
    links: list[tuple[str, str, date | None, date | None]] = []
    lineage: list[tuple[str, str, date, float, str]] = []

    def unit(code, name, level, kind=None, official=None, since=None, until=None, note=None):
        units.append(dict(code=code, name=name, level=level, kind=kind, official_code=official,
                          edoc_code=ref.EDOC_CODES.get(code), valid_from=since, valid_to=until, note=note))

    ministry_lineage = ref.read_csv("ministry_lineage_2025.csv")
    predecessors: dict[str, int] = {}
    for row in ministry_lineage:
        predecessors[row["new_code"]] = predecessors.get(row["new_code"], 0) + 1
    for row in ref.read_csv("ministries_2025.csv"):
        # A ministry formed from two or more (or marked new) starts on 1 Mar 2025; one that
        # absorbed another continues from before.
        is_new = predecessors.get(row["code"], 0) >= 2 or row["note"].strip() == "new"
        since = date.fromisoformat(row["valid_from"]) if is_new else None
        unit(row["code"], row["name"], Level.MINISTRY.value, row["kind"], since=since, note=row["note"] or None)
        links.append((row["code"], GOVERNMENT, since, None))
    for row in ministry_lineage:
        until = date.fromisoformat(row["effective"]) - timedelta(days=1)
        unit(row["old_code"], row["old_name"], Level.MINISTRY.value, "bộ", until=until)
        links.append((row["old_code"], GOVERNMENT, None, until))
        lineage.append((row["old_code"], row["new_code"], date.fromisoformat(row["effective"]), 1.0, row["legal_basis"]))

    for row in ref.read_csv("provinces_pre2025.csv"):
        code = province_code(row["code"], old=True)
        until = date.fromisoformat(row["valid_to"])
        unit(code, row["name"], Level.PROVINCE.value, row["division_type"], row["code"], until=until)
        links.append((code, GOVERNMENT, None, until))
    for row in ref.read_csv("provinces_2025.csv"):
        code, since = province_code(row["code"]), date.fromisoformat(row["valid_from"])
        unit(code, row["name"], Level.PROVINCE.value, row["division_type"], row["code"], since=since)
        links.append((code, GOVERNMENT, since, None))
        for kind, name in ref.DEPARTMENTS:
            dept = f"{code}.{kind}"
            unit(dept, f"{name} {_short(row['name'])}", Level.DEPARTMENT.value, kind, since=since)
            links.append((dept, code, since, None))
    for row in ref.read_csv("province_lineage_2025.csv"):
        lineage.append((province_code(row["old_code"], old=True), province_code(row["new_code"]),
                        date.fromisoformat(row["effective"]), float(row["weight"]), row["legal_basis"]))
    for row in ref.communes():
        code = f"X{row['code']}"
        unit(code, row["name"], Level.COMMUNE.value, row["kind"], row["code"], since=REFORM_PROVINCES)
        links.append((code, province_code(row["province"]), REFORM_PROVINCES, None))
    return units, links, lineage


def _short(province_name: str) -> str:
    """'Thành phố Hà Nội' → 'thành phố Hà Nội', 'Cao Bằng' → 'tỉnh Cao Bằng' (as in a department's name)."""
    if province_name.startswith("Thành phố "):
        return "thành phố " + province_name[len("Thành phố "):]
    return "tỉnh " + province_name


# ---------------------------------------------------------------------------------- reading
def get_agency(*, code: str) -> Agency:
    row = db.session.scalar(select(Agency).where(Agency.code == code))
    if row is None:
        raise NotFound(f"Không có cơ quan, đơn vị mã “{code}”")
    return row


def valid_on_clause(model, day: date):
    return and_(or_(model.valid_from.is_(None), model.valid_from <= day),
                or_(model.valid_to.is_(None), model.valid_to >= day))


def search_agencies(*, q: str = "", level: str = "", parent: str = "", on: date | None = None,
                    include_closed: bool = False):
    """A select of agencies matching the filters; `on` limits to units in force that day."""
    if level and level not in {lv.value for lv in Level}:
        raise Invalid(f"Cấp “{level}” không hợp lệ; chọn: {', '.join(lv.value for lv in Level)}")
    stmt = select(Agency)
    if parent:
        parent_row = get_agency(code=parent)
        link = aliased(AgencyParent)
        stmt = stmt.join(link, link.child_id == Agency.id).where(link.parent_id == parent_row.id)
        if on and not include_closed:
            stmt = stmt.where(valid_on_clause(link, on))
    if q and fold(q):  # diacritics and case ignored: "ba vi" finds "Xã Ba Vì"
        stmt = stmt.where(or_(Agency.search_text.contains(fold(q), autoescape=True), Agency.official_code == q.strip()))
    if level:
        stmt = stmt.where(Agency.level == level)
    if on and not include_closed:
        stmt = stmt.where(valid_on_clause(Agency, on))
    return stmt.order_by(Agency.level, Agency.sort_name, Agency.code).distinct()


def children_of(*, agency: Agency, on: date | None) -> list[Agency]:
    link = aliased(AgencyParent)
    stmt = select(Agency).join(link, link.child_id == Agency.id).where(link.parent_id == agency.id)
    if on:
        stmt = stmt.where(valid_on_clause(link, on))
    return list(db.session.scalars(stmt.order_by(Agency.level, Agency.sort_name)))


def lineage_of(*, agency: Agency) -> tuple[list[AgencyLineage], list[AgencyLineage]]:
    """(links to predecessors, links to successors)."""
    before = list(db.session.scalars(select(AgencyLineage).where(AgencyLineage.successor_id == agency.id)))
    after = list(db.session.scalars(select(AgencyLineage).where(AgencyLineage.predecessor_id == agency.id)))
    return before, after


def descendant_ids(*, agency_id: int, on: date | None = None) -> set[int]:
    """The agency and every unit below it (set-based, one query per level)."""
    found, frontier = {agency_id}, {agency_id}
    while frontier:
        stmt = select(AgencyParent.child_id).where(AgencyParent.parent_id.in_(frontier))
        if on:
            stmt = stmt.where(valid_on_clause(AgencyParent, on))
        frontier = set(db.session.scalars(stmt)) - found
        found |= frontier
    return found


def current_units_for(*, code: str, on: date) -> dict[str, float]:
    """Which units in force on `on` the data of `code` belongs to, with shares (lineage)."""
    agency = get_agency(code=code)
    edges = [hierarchy.Edge(p, s, eff, w) for p, s, eff, w in db.session.execute(
        select(_code_of(AgencyLineage.predecessor_id), _code_of(AgencyLineage.successor_id),
               AgencyLineage.effective, AgencyLineage.weight))]
    codes = {agency.code} | {e.predecessor for e in edges} | {e.successor for e in edges}
    valid = {c: True for c in db.session.scalars(select(Agency.code).where(Agency.code.in_(codes), valid_on_clause(Agency, on)))}
    return hierarchy.current_units(agency.code, on, edges, valid)


def _code_of(column):
    return select(Agency.code).where(Agency.id == column).scalar_subquery()


def units_on(*, day: date, near: Iterable[str] | None = None) -> list[hierarchy.Unit]:
    """Every agency in force on `day`, with its parent and province that day (one query).
    `near` limits it to the named agencies and their children (enough to find receivers)."""
    parent = aliased(Agency)
    stmt = (select(Agency.code, Agency.name, Agency.level, Agency.kind, parent.code, parent.level)
            .join(AgencyParent, and_(AgencyParent.child_id == Agency.id, valid_on_clause(AgencyParent, day)), isouter=True)
            .join(parent, parent.id == AgencyParent.parent_id, isouter=True)
            .where(valid_on_clause(Agency, day)))
    if near is not None:
        near = list(set(near))
        stmt = stmt.where(or_(Agency.code.in_(near), parent.code.in_(near)))
    rows = db.session.execute(stmt).all()
    out = []
    province_level = Level.PROVINCE.value  # once: an enum member's .value is slow enough to show over 3,700 rows
    for code, name, level, kind, parent_code, parent_level in rows:
        province = code if level == province_level else parent_code if parent_level == province_level else None
        out.append(hierarchy.Unit(code, name, level, kind, parent_code, province))
    return out


def obligations_for(*, regime: RegimeDef, period: Period) -> list[hierarchy.Obligation]:
    """Which agencies must report `regime` for `period`, to whom, by when."""
    try:
        regime.check_period(period)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return hierarchy.obligations(regime, period, units_on(day=period.cutoff(regime.cutoff)[1]))


def map_changed_between(a: date, b: date) -> bool:
    """Whether any agency or link came into force or ended between two days: when not, the map of
    the one day is the map of the other (pages that read several periods read it once)."""
    lo, hi = min(a, b), max(a, b)
    for model in (Agency, AgencyParent):
        ends = or_(model.valid_from.between(lo + timedelta(days=1), hi), model.valid_to.between(lo, hi - timedelta(days=1)))
        if db.session.scalar(select(model.id).where(ends).limit(1)) is not None:
            return True
    return False


def names_for(codes: Iterable[str]) -> dict[str, str]:
    codes = list(set(codes))
    rows = db.session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes))) if codes else []
    return {code: name for code, name in rows}


def obligation_of(*, regime: RegimeDef, period: Period, agency: Agency) -> hierarchy.Obligation | None:
    """What `agency` owes for `regime` and `period` (its first tier that selects it), or None."""
    day = period.cutoff(regime.cutoff)[1]
    parent = agency.parent_on(day)
    near = {agency.code} | ({parent.code} if parent else set())
    grand = parent.parent_on(day) if parent else None
    if grand is not None:
        near.add(grand.code)
    near |= {t.receiver for t in regime.tiers if t.receiver not in ("parent", "province") and ":" not in t.receiver}
    units = units_on(day=day, near=near)
    mine = [o for o in hierarchy.obligations(regime, period, units) if o.agency == agency.code]
    return mine[0] if mine else None


@dataclass(frozen=True)
class Pick:
    """An agency as a picker shows it: its name, the province it belongs to, its level."""

    code: str
    name: str
    level: str
    province: str


def pick(*, q: str, within: set[int] | None = None, limit: int = 20, on: date | None = None) -> list[Pick]:
    """Agencies in force whose name or code matches `q` (diacritics ignored), with their province
    to tell namesakes apart ("Xã Ba Vì — Thành phố Hà Nội"); `within` limits them to a scope."""
    on = on or date.today()
    q = (q or "")[:100]
    if not fold(q):
        return []
    stmt = search_agencies(q=q, on=on)
    if within is not None:
        stmt = stmt.where(Agency.id.in_(within))
    rows = list(db.session.scalars(stmt.limit(limit)))
    out = []
    for a in rows:
        parent = a.parent_on(on)
        province = a.name if a.level == "province" else (parent.name if parent is not None and parent.level == "province" else "")
        out.append(Pick(a.code, a.name, a.level, province))
    return out


def resolve(*, text: str, within: set[int] | None = None, on: date | None = None) -> Agency:
    """The agency an administrator meant: its code, or a name that matches exactly one agency in
    force (diacritics ignored) — several namesakes are refused with their provinces to choose."""
    text = (text or "").strip()[:255]
    row = db.session.scalar(select(Agency).where(Agency.code == text)) if text else None
    if row is not None:
        return row
    on = on or date.today()
    stmt = select(Agency).where(Agency.search_text.startswith(fold(text) + " ", autoescape=True))
    if within is not None:
        stmt = stmt.where(Agency.id.in_(within))
    named = [a for a in db.session.scalars(stmt.limit(50)) if fold(a.name) == fold(text) and a.exists_on(on)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        choices = "; ".join(f"{p.name} — {p.province or p.level} (mã {p.code})"
                            for p in pick(q=text, within={a.id for a in named}, limit=10, on=on))
        raise Invalid(f"Có {len(named)} đơn vị tên “{text}”: chọn theo mã — {choices}")
    raise NotFound(f"Không có cơ quan, đơn vị mã hoặc tên “{text}”; gõ vài chữ của tên rồi chọn trong danh sách")
