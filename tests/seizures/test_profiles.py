"""Chemical-profile comparison: hand-computed measures, thresholds, links, the generator and
the WEDINOS-derived cutting distribution."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from interdict.errors import InvalidData
from interdict.seizures.profiles import (
    ALL_METHODS,
    DEFAULT_METHOD,
    Kind,
    Measure,
    Method,
    Pretreatment,
    Profile,
    Threshold,
    choose_threshold,
    compare,
    evaluate_methods,
    link_candidates,
    pairwise,
    parse_report,
    roc_auc,
    vectorise,
)
from interdict.seizures.profiles_generate import (
    DEFAULT_CUTTING,
    TEMPLATES,
    GeneratedSeizure,
    cutting_agents_from_wedinos,
    demo_reports,
    generate_seizures,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
WEDINOS = DATA / "substances" / "wedinos"


def _fields(exc: pytest.ExceptionInfo[InvalidData]) -> set[str]:
    return {e.field for e in exc.value.errors}


# ------------------------------------------------------------------------------ reports


def _report(**overrides: object) -> dict[str, object]:
    report: dict[str, object] = {
        "substance": "Cocaine", "purity": 72.5, "form": "powder", "unit": "mg/g",
        "components": {"Tropacocaine": 1.2, "cis-Cinnamoylcocaine": "8.5", "levamisole": 90.0},
        "cutting_agents": ["Levamisole"], "case": "2025/001"}
    report.update(overrides)
    return report


def test_parse_report_canonicalises_names_and_reads_numeric_strings() -> None:
    profile = parse_report(_report())
    assert profile.substance == "cocaine"
    assert profile.components == {"tropacocaine": 1.2, "cis-cinnamoylcocaine": 8.5,
                                  "levamisole": 90.0}
    assert profile.cutting_agents == ["levamisole"]
    assert profile.target_components == {"tropacocaine": 1.2, "cis-cinnamoylcocaine": 8.5}
    assert parse_report(profile.as_report()) == profile


def test_parse_report_accepts_component_lists_with_units() -> None:
    profile = parse_report({"substance": "heroin", "components": [
        {"name": "noscapine", "amount": 3, "unit": "area %"},
        {"name": "papaverine", "amount": 0.4, "unit": "area%"}]})
    assert profile.unit == "area%"
    assert profile.purity is None


@pytest.mark.parametrize(("overrides", "field"), [
    ({"components": {"tropacocaine": -1.0}}, "components.tropacocaine"),
    ({"components": {"tropacocaine": "lots"}}, "components.tropacocaine"),
    ({"purity": 120}, "purity"),
    ({"purity": -0.5}, "purity"),
    ({"unit": "furlongs"}, "unit"),
    ({"unit": None}, "unit"),
    ({"components": {}}, "components"),
    ({"components": None}, "components"),
    ({"substance": ""}, "substance"),
    ({"cutting_agents": "caffeine"}, "cutting_agents"),
    ({"cutting_agents": ["caffeine", ""]}, "cutting_agents[1]"),
    ({"components": {"Noscapine": 1.0, "noscapine ": 2.0}}, "components.noscapine "),
])
def test_parse_report_errors_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidData) as exc:
        parse_report(_report(**overrides))
    assert field in _fields(exc)


def test_parse_report_refuses_mixed_units_and_reports_all_fields() -> None:
    with pytest.raises(InvalidData) as exc:
        parse_report({"substance": "heroin", "unit": "mg/g", "purity": 101, "components": {
            "noscapine": {"amount": 3, "unit": "mg/g"},
            "papaverine": {"amount": 1, "unit": "area%"}}})
    assert _fields(exc) == {"components.papaverine.unit", "purity"}
    with pytest.raises(InvalidData) as exc:
        parse_report(["not", "a", "mapping"])  # type: ignore[arg-type]
    assert _fields(exc) == {"report"}


# ------------------------------------------------------------------------------ vectors


def _p(components: dict[str, float], unit: str = "mg/g", cut: list[str] | None = None,
       substance: str = "cocaine") -> Profile:
    return Profile(substance, components, unit, cutting_agents=cut or [])


def test_vectorise_union_leaves_cutting_agents_out_and_fills_zeros() -> None:
    a = _p({"b": 1.0, "a": 2.0, "caffeine": 50.0}, cut=["caffeine"])
    b = _p({"c": 3.0, "a": 4.0})
    names, matrix = vectorise([a, b])
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(matrix, [[2.0, 1.0, 0.0], [4.0, 0.0, 3.0]])
    names, matrix = vectorise([a, b], ["C", "caffeine"])
    np.testing.assert_array_equal(matrix, [[0.0, 50.0], [3.0, 0.0]])
    assert vectorise([a, b], include_cutting_agents=True)[0] == ["a", "b", "c", "caffeine"]
    with pytest.raises(InvalidData) as exc:
        vectorise([a, _p({"a": 1.0}, unit="area%")])
    assert _fields(exc) == {"profiles[1].unit"}


# ------------------------------------------------------------------------- pretreatments


def test_normalisations_by_hand() -> None:
    x = [[1.0, 3.0, 0.0, 4.0]]
    # sum = 8 -> 1/8, 3/8, 0, 4/8
    np.testing.assert_allclose(Pretreatment("sum", "none").apply(x), [[0.125, 0.375, 0, 0.5]])
    # max = 4 -> 1/4, 3/4, 0, 1
    np.testing.assert_allclose(Pretreatment("max", "none").apply(x), [[0.25, 0.75, 0, 1.0]])
    np.testing.assert_allclose(Pretreatment("none", "none").apply(x), x)
    # an all-zero profile stays zero instead of dividing by 0
    np.testing.assert_allclose(Pretreatment("sum", "none").apply([[0.0, 0.0]]), [[0, 0]])
    # zscore, column 1 over the reference 1, 3, 5: mean 3, sd = sqrt((4 + 0 + 4) / 2) = 2,
    # so 1 -> -1 and 5 -> +1; column 2 is constant (sd 0) and scores 0.
    ref = [[1.0, 0.0], [3.0, 0.0], [5.0, 0.0]]
    z = Pretreatment("zscore", "none").apply([[1.0, 7.0], [5.0, 0.0]], ref)
    np.testing.assert_allclose(z, [[-1.0, 0.0], [1.0, 0.0]])
    # with sqrt the reference 1, 9, 25 becomes 1, 3, 5 again: sqrt(25) = 5 -> +1
    z = Pretreatment("zscore", "sqrt").apply([[25.0, 0.0]], [[1.0, 0], [9.0, 0], [25.0, 0]])
    np.testing.assert_allclose(z, [[1.0, 0.0]])


def test_transforms_by_hand() -> None:
    # sqrt(4, 9, 0, 16) = 2, 3, 0, 4
    np.testing.assert_allclose(Pretreatment("none", "sqrt").apply([[4.0, 9, 0, 16]]),
                               [[2.0, 3, 0, 4]])
    # fourth root (16, 81, 0, 1) = 2, 3, 0, 1
    np.testing.assert_allclose(Pretreatment("none", "fourth_root").apply([[16.0, 81, 0, 1]]),
                               [[2.0, 3, 0, 1]])
    # log10(1 + 9) = 1, log10(1 + 99) = 2, log10(1 + 0) = 0
    np.testing.assert_allclose(Pretreatment("none", "log").apply([[9.0, 99, 0]]), [[1.0, 2, 0]])
    # sum first (9 / 108 etc.) then log: normalisation precedes the transform
    np.testing.assert_allclose(Pretreatment("sum", "log").apply([[9.0, 99, 0]]),
                               [[math.log10(1 + 9 / 108), math.log10(1 + 99 / 108), 0.0]])


def test_pretreatment_names_and_errors() -> None:
    assert Pretreatment.parse("sum+fourth_root") == Pretreatment("sum", "fourth_root")
    assert Pretreatment.parse("max") == Pretreatment("max", "none")
    assert Method.parse("zscore+log/canberra").name == "zscore+log/canberra"
    assert len(ALL_METHODS) == 4 * 4 * 5 and DEFAULT_METHOD.name == "sum+fourth_root/pearson"
    with pytest.raises(InvalidData) as exc:
        Pretreatment.parse("area+cube")
    assert _fields(exc) == {"normalisation", "transform"}
    with pytest.raises(InvalidData):
        Method.parse("sum/cosines")
    with pytest.raises(InvalidData):
        Pretreatment("none", "none").apply([[1.0, -2.0]])


# ------------------------------------------------------------------------------ measures


def _sim(a: list[float], b: list[float], measure: Measure, kind: Kind = "similarity") -> float:
    return compare(a, b, pretreatment="none", measure=measure, kind=kind)


def test_pearson_by_hand() -> None:
    # (1, 2, 3) and (1, 3, 2) centred: (-1, 0, 1), (-1, 1, 0); dot 1; norms sqrt 2 -> r = 1/2
    assert _sim([1, 2, 3], [1, 3, 2], "pearson") == pytest.approx(0.5)
    assert _sim([1, 2, 3], [1, 3, 2], "pearson", "distance") == pytest.approx(0.5)
    assert _sim([1, 2, 3], [6, 4, 2], "pearson") == pytest.approx(-1.0)
    # a constant profile has no correlation with anything
    assert _sim([2, 2, 2], [1, 3, 2], "pearson") == 0.0


def test_cosine_by_hand() -> None:
    # (3, 4) . (4, 3) = 24; norms 5 and 5 -> 24 / 25 = 0.96; distance 1 - 0.96
    assert _sim([3, 4], [4, 3], "cosine") == pytest.approx(0.96)
    assert _sim([3, 4], [4, 3], "cosine", "distance") == pytest.approx(0.04)
    assert _sim([0, 0], [4, 3], "cosine") == 0.0
    # scale does not matter: (3, 4) vs (6, 8) -> 1
    assert _sim([3, 4], [6, 8], "cosine") == pytest.approx(1.0)


def test_distances_by_hand() -> None:
    # Euclidean (0, 0) - (3, 4): sqrt(9 + 16) = 5; similarity 1 / (1 + 5)
    assert _sim([0, 0], [3, 4], "euclidean", "distance") == pytest.approx(5.0)
    assert _sim([0, 0], [3, 4], "euclidean") == pytest.approx(1 / 6)
    # Manhattan (1, 2, 3) - (2, 4, 1): 1 + 2 + 2 = 5; similarity 1 / 6
    assert _sim([1, 2, 3], [2, 4, 1], "manhattan", "distance") == pytest.approx(5.0)
    assert _sim([1, 2, 3], [2, 4, 1], "manhattan") == pytest.approx(1 / 6)
    # Canberra (1, 0, 3) - (3, 0, 1): 2/4 + 0 (both 0) + 2/4 = 1; similarity 1 / 2
    assert _sim([1, 0, 3], [3, 0, 1], "canberra", "distance") == pytest.approx(1.0)
    assert _sim([1, 0, 3], [3, 0, 1], "canberra") == pytest.approx(0.5)
    assert _sim([1, 0, 3], [1, 0, 3], "canberra") == pytest.approx(1.0)


def test_compare_pretreats_before_measuring() -> None:
    # sum: (1, 3) -> (0.25, 0.75), (2, 2) -> (0.5, 0.5); Manhattan 0.25 + 0.25 = 0.5
    assert compare([1, 3], [2, 2], pretreatment="sum", measure="manhattan",
                   kind="distance") == pytest.approx(0.5)
    # dilution cancels: a profile and the same at half the purity are identical after sum
    assert compare([4, 2, 1], [2, 1, 0.5], pretreatment="sum+none", measure="euclidean",
                   kind="distance") == pytest.approx(0.0)
    with pytest.raises(InvalidData) as exc:
        compare([1, 2], [2, 1], pretreatment="zscore+none", measure="pearson")
    assert _fields(exc) == {"reference"}
    a, b = _p({"x": 1.0, "y": 3.0}), _p({"y": 3.0, "z": 2.0})
    # union (x, y, z): (1, 3, 0) vs (0, 3, 2): dot 9, norms sqrt 10 and sqrt 13
    assert compare(a, b, pretreatment="none", measure="cosine") == pytest.approx(
        9 / math.sqrt(130))


def test_pairwise_matches_compare() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.lognormal(size=(6, 5))
    for method in ALL_METHODS[::7]:
        scores = method.pairwise(matrix, matrix)
        assert scores.shape == (6, 6)
        np.testing.assert_allclose(scores, scores.T, atol=1e-12)
        assert scores[1, 4] == pytest.approx(compare(
            matrix[1], matrix[4], pretreatment=method.pretreatment, measure=method.measure,
            reference=matrix))
    np.testing.assert_allclose(np.diag(pairwise(matrix, measure="canberra")), 1.0)


# ---------------------------------------------------------------------------- thresholds


def test_choose_threshold_on_constructed_scores() -> None:
    linked = [0.9, 0.8, 0.7, 0.6, 0.5]
    unlinked = [0.2] * 97 + [0.55, 0.65, 0.75]
    # 1 % of 100 unlinked allows one false link. At 0.5 three unlinked pass (0.55, 0.65,
    # 0.75: 3 %), at 0.6 two (2 %), at 0.7 one (1 %): threshold 0.7, 3 of 5 linked pass.
    t = choose_threshold(linked, unlinked, max_false_link_rate=0.01)
    assert t == Threshold(0.7, 0.01, 0.6, 5, 100)
    # no false link at all: 0.8 (nothing unlinked >= 0.8), 2 of 5 linked
    assert choose_threshold(linked, unlinked, max_false_link_rate=0.0) == Threshold(
        0.8, 0.0, 0.4, 5, 100)
    # 3 % allows the loosest linked score
    assert choose_threshold(linked, unlinked, max_false_link_rate=0.03).value == 0.5
    # distances: same data mirrored; link when distance <= 0.3
    t = choose_threshold([1 - s for s in linked], [1 - s for s in unlinked], kind="distance")
    assert t.value == pytest.approx(0.3) and t.true_link_rate == 0.6 and t.kind == "distance"
    assert t.links(0.3) and not t.links(0.31)
    # nothing qualifies: threshold above every score, nothing linked
    t = choose_threshold([0.1], [0.5], max_false_link_rate=0.0)
    assert t.value > 0.5 and (t.true_link_rate, t.false_link_rate) == (0.0, 0.0)
    with pytest.raises(InvalidData) as exc:
        choose_threshold([], [0.1])
    assert _fields(exc) == {"linked"}
    with pytest.raises(InvalidData):
        choose_threshold([0.5], [0.1], max_false_link_rate=2)


def test_roc_auc_by_hand() -> None:
    # pairs: 0.9 > 0.5, 0.9 > 0.1, 0.4 < 0.5, 0.4 > 0.1 -> 3 of 4
    assert roc_auc([0.9, 0.4], [0.5, 0.1]) == pytest.approx(0.75)
    assert roc_auc([0.5], [0.5]) == pytest.approx(0.5)  # a tie counts half
    assert roc_auc([0.1, 0.2], [0.5], kind="distance") == pytest.approx(1.0)


# ------------------------------------------------------------------------- generated data


@pytest.fixture(scope="module")
def generated() -> list[GeneratedSeizure]:
    return generate_seizures(24, seizures_per_batch=(3, 5), seed=11)


def test_generator_is_reproducible_and_realistic(generated: list[GeneratedSeizure]) -> None:
    assert generate_seizures(24, seizures_per_batch=(3, 5), seed=11) == generated
    batches = {s.batch_id for s in generated}
    assert len(batches) == 24 and 72 <= len(generated) <= 120
    for s in generated:
        p = s.profile
        assert p.unit == "mg/g" and 0 < (p.purity or 0) <= 100
        assert set(p.target_components) <= set(TEMPLATES[p.substance][s.route])
        assert set(p.cutting_agents) <= DEFAULT_CUTTING.agents(p.substance)
    # purity differs within a batch (cutting), the impurity ratios stay close
    by_batch: dict[str, list[Profile]] = {}
    for s in generated:
        by_batch.setdefault(s.batch_id, []).append(s.profile)
    assert any(len({p.purity for p in ps}) > 1 for ps in by_batch.values())
    reports = demo_reports()
    assert len(reports) >= 16 and parse_report(reports[0]).substance in TEMPLATES


def test_same_batch_pairs_score_above_other_pairs(generated: list[GeneratedSeizure]) -> None:
    profiles = [s.profile for s in generated]
    batch_ids = [s.batch_id for s in generated]
    results = evaluate_methods(profiles, batch_ids)
    assert len(results) == len(ALL_METHODS)
    assert [r.auc for r in results] == sorted((r.auc for r in results), reverse=True)
    by_name = {r.method.name: r for r in results}
    sensible = by_name["sum+sqrt/cosine"]
    assert sensible.auc >= 0.95
    assert sensible.threshold.false_link_rate <= 0.01
    assert sensible.threshold.true_link_rate >= 0.5
    assert sensible.linked_median > sensible.unlinked_median
    # raw amounts follow purity, so no normalisation and no transform does worse
    assert by_name["none+none/euclidean"].auc < sensible.auc - 0.1


def test_link_candidates_with_evidence(generated: list[GeneratedSeizure]) -> None:
    profiles = [s.profile for s in generated]
    batch_of = {s.seizure_id: s.batch_id for s in generated}
    method = "sum+sqrt/cosine"
    [result] = evaluate_methods(profiles, [s.batch_id for s in generated], [method])
    links = link_candidates({s.seizure_id: s.profile for s in generated}, result.threshold,
                            method)
    assert links and [lk.score for lk in links] == sorted((lk.score for lk in links),
                                                         reverse=True)
    same = sum(batch_of[lk.id_a] == batch_of[lk.id_b] for lk in links)
    assert same / len(links) >= 0.8
    by_id = {s.seizure_id: s.profile for s in generated}
    for lk in links:
        a, b = by_id[lk.id_a], by_id[lk.id_b]
        assert a.substance == b.substance and lk.score >= result.threshold.value
        ev = lk.evidence
        assert set(ev.shared_cutting_agents) == set(a.cutting_agents) & set(b.cutting_agents)
        assert (ev.purity_a, ev.purity_b) == (a.purity, b.purity)
        assert ev.agreeing and all(c.share_a > 0 and c.share_b > 0 for c in ev.agreeing)
        if ev.disagreeing:
            assert abs(ev.disagreeing[0].log2_ratio) >= abs(ev.agreeing[0].log2_ratio)


def test_link_evidence_by_hand() -> None:
    a = _p({"x": 6.0, "y": 3.0, "z": 1.0, "caffeine": 100.0}, cut=["caffeine"])
    b = _p({"x": 3.0, "y": 1.5, "w": 0.5, "caffeine": 80.0, "lidocaine": 5.0},
           cut=["caffeine", "lidocaine"])
    [link] = link_candidates([("A", a), ("B", b)], 0.0, "sum+none/cosine", top=2)
    ev = link.evidence
    assert (link.id_a, link.id_b) == ("A", "B")
    assert ev.shared_cutting_agents == ("caffeine",) and ev.cutting_agents_only_b == (
        "lidocaine",)
    # targets w, x, y, z; shares a: 0, .6, .3, .1; b: .1, .6, .3, 0 -> x and y agree exactly
    assert [c.component for c in ev.agreeing] == ["x", "y"]
    assert ev.agreeing[0].share_a == pytest.approx(0.6)
    assert {c.component for c in ev.disagreeing} == {"w", "z"}
    assert all(math.isinf(c.log2_ratio) for c in ev.disagreeing)
    # different substances are never compared
    assert link_candidates([("A", a), ("H", _p({"x": 6.0}, substance="heroin"))], 0.0) == []
    with pytest.raises(InvalidData):
        link_candidates([("A", a), ("A", b)], 0.5)


# --------------------------------------------------------------------------------- WEDINOS


def test_cutting_agents_from_wedinos() -> None:
    dist = cutting_agents_from_wedinos(WEDINOS)
    assert dist.source == "wedinos"
    notes = dist.notes
    assert notes["samples read"] == (notes["cut samples"] + notes["uncut samples"]
                                     + notes["substituted (drug not found)"]
                                     + notes["sold-as not attributable"])
    assert notes["samples read"] > 2500 and notes["duplicate samples"] > 0
    # heroin in UK drug checking: cut, mostly with the caffeine-paracetamol mix
    assert dist.samples["heroin"] >= 50
    heroin = dist.agents("heroin")
    assert {"caffeine", "paracetamol"} <= heroin
    assert not heroin & {"heroin", "noscapine", "papaverine", "6-mam", "acetylcodeine"}
    assert any("nitazene" in agent for agent in heroin)
    # genuine benzodiazepine tablets are mostly the drug alone
    combo, weight = dist.for_drug("diazepam")[0]
    assert combo == () and weight > 0.9
    for drug, combos in dist.combos.items():
        assert sum(w for _, w in combos) == pytest.approx(1.0)
        assert all(drug not in combo for combo, _ in combos)
    one = cutting_agents_from_wedinos(WEDINOS / "wedinos_alerts_2024.csv", min_samples=1)
    assert "heroin" in one.combos and one.notes["samples read"] < 200
    # the generator draws heroin cuts from the derived distribution
    seizures = generate_seizures(6, drugs=["heroin"], cutting=dist, seed=2)
    assert {a for s in seizures for a in s.profile.cutting_agents} <= heroin


def test_package_ships_no_wedinos_data() -> None:
    dist = cutting_agents_from_wedinos(WEDINOS)
    source = "".join(p.read_text() for p in (Path(__file__).resolve().parents[2] / "src"
                                             / "interdict" / "seizures").glob("profiles*.py"))
    rare = [a for a in dist.agents("heroin") if "nitazene" in a]
    assert rare and not [a for a in rare if a in source.lower()]
    sample_ids = [line.split(",")[0].split("\t")[0] for line in
                  (WEDINOS / "wedinos_nitazenes_2025.csv").read_text().splitlines()[1:]]
    assert not [i for i in sample_ids if i and i in source]
