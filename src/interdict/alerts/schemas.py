"""Alert inputs and outputs."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class Severity(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Status(enum.StrEnum):
    new = "new"
    triaged = "triaged"
    assigned = "assigned"
    closed = "closed"


class Outcome(enum.StrEnum):
    confirmed = "confirmed"
    false_positive = "false_positive"
    no_action = "no_action"
    duplicate = "duplicate"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(Strict):
    """Why an alert fired: one rule or model feature and what it contributed."""

    rule: str = Field(min_length=1, max_length=200, description="Rule or feature name.")
    contribution: float = Field(description="Share of the score this reason contributed.")
    values: dict[str, Any] = Field(default_factory=dict,
                                   description="The input values that triggered it.")
    detail: str = Field("", max_length=2000)


class SubjectRef(Strict):
    type: str = Field(min_length=1, max_length=64, description="entity or <module>.<record>.")
    id: str = Field(min_length=1, max_length=64)
    label: str = Field("", max_length=200)


class AlertCreate(Strict):
    source: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$",
                        description="Module raising the alert, e.g. targeting.")
    kind: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    severity: Severity
    score: float | None = Field(None, ge=0, le=1)
    reasons: list[Reason] = Field(default_factory=list, max_length=100)
    subjects: list[SubjectRef] = Field(default_factory=list, max_length=100)
    dedup_key: str | None = Field(None, max_length=200)


class AlertCommentCreate(Strict):
    body: str = Field(min_length=1, max_length=10000)


class AlertAssign(Strict):
    assignee_id: int


class AlertClose(Strict):
    outcome: Outcome
    note: str = Field("", max_length=10000)


class AlertTriage(Strict):
    note: str = Field("", max_length=10000)


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    author: str
    body: str
    created_at: dt.datetime


class HistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str
    created_at: dt.datetime


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    agency_id: int
    source: str
    kind: str
    title: str
    severity: str
    score: float | None
    reasons: list[dict[str, Any]]
    subjects: list[dict[str, Any]]
    status: str
    outcome: str | None
    assignee_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class AlertDetail(AlertRead):
    comments: list[CommentRead]
    history: list[HistoryRead]


class AlertFilter(Strict):
    status: Status | None = None
    source: str | None = None
    severity: Severity | None = None
    assignee_id: int | None = None
    q: str | None = Field(None, max_length=200)
    since: dt.datetime | None = None


class AlertShare(Strict):
    agency: str = Field(min_length=2, max_length=32, description="Recipient agency code.")
    handling_code: str = Field(
        pattern=r"^(H[0-3]|TLP:(RED|AMBER\+STRICT|AMBER|GREEN|CLEAR))$",
        description="Europol H0-H3 or TLP 2.0 (see reference file platform/handling_codes).")
    justification: str = Field(min_length=3, max_length=2000,
                               description="Why the disclosure is needed (logged).")


class WebhookCreate(Strict):
    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=128)
    min_severity: Severity = Severity.low
    sources: list[str] = Field(default_factory=list)


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    url: str
    min_severity: str
    sources: list[str]
    active: bool
    created_at: dt.datetime
