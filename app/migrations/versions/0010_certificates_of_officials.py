"""users choose mail notices; certificates linked to officials' accounts, the PAdES level of each signed PDF, expiry warnings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('mail_notices', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('agency_certificates') as batch:
        batch.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('expiry_warned_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_agency_certificates_user_id', ['user_id'])
        batch.create_foreign_key('fk_agency_certificates_user_id_users', 'users', ['user_id'], ['id'])
    with op.batch_alter_table('signed_documents') as batch:
        batch.add_column(sa.Column('level', sa.String(length=8), nullable=False, server_default='B-B'))


def downgrade():
    with op.batch_alter_table('signed_documents') as batch:
        batch.drop_column('level')
    with op.batch_alter_table('agency_certificates') as batch:
        batch.drop_constraint('fk_agency_certificates_user_id_users', type_='foreignkey')
        batch.drop_index('ix_agency_certificates_user_id')
        batch.drop_column('expiry_warned_at')
        batch.drop_column('user_id')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('mail_notices')
