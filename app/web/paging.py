"""Paging for list pages."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from app.services.paging import fetch_page


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
    items, total = fetch_page(stmt, page=page, per_page=per_page)
    pages = max(1, -(-total // per_page))
    if page > pages:  # past the end: show the last page rather than an empty one
        page = pages
        items, total = fetch_page(stmt, page=page, per_page=per_page)
    return Page(items, page, pages, total)
