"""Demo step: the forensic lab screens seized structures; what is controlled becomes an alert."""

from __future__ import annotations

from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate, Reason, Severity, SubjectRef
from interdict.demo.registry import DemoContext, register_step
from interdict.reference.registry import Registry
from interdict.substances import service
from interdict.substances.schemas import CheckQuery

#: (exhibit, SMILES) as a lab would receive them: salts, designer precursors, a clean powder.
EXHIBITS = [
    ("Exhibit BE-24-0117 (white powder, 5 kg)", "CCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2"),
    ("Exhibit BE-24-0121 (tablets)", "O=C(C1CC1)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1.Cl"),
    ("Exhibit BE-24-0133 (yellow oil)", "CC(=O)C(C#N)c1ccccc1"),
    ("Exhibit BE-24-0140 (cutting agent)", "CC(=O)Nc1ccc(O)cc1"),
]


def _step(ctx: DemoContext) -> None:
    index = service.get_index(Registry())
    lab = ctx.actors["lab@be-lab"]
    raised = 0
    for exhibit, smiles in EXHIBITS:
        verdict = service.check(index=index, query=CheckQuery(smiles=smiles))
        if not verdict.matches:
            continue
        top = verdict.matches[0]
        alerts.raise_alert(ctx.session, actor=lab, data=AlertCreate(
            source="substances", kind="identification.controlled" if verdict.controlled
            else "identification.watch",
            title=f"{exhibit}: {top.substance} ({top.basis.value.replace('_', ' ')})",
            severity=Severity.high if verdict.controlled else Severity.medium,
            score=None,
            reasons=[Reason(rule=f"{m.basis.value}:{m.list}", contribution=1.0 if i == 0 else 0.5,
                            values={"schedule": m.schedule, "substance": m.substance},
                            detail=m.explanation[:2000])
                     for i, m in enumerate(verdict.matches[:5])],
            subjects=[SubjectRef(type="substances.structure", id=verdict.inchikey or "",
                                 label=verdict.parent_smiles or "")],
            dedup_key=f"demo-substances-{verdict.inchikey}"))
        raised += 1
    ctx.summary["screened structures"] = len(EXHIBITS)
    ctx.summary["substance alerts"] = raised


register_step("substances.screened_exhibits", _step, order=20)
