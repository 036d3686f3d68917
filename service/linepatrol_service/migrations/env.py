"""Alembic environment: the engine comes from the service (config.attributes['engine'])."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from linepatrol_service.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # the service's own connection (holding the migration lock)
        _run(connection)
        return
    engine = config.attributes.get("engine")
    if engine is None:  # `alembic -x url=...` from a shell
        engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.begin() as conn:
        _run(conn)


run_migrations_online()
