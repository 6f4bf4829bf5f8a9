"""Paging for list pages."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy import func, select

from app.extensions import db


@dataclass
class Page:
    items: list
    page: int
    pages: int
    total: int

    def url_args(self, page: int) -> dict:
        args = request.args.to_dict()
        args["page"] = page
        return args


def paginate(stmt) -> Page:
    per_page = current_app.config["PAGE_SIZE"]
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, pages, total)
