"""The precursor register's checks: pure functions of frames and settings to :class:`Finding`\\ s.

:func:`run_checks` is the entry point. Every check is vectorised in Polars over the whole frame;
Python only builds the ``Finding`` of each row that is one. Nothing here reads the database or
the clock: ``as_of`` is "now" for the checks that wait for something.

Which rows each check reads, and its score (always in [0, 1]):

- ``late_registration`` (new rows): ``delay = registered_at - occurred_at`` in hours, ``limit =
  late_after_hours``; a finding when ``delay > limit``. Score ``0.3 + 0.7 * min(1, (delay -
  limit) / (6 * limit))``; severity low up to ``3 * limit``, medium beyond.
- ``unlicensed_counterparty`` (new domestic sales and purchases of the licence categories): the
  counterparty is not a registered operator, its licence is not valid on the day, or it does
  not hold the category. Score 0.9; severity high, critical for category 1.
- ``quantity_mismatch`` (every sale and purchase between registered operators, see
  :mod:`.checks_transfers`): ``rel = |sale kg - purchase kg| / sale kg``; score ``min(1, 0.4 +
  rel)``; severity medium, high when ``rel > 0.10`` or the substances differ.
- ``unmatched_transfer``: a sale or purchase left without its other side once the matching
  window has passed. Score 0.8, severity high.
- ``stock_discrepancy`` (every stock count, see :mod:`.checks_stock`): ``gap = expected -
  counted``; score ``min(1, 0.5 + |gap| / max(expected, counted, 1))``; severity high when
  stock is missing (``gap > 0``), medium for a surplus.
- ``suspicious_order`` (new sales and exports, see :mod:`.checks_orders`): score ``min(1, sum of
  the weights of the rules that apply)``; reported from ``suspicious.threshold``; severity high
  from 0.8, else medium.
- ``export_without_authorisation`` (new exports that need an authorisation, see
  :mod:`.checks_exports`): each reason contributes 0.9, or 1.0 for shipping after an
  objection; the score is the largest contribution. Severity high, critical for category 1.

Every reason is ``{"rule", "contribution", "values", "detail"}``; for a check with one reason
its contribution is the score. ``key`` is ``"<kind>:<sorted ids joined by ->"``, so the same
register rows give the same key on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from interdict.precursors.frames import AUTHORISATIONS, OPERATORS, TRANSACTIONS, Finding
from interdict.precursors.specs import CheckSettings

US_PER_HOUR = 3_600_000_000

__all__ = ["run_checks"]


def run_checks(transactions: pl.DataFrame, operators: pl.DataFrame,
               authorisations: pl.DataFrame, settings: CheckSettings, *,
               as_of: datetime) -> list[Finding]:
    """Every check over the frames; findings in a stable order (kind, operator, rows)."""
    from interdict.precursors import (  # the check modules use this module's helpers
        checks_exports,
        checks_orders,
        checks_stock,
        checks_transfers,
    )

    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    as_of = as_of.astimezone(UTC)
    tx = conform(transactions, TRANSACTIONS)
    ops = conform(operators, OPERATORS)
    auths = conform(authorisations, AUTHORISATIONS)
    findings = [
        *late_registration(tx, settings),
        *unlicensed_counterparty(tx, ops, settings),
        *checks_transfers.transfer_matching(tx, ops, settings, as_of=as_of),
        *checks_stock.stock_discrepancy(tx, settings),
        *checks_orders.suspicious_order(tx, ops, settings),
        *checks_exports.export_without_authorisation(tx, auths, settings),
    ]
    findings.sort(key=lambda f: (f.kind, f.operator_id, f.transaction_ids))
    return findings


# --- shared by the check modules ---------------------------------------------------------------


def conform(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """The frame with exactly the schema's columns and types (an empty frame may lack them)."""
    if frame.is_empty() and set(frame.columns) != set(schema):
        return pl.DataFrame(schema=dict(schema))
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def hours_between(later: str | pl.Expr, earlier: str | pl.Expr) -> pl.Expr:
    a = pl.col(later) if isinstance(later, str) else later
    b = pl.col(earlier) if isinstance(earlier, str) else earlier
    return (a - b).dt.total_microseconds() / US_PER_HOUR


