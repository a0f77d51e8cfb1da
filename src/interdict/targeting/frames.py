"""The columnar shape of consignments that the scoring engines work on.

Everything that crosses a border is held in one table (``models.Consignment``); the engines
(``features``, ``model``, ``rules``, ``lanes``) see it as Polars frames of the schema below, or
as one ``dict`` with the same keys for a single consignment in a request. They are pure
functions of frames, history counters and settings and never touch the database, so that
the same code scores one POST, a 100,000-row file and a test.

The canonical CSV of customs declarations is the KCS/IBS synthetic declaration layout
(``CSV_COLUMNS``), so that those files import as they are.
"""

from __future__ import annotations

from typing import Any

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")

#: Kinds of consignment. Declarations (and express/postal items, mapped onto the same
#: fields) are scored by rules and the learned model; aviation and pleasure-craft reports
#: have no inspection history to learn from and are scored by rules only.
KINDS = ("declaration", "express", "postal", "aviation", "craft")
MODEL_KINDS = ("declaration", "express", "postal")

#: One consignment. Fields a kind does not have are null; type-specific fields that no
#: engine reads (passenger lists, vessel names...) live in ``details``, outside the frame.
CONSIGNMENT: dict[str, Any] = {
    "id": pl.Int64,                    # row id in the store (null before storing)
    "kind": pl.String,                 # one of KINDS
    "reference": pl.String,            # Declaration ID, waybill, flight or report number
    "declared_at": UTC_TIME,           # when it was declared; CSV "Date" -> 00:00 UTC
    "office": pl.String,               # customs office (Office ID)
    "process_type": pl.String,
    "import_type": pl.String,
    "import_use": pl.String,
    "payment_type": pl.String,
    "transport_mode": pl.String,       # Mode of Transport code (10 sea, 40 air, ...)
    "declarant": pl.String,
    "importer": pl.String,             # consignee / recipient / aircraft or craft operator
    "seller": pl.String,               # seller / sender; may be null
    "courier": pl.String,              # express courier; usually null
    "hs_code": pl.String,              # 6 digits, zero-padded ("090111"); may be null
    "departure_country": pl.String,    # ISO 3166 alpha-2
    "origin_country": pl.String,
    "route": pl.List(pl.String),       # countries passed through, in order, departure first
    "tax_rate": pl.Float64,            # percent
    "tax_type": pl.String,
    "origin_indicator": pl.String,
    "net_mass_kg": pl.Float64,
    "value": pl.Float64,               # Item Price, in the declaration's currency
    "stay_hours": pl.Float64,          # aviation/craft: hours at the departure place before leaving
    "fraud": pl.Int8,                  # label: 1 fraud found, 0 nothing found, null not inspected
    "critical": pl.Int8,               # label: 0, 1, 2 (2 = critical: drugs, safety); null unknown
}

#: CSV header -> canonical column, for the KCS/IBS layout (columns in this order).
CSV_COLUMNS: dict[str, str] = {
    "Declaration ID": "reference",
    "Date": "declared_at",
    "Office ID": "office",
    "Process Type": "process_type",
    "Import Type": "import_type",
    "Import Use": "import_use",
    "Payment Type": "payment_type",
    "Mode of Transport": "transport_mode",
    "Declarant ID": "declarant",
    "Importer ID": "importer",
    "Seller ID": "seller",
    "Courier ID": "courier",
    "HS6 Code": "hs_code",
    "Country of Departure": "departure_country",
    "Country of Origin": "origin_country",
    "Tax Rate": "tax_rate",
    "Tax Type": "tax_type",
    "Country of Origin Indicator": "origin_indicator",
    "Net Mass": "net_mass_kg",
    "Item Price": "value",
    "Fraud": "fraud",
    "Critical Fraud": "critical",
}


def empty() -> pl.DataFrame:
    """A frame with no rows and the consignment schema."""
    return pl.DataFrame(schema=CONSIGNMENT)


def read_kcs_csv(path: str) -> pl.DataFrame:
    """Read a KCS/IBS declaration CSV into the consignment schema, without validation.

    For engines, tests and benchmarks on trusted files; the import pipeline (``records``)
    validates every field and reports row errors instead.
    """
    raw = pl.read_csv(path, infer_schema=False)
    frame = raw.rename(CSV_COLUMNS).with_columns(
        pl.lit("declaration").alias("kind"),
        pl.col("declared_at").str.to_date("%Y-%m-%d").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        pl.col("hs_code").str.zfill(6),
        pl.concat_list(pl.col("departure_country")).alias("route"),
        *(pl.col(c).cast(pl.Float64) for c in ("tax_rate", "net_mass_kg", "value")),
        *(pl.col(c).cast(pl.Int8) for c in ("fraud", "critical")),
        pl.lit(None, pl.Int64).alias("id"),
        pl.lit(None, pl.Float64).alias("stay_hours"),
    )
    return frame.select(pl.col(c).cast(t) for c, t in CONSIGNMENT.items())


#: What the store keeps per history key (an importer, an HS code, an importer x HS code pair,
#: ...): the running counts that time-aware features and history rule conditions read. The
#: key kinds and how a consignment maps to its keys are defined by ``features.keys_of``.
#: Counters are updated in time order: a consignment is scored on the counters as they were
#: before it arrived, then counted; an outcome is counted when it is recorded.
COUNTER: dict[str, Any] = {
    "key_kind": pl.String,             # e.g. "importer", "hs_code", "importer|hs_code"
    "key_value": pl.String,            # e.g. "QLRUBN9", "090111", "QLRUBN9|090111"
    "n_declared": pl.Int64,            # consignments seen with this key
    "n_labelled": pl.Int64,            # of them, with a recorded inspection outcome
    "n_positive": pl.Int64,            # outcomes with fraud = 1
    "n_critical": pl.Int64,            # outcomes with critical = 2
    "n_unit": pl.Int64,                # consignments with a usable unit value (value/mass > 0)
    "sum_log_unit": pl.Float64,        # sum of ln(value / net_mass_kg) over those
    "sumsq_log_unit": pl.Float64,      # sum of its squares (mean and spread by Welford-free sums)
    "first_declared_at": UTC_TIME,
    "last_declared_at": UTC_TIME,
}
