"""The precursor register's checks on small hand-built frames: each rule and its near miss."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

import interdict.precursors.specs  # noqa: F401  (registers the settings' kind)
from interdict.precursors import checks_transfers
from interdict.precursors.checks import run_checks
from interdict.precursors.frames import AUTHORISATIONS, OPERATORS, TRANSACTIONS, Finding
from interdict.precursors.specs import CheckSettings
from interdict.reference.registry import Registry

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def settings() -> CheckSettings:
    content = Registry().get("precursors/checks").content
    assert isinstance(content, CheckSettings)
    return content


_ids = iter(range(1, 1_000_000))


def tx(**over: Any) -> dict[str, Any]:
    """One register row with harmless defaults (a consumption, registered an hour later)."""
    i = over.pop("id", next(_ids))
    row: dict[str, Any] = {
        "id": i, "operator_id": 1, "operator_licence": "BE-LIC-0001", "reference": f"R-{i}",
        "kind": "consumption", "substance": "Acetone", "category": "3",
        "designer_precursor": False, "watch_listed": False, "quantity_kg": 100.0,
        "occurred_at": T0, "registered_at": None, "counterparty": None,
        "counterparty_operator_id": None, "counterparty_country": None,
        "destination_country": None, "transit_countries": [], "payment": "transfer",
        "end_use": None, "site": "", "is_new": True,
    }
    row.update(over)
    if row["registered_at"] is None:
        row["registered_at"] = row["occurred_at"] + H
    assert set(row) == set(TRANSACTIONS), set(row) ^ set(TRANSACTIONS)
    return row


def operator(i: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": i, "licence": f"BE-LIC-{i:04d}", "name": f"Operator {i}", "country": "BE",
        "categories": ["1", "2A", "2B", "3"], "kind": "licence", "valid_from": date(2020, 1, 1),
        "valid_to": None, "activities": ["trade"], "sector": "chemical_distribution",
    }
    row.update(over)
    return row


def authorisation(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 1, "number": "EXP-1", "operator_id": 1, "substance": "Acetic anhydride",
        "quantity_kg": 100.0, "destination_country": "US", "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 12, 31), "notification_required": False, "notified_at": None,
        "notification_deadline": None, "notification_status": "not_required",
        "responded_at": None,
    }
    row.update(over)
    return row


OPS = [operator(1), operator(2, sector="pharmaceutical"), operator(3, categories=["3"]),
       operator(4, valid_to=date(2026, 5, 3)), operator(5, valid_to=date(2026, 5, 4))]


def run(rows: list[dict[str, Any]], settings: CheckSettings, *, ops: list[dict[str, Any]] = OPS,
        auths: list[dict[str, Any]] | None = None, as_of: datetime = AS_OF,
        kind: str | None = None) -> list[Finding]:
    found = run_checks(pl.DataFrame(rows, schema=TRANSACTIONS, orient="row")
                       if rows else pl.DataFrame(schema=TRANSACTIONS),
                       pl.DataFrame(ops, schema=OPERATORS),
                       pl.DataFrame(auths or [], schema=AUTHORISATIONS),
                       settings, as_of=as_of)
    for f in found:
        assert 0 <= f.score <= 1
        assert f.severity in {"low", "medium", "high", "critical"}
        assert f.transaction_ids == tuple(sorted(f.transaction_ids))
        assert f.key == f"{f.kind}:{'-'.join(map(str, f.transaction_ids))}"
        json.dumps(f.reasons)  # JSON-serialisable
        for r in f.reasons:
            assert set(r) == {"rule", "contribution", "values", "detail"}
            assert all(v is None or isinstance(v, str | int | float | bool)
                       for v in r["values"].values()), r
    return [f for f in found if kind is None or f.kind == kind]


def rules(f: Finding) -> list[str]:
    return [r["rule"] for r in f.reasons]


# --- late_registration ------------------------------------------------------------------------


def test_late_registration_just_over_and_just_under(settings: CheckSettings) -> None:
    late = tx(registered_at=T0 + 24.1 * H)
    on_time = tx(registered_at=T0 + 23.9 * H)
    [f] = run([late, on_time], settings, kind="late_registration")
    assert f.transaction_ids == (late["id"],) and f.references == (late["reference"],)
    assert f.score == pytest.approx(0.3 + 0.7 * 0.1 / 144)
    assert f.severity == "low"
    assert f.reasons[0]["contribution"] == f.score
    assert f.reasons[0]["values"]["delay_hours"] == pytest.approx(24.1)
    assert f.reasons[0]["values"]["occurred_at"] == T0.isoformat()
    assert "Consumption R-" in f.title and "100 kg Acetone by BE-LIC-0001" in f.title


def test_late_registration_severity_and_cap(settings: CheckSettings) -> None:
    three = tx(registered_at=T0 + 72 * H)
    beyond = tx(registered_at=T0 + 73 * H)
    very = tx(registered_at=T0 + 30 * 24 * H)
    found = {f.transaction_ids[0]: f for f in run([three, beyond, very], settings)}
    assert found[three["id"]].severity == "low"
    assert found[beyond["id"]].severity == "medium"
    assert found[very["id"]].score == 1.0


def test_old_rows_raise_no_per_record_findings(settings: CheckSettings) -> None:
    rows = [
        tx(registered_at=T0 + 100 * H, is_new=False),
        tx(kind="sale", category="1", counterparty="Nobody", is_new=False),
        tx(kind="export", category="2A", substance="Acetic anhydride",
           destination_country="SY", payment="crypto", designer_precursor=True, is_new=False),
    ]
    assert run(rows, settings) == []


# --- unlicensed_counterparty ------------------------------------------------------------------


def _unlicensed(settings: CheckSettings, **over: Any) -> list[Finding]:
    row = tx(**({"kind": "sale", "category": "2A", "counterparty": "BE-LIC-0002",
                 "counterparty_operator_id": 2} | over))
    return run([row], settings, kind="unlicensed_counterparty", as_of=T0 + H)


def test_counterparty_not_registered(settings: CheckSettings) -> None:
    [f] = _unlicensed(settings, counterparty_operator_id=None, counterparty="J. Doe")
    assert rules(f) == ["counterparty_not_registered"]
    assert f.score == 0.9 and f.severity == "high"
    assert "to J. Doe: not a registered operator" in f.title
    [g] = _unlicensed(settings, counterparty_operator_id=None, category="1")
    assert g.severity == "critical"


def test_counterparty_licence_expired_day_before_vs_on_the_day(settings: CheckSettings) -> None:
    [f] = _unlicensed(settings, counterparty_operator_id=4, counterparty="BE-LIC-0004")
    assert rules(f) == ["counterparty_licence_not_valid"]
    assert "licence not valid on 2026-05-04 (valid 2020-01-01–2026-05-03)" in f.title
    assert _unlicensed(settings, counterparty_operator_id=5) == []


def test_counterparty_without_the_category(settings: CheckSettings) -> None:
    [f] = _unlicensed(settings, counterparty_operator_id=3, kind="purchase")
    assert rules(f) == ["counterparty_category_not_held"]
    assert "from BE-LIC-0003: holds categories [3] but not 2A" in f.title
    assert _unlicensed(settings, counterparty_operator_id=2) == []


def test_counterparty_rules_apply_only_to_domestic_licence_categories(
        settings: CheckSettings) -> None:
    assert _unlicensed(settings, counterparty_operator_id=None, counterparty_country="NL") == []
    assert _unlicensed(settings, counterparty_operator_id=None, category="3") == []
    assert _unlicensed(settings, counterparty_operator_id=None, kind="export") == []
    assert len(_unlicensed(settings, counterparty_operator_id=None,
                           counterparty_country="BE")) == 1


# --- transfer matching ------------------------------------------------------------------------


def sale(q: float = 100.0, at: datetime = T0, **over: Any) -> dict[str, Any]:
    return tx(**({"kind": "sale", "quantity_kg": q, "occurred_at": at,
                  "counterparty": "BE-LIC-0002", "counterparty_operator_id": 2} | over))


def purchase(q: float = 100.0, at: datetime = T0, **over: Any) -> dict[str, Any]:
    return tx(**({"kind": "purchase", "quantity_kg": q, "occurred_at": at, "operator_id": 2,
                  "operator_licence": "BE-LIC-0002", "counterparty": "BE-LIC-0001",
                  "counterparty_operator_id": 1} | over))


def test_matching_sale_and_purchase_are_quiet(settings: CheckSettings) -> None:
    assert run([sale(is_new=False), purchase(98.1, T0 + 70 * H)], settings) == []


def test_quantity_just_outside_tolerance_is_a_mismatch(settings: CheckSettings) -> None:
    s, p = sale(), purchase(97.9, T0 + 5 * H)
    [f] = run([s, p], settings)
    assert f.kind == "quantity_mismatch" and f.operator_id == 1
    assert f.transaction_ids == (s["id"], p["id"])
    assert f.references == (s["reference"], p["reference"])
    assert f.score == pytest.approx(0.4 + 0.021) and f.severity == "medium"
    assert rules(f) == ["quantity_differs"]
    assert f.reasons[0]["values"]["sale_kg"] == 100.0
    assert f.reasons[0]["values"]["purchase_kg"] == 97.9
    assert "purchase " + p["reference"] + " of 97.9 kg Acetone by BE-LIC-0002" in f.title


def test_mismatch_severity(settings: CheckSettings) -> None:
    [big] = run([sale(), purchase(80.0)], settings)
    assert big.severity == "high" and big.score == pytest.approx(0.6)
    [other] = run([sale(), purchase(substance="Toluene")], settings)
    assert other.severity == "high" and rules(other) == ["substance_differs"]
    assert other.reasons[0]["values"]["purchase_substance"] == "Toluene"
    [both] = run([sale(), purchase(10.0, substance="Toluene")], settings)
    assert rules(both) == ["substance_and_quantity_differ"] and both.score == 1.0


def test_unmatched_sale_waits_for_the_window(settings: CheckSettings) -> None:
    s = sale()
    assert run([s], settings, as_of=T0 + 71.9 * H) == []
    [f] = run([s], settings, as_of=T0 + 72 * H)
    assert f.kind == "unmatched_transfer" and f.operator_id == 1 and f.score == 0.8
    assert f.severity == "high" and rules(f) == ["no_matching_purchase"]
    assert f.title == (f"Sale {s['reference']} of 100 kg Acetone by BE-LIC-0001 has no "
                       f"matching purchase by BE-LIC-0002")


def test_unmatched_purchase_is_about_the_buyer(settings: CheckSettings) -> None:
    p = purchase()
    [f] = run([p], settings)
    assert f.operator_id == 2 and rules(f) == ["no_matching_sale"]
    assert f.title.endswith("has no matching sale by BE-LIC-0001")


def test_records_further_apart_than_the_window_do_not_match(settings: CheckSettings) -> None:
    s, p = sale(), purchase(at=T0 + 72.1 * H)
    found = run([s, p], settings)
    assert [f.kind for f in found] == ["unmatched_transfer"] * 2
    assert run([s, purchase(at=T0 + 72 * H)], settings) == []


def test_sales_to_unregistered_buyers_are_not_matched(settings: CheckSettings) -> None:
    assert run([sale(counterparty_operator_id=None, category="3")], settings) == []


def test_matching_is_one_to_one_nearest_first(settings: CheckSettings) -> None:
    first, second = sale(at=T0), sale(at=T0 + H)
    p = purchase(at=T0 + 50 * timedelta(minutes=1))
    [f] = run([first, second, p], settings)
    assert f.kind == "unmatched_transfer" and f.transaction_ids == (first["id"],)


def test_mismatch_pairs_the_same_substance_first(settings: CheckSettings) -> None:
    s = sale()
    other = purchase(at=T0 + H / 2, substance="Toluene")
    same = purchase(50.0, at=T0 + H)
    found = run([s, other, same], settings, as_of=T0 + 2 * H)
    assert [(f.kind, f.transaction_ids) for f in found] == [
        ("quantity_mismatch", (s["id"], same["id"]))]


def test_long_chain_of_near_ties_is_paired_completely(settings: CheckSettings) -> None:
    rows = [r for i in range(30) for r in (sale(at=T0 + i * H), purchase(at=T0 + (i + .5) * H))]
    assert run(rows, settings) == []


def test_pairing_rounds_equal_greedy_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(7)
    cands = pl.DataFrame({
        "s_id": [rnd.randrange(40) for _ in range(300)],
        "p_id": [rnd.randrange(40) for _ in range(300)],
        "dt": [rnd.randrange(6) for _ in range(300)],
    }).unique(["s_id", "p_id"])

    def pairs() -> set[tuple[int, int]]:
        got = checks_transfers._pair(cands, ["dt"])
        assert got["s_id"].is_unique().all() and got["p_id"].is_unique().all()
        return set(got.select("s_id", "p_id").iter_rows())

    rounds = pairs()
    monkeypatch.setattr(checks_transfers, "ROUNDS", 0)
    assert pairs() == rounds


# --- stock_discrepancy ------------------------------------------------------------------------


def _stock(settings: CheckSettings, counted: float, first: float = 100.0,
           **over: Any) -> list[Finding]:
    rows = [
        tx(kind="stock_count", quantity_kg=first, occurred_at=T0, is_new=False, **over),
        tx(kind="purchase", quantity_kg=50.0, occurred_at=T0 + H, **over),
        tx(kind="consumption", quantity_kg=30.0, occurred_at=T0 + 2 * H, **over),
        tx(kind="stock_count", quantity_kg=counted, occurred_at=T0 + 3 * H, **over),
    ]
    return run(rows, settings, kind="stock_discrepancy")


def test_stock_gap_just_over_and_under_tolerance(settings: CheckSettings) -> None:
    assert _stock(settings, 119.1) == []
    [f] = _stock(settings, 118.9)
    assert f.severity == "high" and rules(f) == ["stock_missing"]
    assert f.score == pytest.approx(0.5 + 1.1 / 120)
    v = f.reasons[0]["values"]
    assert v["expected_kg"] == 120.0 and v["counted_kg"] == 118.9
    assert v["missing_kg"] == pytest.approx(1.1) and v["movements"] == 2
    assert v["period_start"] == T0.isoformat() and v["period_end"] == (T0 + 3 * H).isoformat()
    assert len(f.transaction_ids) == 2
    assert "Stock count" in f.title and "118.9 kg Acetone" in f.title


def test_stock_surplus_and_relative_tolerance(settings: CheckSettings) -> None:
    [f] = _stock(settings, 121.2)
    assert f.severity == "medium" and rules(f) == ["stock_surplus"]
    # 0.5 % of 1020 kg = 5.1 kg
    assert _stock(settings, 1015.0, first=1000.0) == []
    assert len(_stock(settings, 1014.8, first=1000.0)) == 1


def test_stock_movements_at_a_count_instant(settings: CheckSettings) -> None:
    rows = [
        tx(kind="purchase", quantity_kg=50.0, occurred_at=T0),        # already in the first count
        tx(kind="stock_count", quantity_kg=150.0, occurred_at=T0),
        tx(kind="sale", quantity_kg=10.0, occurred_at=T0 + H),       # in the second count
        tx(kind="stock_count", quantity_kg=140.0, occurred_at=T0 + H),
    ]
    assert run(rows, settings, kind="stock_discrepancy") == []


def test_stock_series_are_per_site_and_need_two_counts(settings: CheckSettings) -> None:
    rows = [
        tx(kind="stock_count", quantity_kg=100.0, site="north"),
        tx(kind="stock_count", quantity_kg=10.0, occurred_at=T0 + H, site="south"),
        tx(kind="stock_count", quantity_kg=100.0, occurred_at=T0 + H, substance="Toluene"),
    ]
    assert run(rows, settings, kind="stock_discrepancy") == []
    rows.append(tx(kind="stock_count", quantity_kg=90.0, occurred_at=T0 + 2 * H, site="north"))
    [f] = run(rows, settings, kind="stock_discrepancy")
    assert f.transaction_ids == (rows[0]["id"], rows[3]["id"])
    assert "at site north" in f.title


def test_stock_series_do_not_leak_into_each_other(settings: CheckSettings) -> None:
    rows = [
        tx(kind="stock_count", quantity_kg=100.0, occurred_at=T0),
        tx(kind="stock_count", quantity_kg=100.0, occurred_at=T0 + H),
        tx(kind="sale", quantity_kg=40.0, occurred_at=T0 + 2 * H),       # after A's last count
        tx(kind="purchase", quantity_kg=70.0, occurred_at=T0, substance="Toluene"),  # before B's
        tx(kind="stock_count", quantity_kg=5.0, occurred_at=T0 + H, substance="Toluene"),
        tx(kind="stock_count", quantity_kg=5.0, occurred_at=T0 + 2 * H, substance="Toluene"),
        tx(kind="stock_count", quantity_kg=5.0, occurred_at=T0 + 2 * H, substance="Toluene"),
    ]
    assert run(rows, settings, kind="stock_discrepancy") == []


# --- suspicious_order -------------------------------------------------------------------------


def order(**over: Any) -> dict[str, Any]:
    """A new category 3 export, flagged as a designer precursor (0.45: just under threshold)."""
    base: dict[str, Any] = {"kind": "export", "category": "3", "counterparty": "Client Ltd",
                            "counterparty_country": "US", "destination_country": "US",
                            "designer_precursor": True, "occurred_at": T0}
    return tx(**(base | over))


def _suspicious(settings: CheckSettings, rows: list[dict[str, Any]]) -> list[Finding]:
    return run(rows, settings, kind="suspicious_order")


def test_score_just_below_threshold_is_quiet(settings: CheckSettings) -> None:
    assert _suspicious(settings, [order()]) == []


def test_watch_list_and_designer(settings: CheckSettings) -> None:
    o = order(watch_listed=True)
    [f] = _suspicious(settings, [o])
    assert rules(f) == ["designer_precursor", "watch_list"]
    assert f.score == pytest.approx(0.70) and f.severity == "medium"
    assert [r["contribution"] for r in f.reasons] == [0.45, 0.25]
    assert f.transaction_ids == (o["id"],) and f.references == (o["reference"],)
    assert _suspicious(settings, [order(watch_listed=True, designer_precursor=False)]) == []


@pytest.mark.parametrize(("positive", "negative", "rule"), [
    ({"payment": "cash"}, {"payment": "transfer"}, "cash_payment"),
    ({"payment": "Crypto "}, {"payment": "other"}, "crypto_payment"),
    ({"destination_country": "SY"}, {"destination_country": "TR"}, "high_risk_destination"),
    ({"destination_country": None, "counterparty_country": "AF"},
     {"destination_country": "US", "counterparty_country": "AF"}, "high_risk_destination"),
    ({"transit_countries": ["TR", "SY"]}, {"transit_countries": ["TR", "AE"]},
     "high_risk_transit"),
    ({"counterparty_operator_id": 2, "end_use": "Floor cleaning"},
     {"counterparty_operator_id": 2, "end_use": "API synthesis"}, "end_use_inconsistent"),
    ({"counterparty_operator_id": 2, "end_use": "rapid drying"},
     {"counterparty_operator_id": None, "end_use": "rapid drying"}, "end_use_inconsistent"),
    ({"category": "1"}, {"category": "2A"}, "new_customer_category1"),
])
def test_each_order_rule(settings: CheckSettings, positive: dict[str, Any],
                         negative: dict[str, Any], rule: str) -> None:
    [f] = _suspicious(settings, [order(**positive)])
    assert rules(f) == ["designer_precursor", rule]
    reason = f.reasons[1]
    assert reason["contribution"] == settings.suspicious.weights[rule]
    assert f.score == pytest.approx(0.45 + settings.suspicious.weights[rule])
    assert reason["detail"] and reason["values"]
    assert _suspicious(settings, [order(**negative)]) == []


def test_new_customer_is_known_from_any_earlier_transaction(settings: CheckSettings) -> None:
    earlier = tx(kind="purchase", counterparty=" client LTD", occurred_at=T0 - 24 * H,
                 is_new=False)
    assert _suspicious(settings, [earlier, order(category="1")]) == []
    same_time = tx(kind="purchase", counterparty="Client Ltd", occurred_at=T0, is_new=False)
    assert len(_suspicious(settings, [same_time, order(category="1")])) == 1
    # a registered customer's own record of buying from the operator counts too
    mirrored = tx(kind="purchase", operator_id=2, counterparty_operator_id=1,
                  occurred_at=T0 - 24 * H, is_new=False)
    assert _suspicious(settings, [mirrored, order(category="1", counterparty_operator_id=2)]) \
        == []


def _history(q: float, n: int = 3, at: datetime = T0 - 24 * H) -> list[dict[str, Any]]:
    return [tx(kind="sale", quantity_kg=10.0, counterparty="client ltd", occurred_at=at,
               is_new=False) for _ in range(n)]


def test_quantity_above_history(settings: CheckSettings) -> None:
    [f] = _suspicious(settings, [*_history(10.0), order(quantity_kg=30.1)])
    assert rules(f) == ["quantity_above_history", "designer_precursor"][::-1]
    values = f.reasons[1]["values"]
    assert values["earlier_orders"] == 3 and values["mean_earlier_kg"] == 10.0
    assert _suspicious(settings, [*_history(10.0), order(quantity_kg=30.0)]) == []
    assert _suspicious(settings, [*_history(10.0, n=2), order(quantity_kg=300.0)]) == []
    # orders at the same instant are not earlier
    assert _suspicious(settings, [*_history(10.0, at=T0), order(quantity_kg=300.0)]) == []
    # another substance's history does not count
    assert _suspicious(settings, [*_history(10.0), order(quantity_kg=300.0,
                                                         substance="Toluene")]) == []


def test_high_score_and_reason_order(settings: CheckSettings) -> None:
    [f] = _suspicious(settings, [order(payment="crypto", watch_listed=True,
                                       destination_country="MM")])
    assert f.score == 1.0 and f.severity == "high"
    assert rules(f) == ["designer_precursor", "crypto_payment", "high_risk_destination",
                        "watch_list"]
    assert [r["contribution"] for r in f.reasons] == sorted(
        (r["contribution"] for r in f.reasons), reverse=True)


# --- export_without_authorisation -------------------------------------------------------------


def export(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": "export", "substance": "Acetic anhydride", "category": "2A",
                            "destination_country": "US", "counterparty": "US Importer Inc",
                            "counterparty_country": "US", "quantity_kg": 50.0}
    return tx(**(base | over))


def _exports(settings: CheckSettings, rows: list[dict[str, Any]],
             auths: list[dict[str, Any]]) -> list[Finding]:
    return run(rows, settings, auths=auths, kind="export_without_authorisation")


def test_export_without_any_authorisation(settings: CheckSettings) -> None:
    [f] = _exports(settings, [export()], [])
    assert rules(f) == ["no_authorisation"] and f.score == 0.9 and f.severity == "high"
    assert "to US: no usable export authorisation" in f.title
    [g] = _exports(settings, [export(category="1")], [])
    assert g.severity == "critical" and rules(g) == ["no_authorisation"]
    assert _exports(settings, [export()], [authorisation()]) == []


def test_authorisation_expired_the_day_before(settings: CheckSettings) -> None:
    [f] = _exports(settings, [export()], [authorisation(valid_to=date(2026, 5, 3))])
    assert rules(f) == ["no_authorisation"]
    assert _exports(settings, [export()], [authorisation(valid_to=date(2026, 5, 4))]) == []
    other = [authorisation(substance="Toluene"), authorisation(id=2, destination_country="CA")]
    assert len(_exports(settings, [export()], other)) == 1


def test_category3_needs_an_authorisation_only_to_listed_destinations(
        settings: CheckSettings) -> None:
    assert _exports(settings, [export(category="3", destination_country="TR")], []) == []
    [f] = _exports(settings, [export(category="3", destination_country="SY")], [])
    assert rules(f) == ["no_authorisation"]


def test_authorised_quantity_is_cumulative(settings: CheckSettings) -> None:
    old = export(quantity_kg=60.0, occurred_at=T0 - 48 * H, is_new=False)
    inside = export(quantity_kg=41.9)
    assert _exports(settings, [old, inside], [authorisation()]) == []
    outside = export(quantity_kg=42.1)
    [f] = _exports(settings, [old, outside], [authorisation()])
    assert f.transaction_ids == (outside["id"],) and rules(f) == ["quantity_exceeded"]
    assert f.reasons[0]["values"]["used_kg"] == pytest.approx(102.1)
    assert f.reasons[0]["values"]["tolerance_kg"] == 2.0
    # a second authorisation with room left (it does not cover the old export) is taken instead
    spare = authorisation(id=2, number="EXP-2", valid_from=date(2026, 5, 4))
    assert _exports(settings, [old, outside], [authorisation(), spare]) == []


def test_notification_missing(settings: CheckSettings) -> None:
    [f] = _exports(settings, [export()], [authorisation(notification_required=True,
                                                        notification_status="confirmed")])
    assert rules(f) == ["notification_missing"]
    assert "no pre-export notification sent" in f.title
    sent = authorisation(notification_required=True, notified_at=T0 - 400 * H,
                         notification_status="confirmed")
    assert _exports(settings, [export()], [sent]) == []
    # category 1 always needs one (exports.notification_categories)
    [g] = _exports(settings, [export(category="1")], [authorisation()])
    assert rules(g) == ["notification_missing"] and g.severity == "critical"
    assert g.reasons[0]["values"]["notification_required_by"] == "category"
    # and so does every export to a destination that asked for it
    to_sy = [authorisation(destination_country="SY")]
    [h] = _exports(settings, [export(destination_country="SY")], to_sy)
    assert h.reasons[0]["values"]["notification_required_by"] == "destination"


def _notified(status: str | None, **over: Any) -> dict[str, Any]:
    return authorisation(notification_required=True, notified_at=T0 - 200 * H,
                         notification_deadline=T0 + H, notification_status=status, **over)


def test_shipped_before_the_deadline(settings: CheckSettings) -> None:
    for status in ("pending", None):
        [f] = _exports(settings, [export()], [_notified(status)])
        assert rules(f) == ["shipped_before_deadline"]
    assert _exports(settings, [export(occurred_at=T0 + H)], [_notified("pending")]) == []
    assert _exports(settings, [export()], [_notified("confirmed")]) == []


def test_shipped_after_an_objection(settings: CheckSettings) -> None:
    objected = _notified("objected", responded_at=T0 - H)
    [f] = _exports(settings, [export()], [objected])
    assert rules(f) == ["shipped_after_objection"] and f.score == 1.0
    assert f.reasons[0]["contribution"] == 1.0
    later = _notified("objected", responded_at=T0 + H / 2)
    [g] = _exports(settings, [export()], [later])
    assert rules(g) == ["shipped_before_deadline"]
    past_deadline = _notified("objected", responded_at=T0 + 3 * H)
    assert _exports(settings, [export(occurred_at=T0 + 2 * H)], [past_deadline]) == []


def test_every_export_reason_in_one_finding(settings: CheckSettings) -> None:
    a = authorisation(notification_required=True, notification_deadline=T0 + H,
                      notification_status="pending", quantity_kg=10.0)
    [f] = _exports(settings, [export()], [a])
    assert rules(f) == ["notification_missing", "quantity_exceeded", "shipped_before_deadline"]
    assert f.score == 0.9


# --- the whole run ----------------------------------------------------------------------------


def test_keys_are_stable_and_rows_match(settings: CheckSettings) -> None:
    rows = [sale(registered_at=T0 + 30 * H), purchase(80.0), purchase(at=T0 + 500 * H),
            order(payment="cash"), export(),
            tx(kind="stock_count", quantity_kg=10.0), tx(kind="stock_count", quantity_kg=0.0,
                                                         occurred_at=T0 + H)]
    first = run(rows, settings)
    second = run(list(reversed(rows)), settings)
    assert [f.key for f in first] == [f.key for f in second]
    assert len({f.key for f in first}) == len(first)
    assert {f.kind for f in first} == {"late_registration", "quantity_mismatch",
                                       "unmatched_transfer", "suspicious_order",
                                       "export_without_authorisation", "stock_discrepancy"}
    by_id = {r["id"]: r for r in rows}
    for f in first:
        assert f.references == tuple(by_id[i]["reference"] for i in f.transaction_ids)


def test_empty_frames(settings: CheckSettings) -> None:
    empty = pl.DataFrame()
    assert run_checks(empty, empty, empty, settings, as_of=AS_OF) == []
    assert run([], settings) == []


def test_as_of_must_be_aware(settings: CheckSettings) -> None:
    with pytest.raises(ValueError):
        run([], settings, as_of=datetime(2026, 1, 1))
