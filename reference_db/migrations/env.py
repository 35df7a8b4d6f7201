"""Alembic environment. Migrations normally run from ``reference_db.engine.migrate``,
which passes an open connection; the ``alembic`` command line works too, using
``PROVENANCE_DATABASE_URL`` (or the default SQLite file)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from reference_db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies for ALTER
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from provenance.settings import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().resolved_database_url
    with create_engine(url).connect() as conn:
        _run(conn)
