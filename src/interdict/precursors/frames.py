"""The columnar shapes the checks work on, and what a check reports.

The store loads the register into Polars frames of these schemas; the checks (``checks*.py``)
are pure functions of frames and settings, so that they run the same on one upload, on a
million-row backfill and in tests, and never touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")

#: Kinds of movement. Inflows raise a site's stock, outflows lower it; a stock count states it.
INFLOWS = ("purchase", "import", "production")
OUTFLOWS = ("sale", "export", "consumption", "loss", "destruction")
KINDS = (*INFLOWS, *OUTFLOWS, "stock_count")

TRANSACTIONS: dict[str, Any] = {
    "id": pl.Int64,                       # row id in the register
    "operator_id": pl.Int64,
    "operator_licence": pl.String,
    "reference": pl.String,               # the operator's own reference
    "kind": pl.String,                    # one of KINDS
    "substance": pl.String,               # canonical name from the substance lists
    "category": pl.String,                # "1", "2A", "2B", "3", "4", or "watch"
    "designer_precursor": pl.Boolean,     # flagged by substances screening (non-scheduled)
    "watch_listed": pl.Boolean,           # on a monitoring (watch) list
    "quantity_kg": pl.Float64,
    "occurred_at": UTC_TIME,
    "registered_at": UTC_TIME,
    "counterparty": pl.String,            # as given: a licence number or a name; may be null
    "counterparty_operator_id": pl.Int64,  # set when the counterparty is a registered operator
    "counterparty_country": pl.String,
    "destination_country": pl.String,
    "transit_countries": pl.List(pl.String),
    "payment": pl.String,                 # transfer, cash, crypto, other; may be null
    "end_use": pl.String,
    "site": pl.String,                    # "" when the operator has one site
    "is_new": pl.Boolean,                 # in the batch being checked (per-record checks)
}

OPERATORS: dict[str, Any] = {
    "id": pl.Int64,
    "licence": pl.String,
    "name": pl.String,
    "country": pl.String,
    "categories": pl.List(pl.String),     # subset of 1, 2A, 2B, 3, 4, national
    "kind": pl.String,                    # licence or registration
    "valid_from": pl.Date,
    "valid_to": pl.Date,                  # null: open-ended
    "activities": pl.List(pl.String),     # manufacture, trade, import, export, use
    "sector": pl.String,
}

AUTHORISATIONS: dict[str, Any] = {
    "id": pl.Int64,
    "number": pl.String,
    "operator_id": pl.Int64,              # the exporter
    "substance": pl.String,
    "quantity_kg": pl.Float64,
    "destination_country": pl.String,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
    "notification_required": pl.Boolean,
    "notified_at": UTC_TIME,              # pre-export notification sent; null if not
    "notification_deadline": UTC_TIME,    # the importing authority's answer is due
    "notification_status": pl.String,     # not_required, pending, confirmed, objected
    "responded_at": UTC_TIME,
}


@dataclass(frozen=True)
class Finding:
    """One check's result about one or more transactions, ready to become an alert.

    ``key`` identifies the finding across runs (kind plus the rows it is about), so running the
    checks again over the same register raises nothing new.
    """

    kind: str
    operator_id: int
    transaction_ids: tuple[int, ...]
    references: tuple[str, ...]
    score: float                          # 0..1
    severity: str                         # low, medium, high, critical
    title: str
    #: Each: rule, contribution, values, detail.
    reasons: list[dict[str, Any]] = field(default_factory=list)
    key: str = ""
