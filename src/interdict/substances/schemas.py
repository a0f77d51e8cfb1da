"""Inputs and outputs of substance checks."""

from __future__ import annotations

import builtins
import enum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Basis(enum.StrEnum):
    exact = "exact"
    salt = "salt"
    stereoisomer = "stereoisomer"
    name = "name"
    cas = "cas"
    class_ = "class"
    analogue = "analogue"
    designer_precursor = "designer_precursor"
    derivative = "derivative"  # an ester or ether a schedule's derivative clause covers


class CheckQuery(BaseModel):
    """Exactly one of the identifiers."""

    model_config = ConfigDict(extra="forbid")

    smiles: str | None = Field(None, max_length=5000)
    name: str | None = Field(None, max_length=300)
    cas: str | None = Field(None, max_length=20)
    inchikey: str | None = Field(None, max_length=27)
    molblock: str | None = Field(None, max_length=200_000)

    @model_validator(mode="after")
    def _one(self) -> CheckQuery:
        given = [k for k in ("smiles", "name", "cas", "inchikey", "molblock")
                 if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of smiles, name, cas, inchikey, molblock")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("smiles", "name", "cas", "inchikey", "molblock")
                    if getattr(self, k))

    @property
    def value(self) -> str:
        return str(getattr(self, self.kind))


class Match(BaseModel):
    list: str = Field(description="Reference list id, e.g. un-1988-tables.")
    list_title: str
    jurisdiction: str
    schedule: str
    substance: str
    basis: Basis
    explanation: str
    control: str = Field("drug", description="The list's kind of control: drug, precursor or "
                         "monitoring (a watch list: its matches flag, they do not control).")
    cas: str | None = None
    hs_codes: builtins.list[str] = Field(default_factory=builtins.list)
    product_smiles: str | None = Field(None, description="For designer precursors.")
    component_smiles: str | None = Field(
        None, description="For mixtures: the component this match is about (not the parent).")
    highlight_atoms: builtins.list[int] = Field(default_factory=builtins.list,
                                       description="Atoms of the parent that matched.")


class Similar(BaseModel):
    substance: str
    list: str
    schedule: str
    tanimoto: float
    smiles: str


class Verdict(BaseModel):
    input: str
    input_kind: str
    parent_smiles: str | None
    inchikey: str | None
    formula: str | None
    controlled: bool
    watch: bool = Field(description="Not controlled itself but flagged (analogue, precursor).")
    matches: list[Match]
    similar: list[Similar]
    suggestions: list[str] = Field(default_factory=builtins.list,
                                   description="Names close to an unmatched name query.")
    reference_versions: dict[str, str] = Field(default_factory=dict)


class ScreenRow(BaseModel):
    row: int
    verdict: Verdict | None = None
    error: str | None = None
