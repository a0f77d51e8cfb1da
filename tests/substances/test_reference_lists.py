"""Every substance list: structures parse, formulas match, CAS check digits hold, no duplicates."""

from __future__ import annotations

import pytest
from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolDescriptors
from rdkit.Chem.rdChemReactions import ReactionFromSmarts

from interdict.reference.registry import Registry
from interdict.substances.identifiers import cas_problem
from interdict.substances.specs import ClassDefinitions, SubstanceList, TransformationSet

RDLogger.DisableLog("rdApp.*")
REGISTRY = Registry()
LISTS = [n for n in REGISTRY.names() if isinstance(REGISTRY.get(n).content, SubstanceList)]


def test_lists_are_present():
    assert "substances/un_1988_tables" in LISTS


@pytest.mark.parametrize("name", LISTS)
def test_list_entries(name):
    content = REGISTRY.get(name).content
    assert isinstance(content, SubstanceList)
    seen: dict[str, str] = {}
    problems = []
    for entry in content.entries:
        if entry.cas and cas_problem(entry.cas):
            problems.append(f"{entry.name}: CAS {entry.cas}: {cas_problem(entry.cas)}")
        if not entry.smiles:
            continue
        mol = Chem.MolFromSmiles(entry.smiles)
        if mol is None:
            problems.append(f"{entry.name}: SMILES does not parse")
            continue
        formula = rdMolDescriptors.CalcMolFormula(mol)
        if formula != entry.formula:
            problems.append(f"{entry.name}: formula of SMILES is {formula}, "
                            f"recorded {entry.formula}")
        key = Chem.MolToInchiKey(mol)
        if key in seen:
            problems.append(f"{entry.name}: same InChIKey as {seen[key]}")
        seen[key] = entry.name
    assert not problems, "\n".join(problems)


def test_class_and_transformation_files_compile():
    for name in REGISTRY.names():
        content = REGISTRY.get(name).content
        if isinstance(content, ClassDefinitions):
            for cls in content.classes:
                assert Chem.MolFromSmarts(cls.core_smarts) is not None, cls.id
                for mod in cls.allowed + cls.forbidden:
                    if mod.smarts:
                        assert Chem.MolFromSmarts(mod.smarts) is not None, (cls.id, mod)
                assert cls.list_id and cls.legal_reference
        if isinstance(content, TransformationSet):
            for t in content.transformations:
                rxn = ReactionFromSmarts(t.reaction_smarts)
                assert rxn.GetNumReactantTemplates() == 1, t.id
