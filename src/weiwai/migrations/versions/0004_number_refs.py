"""masking policies and number references

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:50:00
"""
from alembic import op
import sqlalchemy as sa
import weiwai.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('masking_policy', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))

    op.create_table('number_refs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=24), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('debtor_phone_id', sa.Integer(), nullable=True),
    sa.Column('debtor_contact_id', sa.Integer(), nullable=True),
    sa.Column('phone_bidx', sa.String(length=32), nullable=False),
    sa.Column('created_at', weiwai.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(debtor_phone_id IS NULL) <> (debtor_contact_id IS NULL)',
                       name=op.f('ck_number_refs_one_number')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_number_refs_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_number_refs_case_id_cases'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['debtor_contact_id'], ['debtor_contacts.id'],
                            name=op.f('fk_number_refs_debtor_contact_id_debtor_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['debtor_phone_id'], ['debtor_phones.id'],
                            name=op.f('fk_number_refs_debtor_phone_id_debtor_phones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_number_refs')),
    sa.UniqueConstraint('debtor_contact_id', 'case_id', name=op.f('uq_number_refs_debtor_contact_id')),
    sa.UniqueConstraint('debtor_phone_id', 'case_id', name=op.f('uq_number_refs_debtor_phone_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_number_refs_ref'))
    )
    with op.batch_alter_table('number_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_number_refs_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_number_refs_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('number_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_number_refs_case_id'))
        batch_op.drop_index(batch_op.f('ix_number_refs_agency_id'))

    op.drop_table('number_refs')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('masking_policy')
