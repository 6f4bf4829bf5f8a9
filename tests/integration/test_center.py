"""The reporting center on a real database: approvals reflected at once, incremental equals
rebuilt, approved-only by default, history in today's units, completeness, scope, API."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from app.domain.numbers import normalise
from app.extensions import db
from app.models import Aggregate, Regime, User
from app.services import aggregation_rebuild as svc
from app.services import center as center_svc
from app.services import center_kpi as kpi_svc
from app.services import center_nav as nav_svc
from app.services import completeness as completeness_svc
from app.services import decisions as decisions_svc
from app.services import history, interchange, users
from app.services import sending as sending_svc
from app.services import submissions as submissions_svc
from app.services.errors import Forbidden
from tests.helpers import retail_values

ON_TIME = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def analyst(app):
    return user("phantich.vpcp")


def tthc(received_online, received_direct, early, on_time, late, pending_ok, pending_late, carried=0):
    return {("TTHC_NHAN_TRUCTUYEN", ""): Decimal(received_online), ("TTHC_NHAN_TRUCTIEP", ""): Decimal(received_direct),
            ("TTHC_NHAN_KYTRUOC", ""): Decimal(carried), ("TTHC_DAGQ_TRUOCHAN", ""): Decimal(early),
            ("TTHC_DAGQ_DUNGHAN", ""): Decimal(on_time), ("TTHC_DAGQ_QUAHAN", ""): Decimal(late),
            ("TTHC_DANGGQ_TRONGHAN", ""): Decimal(pending_ok), ("TTHC_DANGGQ_QUAHAN", ""): Decimal(pending_late)}


# before the reorganisation: old Lào Cai (T10-63) and Yên Bái (T15-63) became today's Lào Cai (T15)
HISTORY = {"T10-63": tthc(60, 40, 10, 70, 20, 0, 0), "T15-63": tthc(30, 20, 5, 25, 20, 0, 0), "T01-63": tthc(500, 100, 100, 400, 100, 0, 0)}


def load_history():
    return history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2025-Q1", reports=HISTORY,
                                on_time=lambda code: code != "T15-63")


def test_history_as_reported_and_in_todays_units(app, analyst):
    assert load_history() == 3
    reported = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    total = {r.indicator.code: r.values[""] for r in reported.rows}
    assert total["TTHC_NHAN_TONG"] == 60 + 40 + 30 + 20 + 500 + 100
    # on-time rate: (early + on time) / settled, over the summed parts — not an average of rates
    assert total["TTHC_TYLE_DUNGHAN"] == normalise(Decimal(10 + 70 + 5 + 25 + 100 + 400) / Decimal(100 + 50 + 600) * 100)  # 81,33
    assert {c.code for c in reported.children} == {"T10-63", "T15-63", "T01-63"}
    assert reported.reporting == 3 and reported.expected >= 63  # the 63 provinces of the time (and the ministries) owed it
    current = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2025-Q1", units="current")
    children = {c.code: c for c in current.children}
    assert set(children) == {"T15", "T01"}
    assert children["T15"].values["TTHC_NHAN_TONG"] == 100 + 50
    assert children["T15"].values["TTHC_TYLE_DUNGHAN"] == normalise(Decimal(10 + 70 + 5 + 25) / Decimal(100 + 50) * 100)
    assert {r.indicator.code: r.values[""] for r in current.rows} == total  # the nation is the same either way
    drilled = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2025-Q1", unit="T15", units="current")
    assert {c.code for c in drilled.children} == {"T10-63", "T15-63"}
    assert {r.indicator.code: r.values[""] for r in drilled.rows}["TTHC_NHAN_TONG"] == 150


def submit_retail(approve: bool):
    reporter, approver = user("canbo.sct"), user("pheduyet.hn")
    report = submissions_svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12",
                                         for_write=True)
    result = submissions_svc.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                                  outline={}, revision=None, now=ON_TIME)
    sending_svc.submit(user=reporter, submission_id=result.submission.id, now=ON_TIME)
    if approve:
        decisions_svc.approve(user=approver, submission_id=result.submission.id)
    return result.submission


def national(analyst, basis="approved", period="2026-M12"):
    v = center_svc.view(user=analyst, regime="BCT-BANLE", period=period, basis=basis)
    return {r.indicator.code: r.values[""] for r in v.rows}


def test_only_approved_data_counts_unless_asked_and_a_return_removes_it(app, analyst):
    sub = submit_retail(approve=False)
    assert national(analyst)["BL_TONG"] is None  # submitted, not approved
    assert national(analyst, "latest")["BL_TONG"] == 1722  # …visible when asked for, clearly as submitted
    decisions_svc.return_(user=user("pheduyet.hn"), submission_id=sub.id, reason="Sai")
    assert national(analyst, "latest")["BL_TONG"] is None  # a returned version never counts


def test_an_approval_is_in_the_national_view_at_once_and_rebuild_changes_nothing(app, analyst):
    submit_retail(approve=True)
    assert national(analyst)["BL_TONG"] == 1722 and national(analyst)["BL_HH_01"] == 101
    v = center_svc.view(user=analyst, regime="BCT-BANLE", period="2026-M12")
    assert v.reporting == 1 and v.expected == 34
    t01 = center_svc.view(user=analyst, regime="BCT-BANLE", period="2026-M12", unit="T01")
    assert [c.code for c in t01.children] == ["T01.SCT"]
    agency = center_svc.view(user=analyst, regime="BCT-BANLE", period="2026-M12", unit="T01.SCT")
    assert {r.indicator.code: r.values[""] for r in agency.rows}["BL_LT"] == 21 + 22 + 23

    def snapshot():
        return sorted((a.unit_code, a.tier, a.basis, a.indicator, a.dkey, a.n, a.total, a.minimum, a.maximum)
                      for a in db.session.scalars(select(Aggregate).where(Aggregate.period_key == "2026-M12")))
    incremental = snapshot()
    assert incremental
    svc.rebuild(regime="BCT-BANLE", period="2026-M12")
    assert snapshot() == incremental
    svc.rebuild(regime="BCT-BANLE", period="2026-M12")
    assert snapshot() == incremental  # idempotent


def test_trend_over_periods(app, analyst):
    actor = user("quantri")
    for key, scale in (("2026-M09", 1), ("2026-M10", 2)):
        values = {(k, ""): Decimal(v) * scale for k, v in retail_values().items()}
        history.load_reports(actor=actor, regime_code="BCT-BANLE", period_key=key, reports={"T04.SCT": values})
    points = center_svc.trend(user=analyst, regime="BCT-BANLE", indicator="BL_TONG", end="2026-M10", periods=3)
    assert [(p.key, v) for p, v in points] == [("2026-M08", None), ("2026-M09", 1722), ("2026-M10", 3444)]
    v = center_svc.view(user=analyst, regime="BCT-BANLE", period="2026-M10")
    row = next(r for r in v.rows if r.indicator.code == "BL_TONG")
    assert row.previous == 1722 and row.change_previous == 200


def test_completeness_counts_obliged_agencies_only(app, analyst):
    load_history()
    cv = completeness_svc.completeness(user=analyst, regime="VPCP-TTHC", period="2025-Q1", periods=2)
    q1 = cv.totals["2025-Q1"]
    assert q1.submitted == 3 and q1.on_time == 2 and q1.late == 1 and q1.expected >= 63 and q1.rate <= 100
    assert all(t.rate <= 100 and t.submitted <= t.expected for t in cv.totals.values())
    assert {r.code: r.cells["2025-Q1"] for r in cv.rows if r.code in HISTORY} == {"T10-63": "on_time", "T15-63": "late", "T01-63": "on_time"}
    assert "T15" not in {r.code for r in cv.rows}  # today's Lào Cai did not exist in 2025-Q1


def test_a_province_analyst_sees_only_their_province(app):
    local = users.create_user(username="phantich.hn", password="mat-khau-dai-2026", full_name="Chuyên viên Hà Nội", role="analyst",
                              agency_code="T01")
    submit_retail(approve=True)
    v = center_svc.view(user=local, regime="BCT-BANLE", period="2026-M12")
    assert v.unit == "T01"  # the nation is replaced by their province
    with pytest.raises(Forbidden):
        center_svc.view(user=local, regime="BCT-BANLE", period="2026-M12", unit="T04")
    with pytest.raises(Forbidden):
        center_svc.view(user=user("canbo.sct"), regime="BCT-BANLE", period="2026-M12")


def test_a_province_analyst_sees_the_history_of_the_old_provinces_merged_into_theirs(app, client, auth):
    """Records keep the province as reported: before 1 July 2025 today's Lào Cai (T15) was old Lào
    Cai (T15-63) and Yên Bái (T10-63). Its staff export, drill into and see flagged their history —
    not Hà Nội's (T01-63), and not that of a province merged into another."""
    load_history()
    laocai = users.create_user(username="phantich.laocai", password="mat-khau-dai-2026", full_name="Chuyên viên Lào Cai",
                               role="analyst", agency_code="T15")
    hanoi = users.create_user(username="phantich.hanoi", password="mat-khau-dai-2026", full_name="Chuyên viên Hà Nội",
                              role="analyst", agency_code="T01")
    assert center_svc.scope_units("T15") == {"T15", "T15-63", "T10-63"} and center_svc.scope_units("T01") == {"T01", "T01-63"}
    rows = list(interchange.record_rows(user=laocai, regime="VPCP-TTHC", start="2025-Q1"))
    assert {r[0] for r in rows} == {"T15-63", "T10-63"}  # was empty: the province as reported is not T15
    assert sum(Decimal(r[4]) for r in rows if r[1] == "TTHC_NHAN_TRUCTUYEN") == 60 + 30
    assert {r[0] for r in interchange.record_rows(user=hanoi, regime="VPCP-TTHC", start="2025-Q1")} == {"T01-63"}
    mine = center_svc.view(user=laocai, regime="VPCP-TTHC", period="2025-Q1", units="current")
    assert {c.code for c in mine.children} == {"T10-63", "T15-63"}
    drilled = center_svc.view(user=laocai, regime="VPCP-TTHC", period="2025-Q1", unit="T10-63")  # the child it shows (was refused)
    assert {r.indicator.code: r.values[""] for r in drilled.rows}["TTHC_NHAN_TONG"] == 100
    with pytest.raises(Forbidden):
        center_svc.view(user=hanoi, regime="VPCP-TTHC", period="2025-Q1", unit="T10-63")
    with pytest.raises(Forbidden):
        center_svc.view(user=laocai, regime="VPCP-TTHC", period="2025-Q1", unit="T01-63")
    _, lines = kpi_svc.multiples(user=laocai, regime="VPCP-TTHC", indicator="TTHC_NHAN_TONG", end="2025-Q1", periods=2)
    assert {m.code for m in lines} == {"T10-63", "T15-63"}
    # the page "as reported" (empty: T15 did not exist) says so and leads to the old provinces
    db.session.commit()
    auth.login("phantich.laocai", "mat-khau-dai-2026")
    page = client.get("/center/VPCP-TTHC/2025-Q1").get_data(as_text=True)
    note = page[page.index('data-testid="formed-after"'):].split("</div>")[0]
    assert "thành lập từ ngày 01/07/2025" in note and "unit=T10-63" in note and "unit=T15-63" in note and "units=current" in note
    assert "unit=T01-63" not in note
    assert client.get("/center/VPCP-TTHC/2025-Q1?unit=T10-63").status_code == 200
    assert 'data-testid="formed-after"' not in client.get("/center/VPCP-TTHC/2025-Q1?units=current").get_data(as_text=True)
    assert 'data-testid="formed-after"' not in client.get("/center/VPCP-TTHC/2025-Q3").get_data(as_text=True)  # T15 existed then


