"""Inputs and outputs of the auth service."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from interdict.auth.roles import Role


class AgencyKind(enum.StrEnum):
    customs = "customs"
    police = "police"
    precursor_authority = "precursor_authority"
    lab = "lab"
    international = "international"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgencyCreate(Strict):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_-]*$",
                      description="Short upper-case code, e.g. NL-FIOD.")
    name: str = Field(min_length=2, max_length=200)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$",
                         description="ISO 3166-1 alpha-2 country code.")
    kind: AgencyKind


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    country: str
    kind: str


class UserCreate(Strict):
    username: str = Field(min_length=3, max_length=120, pattern=r"^[a-z0-9._@-]+$")
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=10, max_length=256)
    roles: list[Role] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _unique(cls, roles: list[Role]) -> list[Role]:
        return sorted(set(roles), key=lambda r: r.value)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    roles: list[str]
    active: bool
    agency: AgencyRead


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    role: Role
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIssued(TokenRead):
    token: str = Field(description="The secret; shown once, store it now.")
