"""Backup and restore, as the operator runs them (`flask backup create`, `flask backup restore`):
restored into an empty database (and an empty instance directory) the data is all there — every
table's rows, the generated PDF, sealed reports that still verify — and a restore refuses a
database that is not empty or a backup whose files were damaged."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import User
from app.services import backup as backup_svc
from app.services import decisions as decisions_svc
from app.services import exports
from app.services import listings as listings_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services.seed import DEMO_PASSWORD
from tests.conftest import _test_config, prepare_database
from tests.helpers import own_database, retail_values

ROOT = Path(__file__).resolve().parents[2]
SECRET = "backup-test-secret-0123456789"


def flask(*args, url: str, instance: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "BAOCAO_INSTANCE": str(instance), "SECRET_KEY": SECRET}
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def test_backup_then_restore_into_an_empty_database_has_everything(tmp_path):
    source, source_files = own_database(tmp_path, "baocao_backup_src"), tmp_path / "instance-src"
    app = create_app({**_test_config(source, source_files), "SECRET_KEY": SECRET})
    prepare_database(app)
    with app.app_context():  # a sealed, approved report and the consolidated PDF generated from it
        report = svc.open_report(user=user("canbo.sct"), regime_code="BCT-BANLE", agency_code="T01.SCT",
                                 period_key="2026-M12", for_write=True)
        sub = svc.save(user=user("canbo.sct"), report=report, raw={(k, ""): (str(v), False, "") for k, v in retail_values().items()},
                       outline={}, revision=None).submission
        sending_svc.submit(user=user("canbo.sct"), submission_id=sub.id)
        decisions_svc.approve(user=user("pheduyet.hn"), submission_id=sub.id)
        sid = sub.id
        exports.pdf(user=user("phantich.vpcp"), regime="BCT-BANLE", period="2026-M12", agency="T01")
        db.session.remove()
        db.engine.dispose()
    pdfs = sorted(p.relative_to(source_files) for p in (source_files / "exports").rglob("*.pdf"))
    assert pdfs, "the PDF cache should hold the generated report"

    made = flask("backup", "create", "--out", str(tmp_path / "backups"), url=source, instance=source_files)
    assert made.returncode == 0, made.stderr
    backup = next((tmp_path / "backups").iterdir())
    assert "Đã sao lưu" in made.stdout

    target, target_files = own_database(tmp_path, "baocao_backup_dst"), tmp_path / "instance-dst"
    restored = flask("backup", "restore", str(backup), url=target, instance=target_files)
    assert restored.returncode == 0, restored.stderr
    assert "khớp bản sao lưu" in restored.stdout

    _, before = backup_svc.row_counts(source)
    _, after = backup_svc.row_counts(target)
    assert after == before and after["submission_values"] > 0 and after["agencies"] > 3000 and after["audit_log"] > 0
    for rel in pdfs:
        assert (target_files / rel).read_bytes() == (source_files / rel).read_bytes()
    copy = create_app({**_test_config(target, target_files), "SECRET_KEY": SECRET})
    with copy.app_context():
        assert listings_svc.verify(user=user("pheduyet.hn"), submission_id=sid).ok  # seals still verify on the restored data
        client = copy.test_client()
        assert client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD}).status_code == 302
        page = client.get(f"/submissions/{sid}")
        assert page.status_code == 200 and "Đã duyệt" in page.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()

    again = flask("backup", "restore", str(backup), url=target, instance=target_files)
    assert again.returncode == 1 and "không trống" in again.stderr  # never over existing data

    dump = next(p for p in backup.iterdir() if p.name.startswith("database."))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    damaged = flask("backup", "restore", str(backup), url=own_database(tmp_path, "baocao_backup_dmg"), instance=tmp_path / "x")
    assert damaged.returncode == 1 and "không khớp mã kiểm tra" in damaged.stderr
