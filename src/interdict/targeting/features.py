"""Time-aware history features of consignments, computed without looking into the future.

A consignment is scored on what was known *before* it arrived: how often its importer,
declarant, seller, HS code, ... (and pairs of them) were declared before, how many of those
declarations were inspected and what was found. The same features are computed two ways:

* ``features_one`` for one consignment from the counters the store holds (the service);
* ``features_batch`` for a whole frame at once, each row seeing only the rows before it
  (training, evaluation and bulk scoring of a file).

Both must agree exactly, which the tests prove by replaying a frame through ``History``.

Timing rule (``FeatureSettings.outcome_delay_days``, ``d``): a consignment declared at ``t``
sees the *declarations* of consignments declared strictly before ``t`` and the *outcomes* of
consignments declared at ``s`` with ``s < t`` and ``s + d <= t``. Day-granular data with
``d = 1`` thus sees all earlier days, declarations and outcomes, and nothing of its own day.

Outcome rates are smoothed towards the global rate known at that time (itself smoothed
towards a fixed prior), so that a key seen once with one fraud does not look certain:
``rate = (n_positive + k * global_rate) / (n_labelled + k)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from interdict.targeting.frames import COUNTER, UTC_TIME

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: One feature value: numbers, or the raw string of a categorical column; None = missing.
FeatureValue = float | int | str | None

GLOBAL_KIND = "all"
GLOBAL_KEY = (GLOBAL_KIND, "*")
_DAY_US = 86_400_000_000


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str                     # key_kind, e.g. "importer|hs_code"
    columns: tuple[str, ...]      # consignment columns whose values make the key
    entity: bool                  # counts and recency are features (not for big, time-proxy keys)
    unit: bool                    # unit-value z-score against this key's prior distribution

    @property
    def alias(self) -> str:
        return self.name.replace("|", "__")


# Offices, countries and couriers are few and large: their counts and ages only grow with time,
# so they would teach the model the calendar; only their outcome rates are features.
_KINDS: tuple[_Kind, ...] = (
    _Kind(GLOBAL_KIND, (), False, False),
    _Kind("importer", ("importer",), True, False),
    _Kind("declarant", ("declarant",), True, False),
    _Kind("seller", ("seller",), True, False),
    _Kind("courier", ("courier",), False, False),
    _Kind("hs_code", ("hs_code",), True, True),
    _Kind("origin_country", ("origin_country",), False, False),
    _Kind("departure_country", ("departure_country",), False, False),
    _Kind("office", ("office",), False, False),
    _Kind("importer|hs_code", ("importer", "hs_code"), True, True),
    _Kind("declarant|importer", ("declarant", "importer"), True, False),
    _Kind("seller|importer", ("seller", "importer"), True, False),
    _Kind("importer|origin_country", ("importer", "origin_country"), True, False),
    _Kind("declarant|hs_code", ("declarant", "hs_code"), True, False),
    _Kind("seller|hs_code", ("seller", "hs_code"), True, False),
    # Goods profiles: a commodity from an origin, by a route, under a tariff regime. These carry
    # most of the signal on the KCS data (fraud concentrates on commodity x route x regime).
    _Kind("hs_code|origin_country", ("hs_code", "origin_country"), True, True),
    _Kind("hs_code|departure_country", ("hs_code", "departure_country"), True, True),
    _Kind("hs_code|tax_type", ("hs_code", "tax_type"), True, False),
    _Kind("hs_code|departure_country|origin_country",
          ("hs_code", "departure_country", "origin_country"), True, True),
    _Kind("hs_code|departure_country|tax_type", ("hs_code", "departure_country", "tax_type"),
          True, False),
    _Kind("hs_code|departure_country|origin_country|tax_type",
          ("hs_code", "departure_country", "origin_country", "tax_type"), True, False),
)
#: The history key kinds, in the order ``keys_of`` returns them. "all" is the single global
#: key ("all", "*") whose counters give the global outcome rate used for smoothing.
KEY_KINDS: tuple[str, ...] = tuple(k.name for k in _KINDS)
_KEYED = _KINDS[1:]

_BASE = ("tax_rate", "net_mass_kg", "value", "log_unit_value", "same_country")


def _kind_features(kind: _Kind) -> tuple[str, ...]:
    a = kind.alias
    names = [f"{a}_rate", f"{a}_crit"]
    if kind.entity:
        names += [f"{a}_n", f"{a}_nl", f"{a}_days_first", f"{a}_days_last"]
    if kind.unit:
        names.append(f"{a}_unit_z")
    return tuple(names)


#: Numeric model inputs, in model order.
FEATURE_COLUMNS: tuple[str, ...] = _BASE + tuple(n for k in _KEYED for n in _kind_features(k))
#: The smoothed outcome rates among FEATURE_COLUMNS (the model keeps its score monotone in them).
RATE_COLUMNS: tuple[str, ...] = tuple(
    n for k in _KEYED for n in (f"{k.alias}_rate", f"{k.alias}_crit"))
#: Raw categorical model inputs (strings; the model codes them). Identifiers (importer,
#: declarant, seller, courier) are deliberately absent: they reach the model only through their
#: history, so that the model generalises to entities it has never seen.
CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "office", "process_type", "import_type", "import_use", "payment_type", "transport_mode",
    "tax_type", "origin_indicator", "departure_country", "origin_country", "hs_chapter",
)
_RAW_CATEGORICAL = CATEGORICAL_COLUMNS[:-1]


class FeatureSettings(BaseModel):
    """How history becomes features. Changing any of these needs a retrained model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Prior weight k of a key's smoothed fraud rate (pseudo-outcomes at the global rate).
    smoothing: float = Field(default=3.0, gt=0)
    #: Prior weight of a key's smoothed critical rate; larger, as critical outcomes are rare.
    critical_smoothing: float = Field(default=10.0, gt=0)
    #: The global rates start from these fixed priors, weighted as this many outcomes.
    prior_rate: float = Field(default=0.2, gt=0, lt=1)
    prior_critical_rate: float = Field(default=0.01, gt=0, lt=1)
    prior_weight: float = Field(default=50.0, gt=0)
    #: Days after declaration at which its inspection outcome is known (see module doc).
    outcome_delay_days: float = Field(default=1.0, ge=0)
    #: Spread (in ln units) added in quadrature to a key's unit-value standard deviation, so
    #: that a key with near-identical past prices does not make every new price an outlier.
    unit_spread_floor: float = Field(default=0.1, gt=0)

    @property
    def delay_us(self) -> int:
        return round(self.outcome_delay_days * _DAY_US)


