"""JCAMP-DX 4.24 and 5.x (IUPAC exchange format for IR, Raman, MS and NMR spectra).

A file is a sequence of labelled data records (``##LABEL= value``) grouped into blocks
(``##TITLE=`` ... ``##END=``); a ``LINK`` block holds child blocks. Labels are compared in the
standard's normalised form (upper case, without spaces, ``-``, ``/`` and ``_``), so
``##DATA TYPE`` and ``##DATATYPE`` are the same record. ``$$`` starts a comment.

Tables read: ``XYDATA``, ``XYPOINTS`` and ``PEAK TABLE`` in ``(X++(Y..Y))`` and ``(XY..XY)``
forms, every page of ``NTUPLES`` (one spectrum each), and ``PEAK ASSIGNMENTS`` when a block has
no other table. Ordinates may be AFFN (free decimal), PAC, or ASDF compressed (SQZ, DIF, DUP).

The standard's redundancy is checked, because compressed data corrupts silently otherwise:
the DIF Y-check value at the start of a line must repeat the previous line's last ordinate (it
is then dropped), each line's X must match the X computed from FIRSTX, LASTX and NPOINTS, and
NPOINTS, DELTAX and FIRSTY must agree with the data. The abscissa of ``(X++(Y..Y))`` data is
computed from FIRSTX/LASTX/NPOINTS, as the standard specifies; the per-line X values are
checks only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from interdict.spectra.formats import (
    SpectrumFormatError,
    build_spectrum,
    check_points,
    parse_number,
)
from interdict.spectra.spectrum import FloatArray, Spectrum, Technique

_LABEL = re.compile(r"\s*##([^=]*)=(.*)")
_XPP_FORM = re.compile(r"\(\s*(\w+)\s*\+\+\s*\(\s*(\w+)\s*\.\.\s*\w+\s*\)\s*\)?")
_XY_FORM = re.compile(r"\(\s*(\w+)\s*\.\.\s*\w+\s*\)")
_ASDF_TOKEN = re.compile(r"""
    (?P<sep>[\s,;]+)
  | (?P<abs>[+-]?(?:\d+(?:\.\d*)?|\.\d+)|[@A-Ia-i](?:\d+(?:\.\d*)?|\.\d+)?)
  | (?P<dif>[%J-Rj-r](?:\d+(?:\.\d*)?|\.\d+)?)
  | (?P<dup>[S-Zs]\d*)
""", re.VERBOSE)
_AFFN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Numbers separated by a comma/semicolon, by spaces, or (PAC) by the next number's sign. Each
# separator choice is forced, so a long line that fails to match cannot backtrack
# exponentially (a nested "(\s*[,;]?\s*NUMBER)+" could, and an upload would hang a worker).
_NUM = _AFFN_NUMBER.pattern
_AFFN_LINE = re.compile(rf"\s*{_NUM}(?:(?:\s*[,;]\s*|\s+|(?=[+-])){_NUM})*\s*[,;]?\s*")
# ASDF letters other than E/e; a table without any is AFFN, where E/e mark exponents.
_ASDF_LETTER = re.compile(r"[@A-DF-Ia-df-i%J-Rj-rS-Zs]")
_SQZ = {c: i for i, c in enumerate("@ABCDEFGHI")} | {c: -i for i, c in enumerate("abcdefghi", 1)}
_DIF = {c: i for i, c in enumerate("%JKLMNOPQR")} | {c: -i for i, c in enumerate("jklmnopqr", 1)}
_DUP = {c: i for i, c in enumerate("STUVWXYZs", 1)}
_TABLES = {"XYDATA", "XYPOINTS", "PEAKTABLE"}
_NTUPLE_ATTRIBUTES = {"VARNAME", "SYMBOL", "VARTYPE", "VARFORM", "VARDIM", "UNITS", "FIRST",
                      "LAST", "MIN", "MAX", "FACTOR"}


@dataclass
class _Record:
    """One labelled data record: its label, first-line value and continuation lines."""

    label: str  # normalised, for comparisons
    name: str  # as written, for metadata
    value: str
    line: int
    body: list[tuple[int, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([self.value] + [t for _, t in self.body]).strip()

    @property
    def last_line(self) -> int:
        return self.body[-1][0] if self.body else self.line


@dataclass
class _Block:
    """A ``##TITLE=`` ... ``##END=`` block; ``children`` only for LINK blocks."""

    line: int
    records: list[_Record] = field(default_factory=list)
    children: list[_Block] = field(default_factory=list)

    def first(self, label: str) -> _Record | None:
        return next((r for r in self.records if r.label == label), None)

    @property
    def is_link(self) -> bool:
        kind = self.first("DATATYPE")
        return self.first("BLOCKS") is not None or (kind is not None
                                                     and kind.value.upper() == "LINK")


