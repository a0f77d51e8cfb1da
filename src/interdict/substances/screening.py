"""Verdicts: is a structure controlled, where, and why.

Order of evidence, strongest first: the exact listed structure; the same parent of a salt or
solvate; another stereoisomer of a listed substance (same skeleton, InChIKey first block);
membership of a structural class defined in law; one reaction step from a listed precursor
(designer precursor); and, as information only, the nearest listed structures by Tanimoto.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors
from rdkit.Chem.rdChemReactions import ReactionFromSmarts

from interdict.substances.chem import Structure, standardise
from interdict.substances.identifiers import normalise_name
from interdict.substances.index import DERIVATIVE, IndexedEntry, SubstanceIndex, flat_smiles
from interdict.substances.schemas import Basis, Match, Similar, Verdict

#: Bases that make a substance controlled; the others put it on watch.
CONTROLLING = {Basis.exact, Basis.salt, Basis.stereoisomer, Basis.name, Basis.cas, Basis.class_,
               Basis.derivative}
#: Tanimoto (Morgan radius 2) at or above which an unlisted structure is reported as an analogue
#: of a listed drug. Information for the analyst, not a legal finding.
ANALOGUE_TANIMOTO = 0.75
SIMILAR_REPORTED = 3


def entry_match(item: IndexedEntry, basis: Basis, explanation: str, **extra: object) -> Match:
    return Match(list=item.info.id, list_title=item.info.title,
                 jurisdiction=item.info.jurisdiction, schedule=item.entry.schedule,
                 substance=item.entry.name, basis=basis, explanation=explanation,
                 cas=item.entry.cas, hs_codes=item.entry.hs_codes,
                 control=item.info.kind_of_control, **extra)


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
        if (item.info.id, item.entry.name) in seen or not item.info.includes_stereoisomers \
                or (item.info.id, s.inchikey) in index.excluded:
            continue
        seen.add((item.info.id, item.entry.name))
        matches.append(entry_match(item, Basis.stereoisomer, (
            f"Same skeleton as {item.entry.name} with different stereochemistry (InChIKey "
            f"first block {s.connectivity}); {item.info.title} covers its stereoisomers.")))
    return matches


def _class_matches(index: SubstanceIndex, s: Structure) -> list[Match]:
    matches: list[Match] = []
    counts = s.element_counts
    prefiltered: dict[str, bool] = {}  # prefilter SMARTS -> found, searched once per structure
    for cls in index.classes:
        if any(counts.get(z, 0) < n for z, n in cls.needs.items()):
            continue  # too few atoms of some element to hold the core
        if cls.prefilter is not None and cls.spec.prefilter_smarts is not None:
            key = cls.spec.prefilter_smarts
            if key not in prefiltered:
                prefiltered[key] = s.mol.HasSubstructMatch(cls.prefilter)
            if not prefiltered[key]:
                continue
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


def _precursor_matches(index: SubstanceIndex, s: Structure,
                       possible: set[str]) -> list[Match]:
    matches: list[Match] = []
    seen: set[str] = set()
    for t in index.transformations:
        if t.spec.id not in possible:
            continue  # lacks what every one-step precursor of every target keeps
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


#: One derivative-clause step undone: an ester's acyl group or an ether's acyclic alkyl group
#: removed from the oxygen. Chemistry, not law; which schedules the clause covers is data.
_UNDO = {
    "esters": ReactionFromSmarts(
        "[#6:1][OX2:2][CX3;!R;$(C(=O)[#6]),$([CH1]=O)]=[OX1]>>[#6:1][O:2]"),
    "ethers": ReactionFromSmarts("[#6:1][OX2:2][CX4;!R]>>[#6:1][O:2]"),
}
#: Esters/ethers undone at most this many times (3,6-diesters of morphine need two).
_DERIVATIVE_DEPTH = 2


def _undone(mol: Chem.Mol, kinds: Sequence[str]) -> Iterator[Chem.Mol]:
    """Every structure one ester or ether removal away from ``mol``."""
    for kind in kinds:
        for (product,) in _UNDO[kind].RunReactants((mol,), maxProducts=10):
            try:
                Chem.SanitizeMol(product)
            except Exception:
                continue
            yield product


def _derivative_matches(index: SubstanceIndex, s: Structure,
                        possible: set[str]) -> list[Match]:
    """Esters and ethers of drugs whose schedule covers them (1961 Convention, Schedule I)."""
    if DERIVATIVE not in possible:
        return []  # lacks every covered drug's unchanged environments: cannot be a derivative
    matches: list[Match] = []
    for info, clause in index.derivative_clauses:
        frontier, seen = [s.mol], {flat_smiles(s.mol)}
        for _depth in range(_DERIVATIVE_DEPTH):
            following = []
            for product in (p for mol in frontier for p in _undone(mol, clause.kinds)):
                key = flat_smiles(product)
                if key in seen:
                    continue
                seen.add(key)
                following.append(product)
                for item in index.by_flat_smiles.get(key, []):
                    # Stereo matters here: dextromethorphan's ether cleavage gives dextrorphan,
                    # which the list expressly excepts.
                    if item.info.id != info.id or item.entry.schedule not in clause.schedules \
                            or (info.id, Chem.MolToInchiKey(product)) in index.excluded \
                            or any(m.substance == item.entry.name for m in matches):
                        continue
                    matches.append(entry_match(item, Basis.derivative, (
                        f"An ester or ether of {item.entry.name} ({item.entry.schedule} of "
                        f"{item.info.title}), not listed by itself; the schedule covers "
                        f"\"{clause.text}\"."), product_smiles=key))
            frontier = following
            if not frontier or matches:
                break
    return matches


def _similar(index: SubstanceIndex, s: Structure, n: int = SIMILAR_REPORTED) -> list[Similar]:
    if not index.drug_refs:
        return []
    # Tanimoto = |A & B| / (|A| + |B| - |A & B|); the intersections are the sums of the
    # listed fingerprints' columns at the query's on-bits (a few dozen of 2,048).
    bits = s.on_bits
    common = index.fp_matrix[:, bits].sum(axis=1, dtype=np.int32)
    union = index.fp_counts + len(bits) - common
    arr = common / np.maximum(union, 1)
    # Only the best few matter: take several times as many candidates as reported (duplicates
    # of one structure across lists are skipped below) without sorting every listed structure.
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


def _structure_matches(index: SubstanceIndex, s: Structure) -> list[Match]:
    listed = _listed_matches(index, s)
    # A substance a list expressly excepts (dextromethorphan) gets no finding from that list.
    excepted = {list_id for (list_id, key) in index.excluded if key == s.inchikey}
    # A class definition covers substances "not otherwise controlled" (21 CFR 1308.11(h)(30)
    # says so in terms): where the structure is listed on the class's own list, that listing
    # is the finding and the class is not reported a second time.
    on_list = {m.list for m in listed}
    for m in listed:  # lists without structures (the DEA's) know the substance by name
        on_list.update(i.info.id for i in index.by_name.get(normalise_name(m.substance), []))
    classes = [m for m in _class_matches(index, s) if m.list not in on_list]
    # Which transformations and derivative clauses can apply at all (one matrix look-up).
    possible = index.requirements.met(s.on_bits)
    derivatives = [m for m in _derivative_matches(index, s, possible) if m.list not in on_list]
    found = listed + classes + derivatives + _precursor_matches(index, s, possible)
    return [m for m in found if m.list not in excepted] if excepted else found


def _component_matches(index: SubstanceIndex, s: Structure) -> list[Match]:
    """Matches of the other components of a mixture, each said to be about its component."""
    out: list[Match] = []
    for part in s.components:
        for m in _structure_matches(index, part):
            m.explanation = f"Component {part.smiles} of the input: {m.explanation}"
            m.component_smiles = part.smiles
            m.highlight_atoms = []  # atoms of the component, not of the depicted parent
            out.append(m)
    return out


def _analogue_match(index: SubstanceIndex, s: Structure,
                    similar: list[Similar]) -> Match | None:
    """The nearest listed drug or precursor above the analogue threshold, as a watch finding."""
    for near in similar:
        info = index.list_by_id(near.list)
        if near.tanimoto < ANALOGUE_TANIMOTO or info is None \
                or info.kind_of_control not in ("drug", "precursor") \
                or (info.id, s.inchikey) in index.excluded:
            continue
        what = "analogue legislation" if info.kind_of_control == "drug" \
            else "the catch-all clause for non-scheduled chemicals that can replace it"
        return Match(
            list=near.list, list_title=info.title, jurisdiction=info.jurisdiction,
            schedule=near.schedule, substance=near.substance, basis=Basis.analogue,
            explanation=(f"Not listed, but structurally close to {near.substance} (Tanimoto "
                         f"{near.tanimoto:.2f} on Morgan fingerprints, threshold "
                         f"{ANALOGUE_TANIMOTO}); may fall under {what}."))
    return None


def verdict_for_structure(index: SubstanceIndex, s: Structure, *, input_text: str,
                          input_kind: str, extra: list[Match] | None = None) -> Verdict:
    matches = list(extra or [])
    matches += _structure_matches(index, s)
    matches += _component_matches(index, s)
    similar = _similar(index, s)
    controlled = any(m.basis in CONTROLLING and m.control != "monitoring" for m in matches)
    if not matches and (analogue := _analogue_match(index, s, similar)) is not None:
        matches.append(analogue)
    return Verdict(input=input_text, input_kind=input_kind, parent_smiles=s.smiles,
                   inchikey=s.inchikey, formula=rdMolDescriptors.CalcMolFormula(s.mol),
                   controlled=controlled, watch=bool(matches) and not controlled,
                   matches=matches, similar=similar, reference_versions=dict(index.versions))


def screen_mol(index: SubstanceIndex, mol: Chem.Mol, *, input_text: str,
               tautomer: bool = True, single: bool = False) -> Verdict:
    return verdict_for_structure(index, standardise(mol, tautomer=tautomer, single=single),
                                 input_text=input_text, input_kind="smiles")
