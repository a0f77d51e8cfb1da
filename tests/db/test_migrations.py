"""Migrations upgrade and downgrade cleanly and match the models, on the test database."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from interdict.all_models import metadata
from interdict.db import migrate
from interdict.db.engine import make_database
from tests.conftest import PG_URL, _recreate_pg_database


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of the dialect under test, separate from the shared test database."""
    if PG_URL:
        from sqlalchemy.engine import make_url

        url = make_url(PG_URL).set(database=make_url(PG_URL).database + "_migrations")
        rendered = url.render_as_string(hide_password=False)
        _recreate_pg_database(rendered)
        return rendered
    return f"sqlite:///{tmp_path}/scratch.sqlite3"


def test_upgrade_downgrade_upgrade(scratch_url):
    db = make_database(scratch_url)
    try:
        migrate.upgrade(db)
        tables = set(inspect(db.engine).get_table_names())
        assert set(metadata.tables) <= tables
        assert migrate.is_up_to_date(db)
        migrate.downgrade(db, "base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(db)
        assert set(metadata.tables) <= set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def test_models_and_migrations_agree(scratch_url):
    """A model change without a migration fails here (autogenerate finds no difference)."""
    db = make_database(scratch_url)
    try:
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, metadata)
        assert diff == []
    finally:
        db.dispose()


def test_sqlite_pragmas(tmp_path):
    if PG_URL:
        pytest.skip("SQLite-only pragmas; the PostgreSQL half checks statement_timeout below")
    db = make_database(f"sqlite:///{tmp_path}/p.sqlite3")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()


def test_postgres_statement_timeout():
    if not PG_URL:
        pytest.skip("PostgreSQL-only setting; the SQLite half checks pragmas above")
    db = make_database(PG_URL)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
    db.dispose()


def test_postgres_required_when_configured():
    """CI sets INTERDICT_REQUIRE_POSTGRES; then this half must really be on PostgreSQL."""
    if os.environ.get("INTERDICT_REQUIRE_POSTGRES") == "1" and PG_URL:
        db = make_database(PG_URL)
        assert db.dialect == "postgresql"
        db.dispose()
