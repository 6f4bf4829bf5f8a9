"""Review findings 1, 2 and 4: a regime belongs to its *stored* issuing agency, the shared library
(indicators, disaggregations) only grows through imports, and catalogue YAML is bounded in work."""
from __future__ import annotations

import io
import time
import zipfile

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Disaggregation, Regime, User
from app.services import catalogue as catalogue_svc
from app.services import designer as svc
from app.services import users as user_svc
from app.services.errors import Forbidden, Invalid

PASSWORD = "mot-mat-khau-du-dai-2026"


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return out.getvalue()


def _files(user: User, code: str) -> dict[str, str]:
    data, _ = svc.export_zip(user=user, code=code)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode() for n in z.namelist()}


@pytest.fixture
def vpcp_designer(app):
    return user_svc.create_user(username="thietke.vpcp", password=PASSWORD, full_name="Người thiết kế VPCP",
                                role="designer", agency_code="VPCP")


def test_a_designer_cannot_take_over_another_ministrys_regime_by_import(app, vpcp_designer):
    bct = _user("thietke.bct")
    files = _files(bct, "VPCP-TTHC")  # any designer may export a published regime
    path = "report_templates/VPCP-TTHC/regime.yaml"
    files[path] = files[path].replace("issuing_agency: VPCP", "issuing_agency: BCT")
    assert "issuing_agency: BCT" in files[path]
    with pytest.raises(Forbidden, match="VPCP"):
        svc.import_zip(user=bct, data=_zip(files))
    regime = db.session.scalar(select(Regime).where(Regime.code == "VPCP-TTHC"))
    assert regime.issuing_agency_code == "VPCP" and len(regime.versions) == 1
    # and VPCP's own designers still own it; they too cannot move it away by a file
    with pytest.raises(Forbidden, match="không được đổi cơ quan ban hành"):
        svc.import_zip(user=vpcp_designer, data=_zip(files))
    svc.get_draft(user=vpcp_designer, code="VPCP-TTHC", create=True)


def test_an_import_of_an_unchanged_issuer_still_needs_the_stored_owner(app, vpcp_designer):
    files = _files(vpcp_designer, "BCT-BANLE")
    path = "report_templates/BCT-BANLE/regime.yaml"
    files[path] = files[path].replace("lock_after_days: 30", "lock_after_days: 60")
    with pytest.raises(Forbidden):
        svc.import_zip(user=vpcp_designer, data=_zip(files))
    assert svc.import_zip(user=_user("thietke.bct"), data=_zip(files)).versions_created == ["BCT-BANLE"]


def test_a_new_code_reserved_by_another_agencys_draft_cannot_be_claimed_by_import(app, vpcp_designer):
    from datetime import date

    svc.new_regime(user=vpcp_designer, code="VPCP-MOI", name_vi="Báo cáo mới", frequency="monthly", valid_from=date(2027, 1, 1))
    bct = _user("thietke.bct")
    files = {k.replace("BCT-BANLE", "VPCP-MOI"): v.replace("code: BCT-BANLE", "code: VPCP-MOI")
             for k, v in _files(bct, "BCT-BANLE").items()}
    with pytest.raises(Forbidden, match="VPCP"):
        svc.import_zip(user=bct, data=_zip(files))
    assert db.session.scalar(select(Regime).where(Regime.code == "VPCP-MOI")) is None


def test_loading_files_never_moves_a_regime_transfer_is_an_audited_admin_act(app, runner, tmp_path):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    tree = tmp_path / "cat"
    shutil.copytree(root / "indicators", tree / "indicators")
    shutil.copytree(root / "report_templates", tree / "report_templates")
    path = tree / "report_templates" / "VPCP-TTHC" / "regime.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("issuing_agency: VPCP", "issuing_agency: BCT"), encoding="utf-8")
    with pytest.raises(Invalid, match="cơ quan ban hành"):
        catalogue_svc.load_catalogue(root=tree)
    assert db.session.scalar(select(Regime.issuing_agency_code).where(Regime.code == "VPCP-TTHC")) == "VPCP"

    from app.models import AuditEntry

    catalogue_svc.transfer_regime(code="VPCP-TTHC", to_agency="BCT")
    assert db.session.scalar(select(Regime.issuing_agency_code).where(Regime.code == "VPCP-TTHC")) == "BCT"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "regimes").order_by(AuditEntry.id.desc())).first()
    assert entry is not None and "BCT" in str(entry.changes)


