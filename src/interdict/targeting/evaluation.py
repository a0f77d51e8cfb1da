"""How good a score is at choosing whom to inspect, and the standard time-split evaluation.

Customs inspect a fixed share of declarations, so the figures that matter are precision and
recall in the top n % by score (how many inspections find something, and how much of all
fraud they find), not accuracy at a threshold. AUC is given for comparison with the
literature.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.stats import rankdata

from interdict.targeting.features import FeatureSettings, features_batch

if TYPE_CHECKING:
    from interdict.targeting.model import Label, ModelSettings

ArrayLike = npt.ArrayLike
PERCENTS: tuple[float, ...] = (1, 2, 5, 10)


def _key(p: float) -> str:
    return f"{p:g}"


def _clean(scores: ArrayLike, labels: ArrayLike) -> tuple[npt.NDArray[np.float64],
                                                          npt.NDArray[np.float64]]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError("scores and labels must be 1-d arrays of the same length")
    keep = ~np.isnan(y)
    return s[keep], y[keep]


def top_order(scores: ArrayLike) -> npt.NDArray[np.int64]:
    """Row indices by descending score; equal scores keep their row order (stable), so the
    same input always selects the same rows. NaN scores rank last."""
    s = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isnan(s), np.inf, -s)
    return np.argsort(key, kind="stable").astype(np.int64)


def precision_recall_at(scores: ArrayLike, labels: ArrayLike,
                        percents: Sequence[float] = PERCENTS) -> dict[str, dict[str, float]]:
    """Precision and recall when inspecting the top ⌊n % × N⌋ rows by score, for each n.

    Rows whose label is NaN (not inspected) are left out before counting N. Ties are broken
    by row order (see ``top_order``). With no row selected precision is NaN; with no positive
    recall is NaN. Keys are the percents as strings ("1", "2", "5", "10").
    """
    s, y = _clean(scores, labels)
    order = top_order(s)
    hits = np.concatenate([[0.0], np.cumsum(y[order])])
    total = float(y.sum())
    prec: dict[str, float] = {}
    rec: dict[str, float] = {}
    for p in percents:
        k = int(math.floor(p / 100 * len(s) + 1e-9))
        found = float(hits[k])
        prec[_key(p)] = found / k if k else math.nan
        rec[_key(p)] = found / total if total else math.nan
    return {"precision_at": prec, "recall_at": rec}


def auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); NaN with one class only."""
    s, y = _clean(scores, labels)
    pos = int(y.sum())
    neg = len(y) - pos
    if not pos or not neg:
        return math.nan
    r = rankdata(s)
    return float((r[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def score_metrics(probabilities: ArrayLike, labels: ArrayLike,
                  percents: Sequence[float] = PERCENTS) -> dict[str, Any]:
    """AUC, precision/recall at n %, log loss and Brier score of calibrated probabilities."""
    p, y = _clean(probabilities, labels)
    q = np.clip(p, 1e-15, 1 - 1e-15)
    out: dict[str, Any] = {"auc": auc(p, y), **precision_recall_at(p, y, percents)}
    out["logloss"] = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))) if len(y) \
        else math.nan
    out["brier"] = float(np.mean((p - y) ** 2)) if len(y) else math.nan
    return out


def evaluate(train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame, *,
             label: str = "fraud", settings: ModelSettings | None = None,
             feature_settings: FeatureSettings | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train on train/valid, then score test as it would have been scored in operation.

    Test features come from one time-aware pass over train, valid and test: each test row sees
    everything before it, including earlier test rows' outcomes once the delay has passed, and
    nothing of its own day. Returns label, n_test (rows with an outcome), precision_at,
    recall_at, auc, and logloss, brier and timings besides.
    """
    # Imported here: model imports this module for its validation metrics.
    from interdict.targeting.model import ModelSettings, Scorer, labels_of
    from interdict.targeting.model import train as fit

    if label not in ("fraud", "critical"):
        raise ValueError(f"label must be 'fraud' or 'critical', not {label!r}")
    lab: Label = "fraud" if label == "fraud" else "critical"
    ms = (settings or ModelSettings()).model_copy(update={"label": lab})
    fs = feature_settings or FeatureSettings()
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    model = fit(train, valid, ms, fs, progress)
    train_seconds = time.perf_counter() - started
    say(f"trained in {train_seconds:.1f} s; scoring {test.height} test rows")
    started = time.perf_counter()
    everything = pl.concat([train, valid, test], how="vertical_relaxed")
    feats = features_batch(everything, fs).tail(test.height)
    scores = Scorer(model).score_frame(feats)
    score_seconds = time.perf_counter() - started
    y = labels_of(test, lab)
    m = score_metrics(scores, y)
    return {
        "label": label,
        "n_test": int((~np.isnan(y)).sum()),
        "precision_at": m["precision_at"],
        "recall_at": m["recall_at"],
        "auc": m["auc"],
        "logloss": m["logloss"],
        "brier": m["brier"],
        "best_iteration": model.best_iteration,
        "valid": {k: model.metrics[k] for k in ("auc", "precision_at", "recall_at")},
        "train_seconds": round(train_seconds, 3),
        "score_seconds": round(score_seconds, 3),
        "outcome_delay_days": fs.outcome_delay_days,
    }
