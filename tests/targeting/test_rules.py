"""Rule profiles: each condition and operator with a hit and a near miss (on one row and on a
frame, which must agree), the file's refusals with their lines, validity, lists, scores, and
agreement of the two evaluators on thousands of real and synthetic rows."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
import yaml

from interdict.errors import InvalidData
from interdict.reference.registry import Registry
from interdict.targeting.frames import CONSIGNMENT, COUNTER, read_kcs_csv
from interdict.targeting.rules import (
    HIT_COLUMNS,
    SHIPPED_RULES,
    HistoryCounter,
    RuleFileError,
    RuleSet,
    combine,
    combine_frame,
    counters_from_frame,
    evaluate_frame,
    evaluate_one,
    forced_lane,
    load_rules,
    parse_rules,
)
from interdict.targeting.rules_fields import key_expr

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
KCS = "/work/shared/data/customs/df_syn_valid_eng.csv"
KCS_HISTORY = "/work/shared/data/customs/df_syn_train_eng.csv"
LISTS = {"precursor_hs": frozenset({"293941", "291431"}), "eu": frozenset({"DE", "NL", "BE"}),
         "transit_risk": frozenset({"PA", "TR"})}


def row(**over: Any) -> dict[str, Any]:
    """One declaration with harmless values; a test changes what it is about."""
    base: dict[str, Any] = {c: None for c in CONSIGNMENT}
    base.update(kind="declaration", reference="D1", declared_at=AT, office="40",
                declarant="DCL1", importer="IMP1", seller="SEL1", hs_code="392690",
                departure_country="CN", origin_country="CN", route=["CN"], tax_rate=8.0,
                net_mass_kg=10.0, value=1000.0)
    base.update(over)
    return base


def ruleset(*when: dict[str, Any], **rule: Any) -> RuleSet:
    spec = {"id": "r", "title": "t", "owner": "o", "weight": 0.5, "when": list(when), **rule}
    return parse_rules(yaml.safe_dump({"rules": [spec]}))


def counter_frame(counters: dict[tuple[str, str], HistoryCounter]) -> pl.DataFrame:
    rows = [{"key_kind": k, "key_value": v, **{a: getattr(c, a) for a in COUNTER
                                                if a not in ("key_kind", "key_value")}}
            for (k, v), c in counters.items()]
    return pl.DataFrame(rows, schema=COUNTER)


def fires(rs: RuleSet, r: dict[str, Any], counters: dict[tuple[str, str], HistoryCounter],
          lists: dict[str, frozenset[str]] | None = None, at: datetime = AT) -> bool:
    """Whether the rule fires, asserting that the row and frame evaluators agree."""
    one = [h.rule_id for h in evaluate_one(rs, r, counters, lists, at)]
    frame = evaluate_frame(rs, pl.DataFrame([r], schema=CONSIGNMENT), counter_frame(counters),
                           lists, at)
    assert frame["rule_hits"].to_list() == [one], (one, frame["rule_hits"].to_list())
    return bool(one)


# --- field conditions --------------------------------------------------------------------

FIELD_CASES = [
    ({"field": "office", "equals": "40"}, {"office": "40"}, {"office": "41"}),
    ({"field": "tax_rate", "equals": 8}, {"tax_rate": 8.0}, {"tax_rate": 8.5}),
    ({"field": "origin_country", "in": ["CN", "HK"]}, {"origin_country": "HK"},
     {"origin_country": "VN"}),
    ({"field": "origin_country", "not_in": ["CN"]}, {"origin_country": "VN"},
     {"origin_country": None}),
    ({"field": "tax_rate", "in": [0, 8]}, {"tax_rate": 8.0}, {"tax_rate": 6.5}),
    ({"field": "hs_code", "prefix": "29"}, {"hs_code": "293100"}, {"hs_code": "392900"}),
    ({"field": "hs_code", "prefix": ["28", "29"]}, {"hs_code": "284161"},
     {"hs_code": "300490"}),
    ({"field": "value", "above": 1000}, {"value": 1000.5}, {"value": 1000.0}),
    ({"field": "stay_hours", "below": 6}, {"stay_hours": 5.9}, {"stay_hours": 6.0}),
    ({"field": "net_mass_kg", "between": [1, 10]}, {"net_mass_kg": 10.0},
     {"net_mass_kg": 10.01}),
    ({"field": "declarant", "matches": "[A-Z]{3}[0-9]+"}, {"declarant": "ABC123"},
     {"declarant": "xABC123"}),
    ({"field": "hs_code", "in_list": "precursor_hs"}, {"hs_code": "293941"},
     {"hs_code": "293942"}),
    ({"field": "origin_country", "not_in_list": "eu"}, {"origin_country": "CN"},
     {"origin_country": "DE"}),
    ({"field": "seller", "is_null": True}, {"seller": None}, {"seller": "S"}),
    ({"field": "seller", "is_null": False}, {"seller": "S"}, {"seller": None}),
    ({"field": "route", "includes": "TR"}, {"route": ["CN", "TR", "NL"]},
     {"route": ["CN", "NL"]}),
    ({"field": "route", "includes": ["TR", "PA"]}, {"route": ["PA"]}, {"route": []}),
    ({"field": "route", "includes_list": "transit_risk"}, {"route": ["CN", "PA", "NL"]},
     {"route": None}),
    ({"field": "unit_value", "above": 100}, {"value": 1000.0, "net_mass_kg": 5.0},
     {"value": 1000.0, "net_mass_kg": 0.0}),
    ({"field": "hs_chapter", "equals": "29"}, {"hs_code": "293100"}, {"hs_code": "392900"}),
    ({"field": "hs_heading", "in": ["2939"]}, {"hs_code": "293941"}, {"hs_code": "293100"}),
    ({"field": "kind", "equals": "postal"}, {"kind": "postal"}, {"kind": "express"}),
]


@pytest.mark.parametrize("cond, hit, miss", FIELD_CASES,
                         ids=[f"{c['field']}-{next(k for k in c if k != 'field')}"
                              for c, _, _ in FIELD_CASES])
def test_field_operator_hit_and_near_miss(cond, hit, miss):
    rs = ruleset(cond)
    assert fires(rs, row(**hit), {}, LISTS)
    assert not fires(rs, row(**miss), {}, LISTS)


def test_null_fails_every_operator_but_not_inverts_it():
    for cond in ({"field": "seller", "not_in": ["X"]}, {"field": "seller", "prefix": "S"},
                 {"field": "seller", "not_in_list": "eu"}):
        assert not fires(ruleset(cond), row(seller=None), {}, LISTS)
        assert fires(ruleset({"not": cond}), row(seller=None), {}, LISTS)


def _hs_counter(n: int, mean_unit: float, sd: float) -> HistoryCounter:
    """An HS code whose n earlier ln unit values have this mean and sample spread."""
    m = math.log(mean_unit)
    return HistoryCounter(n_declared=n, n_unit=n, sum_log_unit=n * m,
                          sumsq_log_unit=n * m * m + (n - 1) * sd * sd)


def test_unit_value_z_against_the_hs_codes_history():
    counters = {("hs_code", "392690"): _hs_counter(20, 100.0, 0.5)}
    low = ruleset({"field": "unit_value_z", "below": -3})
    # ln(10/100) / sqrt(0.25 + 0.1^2) = -4.5; ln(50/100) / 0.51 = -1.36
    assert fires(low, row(value=100.0, net_mass_kg=10.0), counters)
    assert not fires(low, row(value=500.0, net_mass_kg=10.0), counters)
    high = ruleset({"field": "unit_value_z", "above": 3})
    assert fires(high, row(value=10_000.0, net_mass_kg=10.0), counters)
    assert not fires(high, row(value=2_000.0, net_mass_kg=10.0), counters)
    # Too little history (default min_unit_history 10), or a unit value that is not > 0.
    thin = {("hs_code", "392690"): _hs_counter(9, 100.0, 0.5)}
    assert not fires(low, row(value=100.0, net_mass_kg=10.0), thin)
    assert not fires(ruleset({"field": "unit_value_z", "is_null": False}),
                     row(value=0.0), counters)
    hit = evaluate_one(low, row(value=100.0, net_mass_kg=10.0), counters, None, AT)[0]
    assert hit.values["unit_value_z"] == pytest.approx(math.log(0.1) / math.sqrt(0.26))
    assert hit.detail == "unit_value_z -4.52 < -3"


def test_history_metrics_as_fields():
    c = {("importer", "IMP1"): HistoryCounter(n_declared=4, n_labelled=4, n_positive=3,
                                              last_declared_at=AT - 40 * DAY),
         ("importer|hs_code", "IMP1|392690"): HistoryCounter(n_declared=1)}
    assert fires(ruleset({"field": "importer.positive_rate", "above": 0.7}), row(), c)
    assert not fires(ruleset({"field": "importer.positive_rate", "above": 0.75}), row(), c)
    assert fires(ruleset({"field": "importer.days_since_last", "between": [39.5, 40]}), row(), c)
    assert not fires(ruleset({"field": "importer.days_since_last", "below": 40}), row(), c)
    assert fires(ruleset({"field": "importer|hs_code.n_declared", "equals": 1}), row(), c)
    assert fires(ruleset({"field": "seller.n_declared", "equals": 0}), row(), c)   # never seen
    assert not fires(ruleset({"field": "seller.n_declared", "equals": 0}), row(seller=None), c)
    assert fires(ruleset({"field": "seller.days_since_first", "is_null": True}), row(), c)


# --- history conditions ------------------------------------------------------------------

def _imp(**kw: Any) -> dict[tuple[str, str], HistoryCounter]:
    return {("importer", "IMP1"): HistoryCounter(**kw)}


HISTORY_CASES = [
    ({"declared_at_most": 0}, {}, _imp(n_declared=1)),
    ({"declared_at_least": 5}, _imp(n_declared=5), _imp(n_declared=4)),
    ({"labelled_at_least": 3}, _imp(n_labelled=3), _imp(n_labelled=2)),
    ({"positive_at_least": 2}, _imp(n_positive=2), _imp(n_positive=1)),
    ({"critical_at_least": 1}, _imp(n_critical=1), _imp(n_positive=3)),
    ({"positive_rate_above": 0.5}, _imp(n_labelled=3, n_positive=2),
     _imp(n_labelled=2, n_positive=2)),               # too few outcomes (default 3)
    ({"positive_rate_above": 0.5}, _imp(n_labelled=5, n_positive=3),
     _imp(n_labelled=6, n_positive=3)),               # 0.5 is not above 0.5
    ({"positive_rate_above": 0.5, "min_labelled": 1}, _imp(n_labelled=1, n_positive=1),
     _imp(n_labelled=1, n_positive=0)),
    ({"seen_within_days": 30}, _imp(n_declared=1, last_declared_at=AT - 30 * DAY),
     _imp(n_declared=1, last_declared_at=AT - 30 * DAY - timedelta(seconds=1))),
    ({"seen_within_days": 30}, _imp(n_declared=1, last_declared_at=AT - DAY), {}),
    ({"not_seen_for_days": 180}, _imp(n_declared=1, last_declared_at=AT - 200 * DAY),
     _imp(n_declared=1, last_declared_at=AT - 100 * DAY)),
    ({"not_seen_for_days": 180}, _imp(n_declared=1, last_declared_at=AT - 200 * DAY), {}),
    ({"first_seen_within_days": 30}, _imp(n_declared=2, first_declared_at=AT - 5 * DAY),
     _imp(n_declared=2, first_declared_at=AT - 40 * DAY)),
    ({"declared_at_least": 1, "positive_at_least": 1}, _imp(n_declared=3, n_positive=1),
     _imp(n_declared=3, n_positive=0)),
]


@pytest.mark.parametrize("ops, hit, miss", HISTORY_CASES,
                         ids=[",".join(o) + f"-{i}" for i, (o, _, _) in enumerate(HISTORY_CASES)])
def test_history_operator_hit_and_near_miss(ops, hit, miss):
    rs = ruleset({"history": "importer", **ops})
    assert fires(rs, row(), hit)
    assert not fires(rs, row(), miss)


def test_history_key_with_a_null_part_never_matches():
    rs = ruleset({"history": "importer|hs_code", "declared_at_most": 0})
    assert fires(rs, row(), {})
    assert not fires(rs, row(), {("importer|hs_code", "IMP1|392690"):
                                 HistoryCounter(n_declared=2)})
    assert not fires(rs, row(hs_code=None), {})
    assert rs.history_kinds() == {"importer|hs_code"}


def test_history_ages_count_from_the_consignments_own_time():
    c = _imp(n_declared=1, last_declared_at=datetime(2021, 1, 1, tzinfo=UTC))
    rs = ruleset({"history": "importer", "seen_within_days": 10})
    assert fires(rs, row(declared_at=datetime(2021, 1, 5, tzinfo=UTC)), c)
    assert not fires(rs, row(declared_at=None), c)          # no own time: AT, years later


# --- combinators, validity, kinds --------------------------------------------------------

def test_any_all_not():
    a = {"field": "office", "equals": "40"}
    b = {"field": "origin_country", "equals": "HK"}
    assert fires(ruleset({"any": [a, b]}), row(office="41", origin_country="HK"), {})
    assert not fires(ruleset({"any": [a, b]}), row(office="41"), {})
    assert fires(ruleset({"all": [a, b]}), row(origin_country="HK"), {})
    assert not fires(ruleset({"all": [a, b]}), row(), {})
    assert fires(ruleset({"not": {"any": [b, {"not": a}]}}), row(), {})
    assert not fires(ruleset({"not": a}), row(), {})
    hit = evaluate_one(ruleset({"any": [a, b]}), row(origin_country="HK"), {}, None, AT)[0]
    assert hit.values == {"office": "40", "origin_country": "HK"}
    hit = evaluate_one(ruleset({"not": b}), row(), {}, None, AT)[0]
    assert hit.detail == "origin_country is CN, not HK"


def test_validity_period_is_inclusive_and_in_utc():
    rs = ruleset({"field": "office", "equals": "40"}, valid_from="2026-02-01",
                 valid_to="2026-02-28")
    assert not fires(rs, row(), {}, at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
    assert fires(rs, row(), {}, at=datetime(2026, 2, 1, tzinfo=UTC))
    assert fires(rs, row(), {}, at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    assert not fires(rs, row(), {}, at=datetime(2026, 3, 1, tzinfo=UTC))
    cet = datetime(2026, 3, 1, 0, 30, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=1)))
    assert fires(rs, row(), {}, at=cet.replace(hour=0, minute=30))   # 23:30 UTC on the 28th
    assert [r.id for r in rs.active(datetime(2026, 2, 10, tzinfo=UTC), "declaration")] == ["r"]
    assert rs.active(datetime(2026, 3, 10, tzinfo=UTC), "declaration") == []


def test_kinds_restrict_a_rule():
    rs = ruleset({"field": "stay_hours", "below": 6}, kinds=["aviation"])
    assert fires(rs, row(kind="aviation", stay_hours=2.0), {})
    assert not fires(rs, row(kind="declaration", stay_hours=2.0), {})
    assert not fires(rs, row(kind=None, stay_hours=2.0), {})


# --- lists -------------------------------------------------------------------------------

LISTED = """\
lists:
  risky: [PA]