def test_an_import_cannot_rewrite_the_shared_disaggregation_library(app):
    bct = _user("thietke.bct")
    before = {d.code: list(d.options) for d in db.session.scalars(select(Disaggregation))}
    sex = db.session.scalar(select(Disaggregation).where(Disaggregation.code == "GIOI_TINH"))
    assert sex is not None, "BNV-CBCC disaggregates by sex"
    text = ("disaggregations:\n- code: GIOI_TINH\n  name_vi: Giới tính\n  options:\n"
            "  - code: NAM\n    name_vi: Khác\n  - code: NU\n    name_vi: Khác nữa\n")
    with pytest.raises(Invalid, match="GIOI_TINH") as err:
        svc.import_zip(user=bct, data=_zip({"indicators/disaggregations.yaml": text}))
    assert err.value.details[0]["code"] == "library_changed"
    assert {d.code: list(d.options) for d in db.session.scalars(select(Disaggregation))} == before
    # adding a new entry is allowed
    new = text.replace("GIOI_TINH", "NHOM_TUOI_MOI")
    svc.import_zip(user=bct, data=_zip({"indicators/disaggregations.yaml": new}))
    assert db.session.scalar(select(Disaggregation).where(Disaggregation.code == "NHOM_TUOI_MOI")) is not None


def _laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    return "\n".join(lines) + "\ncode: X\n"


def test_yaml_aliases_are_refused_quickly_and_the_error_stays_small(app, client, auth):
    bomb = _zip({"indicators/disaggregations.yaml": "disaggregations:\n" + "  " + _laughs().replace("\n", "\n  ")})
    assert len(bomb) < 2000
    start = time.process_time()
    with pytest.raises(Invalid) as err:
        svc.import_zip(user=_user("thietke.bct"), data=bomb)
    assert time.process_time() - start < 2
    assert "neo/bí danh" in str(err.value.problems[0])
    # on the web: a flash message small enough for a cookie
    auth.login("thietke.bct")
    resp = client.post("/designer/import", data={"file": (io.BytesIO(bomb), "bomb.zip")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    cookie = resp.headers.get("Set-Cookie", "")
    assert len(cookie) < 4096
    assert "bí danh" in client.get("/designer").get_data(as_text=True)


def test_deep_nesting_and_huge_node_counts_are_refused(app):
    deep = "x: " + "[" * 5000 + "]" * 5000 + "\n"
    problems = []
    from pathlib import Path

    from app.adapters.catalogue_files import read_yaml

    tmp = Path(__import__("tempfile").mkdtemp())
    (tmp / "a.yaml").write_text(deep)
    assert read_yaml(tmp / "a.yaml", tmp, problems) is None and "lồng quá" in problems[0].message
    (tmp / "b.yaml").write_text("x: [" + ",".join("1" for _ in range(250_000)) + "]\n")
    problems = []
    assert read_yaml(tmp / "b.yaml", tmp, problems) is None and "phần tử" in problems[0].message


def test_errors_quote_values_briefly_and_list_only_the_first_problems():
    from app.domain.errors import Problem

    assert len(Problem("giá trị “" + "x" * 100_000 + "” không hợp lệ").message) <= 300
    exc = Invalid("Nhiều lỗi", details=[{"message": f"lỗi {i}"} for i in range(10_000)])
    assert len(exc.details) == 100 and exc.total == 10_000 and "10000" in str(exc)
