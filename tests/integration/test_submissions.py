"""Submitting reports through the services: drafts, Excel round trip, submit and seal, approve /
return / reopen, locks, scope, optimistic locking, ad hoc requests. Real database, real files."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import SubmissionValue, SubmissionVersion, User
from app.services import decisions as decisions_svc
from app.services import listings as listings_svc
from app.services import requests as requests_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services import uploads as uploads_svc
from app.services import users
from app.services.errors import Conflict, Forbidden, Invalid
from tests.helpers import fill_template, retail_values

REGIME, AGENCY, PERIOD = "BCT-BANLE", "T01.SCT", "2026-M12"  # deadline 17/12/2026, locks 30 days later
ON_TIME = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def reporter(app):
    return user("canbo.sct")


@pytest.fixture
def approver(app):
    return user("pheduyet.hn")


def raw(values: dict, estimate=(), comments=None) -> dict:
    comments = comments or {}
    return {(code, ""): (str(v), code in estimate, comments.get(code, "")) for code, v in values.items()}


def save(u, values=None, period=PERIOD, revision=None, now=ON_TIME, **kw):
    report = svc.open_report(user=u, regime_code=REGIME, agency_code=AGENCY, period_key=period, for_write=True)
    return svc.save(user=u, report=report, raw=raw(values or retail_values(), **kw), outline={"I": "Bán lẻ tăng nhẹ."},
                    revision=revision, now=now)


def versions_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SubmissionVersion))


def test_draft_submit_return_resubmit_approve(reporter, approver):
    first = save(reporter, retail_values({"BL_HH_01": "1.234,5"}))
    sub = first.submission
    assert first.version.number == 1 and sub.status == "draft"
    stored = {(v.indicator, v.dkey): v.number for v in first.version.values}
    assert stored[("BL_HH_01", "")] == Decimal("1234.5")
    assert stored[("BL_TONG", "")] == sum(stored[(c, "")] for c in ("BL_HH", "BL_DV", "BL_LT"))  # computed and stored

    again = save(reporter, retail_values({"BL_HH_01": 200}), revision=sub.revision)
    assert again.version.number == 1  # a draft is the working copy: saved in place until submitted

    done = sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    assert done.version.status == "submitted" and done.version.on_time is True and sub.on_time is True
    assert len(done.version.seal_hash) == 64 and len(done.version.seal_signature) == 128
    check = listings_svc.verify(user=approver, submission_id=sub.id)
    assert check.ok and check.hash_matches and check.signature_valid

    with pytest.raises(Invalid, match="chờ duyệt"):
        save(reporter, revision=sub.revision)
    with pytest.raises(Invalid, match="lý do"):
        decisions_svc.return_(user=approver, submission_id=sub.id, reason="  ")
    decisions_svc.return_(user=approver, submission_id=sub.id, reason="Dòng 1 chưa khớp số liệu Cục Thống kê")
    assert sub.status == "returned" and sub.latest.decision_reason.startswith("Dòng 1")
    with pytest.raises(Invalid, match="bị trả lại"):
        sending_svc.submit(user=reporter, submission_id=sub.id)

    fixed = save(reporter, retail_values({"BL_HH_01": 150}), revision=sub.revision)
    assert fixed.version.number == 2 and fixed.created_version
    assert sub.version(1).status == "returned" and sub.version(1).sealed  # version 1 kept as it was
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME + timedelta(days=1))
    decisions_svc.approve(user=approver, submission_id=sub.id)
    assert sub.status == "approved" and sub.approved_version == 2
    assert listings_svc.verify(user=reporter, submission_id=sub.id, number=1).ok
    assert listings_svc.verify(user=reporter, submission_id=sub.id, number=2).ok

    changes, sections = listings_svc.diff(report=svc.get_report(user=reporter, submission_id=sub.id), a=1, b=2)
    changed = {c.indicator: (c.before, c.after) for c in changes}
    assert changed["BL_HH_01"] == (Decimal(200), Decimal(150))
    assert "BL_HH" in changed and "BL_HH_02" not in changed and sections == []
    order = [c.indicator for c in changes]  # in the form's order (the total before its parts), named as on the form
    assert order.index("BL_TONG") < order.index("BL_HH") < order.index("BL_HH_01")
    assert next(c for c in changes if c.indicator == "BL_HH_01").name == "Lương thực, thực phẩm"
    actions = [e.action for e in listings_svc.events(report=svc.get_report(user=reporter, submission_id=sub.id))]
    assert actions == ["saved", "saved", "submitted", "returned", "saved", "submitted", "approved"]


def test_the_seal_detects_changed_values(reporter, approver):
    sub = save(reporter).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    version_id = sub.latest.id
    db.session.execute(update(SubmissionValue).where(SubmissionValue.version_id == version_id,
                                                     SubmissionValue.indicator == "BL_HH_03").values(number=Decimal(999)))
    db.session.expire_all()
    check = listings_svc.verify(user=approver, submission_id=sub.id)
    assert check.sealed and not check.hash_matches and check.signature_valid and not check.ok


def test_submission_is_refused_with_every_problem(reporter):
    values = retail_values({"BL_HH_07_XD": 999})
    del values["BL_DV_03"]
    sub = save(reporter, values).submission  # a draft may be incomplete or break a rule
    with pytest.raises(Invalid) as refused:
        sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    codes = sorted((d["code"], d["indicator"]) for d in refused.value.details)
    assert codes == [("required", "BL_DV_03"), ("rule", "BL_HH_07_XD")]
    assert sub.status == "draft" and sub.latest.seal_hash is None


def test_a_late_submission_is_accepted_and_flagged(reporter):
    sub = save(reporter, now=ON_TIME + timedelta(days=10)).submission
    done = sending_svc.submit(user=reporter, submission_id=sub.id, now=datetime(2026, 12, 18, 2, 0, tzinfo=UTC))
    assert done.version.on_time is False and sub.on_time is False


def test_after_the_lock_only_a_reopen_lets_the_reporter_write(reporter, approver):
    sub = save(reporter).submission
    late = sub.lock_at + timedelta(days=1)
    assert sub.lock_at.date() == date(2027, 1, 16)
    with pytest.raises(Invalid, match="đã khóa từ 16/01/2027"):
        save(reporter, revision=sub.revision, now=late)
    with pytest.raises(Invalid, match="lý do"):
        decisions_svc.reopen(user=approver, submission_id=sub.id, reason="", now=late)
    with pytest.raises(Forbidden):
        decisions_svc.reopen(user=reporter, submission_id=sub.id, reason="Tự mở", now=late)
    decisions_svc.reopen(user=approver, submission_id=sub.id, reason="Bổ sung số liệu siêu thị mới", now=late)
    save(reporter, revision=sub.revision, now=late)
    sending_svc.submit(user=reporter, submission_id=sub.id, now=late)
    assert sub.reopened_at is None and sub.latest.on_time is False


def test_an_estimate_is_replaced_by_the_actual_figure_in_a_new_version(reporter, approver):
    sub = save(reporter, estimate={"BL_HH_01"}).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    decisions_svc.approve(user=approver, submission_id=sub.id)
    with pytest.raises(Invalid, match="đã được duyệt"):
        save(reporter, revision=sub.revision)
    decisions_svc.reopen(user=approver, submission_id=sub.id, reason="Thay số ước bằng số thực hiện")
    save(reporter, retail_values({"BL_HH_01": 120}), revision=sub.revision)
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    old = {v.indicator: v for v in sub.version(1).values}
    new = {v.indicator: v for v in sub.version(2).values}
    assert old["BL_HH_01"].estimate and old["BL_HH_01"].number == 101
    assert not new["BL_HH_01"].estimate and new["BL_HH_01"].number == 120
    assert sub.approved_version == 1  # the aggregator keeps using version 1 until 2 is approved


def test_two_people_saving_the_same_draft(reporter):
    sub = save(reporter).submission
    seen = sub.revision
    save(reporter, retail_values({"BL_HH_01": 1}), revision=seen)
    with pytest.raises(Conflict, match="tải lại trang"):
        save(reporter, retail_values({"BL_HH_01": 2}), revision=seen)
    assert {v.indicator: v.number for v in sub.latest.values}["BL_HH_01"] == 1


def test_scope_other_agencies_cannot_read_or_write(app, reporter):
    other = users.create_user(username="canbo.sct2", password="mat-khau-dai-2026", full_name="Cán bộ Sở Công Thương 2",
                              role="reporter", agency_code="T04.SCT")
    other_approver = users.create_user(username="pheduyet.t04", password="mat-khau-dai-2026", full_name="Phê duyệt 2",
                                       role="approver", agency_code="T04")
    analyst = user("phantich.vpcp")
    sub = save(reporter).submission
    with pytest.raises(Forbidden):
        svc.open_report(user=other, regime_code=REGIME, agency_code=AGENCY, period_key=PERIOD, for_write=True)
    with pytest.raises(Forbidden):
        svc.get_report(user=other, submission_id=sub.id)
    with pytest.raises(Forbidden):
        svc.open_report(user=analyst, regime_code=REGIME, agency_code=AGENCY, period_key=PERIOD, for_write=True)
    assert svc.get_report(user=analyst, submission_id=sub.id).submission is sub  # analysts read everything
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    with pytest.raises(Forbidden):
        decisions_svc.approve(user=other_approver, submission_id=sub.id)
    with pytest.raises(Forbidden):
        decisions_svc.approve(user=reporter, submission_id=sub.id)
    assert sub.id not in [s.id for s in db.session.scalars(listings_svc.list_submissions(user=other))]
    assert sub.id not in [s.id for s in db.session.scalars(listings_svc.list_submissions(user=other_approver, inbox=True))]
    assert sub.id in [s.id for s in db.session.scalars(listings_svc.list_submissions(user=user("pheduyet.hn"), inbox=True))]


def test_an_agency_that_owes_nothing_is_told_so(reporter):
    with pytest.raises(Exception, match="không phải báo cáo"):
        svc.open_report(user=user("quantri"), regime_code=REGIME, agency_code="CP", period_key=PERIOD)
    with pytest.raises(Invalid, match="không phù hợp với chế độ"):
        svc.open_report(user=reporter, regime_code=REGIME, agency_code=AGENCY, period_key="2026-Q4")
    with pytest.raises(Invalid):
        svc.open_report(user=reporter, regime_code=REGIME, agency_code=AGENCY, period_key="2026-M13")


# --------------------------------------------------------------------------------------- Excel
def template(u, period=PERIOD) -> bytes:
    data, name = uploads_svc.template(user=u, regime_code=REGIME, agency_code=AGENCY, period_key=period)
    assert name == f"{REGIME}_{AGENCY}_{period}.xlsx"
    return data


def upload(u, data, period=PERIOD, name="bao-cao.xlsx"):
    return uploads_svc.upload(user=u, regime_code=REGIME, agency_code=AGENCY, period_key=period, data=data, file_name=name)


def test_excel_round_trip_creates_a_new_version(reporter):
    data = fill_template(template(reporter), retail_values({"BL_HH_01": "1.234,5"}), estimate={"BL_HH_02"},
                         comments={"BL_HH_03": "Có chợ đầu mối mới"})
    result = upload(reporter, data)
    assert result.version.source == "excel" and result.version.file_name == "bao-cao.xlsx"
    values = {v.indicator: v for v in result.version.values}
    assert values["BL_HH_01"].number == Decimal("1234.5")
    assert values["BL_HH_02"].estimate and values["BL_HH_03"].comment == "Có chợ đầu mối mới"
    assert values["BL_TONG"].number == sum(Decimal(str(v)) for k, v in retail_values({"BL_HH_01": "1234.5"}).items()
                                           if k != "BL_HH_07_XD")
    second = upload(reporter, fill_template(template(reporter), retail_values()))
    assert second.version.number == 2 and result.version.status == "replaced"  # nothing overwritten


def test_a_bad_workbook_changes_nothing_and_names_every_cell(reporter):
    before = versions_count()
    data = fill_template(template(reporter), retail_values({"BL_HH_01": "abc", "BL_HH_02": -5, "BL_DV_01": "1,234,567"}))
    with pytest.raises(Invalid) as refused:
        upload(reporter, data)
    where = {d["where"]: d for d in refused.value.details}
    assert set(where) == {"Biểu 01!E9", "Biểu 01!E10", "Biểu 01!E23"}
    assert where["Biểu 01!E9"]["indicator"] == "BL_HH_01" and "không phải là số" in where["Biểu 01!E9"]["message"]
    assert "nhỏ hơn mức tối thiểu" in where["Biểu 01!E10"]["message"]
    assert "kiểu Anh" in where["Biểu 01!E23"]["message"]
    assert versions_count() == before


def _with_cached_formula_values(data: bytes, cached: dict[str, str]) -> bytes:
    """openpyxl writes formulas without results; Excel stores the last result beside each one."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text = body.decode()
                for ref, value in cached.items():
                    text = re.sub(rf'(<c r="{ref}"[^>]*>)<f>([^<]*)</f><v\s*/?>(</v>)?', rf"\1<f>\2</f><v>{value}</v>", text)
                body = text.encode()
            dst.writestr(item, body)
    return out.getvalue()


