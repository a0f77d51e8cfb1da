"""Reading graphs for analysis: adjacency matrices, edge lists and node attribute tables.

Formats seen in the field (UCINET/R exports, course material, court-order transcriptions):

- **Adjacency matrix**: CSV with a header row of column labels (first cell empty or a corner
  name such as ``players``) and one row per actor starting with its label, in the same order.
  Cell (i, j) is the tie from row i to column j; 0 means no tie. UTF-8 BOMs and CRLF line
  endings are common and accepted; so are quoted and unquoted labels.
- **Edge list**: ``source target [weight [period]]`` per line, tab-, comma- or
  whitespace-separated, without a header; or with a header row naming ``source``/``target``
  (or from/to, caller/callee, ...) and optionally ``weight`` and ``period`` (or phase, date,
  timestamp) columns. Any other named column is kept as a text attribute of the tie (the
  kinship list's ``relation``), which paths then show as evidence.
- **Node attributes**: CSV with a header; the first column is the node id.

Bad input is refused whole, never half-loaded: every problem found (up to a limit) is
reported as an :class:`~interdict.errors.FieldError` naming the row or line and the column,
in one :class:`~interdict.errors.InvalidData`.

Oddities that are not errors are accepted and written to :attr:`Graph.notes`:
a label that appears twice in a matrix (the second copy becomes a separate node ``label#2``
unless ``duplicate_labels`` says otherwise), an asymmetric matrix read as undirected, ties on
the diagonal (kept as records, ignored by analyses).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from interdict.errors import FieldError, InvalidData
from interdict.network.graph import EdgeRecord, Graph

Format = Literal["matrix", "edgelist"]
Symmetrize = Literal["auto", "sum", "max"]
DuplicateLabels = Literal["rename", "merge", "error"]

#: At most this many problems are listed; the detail says how many there were in all.
MAX_ERRORS = 20

SOURCE_NAMES = {"source", "from", "src", "caller", "ego", "node1", "sender", "u"}
TARGET_NAMES = {"target", "to", "dst", "callee", "alter", "node2", "receiver", "v"}
WEIGHT_NAMES = {"weight", "value", "count", "calls", "w", "strength", "distance"}
PERIOD_NAMES = {"period", "phase", "time", "timestamp", "date", "datetime", "slice"}


class _Problems:
    """Collects field errors so that one exception reports them all."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.errors: list[FieldError] = []
        self.total = 0

    def add(self, field: str, reason: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FieldError(field, reason))

    def raise_if_any(self) -> None:
        if self.total:
            more = f" (first {MAX_ERRORS} listed)" if self.total > MAX_ERRORS else ""
            raise InvalidData(f"{self.what}: {self.total} problem(s){more}; nothing was loaded",
                              errors=self.errors)


def _text(source: str | Path | bytes) -> tuple[str, str]:
    """The decoded text and a name for messages; a ``str`` is a path, not content."""
    if isinstance(source, bytes):
        data, name = source, "input"
    else:
        path = Path(source)
        data, name = path.read_bytes(), path.name
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{name} is not UTF-8 text", errors=[
            FieldError("file", f"byte {exc.start} cannot be decoded as UTF-8")]) from None


def _delimiter(line: str) -> str | None:
    """Tab or comma if the line uses one, else None (any run of whitespace)."""
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    if ";" in line:
        return ";"
    return None


def _rows(text: str, *, comments: bool) -> list[tuple[int, list[str]]]:
    """Non-blank rows with their 1-based line numbers, split on the sniffed delimiter."""
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()
                  and not (comments and ln.lstrip()[:1] in "#%")), "")
    delim = _delimiter(first)
    out: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (comments and line.lstrip()[:1] in "#%"):
            continue
        if delim is None:
            cells = line.split()
        else:
            cells = next(csv.reader(io.StringIO(line), delimiter=delim))
        out.append((number, [c.strip() for c in cells]))
    return out


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def detect_format(source: str | Path | bytes) -> Format:
    """``matrix`` when the first row holds column labels over a square numeric body.

    A matrix's first cell is empty (or a corner name such as ``players``) and each later row
    starts with the label of the matching column; an edge list has neither.
    """
    text, _ = _text(source)
    rows = _rows(text, comments=True)
    if not rows:
        return "edgelist"
    head = rows[0][1]
    if head and head[0] == "":
        return "matrix"
    body = [cells for _, cells in rows[1:]]
    square = len(body) == len(head) - 1 and all(len(c) == len(head) for c in body)
    if square and [c[0] for c in body] == head[1:] \
            and all(_number(x) is not None for c in body[:3] for x in c[1:]):
        return "matrix"
    return "edgelist"


