"""Reference-file specs for substance lists, structural classes and transformations.

Registered with the platform's reference registry when this package is loaded, so that the
platform validates these files without importing the domain.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from interdict.reference.specs import Meta, register_kind
from interdict.substances.identifiers import cas_problem


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubstanceEntry(Strict):
    name: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)
    cas: str | None = None
    smiles: str | None = None
    formula: str | None = Field(None, description="Hill formula of the listed form.")
    schedule: str
    hs_codes: list[str] = Field(default_factory=list)
    code: str | None = Field(None, description="A list-specific code, e.g. the DEA CSCN.")
    salts_excluded: bool = Field(
        False, description="The list's salt clause does not apply (hydrochloric and "
                           "sulphuric acid: their salts, such as table salt, are not controlled).")
    notes: str = ""

    @field_validator("cas")
    @classmethod
    def _cas(cls, value: str | None) -> str | None:
        if value is not None:
            problem = cas_problem(value)
            if problem:
                raise ValueError(f"CAS {value}: {problem}")
        return value

    @model_validator(mode="after")
    def _formula_with_structure(self) -> SubstanceEntry:
        if self.smiles and not self.formula:
            raise ValueError(f"{self.name}: a structure needs its recorded formula")
        return self


class ExcludedSubstance(Strict):
    """A substance the legal text expressly excepts from an isomer clause (dextromethorphan)."""

    name: str = Field(min_length=1)
    smiles: str
    formula: str
    reason: str


class DerivativeClause(Strict):
    """A clause extending a schedule to derivatives of its substances, e.g. the 1961
    Convention's "esters and ethers, unless appearing in another Schedule"."""

    schedules: list[str] = Field(min_length=1)
    kinds: list[Literal["esters", "ethers"]] = Field(min_length=1)
    text: str = Field(min_length=1, description="The clause as the legal text words it.")


class SubstanceList(Strict):
    meta: Meta
    jurisdiction: str
    instrument: str
    kind_of_control: str = Field(pattern=r"^(drug|precursor|monitoring)$")
    coverage: str = Field(pattern=r"^(complete|partial)$",
                          description="Whether every entry of the legal text is here.")
    coverage_note: str = ""
    includes_salts: bool
    includes_stereoisomers: bool
    schedules: dict[str, str] = Field(min_length=1)
    excluded: list[ExcludedSubstance] = Field(
        default_factory=list, description="Isomers the text expressly excepts.")
    derivative_clauses: list[DerivativeClause] = Field(default_factory=list)
    entries: list[SubstanceEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _schedules_known(self) -> SubstanceList:
        for i, entry in enumerate(self.entries):
            if entry.schedule not in self.schedules:
                raise ValueError(f"entries.{i}.schedule: {entry.schedule!r} is not one of "
                                 f"{sorted(self.schedules)}")
        for i, clause in enumerate(self.derivative_clauses):
            unknown = [s for s in clause.schedules if s not in self.schedules]
            if unknown:
                raise ValueError(f"derivative_clauses.{i}.schedules: {unknown} are not among "
                                 f"{sorted(self.schedules)}")
        return self


class ClassModification(Strict):
    description: str
    smarts: str | None = None


class StructuralClass(Strict):
    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    name: str
    list_id: str = Field(description="The list whose schedule applies to members.")
    jurisdiction: str
    instrument: str
    schedule: str
    legal_reference: str
    core_smarts: str = Field(description="Every member contains this substructure.")
    prefilter_smarts: str | None = Field(
        None, description="A simpler pattern every member also contains; shared by several "
                          "classes, it is searched once per structure before their cores.")
    allowed: list[ClassModification] = Field(
        default_factory=list, description="Modifications the legal text allows (explanations).")
    forbidden: list[ClassModification] = Field(
        default_factory=list, description="A molecule matching any of these is not a member.")
    notes: str = ""


class ClassDefinitions(Strict):
    meta: Meta
    classes: list[StructuralClass] = Field(min_length=1)


class Transformation(Strict):
    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    name: str
    reaction_smarts: str
    description: str


class TransformationSet(Strict):
    meta: Meta
    #: Only products on these lists and schedules count: being one step from a common
    #: solvent (a Table II chemical) says nothing, one step from a Table I precursor does.
    target_schedules: dict[str, list[str]] = Field(min_length=1)
    transformations: list[Transformation] = Field(min_length=1)


def register() -> None:
    register_kind("substance_list", SubstanceList)
    register_kind("structural_classes", ClassDefinitions)
    register_kind("transformations", TransformationSet)


register()
