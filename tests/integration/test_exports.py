"""Exports read back: the PDF through pdftotext (Vietnamese headings, agency names, the totals the
API reports, the data hash), Excel and CSV (formula-looking text escaped), the cache."""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import center as center_svc
from app.services import exports
from app.services.users import issue_token
from tests.integration.test_center import load_history

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def user(name):
    return db.session.scalar(select(User).where(User.username == name))


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode("utf-8")


def test_the_national_pdf_is_a_vietnamese_administrative_document_with_the_apis_figures(app, client):
    load_history()
    analyst = user("phantich.vpcp")
    data, name, cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert name == "VPCP-TTHC_CP_2025-Q1.pdf" and data.startswith(b"%PDF") and not cached
    text = pdf_text(data)
    for heading in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "VĂN PHÒNG CHÍNH PHỦ", "BÁO CÁO",
                    "Tình hình, kết quả giải quyết thủ tục hành chính", "Quý I/2025", "Nơi nhận:", "Các đơn vị báo cáo",
                    "Biểu 01", "Số hồ sơ nhận giải quyết", "ngày … tháng … năm"):
        assert heading in text, heading
    assert "Tỉnh Lào Cai (T10-63)" in text and "Gửi muộn" in text and "Chưa gửi" in text  # the appendix
    api = client.get("/api/v1/aggregates?regime=VPCP-TTHC&period=2025-Q1&indicator=TTHC_NHAN_TONG",
                     headers={"Authorization": f"Bearer {issue_token(user=analyst)}"}).get_json()
    total = api["items"][0]["value"]
    assert total == "750" and re.search(r"hồ sơ\s+750\b", text)
    view = center_svc.view(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert exports.data_hash(view) in text.replace("\n", "").replace(" ", "")  # the footer's SHA-256
    again, _, cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert cached and again == data  # the same data is rendered once


class _Clock(exports.datetime):
    """datetime whose now() is set by the test (the export prints and caches by it)."""

    at: exports.datetime

    @classmethod
    def now(cls, tz=None):
        return cls.at.astimezone(tz) if tz else cls.at


def test_the_pdf_cache_lasts_the_day_not_the_minute(app, monkeypatch):
    from app.domain.deadlines import VN_TZ

    load_history()
    analyst = user("phantich.vpcp")
    shutil.rmtree(Path(app.config["INSTANCE_DIR"]) / "exports", ignore_errors=True)  # other tests' renders of today
    monkeypatch.setattr(exports, "datetime", _Clock)
    _Clock.at = exports.datetime(2026, 11, 23, 9, 59, 59, tzinfo=VN_TZ)
    first, _, cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert not cached and "09:59 23/11/2026" in pdf_text(first)
    _Clock.at = exports.datetime(2026, 11, 23, 10, 0, 1, tzinfo=VN_TZ)  # the next minute, same day
    again, _, cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert cached and again == first  # the copy keeps the time it was made
    _Clock.at = exports.datetime(2026, 11, 24, 8, 0, tzinfo=VN_TZ)  # the next day prints a new date line
    fresh, _, cached = exports.pdf(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert not cached and "08:00 24/11/2026" in pdf_text(fresh)


def test_a_province_pdf_and_today_units(app):
    load_history()
    text = pdf_text(exports.pdf(user=user("phantich.vpcp"), regime="VPCP-TTHC", period="2025-Q1", agency="T15", units="current")[0])
    assert "ỦY BAN NHÂN DÂN LÀO CAI" in text.replace("\n", " ") or "LÀO CAI" in text
    assert re.search(r"hồ sơ\s+150\b", text)  # old Lào Cai 100 + old Yên Bái 50


def test_excel_and_csv_of_the_consolidated_view(app):
    load_history()
    analyst = user("phantich.vpcp")
    data, name = exports.xlsx_bytes(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Thông tin", "Biểu 01", "Dữ liệu"]
    form = wb["Biểu 01"]
    row = next(r for r in form.iter_rows(values_only=True) if r[1] == "TTHC_NHAN_TONG")
    assert row[4] == 750
    long = list(wb["Dữ liệu"].iter_rows(values_only=True))
    assert long[0][:5] == ("Chế độ báo cáo", "Kỳ", "Mã kỳ", "Đơn vị", "Mã chỉ tiêu")  # headed for people, in Vietnamese
    assert ("VPCP-TTHC", "Quý I/2025", "2025-Q1", "T15-63", "TTHC_NHAN_TONG") in {r[:5] for r in long}
    body, csv_name = exports.csv_bytes(user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert body.startswith("\ufeff".encode()) and csv_name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    nation = next(r for r in rows if r["agency"] == "CP" and r["indicator"] == "TTHC_NHAN_TONG")
    assert nation["value"] == "750"


@pytest.mark.parametrize("value, expected", [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"),
                                             ("@SUM(A1)", "'@SUM(A1)"), ("Hà Nội", "Hà Nội"), (5, 5)])
def test_cells_that_look_like_formulas_are_escaped(value, expected):
    assert exports.safe(value) == expected


def test_exports_through_the_web_and_the_api_keep_the_scope(app, client, auth):
    load_history()
    auth.login("phantich.vpcp", "baocao-demo-2026")
    started = client.get("/center/VPCP-TTHC/2025-Q1/export.pdf")  # rendered off the request; the page polls
    assert started.status_code == 302 and "/center/jobs/" in started.headers["Location"]
    job = started.headers["Location"].rsplit("/", 1)[-1]
    status = {}
    for _ in range(100):
        status = client.get(f"/center/jobs/{job}?format=json").get_json()
        if status["state"] != "running":
            break
        time.sleep(0.1)
    assert status["state"] == "done", status
    page = client.get(f"/center/jobs/{job}.pdf")
    assert page.status_code == 200 and page.mimetype == "application/pdf" and page.data.startswith(b"%PDF")
    assert "Tải báo cáo PDF" in client.get(f"/center/jobs/{job}").get_data(as_text=True)
    assert client.get("/center/jobs/" + "0" * 32).status_code == 404  # not a job number
    assert client.get("/center/VPCP-TTHC/2025-Q1/export.csv").mimetype == "text/csv"
    assert client.get("/center/VPCP-TTHC/2025-Q1/export.doc").status_code == 404
    auth.logout()
    token = issue_token(user=user("canbo.sct"))
    refused = client.get("/api/v1/exports/pdf?regime=VPCP-TTHC&period=2025-Q1", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.is_json


def test_a_pdf_job_lost_with_its_worker_is_taken_up_again_and_done_once(app, client, auth):
    from datetime import timedelta

    from app.extensions import db
    from app.models import Job
    from app.models.base import utcnow
    from app.services import jobs

    load_history()
    auth.login("phantich.vpcp", "baocao-demo-2026")
    first = client.get("/center/VPCP-TTHC/2025-Q1/export.pdf?unit=CP").headers["Location"].rsplit("/", 1)[-1]
    again = client.get("/center/VPCP-TTHC/2025-Q1/export.pdf?unit=CP").headers["Location"].rsplit("/", 1)[-1]
    assert again == first  # the same PDF asked for twice is one job
    job = db.session.get(Job, int(first))
    assert job.status == "done" and job.attempts == 1
    # a worker took it and died: the row says running, its heartbeat stopped
    job.status, job.heartbeat_at, job.result_path = "running", utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 5), ""
    db.session.commit()
    assert client.get(f"/center/jobs/{first}?format=json").get_json()["state"] == "running"
    assert jobs.run(job.id, worker="another:1") == "done"  # another worker claims it
    db.session.refresh(job)
    assert job.attempts == 2 and job.worker == "another:1"
    assert jobs.run(job.id) == "done" and db.session.get(Job, job.id).attempts == 2  # done: never claimed twice
    assert client.get(f"/center/jobs/{first}.pdf").data.startswith(b"%PDF")
    assert client.get("/center/jobs/999999").status_code == 404
    auth.logout()
    auth.login("canbo.sct", "baocao-demo-2026")
    assert client.get(f"/center/jobs/{first}?format=json").status_code == 403  # another's job


def test_the_cli_writes_the_file(runner, app, tmp_path):
    load_history()
    out = tmp_path / "bao-cao.pdf"
    result = runner.invoke(args=["export", "pdf", "--regime", "VPCP-TTHC", "--period", "2025-Q1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Đã ghi" in result.output and out.read_bytes().startswith(b"%PDF")


def test_sdmx_structure_and_data_round_trip_through_sdmx1(app, client):
    import sdmx

    load_history()
    analyst = user("phantich.vpcp")
    headers = {"Authorization": f"Bearer {issue_token(user=analyst)}"}
    structure = client.get("/api/v1/exports/sdmx/structure?regime=VPCP-TTHC", headers=headers)
    assert structure.status_code == 200
    message = sdmx.read_sdmx(io.BytesIO(structure.data))
    flow = message.dataflow["DF_VPCP-TTHC"]
    dsd = flow.structure
    assert [d.id for d in dsd.dimensions] == ["REF_AREA", "INDICATOR", "BREAKDOWN", "TIME_PERIOD"]
    areas = message.codelist["CL_AREA"]
    assert str(areas["T10-63"].name["vi"]) == "Tỉnh Lào Cai"  # Vietnamese names survive
    data = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-Q1&end=2025-Q1", headers=headers)
    assert data.status_code == 200 and data.data.startswith(b"STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA")
    read = sdmx.read_sdmx(io.BytesIO(data.data), format="csv", structure=flow)
    observations = [o for ds in read.data for o in ds.obs]
    got = {(o.key["REF_AREA"].value, o.key["INDICATOR"].value): Decimal(str(o.value)) for o in observations}
    assert got[("T10-63", "TTHC_NHAN_TONG")] == 100 and got[("T15-63", "TTHC_NHAN_TONG")] == 50
    assert sum(v for (a, i), v in got.items() if i == "TTHC_NHAN_TONG") == 750  # what the API's national total says
    bad = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-M01", headers=headers)
    assert bad.status_code == 422 and bad.is_json


def test_dhis2_data_value_sets_follow_the_documented_columns(app, client):
    load_history()
    headers = {"Authorization": f"Bearer {issue_token(user=user('phantich.vpcp'))}"}
    body = client.get("/api/v1/exports/dhis2?regime=VPCP-TTHC&start=2025-Q1", headers=headers).get_json()
    assert body["dataElementIdScheme"] == "CODE" and body["orgUnitIdScheme"] == "CODE"
    value = next(v for v in body["dataValues"] if v["orgUnit"] == "T10-63" and v["dataElement"] == "TTHC_NHAN_TONG")
    assert value == {"dataElement": "TTHC_NHAN_TONG", "period": "2025Q1", "orgUnit": "T10-63", "categoryOptionCombo": "default",
                     "value": "100"}
    text = client.get("/api/v1/exports/dhis2?regime=VPCP-TTHC&start=2025-Q1&format=csv", headers=headers).data.decode()
    assert text.splitlines()[0] == ("dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,"
                                    "lastupdated,comment,followup")
    assert "TTHC_NHAN_TONG,2025Q1,T10-63,default,,100,baocao,,,false" in text


def sdmx_rows(values: dict, agency="T01_SCT", period="2026-M12") -> str:
    lines = ["STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,INDICATOR,BREAKDOWN,TIME_PERIOD,OBS_VALUE"]
    lines += [f"dataflow,VN_BAOCAO:DF_BCT-BANLE(1.0),I,{agency},{k},_T,{period},{v}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def test_importing_sdmx_csv_dry_run_then_for_real_all_or_nothing(app, client):
    from app.models import Submission
    from tests.helpers import retail_values

    headers = {"Authorization": f"Bearer {issue_token(user=user('canbo.sct'))}", "Content-Type": "text/csv"}
    body = sdmx_rows(retail_values())
    dry = client.post("/api/v1/imports/sdmx?dry_run=true", data=body, headers=headers)
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json() == {"dry_run": True, "reports": [{"agency": "T01.SCT", "period": "2026-M12", "new_report": True,
                                                            "version": 1, "changed_cells": 27, "warnings": 0}]}
    assert db.session.query(Submission).count() == 0  # a dry run changes nothing
    bad = client.post("/api/v1/imports/sdmx", data=sdmx_rows({**retail_values(), "BL_HH_02": "abc"}), headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["where"] == "dòng 3"
    other = client.post("/api/v1/imports/sdmx", data=body + sdmx_rows({"BL_HH_01": 1}, agency="T04_SCT").split("\n", 1)[1], headers=headers)
    assert other.status_code == 403 and "T04.SCT" in other.get_json()["error"]["message"]  # another unit: refused as a whole
    assert db.session.query(Submission).count() == 0
    done = client.post("/api/v1/imports/sdmx", data=body, headers=headers)
    assert done.status_code == 200 and done.get_json()["reports"][0]["version"] == 1
    sub = db.session.query(Submission).one()
    assert {v.indicator: v.number for v in sub.latest.values}["BL_TONG"] == 1722 and sub.latest.source == "api"


def test_importing_a_dhis2_data_value_set(app, client):
    from app.models import Submission
    from tests.helpers import retail_values

    headers = {"Authorization": f"Bearer {issue_token(user=user('canbo.sct'))}"}
    values = [{"dataElement": k, "period": "202612", "orgUnit": "T01.SCT", "categoryOptionCombo": "default", "value": str(v)}
              for k, v in retail_values().items()]
    done = client.post("/api/v1/imports/dhis2?regime=BCT-BANLE", json={"dataValues": values}, headers=headers)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["reports"][0]["period"] == "2026-M12"
    assert db.session.query(Submission).count() == 1
    missing = client.post("/api/v1/imports/dhis2", json={"dataValues": values}, headers=headers)
    assert missing.status_code == 422
    broken = client.post("/api/v1/imports/dhis2?regime=BCT-BANLE", data="{", headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 422 and "JSON" in broken.get_json()["error"]["message"]


def test_a_large_import_runs_as_a_job_once_and_a_refused_one_keeps_its_reasons(app, client):
    """Above IMPORT_INTERACTIVE_BYTES the import is a background job: 202 and where to follow it;
    the same file again shares the job (imported once); a refused file fails at once (no retry)
    with its reasons as the result, and nothing changed; someone else cannot read the job."""
    from app.models import Job, Submission
    from tests.helpers import retail_values

    app.config["IMPORT_INTERACTIVE_BYTES"] = 10  # every file is "large"
    try:
        headers = {"Authorization": f"Bearer {issue_token(user=user('canbo.sct'))}", "Content-Type": "text/csv"}
        bad = client.post("/api/v1/imports/sdmx", data=sdmx_rows({**retail_values(), "BL_HH_02": "abc"}), headers=headers)
        assert bad.status_code == 202 and bad.headers["Location"] == f"/api/v1/jobs/{bad.get_json()['job']}"
        state = client.get(bad.headers["Location"], headers=headers).get_json()
        assert state["status"] == "failed" and state["attempts"] == 1 and "Không nhập" in state["error"]  # not retried
        reasons = client.get(state["result_url"], headers=headers).get_json()
        assert reasons["error"]["details"][0]["where"] == "dòng 3"
        assert db.session.query(Submission).count() == 0

        body = sdmx_rows(retail_values())
        queued = client.post("/api/v1/imports/sdmx", data=body, headers=headers)
        assert queued.status_code == 202
        state = client.get(queued.headers["Location"], headers=headers).get_json()
        assert state["status"] == "done" and state["kind"] == "import"
        report = client.get(state["result_url"], headers=headers).get_json()
        assert report["reports"][0]["agency"] == "T01.SCT" and report["reports"][0]["version"] == 1
        again = client.post("/api/v1/imports/sdmx", data=body, headers=headers)
        assert again.get_json()["job"] == queued.get_json()["job"]  # the same file: the same job, not a second import
        sub = db.session.query(Submission).one()
        assert len(sub.versions) == 1 and {v.indicator: v.number for v in sub.latest.values}["BL_TONG"] == 1722
        assert db.session.query(Job).filter_by(kind="import").count() == 2

        other = {"Authorization": f"Bearer {issue_token(user=user('phantich.vpcp'))}"}
        assert client.get(queued.headers["Location"], headers=other).status_code == 403
        assert client.get(f"{queued.headers['Location']}/result", headers=other).status_code == 403
        assert client.get("/api/v1/jobs/999999", headers=headers).status_code == 404
    finally:
        app.config["IMPORT_INTERACTIVE_BYTES"] = 2_000_000


def test_a_job_killed_mid_import_leaves_nothing_and_its_retry_imports_once(app, client, monkeypatch):
    """The import and the job's "done" commit together: a failure after the import's writes (a
    worker dying) rolls both back; the retry imports once."""
    from app.models import Job, Submission
    from app.services import import_jobs, jobs
    from tests.helpers import retail_values

    reporter = user("canbo.sct")
    calls = []
    real = jobs.Result

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker killed")  # after the import's writes, before the job is done
        return real(*args, **kwargs)

    monkeypatch.setattr(import_jobs.jobs, "Result", dying)
    job = import_jobs.enqueue_import(user=reporter, fmt="sdmx", regime="", body=sdmx_rows(retail_values()).encode(),
                                     content_type="text/csv", dry_run=False)
    db.session.commit()
    job = db.session.get(Job, job.id)
    assert job.status == "queued" and job.attempts == 1  # failed once, waits for its retry
    assert db.session.query(Submission).count() == 0  # nothing of the first attempt was kept
    job.run_after = None
    db.session.commit()
    assert jobs.run(job.id) == "done"
    sub = db.session.query(Submission).one()
    assert len(sub.versions) == 1


def test_an_import_job_of_an_account_disabled_meanwhile_imports_nothing(app, monkeypatch):
    from app.models import Job, Submission
    from app.services import import_jobs, jobs
    from tests.helpers import retail_values

    reporter = user("canbo.sct")
    with monkeypatch.context() as m:
        m.setattr(jobs, "_dispatch", lambda job, delay=0: None)  # queued now, run later (as a worker would)
        job = import_jobs.enqueue_import(user=reporter, fmt="sdmx", regime="", body=sdmx_rows(retail_values()).encode(),
                                         content_type="text/csv", dry_run=False)
        db.session.commit()
    reporter.active = False
    db.session.commit()
    assert jobs.run(job.id) == "failed"
    job = db.session.get(Job, job.id)
    assert job.attempts == 1 and "không còn hoạt động" in job.error
    assert db.session.query(Submission).count() == 0


def test_large_data_exports_are_background_jobs_with_the_same_content_in_the_readers_scope(app, client, monkeypatch):
    load_history()
    analyst = {"Authorization": f"Bearer {issue_token(user=user('phantich.vpcp'))}"}
    streamed = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-Q1", headers=analyst).data
    asked = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-Q1&background=true", headers=analyst)
    assert asked.status_code == 202 and asked.headers["Location"].startswith("/api/v1/jobs/")
    job = client.get(asked.headers["Location"], headers=analyst).get_json()
    assert job["status"] == "done" and job["kind"] == "export"
    file = client.get(job["result_url"], headers=analyst)
    assert file.mimetype == "text/csv" and file.data == streamed  # the same file, written by the job
    again = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-Q1&background=true", headers=analyst)
    assert again.get_json()["job"] == job["job"]  # asked twice: one job

    monkeypatch.setitem(app.config, "EXPORT_INTERACTIVE_VALUES", 10)  # more values than this: a job without being asked
    dhis2 = client.get("/api/v1/exports/dhis2?regime=VPCP-TTHC&start=2025-Q1&format=csv", headers=analyst)
    assert dhis2.status_code == 202
    body = client.get(client.get(dhis2.headers["Location"], headers=analyst).get_json()["result_url"], headers=analyst).data.decode()
    assert "TTHC_NHAN_TONG,2025Q1,T10-63,default,,100,baocao,,,false" in body

    province = {"Authorization": f"Bearer {issue_token(user=user('pheduyet.hn'))}"}  # Hà Nội's approver: Hà Nội's scope
    mine = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-Q1", headers=province)
    result = client.get(client.get(mine.headers["Location"], headers=province).get_json()["result_url"], headers=province).data.decode()
    assert "T10-63" not in result and "T15-63" not in result  # the worker reads as the requester: no other province
    other = client.get(asked.headers["Location"], headers=province)  # the analyst's job is not theirs
    assert other.status_code in (403, 404)
    refused = client.get("/api/v1/exports/sdmx/data?regime=VPCP-TTHC&start=2025-M01&background=true", headers=analyst)
    assert refused.status_code == 422 and refused.is_json  # a bad range is refused in the request, no job
