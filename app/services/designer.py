"""The template designer: ministry staff define regimes on the web as drafts of the same canonical
documents the files hold, check them with the same parser, preview, publish immutable versions,
export them as files and import files back. Designers act only on their own agency's regimes."""
from __future__ import annotations

import copy
import io
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app.adapters.catalogue_files import dump_yaml, regime_files
from app.domain import designer as rules
from app.domain.catalogue import Catalogue, RegimeDef, Source
from app.domain.catalogue_build import build_catalogue, snapshot_hash
from app.domain.catalogue_parse import parse_indicators
from app.domain.documents import indicator_document
from app.domain.errors import Problem
from app.extensions import db
from app.models import Disaggregation, Indicator, Regime, RegimeDraft, RegimeVersion, Role, User
from app.models.base import utcnow

from . import catalogue as catalogue_svc
from .errors import Conflict, Forbidden, Invalid, NotFound

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_.-]{0,39}$")
MAX_IMPORT = 5 * 1024 * 1024
IMPORT_PATH = re.compile(r"^(report_templates/[A-Z][A-Z0-9_.-]*/(regime\.yaml|forms/[A-Z][A-Z0-9_.-]*\.yaml)"
                         r"|indicators/[a-z0-9_.-]+\.yaml)$")


def _require_designer(user: User, issuing_agency: str) -> None:
    if not user.has_role(Role.DESIGNER):
        raise Forbidden("Chỉ người thiết kế chế độ báo cáo được soạn, công bố chế độ báo cáo")
    if user.agency.code != issuing_agency:
        raise Forbidden(f"Chế độ này do {issuing_agency} ban hành; bạn chỉ sửa được chế độ của {user.agency.code}")


# ------------------------------------------------------------------------------------- library
def library_documents() -> tuple[list[dict], list[dict]]:
    """The disaggregations and indicators in the database, as canonical documents."""
    disaggs = [{"code": d.code, "name_vi": d.name_vi, **({"name_en": d.name_en} if d.name_en else {}),
                "options": [{k: v for k, v in o.items() if v} for o in d.options]}
               for d in db.session.scalars(select(Disaggregation).order_by(Disaggregation.code))]
    inds = []
    for i in db.session.scalars(select(Indicator).order_by(Indicator.code)):
        doc = {"code": i.code, "name_vi": i.name_vi, "unit": i.unit, "value_type": i.value_type, "aggregation": i.aggregation}
        optional = {"name_en": i.name_en, "disaggregations": i.disaggregations or None, "min": i.min_value,
                    "max": i.max_value, "description": i.description, "numerator": i.numerator or None,
                    "denominator": i.denominator or None, "scale": i.scale if i.scale not in (None, 1.0) else None}
        doc |= {k: v for k, v in optional.items() if v is not None}
        inds.append(doc)
    return disaggs, inds


# -------------------------------------------------------------------------------------- drafts
def my_regimes(*, user: User) -> list[tuple[Regime | None, RegimeDraft | None, str]]:
    """The regimes of the user's agency and the drafts in progress (new regimes have no row yet)."""
    code = user.agency.code
    regimes = {r.code: r for r in db.session.scalars(select(Regime).where(Regime.issuing_agency_code == code).order_by(Regime.code))}
    drafts = {d.regime_code: d for d in db.session.scalars(select(RegimeDraft).where(RegimeDraft.issuing_agency_code == code))}
    return [(regimes.get(c), drafts.get(c), c) for c in sorted(set(regimes) | set(drafts))]


def require_editor(*, user: User, code: str) -> None:
    """Refuse (403) anyone but a designer of the regime's issuing agency; 404 for no such regime."""
    draft = db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == code))
    regime = None if draft else db.session.scalar(select(Regime).where(Regime.code == code))
    if draft is None and regime is None:
        raise NotFound(f"Không có chế độ báo cáo mã “{code}”")
    _require_designer(user, draft.issuing_agency_code if draft else regime.issuing_agency_code)


def get_draft(*, user: User, code: str, create: bool = False) -> RegimeDraft:
    draft = db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == code))
    if draft is not None:
        _require_designer(user, draft.issuing_agency_code)
        return draft
    regime = db.session.scalar(select(Regime).where(Regime.code == code))
    if regime is None:
        raise NotFound(f"Không có chế độ báo cáo mã “{code}”")
    _require_designer(user, regime.issuing_agency_code)
    if not create:
        raise NotFound("Chế độ này chưa có bản nháp")
    snap = regime.current_version.snapshot
    draft = RegimeDraft(regime_code=code, issuing_agency_code=regime.issuing_agency_code, base_version_id=regime.current_version.id,
                        document={"regime": copy.deepcopy(snap["regime"]), "forms": copy.deepcopy(snap["forms"]), "indicators": []},
                        created_by_id=user.id, updated_by_id=user.id)
    db.session.add(draft)
    db.session.commit()
    return draft


