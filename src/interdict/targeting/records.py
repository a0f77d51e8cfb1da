"""Read consignment files and validate every row, all or nothing.

Two forms (docs/targeting-formats.md):

* CSV with the KCS/IBS declaration header (``frames.CSV_COLUMNS``: ``Declaration ID, Date,
  Office ID, ... Fraud, Critical Fraud``), so that the published synthetic declarations and a
  customs system's export in that layout import as they are. ``Date`` is a day
  (``2021-04-01``, taken as 00:00 UTC) or a time with a UTC offset.
* JSON lines, one consignment per line, in the API's JSON form (``schemas.ConsignmentIn``):
  any kind, declarations, parcels, flights and pleasure craft.

Every value goes through the same Pydantic models as a POST to the API, so a file row and a
request are held to one standard. A problem is reported with the file's row number, the
field as the file names it and the reason; the caller refuses the whole file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
from pydantic import TypeAdapter, ValidationError

from interdict.errors import FieldError, InvalidData
from interdict.tabular import FileRejected, RowError, is_jsonl, json_objects, read_rows
from interdict.targeting.frames import CONSIGNMENT, CSV_COLUMNS
from interdict.targeting.schemas import ConsignmentIn, DeclarationIn, to_row

CSV_HEADER = tuple(CSV_COLUMNS)
CSV_REQUIRED = frozenset({"Declaration ID", "Date", "Office ID", "Declarant ID", "Importer ID",
                          "HS6 Code", "Country of Departure", "Country of Origin", "Net Mass",
                          "Item Price"})
#: Canonical field -> CSV header, to name fields as the file does in errors.
_HEADER_OF = {v: k for k, v in CSV_COLUMNS.items()}
_DECLARATION = TypeAdapter(DeclarationIn)
_ANY = TypeAdapter(ConsignmentIn)
MAX_ERRORS = 1000


@dataclass
class Parsed:
    """A validated file: the engines' frame (file order) and each row's own fields."""

    frame: pl.DataFrame
    details: list[dict[str, Any]]
    rows: list[int]

    @property
    def labelled(self) -> int:
        return int(self.frame["fraud"].is_not_null().sum())


def _when(text: str) -> Any:
    """A CSV ``Date``: a day means 00:00 UTC; anything else must carry its offset."""
    if len(text) == 10:
        try:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        except ValueError:
            return text  # the model reports it
    return text


def _csv_record(values: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "declaration"}
    for header, value in zip(CSV_HEADER, values, strict=True):
        name = CSV_COLUMNS[header]
        value = value.strip()
        if value == "":
            continue
        if name == "declared_at":
            record[name] = _when(value)
        elif name in ("fraud", "critical") and value.isdigit():
            record[name] = int(value)  # Literal labels compare as numbers
        else:
            record[name] = value
    return record


def _errors(number: int, exc: ValidationError, *, csv: bool) -> list[RowError]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # A discriminated union puts the kind first ("declaration", "field"): drop it.
        if len(loc) > 1 and loc[0] in ("declaration", "express", "postal", "aviation", "craft"):
            loc = loc[1:]
        reason = err["msg"].removeprefix("Value error, ")
        field = ".".join(loc) or "(row)"
        if not loc and ":" in reason:  # whole-record checks name their field first
            field, reason = (s.strip() for s in reason.split(":", 1))
        if csv:
            field = _HEADER_OF.get(field.split(".")[0], field)
        out.append(RowError(number, field, reason))
    return out


def parse(data: bytes, filename: str) -> Parsed:
    """Validate a whole file. Raises ``FileRejected`` listing every bad row (up to 1,000)."""
    rows_out: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    numbers: list[int] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    if is_jsonl(filename, data[:64].decode("utf-8", "replace")):
        items = json_objects(data, filename)
        csv = False
    else:
        rows = read_rows(data, filename, columns=CSV_HEADER, required=CSV_REQUIRED)
        items = ((n, _csv_record(v)) for n, v in rows)
        csv = True
    adapter = _DECLARATION if csv else _ANY
    for number, record in items:
        try:
            item = adapter.validate_python(record)
        except ValidationError as exc:
            errors.extend(_errors(number, exc, csv=csv))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        row, extra = to_row(item)
        key = (row["kind"], row["reference"])
        if key in seen:
            errors.append(RowError(number, "Declaration ID" if csv else "reference",
                                   f"{row['reference']} repeats row {seen[key]}"))
            continue
        seen[key] = number
        rows_out.append(row)
        details.append(extra)
        numbers.append(number)
    if errors:
        first = errors[0]
        raise FileRejected(f"{filename}: {len(errors)} row error(s), nothing imported; first: "
                           f"row {first.row}: {first.field}: {first.reason}", errors)
    if not rows_out:
        raise InvalidData(f"{filename}: no data rows", errors=[FieldError("file", "empty")])
    schema = {k: v for k, v in CONSIGNMENT.items() if k != "id"}
    frame = pl.DataFrame(rows_out, schema=schema).with_columns(
        pl.lit(None, pl.Int64).alias("id")).select(list(CONSIGNMENT))
    return Parsed(frame=frame, details=details, rows=numbers)

