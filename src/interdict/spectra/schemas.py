"""What the spectra service returns: libraries, import reports and identification results."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ControlStatus(BaseModel):
    """The ``substances`` verdict for a library entry, reduced to what a result page shows."""

    controlled: bool
    watch: bool
    summary: str = Field(description="e.g. 'UN 1961 Schedule I (exact)'; empty if not listed.")
    screened: bool = Field(True, description="False when the entry has no structure and its "
                                             "identifiers matched no list: class definitions "
                                             "and analogues could not be checked.")
    matches: list[dict[str, str]] = Field(default_factory=list)


class Candidate(BaseModel):
    rank: int
    entry_id: int
    name: str
    score: float = Field(description="Similarity in [0, 1]; the metric says how it is defined.")
    library: str
    cas: str | None = None
    inchikey: str | None = None
    control: ControlStatus | None = None


class MixtureComponentOut(BaseModel):
    entry_id: int
    name: str
    fraction: float
    control: ControlStatus | None = None


class MixtureOut(BaseModel):
    components: list[MixtureComponentOut]
    residual_norm: float
    explained_variance: float
    method: dict[str, Any]


class Confidence(enum.StrEnum):
    high = "high"
    medium = "medium"
    low = "low"
    none = "none"


class IdentificationOut(BaseModel):
    id: int
    filename: str
    technique: str
    library: str
    library_version: int
    metric: str
    metric_definition: str
    confidence: Confidence
    confidence_reason: str
    candidates: list[Candidate]
    mixture: MixtureOut | None = None
    controlled: bool = Field(description="The best candidate or a mixture component is "
                                         "controlled somewhere.")
    case_reference: str = ""
    spectra_in_file: int = 1
    processing: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime
    #: The query and the best hits, as processed, for plotting (x, then one y per series).
    plot: dict[str, Any] = Field(default_factory=dict)


class LibraryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    technique: str
    description: str
    version: int
    entry_count: int
    updated_at: dt.datetime


class LibraryEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    cas: str | None
    inchikey: str | None
    smiles: str | None
    points: int
    source_file: str
    added_in_version: int


class ImportReport(BaseModel):
    library: LibraryOut
    added: int
    already_present: int
    files: int