rules:
  - id: a
    title: t
    owner: o
    weight: 0.5
    when:
      - field: departure_country
        in_list: risky
      - field: origin_country
        in_list: secret
"""


def test_lists_of_the_file_are_replaced_by_the_callers_and_unknown_names_refused():
    rs = parse_rules(LISTED)
    assert rs.list_names() == {"risky", "secret"}
    with pytest.raises(RuleFileError) as exc:
        rs.context({})
    assert [(e.field, e.reason.split(":")[0]) for e in exc.value.errors] == \
        [("rules[0].when[1].in_list", "line 12")]
    assert "unknown list 'secret'" in exc.value.errors[0].reason
    r = row(departure_country="PA", origin_country="CO")
    assert fires(rs, r, {}, {"secret": frozenset({"CO"})})
    assert not fires(rs, r, {}, {"secret": frozenset({"CO"}), "risky": frozenset({"VE"})})


# --- hits, scores, lanes -----------------------------------------------------------------

def test_shipped_profiles_parse_and_explain_a_first_precursor_import():
    rs = load_rules()
    ids = {r.id for r in rs.rules}
    assert {"precursor-first-import", "route-transit-risk", "unit-value-outlier",
            "aviation-short-stay", "importer-bad-record", "craft-listed-country"} <= ids
    assert rs.history_kinds() == {"importer", "seller", "hs_code"}
    hits = {h.rule_id: h for h in evaluate_one(rs, row(hs_code="293941"), {}, None, AT)}
    first = hits["precursor-first-import"]
    assert first.lane == "red" and first.weight == 0.45 and first.owner
    assert first.values == {"hs_code": "293941", "importer.n_declared": 0}
    assert first.detail == "hs_code 293941 is on precursor_hs; importer declared 0 times before"
    assert forced_lane(hits.values()) == ("red", "precursor-first-import")
    plane = row(kind="aviation", hs_code=None, departure_country="VE", route=["VE"],
                stay_hours=3.5)
    hit = {h.rule_id: h for h in evaluate_one(rs, plane, {}, None, AT)}["aviation-short-stay"]
    assert hit.detail == "departure_country VE is on aviation_risk_departures; stay_hours 3.5 < 6"
    boat = row(kind="craft", departure_country="ES", route=["MA", "ES"])
    assert "craft-listed-country" in {h.rule_id for h in evaluate_one(rs, boat, {}, None, AT)}
    assert not evaluate_one(rs, row(kind="craft", departure_country="ES", route=["ES"]),
                            {}, None, AT)


def test_shipped_profiles_are_a_valid_reference_file():
    ref = Registry().get("targeting/rules")
    assert ref.path == SHIPPED_RULES and ref.meta.kind == "targeting_rules"
    assert ref.meta.version and ref.meta.licence


def test_frame_scores_and_forced_lanes():
    text = yaml.safe_dump({"rules": [
        {"id": "g", "title": "t", "owner": "o", "weight": 0.2, "lane": "green",
         "when": [{"field": "office", "equals": "40"}]},
        {"id": "y", "title": "t", "owner": "o", "weight": 0.5, "lane": "yellow",
         "when": [{"field": "origin_country", "equals": "HK"}]},
        {"id": "y2", "title": "t", "owner": "o", "weight": 0.1, "lane": "yellow",
         "when": [{"field": "office", "equals": "40"}]},
    ]})
    rs = parse_rules(text)
    frame = pl.DataFrame([row(), row(origin_country="HK"), row(office="1")], schema=CONSIGNMENT)
    out = evaluate_frame(rs, frame, None, None, AT)
    assert out["rule_hits"].to_list() == [["g", "y2"], ["g", "y", "y2"], []]
    assert out["forced_lane"].to_list() == ["yellow", "yellow", None]
    assert out["forced_by"].to_list() == ["y2", "y", None]
    assert out["rule_score"].to_list() == pytest.approx([1 - 0.8 * 0.9, 1 - 0.8 * 0.5 * 0.9, 0])
    assert out.columns[:len(CONSIGNMENT)] == list(CONSIGNMENT)
    # A partial frame gets only the hit columns added; a scored frame is scored afresh.
    part = evaluate_frame(rs, frame.select("kind", "office", "origin_country"), None, None, AT)
    assert part.columns == ["kind", "office", "origin_country", *HIT_COLUMNS]
    assert part.equals(evaluate_frame(rs, part, None, None, AT))
    assert part["rule_hits"].to_list() == out["rule_hits"].to_list()
    scored = combine_frame(out.with_columns(model_probability=pl.Series([0.5, None, 0.1])))
    assert scored["score"].to_list() == pytest.approx([
        combine(0.5, [0.2, 0.1]), combine(None, [0.2, 0.5, 0.1]), combine(0.1, [])])


def test_combine_is_noisy_or():
    assert combine(None, []) == 0.0
    assert combine(0.5, []) == 0.5
    assert combine(0.5, [0.5]) == pytest.approx(0.75)
    assert combine(None, [0.3, 0.3]) == pytest.approx(0.51)
    assert combine(0.99, [1.0]) == 1.0


def test_frame_refuses_counters_with_a_key_twice():
    rs = ruleset({"history": "importer", "declared_at_most": 0})
    twice = pl.concat([counter_frame(_imp(n_declared=1))] * 2)
    with pytest.raises(InvalidData):
        evaluate_frame(rs, pl.DataFrame([row()], schema=CONSIGNMENT), twice, None, AT)


# --- refusals ----------------------------------------------------------------------------

RULE = """\
rules:
  - id: a
    title: t
    owner: o
    weight: 0.5
    when:
      - field: hs_code
        in: ["293100"]
