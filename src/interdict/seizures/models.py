"""Seizures, their substance lines and parties, marks, lab profiles, links and aggregates.

A seizure belongs to the agency that made it and is shared like every record
(``visible_to``). Parties are kept on the seizure as submitted and also written to the
intelligence file (``network``) as entities, whose ids are kept here so the seizure page can
open them. Mark pictures are stored in the database with their SHA-256, thumbnail and
fingerprint, so a backup of the database is a backup of the collection.

A link is a pair of seizures (lower id first) with its evidence; it is a *candidate* until an
analyst confirms or rejects it, and the decision is kept (a rejected pair is not proposed
again unless new evidence appears).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from interdict.db.base import Base, UTCDateTime, utcnow


class SeizureImport(Base):
    """A file imported: its checksum makes a second import of it return the first receipt."""

    __tablename__ = "seizure_imports"
    __table_args__ = (UniqueConstraint("agency_id", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    filename: Mapped[str] = mapped_column(String(300))
    checksum: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Seizure(Base):
    __tablename__ = "seizures"
    __table_args__ = (UniqueConstraint("agency_id", "reference"),
                      Index("ix_seizures_agency_time", "agency_id", "seized_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    reference: Mapped[str] = mapped_column(String(64))
    seized_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    offset: Mapped[str] = mapped_column(String(6), default="+00:00")
    country: Mapped[str] = mapped_column(String(2), index=True)
    place: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    operation: Mapped[str] = mapped_column(String(300), default="")
    transport_mode: Mapped[str] = mapped_column(String(16), default="unknown")
    concealment: Mapped[str] = mapped_column(String(300), default="")
    packaging: Mapped[str] = mapped_column(String(300), default="")
    origin: Mapped[str | None] = mapped_column(String(2), nullable=True)
    transit: Mapped[list[str]] = mapped_column(JSON, default=list)
    destination: Mapped[str | None] = mapped_column(String(2), nullable=True)
    consignment: Mapped[str] = mapped_column(String(300), default="")
    #: The targeting consignment it came from, when the reference resolves to one.
    consignment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    handling: Mapped[str] = mapped_column(String(4), default="H0")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The FtM id of the seizure's Event entity in the intelligence file.
    ftm_id: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("seizure_imports.id"),
                                                  nullable=True)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeizureLine(Base):
    """One substance of a seizure, as resolved through ``substances`` when it was recorded."""

    __tablename__ = "seizure_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id", ondelete="CASCADE"),
                                            index=True)
    substance_input: Mapped[str] = mapped_column(String(300))
    substance: Mapped[str] = mapped_column(String(300), index=True)
    status: Mapped[str] = mapped_column(String(16))
    schedules: Mapped[list[str]] = mapped_column(JSON, default=list)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(12))
    quantity_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    purity: Mapped[float | None] = mapped_column(Float, nullable=True)
    form: Mapped[str] = mapped_column(String(12))


class SeizureParty(Base):
    __tablename__ = "seizure_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id", ondelete="CASCADE"),
                                            index=True)
    role: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(300))
    identifier: Mapped[str] = mapped_column(String(64), default="")
    ftm_id: Mapped[str] = mapped_column(String(200))


class Mark(Base):
    """A photographed logo, stamp or tool-mark with its described attributes."""

    __tablename__ = "seizure_marks"
    __table_args__ = (UniqueConstraint("seizure_id", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id", ondelete="CASCADE"),
                                            index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # logo, stamp, toolmark
    text: Mapped[str] = mapped_column(String(200), default="")  # text or symbol shown
    shape: Mapped[str] = mapped_column(String(40), default="")
    width_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    height_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    colour: Mapped[str] = mapped_column(String(40), default="")
    weight_g: Mapped[float | None] = mapped_column(Float, nullable=True)
    filename: Mapped[str] = mapped_column(String(300), default="")
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChemicalProfile(Base):
    """A lab report on a seizure: purity, cutting agents and the impurity profile."""

    __tablename__ = "seizure_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id", ondelete="CASCADE"),
                                            index=True)
    lab_reference: Mapped[str] = mapped_column(String(120), default="")
    substance: Mapped[str] = mapped_column(String(120))
    purity: Mapped[float | None] = mapped_column(Float, nullable=True)
    form: Mapped[str | None] = mapped_column(String(40), nullable=True)
    unit: Mapped[str] = mapped_column(String(16))
    components: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    cutting_agents: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeizureLink(Base):
    __tablename__ = "seizure_links"
    __table_args__ = (UniqueConstraint("agency_id", "seizure_a", "seizure_b"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    seizure_a: Mapped[int] = mapped_column(ForeignKey("seizures.id", ondelete="CASCADE"))
    seizure_b: Mapped[int] = mapped_column(ForeignKey("seizures.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # mark, chemistry, ...
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="candidate")
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(120), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeizureAggregate(Base):
    """Published monthly totals (e.g. CBP nationwide drug seizures): a real-data view."""

    __tablename__ = "seizure_aggregates"
    __table_args__ = (Index("ix_seizure_aggregates_month", "agency_id", "source", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    source: Mapped[str] = mapped_column(String(40))
    month: Mapped[dt.date] = mapped_column(Date)
    component: Mapped[str] = mapped_column(String(80), default="")
    region: Mapped[str] = mapped_column(String(80), default="")
    area: Mapped[str] = mapped_column(String(120), default="")
    drug_type: Mapped[str] = mapped_column(String(120))
    substance: Mapped[str | None] = mapped_column(String(120), nullable=True)
    events: Mapped[int] = mapped_column(Integer)
    quantity_kg: Mapped[float] = mapped_column(Float)
