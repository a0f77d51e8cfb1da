"""The learned score: LightGBM on time-aware history features, calibrated, explainable.

``train`` fits a booster on one period (train) and stops early on the next (valid), then maps
its raw margins to calibrated probabilities by isotonic regression on valid. The booster is
*not* refitted on train + valid: a refit would need a fresh calibration set that does not
exist, and the valid period still reaches the model at scoring time through the history
counters (the service continues from ``history_from_frame(concat([train, valid]))``).

The model sees numeric features as they are and categorical columns as integer codes with
LightGBM's native categorical splits. Codes come from the training period; a value never
seen there (or too rare) gets a code that no split contains, so it scores like any other
unseen category instead of failing.

``TrainedModel`` is plain JSON (the booster is its text dump) so that the service keeps it in a
database row; ``Scorer`` loads it once and scores frames, single consignments and explains.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import isotonic_regression

from interdict.targeting import evaluation
from interdict.targeting.features import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    RATE_COLUMNS,
    FeatureSettings,
    FeatureValue,
    features_batch,
)

FloatArray = npt.NDArray[np.float64]
Label = Literal["fraud", "critical"]

#: Calibrated probabilities stay this far from 0 and 1: an isotonic block of valid rows that
#: were all fraud (or all clean) does not make a later mistake infinitely costly.
_PROB_EPS = 1e-4
#: Weight of the raw-margin term added to calibrated probabilities. Isotonic regression is a
#: step function; without this term it would merge the ranks of every consignment in a step,
#: and ranking (who is inspected first) is what the score is for. At 1e-7 it never moves a
#: probability visibly.
_TIE_BREAK = 1e-7


class ModelSettings(BaseModel):
    """LightGBM and calibration parameters; defaults are the ones measured in docs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Label = "fraud"                  # "critical" learns critical == 2
    objective: Literal["binary"] = "binary"
    num_leaves: int = Field(default=31, ge=2)
    #: Shallow trees: as accurate here, and prediction and SHAP explanations (cost ~ depth^2)
    #: several times faster than the depth-10 to 16 trees LightGBM grows unbounded.
    max_depth: int = Field(default=6, ge=-1)
    learning_rate: float = Field(default=0.1, gt=0)
    num_rounds: int = Field(default=2000, ge=1)           # upper bound; early stopping decides
    early_stopping_rounds: int = Field(default=100, ge=1)
    min_data_in_leaf: int = Field(default=50, ge=1)
    feature_fraction: float = Field(default=0.7, gt=0, le=1)
    bagging_fraction: float = Field(default=0.8, gt=0, le=1)
    bagging_freq: int = Field(default=1, ge=0)
    lambda_l2: float = Field(default=0.0, ge=0)
    cat_smooth: float = Field(default=10.0, ge=0)
    max_cat_to_onehot: int = Field(default=4, ge=1)
    seed: int = 1
    #: One thread: LightGBM's OpenMP threads spin-wait between boosting rounds, and on a
    #: server whose cores are busy a second thread made training many times slower.
    num_threads: int = Field(default=1, ge=1)
    #: A category seen fewer times in the training period is coded as unseen.
    min_category_count: int = Field(default=5, ge=1)
    #: Keep the score non-decreasing in every smoothed outcome rate. Without it, rates far
    #: above anything seen in training (a newly found ring whose every inspection is a hit)
    #: fall into sparse leaves and can *lower* the score, which is exactly wrong under drift.
    monotone_rates: bool = True

    def lgb_params(self) -> dict[str, Any]:
        return {
            "objective": self.objective, "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate, "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction, "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2, "cat_smooth": self.cat_smooth,
            "max_cat_to_onehot": self.max_cat_to_onehot, "seed": self.seed,
            "deterministic": True, "force_row_wise": True,
            "num_threads": self.num_threads, "verbose": -1,
        }


