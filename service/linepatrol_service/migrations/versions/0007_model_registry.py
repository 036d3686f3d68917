"""model registry: registered model versions and their audit; the version behind each photo's
boxes and each item; a shadow candidate's boxes per photo

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_state"), ["state"], unique=False)
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["model_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_events_model_id"), ["model_id"], unique=False)
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_version", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("shadow_model_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shadow_detections", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_images_shadow_model_id"), ["shadow_model_id"],
                              unique=False)
        batch_op.create_foreign_key("fk_images_shadow_model_id_model_versions",
                                    "model_versions", ["shadow_model_id"], ["id"],
                                    ondelete="SET NULL")
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_version", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_column("model_version")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_constraint("fk_images_shadow_model_id_model_versions", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_images_shadow_model_id"))
        batch_op.drop_column("shadow_detections")
        batch_op.drop_column("shadow_model_id")
        batch_op.drop_column("model_version")
    with op.batch_alter_table("model_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_events_model_id"))
    op.drop_table("model_events")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_state"))
    op.drop_table("model_versions")
