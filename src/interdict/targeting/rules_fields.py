"""What a rule condition can read: consignment columns, derived fields and history metrics.

Each readable name resolves to a ``FieldRef`` that knows how to read it twice, once from one
consignment (``Env``: a dict row plus the counters of its history keys) and once as a Polars
expression over a frame whose counters were joined per key kind (``FrameCtx``). The two paths
must agree exactly (the rule tests replay thousands of rows through both), so every derived
value is computed with the same operations in the same order on both sides.

History keys follow the store's contract (``frames.COUNTER``): a key kind is a column or a
pair "a|b" of columns; its value is the column's value or "va|vb"; a key with a null part does
not exist. ``HISTORY_KINDS`` lists the kinds the store keeps: a rule on a kind the store does
not count would see every consignment as "never seen before" and fire on all of them, so
such rules are refused when the file is read.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import polars as pl

from interdict.targeting.features import KEY_KINDS
from interdict.targeting.frames import CONSIGNMENT

#: Columns whose values make history keys.
KEY_COLUMNS = ("importer", "declarant", "seller", "courier", "hs_code", "origin_country",
               "departure_country", "office")
#: The key kinds the counter store keeps: the features' keys without the global one. A rule
#: on any other kind would read "never seen" for every consignment, so it is refused.
HISTORY_KINDS: tuple[str, ...] = tuple(k for k in KEY_KINDS if k != "all")
COUNT_METRICS = ("n_declared", "n_labelled", "n_positive", "n_critical", "n_unit")
HISTORY_METRICS = COUNT_METRICS + ("positive_rate", "days_since_first", "days_since_last")

#: Rules never read the store id or the inspection labels: a rule that looks at the outcome
#: of the consignment it is scoring would fire perfectly in tests and never in service.
HIDDEN_COLUMNS = {"id": "the store's row id", "fraud": "an inspection outcome",
                  "critical": "an inspection outcome"}
DERIVED = {"unit_value": "number", "unit_value_z": "number", "hs_chapter": "text",
           "hs_heading": "text"}

_DAY_US = 86_400_000_000
_ONE_US = timedelta(microseconds=1)


class CounterLike(Protocol):
    """Anything with the ``frames.COUNTER`` attributes (e.g. ``features.Counter``)."""

    @property
    def n_declared(self) -> int: ...
    @property
    def n_labelled(self) -> int: ...
    @property
    def n_positive(self) -> int: ...
    @property
    def n_critical(self) -> int: ...
    @property
    def n_unit(self) -> int: ...
    @property
    def sum_log_unit(self) -> float: ...
    @property
    def sumsq_log_unit(self) -> float: ...
    @property
    def first_declared_at(self) -> datetime | None: ...
    @property
    def last_declared_at(self) -> datetime | None: ...


def _column_type(dtype: Any) -> str:
    if dtype == pl.String:
        return "text"
    if isinstance(dtype, pl.List):
        return "list"
    if isinstance(dtype, pl.Datetime):
        return "time"
    return "number"


COLUMN_TYPES = {c: _column_type(t) for c, t in CONSIGNMENT.items() if c not in HIDDEN_COLUMNS}


def unknown(what: str, name: str, options: Iterable[str]) -> str:
    """"unknown field 'hs_cod'; did you mean 'hs_code'?", or the options when none is close."""
    options = list(options)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    if close:
        return f"unknown {what} {name!r}; did you mean {close[0]!r}?"
    return f"unknown {what} {name!r}; {what}s: {', '.join(options)}"


def key_kind_error(kind: str) -> str | None:
    """Why ``kind`` is not a history key kind the store keeps, or None when it is."""
    if kind in HISTORY_KINDS:
        return None
    parts = kind.split("|")
    if len(parts) == 2 and f"{parts[1]}|{parts[0]}" in HISTORY_KINDS:
        return f"unknown key kind {kind!r}; the store keeps it as '{parts[1]}|{parts[0]}'"
    return unknown("key kind", kind, HISTORY_KINDS)


# --- one consignment ---------------------------------------------------------------------

#: Marks a key that does not exist because one of its parts is null (as opposed to a key that
#: exists and was never seen, whose counts are zero).
NO_KEY: Any = object()


def utc(t: datetime) -> datetime:
    """Naive times are taken as UTC, the store's convention, so that subtraction never fails."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


