"""U.S. CBP "Nationwide Drug Seizures": monthly seizure aggregates, read into typed rows.

CBP publishes, per fiscal-year month, the number of seizure events and the pounds seized for
each component (Office of Field Operations at ports of entry, U.S. Border Patrol between
them), region, field office or sector, and drug type. These are aggregates, not seizures:
they serve as priors, dashboards and trend baselines, never as cases.

Why the reader does what it does:

- **Calendar months.** The U.S. federal fiscal year starts in October, so ``FY 2019, OCT``
  is October 2018. Rows carry the first day of the calendar month so that they line up with
  every other dated record of the platform; the fiscal year is kept beside it because CBP's
  own totals are per fiscal year.
- **FYTD.** The newest year is published as ``2026 (FYTD)``: a year to date, whose totals
  must not be compared with complete years. The flag keeps that visible.
- **Kilograms.** The platform weighs in kilograms; pounds are converted with the exact
  international factor (0.45359237 kg per lb) and the raw drug type is kept, so nothing
  about the source is lost.
- **Substances.** CBP's drug types are mapped to the platform's substance names where one
  type is one substance. "Other Drugs**" (everything else, footnoted by CBP) and any type CBP
  may add later map to ``None`` rather than to a guess; ``drug_type`` still has the label.
- **All or nothing.** A file with any bad value is refused whole, with every problem named
  by row (the file's line number) and column, because a partly read month would silently
  understate the totals that dashboards and alerts compare.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import re
from dataclasses import dataclass
from importlib import resources

from interdict.tabular import FileRejected, RowError, read_rows

FY = "FY"
MONTH = "Month (abbv)"
COMPONENT = "Component"
REGION = "Region"
LAND_FILTER = "Land Filter"
AREA = "Area of Responsibility"
DRUG_TYPE = "Drug Type"
EVENTS = "Count of Event"
QUANTITY = "Sum Qty (lbs)"
COLUMNS = (FY, MONTH, COMPONENT, REGION, LAND_FILTER, AREA, DRUG_TYPE, EVENTS, QUANTITY)

KG_PER_LB = 0.45359237  # exact, by definition of the international pound (1959)

# Fiscal-year month -> (calendar month, years to subtract from the fiscal year).
_MONTHS: dict[str, tuple[int, int]] = {
    "OCT": (10, 1), "NOV": (11, 1), "DEC": (12, 1), "JAN": (1, 0), "FEB": (2, 0),
    "MAR": (3, 0), "APR": (4, 0), "MAY": (5, 0), "JUN": (6, 0), "JUL": (7, 0),
    "AUG": (8, 0), "SEP": (9, 0),
}

# CBP drug type (canonical: lower case, single spaces) -> platform substance name. "Ecstasy"
# is what CBP calls MDMA tablets and powder; "Marijuana" covers the plant and its products.
SUBSTANCES: dict[str, str] = {
    "cocaine": "cocaine",
    "methamphetamine": "methamphetamine",
    "fentanyl": "fentanyl",
    "heroin": "heroin",
    "marijuana": "cannabis",
    "ecstasy": "MDMA",
    "khat (catha edulis)": "khat",
    "lsd": "LSD",
    "ketamine": "ketamine",
}

_FY = re.compile(r"(\d{4})(\s*\(FYTD\))?", re.IGNORECASE)
# Years outside this range are typing errors (CBP was formed in 2003).
_FIRST_FY, _LAST_FY = 1990, 2100
_COUNT = re.compile(r"\d+")
_QUANTITY = re.compile(r"(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

_SHIPPED = ("cbp-nationwide-drugs-fy19-fy22.csv.gz", "cbp-nationwide-drugs-fy23-fy26-dec.csv.gz")


@dataclass(frozen=True)
class AggregateRow:
    """One published cell: seizures of one drug type in one area in one month."""

    month: dt.date  # first day of the calendar month
    component: str
    region: str
    land_filter: str
    area: str
    drug_type: str
    substance: str | None
    events: int
    quantity_kg: float
    fiscal_year: int
    fytd: bool


def substance_of(drug_type: str) -> str | None:
    """The platform's substance name for a CBP drug type; None where it is not one substance."""
    return SUBSTANCES.get(" ".join(drug_type.split()).lower())


