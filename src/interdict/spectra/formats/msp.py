"""NIST MSP mass-spectral library text: one or many records per file.

A record is ``Key: value`` lines starting with ``Name:`` and ending with ``Num Peaks: n``,
followed by exactly ``n`` peaks. Writers differ in how peaks are laid out (``mz int;`` groups
several to a line, or one ``mz int "annotation"`` per line), so peaks are read as a stream of
number pairs with quoted annotations removed. The declared count is checked: a mismatch means
a damaged or hand-edited library entry, and a search against a damaged entry gives wrong hits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from interdict.spectra.formats import (
    SpectrumFormatError,
    build_spectrum,
    check_points,
    parse_number,
)
from interdict.spectra.spectrum import Spectrum, Technique

_FIELD = re.compile(r"([^:]+):(.*)")
_ANNOTATION = re.compile(r'"[^"]*"')
_SEPARATORS = re.compile(r"[\s,;:]+")


@dataclass
class _Record:
    """One library entry while it is being read."""

    line: int
    header: dict[str, str] = field(default_factory=dict)
    declared: int | None = None
    declared_line: int = 0
    mz: list[float] = field(default_factory=list)
    intensity: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.header.get("name", "")


def parse(lines: list[str], filename: str) -> list[Spectrum]:
    """Every record in the file, in file order."""
    spectra: list[Spectrum] = []
    record: _Record | None = None
    total = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if _is_name(line):
            if record is not None:
                spectra.append(_finish(record, filename, number))
            record = _Record(line=number)
        if record is None:
            raise SpectrumFormatError(filename, "expected a record starting with 'Name:'",
                                      line=number)
        if record.declared is None:
            _header_line(record, line, number, filename)
        else:
            total += _peak_line(record, line, number, filename)
            check_points(total, filename, line=number)
    if record is None:
        raise SpectrumFormatError(filename, "no 'Name:' record found", line=1)
    spectra.append(_finish(record, filename, len(lines) + 1))
    return spectra


def _is_name(line: str) -> bool:
    return bool(re.match(r"(?i)name\s*:", line))


def _header_line(record: _Record, line: str, number: int, filename: str) -> None:
    match = _FIELD.fullmatch(line)
    if not match:
        raise SpectrumFormatError(
            filename, f"expected 'Key: value' in the header of record {record.name!r} "
            "(or 'Num Peaks:' is missing)", line=number)
    key, value = match.group(1).strip().lower(), match.group(2).strip()
    if key == "num peaks":
        if not value.isdigit():
            raise SpectrumFormatError(filename, f"Num Peaks is not a whole number: {value!r}",
                                      line=number)
        record.declared, record.declared_line = int(value), number
    # Repeated keys (Synon:) are kept, one value per line, rather than overwritten.
    previous = record.header.get(key)
    record.header[key] = value if previous is None else f"{previous}\n{value}"


def _peak_line(record: _Record, line: str, number: int, filename: str) -> int:
    """Add the peaks on ``line`` to ``record``; returns how many were added."""
    tokens = [t for t in _SEPARATORS.split(_ANNOTATION.sub(" ", line)) if t]
    if len(tokens) % 2:
        raise SpectrumFormatError(filename, f"odd number of values in peak list of record "
                                  f"{record.name!r} (an m/z without intensity)", line=number)
    numbers: list[float] = []
    for token in tokens:
        value = parse_number(token)
        if value is None:
            raise SpectrumFormatError(filename, f"peak value is not a number: {token!r} in "
                                      f"record {record.name!r}", line=number)
        numbers.append(value)
    record.mz.extend(numbers[0::2])
    record.intensity.extend(numbers[1::2])
    if record.declared is not None and len(record.mz) > record.declared:
        raise SpectrumFormatError(filename, f"record {record.name!r} declares Num Peaks: "
                                  f"{record.declared} (line {record.declared_line}) but has "
                                  "more peaks", line=number)
    return len(tokens) // 2


def _finish(record: _Record, filename: str, next_line: int) -> Spectrum:
    if record.declared is None:
        raise SpectrumFormatError(filename, f"record {record.name!r} (line {record.line}) has "
                                  "no 'Num Peaks:' line", line=next_line)
    if len(record.mz) != record.declared:
        raise SpectrumFormatError(filename, f"record {record.name!r} declares Num Peaks: "
                                  f"{record.declared} but {len(record.mz)} peaks follow",
                                  line=record.declared_line)
    if record.declared == 0:
        raise SpectrumFormatError(filename, f"record {record.name!r} has no peaks",
                                  line=record.declared_line)
    return build_spectrum(filename, record.mz, record.intensity, technique=Technique.MS,
                          line=record.declared_line, name=record.name, x_units="M/Z",
                          y_units="RELATIVE ABUNDANCE", metadata=record.header)