def new_regime(*, user: User, code: str, name_vi: str, frequency: str, valid_from: date) -> RegimeDraft:
    code = (code or "").strip().upper()
    problems = []
    if not CODE_RE.match(code):
        problems.append({"field": "code", "message": "Mã: chữ in hoa, số, “_ . -”, bắt đầu bằng chữ, tối đa 40 ký tự"})
    elif db.session.scalar(select(Regime.id).where(Regime.code == code)) or \
            db.session.scalar(select(RegimeDraft.id).where(RegimeDraft.regime_code == code)):
        problems.append({"field": "code", "message": f"Mã “{code}” đã được dùng"})
    if not (name_vi or "").strip():
        problems.append({"field": "name_vi", "message": "Cần tên báo cáo"})
    if problems:
        raise Invalid("Chưa tạo được chế độ báo cáo", details=problems)
    _require_designer(user, user.agency.code)
    doc = rules.new_regime_document(code=code, name_vi=name_vi.strip(), issuing_agency=user.agency.code, frequency=frequency,
                                    valid_from=valid_from.isoformat())
    draft = RegimeDraft(regime_code=code, issuing_agency_code=user.agency.code, document={"regime": doc, "forms": {}, "indicators": []},
                        created_by_id=user.id, updated_by_id=user.id)
    db.session.add(draft)
    db.session.commit()
    return draft


def update(*, user: User, code: str, revision: int | None, change: Callable[[dict], None]) -> RegimeDraft:
    """Apply `change` to a copy of the draft's document and store it (one transaction; a stale
    revision — someone saved in between — is refused)."""
    draft = get_draft(user=user, code=code, create=True)
    if revision is not None and revision != draft.revision:
        raise Conflict("Bản nháp vừa được người khác lưu; hãy tải lại trang rồi sửa lại")
    doc = copy.deepcopy(draft.document)
    change(doc)
    doc["regime"]["code"] = draft.regime_code  # the code and the issuing agency are not edited here
    doc["regime"]["issuing_agency"] = draft.issuing_agency_code
    draft.document = doc
    draft.updated_by_id, draft.updated_at = user.id, utcnow()
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("Bản nháp vừa được người khác lưu; hãy tải lại trang rồi sửa lại") from None
    return draft


def discard(*, user: User, code: str) -> None:
    draft = get_draft(user=user, code=code)
    db.session.delete(draft)
    db.session.commit()


# ------------------------------------------------------------------------------------ checking
@dataclass
class DraftCheck:
    regime: RegimeDef | None
    catalogue: Catalogue
    problems: list[Problem]
    missing: list[str]
    checklist: list[rules.ElementStatus]
    snapshot: dict | None = None
    content_hash: str | None = None
    changed: bool = True

    @property
    def publishable(self) -> bool:
        return self.regime is not None and not self.problems and not self.missing and self.changed


def evaluate(draft: RegimeDraft) -> DraftCheck:
    """Check a draft with the parser the files use, against the library, and name missing elements."""
    doc = draft.document
    disaggs, inds = library_documents()
    new_codes = {i.get("code") for i in doc.get("indicators", [])}
    inds = [i for i in inds if i["code"] not in new_codes] + list(doc.get("indicators", []))
    regime_src = Source("Chế độ báo cáo", doc["regime"])
    forms = {c: Source(f"Biểu {c}", f) for c, f in doc.get("forms", {}).items()}
    cat, problems = build_catalogue([Source("Phân tổ", {"disaggregations": disaggs})], [Source("Chỉ tiêu", {"indicators": inds})],
                                    [(regime_src, forms)])
    if not problems:
        problems += catalogue_svc._check_agency_codes(cat, [(regime_src, forms)])
    regime = cat.regimes.get(draft.regime_code)
    check = DraftCheck(regime if not problems else None, cat, problems, rules.missing_elements(doc["regime"], doc.get("forms", {})),
                       rules.checklist(doc["regime"], doc.get("forms", {})))
    if check.regime is not None:
        check.snapshot = cat.snapshots[draft.regime_code]
        check.content_hash = snapshot_hash(check.snapshot)
        current = db.session.scalar(select(Regime).where(Regime.code == draft.regime_code))
        check.changed = not (current and current.versions and current.current_version.content_hash == check.content_hash)
    return check


