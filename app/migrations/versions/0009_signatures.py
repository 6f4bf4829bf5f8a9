"""digital signatures: certificates linked to agencies, signed PDFs of submitted versions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agency_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('serial', sa.String(length=80), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('keystore', sa.String(length=255), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_agency_certificates_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_certificates')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_agency_certificates_fingerprint'))
    )
    with op.batch_alter_table('agency_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_certificates_agency_id'), ['agency_id'], unique=False)
    op.create_table('signed_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('signer_subject', sa.String(length=500), nullable=False),
    sa.Column('signer_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('certificate_serial', sa.String(length=80), nullable=False),
    sa.Column('certificate_issuer', sa.String(length=255), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_signed_documents_signed_by_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['submission_versions.id'], name=op.f('fk_signed_documents_version_id_submission_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signed_documents')),
    sa.UniqueConstraint('version_id', name=op.f('uq_signed_documents_version_id'))
    )
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signed_documents_signer_fingerprint'), ['signer_fingerprint'], unique=False)
    op.create_table('pending_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('certificate', sa.LargeBinary(), nullable=False),
    sa.Column('chain', sa.LargeBinary(), nullable=False),
    sa.Column('prepared_pdf', sa.LargeBinary(), nullable=False),
    sa.Column('document_digest', sa.LargeBinary(), nullable=False),
    sa.Column('region_start', sa.Integer(), nullable=False),
    sa.Column('region_end', sa.Integer(), nullable=False),
    sa.Column('signed_attrs', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_pending_signatures_created_by_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['submission_versions.id'], name=op.f('fk_pending_signatures_version_id_submission_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_signatures'))
    )
    with op.batch_alter_table('pending_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_signatures_version_id'), ['version_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_signatures_version_id'))
    op.drop_table('pending_signatures')
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signed_documents_signer_fingerprint'))
    op.drop_table('signed_documents')
    with op.batch_alter_table('agency_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_certificates_agency_id'))
    op.drop_table('agency_certificates')
