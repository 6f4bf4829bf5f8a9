"""After the load test: count rows in the database against what the clients saw succeed, and print
the response times (from locust's CSV) against the targets. Exit 1 if a target is missed.
Usage: DATABASE_URL=… python scripts/load/check.py --work DIR"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

TARGET_P95_MS = {"save draft (250 cells)": 500, "national view": 500}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    clients = json.loads((args.work / "client-counts.json").read_text())
    accounts = json.loads((args.work / "accounts.json").read_text())
    engine = create_engine(os.environ["DATABASE_URL"])
    q = {
        "submitted": "SELECT count(*) FROM submissions s JOIN regimes r ON r.id = s.regime_id "
                     "WHERE r.code = 'BENCH-QG' AND s.status = 'submitted'",
        "drafts left": "SELECT count(*) FROM submissions s JOIN regimes r ON r.id = s.regime_id "
                       "WHERE r.code = 'BENCH-QG' AND s.status = 'draft'",
        "duplicate reports": "SELECT count(*) FROM (SELECT regime_id, agency_id, period_key FROM submissions "
                             "GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
        "sealed versions": "SELECT count(*) FROM submission_versions v JOIN submissions s ON s.id = v.submission_id "
                           "JOIN regimes r ON r.id = s.regime_id WHERE r.code = 'BENCH-QG' AND v.seal_hash IS NOT NULL",
        "values of submitted": "SELECT count(*) FROM submission_values sv JOIN submission_versions v ON v.id = sv.version_id "
                               "JOIN submissions s ON s.id = v.submission_id JOIN regimes r ON r.id = s.regime_id "
                               "WHERE r.code = 'BENCH-QG' AND v.seal_hash IS NOT NULL",
        "upload versions": "SELECT count(*) FROM submission_versions v JOIN submissions s ON s.id = v.submission_id "
                           "JOIN regimes r ON r.id = s.regime_id WHERE r.code = 'BENCH-TINH' AND v.source = 'excel'",
        "national aggregate reporting": "SELECT coalesce(max(n), 0) FROM aggregates a JOIN regimes r ON r.id = a.regime_id "
                                        "WHERE r.code = 'BENCH-QG' AND a.unit_code = 'CP' AND a.basis = 'latest'",
    }
    with engine.connect() as conn:
        db = {k: conn.execute(text(v)).scalar() for k, v in q.items()}
    ok = True
    print(f"clients: {json.dumps(clients)}")
    print(f"database: {json.dumps(db)}")
    checks = [
        ("every submit the clients saw succeed is one submitted report", db["submitted"] == clients.get("submits", 0)),
        ("no report twice", db["duplicate reports"] == 0),
        ("one sealed version per submitted report", db["sealed versions"] == db["submitted"]),
        ("250 values in each submitted report", db["values of submitted"] == 250 * db["submitted"]),
        ("every upload the clients saw succeed is one version", db["upload versions"] == clients.get("uploads", 0)),
        ("the national aggregate counts every submitted report", db["national aggregate reporting"] == db["submitted"]),
        ("every clerk submitted", clients.get("submits", 0) == len(accounts["reporters"])),
    ]
    for label, passed in checks:
        print(f"  {'ok ' if passed else 'FAIL'} {label}")
        ok &= passed
    with (args.work / "locust_stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    print(f"\n{'request':34} {'count':>6} {'fail':>5} {'median':>7} {'p95':>6} {'p99':>6} {'max':>7}  (ms)")
    for r in rows:
        print(f"{r['Name']:34} {r['Request Count']:>6} {r['Failure Count']:>5} {r['Median Response Time']:>7} "
              f"{r['95%']:>6} {r['99%']:>6} {float(r['Max Response Time']):>7.0f}")
        if r["Name"] == "Aggregated" and int(r["Failure Count"]) != 0:
            print("  FAIL errors")
            ok = False
        if r["Name"] in TARGET_P95_MS and float(r["95%"]) > TARGET_P95_MS[r["Name"]]:
            print(f"  FAIL p95 of {r['Name']} above {TARGET_P95_MS[r['Name']]} ms")
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
