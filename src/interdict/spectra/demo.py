"""Demo step: the lab builds a Raman library of diluents and identifies a cut exhibit.

The diluent spectra ship with the package (MIT, see ``demo_data/SOURCES.md``). When the
project's shared test data sits beside the checkout, the lab also builds a GC-MS library of
fentanyl analogues from it and identifies one, which puts a controlled finding on the queue.
"""

from __future__ import annotations

from pathlib import Path

import interdict
from interdict.demo.registry import DemoContext, register_step
from interdict.reference.registry import Registry
from interdict.spectra import service
from interdict.spectra.spectrum import Technique

DEMO_DATA = Path(__file__).parent / "demo_data"
SHARED = Path(interdict.__file__).resolve().parents[3] / "shared" / "data" / "spectra"
FENTANYL_MSP = SHARED / "gcms_ei" / "fentanyl_classifier_nist"


def _step(ctx: DemoContext) -> None:
    lab = ctx.actors["lab@be-lab"]
    files, identifiers = service.read_folder(DEMO_DATA)
    library = [(n, d) for n, d in files if n in identifiers]
    service.import_library(ctx.session, actor=lab, name="Diluents (Raman)", files=library,
                           technique=Technique.RAMAN, identifiers=identifiers,
                           description="Common sugar diluents (mdatools carbs data, MIT)")
    registry = Registry()
    exhibit = (DEMO_DATA / "exhibit_mixture_raman.csv").read_bytes()
    service.identify(ctx.session, actor=lab, registry=registry, data=exhibit,
                     filename="BE-24-0140_raman.csv", technique=Technique.RAMAN,
                     case_reference="BE-24-0140 (cutting agent)")
    ctx.summary["spectral libraries"] = 1
    ctx.summary["spectra identified"] = 1
    if FENTANYL_MSP.is_dir():
        msp, _ids = service.read_folder(FENTANYL_MSP)
        service.import_library(ctx.session, actor=lab, name="Fentanyl analogues (GC-MS)",
                               files=msp, description="SWGDRUG/Cayman EI spectra via NIST "
                               "FentanylClassifier examples (project test data)")
        # A seized-tablet spectrum: the ocfentanil record (any record would do; a named,
        # scheduled one shows the control status and the alert).
        name, data = next(((n, d) for n, d in msp if b"Name: Ocfentanil" in d), msp[0])
        service.identify(ctx.session, actor=lab, registry=registry, data=data,
                         filename=Path(name).name, case_reference="BE-24-0121 (tablets)")
        ctx.summary["spectral libraries"] += 1
        ctx.summary["spectra identified"] += 1


register_step("spectra.lab_identifications", _step, order=30)
