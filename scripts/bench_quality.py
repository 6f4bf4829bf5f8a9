"""Benchmark: how precise the data-quality check is, on the demo history with seeded anomalies.

    .venv/bin/python scripts/bench_quality.py                 # a fresh SQLite database in a temp dir
    .venv/bin/python scripts/bench_quality.py --rate 0.02     # share of values slipped per period

Builds the demo (agency map, catalogue, `seed_history`: 15 months of retail reports from the 34
departments, 11 quarters of administrative-procedure reports from the 63 then 34 provinces and,
after the reorganisation, from departments and Hà Nội's communes — seasonal, growing, noisy). Then,
for each period of each regime, one at a time: slips a share of the reported values the way people
slip (a zero too many or too few, đồng for million đồng, blank typed as 0, a figure entered twice,
+30 %, two digits swapped), runs the check, counts what it found, and puts the values back.

Prints, per regime and overall: values judged, slips seeded, flagged, precision, recall (by kind of
slip), false alarms per 1,000 clean values — for baocao's check and, on the same values, for the
check DHIS2 offers (a value more than 3 standard deviations from the mean of the unit's own recent
values) — and the time of one pass.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SLIPS = {  # kind → how the true value becomes the reported one
    "×10": lambda v: v * 10,
    "÷10": lambda v: (v / 10).quantize(Decimal(1)),
    "×1000": lambda v: v * 1000,
    "0": lambda v: Decimal(0),
    "×2": lambda v: v * 2,
    "+30 %": lambda v: (v * Decimal("1.3")).quantize(Decimal(1)),
    "swap": lambda v: Decimal(_swap(str(int(v)))),
}


def _swap(digits: str) -> str:
    """Two leading digits swapped (1234 → 2134); a figure that reads the same is nudged instead."""
    if len(digits) < 2 or digits[0] == digits[1]:
        return str(int(digits) + 9 * 10 ** max(0, len(digits) - 2))
    return digits[1] + digits[0] + digits[2:]


def naive(history: np.ndarray, threshold: float = 3.0) -> set[int]:
    """DHIS2's standard-deviation outlier check: |value − mean| > 3 σ of the unit's own recent
    values (here the last 12 periods before, as on its data-quality screen)."""
    past = history[:, 1:13]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            mean = np.nanmean(past, axis=1)
            sd = np.nanstd(past, axis=1)
    enough = np.sum(~np.isnan(past), axis=1) >= 3
    z = np.abs(history[:, 0] - mean) / np.where(sd > 0, sd, np.nan)
    return set(np.flatnonzero(enough & (z > threshold)).tolist())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=0.01, help="share of reported values slipped in each period checked")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    tmp = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite'}")
    from flask_migrate import upgrade
    from sqlalchemy import select, update

    from app import create_app
    from app.domain import aggregation as agg_rules
    from app.extensions import db
    from app.models import RecordVersion, Regime, SubmissionValue, User
    from app.services import agencies, catalogue, center, history
    from app.services import quality as svc
    from app.services.catalogue import regime_definition
    from app.services.seed import seed_demo

    app = create_app({"INSTANCE_DIR": str(tmp)})
    with app.app_context():
        t0 = time.perf_counter()
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue.load_catalogue(root=ROOT)
        seed_demo()
        admin = db.session.scalar(select(User).where(User.username == "quantri"))
        analyst = db.session.scalar(select(User).where(User.username == "phantich.vpcp"))
        loaded = history.seed_history(actor=admin, compile_last=0)
        print(f"demo history: {sum(loaded.values()):,} reports in {len(loaded)} periods, {time.perf_counter() - t0:.0f} s")
        print(f"slipping {args.rate:.0%} of the values of each period checked, one period at a time\n")

        totals = {"ours": Counter(), "dhis2": Counter()}
        recall_by_kind = {"ours": Counter(), "dhis2": Counter()}
        seeded_by_kind: Counter = Counter()
        pass_times = []
        header = f"{'regime':<10} {'period':<9} {'values':>7} {'slips':>5} | {'flagged':>7} {'hit':>4} {'false':>5} | {'DHIS2 flagged':>13} {'hit':>4} {'false':>5}"
        print(header)
        print("-" * len(header))
        for code in ("BCT-BANLE", "VPCP-TTHC"):
            regime = db.session.scalar(select(Regime).where(Regime.code == code))
            definition, cat = regime_definition(regime.current_version)
            keys = sorted({k for k in db.session.scalars(select(RecordVersion.period_key).where(RecordVersion.regime_id == regime.id).distinct())})
            for key in keys:
                p = center._period(definition, key)
                tier = (center._tiers(regime.id, key, "approved") or [0])[0]
                g = svc.gather(regime.id, definition, cat, p, tier, "approved")
                if len(g.cells) < 50:
                    continue
                # slip some values of this period (levels only: a percentage typed ×10 is refused by its bounds)
                candidates = [i for i, (_a, ind, _k) in enumerate(g.cells) if not agg_rules.in_points(cat.indicators[ind])
                              and g.history[i, 0] >= 10]
                chosen = rng.sample(candidates, max(1, int(len(g.cells) * args.rate)))
                kinds = {i: rng.choice(list(SLIPS)) for i in chosen}
                versions = dict(db.session.execute(select(RecordVersion.agency_code, RecordVersion.version_id).where(
                    RecordVersion.regime_id == regime.id, RecordVersion.period_key == key, RecordVersion.basis == "approved")).all())
                saved = {}
                for i, kind in kinds.items():
                    agency, ind, dkey = g.cells[i]
                    true = Decimal(str(int(g.history[i, 0]))) if g.history[i, 0] == int(g.history[i, 0]) else Decimal(str(g.history[i, 0]))
                    saved[i] = true
                    db.session.execute(update(SubmissionValue).where(SubmissionValue.version_id == versions[agency], SubmissionValue.indicator == ind,
                                                                     SubmissionValue.dkey == dkey).values(number=SLIPS[kind](true)))
                t = time.perf_counter()
                view = svc.scan(user=analyst, regime=code, period=key)
                pass_times.append(time.perf_counter() - t)
                index = {c: i for i, c in enumerate(g.cells)}
                ours = {index[(f.agency, f.indicator, f.dkey)] for f in view.flags}
                g2 = svc.gather(regime.id, definition, cat, p, tier, "approved")
                dhis2 = {index[c] for c in (g2.cells[i] for i in naive(g2.history))}
                seeded = set(kinds)
                for name, found in (("ours", ours), ("dhis2", dhis2)):
                    totals[name].update(values=len(g.cells), seeded=len(seeded), flagged=len(found), hit=len(found & seeded),
                                        false=len(found - seeded))
                    recall_by_kind[name].update(kinds[i] for i in found & seeded)
                seeded_by_kind.update(kinds.values())
                print(f"{code:<10} {key:<9} {len(g.cells):>7} {len(seeded):>5} | {len(ours):>7} {len(ours & seeded):>4} {len(ours - seeded):>5} |"
                      f" {len(dhis2):>13} {len(dhis2 & seeded):>4} {len(dhis2 - seeded):>5}")
                for i, true in saved.items():  # put the values back
                    agency, ind, dkey = g.cells[i]
                    db.session.execute(update(SubmissionValue).where(SubmissionValue.version_id == versions[agency], SubmissionValue.indicator == ind,
                                                                     SubmissionValue.dkey == dkey).values(number=true))
                db.session.commit()
        print()
        for name, label in (("ours", "baocao (own seasonal history, then peers; median/MAD)"), ("dhis2", "DHIS2-style (mean ± 3 SD of own last 12)")):
            t = totals[name]
            precision = t["hit"] / t["flagged"] if t["flagged"] else float("nan")
            recall = t["hit"] / t["seeded"] if t["seeded"] else float("nan")
            clean = t["values"] - t["seeded"]
            print(f"{label}:\n  values judged {t['values']:,}, slips {t['seeded']:,}, flagged {t['flagged']:,}: "
                  f"precision {precision:.1%}, recall {recall:.1%}, false alarms {1000 * t['false'] / clean:.2f} per 1,000 clean values")
            print("  recall by slip: " + ", ".join(f"{k} {recall_by_kind[name][k]}/{seeded_by_kind[k]}" for k in SLIPS))
        print(f"\none pass (scan + names), median {np.median(pass_times) * 1000:.0f} ms, max {max(pass_times) * 1000:.0f} ms "
              f"over {len(pass_times)} periods ({db.engine.dialect.name})")


if __name__ == "__main__":
    main()
