"""The reporting center's map: a choropleth of one indicator by province (app/adapters/maps.py),
as SVG for the page and the PDF, and as GeoJSON for the API."""
from __future__ import annotations

from .center import View


def map_of(v: View, indicator: str = "") -> tuple[str, dict]:
    """(edition, province code → value) for a choropleth of the view's children: the 63 old
    provinces for a period before 1 July 2025 shown as reported, else today's 34."""
    from app.adapters import maps

    ind = indicator if indicator in v.definition.indicator_codes else (v.rows[0].indicator.code if v.rows else "")
    edition = maps.edition_for(v.period.cutoff(v.definition.cutoff)[1], v.units == "as_reported")
    return edition, {c.code: c.values.get(ind) for c in v.children}


def map_svg(v: View, indicator: str = "", link=None) -> str:
    from app.adapters import maps
    from app.domain.numbers import format_vn

    ind = v.catalogue.indicators.get(indicator) or (v.rows[0].indicator if v.rows else None)
    if ind is None:
        return ""
    edition, values = map_of(v, ind.code)
    places = 1 if ind.aggregation in ("ratio", "average") else 0
    return maps.choropleth(edition, values, title=f"{ind.name_vi} — {v.period.label_vi}", unit=ind.unit,
                           fmt=lambda x: format_vn(x, places), link=link)