@dataclass
class _Context:
    """What decoding one table needs, from block labels or NTUPLES attributes."""

    filename: str
    label_line: int
    firstx: float | None = None
    lastx: float | None = None
    deltax: float | None = None
    xfactor: float = 1.0
    yfactor: float = 1.0
    npoints: int | None = None
    firsty: float | None = None
    lasty: float | None = None
    warnings: list[str] = field(default_factory=list)

    def fail(self, problem: str, line: int | None = None) -> SpectrumFormatError:
        return SpectrumFormatError(self.filename, problem, line=line or self.label_line)


@dataclass
class _Counter:
    """Running point count for the whole file, so that the limit bounds memory."""

    filename: str
    total: int = 0

    def add(self, count: int, line: int) -> None:
        self.total += count
        check_points(self.total, self.filename, line=line)


# --------------------------------------------------------------------------------------------
# Entry point


def parse(lines: list[str], filename: str) -> list[Spectrum]:
    """Every spectrum in a JCAMP-DX file, in file order."""
    records = _records(lines, filename)
    blocks = _blocks(records, filename, len(lines))
    counter = _Counter(filename)
    spectra: list[Spectrum] = []
    for block in _leaves(blocks):
        spectra.extend(_block_spectra(block, filename, counter))
    if not spectra:
        raise SpectrumFormatError(filename, "no spectral data: no ##XYDATA=, ##XYPOINTS=, "
                                  "##PEAK TABLE=, ##DATA TABLE= or ##PEAK ASSIGNMENTS= record",
                                  line=len(lines))
    return spectra


def _strip_comment(line: str) -> str:
    cut = line.find("$$")
    return (line if cut < 0 else line[:cut]).strip()


def normalise_label(label: str) -> str:
    """The standard's label form: upper case without spaces, ``-``, ``/`` or ``_``."""
    return re.sub(r"[\s\-/_]", "", label).upper()


def _records(lines: list[str], filename: str) -> list[_Record]:
    records: list[_Record] = []
    for number, raw in enumerate(lines, start=1):
        text = _strip_comment(raw)
        if not text:
            continue
        match = _LABEL.match(text)
        if match:
            records.append(_Record(normalise_label(match.group(1)), match.group(1).strip(),
                                   match.group(2).strip(), number))
        elif text.lstrip().startswith("##"):
            raise SpectrumFormatError(filename, "label without '=': " + text[:40], line=number)
        elif not records:
            raise SpectrumFormatError(filename, "expected ##TITLE= before any other text",
                                      line=number)
        else:
            records[-1].body.append((number, text))
    if not records:
        raise SpectrumFormatError(filename, "no ##TITLE= label: not a JCAMP-DX file",
                                  line=len(lines) or 1)
    return records


def _blocks(records: list[_Record], filename: str, line_count: int) -> list[_Block]:
    """Nest records into blocks, refusing unclosed blocks and labels outside any block."""
    top: list[_Block] = []
    stack: list[_Block] = []
    for record in records:
        if record.label == "TITLE":
            block = _Block(line=record.line, records=[record])
            if stack and not stack[-1].is_link:
                raise SpectrumFormatError(filename, f"##TITLE= inside the block that starts "
                                          f"at line {stack[-1].line}, which has no ##END=",
                                          line=record.line)
            (stack[-1].children if stack else top).append(block)
            stack.append(block)
        elif not stack:
            what = "##END= without an open block" if record.label == "END" else \
                f"##{record.name}= outside a block (expected ##TITLE= first)"
            raise SpectrumFormatError(filename, what, line=record.line)
        elif record.label == "END":
            _check_link(stack.pop(), filename, record.line)
        else:
            stack[-1].records.append(record)
    if stack:
        raise SpectrumFormatError(filename, f"missing ##END= for the block that starts at "
                                  f"line {stack[-1].line} (the file may be truncated)",
                                  line=line_count)
    return top