@dataclass
class TrainedModel:
    """Everything needed to score, JSON-safe through ``to_json``/``from_json``."""

    booster: str                              # LightGBM text dump
    feature_names: list[str]                  # model column order: numeric, then categorical
    categorical: dict[str, dict[str, int]]    # column -> value -> code (unknown: len(map))
    calibration_x: list[float]                # raw margins (isotonic block centres), increasing
    calibration_y: list[float]                # calibrated probability at each centre
    label: Label
    periods: dict[str, str]                   # train_first/train_last/valid_first/valid_last
    metrics: dict[str, Any]                   # on valid (calibration was fitted there too)
    settings: ModelSettings
    feature_settings: FeatureSettings
    best_iteration: int = 0
    train_seconds: float = 0.0
    #: Deciles (0, 10, ..., 100 %) of the calibrated valid scores: the reference distribution
    #: for drift reports.
    validation_deciles: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "booster": self.booster, "feature_names": self.feature_names,
            "categorical": self.categorical, "calibration_x": self.calibration_x,
            "calibration_y": self.calibration_y, "label": self.label, "periods": self.periods,
            "metrics": self.metrics, "settings": self.settings.model_dump(mode="json"),
            "feature_settings": self.feature_settings.model_dump(mode="json"),
            "best_iteration": self.best_iteration, "train_seconds": self.train_seconds,
            "validation_deciles": self.validation_deciles, "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainedModel:
        return cls(
            booster=data["booster"], feature_names=list(data["feature_names"]),
            categorical={c: dict(m) for c, m in data["categorical"].items()},
            calibration_x=[float(x) for x in data["calibration_x"]],
            calibration_y=[float(y) for y in data["calibration_y"]],
            label=data["label"], periods=dict(data["periods"]), metrics=dict(data["metrics"]),
            settings=ModelSettings.model_validate(data["settings"]),
            feature_settings=FeatureSettings.model_validate(data["feature_settings"]),
            best_iteration=int(data.get("best_iteration", 0)),
            train_seconds=float(data.get("train_seconds", 0.0)),
            validation_deciles=[float(x) for x in data.get("validation_deciles", [])],
            extra=dict(data.get("extra", {})),
        )


# ---------------------------------------------------------------------------------------------
# Encoding and calibration


def labels_of(frame: pl.DataFrame, label: Label) -> npt.NDArray[np.float64]:
    """1.0 / 0.0 per row, NaN where the row has no inspection outcome."""
    fraud = frame["fraud"].cast(pl.Int64)
    if label == "fraud":
        y = fraud == 1
    else:
        y = (frame["critical"].cast(pl.Int64) == 2).fill_null(False) & fraud.is_not_null()
    out = y.cast(pl.Float64).to_numpy().astype(np.float64)
    out[fraud.is_null().to_numpy()] = np.nan
    return out


def _category_maps(features: pl.DataFrame, min_count: int) -> dict[str, dict[str, int]]:
    """Codes by descending frequency (then value, for determinism) of the training rows."""
    maps: dict[str, dict[str, int]] = {}
    for col in CATEGORICAL_COLUMNS:
        counts = (features.group_by(col).len().drop_nulls(col)
                  .filter(pl.col("len") >= min_count)
                  .sort(["len", col], descending=[True, False]))
        maps[col] = {v: i for i, v in enumerate(counts[col].to_list())}
    return maps


def _matrix(features: pl.DataFrame, names: Sequence[str],
            maps: Mapping[str, Mapping[str, int]]) -> FloatArray:
    """Model matrix (rows x names) of float64: nulls are NaN, categories their codes."""
    exprs = []
    for name in names:
        if name in maps:
            m = maps[name]
            col = pl.col(name).cast(pl.String)
            exprs.append(pl.when(col.is_null()).then(None).otherwise(
                col.replace_strict(list(m), list(m.values()), default=len(m),
                                   return_dtype=pl.Float64)).alias(name))
        else:
            exprs.append(pl.col(name).cast(pl.Float64))
    return features.select(exprs).to_numpy().astype(np.float64, copy=False)


