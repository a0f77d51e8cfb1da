"""Read operator and transaction files (CSV or JSON lines) and validate every row.

The format is fixed (docs/precursors-formats.md): exactly the documented column names, dates in
ISO 8601 with a UTC offset, units from a closed list. Nothing is guessed: a row that cannot be
read exactly is reported with its row number, the field and the reason, and the caller decides
whether the file is refused (the default) or only the good rows are kept (``--partial``).

Validation is plain Python over rows because it must keep up with a million rows a minute;
substance and operator look-ups go through caches the service fills.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rigour.territories import get_territories

from interdict.errors import FieldError, InvalidData
from interdict.precursors.frames import KINDS

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
AUTHORISATION_COLUMNS = ("number", "operator", "substance", "quantity", "unit",
                         "destination_country", "importer", "valid_from", "valid_to")

CATEGORIES = ("1", "2A", "2B", "3", "4", "national")
ACTIVITIES = ("manufacture", "trade", "import", "export", "use")
PAYMENTS = ("transfer", "cash", "crypto", "other")
#: Mass units to kilograms; volumes need the substance's density (reference data).
MASS_UNITS = {"kg": 1.0, "g": 0.001, "t": 1000.0}
VOLUME_UNITS = {"l": 1.0, "ml": 0.001}  # litres per unit
UNIT_NAMES = {"kg": "kg", "g": "g", "t": "t", "l": "L", "ml": "mL"}
MAX_ROWS = 5_000_000
#: Clock skew allowed between an operator's system and ours.
SKEW = dt.timedelta(minutes=5)
CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")
COUNTRIES = frozenset(t.code.upper() for t in get_territories()
                      if len(t.code) == 2 and not t.is_historical) - {"ZZ"}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


class FileRejected(InvalidData):
    """A file with row errors: nothing of it was imported. ``rows`` has every error."""

    def __init__(self, detail: str, rows: list[RowError]) -> None:
        super().__init__(detail, errors=[FieldError(f"row {e.row}: {e.field}", e.reason)
                                         for e in rows[:1000]])
        self.rows = rows


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{filename}: not UTF-8 text (byte {exc.start})",
                          errors=[FieldError("file", f"not UTF-8 at byte {exc.start}")]) from exc


def is_jsonl(filename: str, text: str) -> bool:
    return filename.lower().endswith((".jsonl", ".ndjson", ".json")) \
        or text.lstrip()[:1] == "{"


def read_rows(data: bytes, filename: str, *, columns: tuple[str, ...],
              required: frozenset[str]) -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for every data row; row numbers are the file's lines.

    File-level problems (encoding, unknown or missing columns, a line that is not a JSON
    object) raise ``InvalidData``; values are checked later, row by row.
    """
    text = _decode(data, filename)
    rows = list(_jsonl(text, filename, columns) if is_jsonl(filename, text)
                else _csv(text, filename, columns, required))
    if not rows:
        raise InvalidData(f"{filename}: no data rows", errors=[FieldError("file", "empty")])
    if len(rows) > MAX_ROWS:
        raise InvalidData(f"{filename}: {len(rows)} rows; split files above {MAX_ROWS}",
                          errors=[FieldError("file", "too many rows")])
    if is_jsonl(filename, text):
        missing: list[RowError] = []
        for number, row in rows:
            missing += [RowError(number, c, "missing") for c in sorted(required)
                        if c not in row]
        if missing:
            raise FileRejected(f"{filename}: {len(missing)} required values missing", missing)
    return rows


def _csv(text: str, filename: str, columns: tuple[str, ...], required: frozenset[str]
         ) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidData(f"{filename}: empty file",
                          errors=[FieldError("file", "empty")]) from None
    except csv.Error as exc:
        raise InvalidData(f"{filename}: header: {exc}",
                          errors=[FieldError("header", str(exc))]) from exc
    _check_header(filename, header, columns, required)
    width = len(header)
    try:
        for values in reader:
            number = reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width:
                raise FileRejected(f"{filename}: row {number} has {len(values)} fields, the "
                                   f"header {width}", [RowError(number, "(row)",
                                   f"{len(values)} fields where the header has {width}")])
            yield number, dict(zip(header, values, strict=True))
    except csv.Error as exc:
        raise FileRejected(f"{filename}: row {reader.line_num}: {exc}",
                           [RowError(reader.line_num, "(row)", f"not valid CSV: {exc}")]
                           ) from exc