def parse(data: bytes, filename: str) -> list[AggregateRow]:
    """Every row of one CBP file, or ``InvalidData`` naming the file and each bad value.

    Header problems (a missing, unknown or repeated column), a file that is not UTF-8 text
    and an empty file are refused by :func:`interdict.tabular.read_rows`; value problems are
    collected over the whole file and raised together as :class:`FileRejected`, with fields
    named ``row N: <column>``.
    """
    rows = read_rows(data, filename, columns=COLUMNS, required=frozenset(COLUMNS))
    out: list[AggregateRow] = []
    problems: list[RowError] = []
    for number, values in rows:
        row, errors = _row(number, values)
        problems += errors
        if row is not None:
            out.append(row)
    if problems:
        raise FileRejected(f"{filename}: {len(problems)} bad value(s), first row "
                           f"{problems[0].row}: {problems[0].field}: {problems[0].reason}",
                           problems)
    return out


def _row(number: int, values: list[str]) -> tuple[AggregateRow | None, list[RowError]]:
    v = dict(zip(COLUMNS, (s.strip() for s in values), strict=True))
    errors = [RowError(number, c, "required") for c in COLUMNS if not v[c]]
    empty = {e.field for e in errors}

    fiscal_year, fytd = 0, False
    if FY not in empty:
        m = _FY.fullmatch(v[FY])
        if m is None or not _FIRST_FY <= int(m.group(1)) <= _LAST_FY:
            errors.append(RowError(number, FY, f"{v[FY]!r} is not a fiscal year such as "
                                               "'2019' or '2026 (FYTD)'"))
        else:
            fiscal_year, fytd = int(m.group(1)), m.group(2) is not None
    month = _MONTHS.get(v[MONTH].upper())
    if month is None and MONTH not in empty:
        errors.append(RowError(number, MONTH, f"{v[MONTH]!r} is not a month abbreviation "
                                              "(JAN ... DEC)"))
    events = 0
    if EVENTS not in empty:
        if _COUNT.fullmatch(v[EVENTS]):
            events = int(v[EVENTS])
        else:
            errors.append(RowError(number, EVENTS, _bad_number(v[EVENTS], "a whole number")))
    pounds = 0.0
    if QUANTITY not in empty:
        if _QUANTITY.fullmatch(v[QUANTITY]) and math.isfinite(float(v[QUANTITY])):
            pounds = float(v[QUANTITY])
        else:
            errors.append(RowError(number, QUANTITY, _bad_number(v[QUANTITY], "a number")))
    if errors or month is None:
        return None, errors
    calendar_month, back = month
    return AggregateRow(
        month=dt.date(fiscal_year - back, calendar_month, 1),
        component=v[COMPONENT], region=v[REGION], land_filter=v[LAND_FILTER], area=v[AREA],
        drug_type=v[DRUG_TYPE], substance=substance_of(v[DRUG_TYPE]), events=events,
        quantity_kg=pounds * KG_PER_LB, fiscal_year=fiscal_year, fytd=fytd,
    ), []


def _bad_number(value: str, kind: str) -> str:
    if value.startswith("-"):
        return f"{value!r} is negative; counts and weights are 0 or more"
    return f"{value!r} is not {kind}"


def shipped_files() -> list[tuple[str, bytes]]:
    """(file name, CSV bytes) of the CBP files shipped with the package, oldest first."""
    folder = resources.files("interdict.seizures").joinpath("data")
    return [(name.removesuffix(".gz"), gzip.decompress(folder.joinpath(name).read_bytes()))
            for name in _SHIPPED]


def shipped() -> list[AggregateRow]:
    """Every row of the shipped CBP files (FY2019 to FY2026 year to date), in file order."""
    return [row for name, data in shipped_files() for row in parse(data, name)]
