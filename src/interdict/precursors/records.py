"""Read operator and transaction files (CSV or JSON lines) and validate every row.

The format is fixed (docs/precursors-formats.md): exactly the documented column names, dates in
ISO 8601 with a UTC offset, units from a closed list. Nothing is guessed: a row that cannot be
read exactly is reported with its row number, the field and the reason, and the caller decides
whether the file is refused (the default) or only the good rows are kept (``--partial``).

Validation is plain Python over rows because it must keep up with a million rows a minute;
substance and operator look-ups go through caches the service fills.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rigour.territories import get_territories

from interdict.precursors.frames import KINDS
from interdict.tabular import RowError, as_dict
from interdict.tabular import read_rows as _read_rows

TRANSACTION_COLUMNS = (
    "reference", "operator", "kind", "substance", "quantity", "unit", "occurred_at",
    "registered_at", "counterparty", "counterparty_country", "destination_country",
    "transit_countries", "payment", "end_use", "site",
)
TRANSACTION_REQUIRED = frozenset({"reference", "operator", "kind", "substance", "quantity",
                                  "unit", "occurred_at"})
OPERATOR_COLUMNS = ("licence", "name", "country", "categories", "kind", "valid_from",
                    "valid_to", "activities", "sector", "sites")
OPERATOR_REQUIRED = frozenset(OPERATOR_COLUMNS[:9]) - {"valid_to"}

CATEGORIES = ("1", "2A", "2B", "3", "4", "national")
ACTIVITIES = ("manufacture", "trade", "import", "export", "use")
PAYMENTS = ("transfer", "cash", "crypto", "other")
#: Mass units to kilograms; volumes need the substance's density (reference data).
MASS_UNITS = {"kg": 1.0, "g": 0.001, "t": 1000.0}
VOLUME_UNITS = {"l": 1.0, "ml": 0.001}  # litres per unit
UNIT_NAMES = {"kg": "kg", "g": "g", "t": "t", "l": "L", "ml": "mL"}
#: Clock skew allowed between an operator's system and ours.
SKEW = dt.timedelta(minutes=5)
CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")
COUNTRIES = frozenset(t.code.upper() for t in get_territories()
                      if len(t.code) == 2 and not t.is_historical) - {"ZZ"}



LIST_FIELDS = ("transit_countries", "categories", "activities", "sites")


def read_rows(data: bytes, filename: str, *, columns: tuple[str, ...],
              required: frozenset[str]) -> list[tuple[int, list[str]]]:
    """The platform's row reader, with the register's list fields."""
    return _read_rows(data, filename, columns=columns, required=required,
                      list_fields=LIST_FIELDS)


# -- values -------------------------------------------------------------------------------

def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD)") from None


def country(text: str) -> str:
    code = text.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{text!r} is not an ISO 3166 alpha-2 country code")
    return code


def split_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(";") if v.strip()]


def record_hash(values: list[str]) -> str:
    """A digest of the record as submitted (stripped values): equal digests, same record."""
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()


# -- operators ----------------------------------------------------------------------------

@dataclass
class OperatorRecord:
    licence: str
    name: str
    country: str
    categories: list[str]
    kind: str
    valid_from: dt.date
    valid_to: dt.date | None
    activities: list[str]
    sector: str
    sites: list[str]
    content_hash: str


def validate_operator(number: int, values: list[str]
                      ) -> tuple[OperatorRecord | None, list[RowError]]:
    row = as_dict([v.strip() for v in values], OPERATOR_COLUMNS)
    errors: list[RowError] = []

    def err(name: str, reason: str) -> None:
        errors.append(RowError(number, name, reason))

    licence = row.get("licence", "").strip()
    if not licence or len(licence) > 64:
        err("licence", "missing" if not licence else "longer than 64 characters")
    name = row.get("name", "").strip()
    if not name or len(name) > 300:
        err("name", "missing" if not name else "longer than 300 characters")
    code = ""
    try:
        code = country(row.get("country", ""))
    except ValueError as exc:
        err("country", str(exc))
    categories = split_list(row.get("categories", ""))
    bad = [c for c in categories if c not in CATEGORIES]
    if bad:  # empty is allowed: a customer on the registry that holds no category
        err("categories", f"{bad} not among {list(CATEGORIES)}")
    kind = row.get("kind", "").strip().lower()
    if kind not in ("licence", "registration"):
        err("kind", "must be licence or registration")
    elif "1" in categories and kind != "licence":
        err("kind", "category 1 needs a licence, not a registration (273/2004 art. 3(2))")
    valid_from = valid_to = None
    try:
        valid_from = parse_date(row.get("valid_from", "").strip())
    except ValueError as exc:
        err("valid_from", str(exc))
    if row.get("valid_to", "").strip():
        try:
            valid_to = parse_date(row["valid_to"].strip())
            if valid_from and valid_to < valid_from:
                err("valid_to", "before valid_from")
        except ValueError as exc:
            err("valid_to", str(exc))
    activities = [a.lower() for a in split_list(row.get("activities", ""))]
    bad = [a for a in activities if a not in ACTIVITIES]
    if not activities or bad:
        err("activities", f"{bad} not among {list(ACTIVITIES)}" if bad else "missing")
    sector = row.get("sector", "").strip().lower()
    if not sector:
        err("sector", "missing")
    if errors or valid_from is None:
        return None, errors
    return OperatorRecord(
        licence=licence, name=name, country=code, categories=categories, kind=kind,
        valid_from=valid_from, valid_to=valid_to, activities=activities, sector=sector,
        sites=split_list(row.get("sites", "")),
        content_hash=record_hash(list(row.values()))), []


# -- transactions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Substance:
    """A substance as the register keeps it, resolved through the substances service."""

    name: str
    category: str  # 1, 2A, 2B, 3, 4, national or watch
    designer_precursor: bool = False
    watch_listed: bool = False


@dataclass(frozen=True)
class OperatorRef:
    id: int
    licence: str
    sites: tuple[str, ...]


@dataclass
class Context:
    """What row validation looks up; the service fills it from the register and references."""

    operators: dict[str, OperatorRef]
    #: Resolves a substance text; raises ValueError with the reason when it cannot.
    resolve_substance: Callable[[str], Substance]
    densities: dict[str, float]
    received_at: dt.datetime
    #: Set when an operator submits: rows must be this licence's own.
    only_licence: str | None = None
    _substances: dict[str, Substance | str] = field(default_factory=dict)

    def substance(self, text: str) -> Substance:
        hit = self._substances.get(text)
        if hit is None:
            try:
                hit = self.resolve_substance(text)
            except ValueError as exc:
                hit = str(exc)
            self._substances[text] = hit
        if isinstance(hit, str):
            raise ValueError(hit)
        return hit


@dataclass
class Columns:
    """Valid transaction rows as columns (the store inserts them, the checks read them)."""

    row: list[int] = field(default_factory=list)
    values: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.row)

    def take(self, indexes: list[int]) -> Columns:
        if len(indexes) == len(self.row) and indexes == list(range(len(self.row))):
            return self
        return Columns(row=[self.row[i] for i in indexes],
                       values={c: [v[i] for i in indexes] for c, v in self.values.items()})


COLUMN_NAMES = (
    "operator_id", "reference", "kind", "substance_input", "substance", "category",
    "designer_precursor", "watch_listed", "quantity", "unit", "quantity_kg", "occurred_at",
    "registered_at", "occurred_offset", "counterparty", "counterparty_operator_id",
    "counterparty_country", "destination_country", "transit_countries", "payment", "end_use",
    "site", "content_hash",
)


#: The two times again as microseconds since 1970 (UTC): columnar code builds its time
#: columns from these integers, because converting a million datetime objects costs seconds.
EPOCH_COLUMNS = ("occurred_us", "registered_us")


def _offset(value: dt.datetime) -> str:
    off = value.utcoffset() or dt.timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _local_time(text: str) -> dt.datetime:
    """The time as written (with its offset); refuses a time without one."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO 8601 date and time") from None
    if value.tzinfo is None:
        raise ValueError("no UTC offset (write e.g. 2026-03-04T10:15:00+01:00)")
    return value


