"""line over time: one row per real-world defect with its sightings per flight; deadlines

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:28:14.732983
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=False),
        sa.Column("class_key", sa.String(length=100), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("placement", sa.String(length=20), nullable=True),
        sa.Column("uncertainty_m", sa.Float(), nullable=True),
        sa.Column("distance_to_line_m", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["defect_id"], ["defects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["flight_id"], ["flights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("defect_id", "flight_id", name="uq_sightings_defect_flight"),
    )
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sightings_defect_id"), ["defect_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sightings_flight_id"), ["flight_id"], unique=False)

    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seen", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_seen", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("sightings", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("not_seen_flight_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_defects_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_last_seen"), ["last_seen"], unique=False)
    # every defect stored before is one item seen once, on its own flight
    op.execute(
        "INSERT INTO sightings (defect_id, flight_id, seen_on, class_key, severity, confidence,"
        " lat, lon, placement, uncertainty_m, distance_to_line_m, evidence, created_at)"
        " SELECT d.id, d.flight_id, f.date, d.class_key, d.severity, d.confidence, d.lat, d.lon,"
        " d.placement, d.uncertainty_m, d.distance_to_line_m, d.evidence, d.detected_at"
        " FROM defects d JOIN flights f ON f.id = d.flight_id"
    )
    op.execute(
        "UPDATE defects SET first_seen = (SELECT date FROM flights WHERE flights.id ="
        " defects.flight_id), last_seen = (SELECT date FROM flights WHERE flights.id ="
        " defects.flight_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defects_last_seen"))
        batch_op.drop_index(batch_op.f("ix_defects_due_at"))
        batch_op.drop_column("not_seen_flight_id")
        batch_op.drop_column("due_at")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("sightings")
        batch_op.drop_column("last_seen")
        batch_op.drop_column("first_seen")

    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sightings_flight_id"))
        batch_op.drop_index(batch_op.f("ix_sightings_defect_id"))

    op.drop_table("sightings")