def read_graph(source: str | Path | bytes, *, format: Format | None = None,
               directed: bool = False, weighted: bool = False,
               symmetrize: Symmetrize = "auto",
               duplicate_labels: DuplicateLabels = "rename", name: str | None = None) -> Graph:
    """A graph from a matrix or edge-list file (format detected when not given)."""
    fmt = format or detect_format(source)
    if fmt == "matrix":
        return read_matrix(source, directed=directed, weighted=weighted, symmetrize=symmetrize,
                           duplicate_labels=duplicate_labels, name=name)
    if fmt == "edgelist":
        return read_edgelist(source, directed=directed, weighted=weighted, name=name)
    raise InvalidData("unknown format", errors=[
        FieldError("format", f"{fmt!r} is not one of matrix, edgelist")])


# --- adjacency matrices -------------------------------------------------------------------


def read_matrix(source: str | Path | bytes, *, directed: bool = True, weighted: bool = True,
                symmetrize: Symmetrize = "auto", duplicate_labels: DuplicateLabels = "rename",
                name: str | None = None) -> Graph:
    """An adjacency matrix with a header row of labels and a label at the start of each row.

    Read as undirected, the tie {i, j} comes from cells (i, j) and (j, i): with
    ``symmetrize="auto"`` a symmetric matrix gives its value once, and an asymmetric one the
    sum of both cells (calls i->j plus calls j->i, as in ``CAVIAR_FULL_Undirected``); ``max``
    takes the larger cell (an OR for binary data); ``sum`` always adds.
    """
    text, fname = _text(source)
    problems = _Problems(f"{fname} is not a valid adjacency matrix")
    rows = _rows(text, comments=False)
    if not rows:
        raise InvalidData(f"{fname} is empty", errors=[FieldError("file", "no rows")])
    header_line, header = rows[0]
    body = rows[1:]
    # Some exports leave out the corner cell: as many labels as rows, one more cell per row.
    corner = not (len(header) == len(body) and body
                  and all(len(cells) == len(header) + 1 for _, cells in body))
    labels = header[1:] if corner else header
    k = len(labels)
    if k == 0:
        problems.add(f"row {header_line} (header)", "no column labels after the first cell")
    if len(body) != k:
        problems.add("matrix", f"{k} column labels but {len(body)} rows: an adjacency matrix "
                               "must be square")
    for i, (line, cells) in enumerate(body):
        label = cells[0] if cells else ""
        if len(cells) - 1 != k:
            problems.add(f"row {line} ({label!r})", f"has {len(cells) - 1} values, expected {k}")
        if i < k and label != labels[i]:
            hint = (" (the same label is a column elsewhere: rows and columns must list the "
                    "actors in the same order)" if label in labels else "")
            problems.add(f"row {line}", f"label {label!r} does not match column {i + 1} "
                                        f"label {labels[i]!r}{hint}")
        if label == "" or (i < k and labels[i] == ""):
            problems.add(f"row {line}", "empty label")
    problems.raise_if_any()

    values = np.zeros((k, k))
    for i, (line, cells) in enumerate(body):
        for j, cell in enumerate(cells[1:]):
            value = _number(cell)
            where = f"row {line} ({cells[0]!r}), column {j + 2} ({labels[j]!r})"
            if value is None:
                problems.add(where, f"{cell!r} is not a number" if cell else "empty cell")
            elif value < 0:
                problems.add(where, f"negative weight {cell}")
            else:
                values[i, j] = value
    problems.raise_if_any()

    notes: list[str] = []
    ids, values, display = _resolve_duplicates(labels, values, duplicate_labels, fname, notes)
    diagonal = int(np.count_nonzero(np.diag(values)))
    if diagonal:
        notes.append(f"{diagonal} non-zero diagonal cell(s): kept as self-ties, which "
                     "analyses ignore")
    if directed:
        src, dst = np.nonzero(values)
        weight = values[src, dst]
    else:
        src, dst, weight = _symmetrized(values, symmetrize, notes)
    return Graph(ids, directed=directed, weighted=weighted, source=src, target=dst,
                 weight=weight, labels=display, name=name or fname, notes=notes)