def test_messy_but_unambiguous_workbooks_are_accepted(reporter):
    def mess(wb, ws, rows):
        ws[f"E{rows['BL_HH_04']}"] = "=100+4"  # a formula: its stored result is used
        ws[f"E{rows['BL_HH_05']}"] = "  1.005  "  # text with Vietnamese separators and spaces
        for r in range(ws.max_row + 1, ws.max_row + 6):
            ws[f"C{r}"] = None  # trailing blank rows
        scratch = wb.create_sheet("Nháp tính toán")
        scratch["A1"] = "=SUM(1,2)"
    data = fill_template(template(reporter), retail_values(), edit=mess)
    data = _with_cached_formula_values(data, {"E12": "104"})
    result = upload(reporter, data)
    values = {v.indicator: v.number for v in result.version.values}
    assert values["BL_HH_04"] == 104 and values["BL_HH_05"] == 1005


def test_a_row_with_figures_but_no_code_is_refused(reporter):
    def stray(wb, ws, rows):
        ws["E40"] = 77
    with pytest.raises(Invalid) as refused:
        upload(reporter, fill_template(template(reporter), retail_values(), edit=stray))
    assert [d["where"] for d in refused.value.details] == ["Biểu 01!B40"]


def test_a_total_that_contradicts_its_rows_is_refused(reporter):
    data = fill_template(template(reporter), retail_values({"BL_LT": 5}))
    with pytest.raises(Invalid) as refused:
        upload(reporter, data)
    assert refused.value.details[0]["code"] == "computed_mismatch"
    assert refused.value.details[0]["where"] == "Biểu 01!E30"


