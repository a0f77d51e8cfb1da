"""Thermo Galactic SPC binary files (the "new" little-endian format, version byte 0x4B).

Layout (Galactic's published ``spc.h``): a 512-byte main header; an optional float32 X array
(``TXVALS``); then one subfile per spectrum, each a 32-byte subheader followed by its Y values
(and, with ``TXYXYS``, its own X array first). Y values are 32- or 16-bit (``TSPREC``) signed
fixed-point numbers scaled by ``2**(exponent-32)`` or ``2**(exponent-16)``, or IEEE float32
when the exponent byte is 0x80. The exponent is the main header's ``fexp``, or each subfile's
``subexp`` in multifiles (``TMULTI``), as ``spc.h`` specifies.

Not read: the old 0x4D and big-endian 0x4C variants (GRAMS converts them), the log block, the
TXYXYS subfile directory (subfiles are read in order) and the W axis of 4-D files (each
subfile becomes one spectrum). Every read is bounds-checked so that a truncated upload fails
with the byte offset where data ran out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from interdict.spectra.formats import (
    SpectrumFormatError,
    build_spectrum,
    check_points,
    check_size,
)
from interdict.spectra.spectrum import FloatArray, Spectrum, Technique

HEADER = struct.Struct("<BBBbIddIBBBBI9s9sH32s130s30sIIBBHf48sfIfB187s")
SUBHEADER = struct.Struct("<BbHfffIIf4s")

TSPREC, TMULTI, TALABS, TXYXYS, TXVALS = 0x01, 0x04, 0x20, 0x40, 0x80
FLOAT_Y = -128  # the exponent byte 0x80, read as a signed char

_X_UNITS = {1: "1/CM", 2: "MICROMETERS", 3: "NANOMETERS", 4: "SECONDS", 5: "MINUTES",
            6: "HZ", 9: "M/Z", 10: "PPM", 13: "1/CM", 14: "EV", 22: "POINTS",
            23: "MILLISECONDS"}
_Y_UNITS = {2: "ABSORBANCE", 3: "KUBELKA-MUNK", 4: "COUNTS", 10: "LOG(1/R)", 11: "PERCENT",
            12: "INTENSITY", 13: "RELATIVE INTENSITY", 128: "TRANSMITTANCE",
            129: "REFLECTANCE"}
_EXPERIMENTS = {0: "general", 1: "gas chromatogram", 2: "chromatogram", 3: "HPLC",
                4: "FT-IR, FT-NIR or FT-Raman", 5: "NIR", 7: "UV-VIS", 8: "X-ray diffraction",
                9: "mass spectrum", 10: "NMR", 11: "Raman", 12: "fluorescence", 13: "atomic",
                14: "diode array"}
_XRAMAN, _XMZ = 13, 9


@dataclass(frozen=True)
class _Header:
    flags: int
    experiment: int
    exponent: int
    npts: int
    first: float
    last: float
    nsub: int
    xtype: int
    ytype: int
    comment: str
    labels: tuple[str, str]
    resolution: str
    source: str

    @property
    def multi(self) -> bool:
        return bool(self.flags & TMULTI)


class _Reader:
    """Bounds-checked little-endian reads that name the offset when the file runs out."""

    def __init__(self, data: bytes, filename: str) -> None:
        self.data, self.filename, self.pos = data, filename, 0

    def fail(self, problem: str, offset: int | None = None) -> SpectrumFormatError:
        return SpectrumFormatError(self.filename, problem,
                                   offset=self.pos if offset is None else offset)

    def take(self, size: int, what: str) -> bytes:
        if self.pos + size > len(self.data):
            raise self.fail(f"file is truncated: reading {what} takes {size} bytes but only "
                            f"{len(self.data) - self.pos} remain")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def array(self, dtype: str, count: int, what: str) -> FloatArray:
        raw = self.take(np.dtype(dtype).itemsize * count, what)
        return np.frombuffer(raw, dtype=dtype).astype(np.float64)


def parse(data: bytes, filename: str) -> list[Spectrum]:
    """Every subfile of an SPC file, as one spectrum each."""
    check_size(data, filename)
    reader = _Reader(data, filename)
    header = _read_header(reader)
    shared_x = _shared_x(reader, header)
    spectra = []
    total = 0
    for index in range(header.nsub):
        start = reader.pos
        x, y, subtime = _read_subfile(reader, header, shared_x, index)
        total += y.size
        check_points(total, filename, offset=start)
        spectra.append(_spectrum(filename, header, x, y, index, subtime, start))
    return spectra


def _read_header(reader: _Reader) -> _Header:
    if len(reader.data) > 1 and reader.data[1] in (0x4C, 0x4D):
        kind = "big-endian (0x4C)" if reader.data[1] == 0x4C else "old-format (0x4D)"
        raise reader.fail(f"{kind} SPC files are not supported; save the file in the new "
                          "format (0x4B) first", offset=1)
    if len(reader.data) > 1 and reader.data[1] != 0x4B:
        raise reader.fail(f"not an SPC file: version byte is 0x{reader.data[1]:02X}, "
                          "expected 0x4B", offset=1)
    f = HEADER.unpack(reader.take(HEADER.size, "the 512-byte main header"))
    flags = f[0]
    # fnsub is 1 (or left 0 by some writers) unless TMULTI is set.
    nsub = max(f[7], 1) if flags & TMULTI else 1
    header = _Header(flags=flags, experiment=f[2], exponent=f[3], npts=f[4], first=f[5],
                     last=f[6], nsub=nsub, xtype=f[8], ytype=f[9], comment=_text(f[17]),
                     labels=_axis_labels(f[18]) if flags & TALABS else ("", ""),
                     resolution=_text(f[13]), source=_text(f[14]))
    _check_header(reader, header)
    return header


def _check_header(reader: _Reader, header: _Header) -> None:
    if header.flags & TXYXYS and not header.flags & TXVALS:
        raise reader.fail("TXYXYS flag set without TXVALS (invalid per spc.h)", offset=0)
    if not header.flags & TXYXYS:
        if header.npts == 0:
            raise reader.fail("header says the spectrum has 0 points (fnpts)", offset=4)
        check_points(header.npts * header.nsub, reader.filename, offset=4)
        if not (np.isfinite(header.first) and np.isfinite(header.last)):
            raise reader.fail("first or last X (ffirst/flast) is not a finite number",
                              offset=8)


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _axis_labels(raw: bytes) -> tuple[str, str]:
    parts = [p.decode("latin-1").strip() for p in raw.split(b"\x00")]
    return (parts[0], parts[1] if len(parts) > 1 else "")


def _shared_x(reader: _Reader, header: _Header) -> FloatArray | None:
    """The X axis all subfiles share, or None when each subfile carries its own."""
    if header.flags & TXYXYS:
        return None
    if header.flags & TXVALS:
        return reader.array("<f4", header.npts, f"the X array of {header.npts} values")
    return np.linspace(header.first, header.last, header.npts)


def _read_subfile(reader: _Reader, header: _Header, shared_x: FloatArray | None,
                  index: int) -> tuple[FloatArray, FloatArray, float]:
    what = f"subfile {index + 1} of {header.nsub}"
    sub = SUBHEADER.unpack(reader.take(SUBHEADER.size, f"the header of {what}"))
    exponent = sub[1] if header.multi else header.exponent
    if shared_x is None:
        npts = sub[6]
        if npts == 0:
            raise reader.fail(f"{what} declares 0 points (subnpts)",
                              offset=reader.pos - SUBHEADER.size + 16)
        check_points(npts, reader.filename, offset=reader.pos - SUBHEADER.size + 16)
        x = reader.array("<f4", npts, f"the X values of {what}")
    else:
        npts, x = shared_x.size, shared_x
    y = _read_y(reader, header, exponent, npts, what)
    return x, y, float(sub[3])


def _read_y(reader: _Reader, header: _Header, exponent: int, npts: int,
            what: str) -> FloatArray:
    if exponent == FLOAT_Y:
        return reader.array("<f4", npts, f"the float Y values of {what}")
    if header.flags & TSPREC:
        raw = reader.array("<i2", npts, f"the 16-bit Y values of {what}")
        return raw * 2.0 ** (exponent - 16)
    raw = reader.array("<i4", npts, f"the 32-bit Y values of {what}")
    return raw * 2.0 ** (exponent - 32)


def technique_for(experiment: int, xtype: int) -> Technique:
    """The technique from ``fexper``, with the X unit deciding FT-IR versus FT-Raman."""
    if experiment == 11 or xtype == _XRAMAN:
        return Technique.RAMAN
    if experiment == 4:
        return Technique.IR
    if experiment == 9 or xtype == _XMZ:
        return Technique.MS
    return Technique.OTHER


def _spectrum(filename: str, header: _Header, x: FloatArray, y: FloatArray, index: int,
              subtime: float, offset: int) -> Spectrum:
    metadata = {"experiment": _EXPERIMENTS.get(header.experiment, str(header.experiment)),
                "comment": header.comment, "resolution": header.resolution,
                "source": header.source, "subfile": f"{index + 1} of {header.nsub}"}
    if header.multi:
        metadata["subtime"] = repr(subtime)
    name = header.comment or filename
    if header.nsub > 1:
        name = f"{name} [{index + 1}/{header.nsub}]"
    x_units = header.labels[0] or _X_UNITS.get(header.xtype, "")
    y_units = header.labels[1] or _Y_UNITS.get(header.ytype, "")
    return build_spectrum(filename, x, y, technique=technique_for(header.experiment,
                                                                  header.xtype),
                          offset=offset, name=name, x_units=x_units, y_units=y_units,
                          metadata={k: v for k, v in metadata.items() if v})