def _resolve_duplicates(labels: Sequence[str], values: np.ndarray, policy: DuplicateLabels,
                        fname: str, notes: list[str]
                        ) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """Node ids, the (possibly merged) matrix, and display labels that differ from ids."""
    positions: dict[str, list[int]] = {}
    for j, label in enumerate(labels):
        positions.setdefault(label, []).append(j)
    dups = {label: pos for label, pos in positions.items() if len(pos) > 1}
    if not dups:
        return list(labels), values, {}
    described = "; ".join(f"{label!r} at rows/columns {', '.join(str(p + 1) for p in pos)}"
                          for label, pos in dups.items())
    if policy == "error":
        raise InvalidData(f"{fname}: duplicate actor labels; nothing was loaded", errors=[
            FieldError(f"label {label!r}", f"appears {len(pos)} times (rows/columns "
                                           f"{', '.join(str(p + 1) for p in pos)})")
            for label, pos in dups.items()])
    if policy == "merge":
        keep = [pos[0] for pos in positions.values()]
        merged = np.zeros((len(keep), len(keep)))
        slot = {j: n for n, pos in enumerate(positions.values()) for j in pos}
        for i in range(len(labels)):
            for j in range(len(labels)):
                merged[slot[i], slot[j]] += values[i, j]
        notes.append(f"duplicate labels merged (their rows and columns added): {described}")
        return [labels[j] for j in keep], merged, {}
    ids: list[str] = []
    seen: dict[str, int] = {}
    taken = set(labels)
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        node = label
        if seen[label] > 1:
            node = f"{label}#{seen[label]}"
            while node in taken:
                node += "'"
            taken.add(node)
        ids.append(node)
    notes.append(f"duplicate labels kept as separate actors (later copies renamed label#2, "
                 f"...): {described}")
    return ids, values, {i: lab for i, lab in zip(ids, labels, strict=True) if i != lab}


