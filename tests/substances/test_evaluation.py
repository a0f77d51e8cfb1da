"""Screening on the shared evaluation sets (floors guard against regressions).

The figures themselves are reported by `benchmarks/substances_screening.py`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from interdict.reference.registry import Registry
from interdict.substances import service

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "substances"
INDEX = service.get_index(Registry())


def _screen(rows):
    return list(service.screen(index=INDEX, rows=rows))


@pytest.mark.skipif(not DATA.exists(), reason="shared evaluation data not present")
def test_fentanyl_analogues_flagged():
    rows = list(csv.DictReader(open(DATA / "fentanyl_analogs_rt_base_kim2025.csv")))
    res = _screen([(i, r["smiles"], r["compound"]) for i, r in enumerate(rows)])
    missed = {row["compound"] for row, r in zip(rows, res, strict=True)
              if not (r.verdict and r.verdict.controlled)}
    # 90 of 94 (0.957; target 0.97). The four left are outside every definition shipped: two
    # nor-metabolites with a 4-substituent (no acyl 4-AP) and two ANPP analogues that are
    # neither halides nor listed. Flagging them would mean inventing law.
    assert missed == {"Norcarfentanil", "Norsufentanil", "Despropionyl ortho-methyl fentanyl",
                      "Despropionyl-3 methyl fentanyl"}


@pytest.mark.skipif(not DATA.exists(), reason="shared evaluation data not present")
def test_decoys_rarely_flagged_and_each_flag_explained():
    smiles = [line.split()[0] for line in open(DATA / "decoys_chembl28_random2000.smi")
              if line.strip()]
    res = _screen([(i, s, s) for i, s in enumerate(smiles)])
    flagged = [r.verdict for r in res if r.verdict and r.verdict.controlled]
    assert len(flagged) / len(res) <= 0.005
    assert all(m.explanation for v in flagged for m in v.matches)


@pytest.mark.skipif(not DATA.exists(), reason="shared evaluation data not present")
def test_prefilters_never_change_a_verdict():
    """The fingerprint, element-count and shared-SMARTS prefilters only skip work: with them
    switched off, every structure gets exactly the same findings."""
    import copy
    import dataclasses

    from interdict.substances.index import BitRequirements

    unfiltered = copy.copy(INDEX)
    # An empty requirement is always met; a class without needs or prefilter is always tried.
    unfiltered.requirements = BitRequirements(
        [(owner, frozenset()) for owner in set(INDEX.requirements.owners)])
    unfiltered.classes = [dataclasses.replace(c, needs={}, prefilter=None) for c in INDEX.classes]
    fent = [r["smiles"] for r in
            csv.DictReader(open(DATA / "fentanyl_analogs_rt_base_kim2025.csv"))]
    decoys = [line.split()[0] for line in open(DATA / "decoys_chembl28_random2000.smi")
              if line.strip()][:600]
    designer = ["COCCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2", "CC1(Cc2ccccc2)OCCO1",
                "CC(C)(C)OC(=O)N1CCC(Nc2ccccc2)CC1", "CC(=O)O[C@H]1C=C[C@H]2[C@H]3Cc4ccc(O)"
                "c5c4[C@@]2(CCN3C)[C@H]1O5", "N#CC(C(C)=O)c1ccccc1"]
    rows = [(i, s, s) for i, s in enumerate(fent + decoys + designer)]

    def findings(index):
        return [sorted((m.list, m.substance, m.basis.value) for m in r.verdict.matches)
                if r.verdict else r.error for r in service.screen(index=index, rows=rows)]

    fast, slow = findings(INDEX), findings(unfiltered)
    assert fast == slow
    assert sum(1 for f in fast if f) > 90  # the sets do exercise the checks
