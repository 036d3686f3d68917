"""corridor cameras: the camera registry, device tokens, camera photos and camera hazards

A camera's photo is an image without a flight (``flight_id`` null, ``camera_id`` and
``captured_at`` set); a hazard first found by a camera is a defect without a flight
(``camera_id``, ``last_seen_at``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line", sa.String(length=200), nullable=False),
        sa.Column("tower", sa.String(length=100), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("alt", sa.Float(), nullable=False),
        sa.Column("heading", sa.Float(), nullable=False),
        sa.Column("pitch", sa.Float(), nullable=False),
        sa.Column("roll", sa.Float(), nullable=False),
        sa.Column("hfov_deg", sa.Float(), nullable=True),
        sa.Column("focal_px", sa.Float(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("max_range_m", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cameras_line"), ["line"], unique=False)

    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("camera_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_tokens_camera_id"), ["camera_id"], unique=False)
        batch_op.create_foreign_key("fk_tokens_camera_id", "cameras", ["camera_id"], ["id"],
                                    ondelete="CASCADE")

    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("camera_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hazards_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("flight_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key("fk_images_camera_id", "cameras", ["camera_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_unique_constraint("uq_images_camera_sha256", ["camera_id", "sha256"])
        batch_op.create_index("ix_images_camera_status", ["camera_id", "status"], unique=False)

    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("camera_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("flight_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key("fk_defects_camera_id", "cameras", ["camera_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_index(batch_op.f("ix_defects_camera_id"), ["camera_id"], unique=False)


def downgrade() -> None:
    # camera photos and camera-found items have no flight: they go with the registry
    op.execute("DELETE FROM defects WHERE flight_id IS NULL")
    op.execute("DELETE FROM images WHERE flight_id IS NULL")
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defects_camera_id"))
        batch_op.drop_constraint("fk_defects_camera_id", type_="foreignkey")
        batch_op.alter_column("flight_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("camera_id")

    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_camera_status")
        batch_op.drop_constraint("uq_images_camera_sha256", type_="unique")
        batch_op.drop_constraint("fk_images_camera_id", type_="foreignkey")
        batch_op.alter_column("flight_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("hazards_at")
        batch_op.drop_column("captured_at")
        batch_op.drop_column("camera_id")

    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tokens_camera_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tokens_camera_id"))
        batch_op.drop_column("camera_id")

    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cameras_line"))

    op.drop_table("cameras")
