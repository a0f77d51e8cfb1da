"""Exploration under drift: does inspecting a few declarations at random find what the model
cannot yet see?

A model learns from inspected declarations only, and inspections follow the model's score. A
smuggling pattern that starts on goods the history calls clean therefore scores low, is not
inspected, and stays unknown: the loop never learns it. Spending a small share of inspection
capacity on random declarations breaks the loop at a price in hit rate. ``simulate_exploration``
measures both sides on the KCS data with a planted pattern.

Scenario (documented in ``simulate_exploration``): a trafficking group starts concealing drugs
in shipments of the commodity chapter that history shows as the least risky among the busy
ones (at least ``min_chapter_share`` of the month's declarations). From the first test day on,
every clean declaration of that chapter becomes, independently with probability
``pattern_rate``, a concealment (fraud = 1, critical = 2). Nothing of this is in train or
valid; the model is trained as usual and not retrained during the month, but the history
counters learn from every inspection outcome (after the outcome delay), which is how a few
random finds can lift the chapter's codes and goods profiles into the model's top scores.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from interdict.targeting import model as learned
from interdict.targeting.features import (
    FeatureSettings,
    History,
    features_one,
    history_from_frame,
)
from interdict.targeting.model import ModelSettings, Scorer, TrainedModel


@dataclass
class _Tally:
    """What one simulated month found; per week in ``weeks``."""

    inspections: int = 0
    random_inspections: int = 0
    frauds_found: int = 0
    critical_found: int = 0
    pattern_found: int = 0
    pattern_found_by_score: int = 0
    weeks: dict[int, dict[str, int]] = field(default_factory=dict)

    def week(self, w: int) -> dict[str, int]:
        return self.weeks.setdefault(w, {"inspections": 0, "frauds_found": 0,
                                         "pattern_found": 0, "pattern_found_by_score": 0})


@dataclass(frozen=True)
class Ring:
    """The planted pattern: who ships what, by which route (see ``simulate_exploration``)."""

    hs_code: str
    tax_type: str | None
    hub: str
    seller: str = "RING0SELLER"
    importers: tuple[str, ...] = ("RING0IMP1", "RING0IMP2", "RING0IMP3")


def pick_ring(past: pl.DataFrame, window: pl.DataFrame, min_share: float = 0.01) -> Ring:
    """The ring's goods: the most declared HS code of the least risky busy chapter (past fraud
    rate, ties by code, at least ``min_share`` of the window), under its usual tariff type,
    shipped from the busiest past departure country that never shipped that chapter."""
    chapter = pl.col("hs_code").str.slice(0, 2)
    busy = (window.group_by(chapter.alias("ch")).len()
            .filter(pl.col("len") >= min_share * window.height))
    rate = past.group_by(chapter.alias("ch")).agg(
        pl.col("fraud").cast(pl.Float64).mean().alias("rate"))
    ranked = busy.join(rate, on="ch", how="inner").sort(["rate", "ch"])
    if ranked.is_empty():
        raise ValueError("no chapter is busy enough to plant a pattern in")
    ch = str(ranked["ch"][0])
    goods = past.filter(chapter == ch)
    hs = str(goods.group_by("hs_code").len().sort(["len", "hs_code"], descending=[True, False])
             ["hs_code"][0])
    tax = (goods.filter(pl.col("hs_code") == hs).group_by("tax_type").len().drop_nulls()
           .sort(["len", "tax_type"], descending=[True, False]))
    hubs = (past.filter(~pl.col("departure_country").is_in(
        goods["departure_country"].drop_nulls().implode()))
        .group_by("departure_country").len().drop_nulls()
        .sort(["len", "departure_country"], descending=[True, False]))
    return Ring(hs_code=hs, tax_type=str(tax["tax_type"][0]) if tax.height else None,
                hub=str(hubs["departure_country"][0]) if hubs.height else "XX")


#: What a ring declaration takes from a past declaration of the ring's goods (the goods line
#: stays self-consistent: price, mass, tariff and procedure of that commodity).
_GOODS = ("import_type", "import_use", "payment_type", "transport_mode", "courier", "hs_code",
          "tax_rate", "tax_type", "origin_indicator", "net_mass_kg", "value")


def plant_ring(window: pl.DataFrame, past: pl.DataFrame, ring: Ring, coverage: float,
               seed: int) -> pl.DataFrame:
    """The window with the ring planted; column ``pattern`` marks its declarations.

    Each clean declaration becomes, with probability ``coverage``, one of the ring's: it keeps
    its date, office, declarant and procedure, takes its goods line from a random past
    declaration of the ring's HS code and tariff type, ships from the hub (origin and
    departure), from the ring's seller to one of its importers, and is critical fraud.
    """
    rng = np.random.default_rng([seed, 1])
    n = window.height
    ringed = np.asarray((window["fraud"] == 0).fill_null(False).to_numpy()
                        & (rng.random(n) < coverage))
    goods = past.filter((pl.col("hs_code") == ring.hs_code)
                        & pl.col("tax_type").eq_missing(ring.tax_type))
    if goods.is_empty():
        raise ValueError(f"no past declaration of {ring.hs_code} to copy goods from")
    at = np.flatnonzero(ringed)
    template = goods[rng.integers(0, goods.height, len(at)).tolist()]
    importers = np.asarray(ring.importers)[rng.integers(0, len(ring.importers), len(at))]
    planted = template.select(_GOODS).with_columns(
        pl.lit(1, pl.Int8).alias("fraud"), pl.lit(2, pl.Int8).alias("critical"),
        pl.lit(ring.hub).alias("departure_country"), pl.lit(ring.hub).alias("origin_country"),
        pl.concat_list(pl.lit(ring.hub)).alias("route"), pl.lit(ring.seller).alias("seller"),
        pl.Series("importer", importers.tolist(), dtype=pl.String))
    out = window.with_columns(pl.Series("pattern", ringed))
    rows = out.filter(pl.col("pattern"))
    rows = rows.with_columns(planted.select(pl.col(c).cast(out.schema[c]) for c in planted.columns))
    return pl.concat([out.filter(~pl.col("pattern")), rows]).sort(
        "declared_at", maintain_order=True)


def _run(days: list[list[dict[str, Any]]], prior: History, scorer: Scorer,
         fs: FeatureSettings, capacity_rate: float, share: float,
         rng: np.random.Generator) -> _Tally:
    """One month: each day score, inspect top and random, reveal outcomes after the delay."""
    history = prior.branch()
    delay = dt.timedelta(days=fs.outcome_delay_days)
    start = days[0][0]["declared_at"]
    tally = _Tally()
    pending: list[dict[str, Any]] = []
    capacity = explore = 0.0          # budgets carried over so that fractions add up
    for rows in days:
        t = rows[0]["declared_at"]
        due = [r for r in pending if r["declared_at"] + delay <= t and r["declared_at"] < t]
        pending = [r for r in pending if not (r["declared_at"] + delay <= t
                                              and r["declared_at"] < t)]
        for r in due:
            history.observe_outcome(r, r["fraud"], r["critical"])
        scores = scorer.score_many([features_one(r, history, fs) for r in rows])
        capacity += capacity_rate * len(rows)
        k = min(int(math.floor(capacity + 1e-9)), len(rows))
        capacity -= k
        explore += share * k
        n_random = min(int(math.floor(explore + 1e-9)), k)
        explore -= n_random
        order = np.argsort(-scores, kind="stable")
        by_score = order[: k - n_random]
        rest = order[k - n_random:]
        at_random = rng.choice(rest, size=n_random, replace=False) if n_random else rest[:0]
        week = tally.week((t - start).days // 7)
        for idx, random_pick in [(int(i), False) for i in by_score] + \
                                [(int(i), True) for i in at_random]:
            r = rows[idx]
            tally.inspections += 1
            tally.random_inspections += random_pick
            week["inspections"] += 1
            if r["fraud"] == 1:
                tally.frauds_found += 1
                week["frauds_found"] += 1
            tally.critical_found += r["critical"] == 2
            if r["pattern"]:
                tally.pattern_found += 1
                week["pattern_found"] += 1
                if not random_pick:
                    tally.pattern_found_by_score += 1
                    week["pattern_found_by_score"] += 1
            pending.append(r)
        for r in rows:
            history.observe_declaration(r)
    return tally


def simulate_exploration(train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame,
                         shares: Sequence[float] = (0.0, 0.02, 0.05, 0.1),
                         capacity_rate: float = 0.05, seed: int = 0,
                         settings: ModelSettings | None = None,
                         feature_settings: FeatureSettings | None = None, *,
                         days: int = 30, coverage: float = 0.03, ring: Ring | None = None,
                         repeats: int = 10, model: TrainedModel | None = None,
                         progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Simulate ``days`` of operation from the test period's start with a planted pattern.

    The scenario is in the module doc. Each day ``capacity_rate`` of the day's declarations are
    inspected (fractions carried over between days): a ``1 - share`` part of them with the
    highest scores, a ``share`` part uniformly at random among the rest. Only inspected
    declarations reveal their outcome, ``outcome_delay_days`` later; every declaration is
    counted in the history. Scores come from the model trained on train/valid (or ``model``)
    on top of the history after train and valid.

    Returns one dict per share: inspections, random_inspections, frauds_found, hit_rate,
    critical_found, pattern_planted, pattern_found (and of them found by score rather than at
    random), pattern_recall, and ``weeks`` (the same per week of the month, with
    pattern_planted). Figures are means over ``repeats`` random draws (one for share 0, which
    draws nothing). The same ``seed`` gives the same result.
    """
    say = progress or (lambda _msg: None)
    fs = feature_settings or (model.feature_settings if model else FeatureSettings())
    if model is None:
        say("training the model on train/valid")
        model = learned.train(train, valid, settings or ModelSettings(label="critical"), fs)
    scorer = Scorer(model)
    past = pl.concat([train, valid], how="vertical_relaxed")
    prior = history_from_frame(past)
    first = test["declared_at"].min()
    assert isinstance(first, dt.datetime)
    window = (test.filter(pl.col("declared_at") < first + dt.timedelta(days=days))
              .sort("declared_at", maintain_order=True))
    ring = ring or pick_ring(past, window)
    window = plant_ring(window, past, ring, coverage, seed)
    planted = window.filter(pl.col("pattern"))
    weeks_planted = ((planted["declared_at"] - first).dt.total_days() // 7).value_counts()
    planted_by_week = dict(zip(weeks_planted[:, 0].to_list(), weeks_planted[:, 1].to_list(),
                               strict=True))
    rows = window.to_dicts()
    by_day: list[list[dict[str, Any]]] = []
    for r in rows:
        if by_day and by_day[-1][0]["declared_at"] == r["declared_at"]:
            by_day[-1].append(r)
        else:
            by_day.append([r])
    say(f"ring {ring.hs_code} from {ring.hub}: {planted.height} concealments planted in "
        f"{window.height} declarations")
    results = []
    for share in shares:
        runs = 1 if share == 0 else repeats
        tallies = [_run(by_day, prior, scorer, fs, capacity_rate, share,
                        np.random.default_rng([seed, 2, r])) for r in range(runs)]
        results.append({**_summary(share, tallies, planted.height, planted_by_week, days),
                        "ring": {"hs_code": ring.hs_code, "hub": ring.hub,
                                 "tax_type": ring.tax_type}})
        say(f"share {share}: {results[-1]['pattern_found']:.1f} of {planted.height} found, "
            f"hit rate {results[-1]['hit_rate']:.3f}")
    return results


def _summary(share: float, tallies: list[_Tally], n_planted: int,
             planted_by_week: dict[int, int], days: int) -> dict[str, Any]:
    def mean(values: Sequence[float]) -> float:
        return float(np.mean(values))

    found = mean([t.pattern_found for t in tallies])
    inspections = mean([t.inspections for t in tallies])
    frauds = mean([t.frauds_found for t in tallies])
    weeks = []
    for w in sorted({w for t in tallies for w in t.weeks} | set(planted_by_week)):
        week: dict[str, Any] = {"week": w + 1, "pattern_planted": planted_by_week.get(w, 0)}
        for name in ("inspections", "frauds_found", "pattern_found", "pattern_found_by_score"):
            week[name] = mean([t.weeks.get(w, {}).get(name, 0) for t in tallies])
        weeks.append(week)
    return {
        "share": share, "days": days, "repeats": len(tallies),
        "inspections": inspections,
        "random_inspections": mean([t.random_inspections for t in tallies]),
        "frauds_found": frauds,
        "hit_rate": frauds / inspections if inspections else math.nan,
        "critical_found": mean([t.critical_found for t in tallies]),
        "pattern_planted": n_planted,
        "pattern_found": found,
        "pattern_found_by_score": mean([t.pattern_found_by_score for t in tallies]),
        "pattern_recall": found / n_planted if n_planted else math.nan,
        "weeks": weeks,
    }
