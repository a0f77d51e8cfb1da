"""The intelligence file: entities, their values with provenance, links, and resolution.

FollowTheMoney is the vocabulary: an entity has a schema (Person, Company, Vehicle, ...) and
property values. Unlike a plain FtM store, every value is its own row with where it came from
(originating agency, grading, handling code, date, source record), because two sources may
disagree and the originator's grading must never be overwritten: conflicting values are all
kept and shown with their provenance.

Relationship entities (Call, Associate, Ownership, UnknownLink, ...) are entities too; their
endpoints are also written to ``network_links`` so that graphs are built without reading
every value. Entity resolution never merges rows: judgements map entities to a canonical id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from interdict.db.base import Base, UTCDateTime, utcnow


class ImportBatch(Base):
    """One imported file; the checksum makes re-importing the same file a no-op."""

    __tablename__ = "network_import_batches"
    __table_args__ = (UniqueConstraint("agency_id", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ftm, matrix, edgelist, cdr
    filename: Mapped[str] = mapped_column(String(300))
    checksum: Mapped[str] = mapped_column(String(64))
    entities: Mapped[int] = mapped_column(Integer, default=0)
    links: Mapped[int] = mapped_column(Integer, default=0)
    #: The provenance given to every value of the batch (originator, grading, handling).
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Entity(Base):
    __tablename__ = "network_entities"
    __table_args__ = (UniqueConstraint("agency_id", "ftm_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    #: The FtM id (from the source file, or made from the batch and the source's node id).
    ftm_id: Mapped[str] = mapped_column(String(200))
    schema: Mapped[str] = mapped_column(String(40), index=True)
    caption: Mapped[str] = mapped_column(String(300), default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("network_import_batches.id"),
                                                 nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityValue(Base):
    """One property value of one entity, as one source stated it."""

    __tablename__ = "network_values"
    __table_args__ = (Index("ix_network_values_entity_prop", "entity_id", "prop"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"))
    prop: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(Text)
    originator: Mapped[str] = mapped_column(String(32))  # agency code
    scheme: Mapped[str] = mapped_column(String(8), default="4x4")  # 4x4 or 3x5x2
    source_grade: Mapped[str] = mapped_column(String(2), default="X")  # A-C/X or 1-5
    information_grade: Mapped[str] = mapped_column(String(2), default="4")  # 1-4 or A-E
    handling: Mapped[str] = mapped_column(String(16), default="H0")  # H0-H3 or TLP:...
    observed_on: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date
    source_record: Mapped[str] = mapped_column(String(300), default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("network_import_batches.id"),
                                                 nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Link(Base):
    """An edge between two entities, derived from a relationship entity (or a call)."""

    __tablename__ = "network_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    relation_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"), index=True)
    schema: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"), index=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    directed: Mapped[bool] = mapped_column(default=False)
    #: A period label (an investigation phase) or an ISO date, for time slices.
    period: Mapped[str | None] = mapped_column(String(40), nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("network_import_batches.id"),
                                                 nullable=True)


class ResolutionSuggestion(Base):
    """A candidate duplicate pair from the model: a suggestion, never a merge."""

    __tablename__ = "network_suggestions"
    __table_args__ = (UniqueConstraint("agency_id", "left_id", "right_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    left_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"))
    right_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"))
    probability: Mapped[float] = mapped_column(Float)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResolutionJudgement(Base):
    """An analyst's decision on a pair; the latest per pair wins, so reversing appends."""

    __tablename__ = "network_judgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    left_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"))
    right_id: Mapped[int] = mapped_column(ForeignKey("network_entities.id"))
    decision: Mapped[str] = mapped_column(String(8))  # accept, reject, unsure
    reason: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