def test_the_api_serves_the_same_figures(client, app, analyst):
    from app.services.users import issue_token

    load_history()
    headers = {"Authorization": f"Bearer {issue_token(user=analyst)}"}
    body = client.get("/api/v1/aggregates?regime=VPCP-TTHC&period=2025-Q1&units=current&indicator=TTHC_NHAN_TONG", headers=headers).get_json()
    assert body["items"] == [{"indicator": "TTHC_NHAN_TONG", "name_vi": body["items"][0]["name_vi"], "unit": "hồ sơ",
                              "aggregation": "sum", "disaggregation": {}, "value": "750", "previous": None,
                              "same_period_last_year": None, "reporting": "3",
                              "vs_previous": body["items"][0]["vs_previous"], "vs_same_period_last_year": body["items"][0]["vs_same_period_last_year"]}]
    assert body["items"][0]["vs_previous"] == {"current": None, "before": None, "change": None, "in_points": False, "partial": True,
                                               "units_in_common": 0, "units_now": 2, "units_before": 0}  # nothing to compare with
    assert {c["agency"]: c["values"]["TTHC_NHAN_TONG"] for c in body["children"]} == {"T15": "150", "T01": "600"}
    done = client.get("/api/v1/completeness?regime=VPCP-TTHC&period=2025-Q1", headers=headers).get_json()
    last = done["periods"][-1]
    assert last["period"] == "2025-Q1" and last["submitted"] == 3 and Decimal(last["rate"]) <= 100
    bad = client.get("/api/v1/aggregates?regime=VPCP-TTHC&period=2025-M01", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/aggregates?regime=VPCP-TTHC&period=2025-Q1&units=maybe", headers=headers).status_code == 422


def test_rebuild_command(runner, app):
    load_history()
    result = runner.invoke(args=["aggregate", "rebuild", "--all"])
    assert result.exit_code == 0 and "Đã tổng hợp lại" in result.output
    assert "; 0 dòng khác với đã lưu được ghi lại." in result.output  # what the history's load kept is what the values give
    assert runner.invoke(args=["aggregate", "rebuild"]).exit_code == 2


def test_the_province_comparison_names_indicators_and_lets_the_analyst_choose_them(app, client, auth):
    load_history()
    auth.login("phantich.vpcp")
    default = client.get("/center/VPCP-TTHC/2025-Q1").get_data(as_text=True)
    table = default[default.index('data-testid="children"'):].split("</thead>")[0]
    rows = center_svc.view(user=user("phantich.vpcp"), regime="VPCP-TTHC", period="2025-Q1").rows
    assert rows[0].indicator.name_vi in table and f">{rows[0].indicator.code}<" not in table  # names, not codes
    assert table.count('scope="col"') == 6
    everything = client.get("/center/VPCP-TTHC/2025-Q1?col=all").get_data(as_text=True)
    head = everything[everything.index('data-testid="children"'):].split("</thead>")[0]
    assert len(rows) > 6 and head.count('scope="col"') == len(rows)
    one = client.get("/center/VPCP-TTHC/2025-Q1?col=TTHC_TYLE_DUNGHAN").get_data(as_text=True)
    assert one[one.index('data-testid="children"'):].split("</thead>")[0].count('scope="col"') == 1


def test_comparisons_are_like_for_like_with_the_coverage_said_on_the_page_in_the_api_and_the_pdf(app, client, auth, analyst, instance):
    import subprocess

    from app.services import exports
    from app.services import users as users_svc

    load_history()  # 2025-Q1: three old provinces
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2025-Q2",
                         reports={"T01-63": tthc(550, 110, 120, 440, 100, 0, 0)}, on_time=lambda code: True)  # Q2: one of them
    v = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2025-Q2")
    row = {r.indicator.code: r for r in v.rows}
    total = row["TTHC_NHAN_TONG"].vs_previous
    assert (total.common, total.now_units, total.before_units, total.partial) == (1, 1, 3, True)
    assert total.change == Decimal(110)  # Hà Nội against itself (660 vs 600), not 660 against all three (750)
    rate = row["TTHC_TYLE_DUNGHAN"].vs_previous
    assert rate.points and rate.change == rate.current - rate.before  # percentage points, not a ratio of ratios

    token = users_svc.issue_token(user=analyst)
    answer = client.get("/api/v1/aggregates?regime=VPCP-TTHC&period=2025-Q2&indicator=TTHC_NHAN_TONG",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    vs = next(i for i in answer["items"] if not i["disaggregation"])["vs_previous"]
    assert vs["units_in_common"] == 1 and vs["units_before"] == 3 and vs["partial"] and vs["change"] == "110"

    auth.login("phantich.vpcp")
    page = client.get("/center/VPCP-TTHC/2025-Q2").get_data(as_text=True)
    assert 'data-testid="like-for-like"' in page and "điểm %" in page and "1 đơn vị có ở cả hai kỳ (kỳ này 1, kỳ so sánh 3)" in page

    data, _name, _cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q2")
    text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True).stdout.decode().split())
    assert "điểm" in text and "cả hai kỳ" in text