def _check_link(block: _Block, filename: str, end_line: int) -> None:
    declared = block.first("BLOCKS")
    if declared is None:
        return
    count = parse_number(declared.value)
    if count is None or count != len(block.children):
        raise SpectrumFormatError(filename, f"##BLOCKS={declared.value} but "
                                  f"{len(block.children)} blocks follow", line=end_line)


def _leaves(blocks: list[_Block]) -> Iterator[_Block]:
    for block in blocks:
        if block.is_link:
            yield from _leaves(block.children)
        else:
            yield block


def technique_for(data_type: str) -> Technique:
    """The technique named by ``##DATA TYPE`` (NMR, UV and the rest are OTHER)."""
    kind = data_type.upper()
    if "INFRARED" in kind or re.search(r"\b(FT-?)?IR\b", kind):
        return Technique.IR
    if "RAMAN" in kind:
        return Technique.RAMAN
    if "MASS" in kind:
        return Technique.MS
    return Technique.OTHER


# --------------------------------------------------------------------------------------------
# Blocks to spectra


def _block_spectra(block: _Block, filename: str, counter: _Counter) -> list[Spectrum]:
    kind = block.first("DATATYPE") or block.first("NTUPLES")
    technique = technique_for(kind.value if kind else "")
    title = block.records[0].value
    header: dict[str, _Record] = {}
    metadata: dict[str, str] = {}
    spectra: list[Spectrum] = []
    assignments: _Record | None = None
    records = iter(block.records)
    for record in records:
        if record.label in _TABLES:
            ctx = _block_context(header, record, filename)
            spectra.append(_table_spectrum(record, ctx, counter, title=title,
                                           technique=technique, units=_units(header),
                                           metadata=metadata))
        elif record.label == "NTUPLES":
            spectra.extend(_ntuples(record, records, filename, counter, title=title,
                                    technique=technique, metadata=metadata))
        elif record.label == "PEAKASSIGNMENTS":
            assignments = record
        else:
            header[record.label] = record
            metadata[record.name] = record.text
    if assignments is not None and not spectra:
        ctx = _block_context(header, assignments, filename)
        spectra.append(_assignments_spectrum(assignments, ctx, counter, title=title,
                                             technique=technique, units=_units(header),
                                             metadata=metadata))
    return spectra


def _units(header: dict[str, _Record]) -> tuple[str, str]:
    x, y = header.get("XUNITS"), header.get("YUNITS")
    return (x.value if x else "", y.value if y else "")


def _block_context(header: dict[str, _Record], table: _Record, filename: str) -> _Context:
    ctx = _Context(filename=filename, label_line=table.line)
    ctx.firstx = _number(header, "FIRSTX", ctx)
    ctx.lastx = _number(header, "LASTX", ctx)
    ctx.xfactor = _number(header, "XFACTOR", ctx) or 1.0
    ctx.yfactor = _number(header, "YFACTOR", ctx) or 1.0
    ctx.deltax = _number(header, "DELTAX", ctx, check=True)
    ctx.firsty = _number(header, "FIRSTY", ctx, check=True)
    ctx.npoints = _count(header.get("NPOINTS"), ctx)
    return ctx


def _number(header: dict[str, _Record], label: str, ctx: _Context, *,
            check: bool = False) -> float | None:
    """A numeric label's value, or None if absent.

    A malformed value of a label that only serves as a check (FIRSTY, DELTAX) is a warning:
    the data can still be read. One the data depend on (FIRSTX, factors) is an error.
    """
    record = header.get(label)
    if record is None:
        return None
    value = parse_number(record.value)
    if value is None:
        if check:
            ctx.warnings.append(f"line {record.line}: ##{record.name}={record.value!r} is not "
                                "a number; check skipped")
            return None
        raise ctx.fail(f"##{record.name}= is not a number: {record.value!r}", record.line)
    return value


def _count(record: _Record | None, ctx: _Context) -> int | None:
    if record is None:
        return None
    value = record.value.strip()
    if not value.isdigit():
        raise ctx.fail(f"##{record.name}= is not a whole number: {value!r}", record.line)
    return int(value)


def _spectrum(ctx: _Context, x: FloatArray, y: FloatArray, *, title: str,
              technique: Technique, units: tuple[str, str], metadata: dict[str, str],
              extra: dict[str, str]) -> Spectrum:
    meta = {**metadata, **extra}
    if ctx.warnings:
        meta["parser warnings"] = "; ".join(ctx.warnings)
    return build_spectrum(ctx.filename, x, y, technique=technique, line=ctx.label_line,
                          name=title, x_units=units[0], y_units=units[1], metadata=meta)


