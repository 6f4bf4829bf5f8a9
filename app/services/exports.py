"""Exports of the reporting center's figures: the consolidated report as a PDF in Vietnamese
administrative-document form (WeasyPrint), the consolidated view as Excel, and long-format CSV.

A document is built from the same `center_svc.view` the pages and the API use, so the PDF shows
the figures the API reports; its footer carries the SHA-256 of those figures. Rendered PDFs are
kept by that hash: the same data asked for twice is rendered once.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("OPENPYXL_LXML", "False")

from flask import current_app  # noqa: E402
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.adapters import cells, charts  # noqa: E402
from app.domain.deadlines import VN_TZ  # noqa: E402
from app.domain.layout import Layout  # noqa: E402
from app.domain.numbers import format_vn  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agency, RecordVersion, SubmissionVersion, User  # noqa: E402

from . import agencies as agencies_svc  # noqa: E402
from . import aggregation  # noqa: E402
from . import center as center_svc
from . import completeness as completeness_svc  # noqa: E402

STATUS_VI = {"on_time": "Gửi đúng hạn", "late": "Gửi muộn", "returned": "Bị trả lại", "draft": "Đang soạn, chưa gửi",
             "missing": "Chưa gửi"}


@dataclass
class Document:
    title: str
    period_label: str
    issuer: str
    issuer_short: str
    parent_agency: str
    place: str
    year: int
    scope_label: str
    receiver: str
    signer_title: str
    completeness_text: str
    sections: list[dict] = field(default_factory=list)
    forms: list[dict] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    agencies: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)  # one level down: each unit's figures
    data_hash: str = ""
    footer: str = ""  # on every page: what the document is and the hash of its figures (no time: parts are kept by it)
    generated: str = ""  # when it was made, printed once, under the signature
    number: str = ""  # "12/BC-UBND" when the document is an agency's own sent report, else left to fill in
    date_text: str = ""  # "ngày 10 tháng 12 năm 2026" likewise
    signer_name: str = ""  # who submitted the agency's own report


def _fmt(v, places=None) -> str:
    return "" if v is None else format_vn(v, places)


def figures(view: center_svc.View) -> dict:
    """The figures of a view as plain data — what the hash in the footer covers."""
    return {"regime": view.regime.code, "version": view.version.version, "period": view.period.key, "unit": view.unit,
            "units": view.units, "basis": view.basis, "tier": view.tier,
            "values": {r.indicator.code: {k: (None if v is None else format(v, "f")) for k, v in r.values.items()} for r in view.rows}}


def data_hash(view: center_svc.View) -> str:
    return hashlib.sha256(json.dumps(figures(view), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build_document(*, user: User, regime: str, period: str, agency: str = aggregation.NATION, units: str = "as_reported",
                   include_charts: bool = True) -> tuple[Document, center_svc.View]:
    from . import chain

    # an agency that compiles and sends its own report (tier ≥ 2): the document is that report —
    # its figures, its narrative, its number and date, its signer (app/services/chain.py)
    own = chain.own_report(regime=regime, period=period, agency=agency) if agency not in (aggregation.NATION, aggregation.CENTRAL) else None
    v = center_svc.view(user=user, regime=regime, period=period, unit=agency, units=units, tier=own[0].tier if own else None)
    if own and v.tier != own[0].tier:
        own = None
    cv = completeness_svc.completeness(user=user, regime=regime, period=period, unit=v.unit, tier=v.tier, periods=1)
    counts = cv.totals.get(v.period.key)
    agency_row = db.session.scalar(select(Agency).where(Agency.code == v.unit)) if v.unit != aggregation.NATION else None
    issuer, short, parent, place, signer = letterhead(agency_row)
    completeness_text = "Chưa có thông tin về tình hình gửi báo cáo."
    if counts and counts.expected:
        n = format_vn
        completeness_text = (f"Có {n(counts.submitted)}/{n(counts.expected)} đơn vị đã gửi báo cáo (đạt {n(counts.rate, 1)} %), "
                             f"trong đó {n(counts.on_time)} đơn vị gửi đúng hạn ({n(counts.on_time_rate, 1)} %), "
                             f"{n(counts.late)} đơn vị gửi muộn; {n(counts.missing + counts.draft + counts.returned)} đơn vị chưa gửi "
                             "hoặc bị trả lại.")
    doc = Document(
        title=_subtitle(v.definition.name_vi), period_label=v.period.label_vi, issuer=issuer, issuer_short=short, parent_agency=parent,
        place=place, year=datetime.now(VN_TZ).year, scope_label=v.unit_name, receiver=_receiver(v), signer_title=signer,
        completeness_text=completeness_text)
    doc.sections = _sections(v)
    doc.forms = _forms(v)
    if include_charts and v.rows:
        first = v.rows[0].indicator
        points = center_svc.trend(user=user, regime=regime, indicator=first.code, unit=v.unit, end=v.period.key, periods=12)
        doc.charts.append(_data_uri(charts.trend_svg([p.label_vi for p, _ in points], [x for _, x in points],
                                                     f"{first.name_vi} — 12 kỳ gần nhất", first.unit)))
        if v.children and v.unit == aggregation.NATION:
            doc.charts.append(_data_uri(charts.bar_svg([c.name for c in v.children], [c.values.get(first.code) for c in v.children],
                                                       f"{first.name_vi} theo tỉnh, thành phố — {v.period.label_vi}", first.unit)))
            from .center_map import map_svg

            doc.charts.append(_data_uri(map_svg(v, first.code)))  # the choropleth, with the archipelagos and attribution
    doc.agencies = [{"code": r.code, "name": r.name, "status": STATUS_VI[r.cells.get(v.period.key, "missing")]} for r in cv.rows]
    doc.units = [{"code": c.code, "name": c.name,
                  "rows": [{"name": v.catalogue.indicators[code].name_vi, "unit": v.catalogue.indicators[code].unit,
                            "value": _fmt(val, 1 if v.catalogue.indicators[code].aggregation in ("ratio", "average") else None)}
                           for code, val in c.values.items()]} for c in v.children]
    doc.data_hash = data_hash(v)
    if own:
        sub, version = own
        doc.sections = [{"code": s.code, "title": s.title,
                         "texts": [{"agency": "", "text": t}] if (t := ((version.outline or {}).get(s.code) or "").strip()) else []}
                        for s in v.definition.outline]
        sent = (version.submitted_at or version.saved_at).astimezone(VN_TZ)
        doc.number, doc.date_text = f"{sub.id}/BC-{short}", f"ngày {sent.day:02d} tháng {sent.month:02d} năm {sent.year}"
        doc.signer_name = version.submitted_by.full_name if version.submitted_by else ""
        doc.receiver = sub.receiver.name if sub.receiver else doc.receiver
        # the narrative and the seal are part of what the document says: the cache key and footer cover them
        doc.data_hash = hashlib.sha256(f"{doc.data_hash}|{sub.id}:{version.number}:{version.seal_hash}".encode()).hexdigest()
    generated = datetime.now(VN_TZ).strftime("%H:%M %d/%m/%Y")
    doc.generated = generated
    doc.footer = f"baocao · SHA-256 số liệu: {doc.data_hash}"
    return doc, v


def letterhead(agency_row: Agency | None) -> tuple[str, str, str, str, str]:
    """(issuing agency, its short name, its parent agency, place, signer's title) of a Decree-30
    document: the Government Office for the nation, else the agency's own."""
    if agency_row is None:
        return "VĂN PHÒNG CHÍNH PHỦ", "VPCP", "", "Hà Nội", "BỘ TRƯỞNG, CHỦ NHIỆM"
    if agency_row.level == "province":
        return (f"ỦY BAN NHÂN DÂN {agency_row.name.upper()}", "UBND", "", agency_row.name.replace("Thành phố ", "").replace("Tỉnh ", ""),
                "TM. ỦY BAN NHÂN DÂN – CHỦ TỊCH")
    parent_agency = agency_row.parent_on(datetime.now(VN_TZ).date())
    parent = f"ỦY BAN NHÂN DÂN {parent_agency.name.upper()}" if parent_agency and parent_agency.level == "province" else ""
    place = parent_agency.name.replace("Thành phố ", "").replace("Tỉnh ", "") if parent_agency else "Hà Nội"
    signer = "GIÁM ĐỐC" if agency_row.level == "department" else "THỦ TRƯỞNG CƠ QUAN"
    return agency_row.name.upper(), agency_row.code.split(".")[-1], parent, place, signer


def version_document(report, version) -> Document:
    """One submitted version as a Decree-30 document — the agency's own report, as sent: its
    narrative, its figures with the system columns it was sealed with, its number, date and signer."""
    issuer, short, parent, place, signer = letterhead(report.agency)
    sent = (version.submitted_at or version.saved_at).astimezone(VN_TZ)
    doc = Document(title=_subtitle(report.title), period_label=report.period_label, issuer=issuer, issuer_short=short,
                   parent_agency=parent, place=place, year=sent.year, scope_label=report.agency.name,
                   receiver=report.receiver.name if report.receiver else "Cơ quan nhận báo cáo", signer_title=signer,
                   completeness_text="", number=f"{report.submission.id}/BC-{short}",
                   date_text=f"ngày {sent.day:02d} tháng {sent.month:02d} năm {sent.year}",
                   signer_name=version.submitted_by.full_name if version.submitted_by else "")
    outline = version.outline or {}
    doc.sections = [{"code": s.code, "title": s.title, "texts": [{"agency": "", "text": t}] if (t := (outline.get(s.code) or "").strip()) else []}
                    for s in report.definition.outline]
    entries = {k: e.value for k, e in report.entries(version.number).items()}
    values = report.layout.complete(entries)
    system = report.system(None, version.number) if version.sealed_system is not None else {}
    for grid in report.layout.forms:
        rows = []
        for line in grid.lines:
            code = line.indicator.code
            places = 1 if line.indicator.aggregation in ("ratio", "average") else None
            name = line.label
            rows.append({"no": line.row.row, "name": name, "unit": line.indicator.unit, "depth": line.depth,
                         "bold": bool(grid.form.children(code)),
                         "cells": [_fmt(values.get((code, c.key)) if not isinstance(values.get((code, c.key)), str) else None, places)
                                   for c in grid.columns],
                         "change_previous": _fmt(system.get("pct_previous", {}).get(code), 1),
                         "change_last_year": _fmt(system.get("pct_same_period_last_year", {}).get(code), 1)})
        doc.forms.append({"label": grid.label, "title": grid.form.title, "columns": [c.label for c in grid.columns], "rows": rows})
    doc.data_hash = version.seal_hash or ""
    doc.footer = f"baocao · {report.regime.code} · phiên bản {version.number} · SHA-256 niêm phong: {doc.data_hash}"
    return doc


def version_pdf(report, version) -> bytes:
    return render_pdf(version_document(report, version), report.regime.code)[0]


def _subtitle(name: str) -> str:
    """"Báo cáo tổng mức bán lẻ…" under the heading BÁO CÁO reads "Tổng mức bán lẻ…"."""
    rest = name[len("Báo cáo "):] if name.lower().startswith("báo cáo ") else name
    return rest[:1].upper() + rest[1:]


def _receiver(v: center_svc.View) -> str:
    tier = v.definition.tiers[v.tier] if v.tier < len(v.definition.tiers) else None
    if v.unit == aggregation.NATION:
        return "Thủ tướng Chính phủ, các Phó Thủ tướng Chính phủ"
    if tier is None:
        return "Cơ quan nhận báo cáo"
    nxt = v.definition.tiers[v.tier + 1] if v.tier + 1 < len(v.definition.tiers) else tier
    name = {"province": "Ủy ban nhân dân tỉnh", "parent": "Cơ quan cấp trên"}.get(nxt.receiver, nxt.receiver)
    if nxt.receiver not in ("province", "parent") and ":" not in nxt.receiver:
        found = db.session.scalar(select(Agency.name).where(Agency.code == nxt.receiver))
        name = found or name
    return name


def _sections(v: center_svc.View) -> list[dict]:
    """Outline sections: a single agency's own text; for a consolidated report the sections the
    designer marked as compiled, each agency's text under its name."""
    single = v.unit not in (aggregation.NATION, aggregation.CENTRAL) and not v.children and v.unit_name
    rows = db.session.execute(select(RecordVersion.agency_code, SubmissionVersion.outline)
                              .join(SubmissionVersion, SubmissionVersion.id == RecordVersion.version_id)
                              .where(RecordVersion.regime_id == v.regime.id, RecordVersion.period_key == v.period.key,
                                     RecordVersion.basis == v.basis, RecordVersion.tier == v.tier)).all()
    names = dict(db.session.execute(select(Agency.code, Agency.name).where(Agency.code.in_([r[0] for r in rows]))).all()) if rows else {}
    out = []
    for s in v.definition.outline:
        if single:
            texts = [{"agency": "", "text": (o or {}).get(s.code, "")} for code, o in rows if code == v.unit and (o or {}).get(s.code)]
        elif s.compiled:
            in_scope = {c.code for c in v.children} if v.unit != aggregation.NATION else None
            texts = [{"agency": names.get(code, code), "text": (o or {}).get(s.code)} for code, o in sorted(rows)
                     if (o or {}).get(s.code) and (in_scope is None or code in in_scope)][:60]
        else:
            continue
        out.append({"code": s.code, "title": s.title, "texts": texts})
    return out


def _change(comparison, fallback) -> str:
    """A change as the PDF prints it: like for like, in percentage points for percentages and
    ratios ("+2,3 điểm"), with an asterisk when units were left out (the note under the table)."""
    if comparison is None:
        return _fmt(fallback, 1)
    if comparison.change is None:
        return ""
    text = (("+" if comparison.change > 0 else "") + _fmt(comparison.change, 1) + " điểm") if comparison.points \
        else _fmt(comparison.change, 1)
    return text + ("*" if comparison.partial else "")


def _forms(v: center_svc.View) -> list[dict]:
    layout = Layout(v.definition, v.catalogue)
    by_code = {r.indicator.code: r for r in v.rows}
    out = []
    for grid in layout.forms:
        rows = []
        for line in grid.lines:
            r = by_code.get(line.indicator.code)
            places = 1 if line.indicator.aggregation in ("ratio", "average") else None
            name = line.label
            rows.append({"no": line.row.row, "name": name,
                         "unit": line.indicator.unit, "depth": line.depth, "bold": bool(grid.form.children(line.indicator.code)),
                         "cells": [_fmt(r.values.get(c.key) if r else None, places) for c in grid.columns],
                         "change_previous": _change(r.vs_previous, r.change_previous) if r else "",
                         "change_last_year": _change(r.vs_last_year, r.change_last_year) if r else ""})
        out.append({"label": grid.label, "title": grid.form.title, "columns": [c.label for c in grid.columns], "rows": rows})
    return out


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# ----------------------------------------------------------------------------------- rendering
def _environment(regime_code: str) -> Environment:
    from app.adapters.pdf_render import css_string

    root = Path(current_app.config["CATALOGUE_ROOT"]) / "report_templates"
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(root / regime_code)), FileSystemLoader(str(root))]),
                      autoescape=select_autoescape(["html"]))
    env.filters["css_string"] = css_string
    return env


