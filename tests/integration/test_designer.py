"""The template designer: drafts of canonical documents, the Decree-09 checklist, publishing
versions, file round trips, scope; and what reporters then see."""
from __future__ import annotations

import io
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app.adapters.catalogue_files import regime_files
from app.domain.catalogue_build import snapshot_hash
from app.extensions import db
from app.models import Indicator, Regime, User
from app.services import catalogue as catalogue_svc
from app.services import designer as svc
from app.services import submissions as submissions_svc
from app.services.errors import Conflict, Forbidden, Invalid, NotFound

ROOT = Path(__file__).resolve().parents[2]


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def designer(app):
    return user("thietke.bct")


def set_in(path: list, value):
    def change(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def test_a_file_edit_and_the_same_web_edit_make_the_same_version(app, designer, tmp_path):
    tree = tmp_path / "catalogue"
    shutil.copytree(ROOT / "indicators", tree / "indicators")
    shutil.copytree(ROOT / "report_templates", tree / "report_templates")
    path = tree / "report_templates" / "BCT-BANLE" / "regime.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("lock_after_days: 30", "lock_after_days: 45"), encoding="utf-8")
    cat, problems = catalogue_svc.check_catalogue(root=tree)
    assert not problems
    from_file = snapshot_hash(cat.snapshots["BCT-BANLE"])

    draft = svc.get_draft(user=designer, code="BCT-BANLE", create=True)
    assert not svc.evaluate(draft).changed  # a fresh draft says what version 1 says
    svc.update(user=designer, code="BCT-BANLE", revision=draft.revision, change=set_in(["regime", "lock_after_days"], 45))
    version = svc.publish(user=designer, code="BCT-BANLE")
    assert version.version == 2 and version.content_hash == from_file and version.source == "web:thietke.bct"
    assert catalogue_svc.load_catalogue(root=tree).unchanged == ["BCT-BANLE", "BNV-CBCC", "VPCP-TTHC"]


def test_export_and_import_are_byte_stable(app, designer, tmp_path):
    data, name = svc.export_zip(user=designer, code="BCT-BANLE")
    assert name == "BCT-BANLE-v1.zip" and svc.export_zip(user=designer, code="BCT-BANLE")[0] == data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(tmp_path)
        names = sorted(z.namelist())
    assert names == ["indicators/bct-banle.yaml", "indicators/disaggregations.yaml",
                     "report_templates/BCT-BANLE/forms/BIEU01.yaml", "report_templates/BCT-BANLE/regime.yaml"]
    regime_text = (tmp_path / "report_templates/BCT-BANLE/regime.yaml").read_text(encoding="utf-8")
    assert "Báo cáo tổng mức bán lẻ hàng hóa" in regime_text  # Vietnamese as is, not escaped
    assert yaml.safe_load(regime_text)["tiers"][1]["receiver"] == "BCT"
    cat, problems = catalogue_svc.check_catalogue(root=tmp_path)
    assert not problems
    again = regime_files(cat.snapshots["BCT-BANLE"])
    for path, text in again.items():
        assert (tmp_path / path).read_text(encoding="utf-8") == text, path
    summary = svc.import_zip(user=designer, data=data)
    assert summary.unchanged == ["BCT-BANLE"] and not summary.versions_created


def test_designers_act_only_on_their_own_agencys_regimes(app, designer):
    with pytest.raises(Forbidden):
        svc.get_draft(user=designer, code="VPCP-TTHC", create=True)
    with pytest.raises(Forbidden):
        svc.get_draft(user=user("canbo.sct"), code="BCT-BANLE", create=True)
    with pytest.raises(Forbidden):
        svc.import_zip(user=user("canbo.sct"), data=b"")
    other, _ = svc.export_zip(user=designer, code="BNV-CBCC")
    with pytest.raises(Forbidden):
        svc.import_zip(user=designer, data=other)  # a regime issued by the Ministry of Home Affairs


def test_an_incomplete_regime_is_refused_with_the_missing_elements_named(app, designer):
    svc.new_regime(user=designer, code="BCT-XNK", name_vi="Báo cáo xuất nhập khẩu", frequency="quarterly",
                   valid_from=date(2026, 1, 1))
    with pytest.raises(Invalid) as refused:
        svc.publish(user=designer, code="BCT-XNK")
    messages = [d["message"] for d in refused.value.details]
    for element in ("Nội dung yêu cầu báo cáo", "Đối tượng thực hiện báo cáo", "Cơ quan nhận báo cáo",
                    "Thời hạn gửi báo cáo", "Mẫu đề cương báo cáo", "Mẫu biểu số liệu báo cáo"):
        assert f"Thiếu yếu tố: {element}" in messages
    with pytest.raises(Invalid) as taken:
        svc.new_regime(user=designer, code="BCT-XNK", name_vi="x", frequency="monthly", valid_from=date(2026, 1, 1))
    assert taken.value.details == [{"field": "code", "message": "Mã “BCT-XNK” đã được dùng"}]
    with pytest.raises(Invalid):
        svc.new_regime(user=designer, code="bad code", name_vi="", frequency="monthly", valid_from=date(2026, 1, 1))


def complete_quarterly(doc):
    r = doc["regime"]
    r.update({
        "legal_basis": "Thông tư thử nghiệm", "content": "Kim ngạch xuất khẩu, nhập khẩu trên địa bàn",
        "content_kind": "both", "sending_methods": ["system"],
        "tiers": [{"name": "Sở Công Thương gửi Bộ Công Thương", "reporters": {"levels": ["department"], "department_kinds": ["SCT"]},
                   "receiver": "BCT", "deadline": {"rule": "day_of_month", "day": 20}}],
        "outline": [{"code": "I", "title": "Tình hình xuất nhập khẩu"}],
        "forms": ["BIEU01", "BIEU02"],
    })
    doc["forms"] = {
        "BIEU01": {"code": "BIEU01", "title": "Xuất khẩu", "columns": ["current", "previous"],
                   "rows": [{"indicator": "BL_TONG", "row": "A"}, {"indicator": "BL_HH", "row": "1", "parent": "BL_TONG"},
                            {"indicator": "BL_DV", "row": "2", "parent": "BL_TONG"}],
                   "rules": [{"check": "BL_HH <= BL_TONG", "severity": "error", "message": "Hàng hóa không vượt tổng"}]},
        "BIEU02": {"code": "BIEU02", "title": "Nhập khẩu", "columns": ["current"], "rows": [{"indicator": "BL_LT", "row": "1"}]},
    }


def test_publish_edit_and_reporters_see_the_version_in_force(app, designer):
    svc.new_regime(user=designer, code="BCT-XNK", name_vi="Báo cáo xuất nhập khẩu quý", frequency="quarterly",
                   valid_from=date(2025, 7, 1))
    svc.update(user=designer, code="BCT-XNK", revision=None, change=complete_quarterly)
    v1 = svc.publish(user=designer, code="BCT-XNK")
    assert v1.version == 1
    with pytest.raises(NotFound):
        svc.get_draft(user=designer, code="BCT-XNK")  # publishing closes the draft
    svc.update(user=designer, code="BCT-XNK", revision=None,
               change=set_in(["forms", "BIEU02", "title"], "Nhập khẩu (sửa đổi)"))
    v2 = svc.publish(user=designer, code="BCT-XNK")
    assert v2.version == 2
    diff = "\n".join(svc.version_diff(code="BCT-XNK", a=1, b=2))
    assert "-title: Nhập khẩu" in diff and "+title: Nhập khẩu (sửa đổi)" in diff
    # version 1 keeps its definition
    assert v1.snapshot["forms"]["BIEU02"]["title"] == "Nhập khẩu"

    reporter = user("canbo.sct")
    past = submissions_svc.open_report(user=reporter, regime_code="BCT-XNK", agency_code="T01.SCT", period_key="2026-Q3")
    assert past.version.version == 1  # its cut-off ended (14/09/2026) before version 2 was published
    upcoming = submissions_svc.open_report(user=reporter, regime_code="BCT-XNK", agency_code="T01.SCT", period_key="2026-Q4")
    assert upcoming.version.version == 2
    assert upcoming.layout.forms[1].form.title == "Nhập khẩu (sửa đổi)" and past.layout.forms[1].form.title == "Nhập khẩu"


def test_publishing_an_unchanged_draft_is_refused(app, designer):
    svc.get_draft(user=designer, code="BCT-BANLE", create=True)
    with pytest.raises(Invalid, match="giống hệt"):
        svc.publish(user=designer, code="BCT-BANLE")


def test_a_stale_draft_revision_is_a_conflict(app, designer):
    draft = svc.get_draft(user=designer, code="BCT-BANLE", create=True)
    seen = draft.revision
    svc.update(user=designer, code="BCT-BANLE", revision=seen, change=set_in(["regime", "lock_after_days"], 40))
    with pytest.raises(Conflict):
        svc.update(user=designer, code="BCT-BANLE", revision=seen, change=set_in(["regime", "lock_after_days"], 41))


def test_new_indicators_are_checked_for_duplicates(app, designer):
    doc = {"code": "BL_TONG", "name_vi": "Tổng mới", "unit": "triệu đồng"}
    with pytest.raises(Invalid, match="đã có trong thư viện"):
        svc.add_indicator(user=designer, code="BCT-BANLE", revision=None, doc=doc)
    close = {"code": "BL_HH_MOI", "name_vi": "Tổng mức bán lẻ hàng hoá", "unit": "triệu đồng"}
    result = svc.add_indicator(user=designer, code="BCT-BANLE", revision=None, doc=close)
    assert not result.added and result.similar[0].code == "BL_HH"  # "hoá" vs "hóa": the same words
    assert svc.get_draft(user=designer, code="BCT-BANLE").document["indicators"] == []
    confirmed = svc.add_indicator(user=designer, code="BCT-BANLE", revision=None, doc=close, confirm=True)
    assert confirmed.added
    with pytest.raises(Invalid, match="chưa hợp lệ"):
        svc.add_indicator(user=designer, code="BCT-BANLE", revision=None, doc={"code": "X_1", "name_vi": "", "unit": ""})

    def use_it(doc):
        doc["forms"]["BIEU01"]["rows"].append({"indicator": "BL_HH_MOI", "row": "B"})
    svc.update(user=designer, code="BCT-BANLE", revision=None, change=use_it)
    svc.publish(user=designer, code="BCT-BANLE")
    assert db.session.scalar(select(Indicator).where(Indicator.code == "BL_HH_MOI")).unit == "triệu đồng"


def test_a_draft_with_unknown_codes_names_them(app, designer):
    svc.update(user=designer, code="BCT-BANLE", revision=None,
               change=lambda doc: doc["forms"]["BIEU01"]["rows"].append({"indicator": "KHONG_CO", "row": "9"}))
    check = svc.evaluate(svc.get_draft(user=designer, code="BCT-BANLE"))
    assert check.regime is None and any("KHONG_CO" in p.message for p in check.problems)
    with pytest.raises(Invalid):
        svc.publish(user=designer, code="BCT-BANLE")


def test_retiring_a_regime_ends_its_periods(app, designer):
    version = svc.retire(user=designer, code="BCT-BANLE", valid_to=date(2026, 12, 31))
    regime = db.session.scalar(select(Regime).where(Regime.code == "BCT-BANLE"))
    assert version.version == 2 and regime.valid_to == date(2026, 12, 31)
    definition, _ = catalogue_svc.regime_definition(version)
    keys = [p.key for p in definition.periods(date(2026, 10, 1), date(2027, 6, 30))]
    assert keys == ["2026-M10", "2026-M11", "2026-M12"]
    with pytest.raises(Invalid):
        svc.retire(user=designer, code="BCT-BANLE", valid_to=date(2020, 1, 1))


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return out.getvalue()


def test_import_refuses_what_it_should(app, designer):
    data, _ = svc.export_zip(user=designer, code="BCT-BANLE")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {n: z.read(n).decode() for n in z.namelist()}
    with pytest.raises(Invalid, match="đường dẫn"):
        svc.import_zip(user=designer, data=_zip({**files, "../../etc/passwd": "x"}))
    changed = dict(files)
    changed["indicators/bct-banle.yaml"] = changed["indicators/bct-banle.yaml"].replace("unit: triệu đồng", "unit: tỷ đồng", 1)
    with pytest.raises(Invalid, match="định nghĩa khác"):
        svc.import_zip(user=designer, data=_zip(changed))
    broken = dict(files)
    broken["report_templates/BCT-BANLE/regime.yaml"] = "code: [unclosed"
    with pytest.raises(Invalid, match="lỗi"):
        svc.import_zip(user=designer, data=_zip(broken))
    with pytest.raises(Invalid, match=".zip"):
        svc.import_zip(user=designer, data=b"not a zip")
    edited = dict(files)
    edited["report_templates/BCT-BANLE/regime.yaml"] = edited["report_templates/BCT-BANLE/regime.yaml"].replace(
        "lock_after_days: 30", "lock_after_days: 60")
    assert svc.import_zip(user=designer, data=_zip(edited)).versions_created == ["BCT-BANLE"]
