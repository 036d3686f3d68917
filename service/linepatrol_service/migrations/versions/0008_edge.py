"""edge: the front end's boxes and model on each photo a device sent, and per flight and
device the counts its spool reported (seen, uploaded, skipped on the edge)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edge_detections", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("edge_model", sa.String(length=200), nullable=True))
    op.create_table(
        "edge_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("uploaded", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["flight_id"], ["flights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flight_id", "device", name="uq_edge_summaries_flight_device"),
    )


def downgrade() -> None:
    op.drop_table("edge_summaries")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_column("edge_model")
        batch_op.drop_column("edge_detections")