class _Row:
    """The errors of one row; cheap when there are none (the usual case)."""

    __slots__ = ("errors", "number")

    def __init__(self, number: int) -> None:
        self.number = number
        self.errors: list[RowError] = []

    def __call__(self, name: str, reason: str) -> None:
        self.errors.append(RowError(self.number, name, reason))


def validate_transactions(rows: list[tuple[int, list[str]]], ctx: Context
                          ) -> tuple[Columns, list[RowError]]:
    """Check every row; return the valid ones as columns and every error found.

    Written for throughput (a million rows a minute): values are unpacked positionally,
    look-ups are cached, and the error path costs only when a row is bad.
    """
    out = Columns(values={c: [] for c in (*COLUMN_NAMES, *EPOCH_COLUMNS)})
    errors: list[RowError] = []
    seen: dict[tuple[int, str], tuple[int, str]] = {}
    kinds = frozenset(KINDS)
    operators = ctx.operators
    received, latest = ctx.received_at, ctx.received_at + SKEW
    times: dict[str, dt.datetime | str] = {}
    countries: dict[str, str | None] = {"": None}
    cols = [out.values[c] for c in COLUMN_NAMES]
    (c_op, c_ref, c_kind, c_sub_in, c_sub, c_cat, c_dp, c_watch, c_qty, c_unit, c_kg,
     c_occ, c_reg, c_off, c_cp, c_cp_id, c_cpc, c_dest, c_transit, c_pay, c_use, c_site,
     c_hash) = cols
    c_occ_us, c_reg_us = (out.values[c] for c in EPOCH_COLUMNS)
    out_rows = out.row

    def when(text: str) -> dt.datetime | str:
        hit = times.get(text)
        if hit is None:
            try:
                hit = _local_time(text)
            except ValueError as exc:
                hit = str(exc)
            times[text] = hit
        return hit

    def land(text: str) -> str | None:
        if text in countries:
            return countries[text]
        code = country(text)  # raises ValueError
        countries[text] = code
        return code

    for number, raw in rows:
        values = [v.strip() for v in raw]
        (reference, licence, kind, substance_text, quantity_text, unit_text, occurred_text,
         registered_text, counterparty, cp_country, dest_country, transit_text, payment,
         end_use, site) = values
        err = _Row(number)
        operator = operators.get(licence)
        if operator is None:
            err("operator", f"no registered operator with licence {licence!r}"
                if licence else "missing")
        elif ctx.only_licence is not None and licence != ctx.only_licence:
            err("operator", f"you may submit records only for {ctx.only_licence}")
        if not reference or len(reference) > 100:
            err("reference", "missing" if not reference else "longer than 100 characters")
        kind = kind.lower()
        if kind not in kinds:
            err("kind", f"{kind!r} is not one of {', '.join(KINDS)}" if kind else "missing")
        substance = None
        if not substance_text:
            err("substance", "missing")
        else:
            try:
                substance = ctx.substance(substance_text)
            except ValueError as exc:
                err("substance", str(exc))
        quantity = kg = 0.0
        try:
            quantity = float(quantity_text)
            if not math.isfinite(quantity) or quantity < 0 \
                    or (quantity == 0 and kind != "stock_count"):
                err("quantity", "must be zero or more" if kind == "stock_count"
                    else "must be a positive number")
        except ValueError:
            err("quantity", "not a number (use a point as the decimal separator)"
                if quantity_text else "missing")
        unit = unit_text.lower()
        if unit in MASS_UNITS:
            kg = quantity * MASS_UNITS[unit]
        elif unit in VOLUME_UNITS:
            density = ctx.densities.get(substance.name) if substance else None
            if substance is not None and density is None:
                err("unit", f"no density of {substance.name} in the reference data; "
                            "give the mass (kg, g or t)")
            kg = quantity * VOLUME_UNITS[unit] * (density or 0.0)
        else:
            err("unit", f"{unit_text!r} is not one of kg, g, t, L, mL" if unit_text
                else "missing")
        occurred_local = when(occurred_text) if occurred_text else "missing"
        occurred = registered = None
        if isinstance(occurred_local, str):
            err("occurred_at", occurred_local)
        else:
            occurred = occurred_local.astimezone(dt.UTC)
            if occurred > latest:
                err("occurred_at", "in the future")
        if registered_text:
            registered_local = when(registered_text)
            if isinstance(registered_local, str):
                err("registered_at", registered_local)
            else:
                registered = registered_local.astimezone(dt.UTC)
                if registered > latest:
                    err("registered_at", "in the future")
                elif occurred is not None and registered + SKEW < occurred:
                    err("registered_at", "before occurred_at")
        else:
            registered = received
        if len(counterparty) > 300:
            err("counterparty", "longer than 300 characters")
        if not counterparty and kind in ("sale", "purchase"):
            err("counterparty", f"a {kind} needs the counterparty (licence or name)")
        cpc = dest = None
        try:
            cpc = land(cp_country)
        except ValueError as exc:
            err("counterparty_country", str(exc))
        try:
            dest = land(dest_country)
        except ValueError as exc:
            err("destination_country", str(exc))
        if kind == "export" and not (dest or cpc) and not err.errors:
            err("destination_country", "an export needs the destination country")
        transit = ""
        if transit_text:
            codes = []
            for text in split_list(transit_text):
                try:
                    codes.append(country(text))
                except ValueError as exc:
                    err("transit_countries", str(exc))
            transit = ";".join(codes)
        payment = payment.lower()
        if payment and payment not in PAYMENTS:
            err("payment", f"{payment!r} is not one of {', '.join(PAYMENTS)}")
        if len(end_use) > 300:
            err("end_use", "longer than 300 characters")
        if operator is not None and operator.sites and site not in operator.sites:
            err("site", f"{site!r} is not one of {operator.licence}'s sites "
                        f"({', '.join(operator.sites)})" if site else
                f"{operator.licence} has several sites; name one")
        digest = ""
        if operator is not None and reference:
            key = (operator.id, reference)
            digest = record_hash(values)
            earlier = seen.get(key)
            if earlier is not None and earlier[1] != digest:
                err("reference", f"also used by row {earlier[0]} with different content")
            elif earlier is not None:
                continue  # the same record twice in one file: keep one
            seen[key] = (number, digest)
        if err.errors:
            errors += err.errors
            continue
        assert operator is not None and substance is not None and occurred is not None
        assert registered is not None and not isinstance(occurred_local, str)
        counterpart = operators.get(counterparty) if counterparty else None
        out_rows.append(number)
        c_op.append(operator.id)
        c_ref.append(reference)
        c_kind.append(kind)
        c_sub_in.append(substance_text)
        c_sub.append(substance.name)
        c_cat.append(substance.category)
        c_dp.append(substance.designer_precursor)
        c_watch.append(substance.watch_listed)
        c_qty.append(quantity)
        c_unit.append(UNIT_NAMES[unit])
        c_kg.append(kg)
        c_occ.append(occurred)
        c_reg.append(registered)
        c_occ_us.append(round(occurred.timestamp() * 1_000_000))
        c_reg_us.append(round(registered.timestamp() * 1_000_000))
        c_off.append(occurred_text[-6:] if occurred_text[-6] in "+-"
                     and occurred_text[-3] == ":" else _offset(occurred_local))
        c_cp.append(counterparty or None)
        c_cp_id.append(counterpart.id if counterpart else None)
        c_cpc.append(cpc)
        c_dest.append(dest)
        c_transit.append(transit)
        c_pay.append(payment or None)
        c_use.append(end_use or None)
        c_site.append(site)
        c_hash.append(digest)
    return out, errors