"""
REFUSALS = [
    # (replace this, with that, field, line, reason contains)
    ("    weight: 0.5\n", "    weight: 1.5\n", "rules[0].weight", 5, "less than or equal to 1"),
    ("    weight: 0.5\n", "    weight: 0\n", "rules[0].weight", 5, "greater than 0"),
    ("    weight: 0.5\n", "    weight: 0.5\n    lane: purple\n", "rules[0].lane", 6,
     "'red', 'yellow', 'blue' or 'green'"),
    ("    weight: 0.5\n", "    wieght: 0.5\n", "rules[0].wieght", 5,
     "unknown rule key 'wieght'; did you mean 'weight'?"),
    ("  - id: a\n", "  - id: A b\n", "rules[0].id", 2, "should match pattern"),
    ("        in:", "        inn:", "rules[0].when[0].inn", 8,
     "unknown field operator 'inn'; did you mean 'in'?"),
    ("        in:", "        like:", "rules[0].when[0].like", 8,
     "unknown field operator 'like'; field operators: equals, in,"),
    ('        in: ["293100"]\n', '        in: ["293100"]\n        prefix: "29"\n',
     "rules[0].when[0]", 7, "exactly one operator (found in, prefix)"),
    ('        in: ["293100"]\n', '        matches: "29[0-"\n', "rules[0].when[0].matches", 8,
     "bad regular expression"),
    ('        in: ["293100"]\n', '        matches: "29(?=1)"\n', "rules[0].when[0].matches", 8,
     "Polars does not support"),
    ("    weight: 0.5\n", "    weight: 0.5\n    valid_from: 2026-02-01\n    valid_to: 2026-01-31\n",
     "rules[0].valid_to", 7, "before valid_from"),
    ("      - field: hs_code\n        in: [\"293100\"]\n",
     "      - field: hs_code\n        in: [\"293100\"]\n      - history: importr\n"
     "        declared_at_most: 0\n", "rules[0].when[1].history", 9,
     "unknown key kind 'importr'; did you mean 'importer'?"),
    ("      - field: hs_code\n", "      - field: hs_cod\n", "rules[0].when[0].field", 7,
     "unknown field 'hs_cod'; did you mean 'hs_code'?"),
    ("      - field: hs_code\n", "      - field: fraud\n", "rules[0].when[0].field", 7,
     "inspection outcome"),
    ('      - field: hs_code\n        in: ["293100"]\n',
     "      - field: office\n        equals: 40\n", "rules[0].when[0].equals", 8, "quotes"),
    ('      - field: hs_code\n        in: ["293100"]\n',
     "      - field: route\n        in_list: transit\n", "rules[0].when[0].in_list", 8,
     "use includes or includes_list"),
    ('      - field: hs_code\n        in: ["293100"]\n',
     "      - field: value\n        between: [10, 1]\n", "rules[0].when[0].between", 8,
     "low is above high"),
    ('      - field: hs_code\n        in: ["293100"]\n',
     "      - history: importer\n        min_labelled: 3\n", "rules[0].when[0]", 7,
     "needs at least one of"),
    ('      - field: hs_code\n        in: ["293100"]\n',
     "      - history: importer|seller\n        declared_at_most: 0\n",
     "rules[0].when[0].history", 7, "'seller|importer'"),
    ('      - field: hs_code\n        in: ["293100"]\n',
     "      - history: importer\n        declared_at_mots: 0\n",
     "rules[0].when[0].declared_at_mots", 8,
     "unknown history operator 'declared_at_mots'; did you mean 'declared_at_most'?"),
    ('      - field: hs_code\n', '      - feld: hs_code\n', "rules[0].when[0]", 7,
     "exactly one of field, history, any, all, not"),
    ('        in: ["293100"]\n', '        in: ["293100"]\n        in: ["293101"]\n',
     "rules[0].when[0].in", 9, "duplicate key 'in'"),
    ("rules:\n", "lists:\n  hs: [290110]\nrules:\n", "lists.hs[0]", 2, "quote them"),
    ('        in: ["293100"]\n', '        in: ["293100"\n', "(file)", 9, ""),
]


@pytest.mark.parametrize("old, new, field, line, reason", REFUSALS,
                         ids=[r[2] + "-" + r[4][:20] for r in REFUSALS])
def test_refusals_name_field_and_line(old, new, field, line, reason):
    assert old in RULE
    with pytest.raises(RuleFileError) as exc:
        parse_rules(RULE.replace(old, new))
    found = [(e.field, e.reason) for e in exc.value.errors]
    assert any(f == field and r.startswith(f"line {line}: ") and reason in r
               for f, r in found), found


def test_duplicate_ids_and_several_problems_are_all_reported():
    second = RULE.split("rules:\n")[1]
    with pytest.raises(RuleFileError) as exc:
        parse_rules(RULE + second)
    assert [(e.field, e.reason) for e in exc.value.errors] == [
        ("rules[1].id", "line 9: duplicate id 'a' (also rules[0])")]
    broken = RULE.replace("0.5", "2") + second.replace("hs_code", "hs_cod")
    with pytest.raises(RuleFileError) as exc:
        parse_rules(broken)
    assert {e.field for e in exc.value.errors} == {"rules[0].weight", "rules[1].id",
                                                   "rules[1].when[0].field"}
    with pytest.raises(RuleFileError):
        parse_rules("- just a list\n")


# --- the two evaluators agree on real and synthetic data ---------------------------------

AGREE_RULES = """\
lists:
  transit_risk: [HK, VN]
  precursor_hs: ["290512", "294190", "293090", "392690"]
  air_risk: [VE, CO]
