"""Bulk reads and writes of the register, in the caller's transaction.

A backfill can be a million rows, so rows go in with executemany-style Core inserts and come
back as Polars frames for the checks, never as one ORM object per row. Everything happens in
the caller's unit of work: an import that fails or is killed leaves the register as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

import polars as pl
from sqlalchemy import String, Table, bindparam, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from interdict.db.dialect import bulk_insert, fetch_raw, read_committed_frame
from interdict.precursors import frames
from interdict.precursors.models import (
    ExportAuthorisation,
    Operator,
    Transaction,
    TransactionVersion,
)
from interdict.precursors.records import COLUMN_NAMES, Columns

TX_TABLE = cast(Table, Transaction.__table__)
VERSIONS_TABLE = cast(Table, TransactionVersion.__table__)
CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing(session: Session, operator_ids: Iterable[int]
             ) -> dict[tuple[int, str], tuple[int, str, int]]:
    """(operator id, reference) → (row id, content hash, version) for these operators."""
    found: dict[tuple[int, str], tuple[int, str, int]] = {}
    t = TX_TABLE
    for part in chunks(sorted(set(operator_ids))):
        for row in session.execute(select(t.c.id, t.c.operator_id, t.c.reference,
                                          t.c.content_hash, t.c.version)
                                   .where(t.c.operator_id.in_(part))):
            found[(row.operator_id, row.reference)] = (row.id, row.content_hash, row.version)
    return found


def insert_rows(session: Session, *, agency_id: int, batch_id: int, cols: Columns,
                indexes: list[int]) -> list[int]:
    """Insert the given rows of ``cols``; returns their new ids, in ``indexes`` order."""
    if not indexes:
        return []
    sub = cols.take(indexes)
    n = len(sub)
    t = TX_TABLE
    before = session.scalar(select(func.max(t.c.id))) or 0
    bulk_insert(session, t, {**{c: sub.values[c] for c in COLUMN_NAMES},
                             "occurred_at": _times(sub.values["occurred_us"]),
                             "registered_at": _times(sub.values["registered_us"]),
                             "agency_id": [agency_id] * n, "batch_id": [batch_id] * n,
                             "version": [1] * n})
    # Rows get consecutive ids in insertion order (one writer holds the register's lock);
    # verify that rather than assume it, and otherwise read the ids back by key.
    low, high, count = session.execute(select(func.min(t.c.id), func.max(t.c.id),
                                              func.count()).where(t.c.batch_id == batch_id)).one()
    if (low, high, count) == (before + 1, before + n, n):
        return list(range(before + 1, before + n + 1))
    found = {(r.operator_id, r.reference): r.id for r in session.execute(
        select(t.c.id, t.c.operator_id, t.c.reference).where(t.c.batch_id == batch_id))}
    ops, refs = sub.values["operator_id"], sub.values["reference"]
    return [found[(ops[i], refs[i])] for i in range(n)]


def amend_rows(session: Session, *, batch_id: int, cols: Columns, indexes: list[int],
               current: dict[tuple[int, str], tuple[int, str, int]], now: dt.datetime
               ) -> dict[tuple[int, str], int]:
    """Replace amended records, keeping each earlier version as it was submitted."""
    if not indexes:
        return {}
    t = TX_TABLE
    values = cols.values
    ids = {(values["operator_id"][i], values["reference"][i]): current[
        (values["operator_id"][i], values["reference"][i])][0] for i in indexes}
    old: dict[int, Any] = {}
    for part in chunks(list(ids.values())):
        old.update({r.id: r for r in session.execute(select(t).where(t.c.id.in_(part)))})
    session.execute(insert(VERSIONS_TABLE), [
        {"transaction_id": row.id, "version": row.version, "record": _as_record(row),
         "batch_id": row.batch_id, "replaced_by_batch_id": batch_id, "replaced_at": now}
        for row in old.values()])
    params = []
    for i in indexes:
        row_id = ids[(values["operator_id"][i], values["reference"][i])]
        params.append({**{c: values[c][i] for c in COLUMN_NAMES}, "row_id": row_id,
                       "batch_id": batch_id, "version": old[row_id].version + 1})
    statement = update(t).where(t.c.id == bindparam("row_id")).values(
        {c: bindparam(c) for c in (*COLUMN_NAMES, "batch_id", "version")})
    session.connection().execute(statement, params)
    return ids


def _as_record(row: Any) -> dict[str, Any]:
    """A stored row as JSON, for the version history."""
    out: dict[str, Any] = {}
    for name in COLUMN_NAMES:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


TX_COLUMNS = ("id", "operator_id", "reference", "kind", "substance", "category",
              "designer_precursor", "watch_listed", "quantity_kg", "occurred_at",
              "registered_at", "counterparty", "counterparty_operator_id",
              "counterparty_country", "destination_country", "transit_countries", "payment",
              "end_use", "site")
#: What a stock balance needs: reconciling reads only these.
STOCK_COLUMNS = ("id", "operator_id", "reference", "kind", "substance", "quantity_kg",
                 "occurred_at", "site")
#: The least a first pass over every stock balance needs (no ids, no references).
BALANCE_COLUMNS = ("operator_id", "kind", "substance", "quantity_kg", "occurred_at", "site")
TIMES = ("occurred_at", "registered_at")


def _utc(column: str, dtype: pl.DataType) -> pl.Expr:
    """Times as the driver hands them over: SQLite text (UTC, as SQLAlchemy writes it) or
    PostgreSQL aware datetimes; both become UTC datetimes, parsed in bulk."""
    if dtype == pl.String:
        return pl.col(column).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us",
                                              time_zone="UTC")
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return pl.col(column).cast(frames.UTC_TIME)


def transactions_frame(session: Session, *, agency_id: int,
                       operator_ids: Sequence[int] | None = None,
                       before_batch: int | None = None,
                       columns: Sequence[str] = TX_COLUMNS,
                       committed_only: bool = False) -> pl.DataFrame:
    """Stored transactions (of some operators, or the whole agency) in the checks' schema.

    Read without SQLAlchemy's per-value processing (times come back as the driver gives
    them and are converted column-wise): a million rows load in seconds, not tens of them.
    """
    t = TX_TABLE
    picked = [type_coerce(t.c[c], String).label(c) if c in TIMES else t.c[c]
              for c in columns]
    query = select(*picked).where(t.c.agency_id == agency_id)
    if before_batch is not None:
        query = query.where(t.c.batch_id < before_batch)
    if committed_only and operator_ids is None:
        frame = read_committed_frame(session, query)
        if frame is not None:
            frame = frame.with_columns(
                _utc(c, frame.schema[c]).alias(c) for c in columns if c in TIMES)
            return to_checks_frame(frame, is_new=False, session=session, agency_id=agency_id)
    rows: list[tuple[Any, ...]] = []
    if operator_ids is None:
        rows = fetch_raw(session, query)
    else:
        for part in chunks(sorted(set(operator_ids))):
            rows += fetch_raw(session, query.where(t.c.operator_id.in_(part)))
    schema = {c: (pl.Object if c in TIMES else frames.TRANSACTIONS[c]) for c in columns}
    if rows:
        df = pl.DataFrame(rows, schema=list(columns), orient="row", infer_schema_length=1000)
        df = df.with_columns(_utc(c, df.schema[c]).alias(c) for c in columns if c in TIMES)
    else:
        df = pl.DataFrame(schema={c: (frames.UTC_TIME if c in TIMES else schema[c])
                                  for c in columns})
    return to_checks_frame(df, is_new=False, session=session, agency_id=agency_id)


def has_history(session: Session, *, agency_id: int, before_batch: int) -> bool:
    """Whether any record came in before this batch (a first backfill has none to load).
    Batches are numbered in the order they are written, under the register's write lock."""
    t = TX_TABLE
    return session.execute(select(t.c.id).where(
        t.c.batch_id < before_batch, t.c.agency_id == agency_id).limit(1)).first() is not None


