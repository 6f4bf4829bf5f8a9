"""Vietnamese alphabetical order and diacritic-blind search: agencies.sort_name, search_text on
agencies, regimes, indicators (filled from the names with ICU)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    from app.adapters.collation import fold, sort_key

    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('sort_name', sa.String(length=1500), nullable=False, server_default=''))
        batch.add_column(sa.Column('search_text', sa.String(length=400), nullable=False, server_default=''))
        batch.create_index('ix_agencies_sort_name', ['sort_name'])
    for table in ('regimes', 'indicators'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name, code, official_code FROM agencies")).all()
    if rows:
        conn.execute(sa.text("UPDATE agencies SET sort_name = :s, search_text = :t WHERE id = :i"),
                     [{"i": i, "s": sort_key(n), "t": fold(f"{n} {c} {o or ''}")[:400]} for i, n, c, o in rows])
    rows = conn.execute(sa.text("SELECT id, code, name_vi, name_en, legal_basis FROM regimes")).all()
    if rows:
        conn.execute(sa.text("UPDATE regimes SET search_text = :t WHERE id = :i"),
                     [{"i": r[0], "t": fold(" ".join(filter(None, r[1:])))} for r in rows])
    rows = conn.execute(sa.text("SELECT id, code, name_vi, name_en FROM indicators")).all()
    if rows:
        conn.execute(sa.text("UPDATE indicators SET search_text = :t WHERE id = :i"),
                     [{"i": r[0], "t": fold(" ".join(filter(None, r[1:])))} for r in rows])


def downgrade():
    for table in ('regimes', 'indicators'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('search_text')
    with op.batch_alter_table('agencies') as batch:
        batch.drop_index('ix_agencies_sort_name')
        batch.drop_column('search_text')
        batch.drop_column('sort_name')