def _check_header(filename: str, header: list[str], columns: tuple[str, ...],
                  required: frozenset[str]) -> None:
    problems = [FieldError(h or "(blank)", "not a column of the format") for h in header
                if h not in columns]
    problems += [FieldError(c, "column missing") for c in sorted(required - set(header))]
    problems += [FieldError(h, "column repeated") for h in sorted(set(header))
                 if header.count(h) > 1]
    if problems:
        raise InvalidData(f"{filename}: the header does not match the format "
                          f"({', '.join(columns)})", errors=problems)


def _jsonl(text: str, filename: str, columns: tuple[str, ...]
           ) -> Iterator[tuple[int, dict[str, str]]]:
    allowed = set(columns)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FileRejected(f"{filename}: line {number} is not JSON: {exc.msg}",
                               [RowError(number, "(row)", f"not JSON: {exc.msg}")]) from exc
        if not isinstance(obj, dict):
            raise FileRejected(f"{filename}: line {number} is not a JSON object",
                               [RowError(number, "(row)", "not a JSON object")])
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise FileRejected(f"{filename}: line {number}: unknown field {unknown[0]!r}",
                               [RowError(number, k, "not a field of the format")
                                for k in unknown])
        row: dict[str, str] = {}
        for key, value in obj.items():
            if isinstance(value, list) and key in ("transit_countries", "categories",
                                                   "activities", "sites"):
                value = ";".join(str(v) for v in value)
            elif isinstance(value, bool) or isinstance(value, dict | list):
                raise FileRejected(f"{filename}: line {number}: {key} has the wrong type",
                                   [RowError(number, key, "must be a string or number")])
            row[key] = "" if value is None else str(value)
        yield number, row


# -- values -------------------------------------------------------------------------------