rules:
  - {id: first, title: t, owner: o, weight: 0.45, lane: red,
     when: [{field: hs_code, in_list: precursor_hs}, {history: importer, declared_at_most: 0}]}
  - {id: transit, title: t, owner: o, weight: 0.25,
     when: {field: route, includes_list: transit_risk}}
  - {id: unit, title: t, owner: o, weight: 0.3,
     when: {any: [{field: unit_value_z, below: -2}, {field: unit_value_z, above: 2}]}}
  - {id: bad, title: t, owner: o, weight: 0.35, lane: yellow,
     when: {history: importer, positive_rate_above: 0.3, min_labelled: 2}}
  - {id: crit, title: t, owner: o, weight: 0.5, lane: yellow,
     when: {history: seller, critical_at_least: 1}}
  - {id: dormant, title: t, owner: o, weight: 0.15,
     when: {history: importer, not_seen_for_days: 60}}
  - {id: recent-pair, title: t, owner: o, weight: 0.1,
     when: {history: importer|hs_code, seen_within_days: 60, declared_at_least: 2}}
  - {id: new-dcl, title: t, owner: o, weight: 0.1,
     when: {history: declarant, first_seen_within_days: 90}}
  - {id: chapter, title: t, owner: o, weight: 0.2,
     when: [{field: hs_chapter, in: ["29", "85"]}, {not: {field: origin_country, in: [CN]}}]}
  - {id: cheap, title: t, owner: o, weight: 0.2, when: {field: unit_value, below: 1}}
  - {id: courier, title: t, owner: o, weight: 0.05, when: {field: courier, is_null: false}}
  - {id: pattern, title: t, owner: o, weight: 0.05, when: {field: seller, matches: "[0-9].*"}}
  - {id: heavy, title: t, owner: o, weight: 0.1,
     when: {field: net_mass_kg, between: [1000, 5000]}}
  - {id: air, title: t, owner: o, weight: 0.6, lane: red, kinds: [aviation],
     when: [{field: departure_country, in_list: air_risk}, {field: stay_hours, below: 6}]}
  - {id: craft, title: t, owner: o, weight: 0.5, lane: blue, kinds: [craft],
     when: {any: [{field: route, includes: [MA, DZ]},
                  {field: origin_country, not_in_list: air_risk}]}}
  - {id: office, title: t, owner: o, weight: 0.05, valid_to: 2020-01-01,
     when: {field: office, prefix: "4"}}
