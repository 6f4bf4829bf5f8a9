"""The migrations are the schema; shipped copies of data stay equal to their sources."""
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_have_a_single_head(app):
    script = ScriptDirectory(str(ROOT / "app" / "migrations"))
    assert len(script.get_heads()) == 1


def test_the_migrated_schema_matches_the_models(app):
    def ours(name, type_, parent):  # procrastinate's and APScheduler's own tables are theirs (app/migrations/env.py)
        return not (type_ == "table" and (name == "apscheduler_jobs" or name.startswith("procrastinate_")))

    context = MigrationContext.configure(db.session.connection(), opts={"include_name": ours})  # the test's own connection
    diff = compare_metadata(context, db.metadata)
    assert diff == [], "models changed without a migration: flask db migrate -d app/migrations"


@pytest.mark.parametrize("name", ["provinces_2025.csv", "provinces_pre2025.csv", "province_lineage_2025.csv",
                                  "ministries_2025.csv", "ministry_lineage_2025.csv"])
def test_bundled_reference_data_equals_the_shared_source(name):
    shared = ROOT.parent / "shared" / "data" / name
    if not shared.exists():
        pytest.skip("../shared/data is not beside this checkout")
    assert (ROOT / "app" / "data" / name).read_bytes() == shared.read_bytes()


def test_compiled_english_catalog_is_up_to_date():
    base = ROOT / "app" / "translations" / "en" / "LC_MESSAGES"
    with open(base / "messages.po", "rb") as po, open(base / "messages.mo", "rb") as mo:
        source = {m.id: m.string for m in read_po(po) if m.id}
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    assert source == compiled, "run: pybabel compile -d app/translations"
    assert all(source.values()), "untranslated messages in messages.po"
