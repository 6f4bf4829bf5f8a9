"""Province maps for the reporting center: the 34 provinces (from 1 July 2025) or the 63 before, read
from the TopoJSON files in app/data/maps (Vietnam-Shape-Map, MIT; boundaries from Open Development
Vietnam), drawn server-side as SVG — text kept as text, each province a link, a legend, "no data"
shown as such, the attribution line, and the Hoàng Sa and Trường Sa archipelagos named as on every
official map. Class breaks come from mapclassify (Fisher–Jenks natural breaks).

Shapes are decoded, projected and simplified once per process (to about half a pixel at the width
drawn); a map is then one pass of string building."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

DATA = Path(__file__).resolve().parent.parent / "data" / "maps"
WIDTH, HEIGHT = 560, 760  # the drawing (the legend and notes sit on its right, over the sea)
BOUNDS = (101.9, 7.3, 117.9, 23.6)  # lon, lat: the mainland, the islands, Hoàng Sa and Trường Sa
ATTRIBUTION = "Ranh giới: Open Development Vietnam, Vietnam-Shape-Map (MIT). Bản đồ minh họa số liệu, không dùng để đo đạc."
PALETTE = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # ColorBrewer Blues, light to dark
NO_DATA = "#f0f0f0"
ARCHIPELAGOS = (("Quần đảo Hoàng Sa", "(Đà Nẵng)", 112.0, 17.9), ("Quần đảo Trường Sa", "(Khánh Hòa)", 114.6, 12.6))


@dataclass(frozen=True)
class Shape:
    code: str  # baocao's agency code: T01 (from 2025), T01-63 (before)
    name: str
    path: str  # SVG path data in drawing coordinates
    label_at: tuple[float, float]
    rings: tuple[tuple[tuple[float, float], ...], ...]  # simplified lon/lat rings (GeoJSON)


def _project(lon: float, lat: float) -> tuple[float, float]:
    x0, y0, x1, y1 = BOUNDS
    k = math.cos(math.radians((y0 + y1) / 2))
    sx = WIDTH / ((x1 - x0) * k)
    sy = HEIGHT / (y1 - y0)
    s = min(sx, sy)
    return (lon - x0) * k * s, (y1 - lat) * s


def _decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    (kx, ky), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * kx + tx, y * ky + ty))
        out.append(points)
    return out


def _ring(arcs: list, indices: list[int]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indices:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(points if not ring else points[1:])
    return ring


def _simplify(ring: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Drop points within `tolerance` (drawing units) of the last kept one."""
    kept = [ring[0]]
    for p in ring[1:-1]:
        q = kept[-1]
        if abs(p[0] - q[0]) + abs(p[1] - q[1]) >= tolerance:
            kept.append(p)
    kept.append(ring[-1])
    return kept


