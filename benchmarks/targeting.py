"""Risk-based targeting: accuracy on the KCS split, batch and real-time speed, exploration.

Data: ``../shared/data/customs/df_syn_{train,valid,test}_eng.csv`` (KCS/IBS synthetic
declarations, MIT): train 2020, valid 2021 Q1, test 2021 Q2.

Figures:

- ``precision_at_5_fraud`` / ``precision_at_10_fraud`` (targets 0.93 / 0.87), with recall and
  AUC in ``params``: ``evaluation.evaluate`` (train on train, stop and calibrate on valid,
  score test time-aware). Baseline in the same run: a plain LightGBM on the raw columns with
  native categorical handling (importer, declarant, seller IDs as categories too), trained
  and stopped the same way, no history features.
- ``recall_at_5_critical``: the same with ``Critical Fraud == 2`` as the positive class.
- ``train_seconds_2020``: ``model.train`` on the 2020 declarations with 2021 Q1 for early
  stopping and calibration (target 60 s). Baseline: the raw-column LightGBM's training.
- ``batch_rows_per_s``: time-aware features and calibrated scores of the test quarter
  repeated to over 100,000 rows, against the history after train and valid (target
  100,000/s). Baseline: the same rows one by one (``features_one`` + ``score_one``), timed
  on 2,000 rows.
- ``submit_p99_ms_sqlite``: ``POST /api/v1/targeting/consignments`` over HTTP to the real
  server (uvicorn, one process) on the embedded SQLite database holding the 45,519 history
  declarations and a trained model: stored, scored by rules and model, laned, alerted, in
  one request; sequential requests on one keep-alive connection (target 20 ms). Baseline:
  the same requests in a server whose history is read by SQL aggregates over the stored
  consignments instead of the counter table, which is what the counters replace.
- ``exploration_pattern_recall_<share>``: ``drift.simulate_exploration`` on a month of the test
  period with a planted new smuggling pattern, inspecting 5 % of declarations per day.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import polars as pl

from benchmarks import _serve
from benchmarks.figures import Baseline, Figure
from interdict.targeting import drift, evaluation, features
from interdict.targeting import model as learned
from interdict.targeting.frames import read_kcs_csv

BENCHMARK = "targeting"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "customs"
RAW_CATEGORICAL = ("office", "process_type", "import_type", "import_use", "payment_type",
                   "transport_mode", "declarant", "importer", "seller", "courier", "hs_code",
                   "departure_country", "origin_country", "tax_type", "origin_indicator")
RAW_NUMERIC = ("tax_rate", "net_mass_kg", "value")


def _log(message: str) -> None:
    print(f"[{BENCHMARK}] {message}", file=sys.stderr, flush=True)


def _splits() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return tuple(read_kcs_csv(str(DATA / f"df_syn_{s}_eng.csv"))  # type: ignore[return-value]
                 for s in ("train", "valid", "test"))


# -- baseline: LightGBM on the raw columns --------------------------------------------------

def _raw_matrix(frame: pl.DataFrame, maps: dict[str, dict[str, int]]) -> np.ndarray:
    cols = [frame[c].cast(pl.Float64).to_numpy() for c in RAW_NUMERIC]
    for c in RAW_CATEGORICAL:
        m = maps[c]
        cols.append(np.array([m.get(v, -1) if v is not None else -1
                              for v in frame[c].to_list()], dtype=np.float64))
    return np.column_stack(cols)


def raw_lightgbm(train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame,
                 label: str) -> tuple[dict[str, Any], float]:
    """The plain baseline: raw columns, categories coded natively, early stopping on valid."""
    started = time.perf_counter()
    maps = {c: {v: i for i, v in enumerate(train[c].drop_nulls().unique().sort().to_list())}
            for c in RAW_CATEGORICAL}

    def y(frame: pl.DataFrame) -> np.ndarray:
        col = frame["critical"] == 2 if label == "critical" else frame["fraud"] == 1
        return col.cast(pl.Float64).to_numpy()

    names = [*RAW_NUMERIC, *RAW_CATEGORICAL]
    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31,
              "min_data_in_leaf": 50, "feature_fraction": 0.8, "num_threads": 1,
              "verbose": -1, "seed": 1, "deterministic": True}
    dtrain = lgb.Dataset(_raw_matrix(train, maps), y(train), feature_name=names,
                         categorical_feature=list(RAW_CATEGORICAL))
    dvalid = lgb.Dataset(_raw_matrix(valid, maps), y(valid), reference=dtrain)
    booster = lgb.train(params, dtrain, num_boost_round=2000, valid_sets=[dvalid],
                        callbacks=[lgb.early_stopping(100, verbose=False)])
    seconds = time.perf_counter() - started
    scores = booster.predict(_raw_matrix(test, maps), num_iteration=booster.best_iteration)
    labels = y(test)
    return {"auc": evaluation.auc(scores, labels),
            **evaluation.precision_recall_at(scores, labels)}, seconds


# -- accuracy and training ------------------------------------------------------------------

def _accuracy(train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame) -> list[Figure]:
    out = []
    settings = learned.ModelSettings(num_threads=1)
    for label in ("fraud", "critical"):
        _log(f"evaluating label {label}")
        result = evaluation.evaluate(train, valid, test, label=label, settings=settings)
        base, base_seconds = raw_lightgbm(train, valid, test, label)
        params = {"n_test": result["n_test"], "auc": round(result["auc"], 4),
                  "precision_at": result["precision_at"], "recall_at": result["recall_at"],
                  "baseline_auc": round(base["auc"], 4),
                  "baseline_precision_at": base["precision_at"],
                  "baseline_recall_at": base["recall_at"],
                  "best_iteration": result["best_iteration"],
                  "command": f"interdict targeting evaluate --train train.csv --valid "
                             f"valid.csv --test test.csv --label {label} --json"}
        if label == "fraud":
            for n, target in (("5", 0.93), ("10", 0.87)):
                out.append(Figure(
                    benchmark=BENCHMARK, figure=f"precision_at_{n}_fraud",
                    value=round(result["precision_at"][n], 4), unit="precision",
                    better="higher", target=target, params=params,
                    baseline=Baseline("LightGBM on raw columns",
                                      round(base["precision_at"][n], 4))))
            out.append(Figure(
                benchmark=BENCHMARK, figure="train_seconds_2020",
                value=round(result["train_seconds"], 2), unit="s", better="lower",
                target=60.0, params={"rows": train.height, "valid_rows": valid.height},
                baseline=Baseline("LightGBM on raw columns", round(base_seconds, 2))))
        else:
            out.append(Figure(
                benchmark=BENCHMARK, figure="recall_at_5_critical",
                value=round(result["recall_at"]["5"], 4), unit="recall", better="higher",
                params=params, baseline=Baseline("LightGBM on raw columns",
                                                 round(base["recall_at"]["5"], 4))))
    return out


# -- batch scoring --------------------------------------------------------------------------

def _batch(train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame,
           quick: bool) -> list[Figure]:
    fs = features.FeatureSettings()
    trained = learned.train(train, valid, learned.ModelSettings(num_threads=1), fs)
    scorer = learned.Scorer(trained)
    prior = features.history_from_frame(pl.concat([train, valid], how="vertical_relaxed"),
                                        fs.outcome_delay_days)
    copies = 2 if quick else 13
    big = pl.concat([test.with_columns(pl.col("reference") + f"-{i}") for i in range(copies)])
    big = big.with_columns(fraud=None, critical=None)
    features.features_batch(big.head(1000), fs, prior=prior, labels_known=False)  # warm-up
    started = time.perf_counter()
    feats = features.features_batch(big, fs, prior=prior, labels_known=False)
    scores = scorer.score_frame(feats)
    seconds = time.perf_counter() - started
    assert scores.shape[0] == big.height
    rows = big.head(2000).to_dicts()
    started = time.perf_counter()
    for row in rows:
        scorer.score_one(features.features_one(row, prior, fs))
    one = time.perf_counter() - started
    _log(f"batch {big.height} rows in {seconds:.2f} s; one by one {len(rows) / one:.0f}/s")
    return [Figure(benchmark=BENCHMARK, figure="batch_rows_per_s",
                   value=round(big.height / seconds), unit="rows/s", better="higher",
                   target=100_000, params={"rows": big.height, "seconds": round(seconds, 3),
                                           "threads": 1},
                   baseline=Baseline("features_one + score_one per row (2,000 rows)",
                                     round(len(rows) / one)))]


# -- real time --------------------------------------------------------------------------------

def _prepare(data_dir: Path) -> str:
    """A new embedded database with the history imported and a model trained; a token."""
    from interdict import all_models, domains  # noqa: F401
    from interdict.auth import service as auth
    from interdict.auth.roles import Role
    from interdict.auth.schemas import AgencyCreate, AgencyKind, TokenCreate, UserCreate
    from interdict.config import get_settings
    from interdict.db import migrate
    from interdict.db.engine import make_database
    from interdict.db.session import unit_of_work
    from interdict.reference.registry import Registry
    from interdict.targeting import management, service

    settings = get_settings(data_dir=data_dir, mode="development", database_url=None)
    settings.apply_password_cost()
    db = make_database(settings.effective_database_url)
    try:
        migrate.upgrade(db)
        with unit_of_work(db) as session:
            agency = auth.create_agency(session, data=AgencyCreate(
                code="NL-CUSTOMS", name="Bench customs", country="NL", kind=AgencyKind.customs))
            user = auth.create_user(session, agency=agency, data=UserCreate(
                username="targeter@bench", full_name="Bench Targeter",
                password="bench-password-123", roles=[Role.targeter]))
            actor = auth.actor_for_user(user, via="cli")
            registry = Registry()
            for split in ("train", "valid"):
                service.import_file(session, actor=actor, registry=registry,
                                    data=(DATA / f"df_syn_{split}_eng.csv").read_bytes(),
                                    filename=f"{split}.csv")
            management.train(session, actor=actor, registry=registry)
            secret, _ = auth.create_token(session, actor=actor, user=user, data=TokenCreate(
                name="bench", role=Role.targeter, expires_in_days=None))
    finally:
        db.dispose()
    return secret


def _bodies(test: pl.DataFrame, n: int, tag: str) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC).isoformat()
    out = []
    for row in test.head(n).iter_rows(named=True):
        body = {k: row[k] for k in (
            "office", "process_type", "import_type", "import_use", "payment_type",
            "transport_mode", "declarant", "importer", "seller", "courier", "hs_code",
            "departure_country", "origin_country", "tax_rate", "tax_type", "origin_indicator",
            "net_mass_kg", "value") if row[k] is not None}
        out.append({"kind": "declaration", "reference": f"{row['reference']}-{tag}",
                    "declared_at": now, **body})
    return out


def _post_all(base: str, token: str, bodies: list[dict[str, Any]]) -> list[float]:
    times = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        for body in bodies[:20]:  # warm-up: imports, engine caches, connections
            client.post("/api/v1/targeting/consignments", json={**body, "reference":
                                                                  body["reference"] + "w"})
        for body in bodies:
            started = time.perf_counter()
            r = client.post("/api/v1/targeting/consignments", json=body)
            times.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"POST answered {r.status_code}: {r.text[:300]}")
    return times


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _realtime(test: pl.DataFrame, quick: bool) -> list[Figure]:
    n = 200 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        _log("importing 45,519 history declarations and training (not timed)")
        token = _prepare(data_dir)
        with _serve.served(log=Path(tmp) / "server.log", data_dir=data_dir) as base:
            times = _post_all(base, token, _bodies(test, n, "a"))
        with _serve.served(log=Path(tmp) / "server-sql.log", data_dir=data_dir,
                           env={"INTERDICT_BENCH_HISTORY_BY_SQL": "1"}) as base:
            base_times = _post_all(base, token, _bodies(test.slice(n), min(n, 500), "b"))
    _log(f"POST p50 {_p(times, 50):.2f} ms p99 {_p(times, 99):.2f} ms; "
         f"SQL-aggregate history p99 {_p(base_times, 99):.2f} ms")
    params = {"requests": n, "p50_ms": round(_p(times, 50), 2),
              "p95_ms": round(_p(times, 95), 2), "mean_ms": round(statistics.mean(times), 2),
              "max_ms": round(max(times), 2), "history_declarations": 45_519,
              "baseline_requests": len(base_times),
              "baseline_p50_ms": round(_p(base_times, 50), 2),
              "server": "uvicorn, 1 process, sqlite file", "client": "httpx, sequential"}
    return [Figure(benchmark=BENCHMARK, figure="submit_p99_ms_sqlite",
                   value=round(_p(times, 99), 2), unit="ms", better="lower", target=20.0,
                   generator="httpx sequential", params=params,
                   baseline=Baseline("history by SQL aggregates per request",
                                     round(_p(base_times, 99), 2)))]


# -- exploration ----------------------------------------------------------------------------

def _exploration(train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame,
                 quick: bool) -> list[Figure]:
    rows = drift.simulate_exploration(train, valid, test, repeats=3 if quick else 10,
                                      progress=_log)
    by_share = {r["share"]: r for r in rows}
    blind = by_share[0.0]
    out = []
    for share, r in sorted(by_share.items()):
        if share == 0.0:
            continue
        out.append(Figure(
            benchmark=BENCHMARK, figure=f"exploration_pattern_recall_{share:g}",
            value=round(r["pattern_recall"], 4), unit="recall", better="higher",
            params={k: v for k, v in r.items() if k != "share"},
            baseline=Baseline("no exploration (share 0)", round(blind["pattern_recall"], 4))))
    return out


def run(*, quick: bool) -> list[Figure]:
    train, valid, test = _splits()
    figures = _accuracy(train, valid, test)
    figures += _batch(train, valid, test, quick)
    figures += _realtime(test, quick)
    figures += _exploration(train, valid, test, quick)
    return figures
