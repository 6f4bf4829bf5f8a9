"""Benchmark: the reporting center at national scale.

    DATABASE_URL=postgresql+psycopg://… .venv/bin/python scripts/bench_aggregate.py          # 10 million values
    .venv/bin/python scripts/bench_aggregate.py --scale 0.1                                   # SQLite, one tenth

Builds (in an empty database) the real agency map and one synthetic monthly regime owed by the
34 provinces and their 3,321 communes with 250 indicator cells, then 12 months of approved
reports: 3,355 × 250 × 12 ≈ 10 million values (× --scale on the indicators). Prints:
  - the DuckDB GROUP BY of the same values in memory (the floor),
  - `rebuild --all` from the raw values (target < 15 s),
  - the national view of one period (target < 150 ms) and a 12-period trend (target < 100 ms),
  - one approval, and the time until the national view shows it (target < 1 s).
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


FIGURES: dict[str, float] = {}  # what --json writes
SKIP: dict[str, bool] = {}


def catalogue(root: Path, cells: int, copy_real: bool = True) -> None:
    """BENCH-QG: a monthly regime of `cells` indicators owed by every province and commune (also
    used by the deadline-day load test, scripts/load/prepare.py)."""
    if copy_real:
        shutil.copytree(ROOT / "indicators", root / "indicators")
        shutil.copytree(ROOT / "report_templates", root / "report_templates")
    inds = "\n".join(f"  - {{code: TT_{i:03d}, name_vi: Chỉ tiêu thống kê {i:03d}, unit: đơn vị, min: 0}}" for i in range(1, cells + 1))
    (root / "indicators" / "bench-qg.yaml").write_text(f"indicators:\n{inds}\n", encoding="utf-8")
    d = root / "report_templates" / "BENCH-QG"
    (d / "forms").mkdir(parents=True)
    (d / "regime.yaml").write_text("""\
code: BENCH-QG
name_vi: Báo cáo thống kê thử quy mô toàn quốc
type: periodic
frequency: monthly
issuing_agency: VPCP
legal_basis: Chỉ dùng để đo hiệu năng
valid_from: 2025-07-01
content: Số liệu thử
content_kind: data
sending_methods: [system]
tiers:
  - name: Xã và tỉnh gửi
    reporters: {levels: [province, commune]}
    receiver: VPCP
    deadline: {rule: day_of_month, day: 20}
