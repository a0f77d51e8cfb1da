"""The in-memory index every check runs against, built once from the reference files.

Built from whatever substance lists, class definitions and transformation sets the reference
registry holds (shipped files plus ``INTERDICT_REFERENCE_PATH``), so a national or confidential
list dropped into the override directory is screened like the shipped ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.rdChemReactions import ChemicalReaction, ReactionFromSmarts

from interdict.reference.registry import Registry
from interdict.substances.chem import MORGAN, Structure, standardise
from interdict.substances.identifiers import normalise_name
from interdict.substances.specs import (
    ClassDefinitions,
    DerivativeClause,
    ExcludedSubstance,
    StructuralClass,
    SubstanceEntry,
    SubstanceList,
    Transformation,
    TransformationSet,
)


def fingerprint(mol: Chem.Mol) -> DataStructs.ExplicitBitVect:
    return MORGAN.GetFingerprint(mol)


_HYDROXYL = Chem.MolFromSmarts("[OX2H1]")


def bits_kept_by_o_substitution(mol: Chem.Mol) -> frozenset[int]:
    """Morgan bits of ``mol`` that every ester or ether of its hydroxyl groups also has.

    Putting an acyl or alkyl group on an OH changes the oxygen's own invariants and the
    radius-1 environments of its neighbours; environments of radius 0 and 1 centred two or
    more bonds away from every hydroxyl oxygen (radius 0 one bond away) stay the same. Their
    bits are a cheap necessary condition: an input that lacks one cannot be such a derivative.
    """
    oxygens = [m[0] for m in mol.GetSubstructMatches(_HYDROXYL)]
    distances = Chem.GetDistanceMatrix(mol)
    info = rdFingerprintGenerator.AdditionalOutput()
    info.AllocateBitInfoMap()
    MORGAN.GetFingerprint(mol, additionalOutput=info)
    kept: set[int] = set()
    for bit, environments in info.GetBitInfoMap().items():
        for atom, radius in environments:
            nearest = min((distances[atom][o] for o in oxygens), default=99.0)
            if radius <= 1 and nearest >= 1 + radius:
                kept.add(bit)
                break
    return frozenset(kept)


def flat_smiles(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol, isomericSmiles=False)


@dataclass(frozen=True)
class ListInfo:
    id: str
    name: str  # registry name, e.g. substances/un_1988_tables
    title: str
    version: str
    jurisdiction: str
    kind_of_control: str
    includes_salts: bool
    includes_stereoisomers: bool
    checksum: str


@dataclass
class IndexedEntry:
    info: ListInfo
    entry: SubstanceEntry
    structure: Structure | None


@dataclass
class CompiledClass:
    spec: StructuralClass
    info: ListInfo | None
    core: Chem.Mol
    forbidden: list[tuple[str, Chem.Mol]]


@dataclass
class CompiledTransformation:
    spec: Transformation
    reaction: ChemicalReaction


@dataclass
class SubstanceIndex:
    lists: dict[str, ListInfo] = field(default_factory=dict)
    entries: list[IndexedEntry] = field(default_factory=list)
    by_inchikey: dict[str, list[IndexedEntry]] = field(default_factory=lambda: defaultdict(list))
    by_connectivity: dict[str, list[IndexedEntry]] = field(
        default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[IndexedEntry]] = field(default_factory=lambda: defaultdict(list))
    by_cas: dict[str, list[IndexedEntry]] = field(default_factory=lambda: defaultdict(list))
    names: dict[str, str] = field(default_factory=dict)  # normalised -> display name
    classes: list[CompiledClass] = field(default_factory=list)
    transformations: list[CompiledTransformation] = field(default_factory=list)
    target_schedules: dict[str, set[str]] = field(default_factory=dict)
    #: Heavy-atom counts of the transformation targets (a cheap pre-check on products).
    target_sizes: set[int] = field(default_factory=set)
    #: Non-stereo canonical SMILES of every listed structure, for cheap product look-ups.
    by_flat_smiles: dict[str, list[IndexedEntry]] = field(
        default_factory=lambda: defaultdict(list))
    #: (list id, InChIKey) of substances a list expressly excepts from its isomer clause.
    excluded: dict[tuple[str, str], ExcludedSubstance] = field(default_factory=dict)
    #: Lists whose schedules extend to esters/ethers of their substances.
    derivative_clauses: list[tuple[ListInfo, DerivativeClause]] = field(default_factory=list)
    #: For each hydroxylated substance a derivative clause covers, the Morgan bits its esters
    #: and ethers keep (a prefilter: see ``bits_kept_by_o_substitution``).
    derivative_bits: list[frozenset[int]] = field(default_factory=list)
    drug_fps: list[DataStructs.ExplicitBitVect] = field(default_factory=list)
    drug_refs: list[IndexedEntry] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    def list_by_id(self, list_id: str) -> ListInfo | None:
        return next((i for i in self.lists.values() if i.id == list_id), None)


def build_index(registry: Registry) -> SubstanceIndex:
    index = SubstanceIndex()
    class_files: list[ClassDefinitions] = []
    for name in registry.names():
        ref = registry.get(name)
        content = ref.content
        if isinstance(content, SubstanceList):
            info = ListInfo(id=content.meta.id, name=name, title=content.meta.title,
                            version=content.meta.version, jurisdiction=content.jurisdiction,
                            kind_of_control=content.kind_of_control,
                            includes_salts=content.includes_salts,
                            includes_stereoisomers=content.includes_stereoisomers,
                            checksum=ref.checksum)
            index.lists[name] = info
            index.versions[content.meta.id] = content.meta.version
            for ex in content.excluded:
                key = standardise(Chem.MolFromSmiles(ex.smiles), tautomer=False).inchikey
                index.excluded[(info.id, key)] = ex
            index.derivative_clauses += [(info, clause) for clause in content.derivative_clauses]
            for entry in content.entries:
                structure = None
                if entry.smiles:
                    mol = Chem.MolFromSmiles(entry.smiles)
                    if mol is not None:
                        structure = standardise(mol, tautomer=False)
                item = IndexedEntry(info=info, entry=entry, structure=structure)
                index.entries.append(item)
                for label in [entry.name, *entry.synonyms]:
                    key = normalise_name(label)
                    index.by_name[key].append(item)
                    index.names.setdefault(key, label)
                if entry.cas:
                    index.by_cas[entry.cas].append(item)
                if structure is not None:
                    index.by_inchikey[structure.inchikey].append(item)
                    index.by_connectivity[structure.connectivity].append(item)
                    index.by_flat_smiles[flat_smiles(structure.mol)].append(item)
                    index.drug_fps.append(fingerprint(structure.mol))
                    index.drug_refs.append(item)
        elif isinstance(content, ClassDefinitions):
            class_files.append(content)
            index.versions[content.meta.id] = content.meta.version
        elif isinstance(content, TransformationSet):
            index.versions[content.meta.id] = content.meta.version
            for list_id, schedules in content.target_schedules.items():
                index.target_schedules.setdefault(list_id, set()).update(schedules)
            for t in content.transformations:
                index.transformations.append(CompiledTransformation(
                    spec=t, reaction=ReactionFromSmarts(t.reaction_smarts)))
    for item in index.entries:
        if item.structure is not None and item.entry.schedule in index.target_schedules.get(
                item.info.id, ()):
            index.target_sizes.add(item.structure.mol.GetNumHeavyAtoms())
    covered = {(info.id, s) for info, clause in index.derivative_clauses for s in clause.schedules}
    for item in index.entries:
        if item.structure is not None and (item.info.id, item.entry.schedule) in covered \
                and item.structure.mol.HasSubstructMatch(_HYDROXYL):
            index.derivative_bits.append(bits_kept_by_o_substitution(item.structure.mol))
    for defs in class_files:
        for cls in defs.classes:
            index.classes.append(CompiledClass(
                spec=cls, info=index.list_by_id(cls.list_id),
                core=Chem.MolFromSmarts(cls.core_smarts),
                forbidden=[(m.description, Chem.MolFromSmarts(m.smarts))
                           for m in cls.forbidden if m.smarts]))
    return index
