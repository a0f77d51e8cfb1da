"""The in-memory index every check runs against, built once from the reference files.

Built from whatever substance lists, class definitions and transformation sets the reference
registry holds (shipped files plus ``INTERDICT_REFERENCE_PATH``), so a national or confidential
list dropped into the override directory is screened like the shipped ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rdkit import Chem
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


def flat_smiles(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol, isomericSmiles=False)


_HYDROXYL = Chem.MolFromSmarts("[OX2H1]")
#: Owner label of the derivative-clause requirements in ``SubstanceIndex.requirements``.
DERIVATIVE = "derivative-clause"


def bits_away_from(mol: Chem.Mol, atoms: set[int]) -> frozenset[int]:
    """Morgan bits of ``mol`` from environments that no change at ``atoms`` can alter.

    A change at an atom (a bond made or broken, a hydrogen replaced) alters that atom's
    radius-0 environment and the radius-1 environments of its neighbours; environments of
    radius 0 centred one or more bonds away, and of radius 1 two or more bonds away, stay the
    same. Their bits are a cheap necessary condition for screening: a structure that lacks one
    of them cannot turn into ``mol`` by a change confined to those atoms.
    """
    distances = Chem.GetDistanceMatrix(mol)
    info = rdFingerprintGenerator.AdditionalOutput()
    info.AllocateBitInfoMap()
    MORGAN.GetFingerprint(mol, additionalOutput=info)
    kept: set[int] = set()
    for bit, environments in info.GetBitInfoMap().items():
        for atom, radius in environments:
            nearest = min((distances[atom][a] for a in atoms), default=99.0)
            if radius <= 1 and nearest >= 1 + radius:
                kept.add(bit)
                break
    return frozenset(kept)


def _bits_for_product(target: Chem.Mol, reaction: ChemicalReaction) -> frozenset[int] | None:
    """What any one-step precursor of ``target`` by ``reaction`` must contain (None: the
    reaction cannot make ``target`` at all)."""
    template = reaction.GetProductTemplate(0)
    hits = target.GetSubstructMatches(template, uniquify=False, maxMatches=1000)
    if not hits:
        return None
    return bits_away_from(target, {a for hit in hits for a in hit})


def _element_counts(query: Chem.Mol) -> dict[int, int]:
    """Atoms of each element a SMARTS core certainly needs (atoms with alternatives skipped)."""
    counts: dict[int, int] = defaultdict(int)
    for atom in query.GetAtoms():
        smarts = atom.GetSmarts()
        if atom.GetAtomicNum() > 0 and "," not in smarts and not smarts.startswith("[!"):
            counts[atom.GetAtomicNum()] += 1
    return dict(counts)


class BitRequirements:
    """Sets of fingerprint bits, each owned by a label; which sets does a structure contain?

    Held as one 0/1 matrix (sets x bits, column-major) so that the check for every set at once
    is a sum over the columns of the structure's few dozen on-bits.
    """

    def __init__(self, sets: list[tuple[str, frozenset[int]]]) -> None:
        self.owners = [owner for owner, _bits in sets]
        dense = np.zeros((len(sets), 2048), dtype=np.uint8)
        for row, (_owner, bits) in enumerate(sets):
            dense[row, sorted(bits)] = 1
        self.matrix = np.asfortranarray(dense)
        self.sizes = dense.sum(axis=1, dtype=np.int32)

    def met(self, on_bits: npt.NDArray[np.intp]) -> set[str]:
        """Owners with at least one set that ``on_bits`` contains entirely."""
        if not self.owners:
            return set()
        present = self.matrix[:, on_bits].sum(axis=1, dtype=np.int32)
        return {self.owners[i] for i in np.flatnonzero(present == self.sizes)}


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
    #: Element -> atoms the core needs; a structure with fewer cannot contain the core.
    needs: dict[int, int] = field(default_factory=dict)
    prefilter: Chem.Mol | None = None


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
    #: Prefilter (see ``bits_away_from``): the Morgan bits that any one-step precursor of a
    #: target must contain, owned by transformation id, and that any ester or ether of a
    #: hydroxylated drug under a derivative clause keeps, owned by ``DERIVATIVE``.
    requirements: BitRequirements = field(default_factory=lambda: BitRequirements([]))
    #: Listed structures, in the row order of ``fp_matrix``.
    drug_refs: list[IndexedEntry] = field(default_factory=list)
    #: Their Morgan fingerprints as a (structures x bits) 0/1 matrix, column-major so that
    #: the columns of a query's on-bits are read contiguously, and their bit counts.
    fp_matrix: npt.NDArray[np.uint8] = field(
        default_factory=lambda: np.zeros((0, 2048), dtype=np.uint8, order="F"))
    fp_counts: npt.NDArray[np.int32] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int32))
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
    if index.drug_refs:
        dense = np.zeros((len(index.drug_refs), 2048), dtype=np.uint8)
        for row, item in enumerate(index.drug_refs):
            assert item.structure is not None
            dense[row, item.structure.on_bits] = 1
        index.fp_matrix = np.asfortranarray(dense)
        index.fp_counts = dense.sum(axis=1, dtype=np.int32)
    sets: list[tuple[str, frozenset[int]]] = []
    covered = {(info.id, s) for info, clause in index.derivative_clauses for s in clause.schedules}
    for item in index.entries:
        if item.structure is not None and (item.info.id, item.entry.schedule) in covered \
                and item.structure.mol.HasSubstructMatch(_HYDROXYL):
            oxygens = {m[0] for m in item.structure.mol.GetSubstructMatches(_HYDROXYL)}
            sets.append((DERIVATIVE, bits_away_from(item.structure.mol, oxygens)))
    targets = [i.structure.mol for i in index.entries if i.structure is not None
               and i.entry.schedule in index.target_schedules.get(i.info.id, ())]
    for compiled in index.transformations:
        found = (_bits_for_product(target, compiled.reaction) for target in targets)
        sets += [(compiled.spec.id, bits) for bits in found if bits is not None]
    index.requirements = BitRequirements(sets)
    for defs in class_files:
        for cls in defs.classes:
            index.classes.append(CompiledClass(
                spec=cls, info=index.list_by_id(cls.list_id),
                core=(core := Chem.MolFromSmarts(cls.core_smarts)), needs=_element_counts(core),
                prefilter=Chem.MolFromSmarts(cls.prefilter_smarts) if cls.prefilter_smarts
                else None,
                forbidden=[(m.description, Chem.MolFromSmarts(m.smarts))
                           for m in cls.forbidden if m.smarts]))
    return index
