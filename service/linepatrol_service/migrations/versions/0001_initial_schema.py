"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:54:07.660005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ledgers",
        sa.Column("line", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("towers", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("line"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "flights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(length=200), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("drone", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["tokens.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flights", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flights_date"), ["date"], unique=False)
        batch_op.create_index(batch_op.f("ix_flights_line"), ["line"], unique=False)
        batch_op.create_index(batch_op.f("ix_flights_status"), ["status"], unique=False)

    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("pose", sa.JSON(), nullable=True),
        sa.Column("pose_error", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("detections", sa.JSON(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_count", sa.Integer(), nullable=False),
        sa.Column("processed_by", sa.String(length=200), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["flight_id"], ["flights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flight_id", "sha256", name="uq_images_flight_sha256"),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index("ix_images_flight_status", ["flight_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_images_sha256"), ["sha256"], unique=False)

    op.create_table(
        "defects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("class_key", sa.String(length=100), nullable=False),
        sa.Column("detected_class", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("alt", sa.Float(), nullable=True),
        sa.Column("geo_reason", sa.Text(), nullable=True),
        sa.Column("line", sa.String(length=200), nullable=True),
        sa.Column("tower", sa.String(length=100), nullable=True),
        sa.Column("span", sa.String(length=200), nullable=True),
        sa.Column("distance_to_line_m", sa.Float(), nullable=True),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column("xyxy", sa.JSON(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["flight_id"], ["flights.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defects_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_class_key"), ["class_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_flight_id"), ["flight_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_line"), ["line"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_severity"), ["severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_defects_tower"), ["tower"], unique=False)

    op.create_table(
        "defect_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["defect_id"], ["defects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("defect_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defect_events_defect_id"), ["defect_id"], unique=False)




def downgrade() -> None:

    with op.batch_alter_table("defect_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defect_events_defect_id"))

    op.drop_table("defect_events")
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defects_tower"))
        batch_op.drop_index(batch_op.f("ix_defects_status"))
        batch_op.drop_index(batch_op.f("ix_defects_severity"))
        batch_op.drop_index(batch_op.f("ix_defects_line"))
        batch_op.drop_index(batch_op.f("ix_defects_flight_id"))
        batch_op.drop_index(batch_op.f("ix_defects_class_key"))
        batch_op.drop_index(batch_op.f("ix_defects_category"))

    op.drop_table("defects")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_sha256"))
        batch_op.drop_index("ix_images_flight_status")

    op.drop_table("images")
    with op.batch_alter_table("flights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flights_status"))
        batch_op.drop_index(batch_op.f("ix_flights_line"))
        batch_op.drop_index(batch_op.f("ix_flights_date"))

    op.drop_table("flights")
    op.drop_table("tokens")
    op.drop_table("ledgers")