forms: [BIEU01]
""", encoding="utf-8")
    rows = "\n".join(f"  - {{indicator: TT_{i:03d}, row: \"{i}\"}}" for i in range(1, cells + 1))
    (d / "forms" / "BIEU01.yaml").write_text(f"code: BIEU01\ntitle: Biểu thử\nrows:\n{rows}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0, help="share of the 250 indicator cells (0.1 = one tenth)")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--json", default="", help="also write the figures to this file (scripts/bench_curves.py)")
    ap.add_argument("--no-outliers", action="store_true", help="skip the outlier pass (and keeping its features)")
    ap.add_argument("--history-pass", action="store_true", help="also time the outlier pass reading the history (a minute at 10 M)")
    args = ap.parse_args()
    SKIP["outliers"] = args.no_outliers
    SKIP["history_pass"] = args.history_pass
    cells = max(1, round(250 * args.scale))

    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select, text

    from app import create_app
    from app.domain.numbers import format_vn
    from app.extensions import db
    from app.models import Agency, Regime, Submission, SubmissionValue, SubmissionVersion, User
    from app.services import agencies, aggregation_rebuild
    from app.services import catalogue as catalogue_svc
    from app.services import center as center_svc
    from app.services import decisions as decisions_svc
    from app.services.seed import seed_demo

    work = Path(tempfile.mkdtemp(prefix="bench-aggregate-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite'}"
    catalogue(work, cells)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(work), "SECRET_KEY": "bench-secret-0123456789"})
    with app.app_context():
        engine = db.engine
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue_svc.load_catalogue(root=work)
        seed_demo()
        admin = db.session.scalar(select(User).where(User.username == "quantri"))
        regime = db.session.scalar(select(Regime).where(Regime.code == "BENCH-QG"))
        version_id = regime.current_version.id
        vpcp = db.session.scalar(select(Agency.id).where(Agency.code == "VPCP"))
        reporters = db.session.execute(select(Agency.id, Agency.code, Agency.level).where(
            Agency.level.in_(["province", "commune"]), Agency.valid_to.is_(None))).all()
        provinces = aggregation_rebuild._provinces_on(datetime.now(UTC).date())
        periods = [f"2025-M{m:02d}" for m in range(8, 13)] + [f"2026-M{m:02d}" for m in range(1, 13)]
        periods = periods[-args.months:]
        n_values = len(reporters) * cells * len(periods)
        print(f"{len(reporters):,} agencies × {cells} cells × {len(periods)} periods = {n_values:,} values; database {engine.dialect.name}")

        # ---- generate (ids assigned here; values deterministic) --------------------------------
        t = time.perf_counter()
        rng = np.random.default_rng(9)
        now = datetime(2026, 11, 1, tzinfo=UTC)
        sub_id = (db.session.scalar(select(func.max(Submission.id))) or 0) + 1
        ver_id = (db.session.scalar(select(func.max(SubmissionVersion.id))) or 0) + 1
        subs, vers = [], []
        frame_prov, frame_ind, frame_per, frame_val = [], [], [], []
        values_buf = io.StringIO()
        codes = [f"TT_{i:03d}" for i in range(1, cells + 1)]
        prov_index = {}
        val_id = (db.session.scalar(select(func.max(SubmissionValue.id))) or 0) + 1
        sqlite_rows = []
        for pi, period in enumerate(periods):
            for aid, _code, _level in reporters:
                subs.append({"id": sub_id, "regime_id": regime.id, "agency_id": aid, "period_key": period, "tier": 0, "status": "approved", "receiver_id": vpcp,
                             "deadline_at": now, "approved_version": 1, "first_submitted_at": now, "on_time": True, "revision": 1,
                             "created_at": now, "updated_at": now, "updated_by_id": admin.id})
                vers.append({"id": ver_id, "submission_id": sub_id, "number": 1, "regime_version_id": version_id, "status": "approved",
                             "source": "import", "outline": {}, "created_at": now, "created_by_id": admin.id, "saved_at": now,
                             "submitted_at": now, "submitted_by_id": admin.id, "on_time": True, "seal_hash": "0" * 64,
                             "seal_signature": "0" * 128, "decided_at": now, "decided_by_id": admin.id})
                vals = rng.integers(1, 10_000, size=cells)
                p = provinces.get(aid, "BO")
                prov_index.setdefault(p, len(prov_index))
                frame_prov.append(np.full(cells, prov_index[p]))
                frame_ind.append(np.arange(cells))
                frame_per.append(np.full(cells, pi))
                frame_val.append(vals)
                if engine.dialect.name == "postgresql":
                    values_buf.write("".join(f"{val_id + i}\t{ver_id}\t{codes[i]}\t\t{int(v)}\t\\N\tf\t\n" for i, v in enumerate(vals)))
                else:
                    sqlite_rows.extend({"id": val_id + i, "version_id": ver_id, "indicator": codes[i], "dkey": "", "number": str(int(v)),
                                        "estimate": False, "comment": ""} for i, v in enumerate(vals))
                val_id += cells
                sub_id += 1
                ver_id += 1
        generated = time.perf_counter() - t
        t = time.perf_counter()
        db.session.execute(insert(Submission), subs)
        db.session.execute(insert(SubmissionVersion), vers)
        if engine.dialect.name == "postgresql":
            raw = db.session.connection().connection.driver_connection
            with raw.cursor().copy("COPY submission_values (id, version_id, indicator, dkey, number, text, estimate, comment) FROM STDIN") as cp:
                cp.write(values_buf.getvalue())
            for table in ("submissions", "submission_versions", "submission_values"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        else:
            for i in range(0, len(sqlite_rows), 50_000):
                db.session.execute(insert(SubmissionValue.__table__), sqlite_rows[i:i + 50_000])
        db.session.commit()
        if engine.dialect.name == "postgresql":
            # what a DBA runs after a bulk load: without it the first statements that read the rows
            # write their hint bits (the first rebuild took ~25 s instead of ~12) and the visibility
            # map stays empty; on a live system autovacuum has done this long before any rebuild
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        print(f"generated in {generated:.1f} s, loaded in {time.perf_counter() - t:.1f} s (COPY, then VACUUM ANALYZE)")
        FIGURES["values"] = n_values

        # ---- floor: DuckDB over the same values in memory --------------------------------------
        try:
            import duckdb
            import pandas as pd

            frame = pd.DataFrame({"province": np.concatenate(frame_prov), "indicator": np.concatenate(frame_ind),
                                  "period": np.concatenate(frame_per), "value": np.concatenate(frame_val)})
            con = duckdb.connect()
            con.register("v", frame)
            times = []
            for _ in range(3):
                t = time.perf_counter()
                con.execute("SELECT province, indicator, period, sum(value), count(*) FROM v GROUP BY ALL").fetchall()
                times.append(time.perf_counter() - t)
            print(f"floor — DuckDB GROUP BY province × indicator × period of {len(frame):,} values in memory: {min(times):.2f} s")
            del frame, con
        except ImportError:
            print("floor — DuckDB not installed (pip install -r requirements-dev.txt)")

        # ---- rebuild ------------------------------------------------------------------------------
        # the values were loaded by COPY: the first rebuild writes every record version and partial
        t = time.perf_counter()
        summary = aggregation_rebuild.rebuild(regime="BENCH-QG")
        FIGURES["rebuild_s"] = time.perf_counter() - t
        print(f"rebuild --regime BENCH-QG (all {len(periods)} periods) from nothing: {FIGURES['rebuild_s']:.1f} s — "
              f"{summary.records:,} record versions, {summary.aggregates:,} aggregate rows, {summary.written:,} rows written")
        # …then over what it wrote (a nightly or repairing rebuild): compares, writes what differs
        again = []
        for _ in range(3):
            t = time.perf_counter()
            summary = aggregation_rebuild.rebuild(regime="BENCH-QG")
            again.append(time.perf_counter() - t)
        FIGURES["rebuild_unchanged_s"] = statistics.median(again)
        print(f"rebuild again, nothing changed: median {FIGURES['rebuild_unchanged_s']:.1f} s "
              f"({' · '.join(f'{x:.1f}' for x in again)}), {summary.written:,} rows written (target < 5 s)")

        # ---- reads --------------------------------------------------------------------------------
        analyst = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
        last = periods[-1]
        from app.services import center_cache

        def changed():
            """As after an approval of the period: the kept views that read it are stale (every
            timing below but the "kept" ones is of a view computed afresh)."""
            center_cache.bump(regime.id, last)
            db.session.commit()

        timings = []
        for _ in range(7):
            changed()
            db.session.expire_all()
            t = time.perf_counter()
            v = center_svc.view(user=analyst, regime="BENCH-QG", period=last)
            timings.append(time.perf_counter() - t)
        kept = []
        for _ in range(7):
            t = time.perf_counter()
            center_svc.view(user=analyst, regime="BENCH-QG", period=last)
            kept.append(time.perf_counter() - t)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            center_svc.view(user=analyst, regime="BENCH-QG", period=last)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        FIGURES["national_ms"] = statistics.median(timings) * 1000
        print(f"national view {last} ({len(v.rows)} indicators, {len(v.children)} provinces, expected {v.expected:,}, reporting {v.reporting:,}): "
              f"median {statistics.median(timings) * 1000:.0f} ms computed after a change (target < 300 ms); "
              f"kept for every reader after the first: median {statistics.median(kept) * 1000:.1f} ms (target < 50 ms)")
        FIGURES["national_kept_ms"] = statistics.median(kept) * 1000
        timings = []
        for _ in range(7):
            t = time.perf_counter()
            points = center_svc.trend(user=analyst, regime="BENCH-QG", indicator="TT_001", periods=len(periods))
            timings.append(time.perf_counter() - t)
        FIGURES["trend_ms"] = statistics.median(timings) * 1000
        print(f"trend of one indicator over {len(points)} periods: median {statistics.median(timings) * 1000:.1f} ms (target < 100 ms)")
        timings = []
        shown = center_svc.shown_first("BENCH-QG")
        for _ in range(5):
            changed()
            t = time.perf_counter()
            center_svc.view(user=analyst, regime="BENCH-QG", period=last, unit="T01", child_indicators=shown)
            timings.append(time.perf_counter() - t)
        FIGURES["province_ms"] = statistics.median(timings) * 1000
        print(f"province page (Hà Nội; its agencies' first six indicators, as the page shows them), first reader after a change: "
              f"median {statistics.median(timings) * 1000:.0f} ms")
        timings = []
        for _ in range(7):  # every reader after the first: the kept view (decision 0014)
            t = time.perf_counter()
            center_svc.view(user=analyst, regime="BENCH-QG", period=last, unit="T01", child_indicators=shown)
            timings.append(time.perf_counter() - t)
        FIGURES["province_kept_ms"] = statistics.median(timings) * 1000
        print(f"province page, kept (every reader after the first): median {statistics.median(timings) * 1000:.1f} ms (target < 100 ms)")
        timings = []
        for _ in range(3):
            changed()
            t = time.perf_counter()
            center_svc.view(user=analyst, regime="BENCH-QG", period=last, unit="T01")
            timings.append(time.perf_counter() - t)
        FIGURES["province_all_ms"] = statistics.median(timings) * 1000
        print(f"province, every indicator of every agency (the API's /aggregates): median {statistics.median(timings) * 1000:.0f} ms")
        center_pages(analyst, last)

        # ---- SDMX-CSV of every value, streamed -----------------------------------------------------
        import resource

        from app.services import interchange

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        chunks, _ = interchange.sdmx_data(user=analyst, regime="BENCH-QG", start=periods[0], end=periods[-1])
        size = lines = 0
        for chunk in chunks:
            size += len(chunk)
            lines += chunk.count("\n")
        took = time.perf_counter() - t
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
        FIGURES["sdmx_s"] = took
        print(f"SDMX-CSV of {lines - 1:,} values ({size / 1e6:.0f} MB), streamed: {took:.1f} s, peak memory grew {grown / 1024:.0f} MB "
              f"(target: 1 million values < 5 s, flat memory)")

        # ---- one approval ----------------------------------------------------------------------
        commune = next(code for _aid, code, level in reporters if level == "commune")
        sub = db.session.scalar(select(Submission).join(Agency, Agency.id == Submission.agency_id).where(Agency.code == commune, Submission.period_key == last,
                                                                       Submission.regime_id == regime.id))
        before = {r.indicator.code: r.values[""] for r in center_svc.view(user=analyst, regime="BENCH-QG", period=last).rows}["TT_001"]
        # the commune's report comes back, is corrected by +1,000 on TT_001, resubmitted and approved
        sub.status, sub.approved_version = "submitted", 1
        new = SubmissionVersion(number=2, regime_version_id=version_id, status="submitted", source="api", outline={}, created_at=now,
                                created_by_id=admin.id, saved_at=now, submitted_at=now, submitted_by_id=admin.id, on_time=True,
                                seal_hash="1" * 64, seal_signature="1" * 128)
        sub.versions.append(new)
        db.session.flush()
        old_values = db.session.execute(select(SubmissionValue.indicator, SubmissionValue.number)
                                        .where(SubmissionValue.version_id == sub.versions[0].id)).all()
        db.session.execute(insert(SubmissionValue), [{"version_id": new.id, "indicator": i, "dkey": "",
                                                      "number": n + (1000 if i == "TT_001" else 0)} for i, n in old_values])
        db.session.commit()
        approver = db.session.scalar(select(User).where(User.username == "pheduyet.hn"))
        approver.agency_id = db.session.scalar(select(Agency.id).where(Agency.code == "CP"))  # approves for the receiving centre
        db.session.commit()
        t = time.perf_counter()
        decisions_svc.approve(user=approver, submission_id=sub.id)
        approved = time.perf_counter() - t
        t = time.perf_counter()
        after = {r.indicator.code: r.values[""] for r in center_svc.view(user=analyst, regime="BENCH-QG", period=last).rows}["TT_001"]
        shown = time.perf_counter() - t
        FIGURES["approval_ms"] = approved * 1000
        print(f"one approval: {approved * 1000:.0f} ms including the roll-up (same transaction); national view right after: "
              f"{shown * 1000:.0f} ms; TT_001 {format_vn(before)} → {format_vn(after)} (Δ {format_vn(after - before)}) (target < 1 s)")
    shutil.rmtree(work, ignore_errors=True)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(FIGURES, indent=1), encoding="utf-8")


def _median_ms(fn, runs: int = 5) -> tuple[float, object]:
    from app.extensions import db

    times, out = [], None
    for _ in range(runs):
        db.session.expire_all()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out


def center_pages(analyst, last: str) -> None:
    """The reporting center's other pages, each as its view computes it (server time, no HTML):
    completeness by province, the map, small multiples, KPIs, navigation and the outlier pass."""
    from app.services import center as center_svc
    from app.services import center_kpi, center_map, center_nav, completeness, quality
    from app.services.center import _regime

    def complete():
        cv = completeness.completeness(user=analyst, regime="BENCH-QG", period=last)
        return completeness.grouped(cv, page=1), cv

    ms, (_, cv) = _median_ms(complete, 3)
    FIGURES["completeness_ms"] = ms
    print(f"completeness, national, {len(cv.rows):,} units × {len(cv.periods)} periods, first page by province: median {ms:.0f} ms (target < 300 ms)")
    v = center_svc.view(user=analyst, regime="BENCH-QG", period=last)
    ms, svg = _median_ms(lambda: center_map.map_svg(v, "TT_001"))
    FIGURES["map_svg_ms"] = ms
    print(f"map SVG of one indicator by province ({len(svg) / 1000:.0f} kB), from the national view: median {ms:.0f} ms (target < 200 ms)")
    ms, _ = _median_ms(lambda: center_map.map_svg(center_svc.view(user=analyst, regime="BENCH-QG", period=last), "TT_001"))
    print(f"map SVG with its national view as kept (the /map.svg request): median {ms:.0f} ms")
    FIGURES["map_request_ms"] = ms
    ms, (_, items) = _median_ms(lambda: center_kpi.multiples(user=analyst, regime="BENCH-QG", indicator="TT_001", end=last))
    FIGURES["multiples_ms"] = ms
    print(f"small multiples, {len(items)} provinces × 12 periods: median {ms:.0f} ms (target < 300 ms)")
    regime = _regime("BENCH-QG")
    ms, periods = _median_ms(lambda: center_nav.periods_with_data(regime))
    print(f"period picker ({len(periods)} periods with their coverage): median {ms:.0f} ms")
    for code in ("TT_001", "TT_002", "TT_003"):
        center_kpi.add(user=analyst, regime="BENCH-QG", indicator=code)
    ms, kpis = _median_ms(lambda: center_kpi.kpis(user=analyst), 3)
    FIGURES["kpi_ms"] = ms
    print(f"KPI page, {len(kpis)} indicators with value, change, sparkline: median {ms:.0f} ms (target < 300 ms)")
    if SKIP.get("outliers"):
        return
    from app.services import quality_store

    definition, cat = center_svc.regime_definition(regime.current_version)
    t = time.perf_counter()
    kept = quality_store.rebuild(regime="BENCH-QG", periods=[last])  # the values were loaded in bulk, not approved one by one
    FIGURES["features_s"] = time.perf_counter() - t
    print(f"features of the period's approved values against their history, kept (`flask aggregate quality`, once for "
          f"reports approved before; each approval keeps its own): {kept:,} values in {time.perf_counter() - t:.1f} s")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        quality.scan(user=analyst, regime="BENCH-QG", period=last)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    p = center_svc._period(definition, last)
    ms, (checked, found) = _median_ms(lambda: quality.findings(regime.id, definition, cat, p, 0, "approved"), 5)
    FIGURES["outliers_ms"] = ms
    print(f"outlier pass, one regime-period, from the kept features: {checked:,} values; median {ms:.0f} ms, "
          f"{len(found):,} flagged (target < 1 s)")
    ms, view = _median_ms(lambda: quality.scan(user=analyst, regime="BENCH-QG", period=last, page=1), 5)
    FIGURES["quality_page_ms"] = ms
    print(f"quality page (the pass, then the first {len(view.flags)} of {view.total:,} flags with names, reports, follow-ups): "
          f"median {ms:.0f} ms (target < 300 ms for a page; the pass alone is above)")
    if SKIP.get("history_pass"):
        t = time.perf_counter()
        checked, found = quality.findings_from_history(regime.id, definition, cat, center_svc._period(definition, last), 0, "approved")
        print(f"the same pass reading the history instead: {time.perf_counter() - t:.1f} s, {len(found)} flagged "
              f"({'the same' if found == quality.findings(regime.id, definition, cat, center_svc._period(definition, last), 0, 'approved')[1] else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
