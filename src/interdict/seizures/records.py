"""Seizure records as submitted: the file format, the API form, and their validation.

One format serves files and forms. A file (CSV or JSON lines) has one row per *substance
line*; rows sharing a ``reference`` are one seizure, and the seizure's own columns must agree
between them (a file that says two different things about one seizure is refused, naming the
rows). The API and the web form send one seizure as a nested object (:func:`from_object`),
which is flattened to the same rows and checked by the same code, so an error reads the same
wherever it came from.

Validation only needs what it is given: resolving substance names goes through the
``substances`` service, which the caller passes in as ``resolve`` (it raises ``ValueError``
with the reason and suggestions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from followthemoney.types import registry as ftm_types
from rigour.territories import get_territories

from interdict.errors import FieldError, InvalidData
from interdict.tabular import FileRejected, RowError, as_dict, read_rows

COUNTRIES = frozenset(t.code.upper() for t in get_territories()
                      if len(t.code) == 2 and not t.is_historical) - {"ZZ"}

#: Forms of a seized drug; "slab" is read as "brick" (compressed blocks either way).
FORMS = ("powder", "tablet", "brick", "liquid", "blotter", "herbal", "other")
FORM_ALIASES = {"slab": "brick", "brick/slab": "brick", "pill": "tablet", "pills": "tablet",
                "tablets": "tablet", "crystal": "powder", "paper": "blotter", "plant": "herbal"}
#: Units and their kilograms (mass units) or none (counted or volume units).
UNITS: dict[str, float | None] = {"mg": 1e-6, "g": 1e-3, "kg": 1.0, "t": 1000.0,
                                  "ml": None, "l": None, "tablets": None, "blotters": None,
                                  "units": None, "plants": None}
UNIT_ALIASES = {"gram": "g", "grams": "g", "kilogram": "kg", "kilograms": "kg", "kgs": "kg",
                "tonne": "t", "tonnes": "t", "litre": "l", "liter": "l", "litres": "l",
                "pieces": "units", "pcs": "units", "tabs": "tablets", "tablet": "tablets"}
TRANSPORT_MODES = ("air", "sea", "road", "rail", "post", "express", "foot", "unknown")
PARTY_ROLES = ("persons", "companies", "vehicles", "vessels", "phones")
#: A party's role by the list it is given in.
ROLE_OF = {"persons": "person", "companies": "company", "vehicles": "vehicle",
           "vessels": "vessel", "phones": "phone"}
HANDLING = ("H0", "H1", "H2", "H3")
#: The word that records a substance the lab has not identified yet.
UNIDENTIFIED = "unidentified"

SEIZURE_COLUMNS = ("reference", "seized_at", "country", "place", "latitude", "longitude",
                   "operation", "transport_mode", "concealment", "packaging", "origin",
                   "transit", "destination", "consignment", "handling", *PARTY_ROLES,
                   "notes")
LINE_COLUMNS = ("substance", "quantity", "unit", "purity", "form")
COLUMNS = SEIZURE_COLUMNS + LINE_COLUMNS
#: Columns every file has. A seizure's first row must also give ``seized_at`` and
#: ``country``; its further rows (more substance lines) may leave them out.
REQUIRED = frozenset({"reference", "substance", "quantity", "unit", "form"})
LIST_FIELDS = ("transit", *PARTY_ROLES)
MAX_TEXT = 300
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
IMO = re.compile(r"^(?:IMO)?\s*(\d{7})$", re.IGNORECASE)


@dataclass(frozen=True)
class Resolved:
    """A substance as the seizure record keeps it: its name in the lists and its status."""

    name: str
    status: str  # controlled, precursor, watch, unidentified
    schedules: tuple[str, ...] = ()


Resolve = Callable[[str], Resolved]


@dataclass
class Line:
    substance_input: str
    substance: str
    status: str
    schedules: list[str]
    quantity: float
    unit: str
    quantity_kg: float | None
    purity: float | None
    form: str


@dataclass
class Party:
    role: str  # person, company, vehicle, vessel, phone
    name: str
    identifier: str


@dataclass
class SeizureRecord:
    """One validated seizure with its lines and parties."""

    reference: str
    seized_at: dt.datetime  # UTC
    offset: str  # the offset it was given with, e.g. +02:00
    country: str
    place: str
    latitude: float | None
    longitude: float | None
    operation: str
    transport_mode: str
    concealment: str
    packaging: str
    origin: str | None
    transit: list[str]
    destination: str | None
    consignment: str
    handling: str
    notes: str
    lines: list[Line] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def content_hash(self) -> str:
        """Digest of everything submitted: equal digests, same record."""
        body = asdict(self)
        body.pop("rows")
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()
                              ).hexdigest()


# -- values -------------------------------------------------------------------------------

def country(text: str) -> str:
    code = text.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{text!r} is not an ISO 3166 alpha-2 country code")
    return code


def timestamp(text: str) -> tuple[dt.datetime, str]:
    """An ISO 8601 time with its UTC offset, as UTC and the offset given."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time "
                         "(e.g. 2026-03-14T09:30:00+01:00)") from None
    off = value.utcoffset()
    if off is None:
        raise ValueError(f"{text!r} has no UTC offset; add one, e.g. +01:00 or Z")
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return value.astimezone(dt.UTC), f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def number(text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{what} {text} out of range ({low:g} to {high:g})")
    return value


def unit(text: str) -> str:
    key = " ".join(text.split()).lower()
    key = UNIT_ALIASES.get(key, key)
    if key not in UNITS:
        raise ValueError(f"unknown unit {text!r}; one of {', '.join(UNITS)}")
    return key


def form(text: str) -> str:
    key = " ".join(text.split()).lower()
    key = FORM_ALIASES.get(key, key)
    if key not in FORMS:
        raise ValueError(f"unknown form {text!r}; one of {', '.join(FORMS)}")
    return key


def split_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(";") if v.strip()]


