"""Onboarding a regime's form from the file a ministry already has: read the tables of a Word or
Excel form, propose a baocao form (app/domain/form_import.py) matched to the indicator library,
let the designer review it, then write it into the regime's draft — or, from the CLI, into
catalogue files for review in git. Nothing is saved until the designer accepts."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from app.adapters import form_files
from app.domain import form_import as rules
from app.domain.form_import import LibraryIndicator, Proposal, SourceTable
from app.extensions import db
from app.models import Regime, User

from . import designer
from .errors import Invalid

MAX_STATE = 2 * 1024 * 1024  # the tables carried between the review's steps (JSON)
MAX_ROWS = 500


def library() -> tuple[list[LibraryIndicator], dict[str, dict[str, str]]]:
    """The indicator library in the database, each indicator with its parent row in a published
    form, and the disaggregations' options."""
    from sqlalchemy import select

    disaggs, indicators = designer.library_documents()
    parents: dict[str, str] = {}
    for regime in db.session.scalars(select(Regime)):
        if regime.current_version is None:
            continue
        for form in regime.current_version.snapshot.get("forms", {}).values():
            for row in form.get("rows", []):
                if row.get("parent") and not row.get("of_which"):
                    parents.setdefault(row["indicator"], row["parent"])
    lib = [LibraryIndicator(i["code"], i["name_vi"], i.get("unit", ""), parents.get(i["code"], "")) for i in indicators]
    return lib, {d["code"]: {o["code"]: o["name_vi"] for o in d["options"]} for d in disaggs}


def read(*, data: bytes, filename: str) -> list[SourceTable]:
    from .uploads import upload_limits

    try:
        return form_files.read_tables(data, filename, upload_limits())
    except form_files.FormFileRefused as exc:
        raise Invalid(str(exc)) from None


