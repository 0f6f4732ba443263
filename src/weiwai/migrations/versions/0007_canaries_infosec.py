"""canary records and agency information-security reviews

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 14:50:00
"""
from alembic import op
import sqlalchemy as sa
import weiwai.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handover_packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('canary_count', sa.Integer(), server_default='0', nullable=False))

    op.create_table('canary_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('national_id_enc', sa.LargeBinary(), nullable=False),
    sa.Column('national_id_bidx', sa.String(length=64), nullable=False),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=False),
    sa.Column('phone_bidx', sa.String(length=64), nullable=False),
    sa.Column('contact_phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('contact_phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('address_enc', sa.LargeBinary(), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('product', sa.String(length=40), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal_outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest_outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('fee_outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('penalty_outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('dpd', sa.Integer(), nullable=False),
    sa.Column('mobile_ref', sa.String(length=20), nullable=True),
    sa.Column('contact_phone_ref', sa.String(length=20), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_canary_records_agency_id_agencies')),
    sa.ForeignKeyConstraint(['package_id'], ['handover_packages.id'], name=op.f('fk_canary_records_package_id_handover_packages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canary_records')),
    sa.UniqueConstraint('account_no', name=op.f('uq_canary_records_account_no')),
    sa.UniqueConstraint('case_no', name=op.f('uq_canary_records_case_no')),
    sa.UniqueConstraint('mobile_ref', name=op.f('uq_canary_records_mobile_ref')),
    sa.UniqueConstraint('contact_phone_ref', name=op.f('uq_canary_records_contact_phone_ref'))
    )
    with op.batch_alter_table('canary_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canary_records_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_canary_records_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_canary_records_national_id_bidx'), ['national_id_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_canary_records_phone_bidx'), ['phone_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_canary_records_contact_phone_bidx'), ['contact_phone_bidx'], unique=False)

    op.create_table('canary_sightings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canary_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_agency_id', sa.Integer(), nullable=True),
    sa.Column('leak_suspected', sa.Boolean(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('seen_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_agency_id'], ['agencies.id'], name=op.f('fk_canary_sightings_actor_agency_id_agencies')),
    sa.ForeignKeyConstraint(['canary_id'], ['canary_records.id'], name=op.f('fk_canary_sightings_canary_id_canary_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canary_sightings'))
    )
    with op.batch_alter_table('canary_sightings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canary_sightings_actor_agency_id'), ['actor_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_canary_sightings_canary_id'), ['canary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_canary_sightings_seen_at'), ['seen_at'], unique=False)

    op.create_table('infosec_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('checklist_code', sa.String(length=40), nullable=False),
    sa.Column('checklist_version', sa.Integer(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('reviewer', sa.String(length=100), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('evidence_refs', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('next_review_due', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('completed_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_infosec_reviews_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infosec_reviews'))
    )
    with op.batch_alter_table('infosec_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infosec_reviews_agency_id'), ['agency_id'], unique=False)

    op.create_table('infosec_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('remediation_due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('evidence_ref', sa.String(length=200), nullable=True),
    sa.Column('reported_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('remediated_by', sa.String(length=100), nullable=True),
    sa.Column('remediated_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('verified_by', sa.String(length=100), nullable=True),
    sa.Column('verified_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.String(length=100), nullable=True),
    sa.Column('accepted_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_infosec_findings_agency_id_agencies')),
    sa.ForeignKeyConstraint(['review_id'], ['infosec_reviews.id'], name=op.f('fk_infosec_findings_review_id_infosec_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infosec_findings'))
    )
    with op.batch_alter_table('infosec_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infosec_findings_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_infosec_findings_review_id'), ['review_id'], unique=False)


def downgrade() -> None:
    op.drop_table('infosec_findings')
    op.drop_table('infosec_reviews')
    op.drop_table('canary_sightings')
    op.drop_table('canary_records')
    with op.batch_alter_table('handover_packages', schema=None) as batch_op:
        batch_op.drop_column('canary_count')
