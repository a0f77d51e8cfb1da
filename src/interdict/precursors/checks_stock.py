"""Stock balances: does each stock count follow from the previous one and the movements between?

Per (operator, site, substance) the rows are ordered by ``occurred_at``; at the same instant the
movements come before the count, since a count states the stock after everything up to its
instant (then by id). Between consecutive counts c0 (at t0) and c1 (at t1)::

    expected = c0 + sum(inflows) - sum(outflows)    over t0 < occurred_at <= t1
    gap      = expected - c1                         (positive: stock missing)

A ``stock_discrepancy`` when ``|gap| > max(stock.tolerance_kg, stock.tolerance_rel *
max(expected, c1))``, about both counts. Score ``min(1, 0.5 + |gap| / max(expected, c1, 1))``;
severity high when stock is missing, medium for a surplus. Movements before the first count,
and series with fewer than two counts, say nothing.
"""

from __future__ import annotations

import polars as pl

from interdict.precursors.checks import (
    DESCRIBED,
    describe,
    finding,
    iso_text,
    kg,
    minute,
    num,
    reason,
)
from interdict.precursors.frames import INFLOWS, OUTFLOWS, Finding
from interdict.precursors.specs import CheckSettings

KEYS = ["operator_id", "site", "substance"]


def stock_discrepancy(tx: pl.DataFrame, settings: CheckSettings) -> list[Finding]:
    q = pl.col("quantity_kg")
    rows = (tx.select("id", *KEYS, "kind", "quantity_kg", "occurred_at")
            .with_columns(site=pl.col("site").fill_null(""),
                          is_count=(pl.col("kind") == "stock_count") & q.is_not_null(),
                          inflow=pl.when(pl.col("kind").is_in(INFLOWS)).then(q.fill_null(0.0))
                          .otherwise(0.0),
                          outflow=pl.when(pl.col("kind").is_in(OUTFLOWS)).then(q.fill_null(0.0))
                          .otherwise(0.0)))
    # Number the series with two counts or more, then sort on integers only.
    series = (rows.filter("is_count").group_by(KEYS).len()
              .filter(pl.col("len") >= 2).select(KEYS).with_row_index("series"))
    rows = (rows.join(series, on=KEYS, how="inner")
            .select("id", "series", "occurred_at", "is_count", "quantity_kg", "inflow", "outflow")
            .sort("series", "occurred_at", "is_count", "id")
            # every count numbered across all series; a movement gets the number of the count
            # before it, so the movements of one period share a number
            .with_columns(seg=pl.col("is_count").cast(pl.Int64).cum_sum()))
    moves = (rows.filter(~pl.col("is_count"))
             .group_by("seg")
             .agg(inflow_kg=pl.col("inflow").sum(), outflow_kg=pl.col("outflow").sum(),
                  movements=pl.len())
             .with_columns(seg=pl.col("seg") + 1))  # the count that closes the period
    same = pl.col("series").shift(1) == pl.col("series")
    prev = [pl.when(same).then(pl.col(c).shift(1)).alias(f"prev_{c}")
            for c in ("id", "quantity_kg", "occurred_at")]
    periods = (rows.filter("is_count").with_columns(prev)
               .filter(pl.col("prev_id").is_not_null())  # a series' first count opens it
               .join(moves, on="seg", how="left")
               .with_columns(pl.col("inflow_kg", "outflow_kg").fill_null(0.0),
                             pl.col("movements").fill_null(0))
               .with_columns(expected=pl.col("prev_quantity_kg") + pl.col("inflow_kg")
                             - pl.col("outflow_kg"))
               .with_columns(gap=pl.col("expected") - q)
               .filter(pl.col("gap").abs() > pl.max_horizontal(
                   pl.lit(settings.stock.tolerance_kg),
                   settings.stock.tolerance_rel * pl.max_horizontal("expected", q)))
               .select("id", "prev_id", "prev_quantity_kg", "prev_occurred_at", "inflow_kg",
                       "outflow_kg", "movements", "expected", "gap")
               .join(tx.select(*DESCRIBED, "occurred_at", site=pl.col("site").fill_null("")),
                     on="id", how="inner")
               .join(tx.select(prev_id="id", prev_reference="reference"), on="prev_id",
                     how="inner")
               .with_columns(iso_text("prev_occurred_at", "occurred_at")))
    out = []
    for row in periods.iter_rows(named=True):
        gap, expected, counted = row["gap"], row["expected"], row["quantity_kg"]
        score = min(1.0, 0.5 + abs(gap) / max(expected, counted, 1.0))
        what = "missing" if gap > 0 else "surplus"
        site = f" at site {row['site']}" if row["site"] else ""
        before, expected_kg, gap_kg = kg(row["prev_quantity_kg"]), kg(expected), kg(abs(gap))
        values = {"site": row["site"], "previous_count_kg": num(row["prev_quantity_kg"]),
                  "inflow_kg": num(row["inflow_kg"]), "outflow_kg": num(row["outflow_kg"]),
                  "expected_kg": num(expected), "counted_kg": num(counted),
                  "missing_kg": num(gap), "movements": row["movements"],
                  "period_start": row["prev_occurred_at"], "period_end": row["occurred_at"],
                  "previous_count_reference": row["prev_reference"]}
        detail = (f"From the count of {before} kg on {minute(row['prev_occurred_at'])} and "
                  f"{row['movements']} movement{'' if row['movements'] == 1 else 's'} "
                  f"(+{kg(row['inflow_kg'])} kg, "
                  f"-{kg(row['outflow_kg'])} kg) the stock should be {expected_kg} kg, but "
                  f"{kg(counted)} kg was counted: {gap_kg} kg "
                  f"{'missing' if gap > 0 else 'more than expected'}.")
        out.append(finding(
            "stock_discrepancy", row["operator_id"],
            [(row["prev_id"], row["prev_reference"]), (row["id"], row["reference"])], score,
            "high" if gap > 0 else "medium",
            f"{describe(row)}{site}: {gap_kg} kg {what} since count "
            f"{row['prev_reference']} (expected {expected_kg} kg)",
            [reason(f"stock_{what}", score, values, detail)]))
    return out