def kg(quantity: float | None) -> str:
    """A quantity for a title: ``120``, ``0.25``, ``1250.5`` (at most three decimals)."""
    if quantity is None:
        return "?"
    text = f"{quantity:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def num(value: float | None, digits: int = 6) -> float | None:
    """A float for a reason's values: rounded so that sums do not show float noise."""
    return None if value is None else round(float(value), digits)


def iso_text(*columns: str) -> list[pl.Expr]:
    """UTC timestamp columns as ISO 8601 text, as ``datetime.isoformat`` writes them.

    Done in Polars before rows reach Python: creating aware datetimes row by row is slow.
    """
    out = []
    for name in columns:
        c = pl.col(name)
        out.append(pl.when(c.dt.microsecond() == 0)
                   .then(c.dt.to_string("%Y-%m-%dT%H:%M:%S+00:00"))
                   .otherwise(c.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00")).alias(name))
    return out


def date_text(*columns: str) -> list[pl.Expr]:
    """Date columns as ``YYYY-MM-DD`` text (see :func:`iso_text`)."""
    return [pl.col(name).dt.to_string("%Y-%m-%d").alias(name) for name in columns]


def minute(iso_time: str | None) -> str:
    """``2026-05-04 10:00`` from an ISO timestamp, for a detail sentence."""
    return "?" if iso_time is None else f"{iso_time[:10]} {iso_time[11:16]}"


def day(value: str | None) -> str:
    """A validity bound for a sentence: the date, or ``open`` when there is none."""
    return "open" if value is None else value


KIND_LABELS = {"stock_count": "Stock count"}
#: The columns :func:`describe` reads.
DESCRIBED = ["id", "operator_id", "operator_licence", "reference", "kind", "substance",
             "quantity_kg"]


def describe(row: Mapping[str, Any]) -> str:
    """``Sale S-2026-0041 of 120 kg Acetone by BE-LIC-0001`` for a transaction row."""
    label = KIND_LABELS.get(row["kind"], str(row["kind"]).replace("_", " ").capitalize())
    ref = row["reference"] or f"#{row['id']}"
    licence = row["operator_licence"] or f"operator {row['operator_id']}"
    return f"{label} {ref} of {kg(row['quantity_kg'])} kg {row['substance']} by {licence}"


def reason(rule: str, contribution: float, values: Mapping[str, Any], detail: str
           ) -> dict[str, Any]:
    return {"rule": rule, "contribution": round(contribution, 6), "values": dict(values),
            "detail": detail}


def finding(kind: str, operator_id: int, rows: list[tuple[int, str | None]], score: float,
            severity: str, title: str, reasons: list[dict[str, Any]]) -> Finding:
    """A finding about ``rows`` (distinct ids with their references), sorted by id and keyed."""
    ordered = sorted(rows)
    ids = tuple(i for i, _ in ordered)
    return Finding(kind=kind, operator_id=operator_id, transaction_ids=ids,
                   references=tuple(ref or "" for _, ref in ordered),
                   score=round(min(1.0, max(0.0, score)), 6), severity=severity, title=title,
                   reasons=reasons, key=f"{kind}:{'-'.join(map(str, ids))}")


# --- per-record checks ------------------------------------------------------------------------


def late_registration(tx: pl.DataFrame, settings: CheckSettings) -> list[Finding]:
    limit = settings.late_after_hours
    late = (tx.filter(pl.col("is_new").fill_null(False))
            .with_columns(delay_hours=hours_between("registered_at", "occurred_at"))
            .filter(pl.col("delay_hours") > limit)
            .with_columns(iso_text("occurred_at", "registered_at")))
    out = []
    late = late.select(*DESCRIBED, "occurred_at", "registered_at", "delay_hours")
    for row in late.iter_rows(named=True):
        delay = row["delay_hours"]
        score = 0.3 + 0.7 * min(1.0, (delay - limit) / (6 * limit))
        severity = "low" if delay <= 3 * limit else "medium"
        values = {"occurred_at": row["occurred_at"],
                  "registered_at": row["registered_at"], "delay_hours": num(delay, 3),
                  "limit_hours": limit}
        detail = (f"Registered {delay:.1f} hours after it took place; the register must have it "
                  f"within {kg(limit)} hours.")
        out.append(finding(
            "late_registration", row["operator_id"], [(row["id"], row["reference"])], score,
            severity, f"{describe(row)} registered {delay:.1f} h after it took place "
                      f"(limit {kg(limit)} h)",
            [reason("late_registration", score, values, detail)]))
    return out


def unlicensed_counterparty(tx: pl.DataFrame, ops: pl.DataFrame, settings: CheckSettings
                            ) -> list[Finding]:
    """New domestic sales and purchases of licence categories whose counterparty may not trade."""
    counterparties = ops.select(
        counterparty_operator_id="id", cp_licence="licence", cp_from="valid_from",
        cp_to="valid_to", cp_categories="categories", cp_known=pl.lit(True))
    rows = (tx.filter(pl.col("is_new").fill_null(False)
                      & pl.col("kind").is_in(["sale", "purchase"])
                      & pl.col("category").is_in(settings.counterparty_licence_categories))
            .join(ops.select(operator_id="id", op_country="country"), on="operator_id",
                  how="left")
            .filter(pl.col("counterparty_country").is_null()
                    | (pl.col("counterparty_country") == pl.col("op_country")).fill_null(False))
            .join(counterparties, on="counterparty_operator_id", how="left")
            .with_columns(on_day=pl.col("occurred_at").dt.date()))
    valid = ((pl.col("cp_from").is_null() | (pl.col("cp_from") <= pl.col("on_day")))
             & (pl.col("cp_to").is_null() | (pl.col("on_day") <= pl.col("cp_to"))))
    rows = rows.with_columns(
        problem=pl.when(pl.col("cp_known").is_null()).then(pl.lit("not_registered"))
        .when(~valid).then(pl.lit("licence_not_valid"))
        .when(~pl.col("cp_categories").list.contains(pl.col("category")).fill_null(False))
        .then(pl.lit("category_not_held"))
    ).filter(pl.col("problem").is_not_null())
    out = []
    rows = rows.select(*DESCRIBED, "category", "counterparty", "counterparty_operator_id",
                       "cp_licence", "cp_from", "cp_to", "cp_categories", "on_day", "problem"
                       ).with_columns(date_text("cp_from", "cp_to", "on_day"),
                                      cp_categories=pl.col("cp_categories").list.sort()
                                      .list.join(", "))
    for row in rows.iter_rows(named=True):
        cat = row["category"]
        side = "to" if row["kind"] == "sale" else "from"
        who = row["cp_licence"] or row["counterparty"] or "an unnamed counterparty"
        on_day = row["on_day"]
        values: dict[str, Any] = {"counterparty": row["counterparty"],
                                  "counterparty_operator_id": row["counterparty_operator_id"],
                                  "category": cat, "date": on_day}
        if row["problem"] == "not_registered":
            short = "not a registered operator"
            detail = (f"The counterparty {who} is not a registered operator, but both sides of "
                      f"a domestic transfer of category {cat} need a licence or registration.")
        elif row["problem"] == "licence_not_valid":
            short = (f"licence not valid on {on_day} "
                     f"(valid {day(row['cp_from'])}–{day(row['cp_to'])})")
            values |= {"counterparty_licence": who, "valid_from": row["cp_from"],
                       "valid_to": row["cp_to"]}
            detail = (f"The licence of {who} is valid from {day(row['cp_from'])} to "
                      f"{day(row['cp_to'])}, not on {on_day} when the transfer took place.")
        else:
            held = row["cp_categories"] or ""
            short = f"holds categories [{held}] but not {cat}"
            values |= {"counterparty_licence": who, "held_categories": held}
            detail = f"{who} holds categories [{held}] but not {cat}, so may not trade it."
        out.append(finding(
            "unlicensed_counterparty", row["operator_id"], [(row["id"], row["reference"])], 0.9,
            "critical" if cat == "1" else "high",
            f"{describe(row)} {side} {who}: {short}",
            [reason(f"counterparty_{row['problem']}", 0.9, values, detail)]))
    return out
