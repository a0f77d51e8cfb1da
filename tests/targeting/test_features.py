"""History features: the batch computation equals a replay through History, and no row ever
sees what it could not have known (later declarations, outcomes before the delay, its own
label)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from interdict.targeting.features import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    GLOBAL_KEY,
    KEY_KINDS,
    Counter,
    FeatureSettings,
    History,
    features_batch,
    features_one,
    history_from_frame,
    keys_of,
)
from interdict.targeting.frames import COUNTER, read_kcs_csv

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "customs"
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def train() -> pl.DataFrame:
    path = DATA / "df_syn_train_eng.csv"
    assert path.exists(), f"shared data missing: {path}"
    return read_kcs_csv(str(path))


def _window(frame: pl.DataFrame, start: str, days: int) -> pl.DataFrame:
    lo = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
    return frame.filter((pl.col("declared_at") >= lo) & (pl.col("declared_at") < lo + days * DAY))


@pytest.fixture(scope="module")
def before(train: pl.DataFrame) -> pl.DataFrame:
    """January and February 2020: the prior period."""
    return _window(train, "2020-01-01", 60)


@pytest.fixture(scope="module")
def sample(train: pl.DataFrame) -> pl.DataFrame:
    """Three weeks of March 2020 (about 2,000 rows), some outcomes unknown, rows shuffled
    (the batch must not depend on row order)."""
    frame = _window(train, "2020-03-01", 21)
    rng = np.random.default_rng(7)
    unknown = rng.random(frame.height) < 0.15
    frame = frame.with_columns(
        pl.when(pl.Series(unknown)).then(None).otherwise(pl.col("fraud")).alias("fraud"),
        pl.when(pl.Series(unknown)).then(None).otherwise(pl.col("critical")).alias("critical"))
    return frame.sample(fraction=1.0, shuffle=True, seed=3)


def _replay(frame: pl.DataFrame, prior: History, settings: FeatureSettings
            ) -> list[dict[str, Any]]:
    """Features of every row by the service's path: rows arrive time by time; each is scored
    on the counters, then counted; an outcome is counted once its delay has passed."""
    history = prior.copy()
    delay = dt.timedelta(days=settings.outcome_delay_days)
    rows = frame.with_row_index("_i").to_dicts()
    out: list[dict[str, Any]] = [{} for _ in rows]
    pending: list[dict[str, Any]] = []
    for t in sorted({r["declared_at"] for r in rows}):
        still = []
        for r in pending:
            if r["declared_at"] + delay <= t and r["declared_at"] < t:
                history.observe_outcome(r, r["fraud"], r["critical"])
            else:
                still.append(r)
        pending = still
        now = [r for r in rows if r["declared_at"] == t]
        for r in now:
            out[r["_i"]] = features_one(r, history, settings)
        for r in now:
            history.observe_declaration(r)
            if r["fraud"] is not None:
                pending.append(r)
    return out


def _assert_same(batch: pl.DataFrame, expected: list[dict[str, Any]]) -> None:
    assert batch.columns == list(FEATURE_COLUMNS) + list(CATEGORICAL_COLUMNS)
    assert batch.height == len(expected)
    for col in batch.columns:
        got = batch[col].to_list()
        want = [e[col] for e in expected]
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if w is None or g is None:
                assert g is None and w is None, (col, i, g, w)
            elif isinstance(w, str):
                assert g == w, (col, i, g, w)
            else:
                assert math.isclose(g, w, rel_tol=1e-6, abs_tol=1e-6), (col, i, g, w)


def _diff_rows(a: pl.DataFrame, b: pl.DataFrame) -> np.ndarray:
    """Rows where any feature differs (nulls equal; floats within 1e-8, the rounding noise of
    running sums)."""
    bad = np.zeros(a.height, dtype=bool)
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype == pl.String:
            bad |= ~x.eq_missing(y).to_numpy()
        else:
            xf, yf = x.cast(pl.Float64).to_numpy(), y.cast(pl.Float64).to_numpy()
            same = (np.isnan(xf) & np.isnan(yf)) | np.isclose(xf, yf, rtol=1e-9, atol=1e-8)
            bad |= ~same
    return bad


@pytest.mark.parametrize("delay", [1.0, 3.0])
def test_batch_equals_replay_through_history(before: pl.DataFrame, sample: pl.DataFrame,
                                             delay: float) -> None:
    settings = FeatureSettings(outcome_delay_days=delay)
    prior = history_from_frame(before)
    _assert_same(features_batch(sample, settings, prior=prior),
                 _replay(sample, prior, settings))


def test_batch_from_scratch_equals_replay(sample: pl.DataFrame) -> None:
    settings = FeatureSettings()
    _assert_same(features_batch(sample, settings), _replay(sample, History(), settings))


def test_unknown_labels_are_ignored_when_asked(before: pl.DataFrame,
                                              sample: pl.DataFrame) -> None:
    prior = history_from_frame(before)
    blind = sample.with_columns(pl.lit(None, pl.Int8).alias("fraud"),
                                pl.lit(None, pl.Int8).alias("critical"))
    expected = features_batch(blind, prior=prior)
    got = features_batch(sample, prior=prior, labels_known=False)
    assert not _diff_rows(got, expected).any()
    assert _diff_rows(got, features_batch(sample, prior=prior)).any()


def _perturbed(frame: pl.DataFrame, since: dt.datetime, *, labels_only: bool) -> pl.DataFrame:
    late = pl.col("declared_at") >= since
    changes = [
        pl.when(late).then(1 - pl.col("fraud")).otherwise(pl.col("fraud")).alias("fraud"),
        pl.when(late).then(2 - pl.col("critical")).otherwise(pl.col("critical"))
        .alias("critical"),
    ]
    if not labels_only:
        changes += [
            pl.when(late).then(pl.lit("SAME")).otherwise(pl.col("importer")).alias("importer"),
            pl.when(late).then(pl.col("value") * 3).otherwise(pl.col("value")).alias("value"),
            pl.when(late).then(pl.lit("999999")).otherwise(pl.col("hs_code")).alias("hs_code"),
        ]
    return frame.with_columns(changes)


@pytest.mark.parametrize("delay", [1.0, 4.0])
def test_later_labels_do_not_reach_earlier_rows(sample: pl.DataFrame, delay: float) -> None:
    settings = FeatureSettings(outcome_delay_days=delay)
    since = dt.datetime(2020, 3, 10, tzinfo=dt.UTC)
    base = features_batch(sample, settings)
    changed = features_batch(_perturbed(sample, since, labels_only=True), settings)
    bad = _diff_rows(base, changed)
    t = sample["declared_at"]
    assert not bad[(t < since + delay * DAY).to_numpy()].any()
    assert bad[(t >= since + delay * DAY).to_numpy()].any()     # the test can fail


def test_later_rows_do_not_reach_earlier_rows(sample: pl.DataFrame) -> None:
    since = dt.datetime(2020, 3, 10, tzinfo=dt.UTC)
    base = features_batch(sample)
    changed = features_batch(_perturbed(sample, since, labels_only=False))
    bad = _diff_rows(base.drop(CATEGORICAL_COLUMNS), changed.drop(CATEGORICAL_COLUMNS))
    t = sample["declared_at"]
    # Rows of day `since` itself are changed rows, but they see only earlier days.
    unchanged_rows = (t < since).to_numpy()
    assert not bad[unchanged_rows].any()
    # The changed rows of that day still see the same history under their unchanged keys.
    same_day = ((t >= since) & (t < since + DAY)).to_numpy()
    history_cols = [c for c in FEATURE_COLUMNS
                    if c.startswith(("declarant_", "seller_", "office_")) and "__" not in c]
    assert not _diff_rows(base.select(history_cols), changed.select(history_cols))[same_day].any()


@pytest.mark.parametrize("delay", [0.0, 1.0])
def test_own_label_never_reaches_own_features(sample: pl.DataFrame, delay: float) -> None:
    settings = FeatureSettings(outcome_delay_days=delay)
    base = features_batch(sample, settings)
    for i in (0, 17, 500):
        flipped = sample.with_columns(
            pl.when(pl.int_range(pl.len()) == i).then(1 - pl.col("fraud").fill_null(0))
            .otherwise(pl.col("fraud")).alias("fraud"))
        bad = _diff_rows(base, features_batch(flipped, settings))
        t = sample["declared_at"]
        assert not bad[i]
        assert not bad[(t <= t[i]).to_numpy()].any()


def test_features_batch_with_prior_equals_one_pass(before: pl.DataFrame,
                                                   sample: pl.DataFrame) -> None:
    """Continuing from a prior History is the same as computing over both periods at once
    (prior period ends at least the delay before the frame starts)."""
    both = pl.concat([before, sample])
    one_pass = features_batch(both).tail(sample.height)
    continued = features_batch(sample, prior=history_from_frame(before))
    assert not _diff_rows(one_pass, continued).any()


def test_history_from_frame_equals_observing_every_row(sample: pl.DataFrame) -> None:
    history = History()
    for r in sample.sort("declared_at").to_dicts():
        history.observe_declaration(r)
        if r["fraud"] is not None:
            history.observe_outcome(r, r["fraud"], r["critical"])
    built = history_from_frame(sample)
    assert set(built) == set(history)
    for key, c in history.items():
        b = built[key]
        assert (b.n_declared, b.n_labelled, b.n_positive, b.n_critical, b.n_unit) == (
            c.n_declared, c.n_labelled, c.n_positive, c.n_critical, c.n_unit), key
        assert math.isclose(b.sum_log_unit, c.sum_log_unit, abs_tol=1e-7)
        assert math.isclose(b.sumsq_log_unit, c.sumsq_log_unit, abs_tol=1e-6)
        assert (b.first_declared_at, b.last_declared_at) == (c.first_declared_at,
                                                             c.last_declared_at)


def test_history_as_of_is_what_a_row_then_sees(sample: pl.DataFrame) -> None:
    settings = FeatureSettings(outcome_delay_days=2)
    batch = features_batch(sample, settings)
    for i in (3, 99, 1200):
        row = sample.row(i, named=True)
        counters = history_from_frame(sample, 2, as_of=row["declared_at"])
        _assert_same(batch[i], [features_one(row, counters, settings)])


def test_history_round_trips_through_a_frame(sample: pl.DataFrame) -> None:
    history = history_from_frame(sample)
    frame = history.to_frame()
    assert frame.schema == pl.Schema(COUNTER)
    again = History.from_frame(frame)
    assert dict(again.items()) == dict(history.items())
    # A changed copy writes a new frame; a branch leaves its parent alone.
    row = sample.row(0, named=True)
    child = history.branch()
    child.observe_outcome(row, 1, 2)
    key = ("importer", row["importer"])
    assert child[key].n_positive == history[key].n_positive + 1
    assert child.to_frame().height == frame.height
    assert History.from_frame(history.to_frame())[key] == history[key]


def test_keys_of_pairs_and_nulls() -> None:
    row = {"importer": "IMP", "declarant": "DEC", "seller": None, "courier": None,
           "hs_code": "090111", "origin_country": "CO", "departure_country": "US",
           "office": "30", "tax_type": "A"}
    keys = dict(keys_of(row))
    assert keys_of(row)[0] == GLOBAL_KEY
    assert keys["importer|hs_code"] == "IMP|090111"
    assert keys["hs_code|departure_country|origin_country|tax_type"] == "090111|US|CO|A"
    assert "seller" not in keys and "seller|importer" not in keys and "courier" not in keys
    assert set(keys) <= set(KEY_KINDS)


def test_features_one_of_an_unseen_consignment() -> None:
    row = {"declared_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "importer": "NEW",
           "hs_code": "090111", "seller": None, "value": 0.0, "net_mass_kg": 10.0,
           "tax_rate": None, "office": "ZZ"}
    feats = features_one(row, {}, FeatureSettings())
    assert set(feats) == set(FEATURE_COLUMNS) | set(CATEGORICAL_COLUMNS)
    assert feats["importer_n"] == 0 and feats["importer_days_first"] is None
    assert feats["importer_rate"] == pytest.approx(0.2)        # the prior global rate
    assert feats["seller_rate"] is None and feats["log_unit_value"] is None
    assert feats["hs_chapter"] == "09" and feats["office"] == "ZZ"
    seen = {("importer", "NEW"): Counter(n_declared=4, n_labelled=4, n_positive=4)}
    rate = features_one(row, seen, FeatureSettings())["importer_rate"]
    assert isinstance(rate, float) and rate > 0.6


def test_tiny_frames(before: pl.DataFrame, sample: pl.DataFrame) -> None:
    prior = history_from_frame(before)
    assert features_batch(sample.head(0), prior=prior).height == 0
    one = sample.sort("declared_at").head(1)
    _assert_same(features_batch(one, prior=prior),
                 [features_one(one.row(0, named=True), prior, FeatureSettings())])
    assert history_from_frame(sample.head(0)).to_frame().height == 0
