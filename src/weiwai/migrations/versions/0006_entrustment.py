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
    pass


def downgrade() -> None:
    pass
