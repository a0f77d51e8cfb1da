"""Structure handling with RDKit: parse, standardise to the parent, identify.

Standardisation follows the usual registration pipeline: clean up, keep the largest organic
fragment (strips salts and solvents), neutralise, and (for single checks) pick the canonical
tautomer. Batch screening skips the tautomer step, which costs milliseconds per molecule; the
InChIKey's mobile-hydrogen layer already absorbs the common tautomerism.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

from interdict.errors import FieldError, InvalidData

RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]

_cleanup = rdMolStandardize.CleanupParameters()
_chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
_uncharger = rdMolStandardize.Uncharger()
_tautomer_params = rdMolStandardize.CleanupParameters()
# Keep stereocentres next to enolisable carbonyls (cocaine's C-2, cathinones' alpha carbon):
# by default the canonicaliser drops them, which turns a listed stereoisomer into "another
# stereoisomer" of itself.
_tautomer_params.tautomerRemoveSp3Stereo = False  # type: ignore[assignment]
_tautomer_params.tautomerRemoveBondStereo = False  # type: ignore[assignment]
_tautomers = rdMolStandardize.TautomerEnumerator(_tautomer_params)
#: The one fingerprint generator, so stored and query fingerprints always agree.
MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@dataclass(frozen=True)
class Structure:  # not slotted: ``fingerprint`` is cached in the instance dict
    """A parsed input and its standardised parent."""

    input_smiles: str
    mol: Chem.Mol  # the parent
    smiles: str
    inchikey: str
    formula: str
    fragments: int  # components in the input (>1: a salt, solvate or mixture)
    #: smiles_order[k] is the index in ``mol`` of the k-th atom written in ``smiles``, so that
    #: atoms found on ``mol`` can be highlighted on a depiction drawn from ``smiles``.
    smiles_order: tuple[int, ...] = ()
    #: The other organic components of a mixture (cocaine cut with lidocaine written as one
    #: multi-component SMILES), each standardised on its own; empty for single substances and
    #: for salts whose counter-ions are small or inorganic.
    components: tuple[Structure, ...] = ()

    def smiles_positions(self, atoms: tuple[int, ...] | list[int]) -> list[int]:
        where = {atom: k for k, atom in enumerate(self.smiles_order)}
        return sorted(where[a] for a in atoms if a in where)

    @functools.cached_property
    def on_bits(self) -> npt.NDArray[np.intp]:
        """Set bits of the parent's Morgan fingerprint (radius 2, 2,048 bits), ascending.

        Computed once, straight into NumPy: walking an RDKit bit vector from Python costs more
        than the fingerprint itself.
        """
        return np.flatnonzero(MORGAN.GetFingerprintAsNumPy(self.mol))

    @functools.cached_property
    def element_counts(self) -> dict[int, int]:
        """Heavy atoms of each element (for cheap checks before substructure searches)."""
        # Read from the formula: iterating atoms through RDKit's Python wrappers costs ten
        # times as much.
        counts: dict[int, int] = {}
        for symbol, number in _FORMULA_PART.findall(self.formula):
            if symbol in ("H", "D", "T") or symbol not in _ATOMIC_NUMBER:
                continue
            z = _ATOMIC_NUMBER[symbol]
            counts[z] = counts.get(z, 0) + (int(number) if number else 1)
        return counts

    @property
    def connectivity(self) -> str:
        """The InChIKey's first block: the skeleton without stereo or isotopes."""
        return self.inchikey.split("-")[0]


_FORMULA_PART = re.compile(r"([A-Z][a-z]?)(\d*)")
_PERIODIC = Chem.GetPeriodicTable()
_ATOMIC_NUMBER = {_PERIODIC.GetElementSymbol(z): z for z in range(1, 119)}

#: Larger inputs are refused: drug-like molecules are far smaller, and RDKit's InChI and
#: drawing code take minutes (or crash) on polymers of thousands of atoms.
MAX_SMILES_CHARS = 1000
MAX_HEAVY_ATOMS = 150


def _check_size(mol: Chem.Mol, field: str) -> Chem.Mol:
    if mol.GetNumHeavyAtoms() > MAX_HEAVY_ATOMS:
        raise InvalidData(f"structure has {mol.GetNumHeavyAtoms()} heavy atoms; at most "
                          f"{MAX_HEAVY_ATOMS} are screened",
                          errors=[FieldError(field, f"more than {MAX_HEAVY_ATOMS} heavy atoms")])
    return mol


def parse_smiles(smiles: str, *, field: str = "smiles") -> Chem.Mol:
    text = smiles.strip()
    if not text:
        raise InvalidData("empty SMILES", errors=[FieldError(field, "empty")])
    if len(text) > MAX_SMILES_CHARS:
        raise InvalidData(f"SMILES of {len(text)} characters; at most {MAX_SMILES_CHARS}",
                          errors=[FieldError(field, f"longer than {MAX_SMILES_CHARS} characters")])
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        raise InvalidData(f"SMILES {text!r} cannot be parsed",
                          errors=[FieldError(field, "not valid SMILES syntax")])
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several sanitisation error types
        raise InvalidData(f"SMILES {text!r} is not a valid structure: {exc}",
                          errors=[FieldError(field, f"invalid chemistry: {exc}")]) from exc
    return _check_size(mol, field)


