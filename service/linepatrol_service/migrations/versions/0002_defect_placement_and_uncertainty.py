"""defect placement and uncertainty

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:31:50.840327
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alt_datum", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("placement", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("uncertainty_m", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_column("uncertainty_m")
        batch_op.drop_column("placement")
        batch_op.drop_column("alt_datum")