"""


def kcs_counters(history: pl.DataFrame, kinds: set[str]) -> pl.DataFrame:
    """COUNTER rows of ``history`` (everything counted, all outcomes known)."""
    lu = pl.when((pl.col("value") > 0) & (pl.col("net_mass_kg") > 0)) \
        .then((pl.col("value") / pl.col("net_mass_kg")).log())
    parts = []
    for k in sorted(kinds):
        parts.append(
            history.with_columns(key_expr(k).alias("key_value"), lu.alias("lu"))
            .filter(pl.col("key_value").is_not_null())
            .group_by("key_value").agg(
                pl.len().alias("n_declared"),
                pl.col("fraud").is_not_null().sum().alias("n_labelled"),
                (pl.col("fraud") == 1).sum().alias("n_positive"),
                (pl.col("critical") == 2).sum().alias("n_critical"),
                pl.col("lu").is_not_null().sum().alias("n_unit"),
                pl.col("lu").sum().alias("sum_log_unit"),
                (pl.col("lu") ** 2).sum().alias("sumsq_log_unit"),
                pl.col("declared_at").min().alias("first_declared_at"),
                pl.col("declared_at").max().alias("last_declared_at"))
            .with_columns(key_kind=pl.lit(k))
            .select(pl.col(c).cast(t) for c, t in COUNTER.items()))
    return pl.concat(parts)


def synthetic_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Aircraft and pleasure craft reports, and declarations with missing parts."""
    out = []
    countries = ["VE", "CO", "MA", "DZ", "ES", "NL", "HK", "CN", None]
    for i in range(n):
        kind = rng.choice(["aviation", "craft", "declaration", "express", "postal"])
        passed = [rng.choice(countries[:-1]) for _ in range(rng.randint(1, 3))]
        route = rng.choice([None, [], passed])
        out.append(row(
            kind=kind, reference=f"S{i}",
            declared_at=rng.choice([None, AT - rng.random() * 400 * DAY]),
            importer=rng.choice([None, "IMP1", "OP1", f"OP{rng.randint(1, 20)}"]),
            declarant=rng.choice([None, "DCL1", f"D{rng.randint(1, 5)}"]),
            seller=rng.choice([None, "SEL1", "9X"]), courier=rng.choice([None, "C1"]),
            hs_code=rng.choice([None, "293090", "851712", "392690"]),
            departure_country=rng.choice(countries), origin_country=rng.choice(countries),
            route=route, office=rng.choice(["40", "41", None]),
            stay_hours=rng.choice([None, rng.uniform(0, 12), 6.0]),
            net_mass_kg=rng.choice([None, 0.0, rng.uniform(0.1, 6000)]),
            value=rng.choice([None, 0.0, rng.uniform(1, 100_000)])))
    return out


