"""Read record files (CSV or JSON lines) into numbered rows of strings, for domain importers.

Importers validate values themselves; this module gets the rows out of the file exactly and
names the row of any problem: an encoding error, a header that does not match the format, a
ragged row, a line that is not a JSON object. Row numbers are the file's line numbers, so an
officer can open the file and find the row. JSON-lines list values (``list_fields``) arrive
joined with ``;``, as they are written in CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from interdict.errors import FieldError, InvalidData

MAX_ROWS = 5_000_000


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
              required: frozenset[str], list_fields: tuple[str, ...] = (),
              max_rows: int = MAX_ROWS) -> list[tuple[int, list[str]]]:
    """(row number, values in ``columns`` order; absent columns "") for every data row.

    Row numbers are the file's lines. File-level problems (encoding, unknown or missing
    columns, a line that is not a JSON object) raise ``InvalidData``; values are checked
    later, row by row.
    """
    text = _decode(data, filename)
    if is_jsonl(filename, text):
        rows = list(_jsonl(text, filename, columns, required, list_fields))
    else:
        rows = _plain_csv(text, filename, columns, required) \
            or list(_csv(text, filename, columns, required))
    if not rows:
        raise InvalidData(f"{filename}: no data rows", errors=[FieldError("file", "empty")])
    if len(rows) > max_rows:
        raise InvalidData(f"{filename}: {len(rows)} rows; split files above {max_rows}",
                          errors=[FieldError("file", "too many rows")])
    return rows


def _plain_csv(text: str, filename: str, columns: tuple[str, ...], required: frozenset[str]
               ) -> list[tuple[int, list[str]]] | None:
    """The fast path for the common file: one line per record (no line break inside a quoted
    value, no blank line), so Polars' reader gives the same rows, numbered as lines, as the csv
    module, several times faster. On any doubt it returns None and the csv module reads the
    file and names the exact row of a problem."""
    body = text.replace("\r\n", "\n")
    if "\r" in body or "\n\n" in body.strip("\n") or not body.strip():
        return None
    first = body.split("\n", 1)[0]
    if '"' in first:
        return None
    header = [h.strip() for h in first.split(",")]
    _check_header(filename, header, columns, required)
    lines = body.strip("\n").count("\n")
    if '"' in body or body.count(",") != (lines + 1) * (len(header) - 1):
        return None  # quoted values or a ragged row: the csv module reads them exactly
    try:
        frame = pl.read_csv(io.StringIO(body), has_header=True, infer_schema=False,
                            empty_string_is_null=False, truncate_ragged_lines=False)
    except Exception:  # noqa: BLE001 - any reader doubt: the csv module reports precisely
        return None
    if frame.width != len(header) or frame.height != lines:
        return None
    frame.columns = header
    frame = frame.select(pl.col(c) if c in header else pl.lit("").alias(c) for c in columns)
    return list(enumerate(frame.rows(), start=2))  # type: ignore[arg-type]


def as_dict(values: list[str], columns: tuple[str, ...]) -> dict[str, str]:
    return dict(zip(columns, values, strict=True))


def _csv(text: str, filename: str, columns: tuple[str, ...], required: frozenset[str]
         ) -> Iterator[tuple[int, list[str]]]:
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
    order = None if tuple(header) == columns else \
        [header.index(c) if c in header else -1 for c in columns]
    try:
        for values in reader:
            if len(values) != width:
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                number = reader.line_num
                raise FileRejected(f"{filename}: row {number} has {len(values)} fields, the "
                                   f"header {width}", [RowError(number, "(row)",
                                   f"{len(values)} fields where the header has {width}")])
            yield reader.line_num, (values if order is None else
                                    [values[j] if j >= 0 else "" for j in order])
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


def json_objects(data: bytes | str, filename: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSON-lines file; a line that is not
    a JSON object refuses the file, naming the line."""
    text = _decode(data, filename) if isinstance(data, bytes) else data
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
        yield number, obj


def _jsonl(text: str, filename: str, columns: tuple[str, ...], required: frozenset[str],
           list_fields: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    allowed = set(columns)
    for number, obj in json_objects(text, filename):
        unknown = sorted(set(obj) - allowed)
        missing = sorted(c for c in required if c not in obj)
        if unknown or missing:
            problems = [RowError(number, k, "not a field of the format") for k in unknown]
            problems += [RowError(number, k, "missing") for k in missing]
            raise FileRejected(f"{filename}: line {number}: {problems[0].field}: "
                               f"{problems[0].reason}", problems)
        values: list[str] = []
        for key in columns:
            value = obj.get(key)
            if isinstance(value, list) and key in list_fields:
                value = ";".join(str(v) for v in value)
            elif isinstance(value, bool | dict | list):
                raise FileRejected(f"{filename}: line {number}: {key} has the wrong type",
                                   [RowError(number, key, "must be a string or number")])
            values.append("" if value is None else str(value))
        yield number, values