def publish(*, user: User, code: str, revision: int | None = None) -> RegimeVersion:
    """The draft becomes the next immutable version; new indicators join the library."""
    draft = get_draft(user=user, code=code)
    if revision is not None and revision != draft.revision:
        raise Conflict("Bản nháp vừa được người khác lưu; hãy tải lại trang trước khi công bố")
    check = evaluate(draft)
    details = [{"code": "missing_element", "field": "regime", "message": f"Thiếu yếu tố: {m}"} for m in check.missing]
    details += [{"code": "invalid", "field": p.file or "", "message": p.message} for p in check.problems]
    if details:
        raise Invalid(f"Chưa công bố được: {len(details)} vấn đề", details=details)
    if not check.changed:
        raise Invalid("Bản nháp giống hệt phiên bản hiện hành; không có gì để công bố")
    new = Catalogue(indicators={c: check.catalogue.indicators[c] for c in (i["code"] for i in draft.document.get("indicators", []))})
    summary = catalogue_svc.LoadSummary()
    catalogue_svc._upsert_indicators(new, summary)
    catalogue_svc._upsert_regime(check.regime, check.snapshot, summary, source=f"web:{user.username}")
    db.session.delete(draft)
    db.session.commit()
    regime = db.session.scalar(select(Regime).where(Regime.code == code))
    return regime.current_version


def retire(*, user: User, code: str, valid_to: date) -> RegimeVersion:
    """End a regime: a new version with its end date (periods after it are no longer owed)."""
    regime = catalogue_svc.get_regime(code=code)
    _require_designer(user, regime.issuing_agency_code)
    if valid_to < regime.valid_from:
        raise Invalid("Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực",
                      details=[{"field": "valid_to", "message": "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực"}])
    update(user=user, code=code, revision=None, change=lambda doc: doc["regime"].__setitem__("valid_to", valid_to.isoformat()))
    return publish(user=user, code=code)


# ---------------------------------------------------------------------------------- indicators
@dataclass
class IndicatorResult:
    added: bool
    similar: list[rules.Similar] = field(default_factory=list)


def add_indicator(*, user: User, code: str, revision: int | None, doc: dict, confirm: bool = False) -> IndicatorResult:
    """Add a new indicator to a draft. The same code is refused; similar names are shown and
    need confirming, since the decree asks not to collect the same thing twice."""
    draft = get_draft(user=user, code=code, create=True)
    problems: list[Problem] = []
    parsed = parse_indicators(Source("Chỉ tiêu mới", {"indicators": [doc]}), problems)
    if problems or not parsed:
        raise Invalid("Chỉ tiêu mới chưa hợp lệ", details=[{"field": "indicator", "message": p.message} for p in problems])
    ind = parsed[0][0]
    library = [(i.code, i.name_vi) for i in db.session.scalars(select(Indicator))]
    library += [(i["code"], i["name_vi"]) for i in draft.document.get("indicators", [])]
    similar = rules.similar_indicators(ind.code, ind.name_vi, library)
    if any(s.reason == "trùng mã" for s in similar):
        raise Invalid(f"Mã chỉ tiêu “{ind.code}” đã có trong thư viện", details=[
            {"field": "code", "code": "duplicate", "message": f"Mã “{ind.code}” đã dùng cho “{s.name_vi}”"} for s in similar if s.reason == "trùng mã"])
    if similar and not confirm:
        return IndicatorResult(False, similar)
    update(user=user, code=code, revision=revision,
           change=lambda d: d.setdefault("indicators", []).append(indicator_document(ind)))
    return IndicatorResult(True, similar)


# ---------------------------------------------------------------------------- files & versions
def export_zip(*, user: User, code: str, version: int | None = None) -> tuple[bytes, str]:
    regime = catalogue_svc.get_regime(code=code)
    v = catalogue_svc.get_version(regime=regime, version=version)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in sorted(regime_files(v.snapshot).items()):
            info = zipfile.ZipInfo(path, date_time=(2000, 1, 1, 0, 0, 0))  # fixed: the same version gives the same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    return out.getvalue(), f"{code}-v{v.version}.zip"


