"""Cost curves: the reporting-center benchmark (scripts/bench_aggregate.py) at 1, 3, 10 and 30
million values on PostgreSQL, each on a fresh database, plotted as docs/performance-curves.svg.

    PGURL=postgresql+psycopg://postgres@127.0.0.1:5432 .venv/bin/python scripts/bench_curves.py
    .venv/bin/python scripts/bench_curves.py --scales 0.1 0.3          # 1 and 3 million only
    .venv/bin/python scripts/bench_curves.py --plot-only                # redraw from docs/performance-curves.json

Shows what grows with the data and what stays flat: national view and province view (computed by
their first reader, and kept for the next), trend, one approval (with its roll-up), rebuild (from
nothing, and over unchanged data), SDMX export of everything.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "performance-curves.json"
SVG = ROOT / "docs" / "performance-curves.svg"
SERIES = [("national_ms", "Toàn quốc, tính mới (ms)"), ("national_kept_ms", "Toàn quốc, đã lưu (ms)"),
          ("trend_ms", "Diễn biến 1 chỉ tiêu (ms)"), ("province_ms", "Một tỉnh, tính mới (ms)"),
          ("province_kept_ms", "Một tỉnh, đã lưu (ms)"), ("approval_ms", "Một lần duyệt (ms)"),
          ("rebuild_s", "Tính lại từ đầu (s)"), ("rebuild_unchanged_s", "Tính lại, không đổi (s)"),
          ("sdmx_s", "Xuất SDMX toàn bộ (s)")]


def run(scale: float, base: str) -> dict:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_curve_{uuid.uuid4().hex[:6]}"
    admin = make_url(base).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        out = Path(f"/tmp/{name}.json")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_aggregate.py"), "--scale", str(scale), "--json", str(out),
                        "--no-outliers"], env={**os.environ, "DATABASE_URL": url}, check=True, cwd=ROOT)
        return json.loads(out.read_text())
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plot(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({"svg.fonttype": "none", "font.family": ["DejaVu Sans"], "svg.hashsalt": "baocao"})
    xs = [r["values"] / 1e6 for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in SERIES:
        ax = axes[1] if key.endswith("_s") else axes[0]
        ys = [r.get(key) for r in results]
        ax.plot(xs, ys, marker="o", label=label)
    for ax, title in zip(axes, ("Trang và thao tác (ms)", "Việc toàn bộ dữ liệu (giây)"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Số giá trị đã lưu (triệu)")
        ax.set_title(title, loc="left")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle("baocao — chi phí theo quy mô dữ liệu (PostgreSQL 15, 2 lõi)", fontsize=11)
    fig.tight_layout()
    fig.savefig(SVG, format="svg", metadata={"Date": None})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", type=float, nargs="*", default=[0.1, 0.3, 1.0, 3.0])
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    if not args.plot_only:
        base = os.environ.get("PGURL") or os.environ["DATABASE_URL"]
        results = []
        for scale in args.scales:
            results.append(run(scale, base))
            OUT.write_text(json.dumps(results, indent=1), encoding="utf-8")
            print(json.dumps(results[-1]))
    results = json.loads(OUT.read_text(encoding="utf-8"))
    plot(results)
    print(f"{'values':>12} " + " ".join(f"{k:>14}" for k, _ in SERIES))
    for r in results:
        print(f"{r['values']:>12,} " + " ".join(f"{r.get(k) if r.get(k) is not None else float('nan'):>14.1f}" for k, _ in SERIES))
    print(f"→ {SVG}")


if __name__ == "__main__":
    main()
