"""compiled reports: what each version was compiled from; system columns frozen at sealing

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compilation', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('sealed_system', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('submission_versions', schema=None) as batch_op:
        batch_op.drop_column('sealed_system')
        batch_op.drop_column('compilation')
