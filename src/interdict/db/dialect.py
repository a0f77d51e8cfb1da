"""The only place where SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import JSON, Date, DateTime, Table, func, text
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


def upsert_add(session: Session, table: Table, rows: list[dict[str, Any]], *,
               keys: Sequence[str], add: Sequence[str] = (), least: Sequence[str] = (),
               greatest: Sequence[str] = ()) -> None:
    """Insert rows, or fold them into the existing row with the same ``keys``: ``add`` columns
    are summed, ``least``/``greatest`` keep the smaller/larger non-null value.

    One statement per batch and no read first, so concurrent writers to the same counter
    never lose an increment (the database applies each addition to the current value).
    """
    if not rows:
        return
    postgres = dialect_name(session) == "postgresql"
    stmt: Any = (postgresql.insert(table) if postgres else sqlite.insert(table))
    new, old = stmt.excluded, table.c
    lo = func.least if postgres else func.min
    hi = func.greatest if postgres else func.max
    update: dict[str, Any] = {c: old[c] + new[c] for c in add}
    for columns, pick in ((least, lo), (greatest, hi)):
        for c in columns:
            # SQLite's min()/max() return NULL if either side is NULL: coalesce both ways.
            update[c] = pick(func.coalesce(old[c], new[c]), func.coalesce(new[c], old[c]))
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update), rows)


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


def bulk_insert(session: Session, table: Table,
                columns: dict[str, Sequence[Any] | pl.Series]) -> int:
    """Insert many rows, given as equal-length columns, fast and in the session's transaction.

    For imports of up to millions of rows, where SQLAlchemy's per-value processing costs more
    than the database: PostgreSQL gets them through COPY, SQLite through one executemany with
    values stored exactly as SQLAlchemy stores them (UTC datetimes as
    ``YYYY-MM-DD HH:MM:SS.ffffff``, formatted column-wise; JSON as text), so ORM reads see no
    difference. Rows are inserted in the given order. A column may be a Polars Series
    (times in bulk, without a datetime object per value).
    """
    names = list(columns)
    count = len(next(iter(columns.values()))) if columns else 0
    if not count:
        return 0
    raw = session.connection().connection.driver_connection
    assert raw is not None
    quoted = ", ".join(f'"{c}"' for c in names)
    data: list[Any] = list(columns.values())
    if dialect_name(session) == "postgresql":
        data = [v.to_list() if isinstance(v, pl.Series) else v for v in data]
        for i, c in enumerate(names):
            if isinstance(table.c[c].type, JSON):
                data[i] = [None if v is None else json.dumps(v) for v in data[i]]
        with raw.cursor() as cursor, cursor.copy(
                f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in zip(*data, strict=True):
                copy.write_row(row)
        return count
    for i, c in enumerate(names):
        impl = getattr(table.c[c].type, "impl", table.c[c].type)
        if isinstance(impl, DateTime):
            data[i] = _sqlite_times(data[i])
        elif isinstance(impl, Date):
            data[i] = [None if v is None else v.isoformat() for v in data[i]]
        elif isinstance(impl, JSON):
            data[i] = [None if v is None else json.dumps(v) for v in data[i]]
    marks = ", ".join("?" for _ in names)
    cursor = raw.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})',
                           zip(*data, strict=True))
    finally:
        cursor.close()
    return count


def _sqlite_times(values: Sequence[dt.datetime | None] | pl.Series) -> list[str | None]:
    """Aware datetimes as SQLAlchemy's SQLite text (naive UTC with microseconds), in bulk."""
    series = values if isinstance(values, pl.Series) \
        else pl.Series(values, dtype=pl.Datetime("us", "UTC"))
    return series.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f").to_list()


def fetch_raw(session: Session, statement: Any) -> list[tuple[Any, ...]]:
    """All rows of a Core select as the driver returns them: no Row objects, no per-value
    type processing (SQLite times stay text). For bulk reads that are converted column-wise
    afterwards; the statement is compiled with its values inlined, so use it only with
    trusted values (ids, dates), never with free text."""
    sql = str(statement.compile(dialect=session.get_bind().dialect,
                                compile_kwargs={"literal_binds": True}))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def read_committed_frame(session: Session, statement: Any) -> pl.DataFrame | None:
    """The committed rows of a select as a columnar frame, without Python objects per value.

    SQLite file databases only, through the ADBC SQLite driver (Arrow straight from the
    file, several times faster than a cursor for a million rows); None for other databases,
    where the caller reads through the session. A separate connection: it sees what is
    committed, not the caller's uncommitted changes, so use it for reports over the stored
    register, never inside a write. Values are inlined as in ``fetch_raw``.
    """
    bind = session.get_bind()
    database = bind.engine.url.database
    if bind.dialect.name != "sqlite" or not database or database == ":memory:" \
            or "mode=memory" in str(bind.engine.url):
        return None
    import adbc_driver_sqlite.dbapi as adbc

    sql = str(statement.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
    with adbc.connect(database) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
