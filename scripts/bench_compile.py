"""Benchmark: compiling a report from the tier below (the compile chain).

    .venv/bin/python scripts/bench_compile.py                                   # SQLite
    DATABASE_URL=postgresql+psycopg://… .venv/bin/python scripts/bench_compile.py

Builds (in an empty database) the real agency map and a three-tier monthly regime of 250 cells:
communes → their province (UBND tỉnh) → Bộ Công Thương → Văn phòng Chính phủ. Loads approved reports
of Hà Nội's 126 communes and of the 34 provinces, then measures (median of 7, after one warm-up):
  - Hà Nội's report compiled from its 126 communes × 250 cells (target < 300 ms),
  - the ministry's report compiled from the 34 provinces (target < 200 ms),
both as the read (`chain.gather`) and as the whole action that also saves the draft (`chain.fill`).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELLS = 250


def catalogue(root: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "indicators", root / "indicators")
    shutil.copytree(ROOT / "report_templates", root / "report_templates")
    inds = "\n".join(f"  - {{code: CH_{i:03d}, name_vi: Chỉ tiêu tổng hợp {i:03d}, unit: đơn vị, min: 0}}" for i in range(1, CELLS + 1))
    (root / "indicators" / "bench-ch.yaml").write_text(f"indicators:\n{inds}\n", encoding="utf-8")
    d = root / "report_templates" / "BENCH-CH"
    (d / "forms").mkdir(parents=True)
    (d / "regime.yaml").write_text("""\
code: BENCH-CH
name_vi: Báo cáo thử chuỗi tổng hợp ba cấp
type: periodic
frequency: monthly
issuing_agency: BCT
legal_basis: Chỉ dùng để đo hiệu năng
valid_from: 2025-07-01
content: Số liệu thử
content_kind: data
sending_methods: [system]
tiers:
  - name: Xã gửi Ủy ban nhân dân tỉnh
    reporters: {levels: [commune]}
    receiver: province
    deadline: {rule: day_of_month, day: 17}
  - name: Ủy ban nhân dân tỉnh gửi Bộ Công Thương
    reporters: {levels: [province]}
    receiver: BCT
    deadline: {rule: day_of_month, day: 20}
  - name: Bộ Công Thương gửi Văn phòng Chính phủ
    reporters: {agencies: [BCT]}
    receiver: VPCP
    deadline: {rule: day_of_month, day: 25}
