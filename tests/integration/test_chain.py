"""The compile chain through the services: a province's report compiled from what its units
reported, each cell by its aggregation rule, traceable, overridable with a reason, and aware of
changes below."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain.catalogue import CompilePolicy
from app.extensions import db
from app.models import User
from app.services import chain, history
from app.services import decisions as decisions_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services.errors import Invalid
from tests.helpers import retail_values
from tests.integration.test_center import tthc

ON_TIME = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
Q = "2026-Q3"  # VPCP-TTHC: tier 1 (departments, communes) → T01.VP; tier 2 (T01) → VPCP


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def raw(values: dict, estimate=(), comments=None) -> dict:
    comments = comments or {}
    return {(code, ""): (str(v), code in estimate, comments.get(code, "")) for code, v in values.items()}


def _sct_submits_and_is_approved(values=None, estimate=(), period="2026-M12"):
    reporter, approver = user("canbo.sct"), user("pheduyet.hn")
    report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key=period, for_write=True)
    saved = svc.save(user=reporter, report=report, raw=raw(values or retail_values(), estimate=estimate),
                     outline={"I": "Sức mua tăng dịp cuối năm."}, revision=None, now=ON_TIME)
    sending_svc.submit(user=reporter, submission_id=saved.submission.id, now=ON_TIME)
    decisions_svc.approve(user=approver, submission_id=saved.submission.id)
    return saved.submission


def test_the_province_report_is_compiled_from_its_department(app):
    _sct_submits_and_is_approved(retail_values({"BL_HH_01": 1000}), estimate={"BL_HH_02"})
    result, comp = chain.fill(user=user("pheduyet.hn"), regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    entries = {k: e for k, e in svc.entries_of(result.version).items()}
    assert entries[("BL_HH_01", "")].value == Decimal(1000)
    assert entries[("BL_HH_02", "")].estimate is True  # rests on the unit's estimate
    assert [u.code for u in comp.counted] == ["T01.SCT"] and comp.missing == []
    record = result.version.compilation
    assert record["sources"]["T01.SCT"]["version"] == 1 and record["values"]["BL_HH_01|"] == "1000"
    assert "Sức mua tăng dịp cuối năm." in result.version.outline.get("I", "")  # the unit's text under its name
    assert "Sở Công Thương" in result.version.outline["I"]
    drill = chain.sources_of(comp, ("BL_HH_01", ""))
    assert [(s.code, s.value, s.version, s.status) for s in drill] == [("T01.SCT", Decimal(1000), 1, "approved")]


def test_a_first_tier_report_is_not_compiled(app):
    with pytest.raises(Invalid, match="không tổng hợp"):
        chain.fill(user=user("canbo.sct"), regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12")


def _tthc_below(reports: dict):
    return history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key=Q, reports=reports)


def test_ratios_from_summed_parts_and_missing_units_left_out_and_shown(app):
    assert _tthc_below({"X00070": tthc(60, 40, 10, 70, 20, 0, 0), "T01.SCT": tthc(30, 20, 5, 25, 20, 0, 0)}) == 2
    report = svc.open_report(user=user("pheduyet.hn"), regime_code="VPCP-TTHC", agency_code="T01", period_key=Q)
    comp = chain.gather(report)
    cells = comp.cells
    assert cells[("TTHC_NHAN_TRUCTUYEN", "")].value == 90 and cells[("TTHC_NHAN_TRUCTUYEN", "")].units == 2
    rate = cells.get(("TTHC_TYLE_DUNGHAN", ""))
    expected = (Decimal(10 + 70 + 5 + 25) / Decimal(100 + 50) * 100)
    if rate is not None:  # typed ratio: from the summed parts, never the average of the units' rates
        assert abs(rate.value - expected) < Decimal("0.01")
    full = report.layout.complete({k: c.value for k, c in cells.items()})
    assert abs(full[("TTHC_TYLE_DUNGHAN", "")] - expected) < Decimal("0.01")
    owed = {u.code for u in comp.units}
    assert {"X00070", "T01.SCT"} <= owed and "T01.VP" not in owed and "T01" not in owed
    assert len(comp.missing) == len(owed) - 2  # every other unit of Hà Nội: missing, not zero
    assert cells[("TTHC_DAGQ_QUAHAN", "")].value == 40


def test_carry_last_policy_uses_a_missing_units_earlier_value_as_an_estimate(app):
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2026-Q2", reports={"X00070": tthc(7, 3, 1, 8, 1, 0, 0)})
    _tthc_below({"T01.SCT": tthc(30, 20, 5, 25, 20, 0, 0)})
    report = svc.open_report(user=user("pheduyet.hn"), regime_code="VPCP-TTHC", agency_code="T01", period_key=Q)
    omit = chain.gather(report)
    assert omit.cells[("TTHC_NHAN_TRUCTUYEN", "")].value == 30 and not omit.cells[("TTHC_NHAN_TRUCTUYEN", "")].estimate
    tiers = list(report.definition.tiers)
    tiers[1] = replace(tiers[1], compile=CompilePolicy("approved", "carry_last"))
    report.definition = replace(report.definition, tiers=tuple(tiers))
    carried = chain.gather(report)
    assert carried.cells[("TTHC_NHAN_TRUCTUYEN", "")].value == 37
    assert carried.cells[("TTHC_NHAN_TRUCTUYEN", "")].estimate is True
    unit = next(u for u in carried.units if u.code == "X00070")
    assert unit.carried_from == "2026-Q2"
    drill = {s.code: s for s in chain.sources_of(carried, ("TTHC_NHAN_TRUCTUYEN", ""))}
    assert drill["X00070"].value == 7 and drill["X00070"].estimate and drill["X00070"].carried_from == "2026-Q2"
    assert drill["T01.SCT"].value == 30 and not drill["T01.SCT"].estimate


def test_an_override_needs_a_reason_and_survives_a_refresh(app):
    sub = _sct_submits_and_is_approved(retail_values({"BL_HH_01": 1000, "BL_HH_03": 50}))
    hn = user("pheduyet.hn")
    result, _ = chain.fill(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    report = svc.open_report(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12", for_write=True)
    current = {k: (e.value, e.estimate, e.comment) for k, e in report.entries().items() if not report.layout.cells[k].computed}
    current[("BL_HH_01", "")] = ("1200", False, "")
    svc.save(user=hn, report=report, raw=current, outline=report.outline(), revision=None)
    with pytest.raises(Invalid) as refused:
        sending_svc.submit(user=hn, submission_id=result.submission.id, now=ON_TIME)
    assert [d["code"] for d in refused.value.details if d["code"] == "override_reason"] == ["override_reason"]

    # the unit resubmits: its new figures arrive below, the province sees the change
    reporter, approver = user("canbo.sct"), user("pheduyet.hn")
    decisions_svc.reopen(user=approver, submission_id=sub.id, reason="Sửa số liệu", now=ON_TIME)
    unit_report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", for_write=True)
    again = svc.save(user=reporter, report=unit_report, raw=raw(retail_values({"BL_HH_01": 1000, "BL_HH_03": 70})),
                     outline={}, revision=None, now=ON_TIME, new_version=True)
    sending_svc.submit(user=reporter, submission_id=again.submission.id, now=ON_TIME)
    decisions_svc.approve(user=approver, submission_id=again.submission.id)
    report = svc.open_report(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    changes = chain.changes_below(report)
    assert [(c.code, c.before, c.after) for c in changes] == [("T01.SCT", "phiên bản 1", "phiên bản 2 (đã duyệt)")]

    refreshed, _ = chain.fill(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    entries = svc.entries_of(refreshed.version)
    assert entries[("BL_HH_01", "")].value == Decimal(1200)  # the override stays
    assert entries[("BL_HH_03", "")].value == Decimal(70)  # the rest takes the new figures
    report = svc.open_report(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12", for_write=True)
    assert chain.changes_below(report) == []
    current = {k: (e.value, e.estimate, e.comment) for k, e in report.entries().items() if not report.layout.cells[k].computed}
    current[("BL_HH_01", "")] = ("1200", False, "Sở báo thiếu doanh thu của hai siêu thị mới")
    svc.save(user=hn, report=report, raw=current, outline={"I": "Tổng hợp của tỉnh."}, revision=None)
    done = sending_svc.submit(user=hn, submission_id=refreshed.submission.id, now=ON_TIME)
    assert done.submission.status == "submitted"
    assert done.version.compilation["values"]["BL_HH_01|"] == "1000"  # the receiver sees both figures


def test_on_the_web_and_in_the_api(app, client, auth):
    _sct_submits_and_is_approved(retail_values({"BL_HH_01": 1000}))
    auth.login("pheduyet.hn")
    page = client.get("/reports/BCT-BANLE/T01/2026-M12").get_data(as_text=True)
    assert "Tổng hợp từ báo cáo cấp dưới" in page and "1/1 đơn vị" in page
    assert client.post("/reports/BCT-BANLE/T01/2026-M12/compile", data={"revision": ""}).status_code == 302
    page = client.get("/reports/BCT-BANLE/T01/2026-M12").get_data(as_text=True)
    assert 'name="v|BL_HH_01|" value="1.000"' in page and 'data-testid="sources-BL_HH_01|"' in page
    drill = client.get("/reports/BCT-BANLE/T01/2026-M12/sources?cell=BL_HH_01|").get_data(as_text=True)
    assert "Sở Công Thương thành phố Hà Nội" in drill and "1.000" in drill and "Đã duyệt" in drill
    assert client.get("/reports/BCT-BANLE/T01/2026-M12/sources?cell=NOPE|").status_code == 404
    sid = db.session.scalar(select(svc.Submission.id).where(svc.Submission.period_key == "2026-M12",
                                                            svc.Submission.tier == 1))
    api = client.get(f"/api/v1/compilations/{sid}?cell=BL_HH_01|").get_json()
    assert api["basis"] == "approved" and [u["agency"] for u in api["units"]] == ["T01.SCT"]
    cell = next(c for c in api["cells"] if c["cell"] == "BL_HH_01|")
    assert cell == {"cell": "BL_HH_01|", "compiled": "1000", "value": "1000", "overridden": False, "units": 1, "estimate": False}
    assert api["sources"][0]["value"] == "1000" and api["sources"][0]["status"] == "approved"


def test_a_sealed_version_keeps_the_system_columns_it_was_sealed_with(app):
    """Sealed means frozen: the previous-period column of November stays as it was when November was
    sealed, although October is submitted (late) afterwards."""
    reporter = user("canbo.sct")
    early, later = datetime(2026, 11, 5, 3, 0, tzinfo=UTC), datetime(2026, 11, 10, 3, 0, tzinfo=UTC)

    def submit(period, values, now):
        report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key=period, for_write=True)
        saved = svc.save(user=reporter, report=report, raw=raw(values), outline={"I": "x"}, revision=None, now=now)
        sending_svc.submit(user=reporter, submission_id=saved.submission.id, now=now)
        return saved.submission.id

    nov = submit("2026-M11", retail_values({"BL_HH_01": 500}), early)
    report = svc.get_report(user=reporter, submission_id=nov)
    sealed = report.system(report.entries())
    assert sealed.get("previous", {}).get("BL_HH_01") is None  # nothing before it yet
    submit("2026-M10", retail_values({"BL_HH_01": 400}), later)
    report = svc.get_report(user=reporter, submission_id=nov)
    assert report.system(report.entries()) == sealed
    assert report.submission.latest.sealed_system is not None
    # a draft of December still computes its columns from what is stored now
    dec = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", for_write=True)
    assert dec.system({}).get("previous", {}).get("BL_HH_01") == 500


def _province_compiles_overrides_and_is_approved(synthesis: str):
    """The department reports 1.000 for BL_HH_01; Hà Nội compiles, sends 1.100 with a reason and its
    synthesis; the ministry approves. Returns the province's save result."""
    _sct_submits_and_is_approved(retail_values({"BL_HH_01": 1000}))
    hn = user("pheduyet.hn")
    result, _ = chain.fill(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    report = svc.open_report(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12", for_write=True)
    current = {k: (e.value, e.estimate, e.comment) for k, e in report.entries().items() if not report.layout.cells[k].computed}
    current[("BL_HH_01", "")] = ("1100", False, "Bổ sung doanh thu hai siêu thị mới chưa báo cáo")
    svc.save(user=hn, report=report, raw=current, outline={"I": synthesis}, revision=None)
    sending_svc.submit(user=hn, submission_id=result.submission.id, now=ON_TIME)
    decisions_svc.approve(user=user("pheduyet.bct"), submission_id=result.submission.id)
    return result


def test_the_center_shows_primary_and_compiled_figures_with_the_difference(app, client, auth):
    _province_compiles_overrides_and_is_approved("Tổng hợp.")
    hn = user("pheduyet.hn")
    analyst = user("phantich.vpcp")
    cmp = chain.compare_tiers(user=analyst, regime="BCT-BANLE", period="2026-M12", indicator="BL_HH_01")
    hanoi = next(r for r in cmp.rows if r.code == "T01")
    assert (hanoi.primary, hanoi.compiled, hanoi.difference, hanoi.differs) == (Decimal(1000), Decimal(1100), Decimal(100), True)
    assert [name for name, _ in cmp.completeness] == [t.name for t in svc.open_report(
        user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12").definition.tiers]
    auth.login("phantich.vpcp")
    page = client.get("/center/BCT-BANLE/2026-M12/tiers?indicator=BL_HH_01").get_data(as_text=True)
    assert "chênh lệch" in page and 'data-unit="T01" class="table-warning"' in page and "1.100" in page
    assert "Số tổng hợp và số gốc" in client.get("/center/BCT-BANLE/2026-M12").get_data(as_text=True)


def test_the_compilers_reminder_says_how_many_reports_below_are_missing(app, smtp):
    from app.domain.deadlines import VN_TZ
    from app.services import reminders

    reminders.send(now=datetime(2026, 11, 19, 8, 5, tzinfo=VN_TZ))  # Hà Nội's own report is due on the 20th
    reminders.deliver(now=datetime(2026, 11, 19, 8, 5, tzinfo=VN_TZ))
    mail = [m for m in smtp.to("pheduyet.hn@baocao.local") if "Nhắc hạn" in m["Subject"]]
    assert mail, [m["Subject"] for m in smtp.messages]
    body = mail[0].get_body(("plain",)).get_content()
    assert "còn 1/1 đơn vị chưa gửi báo cáo để tổng hợp" in body
    html = mail[0].get_body(("html",)).get_content()
    assert "1/1" in html and "tổng hợp" in html


def test_the_pdf_of_a_compiling_province_is_its_own_report(app):
    import shutil

    from app.services import exports
    from tests.integration.test_exports import pdf_text

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    result = _province_compiles_overrides_and_is_approved("Thành phố đánh giá sức mua tăng khá trong tháng.")
    hn = user("pheduyet.hn")
    data, _name, _cached = exports.pdf(user=user("phantich.vpcp"), regime="BCT-BANLE", period="2026-M12", agency="T01")
    text = " ".join(pdf_text(data).split())
    assert "Thành phố đánh giá sức mua tăng khá trong tháng." in text  # its own synthesis, not "(Chưa có nội dung.)"
    assert f"Số: {result.submission.id}/BC-UBND" in text and "ngày 10 tháng 12 năm 2026" in text
    assert hn.full_name in text and "Bộ Công Thương" in text  # signer and "Nơi nhận"
    assert "1.100" in text  # its figures, as sent


def test_the_compile_policy_is_set_per_tier_in_the_designer(app, client, auth):
    from app.services import catalogue as catalogue_svc
    from app.services import designer as designer_svc

    auth.login("thietke.bct")
    form = {"section": "tiers", "tier_count": "2",
            "tier0_name": "Sở Công Thương gửi Ủy ban nhân dân tỉnh", "tier0_levels": ["department"], "tier0_kinds": "SCT",
            "tier0_receiver": "province", "tier0_rule": "day_of_month", "tier0_day": "17",
            "tier1_name": "Ủy ban nhân dân tỉnh gửi Bộ Công Thương", "tier1_levels": ["province"], "tier1_receiver": "BCT",
            "tier1_rule": "day_of_month", "tier1_day": "20", "tier1_compile_basis": "submitted", "tier1_compile_missing": "carry_last"}
    client.post("/designer/BCT-BANLE", data=form)
    page = client.get("/designer/BCT-BANLE").get_data(as_text=True)
    assert 'value="carry_last" selected' in page and 'value="submitted" selected' in page
    draft = designer_svc.get_draft(user=user("thietke.bct"), code="BCT-BANLE")
    assert draft.document["regime"]["tiers"][1]["compile"] == {"basis": "submitted", "missing": "carry_last"}
    assert "compile" not in draft.document["regime"]["tiers"][0]
    version = designer_svc.publish(user=user("thietke.bct"), code="BCT-BANLE")
    definition, _ = catalogue_svc.regime_definition(version)
    assert definition.tiers[1].compile == CompilePolicy("submitted", "carry_last")
    # and a bad value in a file is refused with the choices
    def bad(doc):
        doc["regime"]["tiers"][1]["compile"] = {"basis": "everything"}
    draft = designer_svc.get_draft(user=user("thietke.bct"), code="BCT-BANLE", create=True)
    designer_svc.update(user=user("thietke.bct"), code="BCT-BANLE", revision=draft.revision, change=bad)
    with pytest.raises(Invalid) as err:
        designer_svc.publish(user=user("thietke.bct"), code="BCT-BANLE")
    assert "“Tổng hợp từ báo cáo” không nhận giá trị “everything”" in str(err.value.details)


def test_when_the_actual_arrives_below_the_next_period_shows_the_correction(app, client, auth):
    nov = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    sub = _sct_submits_and_is_approved(retail_values({"BL_HH_02": 200}), estimate={"BL_HH_02"}, period="2026-M11")
    hn = user("pheduyet.hn")
    result, _ = chain.fill(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M11", now=nov)
    assert "BL_HH_02|" in result.version.compilation["estimates"]
    sending_svc.submit(user=hn, submission_id=result.submission.id, now=nov)
    # the department reports the actual for November
    reporter = user("canbo.sct")
    decisions_svc.reopen(user=hn, submission_id=sub.id, reason="Có số thực hiện", now=ON_TIME)
    unit = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M11", for_write=True)
    again = svc.save(user=reporter, report=unit, raw=raw(retail_values({"BL_HH_02": 230})), outline={}, revision=None,
                     now=ON_TIME, new_version=True)
    sending_svc.submit(user=reporter, submission_id=again.submission.id, now=ON_TIME)
    decisions_svc.approve(user=hn, submission_id=again.submission.id)
    december = svc.open_report(user=hn, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    corrections = chain.previous_corrections(december, hn)
    assert [(c.code, c.sent, c.actual) for c in corrections] == [("BL_HH_02", Decimal(200), Decimal(230))]
    auth.login("pheduyet.hn")
    page = client.get("/reports/BCT-BANLE/T01/2026-M12").get_data(as_text=True)
    assert "Số ước tính của kỳ trước đã có số thực hiện" in page and "230" in page


def test_an_annual_regime_disaggregated_by_sex_is_compiled_cell_by_cell(app):
    """BNV-CBCC: departments and communes → the provincial Department of Home Affairs; the province
    compiles every (indicator, sex) cell; an average (mean age) is the mean over the units, not a sum."""
    male, female = "GIOI_TINH=NAM", "GIOI_TINH=NU"

    def cbcc(cc_m, cc_f, age_m, age_f):
        return {("CBCC_CONGCHUC", male): Decimal(cc_m), ("CBCC_CONGCHUC", female): Decimal(cc_f),
                ("CBCC_TUOI_BQ", male): Decimal(age_m), ("CBCC_TUOI_BQ", female): Decimal(age_f)}

    stored = history.load_reports(actor=user("quantri"), regime_code="BNV-CBCC", period_key="2025",
                                  reports={"T01.SCT": cbcc(30, 20, 40, 38), "X00070": cbcc(10, 15, 44, 36)})
    assert stored == 2
    report = svc.open_report(user=user("pheduyet.hn"), regime_code="BNV-CBCC", agency_code="T01", period_key="2025")
    comp = chain.gather(report)
    assert {u.code for u in comp.counted} == {"T01.SCT", "X00070"} and "T01.SNV" not in {u.code for u in comp.units}
    assert comp.cells[("CBCC_CONGCHUC", male)].value == 40 and comp.cells[("CBCC_CONGCHUC", female)].value == 35
    assert report.layout.cells[("CBCC_TUOI_BQ", male)].indicator.aggregation == "average"
    assert comp.cells[("CBCC_TUOI_BQ", male)].value == 42 and comp.cells[("CBCC_TUOI_BQ", female)].value == 37
    full = report.layout.complete({k: c.value for k, c in comp.cells.items()})
    assert full[("CBCC_CONGCHUC", "")] == 75  # the total of the breakdowns, computed as on the form
