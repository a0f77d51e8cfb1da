"""Suspicious orders: new sales and exports scored on the customer, the substance and the terms.

The customer is the counterparty: ``op:<id>`` when it is a registered operator, else
``name:<lower-cased, stripped name>``; an order with neither has no customer, so the rules on
the customer's history and sector do not apply. Each rule that applies contributes its weight
from ``suspicious.weights``:

- ``quantity_above_history``: at least ``min_history`` earlier orders (sales and exports
  anywhere in the frame, strictly earlier) of the substance by this customer from this
  operator, and the quantity is more than ``history_factor`` times their mean;
- ``new_customer_category1``: category 1 and no earlier transaction of any kind between the
  operator and the customer (either way round when the customer is registered);
- ``cash_payment`` / ``crypto_payment``: the payment;
- ``high_risk_destination``: destination (else the counterparty's country) in
  ``high_risk_countries``; ``high_risk_transit``: a transit country in it;
- ``end_use_inconsistent``: the customer is registered with a sector listed in
  ``sector_end_uses``, the end use is given and contains none of the sector's words as a whole
  word;
- ``designer_precursor``, ``watch_list``: flags on the row.

Score ``min(1, sum of contributions)``; a ``suspicious_order`` from ``suspicious.threshold``,
severity high from 0.8, else medium. Reasons are listed by contribution, largest first.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from interdict.precursors.checks import DESCRIBED, describe, finding, kg, num, reason
from interdict.precursors.frames import Finding
from interdict.precursors.specs import CheckSettings

ORDERS = ["sale", "export"]
#: How each rule reads in a finding's title.
LABELS = {
    "quantity_above_history": "far above the customer's usual quantity",
    "new_customer_category1": "category 1 to a new customer",
    "cash_payment": "paid in cash",
    "crypto_payment": "paid in crypto-assets",
    "high_risk_destination": "high-risk destination",
    "high_risk_transit": "high-risk transit",
    "end_use_inconsistent": "end use unusual for the customer's sector",
    "designer_precursor": "designer precursor",
    "watch_list": "watch-listed substance",
}
EPSILON = 1e-9


CUSTOMER = ["operator_id", "customer_id", "customer_name"]


def _with_customer(frame: pl.DataFrame) -> pl.DataFrame:
    """The customer key: ``customer_id`` (-1 when unregistered) and ``customer_name`` ("" when
    registered, else the lower-cased stripped name; null when there is no customer)."""
    named = pl.col("counterparty").str.strip_chars().str.to_lowercase()
    registered = pl.col("counterparty_operator_id").is_not_null()
    return frame.with_columns(
        customer_id=pl.col("counterparty_operator_id").fill_null(-1),
        customer_name=pl.when(registered).then(pl.lit("")).when(named != "").then(named))


def suspicious_order(tx: pl.DataFrame, ops: pl.DataFrame, settings: CheckSettings
                     ) -> list[Finding]:
    s = settings.suspicious
    w = s.weights
    orders = _with_customer(
        tx.filter(pl.col("is_new").fill_null(False) & pl.col("kind").is_in(ORDERS)))
    if orders.is_empty():
        return []
    # Only the operators and customers of the new orders need a history; number the pairs
    # (operator, customer) and series (pair, substance) so that the work is on integers.
    pairs = (orders.filter(pl.col("customer_name").is_not_null()).select(CUSTOMER).unique()
             .with_row_index("pair"))
    orders = orders.join(pairs, on=CUSTOMER, how="left")
    narrow = tx.select("id", "operator_id", "counterparty_operator_id", "counterparty", "kind",
                       "substance", "occurred_at", "quantity_kg")
    keyed = _with_customer(narrow.join(pairs.select("operator_id").unique(), on="operator_id",
                                       how="semi")).join(pairs, on=CUSTOMER, how="inner")

    # Earlier orders of the substance, strictly before: rank among the series' times, and the
    # running total as it stood before the first order at the same instant.
    earlier = (keyed.filter(pl.col("kind").is_in(ORDERS))
               .with_columns(series=pl.struct("pair", "substance").rank("dense"))
               .sort("series", "occurred_at")
               .with_columns(earlier_orders=pl.col("occurred_at").rank("min").over("series") - 1,
                             before=pl.col("quantity_kg").fill_null(0.0).cum_sum().over("series")
                             - pl.col("quantity_kg").fill_null(0.0))
               .select("id", "earlier_orders",
                       earlier_kg=pl.col("before").first().over("series", "occurred_at")))
    # First transaction between operator and customer, recorded by either of them.
    mirrored = (narrow.filter(pl.col("counterparty_operator_id").is_not_null())
                .select(operator_id="counterparty_operator_id", customer_id="operator_id",
                        customer_name=pl.lit(""), occurred_at="occurred_at")
                .join(pairs, on=CUSTOMER, how="inner"))
    first = (pl.concat([keyed.select("pair", "occurred_at"),
                        mirrored.select("pair", "occurred_at")])
             .group_by("pair").agg(first_at=pl.col("occurred_at").min()))
    sectors = ops.select(counterparty_operator_id="id", sector="sector")

    risky = [c.upper() for c in s.high_risk_countries]
    country = pl.coalesce("destination_country", "counterparty_country").str.to_uppercase()
    payment = pl.col("payment").str.strip_chars().str.to_lowercase()
    end_use = pl.col("end_use").str.to_lowercase()
    consistent = pl.lit(None, dtype=pl.Boolean)
    for sector, words in s.sector_end_uses.items():
        if not words:  # no list, no judgement
            continue
        pattern = r"\b(?:" + "|".join(re.escape(x.lower()) for x in words) + r")\b"
        consistent = pl.when(pl.col("sector") == sector).then(end_use.str.contains(pattern)) \
            .otherwise(consistent)
    mean = pl.col("earlier_kg") / pl.col("earlier_orders")
    rules = {
        "quantity_above_history": (pl.col("earlier_orders") >= s.min_history)
        & (pl.col("quantity_kg") > s.history_factor * mean),
        "new_customer_category1": (pl.col("category") == "1")
        & pl.col("customer_name").is_not_null()
        & (pl.col("first_at").is_null() | (pl.col("first_at") >= pl.col("occurred_at"))),
        "cash_payment": payment == "cash",
        "crypto_payment": payment == "crypto",
        "high_risk_destination": country.is_in(risky),
        "high_risk_transit": pl.col("transit_countries")
        .list.eval(pl.element().str.to_uppercase().is_in(risky)).list.any(),
        "end_use_inconsistent": pl.col("end_use").str.strip_chars().str.len_chars().gt(0)
        & pl.col("sector").is_not_null() & ~consistent,
        "designer_precursor": pl.col("designer_precursor"),
        "watch_list": pl.col("watch_listed"),
    }
    scored = (orders
              .join(earlier, on="id", how="left")
              .join(first, on="pair", how="left")
              .join(sectors, on="counterparty_operator_id", how="left")
              .with_columns(country=country,
                            **{f"r_{k}": v.fill_null(False) for k, v in rules.items()})
              .with_columns(score=pl.sum_horizontal(
                  pl.col(f"r_{k}").cast(pl.Float64) * w[k] for k in rules))
              .filter(pl.col("score") >= s.threshold - EPSILON)
              .select(*DESCRIBED, "category", "counterparty", "counterparty_operator_id",
                      "earlier_orders", "earlier_kg", "payment",
                      "destination_country", "counterparty_country", "country",
                      "end_use", "sector", pl.col("^r_.*$"),
                      transit_countries=pl.col("transit_countries").list.join(", ")))
    customers = dict(zip(ops["id"].to_list(), ops["licence"].to_list(), strict=True))
    out = []
    for row in scored.iter_rows(named=True):
        reasons = [_reason(rule, w[rule], row, settings) for rule in rules
                   if row[f"r_{rule}"] and w[rule] > 0]
        reasons.sort(key=lambda r: (-r["contribution"], r["rule"]))
        score = min(1.0, sum(r["contribution"] for r in reasons))
        who = customers.get(row["counterparty_operator_id"]) or row["counterparty"] \
            or "an unnamed customer"
        out.append(finding(
            "suspicious_order", row["operator_id"], [(row["id"], row["reference"])], score,
            "high" if score >= 0.8 - EPSILON else "medium",
            f"{describe(row)} to {who} is suspicious: "
            + ", ".join(LABELS[r["rule"]] for r in reasons),
            reasons))
    return out


def _reason(rule: str, weight: float, row: dict[str, Any], settings: CheckSettings
            ) -> dict[str, Any]:
    s = settings.suspicious
    values: dict[str, Any]
    if rule == "quantity_above_history":
        mean = row["earlier_kg"] / row["earlier_orders"]
        values = {"quantity_kg": num(row["quantity_kg"]), "earlier_orders": row["earlier_orders"],
                  "mean_earlier_kg": num(mean), "history_factor": s.history_factor}
        detail = (f"{kg(row['quantity_kg'])} kg is {row['quantity_kg'] / mean:.1f} times the "
                  f"customer's mean earlier order of {kg(mean)} kg "
                  f"({row['earlier_orders']} orders).")
    elif rule == "new_customer_category1":
        values = {"category": row["category"], "customer": row["counterparty"],
                  "customer_operator_id": row["counterparty_operator_id"],
                  "earlier_transactions": 0}
        detail = "A category 1 substance to a customer this operator never dealt with before."
    elif rule in ("cash_payment", "crypto_payment"):
        values = {"payment": row["payment"]}
        detail = ("Paid in cash, which leaves no banking trail." if rule == "cash_payment"
                  else "Paid in crypto-assets, which are hard to trace to a person.")
    elif rule == "high_risk_destination":
        values = {"destination_country": row["destination_country"],
                  "counterparty_country": row["counterparty_country"]}
        detail = f"Goes to {row['country']}, a country on the high-risk list."
    elif rule == "high_risk_transit":
        risky = {x.upper() for x in s.high_risk_countries}
        hits = [c for c in (row["transit_countries"] or "").split(", ") if c.upper() in risky]
        values = {"transit_countries": row["transit_countries"], "high_risk": ", ".join(hits)}
        detail = f"Transits through {', '.join(hits)}, on the high-risk list."
    elif rule == "end_use_inconsistent":
        words = s.sector_end_uses[row["sector"]]
        values = {"end_use": row["end_use"], "sector": row["sector"],
                  "plausible_end_uses": ", ".join(words)}
        detail = (f"The stated end use '{row['end_use']}' fits none of the uses expected in "
                  f"the customer's sector ({row['sector']}).")
    elif rule == "designer_precursor":
        values = {"designer_precursor": True, "substance": row["substance"]}
        detail = (f"{row['substance']} was flagged as a designer precursor (a non-scheduled "
                  f"substance close to a scheduled one).")
    else:
        values = {"watch_listed": True, "substance": row["substance"]}
        detail = f"{row['substance']} is on a monitoring (watch) list."
    return reason(rule, weight, values, detail)
