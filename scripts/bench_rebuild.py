"""Benchmark: the rebuild of the reporting center's record versions and partials over an existing
database (typically one `scripts/bench_aggregate.py` or `scripts/bench_curves.py` left, 10 million values).

    .venv/bin/python scripts/bench_rebuild.py --url postgresql+psycopg://…/bench10c --regime BENCH-QG [--runs 4] [--from-nothing]

Each run rebuilds the regime over unchanged data (it writes nothing: decision 0016) — or, with
`--from-nothing`, after deleting the regime's partials and record versions (it writes them all) — in this one
process, after timing the plain GROUP BY the issue measures its target against (this machine's
speed varies by ±30 % from minute to minute; the ratio shows whether the rebuild or the machine
moved); then one more run prints its slowest statements. Prints figures only.
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
    ap.add_argument("--top", type=int, default=5, help="how many of the last run's slowest statements to print")
    ap.add_argument("--from-nothing", action="store_true",
                    help="delete the regime's partials and record versions before each run (the rebuild puts them back)")
    args = ap.parse_args()

    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from app.services import aggregation_rebuild

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench-rebuild-0123456789abcdef",
                      "INSTANCE_DIR": tempfile.mkdtemp(prefix="bench-rebuild-")})
    with app.app_context():
        runs, plain = [], []
        for _ in range(args.runs):
            plain.append(_plain_group_by(db, args.regime))
            if args.from_nothing:
                _forget(db, args.regime)
            t = time.perf_counter()
            summary = aggregation_rebuild.rebuild(regime=args.regime)
            runs.append(time.perf_counter() - t)
        print(f"rebuild of {args.regime} {'from nothing' if args.from_nothing else 'over unchanged data'}: "
              f"{' · '.join(f'{x:.2f}' for x in runs)} s, "
              f"median {statistics.median(runs):.2f} s{'' if args.from_nothing else ' (target < 5 s at 10 M values)'}; "
              f"{summary.records:,} record versions, "
              f"{summary.aggregates:,} partials, {summary.written} rows written")
        print(f"the plain GROUP BY before each run (count only, same keys; #19: \"about 2.5 s here\"): "
              f"{' · '.join(f'{x:.2f}' for x in plain)} s — the machine's speed at that moment; "
              f"rebuild ÷ plain: {' · '.join(f'{r / p:.2f}' for r, p in zip(runs, plain, strict=True))}")
        if args.from_nothing:
            _forget(db, args.regime)
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
        for x, stmt in sorted(times, reverse=True)[:args.top]:
            print(f"  {x:6.3f} s  {stmt}")


def _forget(db, regime: str) -> None:
    """The regime's partials and record versions deleted (committed): the next rebuild writes them all."""
    from sqlalchemy import text

    for name in ("aggregates", "record_versions"):
        db.session.execute(text(f"DELETE FROM {name} WHERE regime_id = (SELECT id FROM regimes WHERE code = :code)"), {"code": regime})
    db.session.commit()


def _plain_group_by(db, regime: str) -> float:
    """The reference the issue gives: a plain PostgreSQL GROUP BY of the values the rebuild reads
    (the approved versions that count, by period, tier, province, indicator and disaggregation),
    counting only — what the machine does in the rebuild's place with nothing of the rebuild's."""
    from sqlalchemy import text

    t = time.perf_counter()
    db.session.execute(text("SET LOCAL work_mem = '256MB'"))
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text(
        "SELECT count(*) FROM (SELECT rv.period_key, rv.tier, rv.province_code, sv.indicator, sv.dkey, count(*) "
        "FROM record_versions rv JOIN submission_values sv ON sv.version_id = rv.version_id "
        "WHERE rv.regime_id = (SELECT id FROM regimes WHERE code = :code) AND rv.basis = 'approved' AND sv.number IS NOT NULL "
        "GROUP BY 1, 2, 3, 4, 5) g"), {"code": regime})
    db.session.commit()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