def test_navigation_opens_on_a_period_with_coverage_picks_any_period_and_shows_the_whole_path(app, client, auth, analyst):
    load_history()  # 2025-Q1: three provinces
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2025-Q2",
                         reports={"T01-63": tthc(550, 110, 120, 440, 100, 0, 0)}, on_time=lambda code: True)  # Q2: one
    regime = catalogue_svc_get("VPCP-TTHC")
    assert nav_svc.latest_period(regime) == "2025-Q1"  # not Q2, where one province of three has reported
    choices = nav_svc.periods_with_data(regime)
    assert [(c.period.key, c.reporting) for c in choices[:2]] == [("2025-Q2", 1), ("2025-Q1", 3)]
    auth.login("phantich.vpcp")
    assert client.get("/center?regime=VPCP-TTHC").headers["Location"].endswith("/center/VPCP-TTHC/2025-Q1")
    picked = client.get("/center?regime=VPCP-TTHC&period=2025-Q2&unit=T01-63")
    assert picked.status_code == 302 and "/center/VPCP-TTHC/2025-Q2" in picked.headers["Location"] and "unit=T01-63" in picked.headers["Location"]
    page = client.get("/center/VPCP-TTHC/2025-Q1").get_data(as_text=True)
    assert 'data-testid="period-picker"' in page and "Quý II/2025 — 1 đơn vị đã báo cáo" in page
    crumbs = nav_svc.breadcrumb("T01.SCT")
    assert [c for c, _ in crumbs] == ["CP", "T01", "T01.SCT"]  # the nation, the province, the department
    assert client.get("/center/VPCP-TTHC/2025-Q1?unit=NOPE").status_code == 404
    assert client.get("/center/VPCP-TTHC/2025-Q1/completeness?unit=NOPE").status_code == 404