def test_a_workbook_for_another_agency_period_or_version_is_refused(app, reporter):
    m11 = fill_template(template(reporter, "2026-M11"), retail_values())
    with pytest.raises(Invalid, match="kỳ “2026-M11”, không phải kỳ “2026-M12”"):
        upload(reporter, m11)

    def other_version(wb, ws, rows):
        meta = wb["_baocao"]
        for row in meta.iter_rows():
            if row[0].value == "regime_version":
                row[1].value = 7
    with pytest.raises(Invalid, match="phiên bản 7 .* hãy tải mẫu mới"):
        upload(reporter, fill_template(template(reporter), retail_values(), edit=other_version))

    def other_agency(wb, ws, rows):
        for row in wb["_baocao"].iter_rows():
            if row[0].value == "agency":
                row[1].value = "T04.SCT"
    with pytest.raises(Invalid, match="đơn vị “T04.SCT”"):
        upload(reporter, fill_template(template(reporter), retail_values(), edit=other_agency))

    def moved_column(wb, ws, rows):
        ws.insert_cols(5)
    with pytest.raises(Invalid) as refused:
        upload(reporter, fill_template(template(reporter), retail_values(), column="F", edit=moved_column))
    assert "đừng chèn hay xóa cột" in refused.value.details[0]["message"]