forms: [BIEU01]
process_guidance: Xã gửi tỉnh; tỉnh tổng hợp gửi Bộ; Bộ tổng hợp gửi Văn phòng Chính phủ.
""", encoding="utf-8")
    rows = "\n".join(f"  - {{indicator: CH_{i:03d}, row: \"{i}\"}}" for i in range(1, CELLS + 1))
    (d / "forms" / "BIEU01.yaml").write_text(f"code: BIEU01\ntitle: Biểu thử\nrows:\n{rows}\n", encoding="utf-8")


def main() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select, text

    from app import create_app
    from app.extensions import db
    from app.models import Agency, AgencyParent, Regime, Submission, SubmissionValue, SubmissionVersion, User
    from app.services import agencies, chain
    from app.services import catalogue as catalogue_svc
    from app.services import submissions as submissions_svc
    from app.services.seed import seed_demo

    work = Path(tempfile.mkdtemp(prefix="bench-compile-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite'}"
    catalogue(work)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(work), "SECRET_KEY": "bench-secret-0123456789"})
    period, earlier = "2026-M10", "2026-M09"
    with app.app_context():
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue_svc.load_catalogue(root=work)
        seed_demo()
        admin = db.session.scalar(select(User).where(User.username == "quantri"))
        regime = db.session.scalar(select(Regime).where(Regime.code == "BENCH-CH"))
        t01 = db.session.scalar(select(Agency).where(Agency.code == "T01"))
        communes = db.session.execute(select(Agency.id).join(AgencyParent, AgencyParent.child_id == Agency.id)
                                      .where(AgencyParent.parent_id == t01.id, Agency.level == "commune",
                                             Agency.valid_to.is_(None))).scalars().all()
        provinces = db.session.execute(select(Agency.id).where(Agency.level == "province", Agency.valid_to.is_(None))).scalars().all()
        bct = db.session.scalar(select(Agency.id).where(Agency.code == "BCT"))
        now = datetime(2026, 11, 1, tzinfo=UTC)
        sub_id = (db.session.scalar(select(func.max(Submission.id))) or 0) + 1
        ver_id = (db.session.scalar(select(func.max(SubmissionVersion.id))) or 0) + 1
        subs, vers, vals = [], [], []
        # communes' reports in one month (Hà Nội compiles them), provinces' in the month before (the ministry does)
        for tier, receiver, ids, key in ((0, t01.id, communes, period), (1, bct, provinces, earlier)):
            for aid in ids:
                subs.append({"id": sub_id, "regime_id": regime.id, "agency_id": aid, "period_key": key, "tier": tier,
                             "status": "approved", "receiver_id": receiver, "deadline_at": now, "approved_version": 1,
                             "first_submitted_at": now, "on_time": True, "revision": 1, "created_at": now, "updated_at": now,
                             "updated_by_id": admin.id})
                vers.append({"id": ver_id, "submission_id": sub_id, "number": 1, "regime_version_id": regime.current_version.id,
                             "status": "approved", "source": "import", "outline": {}, "created_at": now, "created_by_id": admin.id,
                             "saved_at": now, "submitted_at": now, "submitted_by_id": admin.id, "on_time": True,
                             "seal_hash": "0" * 64, "seal_signature": "0" * 128, "decided_at": now, "decided_by_id": admin.id})
                vals.extend({"version_id": ver_id, "indicator": f"CH_{i:03d}", "dkey": "", "number": (aid * 7 + i) % 997,
                             "estimate": False, "comment": ""} for i in range(1, CELLS + 1))
                sub_id += 1
                ver_id += 1
        db.session.execute(insert(Submission), subs)
        db.session.execute(insert(SubmissionVersion), vers)
        for i in range(0, len(vals), 20_000):
            db.session.execute(insert(SubmissionValue.__table__), vals[i:i + 20_000])
        if db.engine.dialect.name == "postgresql":  # ids were given explicitly: move the sequences past them
            for table in ("submissions", "submission_versions"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"database {db.engine.dialect.name}; Hà Nội: {len(communes)} communes × {CELLS} cells; "
              f"{len(provinces)} provinces × {CELLS} cells")

        cases = (("Hà Nội from its communes", "bench.hn", "approver", "T01", 0.300, period),
                 ("Bộ Công Thương from 34 provinces", "bench.bct", "reporter", "BCT", 0.200, earlier))
        for label, username, role, agency_code, target, key in cases:
            from app.services.users import create_user

            clerk = create_user(username=username, password="mot-cum-tu-du-dai-2026", full_name="Đo hiệu năng", role=role,
                                agency_code=agency_code)
            reads, fills = [], []
            for i in range(8):
                db.session.expire_all()
                t = time.perf_counter()
                report = submissions_svc.open_report(user=clerk, regime_code="BENCH-CH", agency_code=agency_code, period_key=key)
                comp = chain.gather(report)
                took = time.perf_counter() - t
                if i:
                    reads.append(took)
            for i in range(8):
                db.session.expire_all()
                t = time.perf_counter()
                chain.fill(user=clerk, regime_code="BENCH-CH", agency_code=agency_code, period_key=key)
                took = time.perf_counter() - t
                if i:
                    fills.append(took)
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
                chain.gather(submissions_svc.open_report(user=clerk, regime_code="BENCH-CH", agency_code=agency_code, period_key=key))
                prof.disable()
                pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
            print(f"{label}: {len(comp.counted)} reports × {CELLS} cells — compile (read) median "
                  f"{statistics.median(reads) * 1000:.0f} ms, with saving the draft median {statistics.median(fills) * 1000:.0f} ms "
                  f"(target < {target * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