def catalogue_svc_get(code):
    from app.services import catalogue

    return catalogue.get_regime(code=code)


def test_the_national_page_and_pdf_carry_the_map_of_the_provinces_as_reported(app, client, auth, analyst, instance):  # own export cache
    import subprocess

    from app.services import exports

    load_history()  # 2025-Q1, before the reorganisation: the 63 old provinces
    auth.login("phantich.vpcp")
    page = client.get("/center/VPCP-TTHC/2025-Q1?chart=TTHC_NHAN_TONG").get_data(as_text=True)
    box = page[page.index('data-testid="map-box"'):]
    assert 'data-code="T10-63"' in box and 'data-code="T01-63"' in box  # the provinces of the time
    assert "/center/VPCP-TTHC/2025-Q1?unit=T01-63" in box  # a province opens its own page
    today = client.get("/center/VPCP-TTHC/2025-Q1?chart=TTHC_NHAN_TONG&units=current").get_data(as_text=True)
    assert 'data-code="T15"' in today and 'data-code="T10-63"' not in today  # in today's units: the 34
    svg = client.get("/center/VPCP-TTHC/2025-Q1/map.svg?indicator=TTHC_NHAN_TONG")
    assert svg.mimetype == "image/svg+xml" and "Quần đảo Trường Sa" in svg.get_data(as_text=True)
    data, _name, _cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True).stdout.decode().split())
    assert "Quần đảo Hoàng Sa" in text and "Open Development Vietnam" in text  # the map in the national PDF, its text as text
    token = users.issue_token(user=analyst)
    geo = client.get("/api/v1/maps?regime=VPCP-TTHC&period=2025-Q1&indicator=TTHC_NHAN_TONG",
                     headers={"Authorization": f"Bearer {token}"})
    assert geo.mimetype == "application/geo+json"
    features = {f["properties"]["code"]: f["properties"]["value"] for f in geo.get_json()["features"]}
    assert len(features) == 63 and features["T01-63"] == "600" and features["T02-63"] is None


