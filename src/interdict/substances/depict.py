"""Structure depictions as SVG (RDKit), with the atoms a class definition matched highlighted."""

from __future__ import annotations

from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D

HIGHLIGHT = (1.0, 0.55, 0.1)


def svg(smiles: str, highlight: list[int] | None = None, *, width: int = 420,
        height: int = 300) -> str:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ""
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    opts = drawer.drawOptions()
    opts.clearBackground = False  # type: ignore[assignment]
    opts.addStereoAnnotation = True  # type: ignore[assignment]
    atoms = [a for a in (highlight or []) if a < mol.GetNumAtoms()]
    bonds = [b.GetIdx() for b in mol.GetBonds()
             if b.GetBeginAtomIdx() in atoms and b.GetEndAtomIdx() in atoms]
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer, mol, highlightAtoms=atoms, highlightBonds=bonds,
        highlightAtomColors={a: HIGHLIGHT for a in atoms},
        highlightBondColors={b: HIGHLIGHT for b in bonds})
    drawer.FinishDrawing()
    text: str = drawer.GetDrawingText()
    # Drop the XML prolog so the SVG can sit inline in the page.
    return text[text.index("<svg"):] if "<svg" in text else text