@pytest.mark.parametrize("data, says", [
    (b"hello, not a workbook", "không phải bảng tính Excel"),
    (b"PK\x03\x04broken", "không phải bảng tính Excel"),
])
def test_files_that_are_not_workbooks(reporter, data, says):
    with pytest.raises(Invalid, match=says):
        upload(reporter, data)


def test_a_workbook_without_our_identity_sheet(reporter):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "Báo cáo tự làm"
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(Invalid, match="không phải mẫu Excel của hệ thống"):
        upload(reporter, out.getvalue())


def test_a_zip_bomb_is_refused_before_parsing(app, reporter):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (101 * 1024 * 1024))  # 101 MB → ~100 kB compressed
    data = out.getvalue()
    assert len(data) < 1024 * 1024
    with pytest.raises(Invalid, match="giải nén ra 101 MB"):
        upload(reporter, data)


def test_an_oversized_upload_is_refused(app, reporter):
    app.config["MAX_UPLOAD_MB"] = 1
    try:
        with pytest.raises(Invalid, match="vượt giới hạn 1 MB"):
            upload(reporter, b"PK" + b"x" * (1024 * 1024 + 10))
    finally:
        app.config["MAX_UPLOAD_MB"] = 10


def test_template_carries_last_periods_values_and_locks_the_rest(reporter, approver):
    import openpyxl

    sub = save(reporter, period="2026-M11", now=datetime(2026, 11, 15, 3, 0, tzinfo=UTC)).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=datetime(2026, 11, 15, 3, 0, tzinfo=UTC))
    decisions_svc.approve(user=approver, submission_id=sub.id)
    wb = openpyxl.load_workbook(io.BytesIO(template(reporter)))
    assert wb.sheetnames == ["Hướng dẫn", "_baocao", "Biểu 01"]
    assert wb["_baocao"].sheet_state == "veryHidden"
    ws = wb["Biểu 01"]
    assert ws.protection.sheet
    assert ws["B9"].value == "BL_HH_01" and ws["C9"].value.strip() == "Lương thực, thực phẩm" and ws["D9"].value == "triệu đồng"
    assert ws["F5"].value == "Kỳ trước" and ws["F9"].value == 101  # last period's approved figure
    assert ws["E9"].protection.locked is False and ws["F9"].protection.locked is True
    assert ws["E7"].value.startswith("=SUM(") and ws["E7"].protection.locked is True  # total: a formula, locked
    assert any("Có,Không" in (dv.formula1 or "") for dv in ws.data_validations.dataValidation)
    report = svc.open_report(user=reporter, regime_code=REGIME, agency_code=AGENCY, period_key=PERIOD)
    assert report.references()["previous"][("BL_HH_01", "")] == 101