def test_national_completeness_shows_every_unit_grouped_by_province_paged_linked_and_in_excel(app, client, auth, analyst):
    import io

    import openpyxl

    cv = completeness_svc.completeness(user=analyst, regime="VPCP-TTHC", period="2026-Q1", periods=2, tier=0)
    assert len(cv.rows) > 3000  # every department and commune of the country owes it
    groups, pages = completeness_svc.grouped(cv, page=1)
    assert pages > 1 and all(len(g.rows) for g in groups)
    seen = sum(len(g.rows) for n in range(1, pages + 1) for g in completeness_svc.grouped(cv, page=n)[0])
    assert seen == len(cv.rows)  # nothing stops at a cap: every unit is on some page
    names = [g.name for n in range(1, pages + 1) for g in completeness_svc.grouped(cv, page=n)[0]]
    assert names.index("Thành phố Hà Nội") < names.index("Thành phố Hồ Chí Minh") and len(names) == len(set(names))
    auth.login("phantich.vpcp")
    page = client.get("/center/VPCP-TTHC/2026-Q1/completeness?tier=0&page=2").get_data(as_text=True)
    assert 'data-testid="completeness-pages"' in page and 'aria-current="page">2<' in page
    assert re.search(r'href="/reports/VPCP-TTHC/[^/"]+/2026-Q1"', page)  # each cell opens the unit's report
    book = openpyxl.load_workbook(io.BytesIO(client.get("/center/VPCP-TTHC/2026-Q1/completeness.xlsx?tier=0").data))
    sheet = book.active
    everyone = completeness_svc.completeness(user=analyst, regime="VPCP-TTHC", period="2026-Q1", tier=0)  # the page's 6 periods
    assert sheet.max_row - 2 == len(everyone.rows) and sheet["A2"].value == "Tỉnh, thành phố"
    empty = client.get("/center/VPCP-TTHC/2026-Q1/completeness?unit=T01.SCT&tier=1").get_data(as_text=True)
    assert "0,0 %" not in empty.split('data-testid="completeness-totals"')[1].split("</table>")[0]  # nothing owed: "—", not a rate
    # timeliness by tier: departments and communes owe the first tier, the provinces and ministries the second
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2026-Q1",
                         reports={"T01.SNV": tthc(40, 10, 5, 30, 5, 8, 2), "X00070": tthc(20, 5, 2, 18, 3, 1, 1)},
                         on_time=lambda code: code == "T01.SNV")
    cv = completeness_svc.completeness(user=analyst, regime="VPCP-TTHC", period="2026-Q1", periods=1)
    assert set(cv.by_tier) == {0, 1}
    assert cv.by_tier[0].expected > 3000 and cv.by_tier[1].expected == 34 + 16  # the provinces and the ministries
    assert (cv.by_tier[0].on_time, cv.by_tier[0].late) == (1, 1) and cv.by_tier[1].submitted == 0
    page = client.get("/center/VPCP-TTHC/2026-Q1/completeness").get_data(as_text=True)
    tiers = page.split('data-testid="timeliness-by-tier"')[1].split("</table>")[0]
    assert tiers.count("<tr data-tier=") == 2
    first = tiers.split('data-tier="0"')[1].split("</tr>")[0]
    assert f">{cv.by_tier[0].expected:,}<".replace(",", ".") in first and ">2<" in first and ">1<" in first  # owed, sent, on time


def test_the_trend_draws_the_same_period_last_year_as_a_second_line(app, client, auth):
    load_history()  # 2025-Q1
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2026-Q1",
                         reports={"T01": tthc(520, 100, 100, 420, 90, 0, 0)}, on_time=lambda code: True)
    auth.login("phantich.vpcp")
    svg = client.get("/center/VPCP-TTHC/trend.svg?indicator=TTHC_NHAN_TONG&period=2026-Q1").get_data(as_text=True)
    assert "Cùng kỳ năm trước" in svg and "Kỳ này" in svg
    alone = client.get("/center/VPCP-TTHC/trend.svg?indicator=TTHC_NHAN_TONG&period=2025-Q1").get_data(as_text=True)
    assert "Cùng kỳ năm trước" not in alone  # nothing a year before: no second line, no legend for it


def test_a_provinces_like_for_like_figures_are_the_same_from_the_database_as_from_its_agencies(app, analyst):
    """On PostgreSQL the province page's comparisons of sums and averages are one grouped join
    (services/center_compare.py); they must equal the agency-by-agency computation."""
    from app.services import center_compare

    history.seed_history(actor=user("quantri"), communes_of=("T01",), compile_last=0,  # about one in ten units missing each quarter
                         regimes=("VPCP-TTHC",), periods=("2025-Q2", "2026-Q1", "2026-Q2"))
    try:
        fast = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2026-Q2", unit="T01")
        center_compare.ENABLED = False
        slow = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2026-Q2", unit="T01")
    finally:
        center_compare.ENABLED = True
    assert [(r.indicator.code, r.vs_previous, r.vs_last_year) for r in fast.rows] == \
        [(r.indicator.code, r.vs_previous, r.vs_last_year) for r in slow.rows]
    assert any(r.vs_previous.partial for r in fast.rows)  # the seeded gaps make some comparisons leave units out


