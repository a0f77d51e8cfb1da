"""Structure handling with RDKit: parse, standardise to the parent, identify.

Standardisation follows the usual registration pipeline: clean up, keep the largest organic
fragment (strips salts and solvents), neutralise, and (for single checks) pick the canonical
tautomer. Batch screening skips the tautomer step, which costs milliseconds per molecule; the
InChIKey's mobile-hydrogen layer already absorbs the common tautomerism.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolDescriptors
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


@dataclass(frozen=True)
class Structure:
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

    def smiles_positions(self, atoms: tuple[int, ...] | list[int]) -> list[int]:
        where = {atom: k for k, atom in enumerate(self.smiles_order)}
        return sorted(where[a] for a in atoms if a in where)

    @property
    def connectivity(self) -> str:
        """The InChIKey's first block: the skeleton without stereo or isotopes."""
        return self.inchikey.split("-")[0]


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


def standardise(mol: Chem.Mol, *, tautomer: bool = True) -> Structure:
    fragments = len(Chem.GetMolFrags(mol))
    parent = mol
    if not tautomer and not _needs_cleanup(mol, fragments):
        # Fast path (batch screening): the input is already its own parent.
        smiles = Chem.MolToSmiles(parent)
        return Structure(input_smiles=smiles, mol=parent, smiles=smiles,
                         inchikey=Chem.MolToInchiKey(parent),
                         formula=rdMolDescriptors.CalcMolFormula(parent), fragments=fragments,
                         smiles_order=_output_order(parent))
    input_smiles = Chem.MolToSmiles(mol)
    parent = rdMolStandardize.Cleanup(mol, _cleanup)
    parent = _chooser.choose(parent)
    parent = _uncharger.uncharge(parent)
    if tautomer:
        try:
            parent = _tautomers.Canonicalize(parent)
        except Exception:  # very large or odd structures: keep the neutral parent
            pass
    Chem.AssignStereochemistry(parent, cleanIt=True, force=True)
    smiles = Chem.MolToSmiles(parent)
    return Structure(input_smiles=input_smiles, mol=parent, smiles=smiles,
                     inchikey=Chem.MolToInchiKey(parent),
                     formula=rdMolDescriptors.CalcMolFormula(parent), fragments=fragments,
                     smiles_order=_output_order(parent))


def _output_order(mol: Chem.Mol) -> tuple[int, ...]:
    """Atom order of the last MolToSmiles call on ``mol`` (RDKit stores it as a property)."""
    if not mol.HasProp("_smilesAtomOutputOrder"):
        return ()
    text = mol.GetProp("_smilesAtomOutputOrder").strip("[]").rstrip(",")
    return tuple(int(x) for x in text.split(",") if x)


def identify(mol: Chem.Mol) -> tuple[str, str]:
    """InChIKey and formula of a structure exactly as given (no standardisation)."""
    return Chem.MolToInchiKey(mol), rdMolDescriptors.CalcMolFormula(mol)
