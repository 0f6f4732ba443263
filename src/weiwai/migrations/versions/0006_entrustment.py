"""entrustment, impact assessments, deletion and retention

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 14:50:00
"""
from alembic import op
import sqlalchemy as sa
import weiwai.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entrustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('duration', sa.String(length=200), nullable=False),
    sa.Column('processing_method', sa.Text(), nullable=False),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('protection_measures', sa.Text(), nullable=False),
    sa.Column('sub_entrustment_allowed', sa.Boolean(), nullable=False),
    sa.Column('sub_processors', sa.JSON(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_entrustments_agency_id_agencies')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_entrustments_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entrustments')),
    sa.UniqueConstraint('contract_id', name=op.f('uq_entrustments_contract_id'))
    )
    with op.batch_alter_table('entrustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entrustments_agency_id'), ['agency_id'], unique=False)

    op.create_table('impact_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('entrustment_id', sa.Integer(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('assessor', sa.String(length=100), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('risks', sa.JSON(), nullable=False),
    sa.Column('conclusion', sa.String(length=32), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('evidence_ref', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', weiwai.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('created_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_impact_assessments_agency_id_agencies')),
    sa.ForeignKeyConstraint(['entrustment_id'], ['entrustments.id'], name=op.f('fk_impact_assessments_entrustment_id_entrustments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_impact_assessments'))
    )
    with op.batch_alter_table('impact_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_impact_assessments_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_impact_assessments_entrustment_id'), ['entrustment_id'], unique=False)

    op.create_table('deletion_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_no', sa.String(length=40), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('package_ids', sa.JSON(), nullable=False),
    sa.Column('deleted_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('signed_by_name', sa.String(length=100), nullable=False),
    sa.Column('signed_by_title', sa.String(length=100), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('evidence_ref', sa.String(length=300), nullable=True),
    sa.Column('rows_certified', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.String(length=100), nullable=False),
    sa.Column('submitted_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_deletion_certificates_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_certificates')),
    sa.UniqueConstraint('certificate_no', name=op.f('uq_deletion_certificates_certificate_no'))
    )
    with op.batch_alter_table('deletion_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deletion_certificates_agency_id'), ['agency_id'], unique=False)

    op.create_table('deletion_dues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('case_ended_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('created_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_deletion_dues_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_deletion_dues_case_id_cases')),
    sa.ForeignKeyConstraint(['certificate_id'], ['deletion_certificates.id'], name=op.f('fk_deletion_dues_certificate_id_deletion_certificates')),
    sa.ForeignKeyConstraint(['package_id'], ['handover_packages.id'], name=op.f('fk_deletion_dues_package_id_handover_packages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_dues')),
    sa.UniqueConstraint('package_id', 'case_id', name=op.f('uq_deletion_dues_package_id'))
    )
    with op.batch_alter_table('deletion_dues', schema=None) as batch_op:
        batch_op.create_index('ix_deletion_dues_agency_due', ['agency_id', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_deletion_dues_certificate_id'), ['certificate_id'], unique=False)

    op.create_table('retention_purges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_for', sa.Date(), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=False),
    sa.Column('cutoff', sa.Date(), nullable=False),
    sa.Column('debtors_purged', sa.Integer(), nullable=False),
    sa.Column('run_by', sa.String(length=100), nullable=False),
    sa.Column('run_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_purges'))
    )

    with op.batch_alter_table('handover_packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entrustment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entrustment_version', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_handover_packages_entrustment_id'), ['entrustment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_handover_packages_entrustment_id_entrustments'), 'entrustments',
                                    ['entrustment_id'], ['id'])

    _backfill_entrustments()


def _backfill_entrustments() -> None:
    """One entrustment per existing contract, from its entrustment terms (categories kept as written
    when they cannot be mapped: the record must exist; a change through the API normalises them)."""
    from weiwai.privacy.categories import category_of

    bind = op.get_bind()
    contracts = sa.table(
        'contracts', sa.column('id', sa.Integer), sa.column('agency_id', sa.Integer),
        sa.column('status', sa.String), sa.column('retention_days', sa.Integer),
        sa.column('entrustment_purpose', sa.Text), sa.column('entrustment_duration', sa.String),
        sa.column('entrustment_processing_method', sa.Text), sa.column('entrustment_data_categories', sa.JSON),
        sa.column('entrustment_protection_measures', sa.Text), sa.column('updated_at', weiwai.db.UtcDateTime()),
    )
    entrustments = sa.table(
        'entrustments', sa.column('contract_id', sa.Integer), sa.column('agency_id', sa.Integer),
        sa.column('purpose', sa.Text), sa.column('duration', sa.String), sa.column('processing_method', sa.Text),
        sa.column('data_categories', sa.JSON), sa.column('protection_measures', sa.Text),
        sa.column('sub_entrustment_allowed', sa.Boolean), sa.column('sub_processors', sa.JSON),
        sa.column('retention_days', sa.Integer), sa.column('status', sa.String),
        sa.column('recorded_by', sa.String), sa.column('recorded_at', weiwai.db.UtcDateTime()),
        sa.column('ended_at', weiwai.db.UtcDateTime()), sa.column('end_reason', sa.Text),
        sa.column('version', sa.Integer),
    )
    now = weiwai.db.utcnow()
    rows = []
    for c in bind.execute(sa.select(contracts)).mappings():
        categories = []
        for name in c['entrustment_data_categories'] or []:
            code = category_of(name) or str(name)
            if code not in categories:
                categories.append(code)
        ended = c['status'] == 'terminated'
        rows.append({
            'contract_id': c['id'], 'agency_id': c['agency_id'], 'purpose': c['entrustment_purpose'],
            'duration': c['entrustment_duration'], 'processing_method': c['entrustment_processing_method'],
            'data_categories': categories, 'protection_measures': c['entrustment_protection_measures'],
            'sub_entrustment_allowed': False, 'sub_processors': [], 'retention_days': c['retention_days'],
            'status': 'ended' if ended else 'in_force', 'recorded_by': 'migration:0006', 'recorded_at': now,
            'ended_at': (c['updated_at'] or now) if ended else None,
            'end_reason': 'contract terminated' if ended else None, 'version': 1,
        })
    if rows:
        op.bulk_insert(entrustments, rows)


def downgrade() -> None:
    with op.batch_alter_table('handover_packages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_handover_packages_entrustment_id_entrustments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_handover_packages_entrustment_id'))
        batch_op.drop_column('entrustment_version')
        batch_op.drop_column('entrustment_id')
    op.drop_table('retention_purges')
    with op.batch_alter_table('deletion_dues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_dues_certificate_id'))
        batch_op.drop_index('ix_deletion_dues_agency_due')
    op.drop_table('deletion_dues')
    with op.batch_alter_table('deletion_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_certificates_agency_id'))
    op.drop_table('deletion_certificates')
    with op.batch_alter_table('impact_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_impact_assessments_entrustment_id'))
        batch_op.drop_index(batch_op.f('ix_impact_assessments_agency_id'))
    op.drop_table('impact_assessments')
    with op.batch_alter_table('entrustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entrustments_agency_id'))
    op.drop_table('entrustments')
