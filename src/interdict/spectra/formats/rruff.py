"""RRUFF project text files (rruff.info): ``##KEY=value`` header, ``x, y`` pairs, ``##END=``.

RRUFF publishes Raman, infrared and powder-diffraction files in this one layout, and the header
does not say which. The download names do (``Calcite__R040070-1__Infrared__...txt``), so the
technique comes from the file name first and from header text second. The ``##END=`` line is
required: RRUFF always writes it, so its absence means the download was cut short.
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

_LABEL = re.compile(r"##([^=]*)=(.*)")


def parse(lines: list[str], filename: str) -> list[Spectrum]:
    """The one spectrum in a RRUFF file."""
    header: dict[str, str] = {}
    xs: list[float] = []
    ys: list[float] = []
    first_data = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        label = _LABEL.fullmatch(line)
        if label and label.group(1).strip().upper() == "END":
            _expect_nothing_after(lines, number, filename)
            return [_spectrum(filename, header, xs, ys, first_data or number)]
        if label:
            if xs:
                raise SpectrumFormatError(filename, "header label after the data", line=number)
            header[label.group(1).strip()] = label.group(2).strip()
            continue
        x, y = _pair(line, number, filename)
        xs.append(x)
        ys.append(y)
        first_data = first_data or number
        check_points(len(xs), filename, line=number)
    raise SpectrumFormatError(filename, "missing ##END= (the file may be truncated)",
                              line=len(lines))


def _pair(line: str, number: int, filename: str) -> tuple[float, float]:
    fields = [f for f in re.split(r"[,\s]+", line) if f]
    if len(fields) != 2:
        raise SpectrumFormatError(filename, f"expected 'x, y' but found {len(fields)} values",
                                  line=number)
    x, y = parse_number(fields[0]), parse_number(fields[1])
    if x is None or y is None:
        raise SpectrumFormatError(filename, f"value is not a number: {line[:60]!r}",
                                  line=number)
    return x, y


def _expect_nothing_after(lines: list[str], end_line: int, filename: str) -> None:
    for number, raw in enumerate(lines[end_line:], start=end_line + 1):
        if raw.strip():
            raise SpectrumFormatError(filename, "text after ##END=", line=number)


def _spectrum(filename: str, header: dict[str, str], xs: list[float], ys: list[float],
              line: int) -> Spectrum:
    if not xs:
        raise SpectrumFormatError(filename, "no data points between the header and ##END=",
                                  line=line)
    technique = technique_for(filename, header)
    vibrational = technique in (Technique.IR, Technique.RAMAN)
    return build_spectrum(filename, xs, ys, technique=technique, line=line,
                          name=header.get("NAMES", ""),
                          # RRUFF IR and Raman axes are always wavenumbers; its XRD files
                          # (2-theta) are left without units rather than mislabelled.
                          x_units="1/CM" if vibrational else "", metadata=header)


def technique_for(filename: str, header: dict[str, str]) -> Technique:
    """Infrared or Raman from the RRUFF download name, else from the header text."""
    for text in (filename, " ".join(header.values())):
        lowered = text.lower()
        if "infrared" in lowered:
            return Technique.IR
        if "raman" in lowered:
            return Technique.RAMAN
    return Technique.OTHER
