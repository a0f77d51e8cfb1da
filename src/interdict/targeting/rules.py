"""Rule profiles as data: risk analysts' selection profiles, evaluated on consignments.

A profile (like an ERIAN profile or an ASYCUDA selectivity criterion) is a named condition
with a weight and, optionally, a lane it forces. Profiles are YAML written by the risk unit,
versioned with the reference data (kind ``targeting_rules``; the default set is
``reference/data/targeting/rules.yaml``) and read once into closures, so that scoring one
consignment costs microseconds and a 100,000-row file a fraction of a second.

Rule file
---------
::

    version_note: "Q3 precursor profiles"        # optional
    settings:                                    # optional
      min_unit_history: 10       # earlier unit values an HS code needs for unit_value_z
      unit_spread_floor: 0.1     # ln-units added in quadrature to that spread
    lists:                                       # optional named sets (quoted text)
      transit_risk: [PA, DO, TR]
    rules:
      - id: precursor-first-import               # unique, [a-z0-9-]+
        title: First declaration of an importer on a precursor HS code
        owner: NL customs risk unit
        weight: 0.45                             # 0 < w <= 1
        lane: red                                # optional forced lane: red|yellow|blue|green
        valid_from: 2026-01-01                   # optional
        valid_to: 2026-12-31                     # optional, inclusive
        kinds: [declaration, express, postal]    # optional; default all kinds
        note: why the profile exists             # optional
        when:                                    # a list: all must hold
          - field: hs_code
            in_list: precursor_hs
          - history: importer
            declared_at_most: 0

Field conditions: ``field: <name>`` and exactly one operator.

* Names: any consignment column (``frames.CONSIGNMENT``) except ``id``, ``fraud`` and
  ``critical`` (a rule reading the outcome it should predict would only fire in tests);
  derived ``unit_value`` (value / net_mass_kg; null unless the mass is > 0), ``unit_value_z``
  (z of ln(unit value) against the earlier unit values of the same HS code: mean and sample
  variance from the ``hs_code`` counter's sums, spread floor added in quadrature; null when
  the code has fewer than ``min_unit_history`` earlier values or the unit value is not > 0),
  ``hs_chapter`` / ``hs_heading`` (first 2 / 4 digits); and history metrics
  ``<key kind>.<metric>`` with metric ``n_declared``, ``n_labelled``, ``n_positive``,
  ``n_critical``, ``n_unit`` (0 for a key never seen), ``positive_rate`` (n_positive /
  n_labelled; null before any outcome), ``days_since_first``, ``days_since_last`` (null for a
  key never seen).
* Text fields: ``equals``, ``in`` / ``not_in`` (list), ``prefix`` (text or list: any),
  ``matches`` (regular expression; the *whole* value must match; checked when the file is
  read, in both Python's and Polars' dialects), ``in_list`` / ``not_in_list`` (a named set).
  Values must be quoted text, so that YAML keeps "090111" and office "40" as written.
* Numbers: ``equals``, ``in``, ``not_in``, ``above`` (>), ``below`` (<), ``between: [lo, hi]``
  (inclusive).
* ``route`` (the list of countries passed, departure first): ``includes`` (a country or a
  list: any) and ``includes_list`` (any country on a named set).
* Any field: ``is_null: true|false``.
* A condition on a null value is false, whatever the operator (``not_in`` too), except
  ``is_null``; ``not`` inverts that.

History conditions: ``history: <key kind>`` with one or more of (all must hold)
``declared_at_most`` / ``declared_at_least`` (n_declared), ``labelled_at_least``,
``positive_at_least``, ``critical_at_least`` (outcomes with critical = 2),
``positive_rate_above: r`` (n_positive / n_labelled > r, and at least ``min_labelled``
outcomes, default 3, so that one bad inspection does not brand a trader),
``seen_within_days: d`` (last declared at most d days before), ``not_seen_for_days: d`` (last
declared at least d days before: a dormant key that returns; false for a key never seen) and
``first_seen_within_days: d`` (a new key). A key kind is one the counter store keeps: a column
(importer, declarant, seller, courier, hs_code, origin_country, departure_country, office) or
a pair ("importer|hs_code", "seller|importer"...). A consignment whose key has a null part
(no seller) fails every history condition on that kind; a key never seen counts as zero.
Ages are measured from the consignment's ``declared_at`` (its own time when a file is
replayed), else from the evaluation time.

Combinators: ``any: [...]``, ``all: [...]``, ``not: {...}``.

Lists: a rule file's ``lists`` are defaults; lists the caller passes (national or restricted
reference data) *replace* a file list of the same name entirely, so that an agency can also
shorten a list, which merging could not do. A rule naming a list that neither provides is
refused when the evaluation context is built (``RuleSet.context``), with its line.

Validity: a rule fires only on evaluation dates (UTC) within ``valid_from`` .. ``valid_to``
and on consignments of its ``kinds`` (a consignment without a kind matches no rule).

Scores: rule weights and the model's probability combine by noisy-or,
``1 - (1 - p) * prod(1 - w)``: each source is an independent chance of catching the
consignment, so that two weak signals add up without ever exceeding 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from pydantic import ValidationError

from interdict.errors import FieldError, InvalidData
from interdict.targeting.features import Counter
from interdict.targeting.frames import CONSIGNMENT, COUNTER, KINDS, UTC_TIME
from interdict.targeting.rules_conditions import (
    AllNode,
    ListRef,
    Locate,
    Node,
    compile_condition,
)
from interdict.targeting.rules_fields import REF, CounterLike, Env, FrameCtx, key_expr, utc
from interdict.targeting.rules_spec import (
    LANES,
    RuleFile,
    RuleSettings,
    duplicate_ids,
    duplicate_keys,
    errors_of,
    line_of,
    load_yaml,
    path_of,
)

SHIPPED_RULES = Path(__file__).parents[1] / "reference" / "data" / "targeting" / "rules.yaml"
HIT_COLUMNS = ("rule_hits", "rule_score", "forced_lane", "forced_by")
_COUNTER_ATTRS = tuple(c for c in COUNTER if c not in ("key_kind", "key_value"))


class RuleFileError(InvalidData):
    """A rule file (or the lists it needs) was refused; ``errors`` name place and line."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    owner: str
    weight: float
    lane: str | None
    valid_from: date | None
    valid_to: date | None
    kinds: frozenset[str]              # every kind unless the file restricts it
    note: str
    condition: Node
    line: int

    def valid_on(self, day: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired, with the values it read and a line for the analyst."""

    rule_id: str
    title: str
    weight: float
    lane: str | None
    owner: str
    values: dict[str, Any]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "title": self.title, "weight": self.weight,
                "lane": self.lane, "owner": self.owner, "values": self.values,
                "detail": self.detail}


#: The history counter the rules read (a ``CounterLike``); the store's own type.
HistoryCounter = Counter


def counters_from_frame(frame: pl.DataFrame) -> dict[tuple[str, str], HistoryCounter]:
    """A ``COUNTER`` frame as the mapping ``evaluate_one`` reads."""
    return {(r["key_kind"], r["key_value"]): HistoryCounter(**{a: r[a] for a in _COUNTER_ATTRS})
            for r in frame.iter_rows(named=True)}


def _locator(root: yaml.Node | None) -> Locate:
    return lambda loc: line_of(root, loc) if root is not None else 0


class RuleSet:
    """The rules of one file, compiled; immutable, shareable between threads."""

    def __init__(self, spec: RuleFile, root: yaml.Node | None = None) -> None:
        locate = _locator(root)
        self.spec = spec
        self.settings: RuleSettings = spec.settings
        self.version_note = spec.version_note
        self.lists: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in spec.lists.items()}
        rules = []
        for i, r in enumerate(spec.rules):
            loc: tuple[str | int, ...] = ("rules", i, "when")
            children = [compile_condition(c, (*loc, j), locate) for j, c in enumerate(r.when)]
            rules.append(Rule(
                id=r.id, title=r.title, owner=r.owner, weight=r.weight, lane=r.lane,
                valid_from=r.valid_from, valid_to=r.valid_to,
                kinds=frozenset(r.kinds or KINDS), note=r.note,
                condition=AllNode(children), line=locate(("rules", i))))
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._list_refs = tuple(ref for r in self.rules for ref in r.condition.list_refs())
        self._list_names = frozenset(ref.name for ref in self._list_refs)
        self._active: dict[tuple[date, str | None], tuple[Rule, ...]] = {}

    def active(self, at: datetime, kind: str | None) -> list[Rule]:
        """Rules valid on ``at``'s UTC date that apply to consignments of ``kind``."""
        return list(self._active_rules(_utc_date(at), kind))

    def _active_rules(self, day: date, kind: str | None) -> tuple[Rule, ...]:
        key = (day, kind)
        found = self._active.get(key)
        if found is None:
            if len(self._active) > 256:   # dates move on; old entries are never asked again
                self._active.clear()
            found = tuple(r for r in self.rules if r.valid_on(day) and kind in r.kinds)
            self._active[key] = found
        return found

    def history_kinds(self) -> set[str]:
        """Key kinds whose counters the rules read (``unit_value_z`` reads ``hs_code``)."""
        return set().union(*(r.condition.kinds() for r in self.rules))

    def list_refs(self) -> list[ListRef]:
        return list(self._list_refs)

    def list_names(self) -> set[str]:
        """Names of the lists the rules use; the caller must supply those the file lacks."""
        return set(self._list_names)

    def context(self, lists: Mapping[str, Iterable[str]] | None = None) -> RuleContext:
        """The rules bound to their lists: the file's, replaced by the caller's by name."""
        merged = dict(self.lists)
        for name, values in (lists or {}).items():
            merged[name] = values if isinstance(values, frozenset) else frozenset(values)
        if not self._list_names.issubset(merged):
            missing = [ref for ref in self._list_refs if ref.name not in merged]
            known = ", ".join(sorted(merged)) or "none"
            raise RuleFileError(
                f"rules use lists nobody supplied: {sorted({m.name for m in missing})}",
                errors=[FieldError(m.path, f"line {m.line}: unknown list {m.name!r}; "
                                           f"lists: {known}") for m in missing])
        return RuleContext(self, merged)


def _utc_date(at: datetime) -> date:
    return utc(at).astimezone(UTC).date()


class RuleContext:
    """A rule set with its lists resolved: what evaluation runs on."""

    def __init__(self, ruleset: RuleSet, lists: Mapping[str, frozenset[str]]) -> None:
        self.ruleset = ruleset
        self.lists = lists

    def evaluate(self, row: Mapping[str, Any], counters: Mapping[tuple[str, str], CounterLike],
                 at: datetime) -> list[RuleHit]:
        """The rules that fire on one consignment (a dict with ``CONSIGNMENT`` keys)."""
        s = self.ruleset.settings
        env = Env(row, counters, self.lists, at, s.min_unit_history, s.unit_spread_floor)
        hits = []
        for rule in self.ruleset._active_rules(_utc_date(at), row.get("kind")):
            if rule.condition.test(env):
                values: dict[str, Any] = {}
                texts: list[str] = []
                rule.condition.explain(env, True, values, texts)
                hits.append(RuleHit(rule.id, rule.title, rule.weight, rule.lane, rule.owner,
                                    values, "; ".join(texts)))
        return hits

    def evaluate_frame(self, frame: pl.DataFrame, counters: pl.DataFrame | None,
                       at: datetime) -> pl.DataFrame:
        """``frame`` with ``HIT_COLUMNS`` added; every row sees the same ``counters``."""
        day = _utc_date(at)
        rules = tuple(r for r in self.ruleset.rules if r.valid_on(day))
        s = self.ruleset.settings
        kinds = sorted(set().union(*(r.condition.kinds() for r in rules)))
        prefix = {k: f"__h{i}_" for i, k in enumerate(kinds)}
        ctx = FrameCtx(self.lists, prefix, s.min_unit_history, s.unit_spread_floor)

        # Re-evaluating a scored frame replaces its hits; columns a partial frame lacks are
        # read as nulls and not added to the result.
        frame = frame.drop([c for c in HIT_COLUMNS if c in frame.columns])
        absent = [c for c in CONSIGNMENT if c not in frame.columns]
        helpers = [*absent, REF, *(f"{prefix[k]}{a}" for k in kinds
                                   for a in ("key", *_COUNTER_ATTRS))]
        lf = frame.lazy().with_columns(pl.lit(None, dtype=CONSIGNMENT[c]).alias(c) for c in absent)
        lf = lf.with_columns(
            pl.coalesce(pl.col("declared_at").cast(UTC_TIME), pl.lit(utc(at)).cast(UTC_TIME))
            .alias(REF),
            *(key_expr(k).alias(f"{prefix[k]}key") for k in kinds))
        if kinds:
            history = (counters if counters is not None else pl.DataFrame(schema=COUNTER)).lazy()
            history = history.select(pl.col(c).cast(t) for c, t in COUNTER.items())
            for k in kinds:
                p = prefix[k]
                right = history.filter(pl.col("key_kind") == k).select(
                    pl.col("key_value").alias(f"{p}key"),
                    *(pl.col(a).alias(f"{p}{a}") for a in _COUNTER_ATTRS))
                lf = lf.join(right, on=f"{p}key", how="left", validate="m:1",
                             maintain_order="left")

        # Hits are packed into bit masks per row; the few distinct masks of a batch are
        # summarised in Python (with evaluate_one's own functions) and joined back. Building
        # the id lists with Polars list expressions costs ten times as much.
        masks = []
        for first in range(0, len(rules), _MASK_BITS):
            bits = [(r.condition.expr(ctx) & pl.col("kind").is_in(sorted(r.kinds)).fill_null(False))
                    .cast(pl.UInt64) * pl.lit(1 << (i - first), dtype=pl.UInt64)
                    for i, r in enumerate(rules[first:first + _MASK_BITS], start=first)]
            masks.append(pl.sum_horizontal(bits).alias(f"__m{first // _MASK_BITS}"))
        try:
            out = lf.with_columns(masks).collect()
        except pl.exceptions.ComputeError as exc:
            if "join keys" in str(exc) or "validation" in str(exc):
                raise InvalidData("counters hold the same history key twice",
                                  errors=[FieldError("counters", str(exc))]) from exc
            raise
        names = [m.meta.output_name() for m in masks]
        out = out.drop(helpers)
        if not names:
            lane, by = forced_lane(())
            return out.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("rule_hits"),
                                    pl.lit(rule_score(())).alias("rule_score"),
                                    pl.lit(lane, dtype=pl.String).alias("forced_lane"),
                                    pl.lit(by, dtype=pl.String).alias("forced_by"))
        table = _hit_table(out.select(names).unique(), rules)
        return out.join(table, on=names, how="left", maintain_order="left").drop(names)