@pytest.fixture(scope="module")
def agreement_data():
    rs = parse_rules(AGREE_RULES)
    history = read_kcs_csv(KCS_HISTORY)
    frame = read_kcs_csv(KCS)
    rng = random.Random(7)
    extra = synthetic_rows(rng, 2500)
    counters = kcs_counters(history, rs.history_kinds())
    ops = [{"key_kind": "importer", "key_value": f"OP{i}", "n_declared": i, "n_labelled": i % 4,
            "n_positive": i % 3 if i % 4 else 0, "n_critical": 0, "n_unit": 0,
            "sum_log_unit": 0.0, "sumsq_log_unit": 0.0,
            "first_declared_at": AT - (i * 20) * DAY, "last_declared_at": AT - (i * 5) * DAY}
           for i in range(1, 15)]
    counters = pl.concat([counters, pl.DataFrame(ops, schema=COUNTER)])
    frame = pl.concat([frame, pl.DataFrame(extra, schema=CONSIGNMENT)])
    return rs, frame, counters


def test_frame_and_row_evaluators_agree_on_real_and_synthetic_rows(agreement_data):
    rs, frame, counters = agreement_data
    out = evaluate_frame(rs, frame, counters, None, AT)
    ctx = rs.context(None)
    cmap = counters_from_frame(counters)
    rows = frame.to_dicts()
    hits = [ctx.evaluate(r, cmap, AT) for r in rows]
    assert out["rule_hits"].to_list() == [[h.rule_id for h in hs] for hs in hits]
    assert out["rule_score"].to_list() == [combine(None, [h.weight for h in hs]) for hs in hits]
    assert list(zip(out["forced_lane"], out["forced_by"], strict=True)) == \
        [forced_lane(hs) for hs in hits]
    fired = {rid for ids in out["rule_hits"] for rid in ids}
    assert fired == {r.id for r in rs.rules} - {"office"}     # every rule is exercised