def render_html(doc: Document, regime_code: str, part: dict | None = None) -> str:
    env = _environment(regime_code)
    name = "report.html" if (Path(current_app.config["CATALOGUE_ROOT"]) / "report_templates" / regime_code / "report.html").exists() \
        else "_pdf/base.html"
    return env.get_template(name).render(doc=doc, part=part)


# a part of a long report: about this many table rows, ~8 pages, ~1 s to lay out (smaller parts
# share the processes more evenly; each part's last page may be part-filled)
PART_ROWS = 300


def parts(doc: Document) -> list[dict]:
    """The report in parts that lay out independently (app/adapters/pdf_render.py): the report
    itself, then appendix 1 in groups of whole units and appendix 2 in slices of its list, each
    about PART_ROWS table rows. A slice starts on a new page, as the appendices do; `sequence`
    says which pages are numbered on from one another."""
    out = [{"main": True, "units": [], "agencies": None, "sequence": 0}]
    start = 0
    while start < len(doc.units):
        end, rows = start, 0
        while end < len(doc.units) and (end == start or rows + len(doc.units[end]["rows"]) <= PART_ROWS):
            rows += len(doc.units[end]["rows"]) + 2  # the unit's heading and its table's head
            end += 1
        out.append({"main": False, "units": doc.units[start:end], "units_from": start, "units_head": start == 0, "agencies": None,
                    "sequence": 1})
        start = end
    for start in range(0, max(1, len(doc.agencies)), PART_ROWS):
        out.append({"main": False, "units": [], "agencies": doc.agencies[start:start + PART_ROWS], "agencies_from": start,
                    "agencies_head": start == 0, "sequence": 2})
    return out


