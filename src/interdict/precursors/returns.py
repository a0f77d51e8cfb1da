"""Operators' periodic returns and stock series, computed from the register.

A return (273/2004 art. 8(2) and national rules such as Lithuania's PTAKIS) states per
substance what an operator produced, acquired, used, imported, exported and held in stock over
a quarter or a year. Here it is a read of the register, never typed in twice, so it always
agrees with the transactions behind it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import polars as pl

from interdict.precursors.frames import INFLOWS, OUTFLOWS

PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")
#: Columns of a return: the register's kinds grouped as the return forms ask for them.
LINES = {"produced": ("production",), "acquired": ("purchase",), "imported": ("import",),
         "used": ("consumption",), "sold": ("sale",), "exported": ("export",),
         "lost": ("loss",), "destroyed": ("destruction",)}


def period_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """'2025' or '2025-Q3' → [start, end) in UTC."""
    match = PERIOD.match(period.strip())
    if not match:
        raise ValueError("a period is a year (2025) or a quarter (2025-Q3)")
    year = int(match.group(1))
    if match.group(2):
        quarter = int(match.group(2))
        start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=dt.UTC)
        end = dt.datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1,
                          tzinfo=dt.UTC)
    else:
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return start, end


def _last_count(tx: pl.DataFrame, before: dt.datetime, name: str) -> pl.DataFrame:
    """Per substance, the last stock count strictly before ``before`` (summed over sites)."""
    counts = tx.filter((pl.col("kind") == "stock_count") & (pl.col("occurred_at") < before))
    return (counts.sort("occurred_at").group_by("substance", "site").last()
            .group_by("substance").agg(pl.col("quantity_kg").sum().alias(name)))


def operator_return(tx: pl.DataFrame, period: str) -> list[dict[str, Any]]:
    """One line per substance for one operator's transactions (``frames.TRANSACTIONS``)."""
    start, end = period_bounds(period)
    inside = tx.filter((pl.col("occurred_at") >= start) & (pl.col("occurred_at") < end))
    sums = inside.group_by("substance").agg(
        [pl.col("quantity_kg").filter(pl.col("kind").is_in(kinds)).sum().alias(line)
         for line, kinds in LINES.items()])
    table = tx.select("substance").unique().join(sums, on="substance", how="left") \
        .join(_last_count(tx, start, "opening_stock"), on="substance", how="left") \
        .join(_last_count(tx, end, "closing_stock"), on="substance", how="left")
    table = table.with_columns(pl.col(list(LINES)).fill_null(0.0))
    table = table.with_columns(
        (pl.col("opening_stock").fill_null(0.0)
         + pl.sum_horizontal([pl.col(c) for c in ("produced", "acquired", "imported")])
         - pl.sum_horizontal([pl.col(c) for c in ("used", "sold", "exported", "lost",
                                                   "destroyed")])).alias("book_stock"))
    active = table.filter(pl.sum_horizontal([pl.col(c) for c in LINES]) > 0
                          | pl.col("closing_stock").is_not_null())
    return [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
            for row in active.sort("substance").to_dicts()]


def authority_summary(tx: pl.DataFrame, period: str) -> list[dict[str, Any]]:
    """Per substance across every operator: the authority's national picture."""
    start, end = period_bounds(period)
    inside = tx.filter((pl.col("occurred_at") >= start) & (pl.col("occurred_at") < end))
    table = inside.group_by("substance", "category").agg(
        pl.col("operator_id").n_unique().alias("operators"),
        pl.len().alias("transactions"),
        *[pl.col("quantity_kg").filter(pl.col("kind").is_in(kinds)).sum().alias(line)
          for line, kinds in LINES.items()])
    return [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
            for row in table.sort("category", "substance").to_dicts()]


def stock_series(tx: pl.DataFrame) -> dict[str, dict[str, list[list[Any]]]]:
    """Per substance and site: the book balance after each movement, and the counts.

    The book balance restarts from each count, so the chart shows where counts and books part.
    """
    out: dict[str, dict[str, list[list[Any]]]] = {}
    signed = tx.sort("occurred_at").with_columns(
        pl.when(pl.col("kind").is_in(INFLOWS)).then(pl.col("quantity_kg"))
        .when(pl.col("kind").is_in(OUTFLOWS)).then(-pl.col("quantity_kg"))
        .otherwise(0.0).alias("delta"))
    for (substance, site), part in signed.group_by("substance", "site", maintain_order=True):
        book: list[list[Any]] = []
        counted: list[list[Any]] = []
        level = 0.0
        for when, kind, qty, delta in part.select("occurred_at", "kind", "quantity_kg",
                                                  "delta").iter_rows():
            stamp = when.isoformat()
            if kind == "stock_count":
                counted.append([stamp, round(qty, 3)])
                book.append([stamp, round(level, 3)])
                level = qty
            else:
                level += delta
            book.append([stamp, round(level, 3)])
        out[f"{substance} ({site})" if site else str(substance)] = {"book": book,
                                                                    "counted": counted}
    return out
