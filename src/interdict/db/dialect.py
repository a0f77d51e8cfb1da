"""The only place where SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def serialize_writers(session: Session, key: str) -> None:
    """Make concurrent transactions that append to one chain (``key``) run one after another.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every writing transaction already
    starts with BEGIN IMMEDIATE (see ``db/engine.py``), which serialises writers, so nothing
    more is needed.
    """
    if dialect_name(session) == "postgresql":
        lock_id = zlib.crc32(key.encode()) & 0x7FFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})


def insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, silently skipping those that collide with a unique constraint."""
    if not rows:
        return
    if dialect_name(session) == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    session.execute(stmt, rows)


def truncate_all(session: Session, tables: list[str]) -> None:
    """Empty the given tables (the test suite's reset between tests)."""
    if dialect_name(session) == "postgresql":
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            session.execute(text(f'DELETE FROM "{t}"'))
        if _has_sqlite_sequence(session):
            session.execute(text("DELETE FROM sqlite_sequence"))


def _has_sqlite_sequence(session: Session) -> bool:
    row = session.execute(
        text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
    ).first()
    return row is not None