def to_checks_frame(df: pl.DataFrame, *, is_new: bool, session: Session, agency_id: int,
                    licences: dict[int, str] | None = None) -> pl.DataFrame:
    """Bring a frame of register columns into ``frames.TRANSACTIONS`` exactly."""
    if licences is None:
        licences = operator_licences(session, agency_id=agency_id)
    schema = frames.TRANSACTIONS
    extra = [pl.col("operator_id").cast(pl.Int64).replace_strict(
        licences, default=None, return_dtype=pl.String).alias("operator_licence"),
        pl.lit(is_new).alias("is_new"), pl.col("site").fill_null("")]
    if "transit_countries" in df.columns:
        extra.append(pl.col("transit_countries").cast(pl.String).fill_null("").str.split(";")
                     .list.eval(pl.element().filter(pl.element() != "")))
    df = df.with_columns(extra)
    return df.select(pl.col(c).cast(schema[c]) if c in df.columns
                     else pl.lit(None, dtype=schema[c]).alias(c) for c in schema)


def _times(micros: list[int]) -> pl.Series:
    return pl.Series(micros, dtype=pl.Int64).cast(frames.UTC_TIME)


def batch_frame(cols: Columns, ids: list[int], *, session: Session, agency_id: int,
                licences: dict[int, str]) -> pl.DataFrame:
    data: dict[str, Any] = {c: cols.values[c] for c in TX_COLUMNS
                            if c in cols.values and c not in TIMES}
    data["occurred_at"] = _times(cols.values["occurred_us"])
    data["registered_at"] = _times(cols.values["registered_us"])
    data["id"] = ids
    df = pl.DataFrame(data, schema_overrides={
        "occurred_at": frames.UTC_TIME, "registered_at": frames.UTC_TIME,
        "counterparty_operator_id": pl.Int64, "quantity_kg": pl.Float64})
    return to_checks_frame(df, is_new=True, session=session, agency_id=agency_id,
                           licences=licences)


def operator_licences(session: Session, *, agency_id: int) -> dict[int, str]:
    return {row.id: row.licence for row in session.execute(
        select(Operator.id, Operator.licence).where(Operator.agency_id == agency_id))}


def operators_frame(session: Session, *, agency_id: int) -> pl.DataFrame:
    rows = session.execute(select(
        Operator.id, Operator.licence, Operator.name, Operator.country, Operator.categories,
        Operator.kind, Operator.valid_from, Operator.valid_to, Operator.activities,
        Operator.sector).where(Operator.agency_id == agency_id)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=frames.OPERATORS, orient="row")


def authorisations_frame(session: Session, *, agency_id: int) -> pl.DataFrame:
    a = ExportAuthorisation
    rows = session.execute(select(
        a.id, a.number, a.operator_id, a.substance, a.quantity_kg, a.destination_country,
        a.valid_from, a.valid_to, a.notification_required, a.notified_at,
        a.notification_deadline, a.notification_status, a.responded_at)
        .where(a.agency_id == agency_id)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=frames.AUTHORISATIONS, orient="row")