def test_the_quality_flags_of_old_provinces_are_shown_to_the_staff_of_the_province_they_became(app, monkeypatch):
    """The data-quality page filters the flags of a period by the reader's scope with the same
    lineage as exports and drill-down: a flag on old Yên Bái (T10-63) in 2025-Q1 is Lào Cai's (T15)
    today, a flag on old Hà Nội (T01-63) is Hà Nội's; an analyst of the whole country sees both.
    (The flags are given: finding them needs years of history, tested in test_data_quality.py.)"""
    from app.domain.quality import Finding
    from app.services import quality
    from app.services.quality_store import finding

    load_history()
    flagged = [finding(code, "TTHC_NHAN_TRUCTUYEN", "", code, Finding(0, 600.0, 60.0, 9.5, "recent"), False, "")
               for code in ("T10-63", "T01-63")]
    monkeypatch.setattr(quality, "findings", lambda *a, **k: (3, [dict(f) for f in flagged]))
    laocai = users.create_user(username="phantich.laocai", password="mat-khau-dai-2026", full_name="Chuyên viên Lào Cai",
                               role="analyst", agency_code="T15")
    hanoi = users.create_user(username="phantich.hanoi", password="mat-khau-dai-2026", full_name="Chuyên viên Hà Nội",
                              role="analyst", agency_code="T01")

    def seen(reader):
        return {f.agency for f in quality.scan(user=reader, regime="VPCP-TTHC", period="2025-Q1").flags}
    assert seen(laocai) == {"T10-63"}  # was: nothing (T10-63 is not T15)
    assert seen(hanoi) == {"T01-63"}
    assert seen(user("phantich.vpcp")) == {"T10-63", "T01-63"}


def test_rebuild_equals_incremental_when_a_province_has_a_report_awaiting_approval(app, analyst):
    """The rebuild copies the approved partials to the "latest" basis wherever the same versions
    count, and recomputes the provinces where they differ (here Hà Nội, whose report is submitted
    and not yet approved): the same partials as kept at each submission."""
    from tests.integration.test_data_quality import _province_departments

    regime = db.session.scalar(select(Regime).where(Regime.code == "BCT-BANLE"))
    others = [a for a in _province_departments(regime, "2026-M12") if a != "T01.SCT"][:4]
    history.load_reports(actor=user("quantri"), regime_code="BCT-BANLE", period_key="2026-M12",
                         reports={a: {(k, ""): Decimal(v) for k, v in retail_values().items()} for a in others})
    submit_retail(approve=False)

    def snapshot():
        return sorted((a.unit_code, a.tier, a.basis, a.indicator, a.dkey, a.n, a.total, a.minimum, a.maximum)
                      for a in db.session.scalars(select(Aggregate).where(Aggregate.period_key == "2026-M12")))
    incremental = snapshot()
    bases = {(unit, basis) for unit, _t, basis, *_ in incremental}
    assert ("T01", "latest") in bases and ("T01", "approved") not in bases and ("CP", "approved") in bases
    svc.rebuild(regime="BCT-BANLE", period="2026-M12")
    assert snapshot() == incremental