_MASK_BITS = 64


def _hit_table(masks: pl.DataFrame, rules: tuple[Rule, ...]) -> pl.DataFrame:
    """``HIT_COLUMNS`` for each distinct combination of hits (as bit masks)."""
    rows = []
    for combo in masks.iter_rows():
        hit = [r for i, r in enumerate(rules) if combo[i // _MASK_BITS] >> (i % _MASK_BITS) & 1]
        lane, by = _strongest((r.lane, r.id) for r in hit)
        rows.append((*combo, [r.id for r in hit], rule_score(r.weight for r in hit), lane, by))
    schema: dict[str, Any] = {**{n: pl.UInt64 for n in masks.columns},
                              "rule_hits": pl.List(pl.String),
                              "rule_score": pl.Float64, "forced_lane": pl.String,
                              "forced_by": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _strongest(forcing: Iterable[tuple[str | None, str]]) -> tuple[str | None, str | None]:
    """The highest-priority forced lane (red > yellow > blue > green) and the first rule in
    file order forcing it."""
    best: tuple[int, str, str] | None = None
    for lane, rule_id in forcing:
        if lane is not None and (best is None or LANES.index(lane) < best[0]):
            best = (LANES.index(lane), lane, rule_id)
    return (best[1], best[2]) if best else (None, None)


# --- API ---------------------------------------------------------------------------------


def parse_rules(text: str, *, source: str = "rule file") -> RuleSet:
    """Read and compile a rule file; ``RuleFileError`` lists every problem with its line."""
    try:
        doc, root = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError(f"{source}: not valid YAML at line {line}: {problem}",
                            errors=[FieldError("(file)", f"line {line}: {problem}")]) from exc
    if not isinstance(doc, dict):
        raise RuleFileError(f"{source}: a rule file is a mapping with a rules list",
                            errors=[FieldError("(file)", "line 1: expected a mapping with rules")])
    found = [(path_of(loc), line, f"duplicate key {loc[-1]!r}")
             for loc, line in duplicate_keys(root)]
    spec = None
    try:
        spec = RuleFile.model_validate(doc)
    except ValidationError as exc:
        found += errors_of(exc, root)
        raw = doc.get("rules")
        if isinstance(raw, list):  # ids are checked after the rest; report them anyway
            ids = [r.get("id") if isinstance(r, dict) else None for r in raw]
            found += [(path_of(loc), line_of(root, loc), msg) for loc, msg, _ in duplicate_ids(ids)]
    if found or spec is None:
        unique = sorted(set(found), key=lambda e: (e[1], e[0]))
        errors = [FieldError(path, f"line {line}: {reason}") for path, line, reason in unique]
        first = errors[0]
        raise RuleFileError(f"{source}: {len(errors)} problem(s); first: {first.field}: "
                            f"{first.reason}", errors=errors)
    return RuleSet(spec, root)


def load_rules(path: Path | str | None = None) -> RuleSet:
    """A rule file from disk; the shipped default profiles without a path."""
    p = Path(path) if path is not None else SHIPPED_RULES
    return parse_rules(p.read_text(encoding="utf-8"), source=str(p))


def evaluate_one(ruleset: RuleSet, row: Mapping[str, Any],
                 counters: Mapping[tuple[str, str], CounterLike],
                 lists: Mapping[str, Iterable[str]] | None, at: datetime) -> list[RuleHit]:
    """The rules that fire on one consignment, given the history before it.

    Binding the lists costs a few microseconds; callers scoring many rows one at a time may
    keep ``ruleset.context(lists)`` and call its ``evaluate``.
    """
    return ruleset.context(lists).evaluate(row, counters, at)


def evaluate_frame(ruleset: RuleSet, frame: pl.DataFrame, counters: pl.DataFrame | None,
                   lists: Mapping[str, Iterable[str]] | None, at: datetime) -> pl.DataFrame:
    """Rules over a batch that arrived together: every row sees the same history.

    Adds ``rule_hits`` (ids, file order), ``rule_score`` (1 - prod(1 - w) over hits),
    ``forced_lane`` (red > yellow > blue > green) and ``forced_by`` (the first rule in file
    order forcing that lane).
    """
    return ruleset.context(lists).evaluate_frame(frame, counters, at)


def forced_lane(hits: Iterable[RuleHit]) -> tuple[str | None, str | None]:
    """(lane, rule id) of the highest-priority lane forced by ``hits``, as ``evaluate_frame``."""
    return _strongest((h.lane, h.rule_id) for h in hits)


def rule_score(weights: Iterable[float]) -> float:
    """Noisy-or of rule weights: 1 - prod(1 - w)."""
    miss = 1.0
    for w in weights:
        miss = miss * (1.0 - w)
    return 1.0 - miss


def combine(model_probability: float | None, weights: Iterable[float]) -> float:
    """Noisy-or of the model's probability (0 when no model applies) and the rule weights."""
    p = 0.0 if model_probability is None else min(max(float(model_probability), 0.0), 1.0)
    return 1.0 - (1.0 - p) * (1.0 - rule_score(weights))


def combine_frame(frame: pl.DataFrame, *, probability: str = "model_probability",
                  rules: str = "rule_score", out: str = "score") -> pl.DataFrame:
    """``combine`` per row: ``out`` from a probability column (null: no model) and rule_score.

    A missing probability column counts as no model for every row.
    """
    p = pl.col(probability).cast(pl.Float64).clip(0.0, 1.0).fill_null(0.0) \
        if probability in frame.columns else pl.lit(0.0)
    r = pl.col(rules).cast(pl.Float64).fill_null(0.0)
    return frame.with_columns((1.0 - (1.0 - p) * (1.0 - r)).alias(out))
