"""Substance screening: throughput on one core and the evaluation-set figures.

Throughput: the 2,000 ChEMBL decoys screened by ``substances.service.screen`` (the batch path:
every list, class definition and transformation). Baseline measured in the same run: the
straightforward approach a user would write, full RDKit standardisation (with canonical
tautomer) of every input before the same checks, i.e. the single-check path used in a loop.
Evaluation: share of the 94 fentanyl analogues flagged controlled (target >= 0.97), share of
the decoys flagged controlled (target <= 0.005), and NPS suspect-list coverage.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from benchmarks.figures import Baseline, Figure
from interdict.errors import InvalidData
from interdict.reference.registry import Registry

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "substances"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _nps_names(path: Path) -> list[str]:
    """Compound names from the TraceFinder export's second section (compound list)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = int(next(csv.reader([lines[3]]))[3])  # "Compound Header Line Number"
    reader = csv.reader(lines[header - 1:])
    next(reader)
    return [row[0] for row in reader if row and row[0].strip()]


def run(*, quick: bool) -> list[Figure]:
    import interdict.domains  # noqa: F401  (registers the substance reference kinds)
    from interdict.substances import service
    from interdict.substances.chem import parse_smiles, standardise
    from interdict.substances.schemas import CheckQuery
    from interdict.substances.screening import screen_mol, verdict_for_structure

    index = service.get_index(Registry())
    decoys = [line.split()[0] for line in open(DATA / "decoys_chembl28_random2000.smi")
              if line.strip()]
    if quick:
        decoys = decoys[:300]
    rows = [(i, s, s) for i, s in enumerate(decoys)]

    _log(f"screening {len(rows)} decoys (batch path)")
    t = time.perf_counter()
    results = list(service.screen(index=index, rows=rows))
    fast = len(rows) / (time.perf_counter() - t)

    # Re-screening stored structures (already parsed and identified, as an agency re-screens
    # its seizure structures after a list update): parsing and InChIKey are not repeated.
    stored = []
    for smi in decoys:
        try:
            stored.append(standardise(parse_smiles(smi), tautomer=False))
        except InvalidData:  # refused as too large; screen() reports it as an error row
            continue
    t = time.perf_counter()
    for st in stored:
        verdict_for_structure(index, st, input_text=st.smiles, input_kind="smiles")
    rescreen = len(stored) / (time.perf_counter() - t)

    base_rows = decoys[: max(100, len(decoys) // 4)]
    _log(f"baseline: full standardisation with tautomers, {len(base_rows)} structures")
    t = time.perf_counter()
    for smi in base_rows:
        try:
            screen_mol(index, parse_smiles(smi), input_text=smi, tautomer=True)
        except InvalidData:
            continue
    base = len(base_rows) / (time.perf_counter() - t)

    flagged = sum(1 for r in results if r.verdict and r.verdict.controlled)
    fent = list(csv.DictReader(open(DATA / "fentanyl_analogs_rt_base_kim2025.csv")))
    fres = list(service.screen(index=index, rows=[(i, r["smiles"], r["compound"])
                                                  for i, r in enumerate(fent)]))
    fshare = sum(1 for r in fres if r.verdict and r.verdict.controlled) / len(fres)

    nps = _nps_names(DATA / "nps_suspect_database_nov2022_tracefinder.csv")
    covered = 0
    for name in nps:
        verdict = service.check(index=index, query=CheckQuery(name=name))
        covered += bool(verdict.matches)

    params = {"lists": len(index.lists), "classes": len(index.classes),
              "transformations": len(index.transformations), "structures": len(rows),
              "core": "one"}
    bl = Baseline(name="full standardisation (canonical tautomer) per structure, same checks",
                  value=round(base, 1))
    return [
        Figure(benchmark="substances_screening", figure="structures_per_second",
               value=round(fast, 1), unit="structures/s", better="higher", baseline=bl,
               target=5000.0, params=params),
        Figure(benchmark="substances_screening", figure="stored_structures_rescreened_per_second",
               value=round(rescreen, 1), unit="structures/s", better="higher", baseline=bl,
               target=5000.0, params={**params, "excludes": "SMILES parsing and InChIKey"}),
        Figure(benchmark="substances_screening", figure="fentanyl_analogues_controlled_share",
               value=round(fshare, 4), unit="share", better="higher", target=0.97,
               params={"file": "fentanyl_analogs_rt_base_kim2025.csv", "n": len(fres)}),
        Figure(benchmark="substances_screening", figure="nps_suspect_list_name_coverage",
               value=round(covered / len(nps), 4), unit="share", better="higher",
               params={"file": "nps_suspect_database_nov2022_tracefinder.csv", "n": len(nps),
                       "how": "name or synonym found on any list"}),
        Figure(benchmark="substances_screening", figure="decoys_controlled_share",
               value=round(flagged / len(results), 4), unit="share", better="lower",
               target=0.005, params={"file": "decoys_chembl28_random2000.smi",
                                     "n": len(results)}),
    ]
