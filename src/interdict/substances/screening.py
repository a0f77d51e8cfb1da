"""Verdicts: is a structure controlled, where, and why.

Order of evidence, strongest first: the exact listed structure; the same parent of a salt or
solvate; another stereoisomer of a listed substance (same skeleton, InChIKey first block);
membership of a structural class defined in law; one reaction step from a listed precursor
(designer precursor); and, as information only, the nearest listed structures by Tanimoto.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdMolDescriptors

from interdict.substances.chem import Structure, standardise
from interdict.substances.index import IndexedEntry, SubstanceIndex, fingerprint, flat_smiles
from interdict.substances.schemas import Basis, Match, Similar, Verdict

#: Bases that make a substance controlled; the others put it on watch.
CONTROLLING = {Basis.exact, Basis.salt, Basis.stereoisomer, Basis.name, Basis.cas, Basis.class_}
#: Tanimoto (Morgan radius 2) at or above which an unlisted structure is reported as an analogue
#: of a listed drug. Information for the analyst, not a legal finding.
ANALOGUE_TANIMOTO = 0.75
SIMILAR_REPORTED = 3


def entry_match(item: IndexedEntry, basis: Basis, explanation: str, **extra: object) -> Match:
    return Match(list=item.info.id, list_title=item.info.title,
                 jurisdiction=item.info.jurisdiction, schedule=item.entry.schedule,
                 substance=item.entry.name, basis=basis, explanation=explanation,
                 cas=item.entry.cas, hs_codes=item.entry.hs_codes, **extra)


def _listed_matches(index: SubstanceIndex, s: Structure) -> list[Match]:
    matches: list[Match] = []
    seen: set[tuple[str, str]] = set()
    for item in index.by_inchikey.get(s.inchikey, []):
        seen.add((item.info.id, item.entry.name))
        if s.fragments > 1:
            if not item.info.includes_salts or item.entry.salts_excluded:
                continue
            matches.append(entry_match(item, Basis.salt, (
                f"The parent of this {s.fragments}-component input is {item.entry.name}, "
                f"listed in {item.entry.schedule} of {item.info.title}; the list covers its "
                f"salts.")))
        else:
            matches.append(entry_match(item, Basis.exact, (
                f"Identical to {item.entry.name} (InChIKey {s.inchikey}), listed in "
                f"{item.entry.schedule} of {item.info.title}.")))
    for item in index.by_connectivity.get(s.connectivity, []):
        if (item.info.id, item.entry.name) in seen or not item.info.includes_stereoisomers:
            continue
        seen.add((item.info.id, item.entry.name))
        matches.append(entry_match(item, Basis.stereoisomer, (
            f"Same skeleton as {item.entry.name} with different stereochemistry (InChIKey "
            f"first block {s.connectivity}); {item.info.title} covers its stereoisomers.")))
    return matches


def _class_matches(index: SubstanceIndex, s: Structure) -> list[Match]:
    matches: list[Match] = []
    for cls in index.classes:
        hit = s.mol.GetSubstructMatch(cls.core)
        if not hit:
            continue
        excluded = next((d for d, patt in cls.forbidden if s.mol.HasSubstructMatch(patt)), None)
        if excluded:
            continue
        allowed = "; ".join(m.description for m in cls.spec.allowed)
        list_id = cls.info.id if cls.info else cls.spec.list_id
        matches.append(Match(
            list=list_id, list_title=cls.info.title if cls.info else cls.spec.instrument,
            jurisdiction=cls.spec.jurisdiction,
            schedule=cls.spec.schedule, substance=cls.spec.name, basis=Basis.class_,
            explanation=(f"Contains the core of the {cls.spec.name} ({cls.spec.legal_reference})"
                         + (f"; the definition allows: {allowed}" if allowed else "")
                         + "; none of its exclusions applies."),
            highlight_atoms=s.smiles_positions(hit)))
    return matches


def _precursor_matches(index: SubstanceIndex, s: Structure) -> list[Match]:
    matches: list[Match] = []
    seen: set[str] = set()
    for t in index.transformations:
        try:
            outcomes = t.reaction.RunReactants((s.mol,), maxProducts=20)
        except Exception:
            continue
        for products in outcomes:
            for product in products:
                # Cheap necessary condition before sanitising and writing SMILES: a product
                # can only be a target if it has a target's number of heavy atoms.
                if product.GetNumHeavyAtoms() not in index.target_sizes:
                    continue
                try:
                    Chem.SanitizeMol(product)
                    product_smiles = flat_smiles(product)
                except Exception:
                    continue
                # Compared without stereo: the listings cover stereoisomers, and a one-pot
                # conversion rarely preserves every stereocentre anyway.
                for item in index.by_flat_smiles.get(product_smiles, []):
                    if item.entry.schedule not in index.target_schedules.get(item.info.id, ()):
                        continue
                    key = f"{item.info.id}:{item.entry.name}"
                    if key in seen or item.structure is None \
                            or item.structure.inchikey == s.inchikey:
                        continue
                    seen.add(key)
                    matches.append(entry_match(item, Basis.designer_precursor, (
                        f"One step ({t.spec.name}) converts it to {item.entry.name}, listed in "
                        f"{item.entry.schedule} of {item.info.title}: {t.spec.description}"),
                        product_smiles=product_smiles))
    return matches


def _similar(index: SubstanceIndex, s: Structure, n: int = SIMILAR_REPORTED) -> list[Similar]:
    if not index.drug_fps:
        return []
    scores = DataStructs.BulkTanimotoSimilarity(fingerprint(s.mol), index.drug_fps)
    # Only the best few matter: take twice as many candidates as reported (duplicates of one
    # structure across lists are skipped below) without sorting every listed structure.
    arr = np.fromiter(scores, dtype=np.float64, count=len(scores))
    k = min(4 * n, len(arr))
    top = np.argpartition(-arr, k - 1)[:k]
    top = top[np.argsort(-arr[top], kind="stable")]
    best: dict[str, Similar] = {}
    for score, item in ((float(arr[i]), index.drug_refs[int(i)]) for i in top):
        if item.structure is None or item.structure.inchikey == s.inchikey:
            continue
        key = item.structure.inchikey
        if key not in best:
            best[key] = Similar(substance=item.entry.name, list=item.info.id,
                                schedule=item.entry.schedule, tanimoto=round(score, 3),
                                smiles=item.structure.smiles)
        if len(best) >= n:
            break
    return list(best.values())


def verdict_for_structure(index: SubstanceIndex, s: Structure, *, input_text: str,
                          input_kind: str, extra: list[Match] | None = None) -> Verdict:
    matches = list(extra or [])
    matches += _listed_matches(index, s)
    matches += _class_matches(index, s)
    matches += _precursor_matches(index, s)
    similar = _similar(index, s)
    controlled = any(m.basis in CONTROLLING for m in matches)
    if not matches:
        drugs = [x for x in similar if x.tanimoto >= ANALOGUE_TANIMOTO
                 and (lst := index.list_by_id(x.list)) is not None
                 and lst.kind_of_control == "drug"]
        if drugs:
            near = drugs[0]
            matches.append(Match(
                list=near.list, list_title=index.list_by_id(near.list).title,  # type: ignore[union-attr]
                jurisdiction=index.list_by_id(near.list).jurisdiction,  # type: ignore[union-attr]
                schedule=near.schedule, substance=near.substance, basis=Basis.analogue,
                explanation=(f"Not listed, but structurally close to {near.substance} "
                             f"(Tanimoto {near.tanimoto:.2f} on Morgan fingerprints, threshold "
                             f"{ANALOGUE_TANIMOTO}); may fall under analogue legislation.")))
    return Verdict(input=input_text, input_kind=input_kind, parent_smiles=s.smiles,
                   inchikey=s.inchikey, formula=rdMolDescriptors.CalcMolFormula(s.mol),
                   controlled=controlled, watch=bool(matches) and not controlled,
                   matches=matches, similar=similar, reference_versions=dict(index.versions))


def screen_mol(index: SubstanceIndex, mol: Chem.Mol, *, input_text: str,
               tautomer: bool = True) -> Verdict:
    return verdict_for_structure(index, standardise(mol, tautomer=tautomer),
                                 input_text=input_text, input_kind="smiles")
