"""The precursor register: import and check a million transactions; reconcile 10,000 operators.

Data: :func:`interdict.precursors.generate.generate_year`, a year of two-sided trade among
10,000 operators (monthly stock counts, exports under authorisations) with 20 planted cases of
every anomaly kind. Generation is not timed.

Figures (embedded default, SQLite in a temporary directory; then the same on PostgreSQL):

- ``import_check_1m_<db>``: wall time of ``service.import_transactions`` on the CSV file of
  ~1,000,000 rows: read, validate (substances resolved, units converted), store in one
  transaction, run every check over the register and raise the findings as alerts. Target
  60 s on SQLite. The recall of the planted anomalies and the number of findings outside
  them are in ``params``.
- ``reconcile_10k_<db>``: wall time of ``service.reconcile`` (load the register, balance the
  stock of every operator, site and substance). Target 5 s on SQLite. The second call is the
  figure; the first, which also loads the Arrow reader into the process, is in ``params``.

Baselines, measured in the same run on the same data: what a register written the usual way
does, an ORM object per row with the check queries per row (``session.add`` of each
transaction, a query for the operator's previous stock count and the counterparty's licence),
timed on the first 20,000 rows and extrapolated linearly to the full file (labelled so); and
reconciliation as one SQL query per operator (its transactions in time order) with the
balance computed in Python, timed on 1,000 operators and extrapolated.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text

from benchmarks.figures import Baseline, Figure
from interdict import all_models  # noqa: F401
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.schemas import AgencyCreate, AgencyKind
from interdict.db import migrate
from interdict.db.engine import Database, make_database
from interdict.db.session import unit_of_work
from interdict.precursors import authorisations, service
from interdict.precursors.generate import TradeYear, generate_year
from interdict.precursors.models import Batch, Operator, Transaction
from interdict.reference.registry import Registry

BENCHMARK = "precursors_register"
PG_URL = os.environ.get("INTERDICT_BENCH_DATABASE_URL",
                        "postgresql://postgres@127.0.0.1:5432/interdict_bench")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fresh(url: str) -> Database:
    if url.startswith("postgresql"):
        admin = make_database(url.rsplit("/", 1)[0] + "/postgres")
        name = url.rsplit("/", 1)[1]
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    db = make_database(url)
    migrate.upgrade(db)
    return db


def _setup(db: Database, year: TradeYear) -> Actor:
    with unit_of_work(db) as session:
        agency = auth.create_agency(session, data=AgencyCreate(
            code="BENCH-PREC", name="Benchmark precursor authority", country="BE",
            kind=AgencyKind.precursor_authority))
        actor = auth.system_actor(agency)
        service.import_operators(session, actor=actor, data=year.operators_csv().encode(),
                                 filename="operators.csv")
        authorisations.create_many(session, actor=actor, registry=Registry(),
                                   rows=year.authorisations)
    return actor


def _recall(db: Database, actor: Actor, year: TradeYear) -> dict[str, Any]:
    with unit_of_work(db, readonly=True) as session:
        found = service.findings(session, actor=actor, limit=1_000_000)
    got = {(f["kind"], r) for f in found for r in f["references"]}
    planted = [(t["kind"], t["references"][0]) for t in year.truth]
    caught = sum(1 for p in planted if p in got)
    wanted = {(t["kind"], r) for t in year.truth for r in t["references"]}
    extra = sum(1 for f in found if not any((f["kind"], r) in wanted for r in f["references"]))
    return {"planted": len(planted), "caught": caught, "findings": len(found),
            "findings_outside_planted": extra}


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def naive_import(db: Database, actor: Actor, rows: list[dict[str, str]],
                 licences: dict[str, int]) -> float:
    """The usual way: an ORM object per row, and the check queries row by row."""
    registry = Registry()
    resolved: dict[str, Any] = {}
    started = time.perf_counter()
    with unit_of_work(db) as session:
        batch = Batch(agency_id=actor.agency_id, filename="naive.csv", checksum="-")
        session.add(batch)
        session.flush()
        for row in rows:
            name = row["substance"]
            if name not in resolved:
                resolved[name] = service.resolve_substance(registry, name)
            sub = resolved[name]
            occurred = dt.datetime.fromisoformat(row["occurred_at"])
            registered = dt.datetime.fromisoformat(row["registered_at"])
            op_id = licences[row["operator"]]
            session.add(Transaction(
                agency_id=actor.agency_id, operator_id=op_id, reference=row["reference"],
                kind=row["kind"], substance_input=name, substance=sub.name,
                category=sub.category, quantity=float(row["quantity"]), unit=row["unit"],
                quantity_kg=float(row["quantity"]), occurred_at=occurred,
                registered_at=registered, counterparty=row["counterparty"] or None,
                counterparty_operator_id=licences.get(row["counterparty"]),
                site=row["site"], content_hash="", batch_id=batch.id))
            session.flush()
            # per-row checks: the previous count of this stock, the counterparty's licence
            session.execute(select(Transaction.id).where(
                Transaction.operator_id == op_id, Transaction.substance == sub.name,
                Transaction.kind == "stock_count", Transaction.occurred_at < occurred)
                .order_by(Transaction.occurred_at.desc()).limit(1)).first()
            if row["counterparty"] in licences:
                session.execute(select(Operator.valid_to).where(
                    Operator.id == licences[row["counterparty"]])).first()
        session.rollback()
    return time.perf_counter() - started


def naive_reconcile(db: Database, operator_ids: list[int]) -> float:
    """One query per operator and the balance in Python."""
    started = time.perf_counter()
    with unit_of_work(db, readonly=True) as session:
        for op_id in operator_ids:
            stock: dict[tuple[str, str], float] = {}
            for kind, sub, site, kg in session.execute(
                    select(Transaction.kind, Transaction.substance, Transaction.site,
                           Transaction.quantity_kg).where(Transaction.operator_id == op_id)
                    .order_by(Transaction.occurred_at)):
                key = (sub, site)
                if kind == "stock_count":
                    stock[key] = kg
                elif kind in ("purchase", "import", "production"):
                    stock[key] = stock.get(key, 0.0) + kg
                else:
                    stock[key] = stock.get(key, 0.0) - kg
    return time.perf_counter() - started


def _one(url: str, label: str, year: TradeYear, csv: bytes, *, baseline_dir: str | None
         ) -> list[Figure]:
    db = _fresh(url)
    try:
        actor = _setup(db, year)
        _log(f"{label}: importing {len(year.transactions)} transactions")
        with unit_of_work(db) as session:
            seconds, receipt = _time(lambda: service.import_transactions(
                session, actor=actor, registry=Registry(), data=csv,
                filename="register.csv", progress=_log))
        recall = _recall(db, actor, year)
        _log(f"{label}: {seconds:.1f} s, {recall}")
        with unit_of_work(db, readonly=True) as session:
            licences = {o.licence: o.id for o in session.scalars(select(Operator))}
            # The first call also loads the columnar reader (once per process); the figure
            # is the second, as in a running server, and the first is in params.
            cold, _ = _time(lambda: service.reconcile(session, actor=actor,
                                                      registry=Registry()))
            rec_seconds, result = _time(lambda: service.reconcile(
                session, actor=actor, registry=Registry()))
        n = len(year.transactions)
        import_base = reconcile_base = None
        if baseline_dir is not None:
            sample = year.transactions[:20_000]
            base_db = _fresh(f"sqlite:///{baseline_dir}/baseline.sqlite3")
            try:
                base_actor = _setup(base_db, year)
                with unit_of_work(base_db, readonly=True) as session:
                    base_licences = {o.licence: o.id for o in session.scalars(select(Operator))}
                naive = naive_import(base_db, base_actor, sample, base_licences)
            finally:
                base_db.dispose()
            import_base = Baseline(f"ORM object and check queries per row, {len(sample)} rows "
                                   f"timed, extrapolated to {n}", round(naive * n / len(sample),
                                                                        1))
            ids = sorted(licences.values())
            part = ids[:1000]
            slow = naive_reconcile(db, part)
            reconcile_base = Baseline(f"one SQL query per operator, balance in Python; "
                                      f"{len(part)} operators timed, extrapolated to "
                                      f"{len(ids)}", round(slow * len(ids) / len(part), 2))
        params = {"transactions": n, "operators": len(year.operators),
                  "stored": receipt["added"], "alerts": receipt["alerts"], **recall}
        return [
            Figure(BENCHMARK, f"import_check_1m_{label}", round(seconds, 2), "s", "lower",
                   baseline=import_base, target=60.0 if label == "sqlite" else None,
                   params=params),
            Figure(BENCHMARK, f"reconcile_10k_{label}", round(rec_seconds, 2), "s", "lower",
                   baseline=reconcile_base, target=5.0 if label == "sqlite" else None,
                   params={"operators": result["operators"], "first_call_s": round(cold, 2),
                           "transactions": result["transactions"],
                           "gaps": len(result["discrepancies"])}),
        ]
    finally:
        db.dispose()


def run(*, quick: bool) -> list[Figure]:
    operators, transactions = (500, 50_000) if quick else (10_000, 1_000_000)
    _log(f"generating {transactions} transactions among {operators} operators")
    year = generate_year(operators=operators, transactions=transactions, anomalies=20,
                         start=dt.date(2025, 1, 1))
    csv = year.transactions_csv().encode()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        figures += _one(f"sqlite:///{tmp}/register.sqlite3", "sqlite", year, csv,
                        baseline_dir=tmp)
    figures += _one(PG_URL, "postgresql", year, csv, baseline_dir=None)
    return figures
