"""The reporting center's map: time to draw the choropleth SVG of one indicator by province (34
provinces, and the 63 before 2025), cold (first map in a process: decoding the TopoJSON, importing
mapclassify) and warm. Prints figures; target: < 200 ms warm.

    .venv/bin/python scripts/bench_map.py
"""
from __future__ import annotations

import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    t = time.perf_counter()
    from app.adapters import maps

    for edition in ("2025", "pre2025"):
        t = time.perf_counter()
        provinces = maps.shapes(edition)
        decode = time.perf_counter() - t
        values = {p.code: Decimal(i * 37 % 1000) for i, p in enumerate(provinces) if i % 7}
        times, svg = [], ""
        for _ in range(21):
            t = time.perf_counter()
            svg = maps.choropleth(edition, values, title="Doanh thu", unit="tỷ đồng", fmt=str, link=lambda c: f"/center/X/P?unit={c}")
            times.append(time.perf_counter() - t)
        print(f"{edition}: {len(provinces)} provinces, decode {decode * 1000:.0f} ms once; first map {times[0] * 1000:.0f} ms"
              f"{' (imports mapclassify)' if edition == '2025' else ''}, then median {statistics.median(times[1:]) * 1000:.1f} ms; SVG {len(svg) // 1024} KB")


if __name__ == "__main__":
    main()
