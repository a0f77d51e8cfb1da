"""Two-sided matching of transfers between registered operators.

A sale by S to registered operator B should meet B's purchase from S within
``matching.window_hours``. Every sale and purchase in the frame takes part (old rows too: a new
purchase may be the other side of an old sale).

Pairs are made one to one, nearest in time first (ties: lower sale id, then lower purchase
id), in two passes:

1. same substance and quantities within ``max(quantity_tolerance_kg, quantity_tolerance_rel *
   sale kg)``: a match, nothing to report;
2. what is left, same operator pair within the window but another quantity or substance
   (same substance first): ``quantity_mismatch`` about both rows, score ``min(1, 0.4 + rel)``
   with ``rel = |sale kg - purchase kg| / sale kg``; severity high when ``rel > 0.10`` or the
   substance differs, else medium.

A sale or purchase still alone once ``as_of >= occurred_at + window`` is an
``unmatched_transfer`` (score 0.8, high) about the seller (sale) or the buyer (purchase); before
that the other side may still be registered.

Candidate pairs come from an equi-join on (seller, buyer, time bucket of one window, the
purchase copied into its neighbouring buckets), so the work grows with the transfers a pair of
operators makes within one window, not with all their transfers. The one-to-one pairing keeps
every edge that is the best of both its sale and its purchase, drops their other edges and
repeats: the same result as walking all edges in order, which it falls back to after a few
rounds (long chains of near-ties).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from interdict.precursors.checks import describe, finding, iso_text, kg, num, reason
from interdict.precursors.frames import UTC_TIME, Finding
from interdict.precursors.specs import CheckSettings

ROUNDS = 12
FIELDS = ("id", "operator_id", "operator_licence", "reference", "kind", "substance", "category",
          "quantity_kg", "occurred_at", "counterparty_operator_id", "counterparty")


def transfer_matching(tx: pl.DataFrame, ops: pl.DataFrame, settings: CheckSettings, *,
                      as_of: datetime) -> list[Finding]:
    m = settings.matching
    window_us = max(1, int(m.window_hours * 3_600_000_000))
    both = (tx.select(FIELDS)
            .filter(pl.col("kind").is_in(["sale", "purchase"])
                    & pl.col("counterparty_operator_id").is_not_null())
            .with_columns(t=pl.col("occurred_at").dt.epoch("us"))
            .with_columns(bucket=pl.col("t") // window_us))
    sales = both.filter(pl.col("kind") == "sale")
    purchases = both.filter(pl.col("kind") == "purchase")
    s_cols = sales.select(s_id="id", seller="operator_id", buyer="counterparty_operator_id",
                          s_sub="substance", s_q="quantity_kg", s_t="t", bucket="bucket")
    p_cols = purchases.select(
        p_id="id", buyer="operator_id", seller="counterparty_operator_id", p_sub="substance",
        p_q="quantity_kg", p_t="t",
        bucket=pl.concat_list(pl.col("bucket") - 1, "bucket", pl.col("bucket") + 1),
    ).explode("bucket", empty_as_null=False)
    cands = (s_cols.join(p_cols, on=["seller", "buyer", "bucket"], how="inner")
             .with_columns(dt=(pl.col("s_t") - pl.col("p_t")).abs())
             .filter(pl.col("dt") <= window_us)
             .with_columns(
                 same_sub=(pl.col("s_sub") == pl.col("p_sub")).fill_null(False),
                 dq=(pl.col("s_q") - pl.col("p_q")).abs()))
    tolerance = pl.max_horizontal(pl.lit(m.quantity_tolerance_kg),
                                  m.quantity_tolerance_rel * pl.col("s_q"))
    agree = pl.col("same_sub") & (pl.col("dq") <= tolerance).fill_null(False)
    matched = _pair(cands.filter(agree), ["dt"])
    rest = (cands.join(matched.select("s_id"), on="s_id", how="anti")
            .join(matched.select("p_id"), on="p_id", how="anti"))
    mismatched = _pair(rest, ["differs", "dt"], differs=~pl.col("same_sub"))

    licences = dict(zip(ops["id"].to_list(), ops["licence"].to_list(), strict=True))
    out = _mismatches(mismatched, sales, purchases, licences)
    paired_s = pl.concat([matched.select(id="s_id"), mismatched.select(id="s_id")])
    paired_p = pl.concat([matched.select(id="p_id"), mismatched.select(id="p_id")])
    due = pl.lit(as_of - timedelta(hours=m.window_hours)).cast(UTC_TIME)
    alone = pl.concat([sales.join(paired_s, on="id", how="anti"),
                       purchases.join(paired_p, on="id", how="anti")])
    alone = (alone.filter(pl.col("occurred_at") <= due).select(FIELDS)
             .with_columns(iso_text("occurred_at")))
    for row in alone.iter_rows(named=True):
        out.append(_unmatched(row, licences, m.window_hours))
    return out


def _pair(cands: pl.DataFrame, order: list[str], **extra: pl.Expr) -> pl.DataFrame:
    """One-to-one pairs (``s_id``, ``p_id`` and the candidates' columns), best edges first."""
    ranked = (cands.with_columns(**extra).sort([*order, "s_id", "p_id"])
              .with_row_index("rank"))
    accepted = []
    for _ in range(ROUNDS):
        if ranked.is_empty():
            break
        best = ranked.filter((pl.col("rank") == pl.col("rank").min().over("s_id"))
                             & (pl.col("rank") == pl.col("rank").min().over("p_id")))
        accepted.append(best)
        ranked = (ranked.join(best.select("s_id"), on="s_id", how="anti")
                  .join(best.select("p_id"), on="p_id", how="anti"))
    if not ranked.is_empty():  # long chains of near-ties: finish edge by edge, in rank order
        used_s: set[int] = set()
        used_p: set[int] = set()
        keep = []
        for rank, s, p in ranked.select("rank", "s_id", "p_id").iter_rows():
            if s not in used_s and p not in used_p:
                used_s.add(s)
                used_p.add(p)
                keep.append(rank)
        accepted.append(ranked.filter(pl.col("rank").is_in(keep)))
    if not accepted:
        return ranked
    return pl.concat(accepted)


def _mismatches(pairs: pl.DataFrame, sales: pl.DataFrame, purchases: pl.DataFrame,
                licences: dict[int, str]) -> list[Finding]:
    if pairs.is_empty():
        return []
    rows = (pairs.select("s_id", "p_id")
            .join(sales.select(pl.col(FIELDS).name.prefix("s_")), on="s_id")
            .join(purchases.select(pl.col(FIELDS).name.prefix("p_")), on="p_id")
            .with_columns(iso_text("s_occurred_at", "p_occurred_at")))
    out = []
    for row in rows.iter_rows(named=True):
        sale = {k[2:]: v for k, v in row.items() if k.startswith("s_")}
        buy = {k[2:]: v for k, v in row.items() if k.startswith("p_")}
        qs, qp = sale["quantity_kg"] or 0.0, buy["quantity_kg"] or 0.0
        rel = abs(qs - qp) / qs if qs > 0 else (1.0 if qp != qs else 0.0)
        same = sale["substance"] == buy["substance"]
        differs = [w for w, d in (("substance", not same), ("quantity", qs != qp)) if d]
        differs = differs or ["quantity"]  # a quantity that is missing
        rule = "_and_".join(differs) + ("_differ" if len(differs) > 1 else "_differs")
        score = min(1.0, 0.4 + rel)
        buyer = licences.get(buy["operator_id"]) or buy["operator_licence"]
        parts = []
        if not same:
            parts.append(f"the sale is of {sale['substance']}, the purchase of "
                         f"{buy['substance']}")
        parts.append(f"the sale states {kg(qs)} kg, the purchase {kg(qp)} kg "
                     f"({rel:.1%} apart)")
        values: dict[str, Any] = {
            "sale_reference": sale["reference"], "purchase_reference": buy["reference"],
            "sale_substance": sale["substance"], "purchase_substance": buy["substance"],
            "sale_kg": num(qs), "purchase_kg": num(qp), "difference_kg": num(abs(qs - qp)),
            "relative_difference": num(rel), "sale_occurred_at": sale["occurred_at"],
            "purchase_occurred_at": buy["occurred_at"],
            "disagrees_on": " and ".join(differs)}
        out.append(finding(
            "quantity_mismatch", sale["operator_id"],
            [(sale["id"], sale["reference"]), (buy["id"], buy["reference"])], score,
            "high" if rel > 0.10 or not same else "medium",
            f"{describe(sale)} does not agree with purchase {buy['reference']} of "
            f"{kg(qp)} kg {buy['substance']} by {buyer}",
            [reason(rule, score, values,
                    f"Seller and buyer recorded this transfer differently: {'; '.join(parts)}.")]))
    return out


def _unmatched(row: dict[str, Any], licences: dict[int, str], window: float) -> Finding:
    other = licences.get(row["counterparty_operator_id"]) or row["counterparty"] \
        or f"operator {row['counterparty_operator_id']}"
    if row["kind"] == "sale":
        missing, title_end = "purchase", f"has no matching purchase by {other}"
        detail = (f"{other} registered no purchase of {row['substance']} from the seller that "
                  f"matches this sale within {kg(window)} hours of it.")
    else:
        missing, title_end = "sale", f"has no matching sale by {other}"
        detail = (f"{other} registered no sale of {row['substance']} to the buyer that "
                  f"matches this purchase within {kg(window)} hours of it.")
    values = {"reference": row["reference"], "kind": row["kind"],
              "substance": row["substance"], "quantity_kg": num(row["quantity_kg"]),
              "occurred_at": row["occurred_at"],
              "counterparty_operator_id": row["counterparty_operator_id"],
              "counterparty_licence": other, "window_hours": window}
    return finding("unmatched_transfer", row["operator_id"], [(row["id"], row["reference"])],
                   0.8, "high", f"{describe(row)} {title_end}",
                   [reason(f"no_matching_{missing}", 0.8, values, detail)])