def import_zip(*, user: User, data: bytes) -> catalogue_svc.LoadSummary:
    """Load regimes from exported files (or hand-edited ones). Only the designer's own agency's
    regimes; existing indicators must be unchanged (edit the library for that)."""
    if not user.has_role(Role.DESIGNER):
        raise Forbidden("Chỉ người thiết kế chế độ báo cáo được nhập chế độ báo cáo")
    if len(data) > MAX_IMPORT or not zipfile.is_zipfile(io.BytesIO(data)):
        raise Invalid("Tệp phải là tệp .zip xuất từ baocao (tối đa 5 MB)")
    with zipfile.ZipFile(io.BytesIO(data)) as z, tempfile.TemporaryDirectory() as tmp:
        infos = [i for i in z.infolist() if not i.is_dir()]
        bad = [i.filename for i in infos if not IMPORT_PATH.match(i.filename)]
        if bad:
            raise Invalid("Tệp zip có đường dẫn không thuộc định dạng danh mục: " + ", ".join(bad[:5]))
        if sum(i.file_size for i in infos) > MAX_IMPORT * 4:
            raise Invalid("Tệp zip giải nén ra quá lớn")
        root = Path(tmp)
        for i in infos:
            target = root / i.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(i))
        if not (root / "indicators" / "disaggregations.yaml").exists():
            (root / "indicators").mkdir(exist_ok=True)
            disaggs, _ = library_documents()
            (root / "indicators" / "disaggregations.yaml").write_text(dump_yaml({"disaggregations": disaggs}), encoding="utf-8")
        cat, problems = catalogue_svc.check_catalogue(root=root)
        if problems:
            raise Invalid(f"Tệp có {len(problems)} lỗi; không có gì được ghi", problems)
        for regime in cat.regimes.values():
            _require_owner_of_import(user, regime)
        refused = _library_changes(cat)
        if refused:
            raise Invalid("Các mục đã có trong thư viện dùng chung nhưng tệp định nghĩa khác: "
                          + ", ".join(d["where"] for d in refused[:10]) + " — không có gì được ghi. Tệp nhập chỉ thêm "
                          "mục mới vào thư viện chỉ tiêu và phân tổ; muốn sửa mục đã có, hãy đề nghị quản trị hệ thống",
                          details=refused)
        return catalogue_svc.load_catalogue(root=root)


def _require_owner_of_import(user: User, regime: RegimeDef) -> None:
    """An imported regime that already exists (or is being drafted) belongs to its *stored* issuing
    agency: only that agency's designers may change it, and the file may not change the issuer."""
    row = db.session.scalar(select(Regime).where(Regime.code == regime.code))
    draft = None if row else db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == regime.code))
    stored = row.issuing_agency_code if row else draft.issuing_agency_code if draft else None
    _require_designer(user, stored or regime.issuing_agency)
    if stored and regime.issuing_agency != stored:
        raise Forbidden(f"Tệp ghi cơ quan ban hành của {regime.code} là “{regime.issuing_agency}”, nhưng chế độ này do "
                        f"{stored} ban hành; tệp nhập không được đổi cơ quan ban hành (việc chuyển chế độ sang cơ quan "
                        "khác do quản trị hệ thống thực hiện)")


def _library_changes(cat: Catalogue) -> list[dict]:
    """Existing library entries (indicators, disaggregations) that the files define differently.
    An import may add entries; changing a shared one would change every regime that uses it."""
    disaggs, library = library_documents()
    out = []
    existing = {d["code"]: d for d in library}
    for c, ind in sorted(cat.indicators.items()):
        if c in existing and indicator_document(ind) != _normal(existing[c]):
            out.append({"code": "library_changed", "field": "indicators", "where": c,
                        "message": f"Chỉ tiêu “{c}” đã có trong thư viện với định nghĩa khác"})
    known = {d["code"]: d for d in disaggs}
    for c, d in sorted(cat.disaggregations.items()):
        if c not in known:
            continue
        mine = {"code": d.code, "name_vi": d.name_vi, **({"name_en": d.name_en} if d.name_en else {}),
                "options": [{k: v for k, v in {"code": o.code, "name_vi": o.name_vi, "name_en": o.name_en}.items() if v}
                            for o in d.options]}
        if mine != known[c]:
            out.append({"code": "library_changed", "field": "disaggregations", "where": c,
                        "message": f"Phân tổ “{c}” đã có trong thư viện với tên hoặc các lựa chọn khác"})
    return out


def _normal(doc: dict) -> dict:
    parsed = parse_indicators(Source("x", {"indicators": [doc]}), [])
    return indicator_document(parsed[0][0]) if parsed else doc


def version_diff(*, code: str, a: int, b: int) -> list[str]:
    regime = catalogue_svc.get_regime(code=code)
    va, vb = catalogue_svc.get_version(regime=regime, version=a), catalogue_svc.get_version(regime=regime, version=b)
    fa, fb = regime_files(va.snapshot), regime_files(vb.snapshot)
    out = []
    for path in sorted(set(fa) | set(fb)):
        out += rules.text_diff(fa.get(path, ""), fb.get(path, ""), f"v{a}/{path}", f"v{b}/{path}")
    return out

