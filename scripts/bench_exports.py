"""Benchmark: consolidated PDF reports (WeasyPrint) and data files.

    .venv/bin/python scripts/bench_exports.py
    .venv/bin/python scripts/bench_exports.py --national-tthc   # + the national VPCP-TTHC report, every commune


Builds a throwaway SQLite database with the demo history (BCT-BANLE from the 34 Departments of
Industry and Trade, 15 months), then times, with the export cache cleared before each run:
  - the one-province monthly report (target < 2 s),
  - the national report with 34 provinces, all indicators and both charts (target < 10 s),
  - Excel and CSV of the national view;
  - with --national-tthc: the communes of every province report VPCP-TTHC too, and the national
    VPCP-TTHC report for 2026-Q3 (every reporting unit in its appendix, about 120 pages; target < 10 s).
Prints figures only.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--national-tthc", action="store_true", help="every commune reports VPCP-TTHC; time its national report")
    opts = parser.parse_args()
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services import agencies, catalogue, exports, history
    from app.services.seed import seed_demo

    work = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.sqlite'}", "INSTANCE_DIR": str(work),
                      "SECRET_KEY": "bench-secret-0123456789"})
    with app.app_context():
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue.load_catalogue(root=ROOT)
        seed_demo()
        admin = db.session.scalar(select(User).where(User.username == "quantri"))
        t = time.perf_counter()
        communes_of = tuple(a.code for a in agencies.units_on(day=date(2026, 9, 30)) if a.level == "province") if opts.national_tthc else ("T01",)
        history.seed_history(actor=admin, communes_of=communes_of)
        print(f"demo history loaded in {time.perf_counter() - t:.1f} s")
        analyst = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
        from app.adapters import pdf_render

        t = time.perf_counter()
        pdf_render.warm(app.config["PDF_PROCESSES"])  # as `flask jobs worker` does at start
        print(f"{app.config['PDF_PROCESSES']} PDF processes started in {time.perf_counter() - t:.2f} s")
        cases = [("one province (Hà Nội), monthly", "BCT-BANLE", "2026-M10", "T01"),
                 ("nation, 34 provinces, charts", "BCT-BANLE", "2026-M10", "CP")]
        if opts.national_tthc:
            cases.append(("nation, VPCP-TTHC, every reporting unit", "VPCP-TTHC", "2026-Q3", "CP"))
        for label, regime, period, agency in cases:
            times, pages = [], 0
            for _ in range(3):
                shutil.rmtree(work / "exports", ignore_errors=True)
                t = time.perf_counter()
                data, _name, cached = exports.pdf(user=analyst, regime=regime, period=period, agency=agency)
                times.append(time.perf_counter() - t)
                assert not cached
            if shutil.which("pdfinfo"):
                info = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True).stdout.decode()
                pages = next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), 0)
            t = time.perf_counter()
            exports.pdf(user=analyst, regime=regime, period=period, agency=agency)
            reuse = time.perf_counter() - t
            for whole in (work / "exports").glob("*.pdf"):
                whole.unlink()  # the day's copy gone (another day, another signer): the parts are kept
            t = time.perf_counter()
            exports.pdf(user=analyst, regime=regime, period=period, agency=agency)
            parts_kept = time.perf_counter() - t
            target = 2 if agency != "CP" else 10
            print(f"PDF {label}: median {statistics.median(times):.2f} s (runs {', '.join(f'{x:.2f}' for x in times)}), {pages} pages, "
                  f"{len(data):,} bytes (target < {target} s); asked again: {reuse:.2f} s (the day's copy); "
                  f"made again from kept parts: {parts_kept:.2f} s")
        t = time.perf_counter()
        data, _ = exports.xlsx_bytes(user=analyst, regime="BCT-BANLE", period="2026-M10")
        print(f"Excel of the national view: {time.perf_counter() - t:.2f} s, {len(data):,} bytes")
        t = time.perf_counter()
        data, _ = exports.csv_bytes(user=analyst, regime="BCT-BANLE", period="2026-M10")
        print(f"CSV (long format) of the national view: {time.perf_counter() - t:.2f} s, {len(data):,} bytes")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
