"""Demo data: one account per role, with documented passwords (README, docs/operations.md)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User

from .users import create_user

DEMO_PASSWORD = "baocao-demo-2026"
DEMO_USERS = [
    # username, full name, role, agency
    ("canbo.sct", "Nguyễn Thị Lan", "reporter", "T01.SCT"),
    ("pheduyet.hn", "Trần Văn Minh", "approver", "T01"),
    ("pheduyet.bct", "Đỗ Thị Thanh", "approver", "BCT"),  # receives the provinces' compiled reports
    ("thietke.bct", "Lê Thu Hà", "designer", "BCT"),
    ("phantich.vpcp", "Phạm Quốc Huy", "analyst", "VPCP"),
    ("quantri", "Hoàng Đức Anh", "admin", "CP"),
]


def seed_demo() -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames created."""
    created = []
    for username, full_name, role, agency in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            continue
        create_user(username=username, password=DEMO_PASSWORD, full_name=full_name, role=role,
                    agency_code=agency, email=f"{username}@baocao.local", commit=False)
        created.append(username)
    db.session.commit()
    return created