class Env:
    """One consignment being evaluated, with memoised history lookups and derived values.

    ``ref`` is the time history ages are measured from: the consignment's own ``declared_at``
    (so that replaying an old file gives the ages it had then), else the evaluation time.
    """

    __slots__ = ("counters", "lists", "memo", "min_unit_history", "ref", "row", "unit_floor")

    def __init__(self, row: Mapping[str, Any], counters: Mapping[tuple[str, str], CounterLike],
                 lists: Mapping[str, frozenset[str]], at: datetime, min_unit_history: int,
                 unit_floor: float) -> None:
        self.row = row
        self.counters = counters
        self.lists = lists
        declared = row.get("declared_at")
        self.ref = utc(declared if isinstance(declared, datetime) else at)
        self.min_unit_history = min_unit_history
        self.unit_floor = unit_floor
        self.memo: dict[str, Any] = {}

    def history(self, kind: str) -> Any:
        """The counter of this consignment's ``kind`` key, None if never seen, or NO_KEY."""
        memo = self.memo
        if kind in memo:
            return memo[kind]
        row = self.row
        value: str | None
        if "|" in kind:
            a, b = kind.split("|")
            va, vb = row.get(a), row.get(b)
            value = None if va is None or vb is None else f"{va}|{vb}"
        else:
            v = row.get(kind)
            value = None if v is None else str(v)
        found = NO_KEY if value is None else self.counters.get((kind, value))
        memo[kind] = found
        return found

    def count(self, kind: str, metric: str) -> int | None:
        c = self.history(kind)
        if c is NO_KEY:
            return None
        return 0 if c is None else int(getattr(c, metric))

    def positive_rate(self, kind: str) -> float | None:
        c = self.history(kind)
        if c is NO_KEY or c is None or c.n_labelled <= 0:
            return None
        return float(c.n_positive / c.n_labelled)

    def days_since(self, kind: str, attr: str) -> float | None:
        c = self.history(kind)
        if c is NO_KEY or c is None:
            return None
        then = getattr(c, attr)
        if then is None:
            return None
        return ((self.ref - utc(then)) // _ONE_US) / _DAY_US


def _unit_value(env: Env) -> float | None:
    if "unit_value" not in env.memo:
        v, m = env.row.get("value"), env.row.get("net_mass_kg")
        env.memo["unit_value"] = None if v is None or m is None or not m > 0 else v / m
    uv: float | None = env.memo["unit_value"]
    return uv


def _unit_value_z(env: Env) -> float | None:
    """z of ln(unit value) against the HS code's earlier ones (the spread floor is added in
    quadrature, as the model's features do, so a code with near-identical past prices does not
    make every new price an outlier)."""
    uv = _unit_value(env)
    if uv is None or not uv > 0:
        return None
    c = env.history("hs_code")
    if c is NO_KEY or c is None or c.n_unit < env.min_unit_history:
        return None
    n = c.n_unit
    mean = c.sum_log_unit / n
    var = max(c.sumsq_log_unit - mean * c.sum_log_unit, 0.0) / (n - 1)
    return float((math.log(uv) - mean) / math.sqrt(var + env.unit_floor * env.unit_floor))


def _hs_prefix(width: int) -> Callable[[Env], Any]:
    def get(env: Env) -> Any:
        hs = env.row.get("hs_code")
        return None if hs is None else hs[:width]
    return get


# --- a frame -----------------------------------------------------------------------------

REF = "__ref"


@dataclass(frozen=True)
class FrameCtx:
    """What condition expressions need: the lists, the settings and where counters were put."""

    lists: Mapping[str, frozenset[str]]
    prefix: Mapping[str, str]          # key kind -> prefix of its joined counter columns
    min_unit_history: int
    unit_floor: float

    def col(self, kind: str, attr: str) -> pl.Expr:
        return pl.col(f"{self.prefix[kind]}{attr}")

    def key(self, kind: str) -> pl.Expr:
        return pl.col(f"{self.prefix[kind]}key")

    def count(self, kind: str, metric: str) -> pl.Expr:
        return pl.when(self.key(kind).is_not_null()).then(self.col(kind, metric).fill_null(0))

    def positive_rate(self, kind: str) -> pl.Expr:
        lab = self.col(kind, "n_labelled")
        return pl.when(lab > 0).then(self.col(kind, "n_positive") / lab)

    def days_since(self, kind: str, attr: str) -> pl.Expr:
        return (pl.col(REF) - self.col(kind, attr)).dt.total_microseconds() / _DAY_US


def key_expr(kind: str) -> pl.Expr:
    """A key kind's value per row; null when a part is null (concat_str propagates nulls)."""
    parts = kind.split("|")
    if len(parts) == 1:
        return pl.col(kind).cast(pl.String)
    return pl.concat_str([pl.col(p).cast(pl.String) for p in parts], separator="|")


def _unit_value_expr(ctx: FrameCtx) -> pl.Expr:
    return pl.when(pl.col("net_mass_kg") > 0).then(pl.col("value") / pl.col("net_mass_kg"))


def _unit_value_z_expr(ctx: FrameCtx) -> pl.Expr:
    uv = _unit_value_expr(ctx)
    n = ctx.col("hs_code", "n_unit")
    s1, s2 = ctx.col("hs_code", "sum_log_unit"), ctx.col("hs_code", "sumsq_log_unit")
    mean = s1 / n
    var = pl.max_horizontal(s2 - mean * s1, pl.lit(0.0)) / (n - 1)
    z = (uv.log() - mean) / (var + ctx.unit_floor * ctx.unit_floor).sqrt()
    return pl.when((uv > 0) & (n >= ctx.min_unit_history)).then(z)


# --- resolution --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """One readable name: its type (text, number, list, time) and its two readers."""

    name: str
    type: str
    get: Callable[[Env], Any]
    expr: Callable[[FrameCtx], pl.Expr]
    kinds: frozenset[str]              # history key kinds it reads

    @property
    def label(self) -> str:
        return self.name


def _column(name: str, type_: str) -> FieldRef:
    def get(env: Env) -> Any:
        return env.row.get(name)
    return FieldRef(name, type_, get, lambda ctx: pl.col(name), frozenset())


def _metric(kind: str, metric: str) -> FieldRef:
    name = f"{kind}.{metric}"
    if metric in COUNT_METRICS:
        return FieldRef(name, "number", lambda env: env.count(kind, metric),
                        lambda ctx: ctx.count(kind, metric), frozenset({kind}))
    if metric == "positive_rate":
        return FieldRef(name, "number", lambda env: env.positive_rate(kind),
                        lambda ctx: ctx.positive_rate(kind), frozenset({kind}))
    attr = "first_declared_at" if metric == "days_since_first" else "last_declared_at"
    return FieldRef(name, "number", lambda env: env.days_since(kind, attr),
                    lambda ctx: ctx.days_since(kind, attr), frozenset({kind}))


def _derived(name: str) -> FieldRef:
    if name == "unit_value":
        return FieldRef(name, "number", _unit_value, _unit_value_expr, frozenset())
    if name == "unit_value_z":
        return FieldRef(name, "number", _unit_value_z, _unit_value_z_expr,
                        frozenset({"hs_code"}))
    width = 2 if name == "hs_chapter" else 4
    return FieldRef(name, "text", _hs_prefix(width),
                    lambda ctx: pl.col("hs_code").str.slice(0, width), frozenset())


def resolve_field(name: str) -> FieldRef:
    """The ``FieldRef`` of a readable name; ``ValueError`` with the reason when there is none.

    Names: a consignment column, a derived field, or ``<key kind>.<metric>`` for history
    (``importer.n_declared``, ``importer|hs_code.days_since_last``...).
    """
    if name in COLUMN_TYPES:
        return _column(name, COLUMN_TYPES[name])
    if name in DERIVED:
        return _derived(name)
    if name in HIDDEN_COLUMNS:
        raise ValueError(f"rules cannot read {name!r}: it is {HIDDEN_COLUMNS[name]}")
    if "." in name:
        kind, _, metric = name.rpartition(".")
        problem = key_kind_error(kind)
        if problem:
            raise ValueError(problem)
        if metric not in HISTORY_METRICS:
            raise ValueError(unknown("history metric", metric, HISTORY_METRICS))
        return _metric(kind, metric)
    raise ValueError(unknown("field", name, [*COLUMN_TYPES, *DERIVED, "<key kind>.<metric>"]))