def test_a_rebuild_writes_only_what_differs_and_repairs_what_was_damaged(app, analyst):
    """Unchanged data: nothing written, every row keeps its id. A damaged partial is replaced, a
    missing one added, a stray one removed, a record version pointing elsewhere put back — and
    only those rows are written (decision 0016)."""
    from app.models import RecordVersion
    from app.services import center_cache
    from tests.integration.test_data_quality import _province_departments

    regime = db.session.scalar(select(Regime).where(Regime.code == "BCT-BANLE"))
    others = [a for a in _province_departments(regime, "2026-M12") if a != "T01.SCT"][:3]
    history.load_reports(actor=user("quantri"), regime_code="BCT-BANLE", period_key="2026-M12",
                         reports={a: {(k, ""): Decimal(v) for k, v in retail_values().items()} for a in others})
    submit_retail(approve=False)  # Hà Nội's "latest" differs from its "approved" (none yet)
    db.session.commit()

    def rows():
        return {a.id: (a.unit_code, a.tier, a.basis, a.indicator, a.dkey, a.n, a.total, a.minimum, a.maximum)
                for a in db.session.scalars(select(Aggregate).where(Aggregate.regime_id == regime.id,
                                                                    Aggregate.period_key == "2026-M12"))}

    def records():
        return {r.id: (r.basis, r.agency_code, r.province_code, r.version_id)
                for r in db.session.scalars(select(RecordVersion).where(RecordVersion.regime_id == regime.id))}

    before, counted = rows(), records()
    stamp = center_cache.stamps([(regime.id, "2026-M12")])
    summary = svc.rebuild(regime="BCT-BANLE", period="2026-M12")
    assert summary.written == 0 and rows() == before and records() == counted  # same ids: nothing deleted and put back
    assert center_cache.stamps([(regime.id, "2026-M12")]) == stamp  # the kept views of the period stay valid

    by_id = {a.id: a for a in db.session.scalars(select(Aggregate).where(Aggregate.id.in_(before)))}
    province = next(a for a in by_id.values() if a.unit_code != "CP" and a.basis == "approved")
    nation = next(a for a in by_id.values() if a.unit_code == "CP" and a.basis == "latest")
    province.total += 1000  # damaged
    db.session.delete(nation)  # lost
    db.session.add(Aggregate(regime_id=regime.id, period_key="2026-M12", tier=province.tier, basis="approved", unit_code="T99",
                             indicator=province.indicator, dkey="", n=1, total=Decimal(5), minimum=Decimal(5), maximum=Decimal(5)))
    record = db.session.scalar(select(RecordVersion).where(RecordVersion.regime_id == regime.id, RecordVersion.basis == "latest",
                                                           RecordVersion.agency_code == "T01.SCT"))
    record.province_code = "T04"  # counted in the wrong province
    damaged = {province.id, nation.id}
    db.session.commit()

    summary = svc.rebuild(regime="BCT-BANLE", period="2026-M12")
    assert center_cache.stamps([(regime.id, "2026-M12")]) != stamp
    # the damaged partial and the record (deleted and inserted), the lost partial, the stray one
    assert summary.written == 2 + 1 + 1 + 2
    after = rows()
    assert sorted(after.values(), key=repr) == sorted(before.values(), key=repr)
    untouched = set(before) - damaged
    assert all(after[i] == before[i] for i in untouched)  # the rest kept their rows
    assert sorted(records().values()) == sorted(counted.values())


def test_a_rebuild_over_periods_on_both_sides_of_a_map_change_counts_each_report_where_its_unit_was(app, analyst):
    """The rebuild computes the agency map once per stretch of days without a change of links: a
    department moved from Hà Nội to another province on 01/07/2026 counts in Hà Nội in May and in
    the other province in August — as the reports themselves counted it when they came in."""
    from datetime import date

    from app.models import Agency, AgencyParent, RecordVersion

    moved = db.session.scalar(select(Agency).where(Agency.code == "T01.SCT"))
    elsewhere = db.session.scalar(select(Agency).where(Agency.code == "T04"))
    link = next(p for p in moved.parent_links if p.valid_to is None)
    link.valid_to = date(2026, 6, 30)
    db.session.add(AgencyParent(child_id=moved.id, parent_id=elsewhere.id, valid_from=date(2026, 7, 1)))
    db.session.commit()
    values = {(k, ""): Decimal(v) for k, v in retail_values().items()}
    for key in ("2026-M05", "2026-M08"):
        history.load_reports(actor=user("quantri"), regime_code="BCT-BANLE", period_key=key, reports={"T01.SCT": values})

    def counted():
        return sorted((r.period_key, r.basis, r.province_code) for r in db.session.scalars(
            select(RecordVersion).where(RecordVersion.agency_code == "T01.SCT")))

    def partials():
        return sorted((a.period_key, a.basis, a.unit_code, a.indicator, a.total) for a in db.session.scalars(
            select(Aggregate).where(Aggregate.period_key.in_(["2026-M05", "2026-M08"]), Aggregate.unit_code != "CP")))

    expected = [("2026-M05", "approved", link.parent.code), ("2026-M05", "latest", link.parent.code),
                ("2026-M08", "approved", "T04"), ("2026-M08", "latest", "T04")]
    assert link.parent.code == "T01" and counted() == expected
    before = partials()
    assert {(p, u) for p, _b, u, _i, _t in before} == {("2026-M05", "T01"), ("2026-M08", "T04")}
    db.session.execute(delete_records())  # lost: the rebuild puts them back, each in its unit of the time
    db.session.commit()
    summary = svc.rebuild(regime="BCT-BANLE")
    assert summary.written == 4 and counted() == expected and partials() == before


@pytest.mark.parametrize(("slots_span", "slots_dense"), [(svc.SLOTS_SPAN, svc.SLOTS_DENSE), (svc.SLOTS_SPAN, 0), (0, 0)],
                         ids=["slots-filtered", "slots-unfiltered", "join"])
