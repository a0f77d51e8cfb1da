"""Two-column text spectra: CSV, TSV, semicolon- or whitespace-separated.

Instrument exports and spreadsheets produce these with no agreed header, so the reader accepts
``#`` comment lines anywhere and one header line (column names) before the data, and nothing
else: a second non-numeric line is an error rather than a guess, because a file that is not a
spectrum (an index, a report) must not turn into a wrong one.

The separator is taken from the first data line: ``;`` then tab then ``,`` then whitespace.
With ``;`` or tab separators a comma inside a field is a decimal comma (European exports).
The file carries no technique; the caller states it (``Technique.OTHER`` if not).
"""

from __future__ import annotations

import re

from interdict.spectra.formats import (
    SpectrumFormatError,
    build_spectrum,
    check_points,
    parse_number,
)
from interdict.spectra.spectrum import Spectrum, Technique

_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def parse(lines: list[str], filename: str, *,
          technique: Technique = Technique.OTHER) -> list[Spectrum]:
    """One spectrum from the two numeric columns of ``lines``."""
    header: list[str] | None = None
    sep: str | None = None
    xs: list[float] = []
    ys: list[float] = []
    first_line = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if sep is None:
            sep = _separator(line)
        pair = _pair(_fields(line, sep), sep)
        if pair is None:
            header = _header_or_fail(filename, number, line, sep, header, bool(xs))
            sep = None  # the header may use another separator than the data
            continue
        first_line = first_line or number
        xs.append(pair[0])
        ys.append(pair[1])
        check_points(len(xs), filename, line=number)
    if not xs:
        where = "only a header line" if header else "no data lines"
        raise SpectrumFormatError(filename, f"{where}; expected two numeric columns",
                                  line=len(lines) or 1)
    metadata = {"x column": header[0], "y column": header[1]} if header else {}
    return [build_spectrum(filename, xs, ys, technique=technique, line=first_line,
                           metadata=metadata)]


def _separator(line: str) -> str:
    for sep in (";", "\t", ","):
        if sep in line:
            return sep
    return " "


def _fields(line: str, sep: str) -> list[str]:
    parts = line.split() if sep == " " else [p.strip().strip('"') for p in line.split(sep)]
    while parts and not parts[-1]:  # a trailing separator ("1,2,") is harmless
        parts.pop()
    return parts


def _pair(fields: list[str], sep: str) -> tuple[float, float] | None:
    """The two numbers on a data line, or None when the line is not numeric at all."""
    values = [_number(f, sep) for f in fields]
    if len(values) != 2 or values[0] is None or values[1] is None:
        return None
    return values[0], values[1]


def _number(field: str, sep: str) -> float | None:
    if sep in (";", "\t") and _DECIMAL_COMMA.fullmatch(field):
        field = field.replace(",", ".")
    return parse_number(field)


def _header_or_fail(filename: str, number: int, line: str, sep: str,
                    header: list[str] | None, data_seen: bool) -> list[str]:
    """Accept ``line`` as the header, or say precisely why it is not a data line."""
    fields = _fields(line, sep)
    numeric = [parse_number(f) is not None or bool(_DECIMAL_COMMA.fullmatch(f))
               for f in fields]
    if data_seen or header is not None or any(numeric):
        shown = line if len(line) <= 60 else line[:57] + "..."
        if len(fields) != 2:
            problem = f"expected 2 columns but found {len(fields)}"
        else:
            problem = "value is not a number"
        raise SpectrumFormatError(filename, f"{problem}: {shown!r}", line=number)
    return fields if len(fields) == 2 else [line, ""]
