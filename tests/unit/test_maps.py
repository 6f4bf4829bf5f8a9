"""The province map: every province drawn, the archipelagos named, classes from natural breaks,
no data shown as such, text kept as text, links to drill down."""
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from app.adapters import maps


def test_both_editions_hold_every_province_with_baocao_codes():
    now, before = maps.shapes("2025"), maps.shapes("pre2025")
    assert len(now) == 34 and len(before) == 63
    assert {"T01", "T48", "T56", "T79"} <= {s.code for s in now} and "T10-63" in {s.code for s in before}
    assert all(s.path.startswith("M") for s in now)


def test_the_map_shows_classes_no_data_the_archipelagos_and_the_attribution():
    values = {"T01": Decimal(900), "T79": Decimal(1000), "T48": Decimal(120), "T56": Decimal(100), "T04": Decimal(10),
              "T08": Decimal(15), "T11": Decimal(400)}
    svg = maps.choropleth("2025", values, title="Doanh thu — Tháng 10/2026", unit="tỷ đồng", fmt=lambda v: f"{v:,.0f}".replace(",", "."),
                          link=lambda code: f"/center/X/2026-M10?unit={code}")
    root = ET.fromstring(svg)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    paths = root.iter(f"{ns}path")
    fills = {p.get("data-code"): p.get("fill") for p in paths}
    assert len(fills) == 34 and fills["T12"] == maps.NO_DATA  # a province without a figure is "no data", not the lightest class
    rank = {code: maps.PALETTE.index(fill) for code, fill in fills.items() if fill != maps.NO_DATA}
    ordered = sorted(values, key=values.get)
    assert [rank[c] for c in ordered] == sorted(rank[c] for c in ordered)  # darker never means less
    assert rank["T04"] == 0 and rank["T79"] == len(maps.PALETTE) - 1
    texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "Quần đảo Hoàng Sa" in texts and "Quần đảo Trường Sa" in texts and "Không có số liệu" in texts
    assert "Open Development Vietnam" in texts and "1.000" in texts  # the legend's figures in Vietnamese
    links = [a.get("href") for a in root.iter(f"{ns}a")]
    assert "/center/X/2026-M10?unit=T01" in links and len(links) == 34
    assert re.search(r"<title>Thành phố Hà Nội: 900 tỷ đồng</title>", svg)


def test_breaks_with_few_values_are_the_values_themselves():
    assert maps.breaks([Decimal(1), Decimal(1), Decimal(2)]) == [Decimal(1), Decimal(2)]
    assert maps.breaks([]) == []
    assert len(maps.breaks([Decimal(i) for i in range(40)])) == 5


def test_geojson_features_carry_the_figures():
    fc = maps.features("2025", {"T01": Decimal("12.5")})
    hanoi = next(f for f in fc["features"] if f["properties"]["code"] == "T01")
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 34 and hanoi["properties"]["value"] == "12.5"
    lon, lat = hanoi["geometry"]["coordinates"][0][0][0]
    assert 105 < lon < 106.5 and 20.5 < lat < 21.5