def prefix_for(regime_code: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", regime_code.upper()).strip("_")[:24] or "CT"


def propose(*, table: SourceTable, regime_code: str, extra_taken: set[str] | None = None) -> Proposal:
    lib, options = library()
    try:
        return rules.propose(table, lib, options, prefix=prefix_for(regime_code), taken={i.code for i in lib} | (extra_taken or set()))
    except rules.FormNotRecognised as exc:
        raise Invalid(str(exc)) from None


# ------------------------------------------------------------------ the review, between requests
def tables_state(tables: list[SourceTable]) -> str:
    return json.dumps([{"name": t.name, "rows": t.rows, "indents": t.indents, "caption": t.caption} for t in tables], ensure_ascii=False)


def tables_from_state(state: str) -> list[SourceTable]:
    if len(state) > MAX_STATE:
        raise Invalid("Dữ liệu biểu mẫu quá lớn")
    try:
        items = json.loads(state)
        tables = [SourceTable(str(t["name"])[:200], [[str(c)[:2000] for c in r][:rules_max_cols()] for r in t["rows"]][:2000],
                              [int(i) for i in t.get("indents", [])][:2000], [str(c)[:500] for c in t.get("caption", [])][:10])
                  for t in items][:20]
    except (ValueError, KeyError, TypeError):
        raise Invalid("Dữ liệu biểu mẫu không hợp lệ; hãy tải tệp lên lại") from None
    if not tables:
        raise Invalid("Không có bảng nào; hãy tải tệp lên lại")
    return tables


def rules_max_cols() -> int:
    return form_files.MAX_COLS


@dataclass
class ReviewedRow:
    numbering: str
    label: str
    unit: str
    parent: int | None  # index among the posted rows
    of_which: bool
    indicator: str  # a library code, or the code of a new indicator
    new: bool
    keep: bool = True
    merge_up: bool = False  # its name is added to the kept row above (a name broken over two rows)
    src: int | None = None  # the proposed row it came from (its library matches)


CODE = re.compile(r"^[A-Z][A-Z0-9_.-]{0,39}$")


def accept(*, user: User, code: str, revision: int | None, form_code: str, title: str, system_columns: list[str],
           breakdown: str, rows: list[ReviewedRow]) -> str:
    """Write the reviewed form into the regime's draft (with the new indicators it needs). Every
    row is checked first; nothing is written when one is wrong. Returns the form's code."""
    from app.domain.catalogue import SYSTEM_COLUMNS

    lib, options = library()
    known = {i.code for i in lib}
    problems = []
    form_code = (form_code or "").strip().upper()
    if not CODE.match(form_code):
        problems.append({"field": "form_code", "message": "Mã biểu: chữ in hoa, số, “_ . -”, bắt đầu bằng chữ"})
    if not (title or "").strip():
        problems.append({"field": "title", "message": "Cần tên biểu"})
    if breakdown and breakdown not in options:
        problems.append({"field": "breakdown", "message": f"Phân tổ “{breakdown}” không có trong danh mục"})
    columns = [c for c in system_columns if c in SYSTEM_COLUMNS and c != "current"]
    if len(rows) > MAX_ROWS:
        raise Invalid(f"Biểu có quá {MAX_ROWS} dòng")
    # merges and exclusions: each posted row → the kept row it ends in
    kept: list[int] = []
    home: dict[int, int | None] = {}
    for i, r in enumerate(rows):
        if not r.keep:
            home[i] = None
            continue
        if r.merge_up and kept:
            rows[kept[-1]].label = f"{rows[kept[-1]].label} {r.label}".strip()
            home[i] = kept[-1]
            continue
        home[i] = i
        kept.append(i)
    out_rows, new_docs, seen = [], [], set()
    for i in kept:
        r = rows[i]
        where = f"dòng {r.numbering or i + 1}"
        if not r.label.strip():
            problems.append({"field": f"label_{i}", "message": f"{where}: cần tên chỉ tiêu"})
        ind = (r.indicator or "").strip().upper()
        if not CODE.match(ind):
            problems.append({"field": f"code_{i}", "message": f"{where}: mã chỉ tiêu “{ind}” không hợp lệ"})
        elif ind in seen:
            problems.append({"field": f"code_{i}", "message": f"{where}: chỉ tiêu {ind} đã có ở dòng khác của biểu"})
        elif not r.new and ind not in known:
            problems.append({"field": f"code_{i}", "message": f"{where}: chỉ tiêu {ind} không có trong danh mục"})
        elif r.new and ind in known:
            problems.append({"field": f"code_{i}", "message": f"{where}: mã {ind} đã là một chỉ tiêu của danh mục — chọn chỉ tiêu đó hoặc đặt mã khác"})
        seen.add(ind)
        parent = home.get(r.parent) if r.parent is not None else None
        if parent is not None and (parent not in kept or kept.index(parent) >= kept.index(i)):
            parent = None
        doc = {"indicator": ind, "row": r.numbering.strip()[:20]}
        if parent is not None:
            doc["parent"] = (rows[parent].indicator or "").strip().upper()
        if r.of_which and parent is not None:
            doc["of_which"] = True
        out_rows.append(doc)
        if r.new:
            pct = r.unit.strip() == "%"
            nd = {"code": ind, "name_vi": r.label.strip()[:500], "unit": (r.unit.strip() or "đơn vị")[:50],
                  "value_type": "percent" if pct else "number", "aggregation": "average" if pct else "sum", "min": 0}
            if pct:
                nd["max"] = 100
            if breakdown:
                nd["disaggregations"] = [breakdown]
            new_docs.append(nd)
    if not kept:
        problems.append({"field": "rows", "message": "Biểu không còn dòng nào"})
    if problems:
        raise Invalid("Chưa nhận được biểu mẫu", details=problems)
    form = {"code": form_code, "title": title.strip()[:500], "columns": ["current", *columns], "rows": out_rows}
    if breakdown:
        form["disaggregations"] = [breakdown]

    def change(doc):
        if form_code not in doc["regime"].setdefault("forms", []):
            doc["regime"]["forms"].append(form_code)
        doc["forms"][form_code] = form
        mine = {d["code"] for d in new_docs}
        doc["indicators"] = [d for d in doc.get("indicators", []) if d["code"] not in mine] + new_docs

    designer.update(user=user, code=code, revision=revision, change=change)
    return form_code


def reviewed_from_proposal(p: Proposal) -> list[ReviewedRow]:
    return [ReviewedRow(r.numbering, r.label, r.unit, r.parent, r.of_which, r.indicator, r.new, src=i) for i, r in enumerate(p.rows)]
