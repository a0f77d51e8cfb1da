"""Consignments, their selection, inspection results, rule profile versions, models, history.

One table holds everything that crosses a border (``targeting_consignments``): the columns
the engines read (see ``frames.CONSIGNMENT``) are real columns, and each kind's own fields
(aircraft registration, passengers, vessel, crew...) are kept in ``details``. The selection
made on arrival (score, lane, and why) is stored on the same row, because it is made once
and never changes: a later model or rule version scores new arrivals, not old ones.

History counters (``targeting_counters``) are the running counts per importer, HS code,
importer x HS code pair...; the time-aware features and history rule conditions read them
as they were before the consignment, and the consignment is then counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from interdict.db.base import Base, UTCDateTime, utcnow


class Consignment(Base):
    """A customs declaration, express or postal item, aviation or pleasure-craft report."""

    __tablename__ = "targeting_consignments"
    __table_args__ = (
        UniqueConstraint("agency_id", "kind", "reference"),
        # Today's lanes per office, for capacity: counted on every arrival.
        Index("ix_targeting_consignments_capacity", "agency_id", "office", "lane_day", "lane"),
        Index("ix_targeting_consignments_recent", "agency_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    office: Mapped[str | None] = mapped_column(String(32), nullable=True)
    process_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    import_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    import_use: Mapped[str | None] = mapped_column(String(16), nullable=True)
    payment_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    transport_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    declarant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    importer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seller: Mapped[str | None] = mapped_column(String(64), nullable=True)
    courier: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hs_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    departure_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    origin_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    route: Mapped[list[str]] = mapped_column(JSON, default=list)
    tax_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    tax_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    origin_indicator: Mapped[str | None] = mapped_column(String(8), nullable=True)
    net_mass_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    stay_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The kind's own fields (aircraft, passengers, vessel, crew, sender, description...).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Outcome labels: from an imported history, or set by a recorded inspection.
    fraud: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    critical: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    #: The selection made on arrival; null for consignments imported as history.
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("targeting_models.id"),
                                                 nullable=True)
    rule_set_id: Mapped[int | None] = mapped_column(ForeignKey("targeting_rule_sets.id"),
                                                    nullable=True)
    lane: Mapped[str | None] = mapped_column(String(8), nullable=True)
    lane_day: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    exploration: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why: rule hits (id, weight, values, detail), top model contributions, lane reasons.
    rule_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    lane_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("targeting_batches.id"),
                                                 nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Batch(Base):
    """One imported file: the receipt, and what makes a second import of it a no-op."""

    __tablename__ = "targeting_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    history: Mapped[int] = mapped_column(Integer, default=0)
    scored: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Inspection(Base):
    """What an inspection of a consignment found: the outcome that the scores learn from."""

    __tablename__ = "targeting_inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    consignment_id: Mapped[int] = mapped_column(ForeignKey("targeting_consignments.id"),
                                                unique=True)
    result: Mapped[str] = mapped_column(String(32))  # seized, documentary_fraud, nothing_found
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    substance: Mapped[str] = mapped_column(String(200), default="")
    quantity_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    inspected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuleSet(Base):
    """One version of an agency's rule profiles, kept as the YAML text that was validated."""

    __tablename__ = "targeting_rule_sets"
    __table_args__ = (UniqueConstraint("agency_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuleStat(Base):
    """How often a rule fired, and what inspections of those consignments found."""

    __tablename__ = "targeting_rule_stats"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    inspected: Mapped[int] = mapped_column(Integer, default=0)
    positives: Mapped[int] = mapped_column(Integer, default=0)


class TargetingModel(Base):
    """A trained model: the booster, its calibration and what it was trained and judged on."""

    __tablename__ = "targeting_models"
    __table_args__ = (UniqueConstraint("agency_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``model.TrainedModel.to_json()``: booster text, categories, calibration, metrics.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    train_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    train_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    n_train: Mapped[int] = mapped_column(Integer, default=0)
    n_valid: Mapped[int] = mapped_column(Integer, default=0)
    #: Distribution of validation scores (decile edges), for the drift report.
    score_deciles: Mapped[list[float]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HistoryCounter(Base):
    """Running counts for one history key of one agency (see ``frames.COUNTER``)."""

    __tablename__ = "targeting_counters"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    #: ``kind=value``, e.g. ``importer=QLRUBN9`` or ``importer|hs_code=QLRUBN9|090111``.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    n_declared: Mapped[int] = mapped_column(Integer, default=0)
    n_labelled: Mapped[int] = mapped_column(Integer, default=0)
    n_positive: Mapped[int] = mapped_column(Integer, default=0)
    n_critical: Mapped[int] = mapped_column(Integer, default=0)
    n_unit: Mapped[int] = mapped_column(Integer, default=0)
    sum_log_unit: Mapped[float] = mapped_column(Float, default=0.0)
    sumsq_log_unit: Mapped[float] = mapped_column(Float, default=0.0)
    first_declared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_declared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
