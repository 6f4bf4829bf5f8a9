"""One page of any query, shared by the web lists and the API."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db


def fetch_page(stmt, *, page: int, per_page: int) -> tuple[list, int]:
    """(the rows of page `page`, the total number of rows)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return items, total
