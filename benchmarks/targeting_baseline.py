"""The real-time baseline: history read by SQL aggregates over stored consignments.

What a targeting service without running counters does on every arrival: for each history
key of the consignment (importer, declarant, seller, HS code, their pairs...), count the
earlier consignments and outcomes with that key in the consignment table. ``install``
replaces the counter-table look-up in the server process started for the baseline; nothing
else changes, so the gap between the two figures is the cost of reading history this way.
Unit-value sums are left at zero (SQLite has no portable ``ln``), which only makes the
baseline cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from interdict.targeting import store
from interdict.targeting.features import Counter
from interdict.targeting.models import Consignment


def load_by_sql(session: Session, agency_id: int, keys: Iterable[tuple[str, str]]
                ) -> dict[tuple[str, str], Counter]:
    out: dict[tuple[str, str], Counter] = {}
    for kind, value in keys:
        if kind == "all":
            cond: Any = true()
        else:
            cond = and_(*(getattr(Consignment, col) == part
                          for col, part in zip(kind.split("|"), value.split("|"), strict=True)))
        row = session.execute(select(
            func.count(), func.count(Consignment.fraud),
            func.coalesce(func.sum(case((Consignment.fraud == 1, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Consignment.critical == 2, 1), else_=0)), 0),
            func.min(Consignment.declared_at), func.max(Consignment.declared_at))
            .where(Consignment.agency_id == agency_id, cond)).one()
        if row[0]:
            out[(kind, value)] = Counter(n_declared=row[0], n_labelled=row[1],
                                         n_positive=row[2], n_critical=row[3],
                                         first_declared_at=row[4], last_declared_at=row[5])
    return out


def install() -> None:
    store.load = load_by_sql