def parse_molblock(block: str, *, field: str = "molblock") -> Chem.Mol:
    mol = Chem.MolFromMolBlock(block, sanitize=True)
    if mol is None:
        raise InvalidData("MOL block cannot be read",
                          errors=[FieldError(field, "not a valid MDL MOL block")])
    return _check_size(mol, field)


def _needs_cleanup(mol: Chem.Mol, fragments: int) -> bool:
    """Whether the full clean-up pipeline can change this structure.

    A single neutral organic fragment is already its own parent; skipping the pipeline for it
    is what makes batch screening fast (most inputs are like this).
    """
    if fragments > 1:
        return True
    return mol.HasSubstructMatch(_CHARGED_OR_INORGANIC)


# A charged atom or an element outside the organic subset (matched in C++, not atom by atom).
_CHARGED_OR_INORGANIC = Chem.MolFromSmarts(
    "[+,-,!#1&!#5&!#6&!#7&!#8&!#9&!#14&!#15&!#16&!#17&!#35&!#53]")


def standardise(mol: Chem.Mol, *, tautomer: bool = True, single: bool = False) -> Structure:
    """The parent of ``mol`` and its identifiers.

    ``single`` says the caller knows the input is one fragment (a SMILES without a dot),
    which spares the fragment search on the batch path.
    """
    fragments = 1 if single else len(Chem.GetMolFrags(mol))
    parent = mol
    if not tautomer and not _needs_cleanup(mol, fragments):
        # Fast path (batch screening): the input is already its own parent.
        smiles = Chem.MolToSmiles(parent)
        return Structure(input_smiles=smiles, mol=parent, smiles=smiles,
                         inchikey=Chem.MolToInchiKey(parent),
                         formula=rdMolDescriptors.CalcMolFormula(parent), fragments=fragments,
                         smiles_order=_output_order(parent))
    input_smiles = Chem.MolToSmiles(mol)
    cleaned = rdMolStandardize.Cleanup(mol, _cleanup)
    parent = _parent_of(_chooser.choose(cleaned), tautomer=tautomer)
    smiles = Chem.MolToSmiles(parent)
    inchikey = Chem.MolToInchiKey(parent)
    return Structure(input_smiles=input_smiles, mol=parent, smiles=smiles, inchikey=inchikey,
                     formula=rdMolDescriptors.CalcMolFormula(parent), fragments=fragments,
                     smiles_order=_output_order(parent),
                     components=_components(cleaned, inchikey, tautomer=tautomer)
                     if fragments > 1 else ())


def _parent_of(fragment: Chem.Mol, *, tautomer: bool) -> Chem.Mol:
    parent = _uncharger.uncharge(fragment)
    if tautomer:
        try:
            parent = _tautomers.Canonicalize(parent)
        except Exception:  # very large or odd structures: keep the neutral parent
            pass
    Chem.AssignStereochemistry(parent, cleanIt=True, force=True)
    return parent


#: Fragments smaller than this (counter-ions such as acetate or mesylate, solvents) are not
#: screened as mixture components; every listed drug and precursor is larger.
MIN_COMPONENT_HEAVY_ATOMS = 6


def _components(mol: Chem.Mol, parent_key: str, *, tautomer: bool) -> tuple[Structure, ...]:
    """Every other organic fragment of a multi-component input, standardised on its own."""
    seen = {parent_key}
    out: list[Structure] = []
    for fragment in Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False):
        if fragment.GetNumHeavyAtoms() < MIN_COMPONENT_HEAVY_ATOMS or not any(
                a.GetAtomicNum() == 6 for a in fragment.GetAtoms()):
            continue
        part = _parent_of(fragment, tautomer=tautomer)
        key = Chem.MolToInchiKey(part)
        if key in seen:
            continue
        seen.add(key)
        smiles = Chem.MolToSmiles(part)
        out.append(Structure(input_smiles=smiles, mol=part, smiles=smiles, inchikey=key,
                             formula=rdMolDescriptors.CalcMolFormula(part), fragments=1,
                             smiles_order=_output_order(part)))
    return tuple(out)


def _output_order(mol: Chem.Mol) -> tuple[int, ...]:
    """Atom order of the last MolToSmiles call on ``mol`` (RDKit stores it as a property)."""
    if not mol.HasProp("_smilesAtomOutputOrder"):
        return ()
    text = mol.GetProp("_smilesAtomOutputOrder").strip("[]").rstrip(",")
    return tuple(int(x) for x in text.split(",") if x)


def identify(mol: Chem.Mol) -> tuple[str, str]:
    """InChIKey and formula of a structure exactly as given (no standardisation)."""
    return Chem.MolToInchiKey(mol), rdMolDescriptors.CalcMolFormula(mol)