@lru_cache(maxsize=2)
def shapes(edition: str = "2025") -> tuple[Shape, ...]:
    """The provinces of an edition: "2025" (34) or "pre2025" (63)."""
    topo = json.loads((DATA / f"provinces_{edition}.topojson").read_text(encoding="utf-8"))
    arcs = _decode_arcs(topo)
    out = []
    for geom in topo["objects"]["provinces"]["geometries"]:
        polygons = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        parts, rings, biggest = [], [], (0.0, (0.0, 0.0))
        for polygon in polygons:
            for n, indices in enumerate(polygon):
                ring = _ring(arcs, indices)
                drawn = _simplify([_project(lon, lat) for lon, lat in ring], 0.6)
                if len(drawn) < 4 and n == 0:
                    drawn = [_project(lon, lat) for lon, lat in ring]  # a small island keeps its shape
                if len(drawn) < 3:
                    continue
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in drawn) + "Z")
                rings.append(tuple((round(lon, 4), round(lat, 4)) for lon, lat in _simplify(ring, 0.01)))
                xs, ys = [p[0] for p in drawn], [p[1] for p in drawn]
                area = (max(xs) - min(xs)) * (max(ys) - min(ys))
                if n == 0 and area > biggest[0]:
                    biggest = (area, ((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2))
        official = geom["properties"]["code"]
        code = f"T{official}" if edition == "2025" else f"T{official}-63"
        out.append(Shape(code, geom["properties"]["name"], "".join(parts), biggest[1], tuple(rings)))
    return tuple(out)


def edition_for(period_end, as_reported: bool) -> str:
    from datetime import date

    return "pre2025" if as_reported and period_end < date(2025, 7, 1) else "2025"


def breaks(values: list[Decimal], k: int = 5) -> list[Decimal]:
    """Upper bounds of up to k classes (Fisher–Jenks natural breaks, mapclassify)."""
    import warnings

    import numpy as np

    distinct = sorted(set(values))
    if not distinct:
        return []
    if len(distinct) <= k:
        return distinct
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed": 34 values need no JIT
        import mapclassify

        bins = mapclassify.FisherJenks(np.array([float(v) for v in values]), k=k).bins
    return [Decimal(str(b)) for b in bins]


def _class(value: Decimal, bounds: list[Decimal]) -> int:
    for i, b in enumerate(bounds):
        if value <= b:
            return i
    return len(bounds) - 1


def choropleth(edition: str, values: Mapping[str, Decimal | None], *, title: str, unit: str, fmt: Callable[[Decimal], str],
               link: Callable[[str], str] | None = None, no_data: str = "Không có số liệu") -> str:
    """The SVG of the map: each province coloured by its class, a link to its page, its name and
    value as a tooltip; the legend, the archipelagos' names and the attribution as text."""
    provinces = shapes(edition)
    known = [v for p in provinces if (v := values.get(p.code)) is not None]
    bounds = breaks(known)
    colours = PALETTE if len(bounds) >= len(PALETTE) else PALETTE[-len(bounds):] if bounds else ()
    width = WIDTH + 250
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT + 40}" width="{width}" height="{HEIGHT + 40}" '
           # a picture when it only shows; a group when its provinces are links (an "img" hides them from screen readers)
           f'role="{"group" if link else "img"}" aria-labelledby="map-title" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" data-testid="map">',
           f'<title id="map-title">{escape(title)}</title>', f'<rect width="{width}" height="{HEIGHT + 40}" fill="#f8fbff"/>']
    for p in provinces:
        v = values.get(p.code)
        fill = colours[_class(v, bounds)] if v is not None and colours else NO_DATA
        said = f"{p.name}: {fmt(v)} {unit}" if v is not None else f"{p.name}: {no_data}"
        shape = (f'<path d="{p.path}" fill="{fill}" stroke="#4a5568" stroke-width="0.5" data-code="{p.code}" '
                 f'data-value="{"" if v is None else v}"><title>{escape(said)}</title></path>')
        out.append(f'<a href="{escape(link(p.code))}" aria-label="{escape(said)}">{shape}</a>' if link else shape)
    for name, owner, lon, lat in ARCHIPELAGOS:
        x, y = _project(lon, lat)
        out.append(f'<text x="{x:.0f}" y="{y:.0f}" font-size="11" fill="#1a365d" text-anchor="middle">{escape(name)}</text>'
                   f'<text x="{x:.0f}" y="{y + 13:.0f}" font-size="10" fill="#4a5568" text-anchor="middle">{escape(owner)}</text>')
    lx, ly = WIDTH + 10, 40
    out.append(f'<text x="{lx}" y="{ly}" font-size="13" font-weight="bold" fill="#1a202c">{escape(unit)}</text>')
    lower = min(known) if known else None
    for i, b in enumerate(bounds):
        y = ly + 14 + i * 24
        start = lower if i == 0 else bounds[i - 1]
        label = f"{fmt(start)} – {fmt(b)}" if start is not None and start != b else fmt(b)
        out.append(f'<rect x="{lx}" y="{y}" width="18" height="16" fill="{colours[i]}" stroke="#4a5568" stroke-width="0.5"/>'
                   f'<text x="{lx + 26}" y="{y + 12}" font-size="12" fill="#1a202c">{escape(label)}</text>')
    y = ly + 14 + len(bounds) * 24
    out.append(f'<rect x="{lx}" y="{y}" width="18" height="16" fill="{NO_DATA}" stroke="#4a5568" stroke-width="0.5"/>'
               f'<text x="{lx + 26}" y="{y + 12}" font-size="12" fill="#1a202c">{escape(no_data)}</text>')
    out.append(f'<text x="8" y="{HEIGHT + 28}" font-size="10" fill="#4a5568">{escape(ATTRIBUTION)}</text></svg>')
    return "".join(out)


def features(edition: str, values: Mapping[str, Decimal | None], extra: Mapping[str, dict] | None = None) -> dict:
    """The provinces as a GeoJSON FeatureCollection (simplified outlines) with their figures."""
    out = []
    for p in shapes(edition):
        v = values.get(p.code)
        props = {"code": p.code, "name": p.name, "value": None if v is None else format(v, "f"), **((extra or {}).get(p.code, {}))}
        out.append({"type": "Feature", "properties": props,
                    "geometry": {"type": "MultiPolygon", "coordinates": [[list(map(list, ring))] for ring in p.rings]}})
    return {"type": "FeatureCollection", "features": out}