def _table_spectrum(record: _Record, ctx: _Context, counter: _Counter, *, title: str,
                    technique: Technique, units: tuple[str, str],
                    metadata: dict[str, str]) -> Spectrum:
    form = record.value.upper()
    if not record.body:
        raise ctx.fail(f"##{record.name}= has no data lines")
    xy = _XY_FORM.match(form)
    if _XPP_FORM.match(form):
        _note_unclosed(form, ctx)
        x, y = _decode_xpp(record, ctx, counter)
    elif xy and xy.group(1) in ("XY", "XYW", "XYM"):
        # (XYW..XYW) and (XYM..XYM) peak tables carry a width or multiplicity per peak.
        x, y = _decode_xy(record, ctx, counter, width=len(xy.group(1)))
    else:
        raise ctx.fail(f"unsupported table form ##{record.name}={record.value}")
    return _spectrum(ctx, x, y, title=title, technique=technique, units=units,
                     metadata=metadata, extra={record.name: record.value})


def _note_unclosed(form: str, ctx: _Context) -> None:
    if form.count("(") != form.count(")"):
        ctx.warnings.append(f"line {ctx.label_line}: unbalanced parentheses in {form!r}")


# --------------------------------------------------------------------------------------------
# ASDF / AFFN decoding


def _uses_exponents(body: list[tuple[int, str]]) -> bool:
    """Whether E/e in this table are exponents (AFFN) rather than SQZ digits (+5/-5).

    Decided per table, not per line: in ASDF data a line such as ``32767E13`` (X, then the
    SQZ value 513) would otherwise read as the single number 3.2767e17.
    """
    return not any(_ASDF_LETTER.search(text) for _, text in body)


def _tokens(text: str, line: int, ctx: _Context,
            exponents: bool = False) -> list[tuple[str, float]]:
    """(kind, value) pairs of one data line; kind is 'abs', 'dif' or 'dup'."""
    if exponents and _AFFN_LINE.fullmatch(text):
        return [("abs", float(n)) for n in _AFFN_NUMBER.findall(text)]
    tokens: list[tuple[str, float]] = []
    pos = 0
    while pos < len(text):
        match = _ASDF_TOKEN.match(text, pos)
        if match is None and text[pos] == "?":
            raise ctx.fail(f"'?' (missing value) in column {pos + 1} is not supported", line)
        if match is None:
            raise ctx.fail(f"unexpected character {text[pos]!r} in column {pos + 1}", line)
        pos = match.end()
        kind = match.lastgroup or "sep"
        if kind != "sep":
            tokens.append((kind, _token_value(kind, match.group())))
    return tokens


def _token_value(kind: str, token: str) -> float:
    head, rest = token[0], token[1:]
    if kind == "dup":
        return float(f"{_DUP[head]}{rest}")
    table = _DIF if kind == "dif" else _SQZ
    if head not in table:  # AFFN or PAC number
        return float(token)
    digit = table[head]
    sign = "-" if digit < 0 else ""
    return float(f"{sign}{abs(digit)}{rest}")


def _line_values(tokens: list[tuple[str, float]], line: int,
                 ctx: _Context) -> tuple[float, list[float], bool]:
    """The X, the expanded Y values and whether the line ends in DIF form."""
    if not tokens or tokens[0][0] != "abs":
        raise ctx.fail("a data line must start with an X value", line)
    x, ys = tokens[0][1], []
    last_kind, delta, after_dup = "", 0.0, False
    for kind, value in tokens[1:]:
        if kind == "abs":
            ys.append(value)
            last_kind, after_dup = kind, False
        elif kind == "dif":
            if not ys:
                raise ctx.fail("DIF value with no ordinate before it on the line", line)
            ys.append(ys[-1] + value)
            last_kind, delta, after_dup = kind, value, False
        else:
            _expand_dup(ys, int(value), last_kind, delta, after_dup, line, ctx)
            after_dup = True
    if not ys:
        raise ctx.fail("data line has an X value but no Y values", line)
    return x, ys, last_kind == "dif"


