"""Spectrum file parsers behind one entry point, :func:`read_spectra`.

Every parser turns bytes into :class:`~interdict.spectra.spectrum.Spectrum` objects and reports
any problem as :class:`SpectrumFormatError`, whose message says which file, where (line number,
or byte offset for binary SPC) and what is wrong. Callers never see ``IndexError`` or
``ValueError`` from a malformed upload: an analyst must be able to fix the file from the message.

This module also holds what the parsers share (the error, the input limits, number parsing and
the final checks on a spectrum). The parser modules import it, so it imports them lazily inside
:func:`read_spectra` to keep the import graph acyclic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath

import numpy as np

from interdict.errors import FieldError, InvalidData
from interdict.spectra.spectrum import FloatArray, Spectrum, Technique

# Uploads are held in memory and decoded in Python; these bounds keep one request from
# exhausting a worker. Real instrument files are far smaller (a 4,000-point IR is ~50 kB).
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_POINTS = 10_000_000


class SpectrumFormatError(InvalidData):
    """A spectrum file could not be read; the message names file, location and problem.

    ``line`` (1-based) is set for text formats, ``offset`` (bytes from the start) for SPC.
    """

    def __init__(self, filename: str, problem: str, *, line: int | None = None,
                 offset: int | None = None) -> None:
        where = ""
        if line is not None:
            where = f" line {line}"
        elif offset is not None:
            where = f" byte offset {offset}"
        detail = f"{filename}{where}: {problem}"
        super().__init__(detail, errors=[FieldError(field="file", reason=detail)])
        self.filename = filename
        self.problem = problem
        self.line = line
        self.offset = offset


@dataclass(frozen=True)
class FormatInfo:
    """What one supported format is, for documentation and upload forms."""

    key: str
    title: str
    extensions: tuple[str, ...]
    detected_by: str
    techniques: str


FORMATS: tuple[FormatInfo, ...] = (
    FormatInfo("jcamp", "JCAMP-DX 4.24 / 5.x", (".jdx", ".dx", ".jcm", ".jcamp"),
               "first label is ##TITLE=", "from ##DATA TYPE: infrared, Raman, mass; else other"),
    FormatInfo("rruff", "RRUFF text", (".txt",), "first label is ##NAMES= or ##RRUFFID=",
               "from the file name or header: Infrared, Raman; else other"),
    FormatInfo("msp", "NIST MSP (one or many records)", (".msp",), "first line is Name:",
               "mass spectrum"),
    FormatInfo("spc", "Thermo Galactic SPC (new format, little-endian)", (".spc",),
               "binary, version byte 0x4B at offset 1", "from the fexper/fxtype codes"),
    FormatInfo("text", "Two-column text (CSV, TSV, semicolon or whitespace)",
               (".csv", ".tsv", ".txt", ".dat", ".xy"), "anything else",
               "given by the caller; other by default"),
)

_EXTENSIONS = {ext: f.key for f in FORMATS if f.key != "rruff" for ext in f.extensions}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPC_VERSIONS = {0x4B, 0x4C, 0x4D}


def read_spectra(data: bytes, filename: str, *,
                 technique: Technique | None = None) -> list[Spectrum]:
    """Parse ``data`` (the whole file) into one or more spectra.

    The format is chosen from the content first (a ``.txt`` file may hold JCAMP-DX or RRUFF)
    and from the extension otherwise. ``technique``, when given, replaces whatever the file
    said or implied: two-column text carries no technique, and the uploader usually knows.
    """
    check_size(data, filename)
    data = _utf16_as_utf8(data)
    kind = detect_format(data, filename)
    spectra = _parse(kind, data, filename, technique)
    if not spectra:
        raise SpectrumFormatError(filename, "the file holds no spectrum")
    check_points(sum(s.x.size for s in spectra), filename)
    if technique is not None:
        spectra = [replace(s, technique=technique) for s in spectra]
    return spectra


def _parse(kind: str, data: bytes, filename: str,
           technique: Technique | None) -> list[Spectrum]:
    # Imported here: the parser modules import this package for the shared helpers.
    from interdict.spectra.formats import jcamp, msp, rruff, spc, text

    if kind == "spc":
        return spc.parse(data, filename)
    lines = decode_lines(data, filename)
    if kind == "jcamp":
        return jcamp.parse(lines, filename)
    if kind == "rruff":
        return rruff.parse(lines, filename)
    if kind == "msp":
        return msp.parse(lines, filename)
    return text.parse(lines, filename, technique=technique or Technique.OTHER)


def _utf16_as_utf8(data: bytes) -> bytes:
    """Windows exports are sometimes UTF-16 with a byte-order mark; its NUL bytes would
    otherwise make the text look binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return data
    return data


