"""Exploration under drift: does inspecting a few declarations at random find what the model
cannot yet see?

A model learns from inspected declarations only, and inspections follow the model's score. A
smuggling pattern hidden in goods that history calls clean scores low, is not inspected and
stays unknown: the loop never learns it. Spending a share of inspection capacity on random
declarations can break the loop, at a price in hit rate. ``simulate_exploration`` measures
both sides on the KCS data with a planted pattern.

Scenario: rip-on/rip-off concealment. Traffickers hide drugs in the containers of legitimate,
established trade flows, without the traders knowing: the declarations look exactly as before
and only an inspection can tell. A *flow* is a goods profile, the history key
``hs_code|departure_country|origin_country|tax_type``. The flows used are established (at
least ``min_past`` past declarations) and clean (past fraud rate at most ``max_past_rate``,
never critical); the busiest of them in the month are taken until they carry ``coverage`` of
the month's declarations, and each of their clean declarations in the month is, with
probability ``pattern_rate``, a concealment (fraud = 1, critical = 2). Nothing but labels
changes, so no feature can reveal the pattern before an inspection does; after one does, the
flow's outcome counters can lift its later declarations into the top scores. The model is
trained as usual and not retrained during the month.

Why this and not a new importer or route: a new entity or route changes the declarations
themselves, and the models here already score young, suddenly busy goods profiles high (a
planted ring of new importers shipping one commodity from a new hub was mostly caught by
score alone, without exploration), so it would not measure exploration.

What to expect (measured with the defaults on the KCS data, critical model): random
inspections find about (random inspections) x (pattern prevalence) concealments, 0.2 a month
at share 0.1 for a pattern in 1.6 % of declarations; and one find barely moves an established
flow's outcome rate, since the counters are all-time sums (1 critical among 50 clean past
outcomes is a critical rate of 0.02), so finds are not amplified by the score either.
Exploration at these shares therefore costs hit rate without finding the pattern within a
month; recency-aware counters or exploration aimed at stale profiles would be needed.
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

#: The history key kind that defines a trade flow.
FLOW = ("hs_code", "departure_country", "origin_country", "tax_type")


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


def _flow() -> pl.Expr:
    return pl.concat_str([pl.col(c) for c in FLOW], separator="|")


def pick_flows(past: pl.DataFrame, window: pl.DataFrame, coverage: float,
               min_past: int = 20, max_past_rate: float = 0.1) -> list[str]:
    """Established clean flows, busiest in the window first (ties by key), until they carry
    ``coverage`` of the window's declarations."""
    history = past.group_by(_flow().alias("flow")).agg(
        pl.len().alias("n_past"), pl.col("fraud").cast(pl.Float64).mean().alias("rate"),
        (pl.col("critical") == 2).sum().alias("crit"))
    clean = history.filter((pl.col("n_past") >= min_past) & (pl.col("rate") <= max_past_rate)
                           & (pl.col("crit") == 0))
    busy = (window.group_by(_flow().alias("flow")).len()
            .join(clean, on="flow", how="inner")
            .sort(["len", "flow"], descending=[True, False]))
    chosen: list[str] = []
    carried = 0
    for flow, count in busy.select("flow", "len").iter_rows():
        if carried >= coverage * window.height:
            break
        chosen.append(str(flow))
        carried += int(count)
    if not chosen:
        raise ValueError("no established clean flow to plant a pattern in")
    return chosen


def plant_pattern(window: pl.DataFrame, flows: Sequence[str], rate: float,
                  seed: int) -> pl.DataFrame:
    """The window with concealments planted; column ``pattern`` marks them. Only the labels
    of clean declarations of ``flows`` change, each with probability ``rate``."""
    rng = np.random.default_rng([seed, 1])
    draw = pl.Series(rng.random(window.height) < rate)
    planted = _flow().is_in(list(flows)) & (pl.col("fraud") == 0) & pl.lit(draw)
    return window.with_columns(planted.fill_null(False).alias("pattern")).with_columns(
        pl.when(pl.col("pattern")).then(pl.lit(1, pl.Int8)).otherwise(pl.col("fraud"))
        .alias("fraud"),
        pl.when(pl.col("pattern")).then(pl.lit(2, pl.Int8)).otherwise(pl.col("critical"))
        .alias("critical"),
    )


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
                         days: int = 30, coverage: float = 0.03, pattern_rate: float = 0.5,
                         flows: Sequence[str] | None = None, repeats: int = 10,
                         model: TrainedModel | None = None,
                         progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Simulate ``days`` of operation from the test period's start with a planted pattern.

    The scenario is in the module doc. Each day ``capacity_rate`` of the day's declarations are
    inspected (fractions carried over between days): a ``1 - share`` part of them with the
    highest scores, a ``share`` part uniformly at random among the rest. Only inspected
    declarations reveal their outcome, ``outcome_delay_days`` later; every declaration is
    counted in the history. Scores come from ``model``, else from a model trained on
    train/valid with ``settings`` (default: the critical label, since the pattern is drugs),
    on top of the history after train and valid.

    Returns one dict per share: inspections, random_inspections, frauds_found, hit_rate,
    critical_found, pattern_planted, pattern_found (and of them found by score rather than at
    random), pattern_recall, flows, and ``weeks`` (the same per week of the month, with
    pattern_planted). Figures are means over ``repeats`` random draws (one for share 0, which
    draws nothing; the same draws for every share). The same ``seed`` gives the same result.
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
    chosen = list(flows) if flows else pick_flows(past, window, coverage)
    window = plant_pattern(window, chosen, pattern_rate, seed)
    planted = window.filter(pl.col("pattern"))
    weeks_planted = ((planted["declared_at"] - first).dt.total_days() // 7).value_counts()
    planted_by_week = dict(zip(weeks_planted[:, 0].to_list(), weeks_planted[:, 1].to_list(),
                               strict=True))
    by_day: list[list[dict[str, Any]]] = []
    for r in window.to_dicts():
        if by_day and by_day[-1][0]["declared_at"] == r["declared_at"]:
            by_day[-1].append(r)
        else:
            by_day.append([r])
    say(f"{planted.height} concealments planted in {len(chosen)} flows, "
        f"{window.height} declarations")
    results = []
    for share in shares:
        runs = 1 if share == 0 else repeats
        tallies = [_run(by_day, prior, scorer, fs, capacity_rate, share,
                        np.random.default_rng([seed, 2, r])) for r in range(runs)]
        results.append({**_summary(share, tallies, planted.height, planted_by_week, days),
                        "flows": chosen})
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
