"""The only place where SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Table, text
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


def bulk_insert(session: Session, table: Table, columns: list[str],
                rows: Iterable[Sequence[Any]]) -> int:
    """Insert many rows fast, in the session's transaction; returns how many.

    For imports of up to millions of rows, where SQLAlchemy's per-value processing costs more
    than the database: PostgreSQL gets them through COPY, SQLite through one executemany with
    values stored exactly as SQLAlchemy stores them (UTC datetimes as
    ``YYYY-MM-DD HH:MM:SS.ffffff``, JSON as text), so ORM reads see no difference.
    """
    conn = session.connection()
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if dialect_name(session) == "postgresql":
        json_cols = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        with raw.cursor() as cursor, cursor.copy(
                f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                if json_cols:
                    row = list(row)
                    for i in json_cols:
                        row[i] = json.dumps(row[i])
                copy.write_row(row)
                count += 1
        return count
    convert: list[Callable[[Any], Any] | None] = [_sqlite_converter(table.c[c].type)
                                                  for c in columns]
    todo = [(i, f) for i, f in enumerate(convert) if f is not None]

    def prepared() -> Iterator[Sequence[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            if todo:
                row = list(row)
                for i, f in todo:
                    if row[i] is not None:
                        row[i] = f(row[i])
            yield row

    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                           prepared())
    finally:
        cursor.close()
    return count


def _utc_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_converter(kind: Any) -> Callable[[Any], Any] | None:
    impl = getattr(kind, "impl", kind)
    if isinstance(impl, DateTime):
        return _utc_text
    if isinstance(impl, Date):
        return lambda v: v.isoformat()
    if isinstance(impl, JSON):
        return json.dumps
    return None
