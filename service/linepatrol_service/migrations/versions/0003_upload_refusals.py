"""upload refusals: the files refused at upload, kept for the flight page

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:12:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["flight_id"], ["flights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("upload_refusals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_refusals_flight_id"), ["flight_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upload_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_refusals_flight_id"))
    op.drop_table("upload_refusals")
