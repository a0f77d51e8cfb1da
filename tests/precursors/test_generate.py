"""The trade-year generator: deterministic, well formed, clean where it should be, and every
injected anomaly listed in the truth. The clean-data invariants are checked here with plain
arithmetic of their own, independent of the generator's code and of the checks engine."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import pytest

from interdict.precursors.generate import (
    AUTHORISATION_COLUMNS,
    OPERATOR_COLUMNS,
    TRANSACTION_COLUMNS,
    TradeYear,
    generate_year,
)
from interdict.precursors.specs import CheckSettings
from interdict.reference.registry import Registry

ANOMALY_KINDS = {"late_registration", "unlicensed_counterparty", "unmatched_transfer",
                 "quantity_mismatch", "stock_discrepancy", "suspicious_order",
                 "export_without_authorisation"}
INFLOWS = {"purchase", "import", "production"}
OUTFLOWS = {"sale", "export", "consumption", "loss", "destruction"}


class Ref:
    """Substance names, categories and densities, read straight from the reference files."""

    def __init__(self) -> None:
        import interdict.substances.service  # noqa: F401  (registers substance lists)

        reg = Registry()
        self.names: dict[str, tuple[str, str]] = {}
        for name in ("substances/eu_273_2004", "substances/precursor_watch_list"):
            for e in reg.get(name).content.model_dump()["entries"]:
                for alias in [e["name"], e.get("cas") or "", *(e.get("synonyms") or [])]:
                    if alias:
                        self.names.setdefault(alias.lower(), (e["name"], str(e["schedule"])))
        self.density = {e["substance"]: e["g_per_ml"] for e in
                        reg.get("precursors/densities").content.model_dump()["entries"]}
        settings = reg.get("precursors/checks").content
        assert isinstance(settings, CheckSettings)
        self.settings = settings

    def canonical(self, text: str) -> tuple[str, str]:
        return self.names[text.lower()]

    def kg(self, row: dict[str, str]) -> float:
        value = float(row["quantity"])
        name = self.canonical(row["substance"])[0]
        unit = row["unit"]
        if unit in ("L", "mL"):
            value *= self.density[name] * (1 if unit == "L" else 0.001)
        return value * {"kg": 1, "g": 0.001, "t": 1000, "L": 1, "mL": 1}[unit]


@pytest.fixture(scope="module")
def ref() -> Ref:
    return Ref()


@pytest.fixture(scope="module")
def clean() -> TradeYear:
    return generate_year(operators=60, transactions=8000, seed=7)


@pytest.fixture(scope="module")
def dirty() -> TradeYear:
    return generate_year(operators=60, transactions=8000, seed=7, anomalies=3)


def when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def test_same_arguments_same_bytes() -> None:
    a = generate_year(operators=30, transactions=3000, seed=11, anomalies=2)
    b = generate_year(operators=30, transactions=3000, seed=11, anomalies=2)
    assert a.operators_csv() == b.operators_csv()
    assert a.transactions_csv() == b.transactions_csv()
    assert a.authorisations == b.authorisations and a.truth == b.truth
    c = generate_year(operators=30, transactions=3000, seed=12, anomalies=2)
    assert c.transactions_csv() != a.transactions_csv()


def test_columns_and_formats(clean: TradeYear, ref: Ref) -> None:
    assert all(tuple(r) == OPERATOR_COLUMNS for r in clean.operators)
    assert all(tuple(r) == TRANSACTION_COLUMNS for r in clean.transactions)
    assert all(tuple(r) == AUTHORISATION_COLUMNS for r in clean.authorisations)
    assert clean.transactions_csv().splitlines()[0] == ",".join(TRANSACTION_COLUMNS)
    assert clean.operators_csv().count("\n") == len(clean.operators) + 1
    assert clean.transactions_jsonl().count("\n") == len(clean.transactions)
    sectors = set(ref.settings.suspicious.sector_end_uses)
    licences = [o["licence"] for o in clean.operators]
    assert len(set(licences)) == len(licences)
    for o in clean.operators:
        assert re.fullmatch(r"[A-Z]{2}-P-\d{6}", o["licence"]) and o["licence"][:2] == o["country"]
        assert o["sector"] in sectors
        assert set(o["categories"].split(";")) <= {"1", "2A", "2B", "3", "4", "national"}
        assert o["kind"] == ("licence" if "1" in o["categories"].split(";") else "registration")
        assert set(o["activities"].split(";")) <= {"manufacture", "trade", "import", "export",
                                                   "use"}
        dt.date.fromisoformat(o["valid_from"])
    assert 7200 <= len(clean.transactions) <= 8800
    refs = [t["reference"] for t in clean.transactions]
    assert len(set(refs)) == len(refs)
    times = [when(t["occurred_at"]) for t in clean.transactions]
    assert times == sorted(times)
    assert len({t["occurred_at"][-6:] for t in clean.transactions}) >= 3
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=3)
    assert start <= times[0] and times[-1] < start + dt.timedelta(days=366)
    kinds = {t["kind"] for t in clean.transactions}
    assert kinds == {"sale", "purchase", "import", "export", "production", "consumption", "loss",
                     "destruction", "stock_count"}
    forms = defaultdict(set)
    for t in clean.transactions:
        name = ref.canonical(t["substance"])[0]
        forms[name].add(t["substance"])
        assert t["unit"] in ("kg", "g", "t", "L", "mL")
        if t["unit"] in ("L", "mL"):
            assert name in ref.density
        assert re.fullmatch(r"\d+(\.\d{1,6})?", t["quantity"]), t["quantity"]
        assert t["kind"] == "stock_count" or float(t["quantity"]) > 0
        assert all(re.fullmatch(r"[A-Z]{2}", c) for c in t["transit_countries"].split(";")
                   if c)
    assert any(len(v) > 1 for v in forms.values())   # names, synonyms and CAS numbers mixed


def test_clean_year_is_clean(clean: TradeYear, ref: Ref) -> None:
    rows = clean.transactions
    ops = {o["licence"]: o for o in clean.operators}
    risky = set(ref.settings.suspicious.high_risk_countries)
    licensed = set(ref.settings.counterparty_licence_categories)
    words = ref.settings.suspicious.sector_end_uses

    def valid(op: dict[str, str], on: dt.date, cat: str) -> bool:
        return (cat in op["categories"].split(";")
                and dt.date.fromisoformat(op["valid_from"]) <= on
                and (not op["valid_to"] or on <= dt.date.fromisoformat(op["valid_to"])))

    purchases: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for t in rows:
        delay = when(t["registered_at"]) - when(t["occurred_at"])
        assert dt.timedelta(0) <= delay < dt.timedelta(hours=24)
        assert t["payment"] in ("", "transfer")
        assert not {t["counterparty_country"], t["destination_country"],
                    *t["transit_countries"].split(";")} & risky
        if t["kind"] == "purchase" and t["counterparty"] in ops:
            key = (t["operator"], t["counterparty"], ref.canonical(t["substance"])[0])
            purchases[key].append(t)
    matched = 0
    history: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t in rows:
        if t["kind"] not in ("sale", "export"):
            continue
        name, cat = ref.canonical(t["substance"])
        kg = ref.kg(t)
        seen = history[(t["counterparty"], name)]
        if len(seen) >= 3:
            assert kg <= 3 * sum(seen) / len(seen), t
        seen.append(kg)
        if t["kind"] == "export":
            continue
        buyer = ops.get(t["counterparty"])
        if buyer is None:
            assert cat in ("3", "watch"), t
            continue
        on = when(t["occurred_at"]).date()
        if cat in licensed:
            assert valid(ops[t["operator"]], on, cat) and valid(buyer, on, cat), t
        assert set(t["end_use"].split()) <= set(words[buyer["sector"]]), t
        candidates = purchases[(t["counterparty"], t["operator"], name)]
        hit = [p for p in candidates if abs(ref.kg(p) - kg) <= 0.01 and dt.timedelta(0) <=
               when(p["occurred_at"]) - when(t["occurred_at"]) <= dt.timedelta(hours=4)]
        assert hit, t
        candidates.remove(hit[0])
        matched += 1
    assert matched > 500
    assert not [p for left in purchases.values() for p in left]   # no purchase without sale


def stock_problems(rows: list[dict[str, str]], ref: Ref) -> tuple[list[tuple[str, str, float]],
                                                                  set[tuple[str, str, str]]]:
    """(count reference, previous count reference, gap in kg) for each count that differs from
    the previous count plus movements by more than 0.1 kg; and positions that went negative."""
    positions: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for t in rows:
        positions[(t["operator"], t["site"], ref.canonical(t["substance"])[0])].append(t)
    gaps: list[tuple[str, str, float]] = []
    negative: set[tuple[str, str, str]] = set()
    for key, items in positions.items():
        items.sort(key=lambda t: when(t["occurred_at"]))
        if items[0]["kind"] != "stock_count":
            continue
        balance, last = ref.kg(items[0]), items[0]["reference"]
        for t in items[1:]:
            kg = ref.kg(t)
            if t["kind"] == "stock_count":
                if abs(kg - balance) > 0.1:
                    gaps.append((t["reference"], last, balance - kg))
                balance, last = kg, t["reference"]
            else:
                balance += kg if t["kind"] in INFLOWS else -kg
            if balance < -0.01:
                negative.add(key)
    return gaps, negative


def test_clean_stock_counts_balance(clean: TradeYear, ref: Ref) -> None:
    first_kind: dict[tuple[str, str, str], str] = {}
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for t in clean.transactions:
        key = (t["operator"], t["site"], ref.canonical(t["substance"])[0])
        first_kind.setdefault(key, t["kind"])
        counts[key] += t["kind"] == "stock_count"
    assert set(first_kind.values()) == {"stock_count"}
    assert min(counts.values()) >= 3
    gaps, negative = stock_problems(clean.transactions, ref)
    assert gaps == [] and negative == set()


def test_clean_exports_are_authorised(clean: TradeYear, ref: Ref) -> None:
    ex = ref.settings.exports
    auths = defaultdict(list)
    for a in clean.authorisations:
        auths[(a["operator"], a["substance"], a["destination_country"])].append(a)
    used: dict[str, float] = defaultdict(float)
    checked = 0
    for t in clean.transactions:
        if t["kind"] != "export":
            continue
        name, cat = ref.canonical(t["substance"])
        if cat not in ex.authorisation_categories:
            continue
        shipped = when(t["occurred_at"])
        day = shipped.date()
        cover = [a for a in auths[(t["operator"], name, t["destination_country"])]
                 if a["valid_from"] <= day.isoformat() <= a["valid_to"]]
        assert len(cover) == 1, t
        a = cover[0]
        used[a["number"]] += ref.kg(t)
        assert used[a["number"]] <= float(a["quantity"]) + 1e-6
        assert a["importer"] == t["counterparty"] and a["response"] != "objected"
        if cat in ex.notification_categories:
            assert a["notification_required"] == "true"
            sent = when(a["notified_at"])
            working = sum(1 for d in range((shipped.date() - sent.date()).days)
                          if (sent.date() + dt.timedelta(days=d)).weekday() < 5)
            confirmed = a["response"] == "confirmed" and when(a["responded_at"]) < shipped
            assert confirmed or working >= ex.notification_working_days
        checked += 1
    assert checked > 10


def test_truth_lists_every_kind(dirty: TradeYear, ref: Ref) -> None:
    by_ref = {t["reference"]: t for t in dirty.transactions}
    kinds: dict[str, int] = defaultdict(int)
    for item in dirty.truth:
        kinds[item["kind"]] += 1
        assert item["references"] and all(r in by_ref for r in item["references"])
        assert by_ref[item["references"][0]]["operator"] == item["operator"]
    assert set(kinds) == ANOMALY_KINDS and min(kinds.values()) == 3
    gaps, negative = stock_problems(dirty.transactions, ref)
    # only the injected stock discrepancies break a balance, and no stock goes negative
    injected = {tuple(t["references"]) for t in dirty.truth if t["kind"] == "stock_discrepancy"}
    assert {(g[0], g[1]) for g in gaps} == injected
    assert all(g[2] >= 10 for g in gaps) and negative == set()
    for item in dirty.truth:
        first = by_ref[item["references"][0]]
        if item["kind"] == "late_registration":
            assert when(first["registered_at"]) - when(first["occurred_at"]) > dt.timedelta(
                hours=24)
        if item["kind"] == "suspicious_order":
            assert first["payment"] in ("cash", "crypto")


def test_clean_part_of_a_dirty_year_is_untouched(clean: TradeYear, dirty: TradeYear) -> None:
    touched = {r for t in dirty.truth for r in t["references"]}
    before = {(t["operator"], t["occurred_at"], t["kind"]) for t in clean.transactions}
    after = {(t["operator"], t["occurred_at"], t["kind"]) for t in dirty.transactions
             if t["reference"] not in touched}
    assert len(after - before) <= 10 and len(before - after) <= 60


def test_small_and_odd_arguments() -> None:
    year = generate_year(operators=4, transactions=400, seed=1)
    assert year.transactions and len(year.operators) >= 4
    later = generate_year(operators=20, transactions=1500, start=dt.date(2026, 3, 15))
    assert later.transactions[0]["occurred_at"].startswith("2026-03-15")
    with pytest.raises(ValueError):
        generate_year(operators=2)


# --- against the checks engine ------------------------------------------------------------


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def working_days_later(sent: dt.datetime, days: int) -> dt.datetime:
    day = sent.date()
    while days:
        day += dt.timedelta(days=1)
        days -= day.weekday() < 5
    return dt.datetime.combine(day, sent.timetz())


def check_frames(year: TradeYear, ref: Ref) -> tuple[Any, Any, Any]:
    """The frames the checks read, built as simply as possible from the generated records."""
    import polars as pl

    from interdict.precursors.frames import AUTHORISATIONS, OPERATORS, TRANSACTIONS

    ops = year.operators
    op_id = {o["licence"]: i + 1 for i, o in enumerate(ops)}
    operators = pl.DataFrame({
        "id": list(op_id.values()), "licence": [o["licence"] for o in ops],
        "name": [o["name"] for o in ops], "country": [o["country"] for o in ops],
        "categories": [o["categories"].split(";") for o in ops], "kind": [o["kind"] for o in ops],
        "valid_from": [dt.date.fromisoformat(o["valid_from"]) for o in ops],
        "valid_to": [dt.date.fromisoformat(o["valid_to"]) if o["valid_to"] else None
                     for o in ops],
        "activities": [o["activities"].split(";") for o in ops],
        "sector": [o["sector"] for o in ops]}, schema=OPERATORS)
    rows = year.transactions
    canon = [ref.canonical(t["substance"]) for t in rows]
    transactions = pl.DataFrame({
        "id": list(range(1, len(rows) + 1)), "operator_id": [op_id[t["operator"]] for t in rows],
        "operator_licence": [t["operator"] for t in rows],
        "reference": [t["reference"] for t in rows], "kind": [t["kind"] for t in rows],
        "substance": [c[0] for c in canon], "category": [c[1] for c in canon],
        "designer_precursor": [False] * len(rows),
        "watch_listed": [c[1] == "watch" for c in canon],
        "quantity_kg": [ref.kg(t) for t in rows],
        "occurred_at": [utc(t["occurred_at"]) for t in rows],
        "registered_at": [utc(t["registered_at"]) for t in rows],
        "counterparty": [t["counterparty"] or None for t in rows],
        "counterparty_operator_id": [op_id.get(t["counterparty"]) for t in rows],
        "counterparty_country": [t["counterparty_country"] or None for t in rows],
        "destination_country": [t["destination_country"] or None for t in rows],
        "transit_countries": [[c for c in t["transit_countries"].split(";") if c]
                              for t in rows],
        "payment": [t["payment"] or None for t in rows],
        "end_use": [t["end_use"] or None for t in rows], "site": [t["site"] for t in rows],
        "is_new": [True] * len(rows)}, schema=TRANSACTIONS)
    auths = year.authorisations
    sent = [utc(a["notified_at"]) if a["notified_at"] else None for a in auths]
    days = ref.settings.exports.notification_working_days
    authorisations = pl.DataFrame({
        "id": list(range(1, len(auths) + 1)), "number": [a["number"] for a in auths],
        "operator_id": [op_id[a["operator"]] for a in auths],
        "substance": [ref.canonical(a["substance"])[0] for a in auths],
        "quantity_kg": [float(a["quantity"]) for a in auths],
        "destination_country": [a["destination_country"] for a in auths],
        "valid_from": [dt.date.fromisoformat(a["valid_from"]) for a in auths],
        "valid_to": [dt.date.fromisoformat(a["valid_to"]) for a in auths],
        "notification_required": [a["notification_required"] == "true" for a in auths],
        "notified_at": sent,
        "notification_deadline": [working_days_later(s, days) if s else None for s in sent],
        "notification_status": [a["response"] or ("pending" if a["notification_required"]
                                                  == "true" else "not_required")
                                for a in auths],
        "responded_at": [utc(a["responded_at"]) if a["responded_at"] else None for a in auths],
    }, schema=AUTHORISATIONS)
    return transactions, operators, authorisations


def engine_findings(year: TradeYear, ref: Ref) -> set[tuple[str, str, frozenset[str]]]:
    checks = pytest.importorskip("interdict.precursors.checks")
    transactions, operators, authorisations = check_frames(year, ref)
    as_of = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)   # the year plus a fortnight
    licence = dict(zip(operators["id"].to_list(), operators["licence"].to_list(), strict=True))
    return {(f.kind, licence[f.operator_id], frozenset(f.references))
            for f in checks.run_checks(transactions, operators, authorisations, ref.settings,
                                       as_of=as_of)}


def test_checks_engine_finds_nothing_in_a_clean_year(clean: TradeYear, ref: Ref) -> None:
    assert engine_findings(clean, ref) == set()


def test_checks_engine_finds_exactly_the_injected_anomalies(dirty: TradeYear, ref: Ref) -> None:
    truth = {(t["kind"], t["operator"], frozenset(t["references"])) for t in dirty.truth}
    found = engine_findings(dirty, ref)
    assert {"missed": truth - found, "extra": found - truth} == {"missed": set(), "extra": set()}