# ------------------------------------------------------------------------------------- ad hoc
def test_an_ad_hoc_request_reaches_the_chosen_agencies(reporter):
    designer = user("thietke.bct")
    deadline = datetime.now(UTC) + timedelta(days=5)
    with pytest.raises(Invalid) as refused:
        requests_svc.issue_request(user=designer, regime_code=REGIME, title="", content="", agency_codes=["NOPE"],
                          deadline=deadline - timedelta(days=30), data_from=date(2026, 11, 1), data_to=date(2026, 10, 1))
    assert {d["field"] for d in refused.value.details} == {"title", "deadline", "data_to", "agencies"}
    with pytest.raises(Forbidden):
        requests_svc.issue_request(user=reporter, regime_code=REGIME, title="x", content="", agency_codes=[AGENCY],
                          deadline=deadline, data_from=date(2026, 11, 1), data_to=date(2026, 11, 20))
    req = requests_svc.issue_request(user=designer, regime_code=REGIME, title="Báo cáo nhanh bán lẻ dịp Tết", content="Số liệu 20 ngày",
                            agency_codes=[AGENCY, "T04.SCT"], deadline=deadline, data_from=date(2026, 11, 1),
                            data_to=date(2026, 11, 20))
    rows = [r for r in listings_svc.my_reports(user=reporter) if r.period_key == req.period_key]
    assert len(rows) == 1 and rows[0].title == "Báo cáo nhanh bán lẻ dịp Tết" and rows[0].status.value == "not_started"
    report = svc.open_report(user=reporter, regime_code=REGIME, agency_code=AGENCY, period_key=req.period_key, for_write=True)
    assert report.receiver.code == "BCT" and report.lock_at is None
    result = svc.save(user=reporter, report=report, raw=raw(retail_values()), outline={}, revision=None)
    sending_svc.submit(user=reporter, submission_id=result.submission.id)
    assert requests_svc.request_progress(request=req) == {"not_started": 1, "draft": 0, "submitted": 1, "returned": 0, "approved": 0}
    with pytest.raises(Exception, match="không nằm trong danh sách"):
        svc.open_report(user=user("quantri"), regime_code=REGIME, agency_code="T08.SCT", period_key=req.period_key)