def render_pdf(doc: Document, regime_code: str) -> tuple[bytes, int]:
    """The PDF of `doc` (and how many parts had to be laid out): its parts rendered side by side on
    PDF_PROCESSES processes, each kept under exports/parts by its HTML's hash (an unchanged appendix
    is laid out once), joined, numbered and footed."""
    from app.adapters import pdf_render

    cut = parts(doc)
    htmls = [render_html(doc, regime_code, part) for part in cut]
    instance = Path(current_app.config["INSTANCE_DIR"])
    # the report numbered on its own, then each appendix on its own (Decree 30/2020)
    return pdf_render.document(htmls, sequences=[p["sequence"] for p in cut], base_url=str(instance),
                               cache_dir=instance / "exports" / "parts",
                               processes=current_app.config.get("PDF_PROCESSES", 1))


def pdf(*, user: User, regime: str, period: str, agency: str = aggregation.NATION, units: str = "as_reported") -> tuple[bytes, str, bool]:
    """(PDF bytes, file name, whether it came from the cache). The cache key is the data hash,
    the regime's template and the day (the date line and generation time are printed)."""
    doc, v = build_document(user=user, regime=regime, period=period, agency=agency, units=units)
    head = render_html(doc, regime, parts(doc)[0])
    db.session.commit()  # the reading is done: end the transaction before the long render holds it open
    template_hash = hashlib.sha256(head.split("<body>", 1)[0].encode()).hexdigest()[:12]
    cache = Path(current_app.config["INSTANCE_DIR"]) / "exports"
    cache.mkdir(parents=True, exist_ok=True)
    key = f"{regime}_{v.period.key}_{v.unit}_{units}_{doc.data_hash[:24]}_{template_hash}_{datetime.now(VN_TZ):%Y%m%d}.pdf"
    path = cache / key
    name = f"{regime}_{v.unit}_{v.period.key}.pdf"
    cached = path.exists()
    if cached:
        data = path.read_bytes()
    else:
        data, _rendered = render_pdf(doc, regime)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return _signed_by_issuer(data, user=user, unit=v.unit, title=f"{doc.title} {doc.period_label}"), name, cached