def _symmetrized(values: np.ndarray, policy: Symmetrize,
                 notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    symmetric = bool(np.array_equal(values, values.T))
    if policy == "auto":
        policy = "max" if symmetric else "sum"
        if not symmetric:
            pairs = int(np.count_nonzero(np.triu(values != values.T, 1)))
            notes.append(f"matrix is not symmetric ({pairs} pair(s) differ): read as "
                         "undirected, each tie's weight is the sum of both cells")
    combined = values + values.T if policy == "sum" else np.maximum(values, values.T)
    np.fill_diagonal(combined, np.diag(values))
    src, dst = np.nonzero(np.triu(combined))
    return src, dst, combined[src, dst]


# --- edge lists ---------------------------------------------------------------------------


def _header(cells: list[str]) -> dict[str, int] | None:
    """Column positions when the row names source and target columns, else None."""
    lower = [c.lower() for c in cells]
    if len(lower) < 2 or lower[0] not in SOURCE_NAMES or lower[1] not in TARGET_NAMES:
        return None
    return {name: j for j, name in enumerate(lower)}


def read_edgelist(source: str | Path | bytes, *, directed: bool = False,
                  weighted: bool = False, header: bool | None = None,
                  name: str | None = None) -> Graph:
    """An edge list: ``source target [weight [period]]`` lines, or named columns.

    ``header=None`` detects a header row by its first two names (source/target, from/to,
    ...). Lines starting with ``#`` or ``%`` are comments. Weights must be positive numbers;
    a line without one has weight 1. Each line is one record: repeated pairs (several calls,
    both directions read as undirected) are aggregated by the analyses, not here.
    """
    text, fname = _text(source)
    problems = _Problems(f"{fname} is not a valid edge list")
    rows = _rows(text, comments=True)
    columns: dict[str, int] | None = None
    if rows and header is not False:
        columns = _header(rows[0][1])
        if header and columns is None:
            problems.add(f"line {rows[0][0]}", "header must start with source and target "
                                               "column names")
        if columns is not None:
            rows = rows[1:]
    width = len(columns) if columns else 0
    weight_col = period_col = None
    attr_cols: list[tuple[str, int]] = []
    if columns:
        names = list(columns)
        weight_col = next((columns[n] for n in names if n in WEIGHT_NAMES), None)
        period_col = next((columns[n] for n in names if n in PERIOD_NAMES), None)
        attr_cols = [(n, j) for n, j in columns.items() if j > 1 and j not in
                     (weight_col, period_col)]
    else:
        weight_col, period_col = 2, 3

    records: list[EdgeRecord] = []
    for line, cells in rows:
        if columns is not None and len(cells) != width:
            problems.add(f"line {line}", f"has {len(cells)} fields, the header has {width}")
            continue
        if columns is None and not 2 <= len(cells) <= 4:
            problems.add(f"line {line}", f"has {len(cells)} fields; without a header row a "
                                         "line is: source target [weight [period]]")
            continue
        src, dst = cells[0], cells[1]
        if not src or not dst:
            problems.add(f"line {line}", "empty source or target")
            continue
        weight = 1.0
        if weight_col is not None and weight_col < len(cells):
            cell = cells[weight_col]
            value = _number(cell)
            if value is None:
                problems.add(f"line {line}, column {weight_col + 1} (weight)",
                             f"{cell!r} is not a number" if cell else "empty weight")
                continue
            if value <= 0:
                problems.add(f"line {line}, column {weight_col + 1} (weight)",
                             f"weight {cell} must be positive (leave the tie out instead)")
                continue
            weight = value
        period = (cells[period_col] or None) if period_col is not None \
            and period_col < len(cells) else None
        attrs = {n: cells[j] for n, j in attr_cols if cells[j]}
        records.append(EdgeRecord(src, dst, weight, period, attrs))
    problems.raise_if_any()
    loops = sum(1 for r in records if r.source == r.target)
    notes = [f"{loops} self-tie(s): kept as records, which analyses ignore"] if loops else []
    return Graph.from_records(records, directed=directed, weighted=weighted,
                              name=name or fname, notes=notes)


# --- node attributes ----------------------------------------------------------------------


def read_node_attributes(source: str | Path | bytes) -> dict[str, dict[str, str]]:
    """A table of node attributes (groups for brokerage roles, colours for exports).

    The header names the columns; the first column holds the node id whatever its header
    (``DRUGATTR.csv`` leaves it empty). Every value is kept as text.
    """
    text, fname = _text(source)
    problems = _Problems(f"{fname} is not a valid attribute table")
    rows = _rows(text, comments=False)
    if not rows:
        raise InvalidData(f"{fname} is empty", errors=[FieldError("file", "no rows")])
    names = rows[0][1][1:]
    out: dict[str, dict[str, str]] = {}
    for line, cells in rows[1:]:
        if len(cells) != len(names) + 1:
            problems.add(f"line {line}", f"has {len(cells)} fields, the header has "
                                         f"{len(names) + 1}")
        elif cells[0] in out:
            problems.add(f"line {line}", f"node {cells[0]!r} is listed twice")
        else:
            out[cells[0]] = dict(zip(names, cells[1:], strict=True))
    problems.raise_if_any()
    return out


_NATURAL = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts ``phase2`` before ``phase10`` and dates in calendar order."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NATURAL.split(text) if p)