def _expand_dup(ys: list[float], count: int, last_kind: str, delta: float, after_dup: bool,
                line: int, ctx: _Context) -> None:
    """DUP repeats the previous token: a value, or a difference (then it keeps adding)."""
    if not ys or after_dup:
        raise ctx.fail("DUP count with no value to repeat", line)
    if count < 1:
        raise ctx.fail("DUP count must be at least 1", line)
    check_points(len(ys) + count, ctx.filename, line=line)
    for _ in range(count - 1):
        ys.append(ys[-1] + delta if last_kind == "dif" else ys[-1])


def _decode_xpp(record: _Record, ctx: _Context,
                counter: _Counter) -> tuple[FloatArray, FloatArray]:
    """``(X++(Y..Y))``: ordinates with Y checks, abscissae from FIRSTX/LASTX/NPOINTS."""
    ys: list[float] = []
    starts: list[tuple[int, float, int]] = []  # (line, X on the line, index of its first Y)
    previous_dif = False
    exponents = _uses_exponents(record.body)
    for line, text in record.body:
        x, values, ends_dif = _line_values(_tokens(text, line, ctx, exponents), line, ctx)
        if previous_dif:
            _y_check(values, ys, ctx, line, last=line == record.last_line)
            values = values[1:]
        starts.append((line, x, len(ys) - (1 if previous_dif else 0)))
        ys.extend(values)
        counter.add(len(values), line)
        previous_dif = ends_dif
    xs = _abscissae(ctx, len(ys), record)
    _check_line_xs(ctx, xs, starts)
    y = np.asarray(ys) * ctx.yfactor
    _check_y_ends(ctx, y)
    return xs, y


def _y_check(values: list[float], ys: list[float], ctx: _Context, line: int, *,
             last: bool) -> None:
    """The first ordinate after a line that ended in DIF form must repeat its last one.

    One exception, seen in the official ISAS test file SPECFILE.DX: a final line that holds
    only a (wrong) check value after NPOINTS ordinates were already decoded. It adds no data
    and the count and X checks still hold, so it is reported as a warning, not refused.
    """
    first, previous = values[0], ys[-1]
    if math.isclose(first, previous, rel_tol=1e-9, abs_tol=1e-9):
        return
    problem = (f"Y value check failed: DIF line starts with {_fmt(first)} but previous line "
               f"ended with {_fmt(previous)}")
    if last and len(values) == 1 and ctx.npoints == len(ys):
        ctx.warnings.append(f"line {line}: {problem} (trailing check-only line ignored)")
        return
    raise ctx.fail(problem, line)


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _abscissae(ctx: _Context, count: int, record: _Record) -> FloatArray:
    if ctx.npoints is not None and ctx.npoints != count:
        raise ctx.fail(f"NPOINTS={ctx.npoints} but {count} Y values were decoded from lines "
                       f"{record.body[0][0]}-{record.last_line}")
    if ctx.firstx is None or ctx.lastx is None:
        raise ctx.fail("FIRSTX and LASTX are required for (X++(Y..Y)) data")
    if count > 1 and ctx.deltax is not None:
        step = (ctx.lastx - ctx.firstx) / (count - 1)
        if not math.isclose(step, ctx.deltax, rel_tol=1e-3):
            raise ctx.fail(f"DELTAX={ctx.deltax!r} disagrees with (LASTX-FIRSTX)/(NPOINTS-1)"
                           f" = {step!r}")
    return np.linspace(ctx.firstx, ctx.lastx, count)


def _check_line_xs(ctx: _Context, xs: FloatArray,
                   starts: list[tuple[int, float, int]]) -> None:
    """Each line's X (times XFACTOR) must be the abscissa of its first ordinate.

    A lost or repeated line shifts every later point; this finds the line where it happened.
    The tolerance (one point spacing or one XFACTOR unit) allows for rounded line X values.
    """
    step = abs(xs[1] - xs[0]) if xs.size > 1 else 0.0
    tolerance = max(step, abs(ctx.xfactor)) * 1.0001 + 1e-9 * float(np.abs(xs).max())
    for line, raw_x, index in starts:
        given = raw_x * ctx.xfactor
        if index >= xs.size or abs(given - xs[index]) > tolerance:
            expected = xs[min(index, xs.size - 1)]
            raise ctx.fail(f"X value check failed: line starts at X={given:.6g} but point "
                           f"{index + 1} is at X={expected:.6g} (from FIRSTX, LASTX and "
                           "NPOINTS); a line may be missing or repeated", line)