def _fit_isotonic(raw: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Isotonic map from raw margin to probability: block centres and block rates."""
    uniq, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=y, minlength=len(uniq))
    res = isotonic_regression(sums / counts, weights=counts)
    blocks = np.asarray(res.blocks)
    w = uniq * counts
    centres = np.add.reduceat(w, blocks[:-1]) / np.add.reduceat(counts, blocks[:-1])
    rates = np.asarray(res.x)[blocks[:-1]]
    return centres.astype(np.float64), np.clip(rates, _PROB_EPS, 1 - _PROB_EPS)


def calibrate(raw: FloatArray, xs: FloatArray, ys: FloatArray) -> FloatArray:
    """Calibrated probability of raw margins: interpolated isotonic map plus a tie-break."""
    p = np.interp(raw, xs, ys) + _TIE_BREAK * (raw / (1.0 + np.abs(raw)))
    return np.clip(p, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Training


def _period(frame: pl.DataFrame) -> tuple[str, str]:
    t = frame["declared_at"]
    lo, hi = t.min(), t.max()
    assert isinstance(lo, datetime) and isinstance(hi, datetime)
    return lo.isoformat(), hi.isoformat()


def train(train: pl.DataFrame, valid: pl.DataFrame, settings: ModelSettings | None = None,
          feature_settings: FeatureSettings | None = None,
          progress: Callable[[str], None] | None = None) -> TrainedModel:
    """Fit on ``train``, stop early and calibrate on ``valid`` (the period after it).

    Features of both come from one time-aware pass over train then valid, so that valid rows
    see train's whole history plus valid's own earlier rows, with outcomes after the delay:
    the same as ``prior=history_from_frame(train)`` when valid starts at least a delay later,
    and exact for any delay. Rows without an outcome count in the history but are not fitted.
    """
    ms = settings or ModelSettings()
    fs = feature_settings or FeatureSettings()
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    if train.is_empty() or valid.is_empty():
        raise ValueError("train and valid must both have rows")
    both = pl.concat([train, valid], how="vertical_relaxed")
    say(f"features for {both.height} rows")
    feats = features_batch(both, fs)
    names = list(FEATURE_COLUMNS) + list(CATEGORICAL_COLUMNS)
    n_train = train.height
    maps = _category_maps(feats.head(n_train), ms.min_category_count)
    x = _matrix(feats, names, maps)
    y = labels_of(both, ms.label)
    tr = np.flatnonzero(~np.isnan(y[:n_train]))
    va = n_train + np.flatnonzero(~np.isnan(y[n_train:]))
    if not len(tr) or not len(va):
        raise ValueError("train and valid need labelled rows")
    say(f"fitting on {len(tr)} rows, stopping on {len(va)}")
    params = ms.lgb_params()
    if ms.monotone_rates:
        params["monotone_constraints"] = [int(n in RATE_COLUMNS) for n in names]
    dtrain = lgb.Dataset(x[tr], y[tr], feature_name=names,
                         categorical_feature=list(CATEGORICAL_COLUMNS), params=params,
                         free_raw_data=True)
    dvalid = lgb.Dataset(x[va], y[va], reference=dtrain)
    booster = lgb.train(params, dtrain, num_boost_round=ms.num_rounds, valid_sets=[dvalid],
                        callbacks=[lgb.early_stopping(ms.early_stopping_rounds, verbose=False)])
    best = int(booster.best_iteration) or ms.num_rounds
    raw = np.asarray(booster.predict(x[va], num_iteration=best, raw_score=True),
                     dtype=np.float64)
    xs, ys = _fit_isotonic(raw, y[va])
    p = calibrate(raw, xs, ys)
    metrics: dict[str, Any] = {"n_valid": len(va), "best_iteration": best,
                               **evaluation.score_metrics(p, y[va])}
    say(f"best iteration {best}; valid auc {metrics['auc']:.4f}")
    tf, tl = _period(train)
    vf, vl = _period(valid)
    return TrainedModel(
        booster=booster.model_to_string(num_iteration=best), feature_names=names,
        categorical=maps, calibration_x=xs.tolist(), calibration_y=ys.tolist(),
        label=ms.label,
        periods={"train_first": tf, "train_last": tl, "valid_first": vf, "valid_last": vl},
        metrics=metrics, settings=ms, feature_settings=fs, best_iteration=best,
        train_seconds=round(time.perf_counter() - started, 3),
        validation_deciles=np.quantile(p, np.linspace(0, 1, 11)).tolist(),
    )


# ---------------------------------------------------------------------------------------------
# Scoring


#: Rows from which a frame is predicted on every core.
BATCH_THREADS_FROM = 20_000


class Scorer:
    """Scores and explains with one loaded booster (thread-safe: calls are serialised)."""

    def __init__(self, model: TrainedModel) -> None:
        self.model = model
        self.names = list(model.feature_names)
        self._booster = lgb.Booster(model_str=model.booster)
        self._maps = model.categorical
        self._xs = np.asarray(model.calibration_x, dtype=np.float64)
        self._ys = np.asarray(model.calibration_y, dtype=np.float64)
        self._lock = threading.Lock()
        # Per column: None for numeric, else the value -> code map (and its unknown code).
        self._columns = [(n, self._maps.get(n)) for n in self.names]

    def matrix(self, features: pl.DataFrame) -> FloatArray:
        return _matrix(features, self.names, self._maps)

    def _row(self, features: Mapping[str, FeatureValue]) -> FloatArray:
        values: list[float] = []
        for name, m in self._columns:
            v = features.get(name)
            if m is not None:
                values.append(math.nan if v is None else float(m.get(str(v), len(m))))
            elif v is None:
                values.append(math.nan)
            else:
                values.append(float(v))
        return np.asarray([values], dtype=np.float64)

    def raw_frame(self, features: pl.DataFrame) -> FloatArray:
        """Raw margins (log-odds before calibration) of every row."""
        if features.is_empty():
            return np.zeros(0)
        x = self.matrix(features)
        # A large frame is one parallel region, split over every core: no repeated thread
        # barriers, so OpenMP's spin-waiting (the reason training keeps to one thread on a
        # shared server) costs nothing here. Small frames stay on one thread.
        threads = (os.cpu_count() or 1) if len(x) >= BATCH_THREADS_FROM else 1
        with self._lock:
            return np.asarray(self._booster.predict(x, raw_score=True, num_threads=threads),
                              dtype=np.float64)

    def score_frame(self, features: pl.DataFrame) -> FloatArray:
        """Calibrated probabilities of every row of a ``features_batch`` frame."""
        return calibrate(self.raw_frame(features), self._xs, self._ys)

    def score_one(self, features: Mapping[str, FeatureValue]) -> float:
        """Calibrated probability of one ``features_one`` dict."""
        x = self._row(features)
        with self._lock:
            raw = np.asarray(self._booster.predict(x, raw_score=True, num_threads=1),
                             dtype=np.float64)
        return float(calibrate(raw, self._xs, self._ys)[0])

    def score_many(self, features: Sequence[Mapping[str, FeatureValue]]) -> FloatArray:
        """Calibrated probabilities of several ``features_one`` dicts, in one booster call."""
        if not features:
            return np.zeros(0)
        x = np.vstack([self._row(f) for f in features])
        with self._lock:
            raw = np.asarray(self._booster.predict(x, raw_score=True, num_threads=1),
                             dtype=np.float64)
        return calibrate(raw, self._xs, self._ys)

    def _contrib(self, x: FloatArray) -> FloatArray:
        with self._lock:
            out = self._booster.predict(x, pred_contrib=True, num_threads=1 if len(x) == 1
                                        else self.model.settings.num_threads)
        return np.asarray(out, dtype=np.float64)

    def explain_one(self, features: Mapping[str, FeatureValue],
                    top: int = 5) -> list[tuple[str, float, Any]]:
        """The ``top`` features that moved this score most: (name, log-odds, value).

        Contributions are LightGBM's per-feature SHAP values of the raw margin; with the
        expected margin (``bias``) they sum to it. Sorted by absolute size, largest first.
        """
        c = self._contrib(self._row(features))[0, :-1]
        order = np.argsort(-np.abs(c), kind="stable")[:top]
        return [(self.names[i], float(c[i]), features.get(self.names[i])) for i in order]

    def explain_frame(self, features: pl.DataFrame,
                      top: int = 5) -> list[list[tuple[str, float, Any]]]:
        """``explain_one`` for every row (one vectorised SHAP pass)."""
        if features.is_empty():
            return []
        c = self._contrib(self.matrix(features))[:, :-1]
        order = np.argsort(-np.abs(c), axis=1, kind="stable")[:, :top]
        values = features.select(self.names).rows()
        return [[(self.names[j], float(c[i, j]), values[i][j]) for j in order[i]]
                for i in range(len(order))]
