"""Benchmark: render and sign a report as a PAdES PDF, and verify it.

    .venv/bin/python scripts/bench_signing.py          # needs the dev requirements (certomancer builds the test PKI)

Builds (in an empty SQLite database) the agency map, a monthly regime of 70 indicator rows and a page of narrative (a
5-page report in Decree-30 form), a test PKI with a keystore for the reporting department, then
(median of 7, after a warm-up):
  - render the submitted version's PDF and sign it, without a network timestamp (target < 1 s),
  - verify the signed PDF: integrity, chain to the trust anchor, CRL, the signer's agency (target < 0.5 s).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROWS = 70


def catalogue(root: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "indicators", root / "indicators")
    shutil.copytree(ROOT / "report_templates", root / "report_templates")
    inds = "\n".join(f"  - {{code: KS_{i:03d}, name_vi: Chỉ tiêu báo cáo ký số số {i:03d}, unit: triệu đồng, min: 0}}"
                     for i in range(1, ROWS + 1))
    (root / "indicators" / "bench-ks.yaml").write_text(f"indicators:\n{inds}\n", encoding="utf-8")
    d = root / "report_templates" / "BENCH-KS"
    (d / "forms").mkdir(parents=True)
    (d / "regime.yaml").write_text("""\
code: BENCH-KS
name_vi: Báo cáo thử ký số
type: periodic
frequency: monthly
issuing_agency: BCT
legal_basis: Chỉ dùng để đo hiệu năng
valid_from: 2025-07-01
content: Số liệu thử
content_kind: both
sending_methods: [system]
tiers:
  - name: Sở Công Thương gửi Bộ Công Thương
    reporters: {levels: [department], department_kinds: [SCT]}
    receiver: BCT
    deadline: {rule: day_of_month, day: 20}
outline:
  - {code: I, title: Tình hình thực hiện}
forms: [BIEU01]
""", encoding="utf-8")
    rows = "\n".join(f"  - {{indicator: KS_{i:03d}, row: \"{i}\"}}" for i in range(1, ROWS + 1))
    (d / "forms" / "BIEU01.yaml").write_text(f"code: BIEU01\ntitle: Biểu thử\ncolumns: [current, previous]\nrows:\n{rows}\n",
                                             encoding="utf-8")


def main() -> None:
    from datetime import UTC, datetime

    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.adapters import signatures as sig
    from app.extensions import db
    from app.models import User
    from app.services import agencies, exports, signing
    from app.services import catalogue as catalogue_svc
    from app.services import pki as pki_svc
    from app.services import sending as sending_svc
    from app.services import submissions as submissions_svc
    from app.services.seed import seed_demo
    from tests import pki

    work = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    catalogue(work)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.sqlite'}", "INSTANCE_DIR": str(work),
                      "SECRET_KEY": "bench-secret-0123456789", "CATALOGUE_ROOT": str(work)})
    arch = pki.build(work)
    with app.test_request_context():
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue_svc.load_catalogue(root=work)
        seed_demo()
        pki_svc.add_trust_anchor(pki.cert_der(arch, "root"))
        pki_svc.add_crl(pki.crl_der(arch))
        pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(arch, "hanoi"), password=pki.PASSWORD)
        clerk = db.session.scalar(select(User).where(User.username == "canbo.sct"))
        now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
        report = submissions_svc.open_report(user=clerk, regime_code="BENCH-KS", agency_code="T01.SCT", period_key="2026-M11",
                                             for_write=True)
        raw = {(f"KS_{i:03d}", ""): (str(1000 + i), False, "") for i in range(1, ROWS + 1)}
        saved = submissions_svc.save(user=clerk, report=report, raw=raw, outline={"I": "Tình hình thực hiện trong tháng. " * 40},
                                     revision=None, now=now)
        result = sending_svc.submit(user=clerk, submission_id=saved.submission.id, now=now)
        report = submissions_svc.get_report(user=clerk, submission_id=result.submission.id)
        version = result.version
        signer = sig.keystore_signer(pki.pkcs12(arch, "hanoi"), pki.PASSWORD)
        renders, signs, totals = [], [], []
        pdf = signed = b""
        for i in range(8):
            t0 = time.perf_counter()
            pdf = exports.version_pdf(report, version)
            t1 = time.perf_counter()
            signed = sig.sign_pdf(pdf, signer, name=clerk.full_name, reason="Gửi báo cáo", location="Hà Nội")
            t2 = time.perf_counter()
            if i:
                renders.append(t1 - t0)
                signs.append(t2 - t1)
                totals.append(t2 - t0)
        import io

        from pyhanko.pdf_utils.reader import PdfFileReader

        pages = int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])
        verifies = []
        for i in range(8):
            t = time.perf_counter()
            verdict, _ = signing.verify_bytes(signed, agency=report.agency)
            if i:
                verifies.append(time.perf_counter() - t)
        assert verdict.ok, verdict.message
        ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
        print(f"{pages} pages, {len(signed):,} bytes signed".replace(",", "."))
        print(f"render {ms(renders):.0f} ms + sign {ms(signs):.0f} ms = {ms(totals):.0f} ms (target < 1000 ms, no network timestamp)")
        print(f"verify {ms(verifies):.0f} ms (target < 500 ms): {verdict.message}")
        # B-LT: the signer's revocation information (the installed CRL) embedded in the document
        lt_signs = []
        revocation = pki_svc.revocation()
        for i in range(6):
            t = time.perf_counter()
            lt = sig.sign_pdf(pdf, signer, name=clerk.full_name, reason="Gửi báo cáo", location="Hà Nội", revocation=revocation)
            if i:
                lt_signs.append(time.perf_counter() - t)
        lt_verifies = []
        for i in range(6):
            t = time.perf_counter()
            lt_verdict, _ = signing.verify_bytes(lt, agency=report.agency)
            if i:
                lt_verifies.append(time.perf_counter() - t)
        size = f"{len(lt):,}".replace(",", ".")
        print(f"PAdES {sig.level_of(lt)}: sign {ms(lt_signs):.0f} ms, verify {ms(lt_verifies):.0f} ms, {size} bytes; "
              f"{'hợp lệ' if lt_verdict.ok else lt_verdict.message}")


if __name__ == "__main__":
    main()
