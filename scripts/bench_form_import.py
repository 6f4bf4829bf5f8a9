"""Benchmark: importing the forms ministries publish (the corpus in tests/forms/corpus.py).

    .venv/bin/python scripts/bench_form_import.py

For each form of the corpus (Excel and Word, in the shapes circulars annex: numbered I / 1 / 1.1 /
a) / -, indentation only, "Trong đó:", "Cộng", merged headers, Nam / Nữ, notes, several tables):
rows recognised, rows with the right parent ("of which" included), the right unit, the right
library match (or proposed new when new), as percentages; then the time to read and propose a
60-row form (median of 7; target < 2 s).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from app.adapters.form_files import read_tables
    from app.domain import form_import as fi
    from tests.forms.corpus import big_form, build, forms, library, score

    lib, options = library()
    print(f"library: {len(lib)} indicators\n")
    head = f"{'form':<28} {'file':<5} {'rows':>4} {'recognised':>10} {'parent':>7} {'unit':>6} {'match':>6} {'columns':>8} {'ms':>5}"
    print(head)
    print("-" * len(head))
    totals = [0, 0, 0, 0, 0]
    for form in forms():
        data, name = build(form)
        t = time.perf_counter()
        p = fi.propose(read_tables(data, name)[form.tables_before], lib, options, prefix="NEW")
        ms = (time.perf_counter() - t) * 1000
        s = score(form, p)
        for i, v in enumerate((s.rows, s.recognised, s.parent, s.unit, s.match)):
            totals[i] += v
        pct = [f"{100 * v / s.rows:.0f} %" for v in (s.recognised, s.parent, s.unit, s.match)]
        print(f"{form.name:<28} {form.kind:<5} {s.rows:>4} {pct[0]:>10} {pct[1]:>7} {pct[2]:>6} {pct[3]:>6} {'ok' if s.columns_ok else 'WRONG':>8} {ms:>5.0f}")
    n = totals[0]
    print("-" * len(head))
    print(f"{'all ' + str(len(forms())) + ' forms':<34} {n:>4} {100 * totals[1] / n:>9.1f}% {100 * totals[2] / n:>6.1f}% "
          f"{100 * totals[3] / n:>5.1f}% {100 * totals[4] / n:>5.1f}%   (target ≥ 95 % right parent and unit)")
    form = big_form()
    data, name = build(form)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        fi.propose(read_tables(data, name)[0], lib, options)
        times.append(time.perf_counter() - t)
    print(f"\n60-row form ({name}, {len(data) / 1024:.0f} kB): read and proposed in median {statistics.median(times) * 1000:.0f} ms "
          f"(target < 2 s)")


if __name__ == "__main__":
    main()