def _signed_by_issuer(data: bytes, *, user: User, unit: str, title: str) -> bytes:
    """The consolidated report signed by the agency that issues it — the Government Office (the
    reporting center) for the national report, the unit itself otherwise — when the one exporting
    it belongs to that agency and the server can sign for it (signing.sign_consolidated). Signed
    copies are not cached: each carries its signer and time."""
    from app.adapters.signatures import SignatureError

    from .signing import sign_consolidated

    issuer = db.session.scalar(select(Agency).where(Agency.code == (agencies_svc.CENTER if unit == aggregation.NATION else unit)))
    if issuer is None or user.agency_id != issuer.id:
        return data
    try:
        return sign_consolidated(data, agency=issuer, user=user, title=title) or data
    except SignatureError:
        current_app.logger.exception("signing the consolidated report failed")
        return data


# ------------------------------------------------------------------------------------ data files
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """A CSV field that a spreadsheet could take for a formula is prefixed with an apostrophe (a CSV
    file has no cell types; workbooks store text as text instead, app/adapters/cells.py)."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def long_rows(v: center_svc.View) -> list[dict]:
    rows = []
    for r in v.rows:
        for key, value in r.values.items():
            rows.append({"regime": v.regime.code, "period": v.period.key, "agency": v.unit, "indicator": r.indicator.code,
                         "indicator_name": r.indicator.name_vi, "unit": r.indicator.unit, "disaggregation": key,
                         "value": None if value is None else format(value, "f"), "reporting": format(r.reporting, "f")})
    for c in v.children:
        for code, value in c.values.items():
            rows.append({"regime": v.regime.code, "period": v.period.key, "agency": c.code, "indicator": code,
                         "indicator_name": v.catalogue.indicators[code].name_vi, "unit": v.catalogue.indicators[code].unit,
                         "disaggregation": "", "value": None if value is None else format(value, "f"), "reporting": ""})
    return rows


def csv_bytes(*, user: User, regime: str, period: str, agency: str = aggregation.NATION, units: str = "as_reported") -> tuple[bytes, str]:
    v = center_svc.view(user=user, regime=regime, period=period, unit=agency, units=units)
    out = io.StringIO()
    fields = ["regime", "period", "agency", "indicator", "indicator_name", "unit", "disaggregation", "value", "reporting"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in long_rows(v):
        writer.writerow({k: safe(val) for k, val in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8"), f"{regime}_{v.unit}_{v.period.key}.csv"  # BOM: Excel opens UTF-8 right


def xlsx_bytes(*, user: User, regime: str, period: str, agency: str = aggregation.NATION, units: str = "as_reported") -> tuple[bytes, str]:
    doc, v = build_document(user=user, regime=regime, period=period, agency=agency, units=units, include_charts=False)
    wb = Workbook()
    meta = wb.active
    meta.title = "Thông tin"
    for row in (("Chế độ báo cáo", f"{v.regime.code} — {v.definition.name_vi}"), ("Phiên bản", v.version.version),
                ("Kỳ", v.period.label_vi), ("Phạm vi", v.unit_name), ("Đơn vị", "hiện nay" if units == "current" else "khi báo cáo"),
                ("Số liệu", "đã duyệt"), ("Tình hình gửi báo cáo", doc.completeness_text),
                ("SHA-256 số liệu", doc.data_hash), ("Tạo lúc", datetime.now(VN_TZ).strftime("%H:%M %d/%m/%Y"))):
        cells.append(meta, row)
    meta.column_dimensions["A"].width, meta.column_dimensions["B"].width = 24, 90
    by_code = {r.indicator.code: r for r in v.rows}
    for form in Layout(v.definition, v.catalogue).forms:
        ws = wb.create_sheet(form.label[:31])
        cells.append(ws, [f"{form.label}: {form.form.title} — {v.unit_name}, {v.period.label_vi}"])
        ws["A1"].font = Font(bold=True)
        cells.append(ws, ["STT", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", *[c.label for c in form.columns],
                          "So với kỳ trước (%)", "So với cùng kỳ (%)"])
        for line in form.lines:
            r = by_code.get(line.indicator.code)
            cells.append(ws, [line.row.row, line.indicator.code, line.indicator.name_vi, line.indicator.unit,
                       *[(float(r.values[c.key]) if r and r.values.get(c.key) is not None else None) for c in form.columns],
                       float(r.change_previous) if r and r.change_previous is not None else None,
                       float(r.change_last_year) if r and r.change_last_year is not None else None])
        ws.column_dimensions["C"].width = 60
    data = wb.create_sheet("Dữ liệu")
    # the long table for pivoting, headed in Vietnamese (the CSV export keeps machine-readable field names)
    fields = ["regime", "period", "agency", "indicator", "indicator_name", "unit", "disaggregation", "value", "reporting"]
    cells.append(data, ["Chế độ báo cáo", "Kỳ", "Mã kỳ", "Đơn vị", "Mã chỉ tiêu", "Tên chỉ tiêu", "Đơn vị tính", "Phân tổ",
                        "Giá trị", "Số đơn vị báo cáo"])
    for row in long_rows(v):
        values = [row[f] if f not in ("value", "reporting") else (float(Decimal(row[f])) if row[f] not in (None, "") else None)
                  for f in fields]
        cells.append(data, [values[0], v.period.label_vi, *values[1:]])
    for col, width in (("B", 14), ("F", 50)):
        data.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), f"{regime}_{v.unit}_{v.period.key}.xlsx"