def detect_format(data: bytes, filename: str) -> str:
    """The key of the parser for ``data`` (see :data:`FORMATS`)."""
    ext = PurePath(filename).suffix.lower()
    head = data[:4096]
    if b"\x00" in head or ext == ".spc":
        if ext == ".spc" or (len(data) > 1 and data[1] in _SPC_VERSIONS):
            return "spc"
        nul = head.find(b"\x00")
        raise SpectrumFormatError(
            filename, f"binary data (byte 0x00 at offset {nul}) is not a supported spectrum "
            "format", line=head[:nul].count(b"\n") + 1)
    first = _first_meaningful_line(head.decode("latin-1"))
    if first.startswith("##"):
        label = first[2:].split("=", 1)[0].strip().upper()
        return "rruff" if label in {"NAMES", "RRUFFID"} else "jcamp"
    if re.match(r"(?i)name\s*:", first):
        return "msp"
    return _EXTENSIONS.get(ext, "text")


def _first_meaningful_line(head: str) -> str:
    for raw in head.lstrip("\ufeff\xef\xbb\xbf").splitlines():
        line = raw.strip()
        if line and not line.startswith("$$"):
            return line
    return ""


def check_size(data: bytes, filename: str) -> None:
    """Refuse empty and oversized files before any parsing work."""
    if len(data) > MAX_FILE_BYTES:
        raise SpectrumFormatError(filename, f"file is {len(data):,} bytes; the limit is "
                                  f"{MAX_FILE_BYTES:,} bytes")
    if not data.strip():
        raise SpectrumFormatError(filename, "file is empty", line=1)


def check_points(count: int, filename: str, *, line: int | None = None,
                 offset: int | None = None) -> None:
    """Refuse more points than :data:`MAX_POINTS` (checked while decoding, not after)."""
    if count > MAX_POINTS:
        raise SpectrumFormatError(filename, f"more than {MAX_POINTS:,} data points; refusing "
                                  "to read further", line=line, offset=offset)


def decode_lines(data: bytes, filename: str) -> list[str]:
    """The file's lines as text: UTF-8, else Latin-1 (old instrument software wrote that).

    NUL bytes mean a binary file was given a text name; say so with the line it is on rather
    than fail later on a confusing number.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SpectrumFormatError(filename, f"binary data (byte 0x00 at offset {nul}) in a "
                                  "text file", line=data[:nul].count(b"\n") + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # DOS-era files often end with a Ctrl-Z end-of-file marker.
    return text.rstrip("\x1a").splitlines()


def parse_number(token: str) -> float | None:
    """A decimal number (optionally with exponent), or None.

    Stricter than ``float()``, which would also accept ``nan``, ``inf`` and ``1_000``.
    """
    token = token.strip()
    if not _NUMBER.fullmatch(token):
        return None
    value = float(token)
    return value if np.isfinite(value) else None


def build_spectrum(filename: str, x: FloatArray | list[float], y: FloatArray | list[float], *,
                   technique: Technique, line: int | None = None, offset: int | None = None,
                   name: str = "", x_units: str = "", y_units: str = "",
                   metadata: dict[str, str] | None = None) -> Spectrum:
    """Check and order the arrays, then build the spectrum.

    Points are kept as the file gives them. If x is not monotonic (peak lists, merged scans)
    the points are sorted by x, stably, and nothing is dropped or averaged: processing code
    decides how to treat repeated x values, and a parser that silently averaged would hide
    what the instrument recorded. The sort is noted in ``metadata["x order"]``.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    meta = dict(metadata or {})
    where = {"line": line, "offset": offset}
    if xs.size == 0:
        raise SpectrumFormatError(filename, "no data points", **where)
    if xs.size != ys.size:
        raise SpectrumFormatError(filename, f"{xs.size} x values but {ys.size} y values",
                                  **where)
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise SpectrumFormatError(filename, "values overflow to infinity after scaling",
                                  **where)
    steps = np.diff(xs)
    if not (np.all(steps >= 0) or np.all(steps <= 0)):
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
        meta["x order"] = "sorted by x on reading (the file's x values were not monotonic)"
    return Spectrum(x=xs, y=ys, technique=technique, name=name, x_units=x_units,
                    y_units=y_units, metadata=meta)


__all__ = ["FORMATS", "MAX_FILE_BYTES", "MAX_POINTS", "FormatInfo", "SpectrumFormatError",
           "build_spectrum", "check_points", "check_size", "decode_lines", "detect_format",
           "parse_number", "read_spectra"]
