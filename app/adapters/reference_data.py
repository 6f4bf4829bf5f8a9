"""Reference data for the agency map: the shared CSV files and the vietnam-provinces package."""
from __future__ import annotations

import csv

from app.config import ROOT

DATA_DIR = ROOT.parent / "shared" / "data"
BUNDLED_DIR = ROOT / "app" / "data"  # copies shipped with the app, used when shared/ is absent


def read_csv(name: str) -> list[dict[str, str]]:
    for folder in (BUNDLED_DIR, DATA_DIR):
        path = folder / name
        if path.exists():
            with path.open(encoding="utf-8", newline="") as fh:
                return list(csv.DictReader(fh))
    raise FileNotFoundError(f"reference file {name} not found in {BUNDLED_DIR} or {DATA_DIR}")


def communes() -> list[dict[str, str]]:
    """The 3,321 communes after 1 Jul 2025: code, name, kind (xã/phường/đặc khu), province code."""
    from vietnam_provinces import Ward

    return [
        {"code": f"{w.code.value:05d}", "name": w.name, "kind": w.division_type.value,
         "province": f"{w.province_code.value:02d}"}
        for w in Ward.iter_all()
    ]


def provinces_2025() -> list[dict[str, str]]:
    from vietnam_provinces import Province

    return [{"code": f"{p.code.value:02d}", "name": p.name, "kind": p.division_type.value} for p in Province.iter_all()]


# Typical provincial departments after 2025 (../shared/data/README.md), for the demo map.
DEPARTMENTS = [
    ("VP", "Văn phòng Ủy ban nhân dân"),
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("STC", "Sở Tài chính"),
    ("SCT", "Sở Công Thương"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SXD", "Sở Xây dựng"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("TTR", "Thanh tra tỉnh"),
]

# Electronic identifier codes (Decision 20/2020/QĐ-TTg) known for certain.
EDOC_CODES = {"VPCP": "000.00.00.G22"}


