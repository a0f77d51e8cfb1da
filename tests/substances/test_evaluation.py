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
    share = sum(1 for r in res if r.verdict and r.verdict.controlled) / len(res)
    assert share >= 0.75  # measured 0.766 with the current lists; target 0.97


@pytest.mark.skipif(not DATA.exists(), reason="shared evaluation data not present")
def test_decoys_rarely_flagged_and_each_flag_explained():
    smiles = [line.split()[0] for line in open(DATA / "decoys_chembl28_random2000.smi")
              if line.strip()]
    res = _screen([(i, s, s) for i, s in enumerate(smiles)])
    flagged = [r.verdict for r in res if r.verdict and r.verdict.controlled]
    assert len(flagged) / len(res) <= 0.005
    assert all(m.explanation for v in flagged for m in v.matches)
