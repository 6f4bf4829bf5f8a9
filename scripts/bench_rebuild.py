"""Benchmark: the rebuild of the reporting center's record versions and partials over an existing
database (typically one `scripts/bench_aggregate.py` or `scripts/bench_curves.py` left, 10 million values).

    .venv/bin/python scripts/bench_rebuild.py --url postgresql+psycopg://…/bench10c --regime BENCH-QG [--runs 4]

Each run rebuilds the regime over unchanged data (it writes nothing: decision 0016) in this one
process; then one more run prints its slowest statements. Prints figures only.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--regime", required=True)
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()

    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from app.services import aggregation_rebuild

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench-rebuild-0123456789abcdef",
                      "INSTANCE_DIR": tempfile.mkdtemp(prefix="bench-rebuild-")})
    with app.app_context():
        runs = []
        for _ in range(args.runs):
            t = time.perf_counter()
            summary = aggregation_rebuild.rebuild(regime=args.regime)
            runs.append(time.perf_counter() - t)
        print(f"rebuild of {args.regime} over unchanged data: {' · '.join(f'{x:.2f}' for x in runs)} s, "
              f"median {statistics.median(runs):.2f} s (target < 5 s at 10 M values); {summary.records:,} record versions, "
              f"{summary.aggregates:,} partials, {summary.written} rows written")
        times: list[tuple[float, str]] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_t"] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            times.append((time.perf_counter() - conn.info["bench_t"], " ".join(statement.split())[:100]))

        t = time.perf_counter()
        aggregation_rebuild.rebuild(regime=args.regime)
        total = time.perf_counter() - t
        print(f"one more run, {total:.2f} s: {sum(x for x, _ in times):.2f} s in {len(times)} statements; the slowest:")
        for x, stmt in sorted(times, reverse=True)[:5]:
            print(f"  {x:6.3f} s  {stmt}")


if __name__ == "__main__":
    main()