def _check_y_ends(ctx: _Context, y: FloatArray) -> None:
    for label, expected, got in (("FIRSTY", ctx.firsty, y[0]), ("LAST (Y)", ctx.lasty, y[-1])):
        if expected is None:
            continue
        tolerance = abs(ctx.yfactor) + 1e-3 * abs(expected)
        if abs(got - expected) > tolerance:
            raise ctx.fail(f"{label}={expected!r} but the data give {got!r}")


def _decode_xy(record: _Record, ctx: _Context, counter: _Counter,
               width: int = 2) -> tuple[FloatArray, FloatArray]:
    """``(XY..XY)``: explicit pairs (or ``width``-tuples whose first two values are X and
    Y), separated by commas, semicolons or spaces."""
    values: list[float] = []
    exponents = _uses_exponents(record.body)
    for line, text in record.body:
        tokens = _tokens(text, line, ctx, exponents)
        if any(kind != "abs" for kind, _ in tokens):
            raise ctx.fail("DIF/DUP compression is not allowed in (XY..XY) data", line)
        values.extend(v for _, v in tokens)
        counter.add(len(tokens) // width, line)
    if len(values) % width:
        what = "an X without its Y" if width == 2 else f"groups of {width} expected"
        raise ctx.fail(f"odd number of values in {record.value} data: {what}",
                       record.last_line)
    count = len(values) // width
    if ctx.npoints is not None and ctx.npoints != count:
        raise ctx.fail(f"NPOINTS={ctx.npoints} but {count} (X,Y) pairs follow in lines "
                       f"{record.body[0][0]}-{record.last_line}")
    pairs = np.asarray(values).reshape(-1, width)
    x, y = pairs[:, 0] * ctx.xfactor, pairs[:, 1] * ctx.yfactor
    _check_ends(ctx, x)
    _check_y_ends(ctx, y)
    return x, y


def _check_ends(ctx: _Context, x: FloatArray) -> None:
    tolerance = abs(ctx.xfactor) + 1e-6 * float(np.abs(x).max())
    for label, expected, got in (("FIRSTX", ctx.firstx, x[0]), ("LASTX", ctx.lastx, x[-1])):
        if expected is not None and abs(got - expected) > tolerance:
            raise ctx.fail(f"{label}={expected!r} but the data start/end at X={got!r}")


# --------------------------------------------------------------------------------------------
# Peak assignments and NTUPLES


def _assignments_spectrum(record: _Record, ctx: _Context, counter: _Counter, *, title: str,
                          technique: Technique, units: tuple[str, str],
                          metadata: dict[str, str]) -> Spectrum:
    """``(XYA)``, ``(XYMA)``, ``(XYWA)``: the X and Y of each assignment, as a stick list."""
    text = re.sub(r"<[^>]*>", "", "\n".join(t for _, t in record.body), flags=re.DOTALL)
    groups = re.findall(r"\(([^()]*)\)", text) if "(" in text else text.splitlines()
    xs: list[float] = []
    ys: list[float] = []
    for group in groups:
        fields = [f.strip() for f in group.split(",")]
        x = parse_number(fields[0])
        y = parse_number(fields[1]) if len(fields) > 1 else None
        if x is None or y is None:
            raise ctx.fail(f"peak assignment without numeric X and Y: ({group.strip()})",
                           record.line)
        xs.append(x * ctx.xfactor)
        ys.append(y * ctx.yfactor)
    counter.add(len(xs), record.line)
    if ctx.npoints is not None and ctx.npoints != len(xs):
        raise ctx.fail(f"NPOINTS={ctx.npoints} but {len(xs)} peak assignments follow")
    return _spectrum(ctx, np.asarray(xs), np.asarray(ys), title=title, technique=technique,
                     units=units, metadata=metadata,
                     extra={record.name: record.value})


def _ntuples(start: _Record, records: Iterator[_Record], filename: str, counter: _Counter,
             *, title: str, technique: Technique,
             metadata: dict[str, str]) -> list[Spectrum]:
    """One spectrum per ``##PAGE=`` of an NTUPLES section (every page, e.g. real and
    imaginary NMR parts, or the spectra of a GC-MS run)."""
    attributes: dict[str, list[str]] = {}
    meta = {**metadata, start.name: start.value}
    page: dict[str, _Record] = {}  # the current page's labels, "PAGE" first
    spectra: list[Spectrum] = []
    for record in records:
        if record.label == "ENDNTUPLES":
            return spectra
        if record.label == "PAGE":
            page = {"PAGE": record}
        elif record.label == "DATATABLE":
            if not page:
                raise SpectrumFormatError(filename, "##DATA TABLE= before any ##PAGE=",
                                          line=record.line)
            spectra.append(_page_spectrum(record, page, attributes, filename, counter,
                                          title=title, technique=technique, metadata=meta))
        elif page:
            page[record.label] = record
        else:  # before the first page: the section's attributes and other labels
            if record.label in _NTUPLE_ATTRIBUTES:
                attributes[record.label] = [v.strip() for v in record.text.split(",")]
            meta[record.name] = record.text
    raise SpectrumFormatError(filename, f"##NTUPLES= at line {start.line} has no "
                              "##END NTUPLES=", line=start.line)


def _page_spectrum(table: _Record, page: dict[str, _Record],
                   attributes: dict[str, list[str]], filename: str, counter: _Counter, *,
                   title: str, technique: Technique, metadata: dict[str, str]) -> Spectrum:
    ctx = _Context(filename=filename, label_line=table.line)
    x_symbol, y_symbol, width = _page_form(table, ctx)
    column = _ntuple_column(attributes, ctx)
    x_col, y_col = column(x_symbol), column(y_symbol)
    _fill_page_context(ctx, attributes, x_col, y_col, page)
    if not table.body:
        raise ctx.fail(f"##{table.name}= has no data lines")
    if width:
        x, y = _decode_xy(table, ctx, counter, width=width)
    else:
        x, y = _decode_xpp(table, ctx, counter)
    units = attributes.get("UNITS", [])
    page_label = page["PAGE"].value
    extra = {r.name: r.text for r in page.values()} | {table.name: table.value}
    return _spectrum(ctx, x, y, title=f"{title} [{page_label}]", technique=technique,
                     units=(_at(units, x_col), _at(units, y_col)), metadata=metadata,
                     extra=extra)


def _page_form(table: _Record, ctx: _Context) -> tuple[str, str, int]:
    """X symbol, Y symbol and group width of a DATA TABLE (width 0: ``(X++(Y..Y))``)."""
    form = table.value.upper()
    xpp = _XPP_FORM.match(form)
    if xpp:
        return xpp.group(1), xpp.group(2), 0
    xy = _XY_FORM.match(form)
    if not xy or len(xy.group(1)) not in (2, 3):
        raise ctx.fail(f"unsupported table form ##{table.name}={table.value}")
    return xy.group(1)[0], xy.group(1)[1], len(xy.group(1))


def _ntuple_column(attributes: dict[str, list[str]], ctx: _Context) -> Callable[[str], int]:
    symbols = [s.upper() for s in attributes.get("SYMBOL", [])]

    def lookup(symbol: str) -> int:
        if symbol not in symbols:
            raise ctx.fail(f"symbol {symbol!r} is not declared in ##SYMBOL=")
        return symbols.index(symbol)

    return lookup


def _at(values: list[str], index: int) -> str:
    return values[index] if index < len(values) else ""


def _fill_page_context(ctx: _Context, attributes: dict[str, list[str]], x_col: int,
                       y_col: int, page: dict[str, _Record]) -> None:
    """NTUPLES keep FIRST/LAST/FACTOR/VAR_DIM per variable; page labels may override."""

    def attr(name: str, col: int) -> float | None:
        text = _at(attributes.get(name, []), col)
        value = parse_number(text) if text else None
        if text and value is None:
            raise ctx.fail(f"##{name} value {text!r} for column {col + 1} is not a number")
        return value

    ctx.firstx, ctx.lastx = attr("FIRST", x_col), attr("LAST", x_col)
    ctx.xfactor = attr("FACTOR", x_col) or 1.0
    ctx.yfactor = attr("FACTOR", y_col) or 1.0
    ctx.firsty, ctx.lasty = attr("FIRST", y_col), attr("LAST", y_col)
    dim = attr("VARDIM", y_col)
    ctx.npoints = _count(page.get("NPOINTS"), ctx) if "NPOINTS" in page else (
        int(dim) if dim else None)
    if "FIRSTX" in page or "LASTX" in page:  # explicit page values win over the table ones
        override = _block_context(page, page["PAGE"], ctx.filename)
        ctx.firstx = override.firstx if override.firstx is not None else ctx.firstx
        ctx.lastx = override.lastx if override.lastx is not None else ctx.lastx