@dataclass(slots=True)
class Counter:
    """Running counts of one history key (``frames.COUNTER`` without the key columns)."""

    n_declared: int = 0
    n_labelled: int = 0
    n_positive: int = 0
    n_critical: int = 0
    n_unit: int = 0
    sum_log_unit: float = 0.0
    sumsq_log_unit: float = 0.0
    first_declared_at: datetime | None = None
    last_declared_at: datetime | None = None


_COUNTER_FIELDS = tuple(f.name for f in fields(Counter))


def _key_value(row: Mapping[str, Any], columns: tuple[str, ...]) -> str | None:
    if len(columns) == 1:
        v = row.get(columns[0])
        return None if v is None else str(v)
    parts = []
    for c in columns:
        v = row.get(c)
        if v is None:
            return None
        parts.append(str(v))
    return "|".join(parts)


def keys_of(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The history keys of one consignment (a dict with ``CONSIGNMENT`` keys).

    A pair's key value joins its parts with "|"; a key with a null part does not exist.
    """
    keys = [GLOBAL_KEY]
    for kind in _KEYED:
        v = _key_value(row, kind.columns)
        if v is not None:
            keys.append((kind.name, v))
    return keys


def _log_unit(value: Any, mass: Any) -> float | None:
    """ln(value per kg), or None when either is missing or not positive."""
    if value is None or mass is None:
        return None
    v, m = float(value), float(mass)
    if not (v > 0 and m > 0 and math.isfinite(v) and math.isfinite(m)):
        return None
    return math.log(v / m)


class History(Mapping[tuple[str, str], Counter]):
    """Counters per history key, in memory; a read-only ``Mapping`` for ``features_one``.

    Counts must be fed in time order: ``observe_declaration`` once a consignment has been
    scored, ``observe_outcome`` when its inspection result is recorded (possibly never).
    ``branch()`` gives a copy-on-write child for simulations: it reads through to its parent
    and copies a counter only when it changes it (the parent must not change meanwhile).
    """

    def __init__(self, counters: dict[tuple[str, str], Counter] | None = None,
                 parent: History | None = None) -> None:
        self._counters: dict[tuple[str, str], Counter] = counters if counters is not None else {}
        self._parent = parent
        self._frame: pl.DataFrame | None = None   # cached to_frame(), dropped on any change

    def __getitem__(self, key: tuple[str, str]) -> Counter:
        c = self._counters.get(key)
        if c is not None:
            return c
        if self._parent is not None:
            return self._parent[key]
        raise KeyError(key)

    def _all(self) -> dict[tuple[str, str], Counter]:
        if self._parent is None:
            return self._counters
        return {**self._parent._all(), **self._counters}

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def _counter(self, key: tuple[str, str]) -> Counter:
        c = self._counters.get(key)
        if c is None:
            inherited = self._parent.get(key) if self._parent is not None else None
            c = self._counters[key] = replace(inherited) if inherited is not None else Counter()
        return c

    def observe_declaration(self, row: Mapping[str, Any]) -> None:
        """Count a consignment's declaration under each of its keys."""
        self._frame = None
        t: datetime = row["declared_at"]
        lu = _log_unit(row.get("value"), row.get("net_mass_kg"))
        for key in keys_of(row):
            c = self._counter(key)
            c.n_declared += 1
            if lu is not None:
                c.n_unit += 1
                c.sum_log_unit += lu
                c.sumsq_log_unit += lu * lu
            if c.first_declared_at is None or t < c.first_declared_at:
                c.first_declared_at = t
            if c.last_declared_at is None or t > c.last_declared_at:
                c.last_declared_at = t

    def observe_outcome(self, row: Mapping[str, Any], fraud: int, critical: int | None) -> None:
        """Count an inspection outcome; an unknown critical grade counts as not critical."""
        self._frame = None
        for key in keys_of(row):
            c = self._counter(key)
            c.n_labelled += 1
            c.n_positive += int(fraud == 1)
            c.n_critical += int(critical == 2)

    def branch(self) -> History:
        """A copy-on-write child (cheap; see the class doc)."""
        return History(parent=self)

    def copy(self) -> History:
        """An independent deep copy."""
        return History({k: replace(c) for k, c in self._all().items()})

    def to_frame(self) -> pl.DataFrame:
        """All counters as a ``frames.COUNTER`` frame (what the store persists)."""
        if self._frame is None:
            items = list(self._all().items())
            data: dict[str, list[Any]] = {
                "key_kind": [k[0] for k, _ in items],
                "key_value": [k[1] for k, _ in items],
            }
            for name in _COUNTER_FIELDS:
                data[name] = [getattr(c, name) for _, c in items]
            self._frame = pl.DataFrame(data, schema=COUNTER)
        return self._frame

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> History:
        """Counters from a ``frames.COUNTER`` frame."""
        frame = frame.select(pl.col(c).cast(t) for c, t in COUNTER.items())
        counters = {(r[0], r[1]): Counter(*r[2:]) for r in frame.iter_rows()}
        h = cls(counters)
        h._frame = frame
        return h


# ---------------------------------------------------------------------------------------------
# One consignment


def _global_rates(c: Counter | None, s: FeatureSettings) -> tuple[float, float]:
    pos, crit, nl = (c.n_positive, c.n_critical, c.n_labelled) if c is not None else (0, 0, 0)
    g = (pos + s.prior_weight * s.prior_rate) / (nl + s.prior_weight)
    gc = (crit + s.prior_weight * s.prior_critical_rate) / (nl + s.prior_weight)
    return g, gc


def _days(t: datetime, then: datetime | None) -> float | None:
    return None if then is None else (t - then) / timedelta(days=1)


def _unit_z(lu: float | None, n: int, s1: float, s2: float, floor: float) -> float | None:
    if lu is None or n < 2:
        return None
    mean = s1 / n
    var = max(s2 - s1 * mean, 0.0) / (n - 1)
    return (lu - mean) / math.sqrt(var + floor * floor)


_ZERO = Counter()


def features_one(row: Mapping[str, Any], counters: Mapping[tuple[str, str], Counter],
                 settings: FeatureSettings) -> dict[str, FeatureValue]:
    """Features of one consignment from the counters as they were before it.

    ``counters`` needs the keys ``keys_of(row)`` (a ``History`` will do); a missing key means
    never seen (all zero). Categorical columns are returned as their raw strings.
    """
    t: datetime = row["declared_at"]
    lu = _log_unit(row.get("value"), row.get("net_mass_kg"))
    dep, org = row.get("departure_country"), row.get("origin_country")
    out: dict[str, FeatureValue] = {
        "tax_rate": row.get("tax_rate"),
        "net_mass_kg": row.get("net_mass_kg"),
        "value": row.get("value"),
        "log_unit_value": lu,
        "same_country": None if dep is None or org is None else int(dep == org),
    }
    g, gc = _global_rates(counters.get(GLOBAL_KEY), settings)
    k, kc = settings.smoothing, settings.critical_smoothing
    for kind in _KEYED:
        a = kind.alias
        value = _key_value(row, kind.columns)
        if value is None:
            for name in _kind_features(kind):
                out[name] = None
            continue
        c = counters.get((kind.name, value)) or _ZERO
        out[a + "_rate"] = (c.n_positive + k * g) / (c.n_labelled + k)
        out[a + "_crit"] = (c.n_critical + kc * gc) / (c.n_labelled + kc)
        if kind.entity:
            out[a + "_n"] = c.n_declared
            out[a + "_nl"] = c.n_labelled
            out[a + "_days_first"] = _days(t, c.first_declared_at)
            out[a + "_days_last"] = _days(t, c.last_declared_at)
        if kind.unit:
            out[a + "_unit_z"] = _unit_z(lu, c.n_unit, c.sum_log_unit, c.sumsq_log_unit,
                                         settings.unit_spread_floor)
    for col in _RAW_CATEGORICAL:
        v = row.get(col)
        out[col] = None if v is None else str(v)
    hs = row.get("hs_code")
    out["hs_chapter"] = None if hs is None else str(hs)[:2]
    return out


# ---------------------------------------------------------------------------------------------
# A whole frame


def _key_expr(kind: _Kind) -> pl.Expr:
    if not kind.columns:
        return pl.lit("*", pl.String)
    if len(kind.columns) == 1:
        return pl.col(kind.columns[0]).cast(pl.String)
    return pl.concat_str([pl.col(c).cast(pl.String) for c in kind.columns], separator="|")


@dataclass(slots=True)
class _Rows:
    """Per-row arrays of a frame that every key kind needs."""

    t: IntArray            # declared_at, epoch microseconds
    rank: IntArray         # dense rank of t among the frame's distinct times
    label_rank: IntArray   # last time rank whose outcomes this row may see (-1: none)
    outcomes: IntArray     # 3 x n: labelled, fraud = 1, critical = 2
    units: FloatArray      # 2 x n: has a unit value, its ln (0 when unusable)
    lu: FloatArray         # ln unit value, NaN when unusable


def _rows(frame: pl.DataFrame, delay_us: int, labels_known: bool) -> _Rows:
    times = frame["declared_at"]
    if times.null_count():
        raise ValueError("declared_at must not be null")
    t = times.cast(UTC_TIME).to_physical().to_numpy().astype(np.int64)
    uniq = np.unique(t)
    rank = np.searchsorted(uniq, t).astype(np.int64)
    label_rank = np.minimum(rank - 1, np.searchsorted(uniq, t - delay_us, side="right") - 1)
    outcomes = np.zeros((3, frame.height), dtype=np.int64)
    if labels_known:
        fraud = frame["fraud"].cast(pl.Int64)
        outcomes[0] = fraud.is_not_null().to_numpy()
        outcomes[1] = (fraud == 1).fill_null(False).to_numpy()
        crit = (frame["critical"].cast(pl.Int64) == 2) & fraud.is_not_null()
        outcomes[2] = crit.fill_null(False).to_numpy()
    value = frame["value"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    mass = frame["net_mass_kg"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (value > 0) & (mass > 0) & np.isfinite(value) & np.isfinite(mass)
        lu = np.where(ok, np.log(np.where(ok, value, 1.0) / np.where(ok, mass, 1.0)), np.nan)
    units = np.stack([ok.astype(np.float64), np.where(ok, lu, 0.0)])
    return _Rows(t, rank, label_rank.astype(np.int64), outcomes, units, lu)


_NO_TIME = np.iinfo(np.int64).min


def _group_order(keys: pl.Series, rank: IntArray) -> tuple[IntArray, IntArray]:
    """Sort rows by (key, time rank) with one integer sort; also each sorted row's group id.

    The sort key packs the top bits of a 64-bit hash of the key above the time rank. It is
    exact when no two keys share a hash, checked by comparing the number of sorted groups with
    the number of distinct keys (and that the full hashes agree with the truncated groups);
    otherwise, which is astronomically rare, the keys are sorted as strings.
    """
    bits = np.uint64(max(1, int(rank.max(initial=0)) + 1).bit_length())
    h = keys.hash(seed=0).to_numpy()
    comp = ((h >> bits) << bits) | rank.astype(np.uint64)
    order = np.argsort(comp)
    sh = comp[order] >> bits
    hf = h[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = sh[1:] != sh[:-1]
    exact = np.array_equal(new_group[1:], hf[1:] != hf[:-1])
    if not exact or int(new_group.sum()) != keys.n_unique():
        order = pl.DataFrame({"k": keys, "r": rank}).select(
            pl.arg_sort_by("k", "r")).to_series().to_numpy()
        sk = keys.gather(order)
        new_group[1:] = (sk.slice(1) != sk.slice(0, len(sk) - 1)).to_numpy()
    return order.astype(np.int64), np.cumsum(new_group) - 1


def _before(keys: pl.Series, rows: _Rows, prior: pl.DataFrame | None,
            kind: _Kind) -> dict[str, Any]:
    """Each row's counters for its key as they were before it: prior + earlier frame rows.

    Rows with the key are sorted by (key, time); within a key, a row sees the declarations
    before its run of equal times and the outcomes up to its ``label_rank``, found by binary
    search on (group, time rank). Only what ``kind``'s features need is computed. Returned
    arrays are in frame order; ``present`` is False for rows without this key (their other
    values are meaningless).
    """
    n = len(keys)
    present = keys.is_not_null().to_numpy()
    if not kind.columns:                            # the global key: one group in time order
        order = np.argsort(rows.rank, kind="stable")
        gid = np.zeros(n, dtype=np.int64)
    else:
        rows_with = np.flatnonzero(present)
        sub = keys.gather(rows_with) if len(rows_with) < n else keys
        order_sub, gid = _group_order(sub, rows.rank[rows_with])
        order = rows_with[order_sub]                # sorted position -> frame row
    m = len(order)
    n_times = int(rows.rank.max(initial=0)) + 2
    srank = rows.rank[order]
    pos = np.arange(m)
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = gid[1:] != gid[:-1]
    new_run = new_group.copy()
    new_run[1:] |= srank[1:] != srank[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    run_start = np.maximum.accumulate(np.where(new_run, pos, 0))
    # Queries are non-decreasing in sorted order (label_rank grows with rank): a cheap search.
    comp = gid * n_times + srank
    label_end = np.searchsorted(comp, gid * n_times + rows.label_rank[order], side="right")
    ci = np.zeros((3, m + 1), dtype=np.int64)
    np.cumsum(rows.outcomes[:, order], axis=1, out=ci[:, 1:])
    sorted_cols: dict[str, Any] = {
        "n_declared": run_start - group_start,
        "n_labelled": ci[0, label_end] - ci[0, group_start],
        "n_positive": ci[1, label_end] - ci[1, group_start],
        "n_critical": ci[2, label_end] - ci[2, group_start],
    }
    if kind.unit:
        # Sums over a run of rows are differences of running sums over all keys; taken on raw
        # ln unit values (about 10, squares 100) those lose digits to the size of the total.
        # Values are first centred on their key's first value, so the running sums stay
        # small, and the raw sums are rebuilt per key: ~1e-10 instead of ~1e-7 of noise.
        has, x = rows.units[0, order], rows.units[1, order]
        x0 = x[group_start]
        d = (x - x0) * has
        cu = np.zeros((3, m + 1))
        np.cumsum(np.stack([has, d, d * d]), axis=1, out=cu[:, 1:])
        k = cu[0, run_start] - cu[0, group_start]
        sd = cu[1, run_start] - cu[1, group_start]
        sdd = cu[2, run_start] - cu[2, group_start]
        sorted_cols["n_unit"] = k.round().astype(np.int64)
        sorted_cols["sum_log_unit"] = k * x0 + sd
        sorted_cols["sumsq_log_unit"] = k * x0 * x0 + 2 * x0 * sd + sdd
    if kind.entity:
        st = rows.t[order]
        seen = run_start > group_start
        sorted_cols["first"] = np.where(seen, st[group_start], _NO_TIME)
        sorted_cols["last"] = np.where(seen, st[np.maximum(run_start - 1, 0)], _NO_TIME)
    out: dict[str, Any] = {}
    for name, v in sorted_cols.items():
        o = np.zeros(n, dtype=v.dtype)
        o[order] = v
        out[name] = o
    if prior is not None and prior.height and m:
        first_of_group = order[new_group]
        names = keys.gather(first_of_group)
        p = pl.DataFrame({"key_value": names}).join(prior, on="key_value", how="left",
                                                    maintain_order="left")
        g = np.zeros(n, dtype=np.int64)
        g[order] = gid
        for name in ("n_declared", "n_unit", "n_labelled", "n_positive", "n_critical",
                     "sum_log_unit", "sumsq_log_unit"):
            if name in out:
                out[name] = out[name] + p[name].fill_null(0).to_numpy()[g]
        if kind.entity:
            pf = p["first_declared_at"].to_physical().fill_null(_NO_TIME).to_numpy()[g]
            pl_ = p["last_declared_at"].to_physical().fill_null(_NO_TIME).to_numpy()[g]
            out["first"] = np.where(out["first"] == _NO_TIME, pf,
                                    np.where(pf == _NO_TIME, out["first"],
                                             np.minimum(out["first"], pf)))
            out["last"] = np.maximum(out["last"], pl_)
    out["present"] = present
    return out


def features_batch(frame: pl.DataFrame, settings: FeatureSettings | None = None,
                   prior: History | None = None, *, labels_known: bool = True) -> pl.DataFrame:
    """Features of every row of ``frame`` (any order; returned in the frame's row order).

    Each row sees ``prior`` plus the rows of the frame available before it under the timing
    rule of the module doc, exactly as ``features_one`` on a replayed ``History`` would.
    ``labels_known=False`` ignores the frame's own labels (a new file to score): its
    declarations still count, its outcomes only come from ``prior``.

    ``prior`` must describe a time before the frame's first row, with all of its outcomes
    known at the frame's start (true when the gap is at least ``outcome_delay_days``).
    """
    s = settings or FeatureSettings()
    rows = _rows(frame, s.delay_us, labels_known)
    by_prior_kind: dict[Any, pl.DataFrame] = {}
    if prior is not None:
        by_prior_kind = prior.to_frame().partition_by("key_kind", as_dict=True,
                                                      include_key=False)
    keys = frame.select([_key_expr(k).alias(k.name) for k in _KINDS])

    def one_kind(kind: _Kind) -> dict[str, Any]:
        return _before(keys[kind.name], rows, by_prior_kind.get((kind.name,)), kind)

    # NumPy sorts and gathers release the GIL: two threads use both cores of the target machine.
    with ThreadPoolExecutor(max_workers=2) as pool:
        by_kind = dict(zip(KEY_KINDS, pool.map(one_kind, _KINDS), strict=True))

    glob = by_kind[GLOBAL_KIND]
    gl = glob["n_labelled"].astype(np.float64)
    g = (glob["n_positive"] + s.prior_weight * s.prior_rate) / (gl + s.prior_weight)
    gc = (glob["n_critical"] + s.prior_weight * s.prior_critical_rate) / (gl + s.prior_weight)

    lu = rows.lu
    dep = frame["departure_country"].cast(pl.String)
    org = frame["origin_country"].cast(pl.String)
    cols: list[pl.Series] = [
        frame["tax_rate"].cast(pl.Float64).alias("tax_rate"),
        frame["net_mass_kg"].cast(pl.Float64).alias("net_mass_kg"),
        frame["value"].cast(pl.Float64).alias("value"),
        pl.Series("log_unit_value", lu, nan_to_null=True),
        (dep == org).cast(pl.Int64).alias("same_country"),
    ]
    k, kc = s.smoothing, s.critical_smoothing
    floor2 = s.unit_spread_floor * s.unit_spread_floor
    for kind in _KEYED:
        b = by_kind[kind.name]
        a = kind.alias
        miss = ~b["present"]
        nl = b["n_labelled"].astype(np.float64)

        def ser(name: str, x: npt.NDArray[Any], miss: npt.NDArray[np.bool_] = miss) -> pl.Series:
            return pl.Series(name, x).scatter(np.flatnonzero(miss), None)

        cols.append(ser(a + "_rate", (b["n_positive"] + k * g) / (nl + k)))
        cols.append(ser(a + "_crit", (b["n_critical"] + kc * gc) / (nl + kc)))
        if kind.entity:
            cols.append(ser(a + "_n", b["n_declared"]))
            cols.append(ser(a + "_nl", b["n_labelled"]))
            for name, at in (("_days_first", b["first"]), ("_days_last", b["last"])):
                d = np.where(at == _NO_TIME, np.nan, (rows.t - at) / _DAY_US)
                cols.append(pl.Series(a + name, d, nan_to_null=True)
                            .scatter(np.flatnonzero(miss), None))
        if kind.unit:
            n = b["n_unit"]
            s1, s2 = b["sum_log_unit"], b["sumsq_log_unit"]
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = s1 / n
                var = np.maximum(s2 - s1 * mean, 0.0) / (n - 1)
                z = np.where(n >= 2, (lu - mean) / np.sqrt(var + floor2), np.nan)
            cols.append(pl.Series(a + "_unit_z", z, nan_to_null=True)
                        .scatter(np.flatnonzero(miss), None))
    cat = frame.select(
        *(pl.col(c).cast(pl.String) for c in _RAW_CATEGORICAL),
        pl.col("hs_code").cast(pl.String).str.slice(0, 2).alias("hs_chapter"),
    )
    return pl.DataFrame(cols).hstack(cat)


# ---------------------------------------------------------------------------------------------
# Counters from a frame


def history_from_frame(frame: pl.DataFrame, outcome_delay_days: float | None = None,
                       as_of: datetime | None = None) -> History:
    """The counters after the rows of a labelled frame.

    Without ``as_of``: after everything, every declaration and every recorded outcome (the
    state the service continues from after importing its training data). With ``as_of``: as
    a consignment declared at ``as_of`` would see them under ``outcome_delay_days`` (default
    0: outcomes of all rows strictly before ``as_of``).
    """
    delay_us = round((outcome_delay_days or 0.0) * _DAY_US)
    t = pl.col("declared_at").cast(UTC_TIME)
    if as_of is None:
        seen, known = pl.lit(True), pl.lit(True)
    else:
        cut = as_of.astimezone(UTC)
        seen = t < cut
        known = seen & (t + pl.duration(microseconds=delay_us) <= cut)
    fraud = pl.col("fraud").cast(pl.Int64)
    lab = known & fraud.is_not_null()
    v, m = pl.col("value").cast(pl.Float64), pl.col("net_mass_kg").cast(pl.Float64)
    ok = (v > 0) & (m > 0) & v.is_finite() & m.is_finite()
    base = frame.select(
        t.alias("t"), seen.alias("seen"), lab.alias("lab"),
        (lab & (fraud == 1)).fill_null(False).alias("pos"),
        (lab & (pl.col("critical").cast(pl.Int64) == 2)).fill_null(False).alias("crit"),
        ok.fill_null(False).alias("ok"),
        pl.when(ok).then((v / m).log()).otherwise(0.0).alias("lu"),
        *(_key_expr(k).alias(k.name) for k in _KINDS),
    ).filter(pl.col("seen"))
    parts = []
    for kind in _KINDS:
        parts.append(
            base.filter(pl.col(kind.name).is_not_null())
            .group_by(kind.name)
            .agg(
                pl.len().cast(pl.Int64).alias("n_declared"),
                pl.col("lab").sum().cast(pl.Int64).alias("n_labelled"),
                pl.col("pos").sum().cast(pl.Int64).alias("n_positive"),
                pl.col("crit").sum().cast(pl.Int64).alias("n_critical"),
                pl.col("ok").sum().cast(pl.Int64).alias("n_unit"),
                pl.col("lu").sum().alias("sum_log_unit"),
                (pl.col("lu") * pl.col("lu")).sum().alias("sumsq_log_unit"),
                pl.col("t").min().alias("first_declared_at"),
                pl.col("t").max().alias("last_declared_at"),
            )
            .rename({kind.name: "key_value"})
            .with_columns(pl.lit(kind.name).alias("key_kind"))
        )
    counters = pl.concat(parts).select(pl.col(c).cast(t_) for c, t_ in COUNTER.items())
    return History.from_frame(counters.sort("key_kind", "key_value"))