def test_a_province_with_several_reports_is_rebuilt_as_it_was_kept_by_the_slot_array_and_by_the_join(
        app, analyst, monkeypatch, slots_span, slots_dense):
    """On PostgreSQL the rebuild groups the values by a number per (period, tier, province) looked
    up in an array indexed by version id (`_by_slots`); the values of the versions in between that
    do not count (here another regime's three reports) are filtered out, or — where nearly all
    count — grouped under 0 and dropped. When the ids span too far for an array (span 0 here) it
    joins the values to the record versions instead. Each way must give the partials kept at each
    report (computed here by the join): count, total, minimum and maximum of a province where two
    departments reported."""
    from datetime import date

    from app.models import Agency, AgencyParent

    monkeypatch.setattr(svc, "SLOTS_SPAN", 0)  # the loads below rebuild their period: by the join (the reference)
    moved = db.session.scalar(select(Agency).where(Agency.code == "T01.SCT"))
    link = next(p for p in moved.parent_links if p.valid_to is None)
    link.valid_to = date(2026, 6, 30)
    db.session.add(AgencyParent(child_id=moved.id, parent_id=db.session.scalar(select(Agency.id).where(Agency.code == "T04")),
                                valid_from=date(2026, 7, 1)))
    db.session.commit()
    base = {(k, ""): Decimal(v) for k, v in retail_values().items()}
    history.load_reports(actor=user("quantri"), regime_code="BCT-BANLE", period_key="2026-M08", reports={"T01.SCT": base})
    load_history()  # versions of another regime between the two
    history.load_reports(actor=user("quantri"), regime_code="BCT-BANLE", period_key="2026-M08",
                         reports={"T04.SCT": {k: v * 3 + 1 for k, v in base.items()}})

    def partials():
        return sorted((a.basis, a.unit_code, a.indicator, a.n, normalise(a.total), normalise(a.minimum), normalise(a.maximum))
                      for a in db.session.scalars(select(Aggregate).where(Aggregate.period_key == "2026-M08")))
    kept = partials()
    assert ("approved", "T04", "BL_HH_01", 2, Decimal(405), Decimal(101), Decimal(304)) in kept  # 101 and 3 × 101 + 1
    db.session.execute(delete(Aggregate).where(Aggregate.period_key == "2026-M08"))
    db.session.commit()
    monkeypatch.setattr(svc, "SLOTS_SPAN", slots_span)
    monkeypatch.setattr(svc, "SLOTS_DENSE", slots_dense)
    by_slots, taken = svc._by_slots, []
    monkeypatch.setattr(svc, "_by_slots", lambda *a: taken.append(by_slots(*a)) or taken[-1])
    svc.rebuild(regime="BCT-BANLE", period="2026-M08")
    assert partials() == kept
    postgres = db.session.get_bind().dialect.name == "postgresql"
    assert [t is not None for t in taken] == [postgres and slots_span > 0]


def test_the_rebuild_counts_the_same_versions_as_the_submissions_did_at_each_step(app, analyst):
    """Approved v1, then v2 sent on top of it (latest ≠ approved), then v2 returned (latest falls
    back to v1): at each step a rebuild from nothing gives the record versions and partials the
    submissions kept, and a rebuild over them writes nothing."""
    from sqlalchemy import delete

    from app.models import RecordVersion

    def state():
        records = sorted((r.period_key, r.basis, r.agency_code, r.province_code, r.version_id)
                         for r in db.session.scalars(select(RecordVersion)))
        partials = sorted((a.period_key, a.tier, a.basis, a.unit_code, a.indicator, a.n, a.total, a.minimum, a.maximum)
                          for a in db.session.scalars(select(Aggregate)))
        return records, partials

    def check():
        db.session.commit()
        kept = state()
        assert svc.rebuild(regime="BCT-BANLE").written == 0 and state() == kept
        db.session.execute(delete(Aggregate))
        db.session.execute(delete(RecordVersion))
        db.session.commit()
        summary = svc.rebuild(regime="BCT-BANLE")
        assert state() == kept and summary.written == len(kept[0]) + len(kept[1])
        return kept

    sub = submit_retail(approve=True)
    first = check()
    reporter = user("canbo.sct")
    decisions_svc.reopen(user=user("pheduyet.hn"), submission_id=sub.id, reason="Bổ sung số liệu", now=ON_TIME)
    report = submissions_svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12",
                                         for_write=True)
    raw = {(k, ""): (str(v * 2), False, "") for k, v in retail_values().items()}
    result = submissions_svc.save(user=reporter, report=report, raw=raw, outline={}, revision=report.submission.revision, now=ON_TIME)
    sending_svc.submit(user=reporter, submission_id=result.submission.id, now=ON_TIME)
    second = check()
    assert {(b, v) for _p, b, a, _u, v in second[0] if a == "T01.SCT"} == {("approved", first[0][0][4]), ("latest", result.version.id)}
    decisions_svc.return_(user=user("pheduyet.hn"), submission_id=sub.id, reason="Sai số")
    assert check() == first  # the returned version counts nowhere


def delete_records():
    from sqlalchemy import delete

    from app.models import RecordVersion

    return delete(RecordVersion).where(RecordVersion.agency_code == "T01.SCT")


def test_rebuild_as_a_background_job(runner, app):
    from app.models import Job

    load_history()
    result = runner.invoke(args=["aggregate", "rebuild", "--regime", "VPCP-TTHC", "--background"])
    assert result.exit_code == 0 and "Đã xếp việc tổng hợp lại" in result.output
    job = db.session.scalar(select(Job).where(Job.kind == "rebuild"))
    assert job.status == "done" and "Đã tổng hợp lại" in job.step  # inline in tests; a worker elsewhere
