"""Exports that need an export authorisation (Regulation (EC) No 111/2005 arts. 11-13).

A new export needs one when its category is in ``exports.authorisation_categories``, or it is
category 3 to a destination in ``exports.category3_destinations``. The destination is
``destination_country``, else the counterparty's country.

An authorisation is usable for an export with the same operator, substance and destination
whose validity (``valid_from`` to ``valid_to``, null = open) covers the export's day. Under
each authorisation the exports of the frame it covers are added up in time order (then by
id); of several usable ones the first by ``valid_from`` (then id) still within its quantity
is taken, else the first. One ``export_without_authorisation`` finding per export lists every
reason that applies, each contributing 0.9 (1.0 for ``shipped_after_objection``):

- ``no_authorisation``: none usable;
- ``quantity_exceeded``: the running total passes ``quantity_kg`` plus the matching tolerance
  ``max(quantity_tolerance_kg, quantity_tolerance_rel * quantity_kg)``;
- ``notification_missing``: a pre-export notification is required (by the authorisation, by
  ``exports.notification_categories`` or by ``exports.notification_destinations``) and none
  was sent;
- ``shipped_before_deadline``: shipped before the importing authority's answer was due while
  the status is pending or unknown, or before an objection that came later (a confirmed
  notification allows earlier shipment);
- ``shipped_after_objection``: status objected and shipped at or after the answer (or the
  answer's time is unknown).

Score: the largest contribution. Severity high, critical for category 1.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from interdict.precursors.checks import (
    DESCRIBED,
    date_text,
    describe,
    finding,
    iso_text,
    kg,
    minute,
    num,
    reason,
)
from interdict.precursors.frames import Finding
from interdict.precursors.specs import CheckSettings

KEYS = ["operator_id", "substance", "destination"]


def export_without_authorisation(tx: pl.DataFrame, auths: pl.DataFrame,
                                 settings: CheckSettings) -> list[Finding]:
    e = settings.exports
    exports = (tx.drop("transit_countries").filter(pl.col("kind") == "export")
               .with_columns(destination=pl.coalesce("destination_country",
                                                     "counterparty_country"),
                             on_day=pl.col("occurred_at").dt.date()))
    needed = exports.filter(
        pl.col("is_new").fill_null(False)
        & (pl.col("category").is_in(e.authorisation_categories)
           | ((pl.col("category") == "3")
              & pl.col("destination").is_in(e.category3_destinations))).fill_null(False))
    if needed.is_empty():
        return []
    a = auths.select(
        auth_id="id", number="number", operator_id="operator_id", substance="substance",
        destination="destination_country", authorised_kg="quantity_kg", valid_from="valid_from",
        valid_to="valid_to", notification_required="notification_required",
        notified_at="notified_at", notification_deadline="notification_deadline",
        notification_status="notification_status", responded_at="responded_at")
    covers = ((pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("on_day")))
              & (pl.col("valid_to").is_null() | (pl.col("on_day") <= pl.col("valid_to"))))
    tolerance = pl.max_horizontal(pl.lit(settings.matching.quantity_tolerance_kg),
                                  settings.matching.quantity_tolerance_rel
                                  * pl.col("authorised_kg"))
    # Running total of every export each authorisation covers, in time order.
    used = (exports.select("id", *KEYS, "occurred_at", "on_day", "quantity_kg")
            .join(a, on=KEYS, how="inner").filter(covers)
            .sort("auth_id", "occurred_at", "id")
            .with_columns(used_kg=pl.col("quantity_kg").fill_null(0.0).cum_sum().over("auth_id"),
                          tolerance_kg=tolerance)
            .with_columns(exceeded=(pl.col("used_kg") > pl.col("authorised_kg")
                                    + pl.col("tolerance_kg")).fill_null(False))
            .sort("id", "exceeded", "valid_from", "auth_id", nulls_last=False)
            .unique("id", keep="first", maintain_order=True)
            .drop(*KEYS, "occurred_at", "on_day", "quantity_kg"))
    rows = needed.join(used, on="id", how="left")
    notify_by = (pl.when(pl.col("notification_required").fill_null(False))
                 .then(pl.lit("authorisation"))
                 .when(pl.col("category").is_in(e.notification_categories))
                 .then(pl.lit("category"))
                 .when(pl.col("destination").is_in(e.notification_destinations))
                 .then(pl.lit("destination")))
    status = pl.col("notification_status")
    authorised = pl.col("auth_id").is_not_null()
    rows = rows.with_columns(
        r_no_authorisation=~authorised,
        r_quantity_exceeded=authorised & pl.col("exceeded"),
        r_notification_missing=authorised & notify_by.is_not_null()
        & pl.col("notified_at").is_null(),
        r_shipped_before_deadline=authorised
        & (status.is_null() | (status == "pending")
           | ((status == "objected") & (pl.col("occurred_at") < pl.col("responded_at"))))
        & (pl.col("occurred_at") < pl.col("notification_deadline")).fill_null(False),
        r_shipped_after_objection=authorised & (status == "objected")
        & (pl.col("responded_at").is_null() | (pl.col("occurred_at")
                                               >= pl.col("responded_at"))),
        notify_by=notify_by,
    ).filter(pl.any_horizontal(pl.col("^r_.*$").fill_null(False))).with_columns(
        iso_text("occurred_at", "notification_deadline", "responded_at")
    ).select(*DESCRIBED, "category", "destination", "on_day", "occurred_at", "number",
             "valid_from", "valid_to", "authorised_kg", "used_kg", "tolerance_kg",
             "notify_by", "notification_status", "notification_deadline",
             "responded_at", pl.col("^r_.*$")
    ).with_columns(date_text("on_day", "valid_from", "valid_to"))
    out = []
    for row in rows.iter_rows(named=True):
        found = sorted((_reason(rule[2:], row) for rule in row
                        if rule.startswith("r_") and row[rule]),
                       key=lambda sr: (-sr[1]["contribution"], sr[1]["rule"]))
        score = max(r["contribution"] for _, r in found)
        dest = row["destination"] or "an unknown destination"
        out.append(finding(
            "export_without_authorisation", row["operator_id"], [(row["id"], row["reference"])],
            score, "critical" if row["category"] == "1" else "high",
            f"{describe(row)} to {dest}: " + "; ".join(summary for summary, _ in found),
            [r for _, r in found]))
    return out


def _reason(rule: str, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A short summary for the title, and the reason."""
    auth = {"authorisation": row["number"], "valid_from": row["valid_from"],
            "valid_to": row["valid_to"]}
    values: dict[str, Any]
    score = 0.9
    if rule == "no_authorisation":
        summary = "no usable export authorisation"
        values = {"destination_country": row["destination"], "substance": row["substance"],
                  "date": row["on_day"], "category": row["category"]}
        detail = (f"No export authorisation of this operator for {row['substance']} to "
                  f"{row['destination'] or 'the destination'} is valid on "
                  f"{row['on_day']}.")
    elif rule == "quantity_exceeded":
        summary = (f"exports under {row['number']} reach {kg(row['used_kg'])} of "
                   f"{kg(row['authorised_kg'])} kg")
        values = auth | {"authorised_kg": num(row["authorised_kg"]),
                         "used_kg": num(row["used_kg"]),
                         "tolerance_kg": num(row["tolerance_kg"])}
        detail = (f"With this export, exports under authorisation {row['number']} add up to "
                  f"{kg(row['used_kg'])} kg, more than the {kg(row['authorised_kg'])} kg "
                  f"authorised.")
    elif rule == "notification_missing":
        summary = "no pre-export notification sent"
        why = {"authorisation": "its authorisation requires one",
               "category": f"every category {row['category']} export needs one",
               "destination": f"{row['destination']} asked to be notified of every export"}
        values = auth | {"notification_required_by": row["notify_by"], "notified_at": None,
                         "category": row["category"], "destination_country": row["destination"]}
        detail = (f"No pre-export notification was sent to the importing country's authority, "
                  f"but {why[row['notify_by']]}.")
    elif rule == "shipped_before_deadline":
        summary = "shipped before the importing authority's answer was due"
        values = auth | {"notification_status": row["notification_status"],
                         "occurred_at": row["occurred_at"],
                         "notification_deadline": row["notification_deadline"]}
        detail = (f"Shipped on {minute(row['occurred_at'])}, before the importing "
                  f"authority's answer was due ({minute(row['notification_deadline'])}) and "
                  f"without its confirmation.")
    else:
        score = 1.0
        summary = "shipped after the importing authority objected"
        values = auth | {"notification_status": row["notification_status"],
                         "occurred_at": row["occurred_at"],
                         "responded_at": row["responded_at"]}
        detail = ("Shipped although the importing country's authority objected to the "
                  "export.")
    return summary, reason(rule, score, values, detail)