def parse_time(text: str) -> dt.datetime:
    """An aware datetime in UTC; a time without an offset is refused, not assumed local."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO 8601 date and time") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("no UTC offset (write e.g. 2026-03-04T10:15:00+01:00)")
    return value.astimezone(dt.UTC)


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD)") from None


def parse_quantity(text: str, *, zero_ok: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number (use a point as the decimal separator)") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise ValueError("must be a positive number" if not zero_ok
                         else "must be zero or more")
    return value


def country(text: str) -> str:
    code = text.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{text!r} is not an ISO 3166 alpha-2 country code")
    return code


def split_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(";") if v.strip()]


def record_hash(row: dict[str, str], columns: tuple[str, ...]) -> str:
    """A digest of the record as submitted: equal digests mean the same record."""
    text = "\x1f".join(row.get(c, "").strip() for c in columns)
    return hashlib.sha256(text.encode()).hexdigest()


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


def validate_operator(number: int, row: dict[str, str]
                      ) -> tuple[OperatorRecord | None, list[RowError]]:
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
    if not categories or bad:
        err("categories", f"{bad} not among {list(CATEGORIES)}" if bad else "missing")
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
        content_hash=record_hash(row, OPERATOR_COLUMNS)), []


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
    submitted: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.row)


COLUMN_NAMES = (
    "operator_id", "reference", "kind", "substance_input", "substance", "category",
    "designer_precursor", "watch_listed", "quantity", "unit", "quantity_kg", "occurred_at",
    "registered_at", "occurred_offset", "counterparty", "counterparty_operator_id",
    "counterparty_country", "destination_country", "transit_countries", "payment", "end_use",
    "site", "content_hash",
)


def _offset(value: dt.datetime) -> str:
    off = value.utcoffset() or dt.timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def validate_transactions(rows: list[tuple[int, dict[str, str]]], ctx: Context
                          ) -> tuple[Columns, list[RowError]]:
    """Check every row; return the valid ones as columns and every error found."""
    out = Columns(values={c: [] for c in COLUMN_NAMES})
    errors: list[RowError] = []
    seen: dict[tuple[int, str], tuple[int, str]] = {}
    kinds = frozenset(KINDS)
    append = {c: out.values[c].append for c in COLUMN_NAMES}
    for number, row in rows:
        bad: list[RowError] = []

        def err(name: str, reason: str, number: int = number, bad: list[RowError] = bad
                ) -> None:
            bad.append(RowError(number, name, reason))

        get = row.get
        licence = get("operator", "").strip()
        operator = ctx.operators.get(licence)
        if operator is None:
            err("operator", f"no registered operator with licence {licence!r}"
                if licence else "missing")
        elif ctx.only_licence is not None and licence != ctx.only_licence:
            err("operator", f"you may submit records only for {ctx.only_licence}")
        reference = get("reference", "").strip()
        if not reference or len(reference) > 100:
            err("reference", "missing" if not reference else "longer than 100 characters")
        kind = get("kind", "").strip().lower()
        if kind not in kinds:
            err("kind", f"{kind!r} is not one of {', '.join(KINDS)}" if kind else "missing")
        substance_text = get("substance", "").strip()
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
            quantity = parse_quantity(get("quantity", "").strip(), zero_ok=kind == "stock_count")
        except ValueError as exc:
            err("quantity", str(exc))
        unit_text = get("unit", "").strip()
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
        occurred = registered = None
        try:
            occurred = parse_time(get("occurred_at", "").strip())
            if occurred > ctx.received_at + SKEW:
                err("occurred_at", "in the future")
        except ValueError as exc:
            err("occurred_at", str(exc))
        registered_text = get("registered_at", "").strip()
        if registered_text:
            try:
                registered = parse_time(registered_text)
                if registered > ctx.received_at + SKEW:
                    err("registered_at", "in the future")
                elif occurred is not None and registered + SKEW < occurred:
                    err("registered_at", "before occurred_at")
            except ValueError as exc:
                err("registered_at", str(exc))
        else:
            registered = ctx.received_at
        counterparty = get("counterparty", "").strip() or None
        if counterparty is not None and len(counterparty) > 300:
            err("counterparty", "longer than 300 characters")
        if kind in ("sale", "purchase") and counterparty is None:
            err("counterparty", f"a {kind} needs the counterparty (licence or name)")
        countries: dict[str, str | None] = {}
        for name in ("counterparty_country", "destination_country"):
            text = get(name, "").strip()
            try:
                countries[name] = country(text) if text else None
            except ValueError as exc:
                err(name, str(exc))
        if kind == "export" and not (countries.get("destination_country")
                                     or countries.get("counterparty_country")):
            err("destination_country", "an export needs the destination country")
        transit: list[str] = []
        for text in split_list(get("transit_countries", "")):
            try:
                transit.append(country(text))
            except ValueError as exc:
                err("transit_countries", str(exc))
        payment = get("payment", "").strip().lower() or None
        if payment is not None and payment not in PAYMENTS:
            err("payment", f"{payment!r} is not one of {', '.join(PAYMENTS)}")
        end_use = get("end_use", "").strip() or None
        if end_use is not None and len(end_use) > 300:
            err("end_use", "longer than 300 characters")
        site = get("site", "").strip()
        if operator is not None and operator.sites and site not in operator.sites:
            err("site", f"{site!r} is not one of {operator.licence}'s sites "
                        f"({', '.join(operator.sites)})" if site else
                f"{operator.licence} has several sites; name one")
        if operator is not None and reference:
            key = (operator.id, reference)
            digest = record_hash(row, TRANSACTION_COLUMNS)
            earlier = seen.get(key)
            if earlier is not None and earlier[1] != digest:
                err("reference", f"also used by row {earlier[0]} with different content")
            elif earlier is not None:
                continue  # the same record twice in one file: keep one
            seen[key] = (number, digest)
        if bad:
            errors += bad
            continue
        assert operator is not None and substance is not None and occurred is not None
        assert registered is not None
        counterpart = ctx.operators.get(counterparty) if counterparty else None
        out.row.append(number)
        out.submitted.append(row)
        append["operator_id"](operator.id)
        append["reference"](reference)
        append["kind"](kind)
        append["substance_input"](substance_text)
        append["substance"](substance.name)
        append["category"](substance.category)
        append["designer_precursor"](substance.designer_precursor)
        append["watch_listed"](substance.watch_listed)
        append["quantity"](quantity)
        append["unit"](UNIT_NAMES[unit])
        append["quantity_kg"](kg)
        append["occurred_at"](occurred)
        append["registered_at"](registered)
        append["occurred_offset"](_offset(dt.datetime.fromisoformat(
            get("occurred_at", "").strip())))
        append["counterparty"](counterparty)
        append["counterparty_operator_id"](counterpart.id if counterpart else None)
        append["counterparty_country"](countries.get("counterparty_country"))
        append["destination_country"](countries.get("destination_country"))
        append["transit_countries"](";".join(transit))
        append["payment"](payment)
        append["end_use"](end_use)
        append["site"](site)
        append["content_hash"](seen[(operator.id, reference)][1])
    return out, errors