def test_my_reports_lists_what_is_owed_with_days_left(reporter):
    rows = listings_svc.my_reports(user=reporter, now=ON_TIME)
    by = {(r.regime_code, r.period_key): r for r in rows}
    m12 = by[(REGIME, PERIOD)]
    assert m12.status.value == "not_started" and m12.days_left == 7 and not m12.late
    assert m12.receiver_name == "Thành phố Hà Nội"
    assert (REGIME, "2026-M11") in by and by[(REGIME, "2026-M11")].late
    assert ("BNV-CBCC", "2026") in by  # annual civil-service report, due to the provincial Department of Home Affairs
    save(reporter)
    assert {(r.regime_code, r.period_key): r for r in listings_svc.my_reports(user=reporter, now=ON_TIME)}[(REGIME, PERIOD)].status.value == "draft"


def test_a_new_server_secret_retires_the_signing_key_and_old_seals_still_verify(app, reporter, approver):
    sub = save(reporter).submission
    sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    first_key = sub.latest.seal_key
    decisions_svc.return_(user=approver, submission_id=sub.id, reason="Kiểm tra lại")
    old_secret = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-rotated-secret-key-0123456789"
    try:
        save(reporter, revision=sub.revision)
        sending_svc.submit(user=reporter, submission_id=sub.id, now=ON_TIME)
    finally:
        app.config["SECRET_KEY"] = old_secret
    assert sub.latest.seal_key.id != first_key.id and first_key.retired_at is not None
    assert listings_svc.verify(user=approver, submission_id=sub.id, number=1).ok
    assert listings_svc.verify(user=approver, submission_id=sub.id, number=2).ok


def test_the_of_which_row_is_not_labelled_twice_on_the_form_or_the_template(client, auth, reporter):
    import openpyxl

    data, _ = uploads_svc.template(user=reporter, regime_code=REGIME, agency_code=AGENCY, period_key=PERIOD)
    names = [str(c.value) for c in openpyxl.load_workbook(io.BytesIO(data))["Biểu 01"]["C"] if c.value]
    assert any(n.strip().startswith("Trong đó: xe đạp") for n in names)
    assert not any("Trong đó: Trong đó" in n for n in names)
    auth.login()
    page = client.get(f"/reports/{REGIME}/{AGENCY}/{PERIOD}").get_data(as_text=True)
    assert "xe đạp" in page and "Trong đó:</em> Trong đó" not in page
