"""The learned score: training, persistence, scoring one or many, calibration, explanations."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from interdict.targeting.features import (
    FEATURE_COLUMNS,
    RATE_COLUMNS,
    FeatureSettings,
    features_batch,
    history_from_frame,
)
from interdict.targeting.frames import read_kcs_csv
from interdict.targeting.model import (
    ModelSettings,
    Scorer,
    TrainedModel,
    labels_of,
    train,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "customs"
SMALL = ModelSettings(num_rounds=40, early_stopping_rounds=10, num_leaves=15)


def _read(split: str) -> pl.DataFrame:
    path = DATA / f"df_syn_{split}_eng.csv"
    assert path.exists(), f"shared data missing: {path}"
    return read_kcs_csv(str(path))


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return {s: _read(s) for s in ("train", "valid")}


@pytest.fixture(scope="module")
def model(frames: dict[str, pl.DataFrame]) -> TrainedModel:
    return train(frames["train"], frames["valid"], SMALL, FeatureSettings())


@pytest.fixture(scope="module")
def valid_features(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    prior = history_from_frame(frames["train"])
    return features_batch(frames["valid"].head(400), prior=prior)


def test_training_records_what_the_service_needs(model: TrainedModel) -> None:
    assert model.label == "fraud" and 1 <= model.best_iteration <= 40
    assert model.feature_names[: len(FEATURE_COLUMNS)] == list(FEATURE_COLUMNS)
    assert model.periods["train_first"].startswith("2020-01-01")
    assert model.periods["valid_last"].startswith("2021-03-31")
    m = model.metrics
    assert set(m["precision_at"]) == {"1", "2", "5", "10"} == set(m["recall_at"])
    assert m["auc"] > 0.85 and m["precision_at"]["5"] > 0.9
    assert 0 < m["brier"] < 0.25 and m["logloss"] < 0.5
    assert len(model.validation_deciles) == 11
    assert model.validation_deciles == sorted(model.validation_deciles)
    assert "office" in model.categorical and "importer" not in model.categorical


def test_model_survives_json(model: TrainedModel, valid_features: pl.DataFrame) -> None:
    again = TrainedModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.to_json() == model.to_json()
    np.testing.assert_array_equal(Scorer(again).score_frame(valid_features),
                                  Scorer(model).score_frame(valid_features))


def test_one_many_and_frame_scores_agree(model: TrainedModel,
                                         valid_features: pl.DataFrame) -> None:
    scorer = Scorer(model)
    frame_scores = scorer.score_frame(valid_features)
    rows = valid_features.head(50).to_dicts()
    one = np.array([scorer.score_one(r) for r in rows])
    np.testing.assert_allclose(one, frame_scores[:50], rtol=0, atol=1e-12)
    np.testing.assert_allclose(scorer.score_many(rows), one, rtol=0, atol=1e-12)
    assert scorer.score_frame(valid_features.head(0)).shape == (0,)


def test_unseen_categories_and_missing_values_still_score(model: TrainedModel,
                                                          valid_features: pl.DataFrame) -> None:
    scorer = Scorer(model)
    row: dict[str, Any] = valid_features.row(0, named=True)
    odd = {**row, "office": "NEVER-SEEN", "origin_country": "ZZ", "hs_chapter": None,
           "tax_rate": None, "importer_rate": None}
    p = scorer.score_one(odd)
    assert 0.0 <= p <= 1.0
    frame = pl.DataFrame([odd], schema=valid_features.schema)
    assert scorer.score_frame(frame)[0] == pytest.approx(p, abs=1e-12)
    assert 0.0 <= scorer.score_one({}) <= 1.0          # nothing known at all


def test_calibration_keeps_the_ranking(model: TrainedModel,
                                       valid_features: pl.DataFrame) -> None:
    scorer = Scorer(model)
    raw = scorer.raw_frame(valid_features)
    p = scorer.score_frame(valid_features)
    order = np.argsort(raw, kind="stable")
    steps_raw, steps_p = np.diff(raw[order]), np.diff(p[order])
    assert (steps_p >= 0).all()
    assert (steps_p[steps_raw > 1e-6] > 0).all()         # no two margins merged
    assert ((p >= 0) & (p <= 1)).all()


def test_score_never_falls_when_an_outcome_rate_rises(model: TrainedModel,
                                                      valid_features: pl.DataFrame) -> None:
    scorer = Scorer(model)
    rows = valid_features.head(30).to_dicts()
    for name in ("hs_code__departure_country__origin_country__tax_type_rate", "importer_crit"):
        assert name in RATE_COLUMNS
        for r in rows:
            base = scorer.raw_frame(pl.DataFrame([r], schema=valid_features.schema))[0]
            up = scorer.raw_frame(pl.DataFrame([{**r, name: 0.99}],
                                               schema=valid_features.schema))[0]
            assert up >= base - 1e-9


def test_explanations_add_up_to_the_margin(model: TrainedModel,
                                           valid_features: pl.DataFrame) -> None:
    scorer = Scorer(model)
    row = valid_features.row(3, named=True)
    top = scorer.explain_one(row, top=5)
    assert len(top) == 5
    sizes = [abs(c) for _, c, _ in top]
    assert sizes == sorted(sizes, reverse=True)
    assert all(value == row[name] for name, _, value in top)
    everything = scorer.explain_one(row, top=len(scorer.names))
    bias = scorer.raw_frame(valid_features[3])[0] - sum(c for _, c, _ in everything)
    other = valid_features.row(10, named=True)
    other_all = scorer.explain_one(other, top=len(scorer.names))
    assert scorer.raw_frame(valid_features[10])[0] == pytest.approx(
        bias + sum(c for _, c, _ in other_all), abs=1e-6)       # one expected margin
    batch = scorer.explain_frame(valid_features.slice(3, 1), top=5)[0]
    assert [(n, v) for n, _, v in batch] == [(n, v) for n, _, v in top]
    assert [c for _, c, _ in batch] == pytest.approx([c for _, c, _ in top], abs=1e-9)
    assert scorer.explain_frame(valid_features.head(0)) == []


def test_labels_of_fraud_critical_and_unknown() -> None:
    frame = pl.DataFrame({"fraud": [1, 0, None, 1], "critical": [2, 0, 2, 1]},
                         schema={"fraud": pl.Int8, "critical": pl.Int8})
    fraud = labels_of(frame, "fraud")
    assert fraud[:2].tolist() == [1.0, 0.0] and math.isnan(fraud[2]) and fraud[3] == 1.0
    critical = labels_of(frame, "critical")
    assert critical[:2].tolist() == [1.0, 0.0] and math.isnan(critical[2])
    assert critical[3] == 0.0


def test_critical_label_and_unlabelled_rows(frames: dict[str, pl.DataFrame]) -> None:
    rng = np.random.default_rng(0)
    tr = frames["train"]
    hidden = pl.Series(rng.random(tr.height) < 0.3)
    tr = tr.with_columns(pl.when(hidden).then(None).otherwise(pl.col("fraud")).alias("fraud"))
    model = train(tr, frames["valid"], SMALL.model_copy(update={"label": "critical"}))
    assert model.label == "critical" and model.metrics["auc"] > 0.8