def phone(text: str) -> str:
    """E.164: spaces, dots, dashes and brackets dropped, ``00`` read as ``+``."""
    digits = re.sub(r"[\s().\-/]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not E164.match(digits):
        raise ValueError(f"{text!r} is not an international phone number (+ and 7-15 digits)")
    # The entity graph checks numbers against their country's numbering plan; so do we, so
    # that a number the graph would refuse is named here, on its row.
    if not ftm_types.phone.validate(digits):
        raise ValueError(f"{text!r} is not a valid number in its country's numbering plan")
    return digits


def party(role: str, text: str) -> Party:
    """A party from its list entry: ``name`` or ``name | identifier`` (plate, IMO, company
    number); a phone is its number."""
    name, _, ident = (p.strip() for p in text.partition("|"))
    if role == "phones":
        number_ = phone(text)
        return Party("phone", number_, number_)
    if not name:
        raise ValueError(f"{text!r}: a name is needed before '|'")
    if len(name) > MAX_TEXT or len(ident) > 64:
        raise ValueError(f"{text[:40]!r}...: name over {MAX_TEXT} or identifier over 64 "
                         "characters")
    if role == "vessels" and ident:
        m = IMO.match(ident)
        if not m:
            raise ValueError(f"{ident!r} is not an IMO number (7 digits)")
        ident = m.group(1)
    if role == "vehicles" and ident:
        ident = re.sub(r"[\s\-]", "", ident).upper()
    return Party(ROLE_OF[role], name, ident)


# -- rows ---------------------------------------------------------------------------------

def _text(row: dict[str, str], name: str, err: Callable[[str, str], None],
          limit: int = MAX_TEXT) -> str:
    value = " ".join(row.get(name, "").split())
    if len(value) > limit:
        err(name, f"longer than {limit} characters")
    return value[:limit]


def _seizure(number_: int, row: dict[str, str], errors: list[RowError]) -> SeizureRecord | None:
    """The seizure columns of one row; None (and errors) when any is wrong."""
    start = len(errors)

    def err(name: str, reason: str) -> None:
        errors.append(RowError(number_, name, reason))

    reference = row["reference"].strip()
    if not reference or len(reference) > 64:
        err("reference", "missing" if not reference else "longer than 64 characters")
    seized_at, offset = dt.datetime(1970, 1, 1, tzinfo=dt.UTC), "+00:00"
    code = ""
    for name in ("seized_at", "country"):
        if not row[name].strip():
            err(name, "missing (required on a seizure's first row)")
            continue
        try:
            if name == "seized_at":
                seized_at, offset = timestamp(row[name])
            else:
                code = country(row[name])
        except ValueError as exc:
            err(name, str(exc))
    lat = lon = None
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        if row[name].strip():
            try:
                value = number(row[name], name, -bound, bound)
                lat, lon = (value, lon) if name == "latitude" else (lat, value)
            except ValueError as exc:
                err(name, str(exc))
    if (row["latitude"].strip() == "") != (row["longitude"].strip() == ""):
        err("latitude" if not row["latitude"].strip() else "longitude",
            "give both coordinates or neither")
    mode = row["transport_mode"].strip().lower() or "unknown"
    if mode not in TRANSPORT_MODES:
        err("transport_mode", f"{mode!r} is not one of {', '.join(TRANSPORT_MODES)}")
    route: dict[str, str | None] = {}
    for name in ("origin", "destination"):
        route[name] = None
        if row[name].strip():
            try:
                route[name] = country(row[name])
            except ValueError as exc:
                err(name, str(exc))
    transit = []
    for item in split_list(row["transit"]):
        try:
            transit.append(country(item))
        except ValueError as exc:
            err("transit", str(exc))
    handling = row["handling"].strip().upper() or "H0"
    if handling not in HANDLING:
        err("handling", f"{handling!r} is not a handling code ({', '.join(HANDLING)})")
    parties = []
    for role in PARTY_ROLES:
        for item in split_list(row[role]):
            try:
                parties.append(party(role, item))
            except ValueError as exc:
                err(role, str(exc))
    texts = {name: _text(row, name, err) for name in
             ("place", "operation", "concealment", "packaging", "consignment")}
    notes = _text(row, "notes", err, 4000)
    if len(errors) > start:
        return None
    return SeizureRecord(
        reference=reference, seized_at=seized_at, offset=offset, country=code,
        place=texts["place"], latitude=lat, longitude=lon, operation=texts["operation"],
        transport_mode=mode, concealment=texts["concealment"], packaging=texts["packaging"],
        origin=route["origin"], transit=transit, destination=route["destination"],
        consignment=texts["consignment"], handling=handling, notes=notes, parties=parties,
        rows=[number_])


def _line(number_: int, row: dict[str, str], resolve: Resolve,
          errors: list[RowError]) -> Line | None:
    start = len(errors)

    def err(name: str, reason: str) -> None:
        errors.append(RowError(number_, name, reason))

    text = " ".join(row["substance"].split())
    resolved = Resolved("", "")
    if not text:
        err("substance", "missing")
    elif text.lower() == UNIDENTIFIED:
        resolved = Resolved(UNIDENTIFIED, UNIDENTIFIED)
    else:
        try:
            resolved = resolve(text)
        except ValueError as exc:
            err("substance", str(exc))
    quantity = 0.0
    try:
        quantity = number(row["quantity"], "quantity", 0.0, 1e9)
        if quantity == 0:
            err("quantity", "must be more than 0")
    except ValueError as exc:
        err("quantity", str(exc))
    unit_ = ""
    try:
        unit_ = unit(row["unit"])
    except ValueError as exc:
        err("unit", str(exc))
    purity = None
    if row["purity"].strip():
        try:
            purity = number(row["purity"].strip().rstrip("%"), "purity", 0.0, 100.0)
        except ValueError as exc:
            err("purity", f"{exc} (a % w/w)")
    form_ = ""
    try:
        form_ = form(row["form"])
    except ValueError as exc:
        err("form", str(exc))
    if len(errors) > start:
        return None
    factor = UNITS[unit_]
    return Line(substance_input=text, substance=resolved.name, status=resolved.status,
                schedules=list(resolved.schedules), quantity=quantity, unit=unit_,
                quantity_kg=None if factor is None else quantity * factor, purity=purity,
                form=form_)


def _same(a: SeizureRecord, b: SeizureRecord) -> list[str]:
    """Seizure columns on which two rows of one reference disagree."""
    keep = ("seized_at", "country", "place", "latitude", "longitude", "operation",
            "transport_mode", "concealment", "packaging", "origin", "transit", "destination",
            "consignment", "handling", "notes")
    out = [k for k in keep if getattr(a, k) != getattr(b, k)]
    if [asdict(p) for p in a.parties] != [asdict(p) for p in b.parties] and b.parties:
        out.append("parties")
    return out


def validate(rows: list[tuple[int, list[str]]], resolve: Resolve
             ) -> tuple[list[SeizureRecord], list[RowError]]:
    """Seizures from numbered rows (``COLUMNS`` order), or every row error.

    Later rows of a reference may leave the seizure columns empty (only the line columns);
    given, they must agree with the first row.
    """
    errors: list[RowError] = []
    out: dict[str, SeizureRecord] = {}
    for number_, values in rows:
        row = as_dict(values, COLUMNS)
        reference = row["reference"].strip()
        first = out.get(reference)
        line = _line(number_, row, resolve, errors)
        if first is not None and not any(row[c].strip() for c in SEIZURE_COLUMNS
                                         if c != "reference"):
            if line is not None:
                first.lines.append(line)
                first.rows.append(number_)
            continue
        record = _seizure(number_, row, errors)
        if record is None:
            continue
        if first is None:
            out[reference] = record
            first = record
        else:
            differ = _same(first, record)
            if differ:
                errors.append(RowError(number_, differ[0], f"differs from row {first.rows[0]} "
                                       f"of seizure {reference!r} ({', '.join(differ)})"))
                continue
            first.rows.append(number_)
        if line is not None:
            first.lines.append(line)
    return list(out.values()), errors


def read_file(data: bytes, filename: str, resolve: Resolve) -> list[SeizureRecord]:
    """All seizures of a file, or :class:`FileRejected` with every row error."""
    rows = read_rows(data, filename, columns=COLUMNS, required=REQUIRED,
                     list_fields=LIST_FIELDS)
    records, errors = validate(rows, resolve)
    if errors:
        raise FileRejected(f"{filename}: {len(errors)} error(s) in {len({e.row for e in errors})}"
                           " row(s); nothing was imported", errors)
    return records


# -- nested objects (API, forms) ----------------------------------------------------------

def from_object(obj: Any, resolve: Resolve) -> SeizureRecord:
    """One seizure from its nested form (``substances`` a list of lines, lists as lists).

    Errors name the field as the object has it: ``substances[1].unit``, ``country``.
    """
    if not isinstance(obj, dict):
        raise InvalidData("a seizure must be a JSON object",
                          errors=[FieldError("body", f"got {type(obj).__name__}")])
    allowed = set(SEIZURE_COLUMNS) | {"substances"}
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidData("unknown fields", errors=[FieldError(k, "not a field of a seizure")
                                                    for k in unknown])
    lines = obj.get("substances")
    if not isinstance(lines, list) or not lines:
        raise InvalidData("a seizure needs its substances",
                          errors=[FieldError("substances", "a non-empty list of lines")])
    base: dict[str, str] = {}
    problems: list[FieldError] = []
    for key in SEIZURE_COLUMNS:
        value = obj.get(key)
        if isinstance(value, list) and key in LIST_FIELDS:
            value = ";".join(str(v) for v in value)
        elif isinstance(value, bool | dict | list):
            problems.append(FieldError(key, "must be a string or number"))
            value = ""
        base[key] = "" if value is None else str(value)
    rows: list[tuple[int, list[str]]] = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            problems.append(FieldError(f"substances[{i}]", "must be an object"))
            continue
        extra = sorted(set(line) - set(LINE_COLUMNS))
        problems += [FieldError(f"substances[{i}].{k}", "not a field of a line") for k in extra]
        values = dict(base) if i == 0 else {"reference": base["reference"]}
        values.update({k: "" if line.get(k) is None else str(line.get(k))
                       for k in LINE_COLUMNS})
        rows.append((i, [values.get(c, "") for c in COLUMNS]))
    if problems:
        raise InvalidData("seizure is not valid", errors=problems)
    records, errors = validate(rows, resolve)
    if errors:
        raise InvalidData("seizure is not valid", errors=[
            FieldError(e.field if e.field in SEIZURE_COLUMNS else f"substances[{e.row}].{e.field}",
                       e.reason) for e in errors])
    return records[0]
