"""Helpers shared by API resources: paging envelopes and the period rows."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.services.catalogue import CalendarRow
from app.services.paging import fetch_page

from .schemas import PeriodSchema


def page_of(stmt, page: int, per_page: int) -> dict:
    items, total = fetch_page(stmt, page=page, per_page=per_page)
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def envelope(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(), "page": fields.Integer(), "per_page": fields.Integer(),
    }, name=name)


def period_payload(row: CalendarRow, tiers, receivers: list[str] | None = None) -> dict:
    deadlines = [
        {"tier": i + 1, "tier_name": t.name, "receiver": t.receiver, "nominal": d.nominal,
         "deadline": d.at.isoformat(), "moved": d.moved, "moved_because": d.moved_because}
        for i, (t, d) in enumerate(zip(tiers, row.deadlines, strict=True))
    ]
    first = deadlines[0] if deadlines else {}
    return {"key": row.period.key, "label": row.period.label_vi, "cutoff_start": row.cutoff_start,
            "cutoff_end": row.cutoff_end, "deadline": first.get("deadline"), "moved": first.get("moved", False),
            "moved_because": first.get("moved_because"), "deadlines": deadlines}


PeriodList = Schema.from_dict({"items": fields.List(fields.Nested(PeriodSchema))}, name="PeriodList")
