"""History counters and rule statistics in the database.

The engines keep history as ``features.Counter`` values keyed by ``(kind, value)``; here they
are rows of ``targeting_counters`` keyed by ``agency_id`` and ``"kind=value"``. Every change
is an additive upsert (``db.dialect.upsert_add``): a consignment adds one declaration to each
of its keys, an inspection one outcome. Concurrent requests therefore never lose a count, and
importing the same history in two files gives the same counters as one file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from interdict.db.dialect import upsert_add
from interdict.targeting import features
from interdict.targeting.features import Counter, History
from interdict.targeting.frames import COUNTER
from interdict.targeting.models import HistoryCounter, RuleStat

_TABLE = cast(Table, HistoryCounter.__table__)
_STATS = cast(Table, RuleStat.__table__)
_FIELDS = tuple(c for c in COUNTER if c not in ("key_kind", "key_value"))
_ADD = ("n_declared", "n_labelled", "n_positive", "n_critical", "n_unit", "sum_log_unit",
        "sumsq_log_unit")
#: SQLite's driver hands back naive datetimes for these columns when read raw.
_TIMES = ("first_declared_at", "last_declared_at")


def key_text(key: tuple[str, str]) -> str:
    return f"{key[0]}={key[1]}"


def _split(text: str) -> tuple[str, str]:
    kind, _, value = text.partition("=")
    return kind, value


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return cast(dt.datetime, value if value.tzinfo else value.replace(tzinfo=dt.UTC))


def load(session: Session, agency_id: int, keys: Iterable[tuple[str, str]]
         ) -> dict[tuple[str, str], Counter]:
    """The counters of these keys as they are now (a missing key was never seen)."""
    texts = sorted({key_text(k) for k in keys})
    if not texts:
        return {}
    rows = session.execute(select(HistoryCounter).where(
        HistoryCounter.agency_id == agency_id, HistoryCounter.key.in_(texts))).scalars()
    return {_split(r.key): Counter(*(getattr(r, f) for f in _FIELDS)) for r in rows}


def load_all(session: Session, agency_id: int) -> History:
    """Every counter of the agency, for batch scoring and training continuations."""
    rows = session.execute(select(HistoryCounter.key, *(getattr(HistoryCounter, f)
                                                         for f in _FIELDS))
                           .where(HistoryCounter.agency_id == agency_id)).all()
    counters = {}
    for row in rows:
        values = list(row[1:])
        for i in (7, 8):
            values[i] = _utc(values[i])
        counters[_split(row[0])] = Counter(*values)
    return History(counters)


def add(session: Session, agency_id: int, history: History | pl.DataFrame) -> int:
    """Fold counts (a ``History`` of increments, or its ``COUNTER`` frame) into the store."""
    frame = history.to_frame() if isinstance(history, History) else history
    if frame.is_empty():
        return 0
    frame = frame.with_columns(
        (pl.col("key_kind") + "=" + pl.col("key_value")).alias("key"),
        pl.lit(agency_id).alias("agency_id"))
    rows = frame.select("agency_id", "key", *_FIELDS).to_dicts()
    for start in range(0, len(rows), 5000):
        upsert_add(session, _TABLE, rows[start:start + 5000], keys=("agency_id", "key"),
                   add=_ADD, least=("first_declared_at",), greatest=("last_declared_at",))
    return len(rows)


def _add_small(session: Session, agency_id: int, increments: History) -> None:
    """One consignment's increments (a dozen keys), without building a frame."""
    rows = [{"agency_id": agency_id, "key": key_text(k),
             **{f: getattr(c, f) for f in _FIELDS}} for k, c in increments.items()]
    upsert_add(session, _TABLE, rows, keys=("agency_id", "key"), add=_ADD,
               least=("first_declared_at",), greatest=("last_declared_at",))


def count_declaration(session: Session, agency_id: int, row: dict[str, Any]) -> None:
    increments = History()
    increments.observe_declaration(row)
    _add_small(session, agency_id, increments)


def count_outcome(session: Session, agency_id: int, row: dict[str, Any], fraud: int,
                  critical: int | None) -> None:
    increments = History()
    increments.observe_outcome(row, fraud, critical)
    # An outcome carries no declaration: its times stay null, so they change nothing.
    _add_small(session, agency_id, increments)


def history_of(frame: pl.DataFrame, outcome_delay_days: float) -> History:
    """The counts a file of consignments adds (declarations, and outcomes where labelled)."""
    return features.history_from_frame(frame, outcome_delay_days)


def add_rule_hits(session: Session, agency_id: int, rule_ids: Iterable[str]) -> None:
    rows = [{"agency_id": agency_id, "rule_id": r, "hits": 1, "inspected": 0, "positives": 0}
            for r in rule_ids]
    if rows:
        upsert_add(session, _STATS, rows, keys=("agency_id", "rule_id"),
                   add=("hits", "inspected", "positives"))


def add_rule_counts(session: Session, agency_id: int, counts: dict[str, tuple[int, int, int]]
                    ) -> None:
    """Add (hits, inspected, positives) per rule."""
    rows = [{"agency_id": agency_id, "rule_id": r, "hits": h, "inspected": i, "positives": p}
            for r, (h, i, p) in counts.items()]
    if rows:
        upsert_add(session, _STATS, rows, keys=("agency_id", "rule_id"),
                   add=("hits", "inspected", "positives"))


def rule_stats(session: Session, agency_id: int) -> dict[str, dict[str, Any]]:
    out = {}
    for s in session.scalars(select(RuleStat).where(RuleStat.agency_id == agency_id)):
        rate = s.positives / s.inspected if s.inspected else None
        out[s.rule_id] = {"hits": s.hits, "inspected": s.inspected, "positives": s.positives,
                          "hit_rate": rate}
    return out
