"""Ranking metrics, the time-split evaluation against the target, and the drift simulation."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from interdict.targeting import drift
from interdict.targeting.evaluation import auc, evaluate, precision_recall_at, top_order
from interdict.targeting.features import features_batch, history_from_frame
from interdict.targeting.frames import read_kcs_csv
from interdict.targeting.model import ModelSettings, train

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "customs"


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    out = {}
    for split in ("train", "valid", "test"):
        path = DATA / f"df_syn_{split}_eng.csv"
        assert path.exists(), f"shared data missing: {path}"
        out[split] = read_kcs_csv(str(path))
    return out


def test_precision_and_recall_use_the_floor_of_n_percent() -> None:
    scores = np.linspace(1, 0, 250)                 # row i ranks i-th
    labels = np.zeros(250)
    labels[[0, 1, 3, 7, 30]] = 1
    got = precision_recall_at(scores, labels)
    # k = floor(n% x 250) = 2, 5, 12, 25
    assert got["precision_at"] == {"1": 1.0, "2": 3 / 5, "5": 4 / 12, "10": 4 / 25}
    assert got["recall_at"] == {"1": 2 / 5, "2": 3 / 5, "5": 4 / 5, "10": 4 / 5}
    assert math.isnan(precision_recall_at([0.5], [1.0], [10])["precision_at"]["10"])
    assert math.isnan(precision_recall_at([0.5, 0.2], [0.0, 0.0], [50])["recall_at"]["50"])


def test_ties_are_broken_by_row_order_and_unknown_labels_left_out() -> None:
    assert top_order([0.5, 0.9, 0.5, np.nan, 0.9]).tolist() == [1, 4, 0, 2, 3]
    assert precision_recall_at([0.3] * 100, [1.0] + [0.0] * 99, [1])["precision_at"]["1"] == 1
    assert precision_recall_at([0.3] * 100, [0.0, 1.0] + [0.0] * 98, [1])["precision_at"]["1"] \
        == 0
    # The unknown row would be first; it is dropped and N is 100, not 101.
    got = precision_recall_at([1.0] + [0.5] * 100, [np.nan, 1.0] + [0.0] * 99, [1])
    assert got["precision_at"]["1"] == 1.0 and got["recall_at"]["1"] == 1.0


def test_auc_is_the_probability_of_ranking_a_positive_first() -> None:
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 10, 60).astype(float)       # many ties
    labels = (rng.random(60) < 0.3).astype(float)
    pairs = [(s1 > s0) + 0.5 * (s1 == s0)
             for (s1, y1), (s0, y0) in itertools.product(zip(scores, labels, strict=True),
                                                          repeat=2) if y1 == 1 and y0 == 0]
    assert auc(scores, labels) == pytest.approx(float(np.mean(pairs)))
    assert auc([1, 2, 3], [0, 1, 1]) == 1.0 and auc([3, 2, 1], [0, 1, 1]) == 0.0
    assert math.isnan(auc([1, 2], [1, 1]))


def test_evaluate_meets_the_target_on_the_test_quarter(frames: dict[str, pl.DataFrame]
                                                        ) -> None:
    result = evaluate(frames["train"], frames["valid"], frames["test"], label="fraud")
    assert result["label"] == "fraud" and result["n_test"] == 8481
    assert result["precision_at"]["5"] >= 0.93
    assert result["precision_at"]["10"] >= 0.87
    assert result["auc"] > 0.88  # training time is a benchmark figure, not asserted here
    with pytest.raises(ValueError, match="label"):
        evaluate(frames["train"], frames["valid"], frames["test"], label="revenue")


def test_the_planted_pattern_changes_labels_only(frames: dict[str, pl.DataFrame]) -> None:
    past = pl.concat([frames["train"], frames["valid"]])
    test = frames["test"]
    window = test.filter(pl.col("declared_at") < dt.datetime(2021, 4, 15, tzinfo=dt.UTC))
    flows = drift.pick_flows(past, window, coverage=0.03)
    planted = drift.plant_pattern(window, flows, rate=0.5, seed=4)
    changed = planted.filter(pl.col("pattern"))
    assert changed.height > 0
    assert (changed["fraud"] == 1).all() and (changed["critical"] == 2).all()
    blind = [f.with_columns(pl.lit(None, pl.Int8).alias("fraud")) for f in (window, planted)]
    prior = history_from_frame(past)
    assert features_batch(blind[0], prior=prior).equals(features_batch(blind[1], prior=prior))
    assert drift.plant_pattern(window, flows, 0.5, 4).equals(planted)


def test_exploration_simulation_is_deterministic(frames: dict[str, pl.DataFrame]) -> None:
    model = train(frames["train"], frames["valid"],
                  ModelSettings(label="critical", num_rounds=20, num_leaves=7))

    def simulate() -> list[dict[str, Any]]:
        return drift.simulate_exploration(frames["train"], frames["valid"], frames["test"],
                                          shares=(0.0, 0.2), days=7, repeats=2, model=model,
                                          seed=5)

    first = simulate()
    assert first == simulate()
    none, some = first
    assert none["random_inspections"] == 0 and some["random_inspections"] > 0
    week_days = frames["test"].filter(
        pl.col("declared_at") < dt.datetime(2021, 4, 8, tzinfo=dt.UTC)).height
    assert none["inspections"] == pytest.approx(0.05 * week_days, abs=1)
    assert none["inspections"] == some["inspections"]
    for r in first:
        assert 0 <= r["pattern_found_by_score"] <= r["pattern_found"] <= r["pattern_planted"]
        assert sum(w["pattern_planted"] for w in r["weeks"]) == r["pattern_planted"]
        assert sum(w["inspections"] for w in r["weeks"]) == r["inspections"]
