"""Backups: the database (pg_dump custom format on PostgreSQL; SQLite's online backup API) and the
generated files in the instance directory, with a manifest of row counts and checksums; restore
into an EMPTY database and check that every table has the rows the manifest says.

Not in the backup: SECRET_KEY (it unlocks the agencies' sealing keys) — keep it in the secret
store, apart from the backups (docs/operations.md).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

DB_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite"}
SKIP_FILES = {"secret_key", "baocao.sqlite", "baocao.sqlite-wal", "baocao.sqlite-shm"}


class BackupError(RuntimeError):
    """Says what went wrong and what to do."""


@dataclass
class Manifest:
    created_at: str
    dialect: str
    schema_revision: str
    tables: dict[str, int]
    files: list[str]
    checksums: dict[str, str]


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def row_counts(url: str) -> tuple[str, dict[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            counts = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if "alembic_version" in names else ""
    finally:
        engine.dispose()
    return revision or "", counts


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def create(*, url: str, instance: Path, out: Path, progress=lambda step: None) -> Path:
    """Write a backup directory under `out`; returns its path."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out / f"baocao-backup-{stamp}"
    target.mkdir(parents=True, exist_ok=False)
    progress("database")
    db_file = target / DB_FILES[dialect]
    if dialect == "postgresql":
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(db_file), _libpq(url)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump thất bại: {done.stderr.strip()}")
    else:
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(db_file)
        with copy:
            source.backup(copy)  # consistent even while the app writes
        source.close()
        copy.close()
    progress("files")
    files = sorted(p for p in instance.rglob("*") if p.is_file() and p.name not in SKIP_FILES
                   and "baocao-backup-" not in str(p.relative_to(instance)))
    with tarfile.open(target / "files.tar.gz", "w:gz") as tar:
        for p in files:
            tar.add(p, arcname=str(p.relative_to(instance)))
    progress("manifest")
    revision, counts = row_counts(url)
    manifest = Manifest(created_at=datetime.now(UTC).isoformat(), dialect=dialect, schema_revision=revision, tables=counts,
                        files=[str(p.relative_to(instance)) for p in files],
                        checksums={name: _sha256(target / name) for name in (DB_FILES[dialect], "files.tar.gz")})
    (target / "manifest.json").write_text(json.dumps(manifest.__dict__, ensure_ascii=False, indent=2))
    return target


def read_manifest(backup: Path) -> Manifest:
    try:
        return Manifest(**json.loads((backup / "manifest.json").read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{backup} không phải bản sao lưu của baocao (thiếu hoặc hỏng manifest.json): {exc}") from None


def restore(*, backup: Path, url: str, instance: Path, progress=lambda step: None) -> dict[str, tuple[int, int]]:
    """Restore into an empty database and the instance directory. Returns {table: (expected, restored)};
    raises BackupError if the target is not empty, a checksum differs or a table's count differs."""
    manifest = read_manifest(backup)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    if dialect != manifest.dialect:
        raise BackupError(f"bản sao lưu là {manifest.dialect}, cơ sở dữ liệu đích là {dialect}")
    for name, digest in manifest.checksums.items():
        if _sha256(backup / name) != digest:
            raise BackupError(f"{name} không khớp mã kiểm tra trong manifest.json: tệp hỏng hoặc bị sửa")
    _revision, existing = row_counts(url) if dialect == "postgresql" or _sqlite_path(url).exists() else ("", {})
    if any(existing.values()) or (existing and "alembic_version" in existing):
        raise BackupError("cơ sở dữ liệu đích không trống: khôi phục chỉ vào một cơ sở dữ liệu mới, trống")
    progress("database")
    if dialect == "postgresql":
        done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", _libpq(url),
                               str(backup / DB_FILES[dialect])], capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore thất bại: {done.stderr.strip()}")
    else:
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup / DB_FILES[dialect], path)
    progress("files")
    instance.mkdir(parents=True, exist_ok=True)
    with tarfile.open(backup / "files.tar.gz", "r:gz") as tar:
        tar.extractall(instance, filter="data")  # no absolute paths, no links out of the directory
    progress("check")
    _revision, restored = row_counts(url)
    report = {t: (n, restored.get(t, -1)) for t, n in manifest.tables.items()}
    wrong = {t: v for t, v in report.items() if v[0] != v[1]}
    if wrong:
        raise BackupError("số dòng sau khi khôi phục khác bản sao lưu: " + ", ".join(f"{t} {a}≠{b}" for t, (a, b) in wrong.items()))
    missing = [f for f in manifest.files if not (instance / f).is_file()]
    if missing:
        raise BackupError(f"thiếu tệp sau khi khôi phục: {', '.join(missing[:5])}")
    os.sync()
    return report
