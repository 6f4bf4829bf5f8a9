"""Prepare the deadline-day load test (run with the app's virtual environment, not locust's):
an empty database migrated and loaded with the real agency map and catalogue plus two synthetic
regimes — BENCH-QG (250 indicators, owed monthly by every commune) and BENCH-TINH (1,000 rows ×
20 columns = 20,000 cells, owed by the provincial trade departments) — then 300 commune clerks,
20 national analysts and 5 department clerks, and the five 20,000-cell workbooks they upload.

Writes <work>/accounts.json (who logs in where) and <work>/upload-*.xlsx.
Usage: DATABASE_URL=postgresql+psycopg://… python scripts/load/prepare.py --work DIR [--reporters 300]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_aggregate import catalogue as national_regime  # noqa: E402
from bench_upload import fill as fill_workbook  # noqa: E402
from bench_upload import synthetic_catalogue  # noqa: E402

PASSWORD = "mat-khau-thu-tai-2026"
PERIOD = "2026-M11"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--reporters", type=int, default=300)
    ap.add_argument("--analysts", type=int, default=20)
    ap.add_argument("--uploaders", type=int, default=5)
    args = ap.parse_args()
    url = os.environ["DATABASE_URL"]
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app import create_app
    from app.extensions import db
    from app.models import Agency, Role, User
    from app.services import agencies, catalogue
    from app.services import uploads as uploads_svc
    from app.services import users as user_svc
    from app.services.seed import seed_demo

    catalogue_root = work / "catalogue"
    synthetic_catalogue(catalogue_root, 1000, 25)  # BENCH-TINH: 1,000 rows × 20 = 20,000 cells
    national_regime(catalogue_root, 250, copy_real=False)  # BENCH-QG: 250 cells
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(work / "instance"), "SECRET_KEY": os.environ["SECRET_KEY"]})
    with app.app_context():
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue.load_catalogue(root=catalogue_root)
        seed_demo()
        db.session.commit()
        communes = db.session.scalars(select(Agency.id).where(Agency.level == "commune", Agency.valid_to.is_(None))
                                      .order_by(Agency.code).limit(args.reporters)).all()
        departments = db.session.scalars(select(Agency.id).where(Agency.code.like("T%.SCT"), Agency.valid_to.is_(None))
                                         .order_by(Agency.code).limit(args.uploaders)).all()
        center = db.session.scalar(select(Agency.id).where(Agency.code == "VPCP"))
        hashed = user_svc._hasher.hash(PASSWORD)  # the app's own parameters; one hash for all (argon2 is slow on purpose)
        codes = dict(db.session.execute(select(Agency.id, Agency.code)).all())
        rows, accounts = [], {"reporters": [], "analysts": [], "uploaders": [], "period": PERIOD, "password": PASSWORD}
        for kind, role, ids in (("reporters", Role.REPORTER, communes), ("analysts", Role.ANALYST, [center] * args.analysts),
                                ("uploaders", Role.REPORTER, departments)):
            for i, agency_id in enumerate(ids, 1):
                name = f"tai.{kind[:3]}.{i:03d}"
                rows.append({"username": name, "password_hash": hashed, "full_name": f"Người dùng thử {i:03d}", "role": role.value,
                             "agency_id": agency_id, "email": f"{name}@baocao.local", "active": True, "locale": "vi"})
                accounts[kind].append({"username": name, "agency": codes[agency_id]})
        db.session.execute(insert(User), rows)
        db.session.commit()
        for u in accounts["uploaders"]:
            user = db.session.scalar(select(User).where(User.username == u["username"]))
            template, _ = uploads_svc.template(user=user, regime_code="BENCH-TINH", agency_code=u["agency"], period_key=PERIOD)
            path = work / f"upload-{u['agency']}.xlsx"
            path.write_bytes(fill_workbook(template, 1000))  # 1,000 rows × 20 columns = 20,000 cells
            u["file"] = str(path)
    (work / "accounts.json").write_text(json.dumps(accounts, ensure_ascii=False, indent=1))
    print(f"prepared in {time.perf_counter() - started:.0f} s: {len(accounts['reporters'])} commune clerks, "
          f"{len(accounts['analysts'])} analysts, {len(accounts['uploaders'])} uploaders; period {PERIOD}; work dir {work}")


if __name__ == "__main__":
    main()
