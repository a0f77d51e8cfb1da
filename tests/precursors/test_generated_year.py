"""A generated year of trade through the whole pipeline, on both databases: every planted
anomaly is caught and the clean trade raises nothing."""

from __future__ import annotations

import datetime as dt

from interdict.db.session import unit_of_work
from interdict.precursors import authorisations, service
from interdict.precursors.generate import generate_year
from interdict.reference.registry import Registry

REGISTRY = Registry()


def _load(world, year) -> dict:
    officer = world.actor("officer@a")
    with unit_of_work(world.db) as session:
        service.import_operators(session, actor=officer, data=year.operators_csv().encode(),
                                 filename="operators.csv")
        authorisations.create_many(session, actor=officer, registry=REGISTRY,
                                   rows=year.authorisations)
    with unit_of_work(world.db) as session:
        return service.import_transactions(session, actor=officer, registry=REGISTRY,
                                           data=year.transactions_csv().encode(),
                                           filename="year.csv")


def test_every_planted_anomaly_caught_and_no_false_alarm(world):
    year = generate_year(operators=40, transactions=4000, anomalies=2,
                         start=dt.date(2025, 1, 1))
    receipt = _load(world, year)
    assert receipt["rejected"] == 0
    with unit_of_work(world.db, readonly=True) as session:
        found = service.findings(session, actor=world.actor("officer@a"))
    got = {(f["kind"], r) for f in found for r in f["references"]}
    missed = [t for t in year.truth if (t["kind"], t["references"][0]) not in got]
    assert not missed
    planted = {(t["kind"], r) for t in year.truth for r in t["references"]}
    false = [f["title"] for f in found
             if not any((f["kind"], r) in planted for r in f["references"])]
    assert not false
    assert {t["kind"] for t in year.truth} == {
        "late_registration", "unlicensed_counterparty", "unmatched_transfer",
        "quantity_mismatch", "stock_discrepancy", "suspicious_order",
        "export_without_authorisation"}


def test_clean_year_raises_nothing_and_recheck_adds_nothing(world):
    year = generate_year(operators=30, transactions=3000, anomalies=0,
                         start=dt.date(2025, 1, 1))
    assert _load(world, year)["alerts"] == 0
    with unit_of_work(world.db) as session:
        again = service.recheck(session, actor=world.actor("officer@a"), registry=REGISTRY,
                                all_records=True)
    assert again["findings"] == 0
