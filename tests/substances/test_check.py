"""Verdicts for each basis, bad input, CLI and API."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from interdict.cli.main import cli
from interdict.errors import InvalidData
from interdict.reference.registry import Registry
from interdict.substances import service
from interdict.substances.schemas import CheckQuery

INDEX = service.get_index(Registry())


def check(**kw: str):
    return service.check(index=INDEX, query=CheckQuery(**kw))


def bases(v) -> set[tuple[str, str]]:
    return {(m.substance, m.basis.value) for m in v.matches}


def test_exact_listed_structure():
    v = check(smiles="CC(=O)Cc1ccccc1")
    assert v.controlled and ("1-Phenyl-2-propanone", "exact") in bases(v)
    m = next(m for m in v.matches if m.basis.value == "exact" and m.list == "un-1988-tables")
    assert m.schedule == "Table I" and m.hs_codes == ["2914.31"] and "InChIKey" in m.explanation


def test_salt_form_is_controlled_through_its_parent():
    v = check(smiles="CN[C@@H](C)[C@@H](O)c1ccccc1.Cl")
    assert v.controlled and ("Pseudoephedrine", "salt") in bases(v)
    assert v.parent_smiles == "CN[C@@H](C)[C@@H](O)c1ccccc1"


def test_unlisted_stereoisomer():
    v = check(smiles="CN[C@H](C)[C@H](O)c1ccccc1")  # (+)-ephedrine, not the listed (-)-form
    assert v.controlled and ("Ephedrine", "stereoisomer") in bases(v)


US_FRS = "US fentanyl-related substances class"
CN_CLASS = "China fentanyl-related substances class (2019)"


def test_class_member():
    # Hexanoyl analogue of para-methylfentanyl: on no list by itself.
    v = check(smiles="CCCCCC(=O)N(c1ccccc1)C1CCN(CCc2ccc(C)cc2)CC1")
    assert v.controlled
    cls = next(m for m in v.matches if m.substance == US_FRS)
    assert cls.basis.value == "class" and "21 CFR 1308.11(h)(30)" in cls.explanation
    assert cls.highlight_atoms
    assert ("Fentanyl-related substances", "class") in {(m.schedule, m.basis.value)
                                                         for m in v.matches if m.list == "cn-nncs"}


def test_class_not_reported_for_a_substance_listed_on_the_class_list():
    # Methoxyacetylfentanyl is scheduled by name (UN 1961 and the DEA list): the US class
    # covers only substances "not otherwise controlled", so it is not reported again.
    v = check(smiles="COCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1")
    assert v.controlled and ("Methoxyacetylfentanyl", "exact") in bases(v)
    assert US_FRS not in {m.substance for m in v.matches}


def test_china_class_covers_any_group_in_place_of_phenethyl_but_us_class_does_not():
    v = check(smiles="CCC(=O)N(c1ccccc1)C1CCN(Cc2ccccc2)CC1")  # benzylfentanyl
    found = {m.substance for m in v.matches if m.basis.value == "class"}
    assert v.controlled and CN_CLASS in found and US_FRS not in found
    # Norfentanyl-type amines (N-H piperidine) are outside the Chinese class.
    v = check(smiles="CCC(=O)N(c1ccccc1)C1(C(=O)OC)CCNCC1")  # norcarfentanil
    assert CN_CLASS not in {m.substance for m in v.matches}


def test_amides_of_4_anilinopiperidine_are_us_list_i():
    v = check(smiles="CC(=O)N(c1ccccc1)C1CCNCC1")  # N-acetyl norfentanyl
    m = next(m for m in v.matches if m.basis.value == "class")
    assert v.controlled and m.schedule == "List I" and m.list == "us-dea-schedules"


def test_every_component_of_a_mixture_is_screened():
    # Cocaine cut with sucrose: sucrose is the larger fragment and becomes the parent, but the
    # cocaine in the mixture must still be found.
    cocaine = "COC(=O)[C@H]1[C@@H](OC(=O)c2ccccc2)C[C@@H]2CC[C@H]1N2C"
    sucrose = "OC[C@H]1O[C@@](CO)(O[C@H]2O[C@H](CO)[C@@H](O)[C@H](O)[C@H]2O)[C@@H](O)[C@@H]1O"
    v = check(smiles=f"{sucrose}.{cocaine}")
    hits = [m for m in v.matches if m.substance == "Cocaine"]
    assert v.controlled and hits and all(m.component_smiles for m in hits)
    assert "Component" in hits[0].explanation and v.parent_smiles != hits[0].component_smiles
    # A salt's small counter-ion is not a component.
    salt = check(smiles=f"{cocaine}.Cl")
    assert all(m.component_smiles is None for m in salt.matches)


@pytest.mark.parametrize("smiles, product", [
    # PMK 2-methoxyethyl glycidate (an ester no list names)
    ("COCCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2", "3,4-Methylenedioxyphenyl-2-propanone"),
    ("COC(=O)C1(C)OC1c1ccccc1", "1-Phenyl-2-propanone"),  # BMK methyl glycidate
    ("CCOC(=O)C(C(C)=O)c1ccccc1", "1-Phenyl-2-propanone"),  # EAPA
    ("CC(C)(C)OC(=O)N1CCC(=O)CC1", "4-Piperidone"),
    ("O=C(OCc1ccccc1)N1CCC(Nc2ccccc2)CC1", "4-Anilinopiperidine"),  # Cbz-4-AP
    ("COC(C)(OC)Cc1ccccc1", "1-Phenyl-2-propanone"),  # P2P dimethyl ketal
    ("CC1(Cc2ccccc2)OCCO1", "1-Phenyl-2-propanone"),  # P2P ethylene ketal (a dioxolane)
    ("CC(=O)N1CCC(=O)CC1", "4-Piperidone"),  # 1-acetyl-4-piperidone (amide on a ring N)
])
def test_designer_precursor(smiles, product):
    v = check(smiles=smiles)
    found = [m for m in v.matches if m.basis.value == "designer_precursor"
             and m.list == "un-1988-tables"]
    assert product in {m.substance for m in found}, bases(v)
    m = next(m for m in found if m.substance == product)
    assert "One step" in m.explanation and m.product_smiles


def test_clean_negative():
    v = check(smiles="CC(=O)Nc1ccc(O)cc1")  # paracetamol
    assert not v.controlled and not v.watch and v.matches == []
    assert v.similar and all(s.tanimoto < 0.75 for s in v.similar)


def test_name_cas_and_fuzzy_suggestions():
    assert check(name="  Phényl-acetone ").controlled  # diacritics, case, spacing
    assert "alpha-Phenylacetoacetonitrile" in {m.substance for m in check(cas="4468-48-8").matches}
    dea = check(name="Ketamine")
    assert dea.controlled and "us-dea-schedules" in {m.list for m in dea.matches}
    v = check(name="ketamin")
    assert not v.controlled and "Ketamine" in v.suggestions


@pytest.mark.parametrize("kw, field, words", [
    ({"smiles": "C1CC("}, "smiles", "not valid SMILES"),
    ({"smiles": "c1cccc1"}, "smiles", "invalid chemistry"),
    ({"cas": "103-79-8"}, "cas", "check digit"),
    ({"cas": "12-3"}, "cas", "form"),
])
def test_bad_input_is_a_clear_error(kw, field, words):
    with pytest.raises(InvalidData) as exc:
        check(**kw)
    assert exc.value.errors[0].field == field and words in exc.value.errors[0].reason


def test_exactly_one_identifier():
    with pytest.raises(ValueError):
        CheckQuery(smiles="C", name="x")


def test_cli_check_and_screen(tmp_path):
    r = CliRunner().invoke(cli, ["--json", "substances", "check", "--smiles",
                                 "CC(=O)C(C#N)c1ccccc1"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {"input", "parent_smiles", "inchikey", "controlled", "matches", "similar"} <= set(out)
    assert out["controlled"] and out["matches"][0]["basis"] == "exact"
    f = tmp_path / "batch.smi"
    f.write_text("CC(=O)Cc1ccccc1 p2p\nnot(a)smiles bad\nCCO ethanol\n")
    r = CliRunner().invoke(cli, ["--json", "substances", "screen", str(f)])
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line["row"] for line in lines] == [1, 2, 3]
    assert lines[0]["controlled"] and "error" in lines[1] and not lines[2]["controlled"]
    r = CliRunner().invoke(cli, ["substances", "check", "--cas", "103-79-8"])
    assert r.exit_code == 2 and "check digit" in r.stderr


def test_api_check_and_screen(client, world):
    h = world.headers("lab@a")
    r = client.post("/api/v1/substances/check", json={"name": "APAAN"}, headers=h)
    assert r.status_code == 200 and r.json()["controlled"]
    r = client.post("/api/v1/substances/check", json={"smiles": "C1CC("}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "smiles"
    r = client.post("/api/v1/substances/check", json={"smiles": "C", "cas": "64-17-5"},
                    headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/substances/screen", json={"smiles": ["CC(=O)Cc1ccccc1", "xx("]},
                    headers=h)
    rows = r.json()
    assert rows[0]["verdict"]["controlled"] and rows[1]["error"]
    lists = client.get("/api/v1/substances/lists", headers=h).json()
    assert {x["id"] for x in lists} >= {"un-1988-tables", "us-dea-schedules"}
    entries = client.get("/api/v1/substances/lists/substances/un_1988_tables", headers=h).json()
    assert any(e["name"] == "Safrole" for e in entries)
    assert client.get("/api/v1/substances/lists/nope", headers=h).status_code == 404


def test_stereocentre_next_to_a_carbonyl_survives_standardisation():
    # Cocaine's C-2 is alpha to the ester carbonyl; tautomer canonicalisation must keep it.
    v = check(smiles="COC(=O)[C@H]1[C@@H](OC(=O)c2ccccc2)C[C@@H]2CC[C@H]1N2C.Cl")
    assert ("Cocaine", "salt") in bases(v)
    assert v.parent_smiles == "COC(=O)[C@H]1[C@@H](OC(=O)c2ccccc2)C[C@@H]2CC[C@H]1N2C"


def test_every_listed_structure_checks_as_itself():
    """Single checks and the index standardise alike (a benzodiazepine once came back clear)."""
    missed = []
    for item in INDEX.entries:
        if item.entry.smiles and item.structure is not None:
            v = check(smiles=item.entry.smiles)
            if not any(m.substance == item.entry.name and m.list == item.info.id
                       for m in v.matches):
                missed.append(f"{item.info.id}: {item.entry.name}")
    assert not missed, missed[:20]


@pytest.mark.parametrize("kw, field", [
    ({"smiles": "C" * 1200}, "smiles"),
    ({"smiles": "C" * 200}, "smiles"),
    ({"inchikey": "hello"}, "inchikey"),
])
def test_oversized_and_malformed_identifiers_refused(kw, field):
    with pytest.raises(InvalidData) as exc:
        check(**kw)
    assert exc.value.errors[0].field == field


def test_inchikey_skeleton_only_is_a_stereoisomer_not_exact():
    # Cocaine's skeleton with a stereo block no listed form has.
    v = check(inchikey="ZPUCINDJVBIVPJ-AAAAAAAAAA-N")
    assert v.matches and {m.basis.value for m in v.matches} == {"stereoisomer"}
    assert "skeleton" in v.matches[0].explanation


def test_screen_file_with_bad_bytes_keeps_going(tmp_path):
    f = tmp_path / "mixed.smi"
    f.write_bytes(b"CC(=O)Cc1ccccc1 p2p\n\xff\xfe junk\nCCO ethanol\n")
    rows = list(service.screen(index=INDEX, rows=service.read_structures(str(f))))
    assert rows[0].verdict.controlled and rows[1].error and not rows[2].verdict.controlled


def test_salts_of_hydrochloric_and_sulphuric_acid_are_not_controlled():
    for smiles in ("[Na+].[Cl-]", "[Na+].[Na+].[O-]S(=O)(=O)[O-]"):
        v = check(smiles=smiles)
        assert not any(m.basis.value == "salt" for m in v.matches), bases(v)
    assert check(smiles="Cl").controlled  # hydrochloric acid itself is listed


def test_expressly_excepted_isomer_is_not_controlled():
    # Dextromethorphan: the 1961 Convention excepts it from the isomer clause that covers
    # levomethorphan, so it gets no finding from that list (not even "analogue").
    v = check(smiles="COc1ccc2c(c1)[C@]13CCCC[C@@H]1[C@H](C2)N(C)CC3")
    assert not v.controlled and not any(m.list == "un-1961-schedules" for m in v.matches)
    levo = check(smiles="COc1ccc2c(c1)[C@@]13CCCC[C@H]1[C@@H](C2)N(C)CC3")
    assert levo.controlled and ("Levomethorphan", "exact") in bases(levo)


@pytest.mark.parametrize("smiles, parent", [
    # 6-monoacetylmorphine: an ester of morphine, listed nowhere by itself
    ("CC(=O)O[C@H]1C=C[C@H]2[C@H]3Cc4ccc(O)c5c4[C@@]2(CCN3C)[C@H]1O5", "Morphine"),
    # 3,6-dipropionylmorphine: two ester groups (two steps undone)
    ("CCC(=O)O[C@H]1C=C[C@H]2[C@H]3Cc4ccc(OC(=O)CC)c5c4[C@@]2(CCN3C)[C@H]1O5", "Morphine"),
])
def test_esters_and_ethers_of_schedule_i_drugs(smiles, parent):
    v = check(smiles=smiles)
    m = next(m for m in v.matches if m.basis.value == "derivative")
    assert v.controlled and m.substance == parent and "esters and ethers" in m.explanation


def test_listed_ether_is_reported_under_its_own_listing_not_as_a_derivative():
    v = check(smiles="COc1ccc2C[C@H]3N(C)CC[C@@]45[C@@H](Oc1c24)[C@@H](O)C=C[C@@H]35")  # codeine
    assert ("Codeine", "exact") in bases(v)
    assert not any(m.basis.value == "derivative" for m in v.matches)
