"""The precursor register: operators, their transactions, export authorisations, findings.

Every row belongs to the supervising authority's agency (``agency_id``). Operators' staff are
users of that agency with the ``operator`` role, tied to their company by
``precursor_operator_accounts``; they see only their own company's records and never alerts.
A transaction keeps the operator's own ``reference``: re-submitting the same record changes
nothing, a changed record with that reference is an amendment whose earlier versions are kept in
``precursor_transaction_versions``.
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
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from interdict.db.base import Base, UTCDateTime, utcnow


class Operator(Base):
    """A company licensed or registered to handle scheduled substances."""

    __tablename__ = "precursor_operators"
    __table_args__ = (UniqueConstraint("agency_id", "licence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    licence: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16))  # licence or registration
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    sector: Mapped[str] = mapped_column(String(64), default="")
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: sha256 of the imported record, so re-importing the registry changes nothing.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperatorAccount(Base):
    """Which company an ``operator`` user submits for."""

    __tablename__ = "precursor_operator_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("precursor_operators.id"), index=True)


class Batch(Base):
    """One accepted upload (file or API call): the receipt the operator sees."""

    __tablename__ = "precursor_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    #: Set when an operator submitted it: the company whose records these are.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("precursor_operators.id"),
                                                    nullable=True, index=True)
    filename: Mapped[str] = mapped_column(String(300))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    amended: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: Per-row errors of rows left out under ``--partial`` (row, field, reason).
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transaction(Base):
    """One movement of a scheduled or watched substance, as the operator registered it."""

    __tablename__ = "precursor_transactions"
    # Few indexes on purpose: a backfill inserts a million rows and every index costs on
    # each. Reads go by operator (the unique key's prefix), by agency or by batch.
    __table_args__ = (UniqueConstraint("operator_id", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("precursor_operators.id"))
    reference: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))
    #: The substance as submitted (name, synonym or CAS) and as resolved by ``substances``.
    substance_input: Mapped[str] = mapped_column(String(300))
    substance: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(8))  # 1, 2A, 2B, 3, 4 or watch
    designer_precursor: Mapped[bool] = mapped_column(Boolean, default=False)
    watch_listed: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(4))
    quantity_kg: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The offset the operator wrote, so the record can be shown as submitted.
    occurred_offset: Mapped[str] = mapped_column(String(6), default="+00:00")
    counterparty: Mapped[str | None] = mapped_column(String(300), nullable=True)
    counterparty_operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("precursor_operators.id"), nullable=True)
    counterparty_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    destination_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    #: ISO codes joined by ';' (read back as a list into the checks' frames).
    transit_countries: Mapped[str] = mapped_column(String(200), default="")
    payment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    end_use: Mapped[str | None] = mapped_column(String(300), nullable=True)
    site: Mapped[str] = mapped_column(String(100), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(ForeignKey("precursor_batches.id"), index=True)


class TransactionVersion(Base):
    """An earlier version of an amended transaction, as it was submitted."""

    __tablename__ = "precursor_transaction_versions"
    __table_args__ = (UniqueConstraint("transaction_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("precursor_transactions.id"),
                                                index=True)
    version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    batch_id: Mapped[int] = mapped_column(ForeignKey("precursor_batches.id"))
    replaced_by_batch_id: Mapped[int] = mapped_column(ForeignKey("precursor_batches.id"))
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportAuthorisation(Base):
    """An export authorisation and its pre-export notification to the importing authority."""

    __tablename__ = "precursor_export_authorisations"
    __table_args__ = (UniqueConstraint("agency_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[int] = mapped_column(ForeignKey("precursor_operators.id"), index=True)
    substance: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(4))
    quantity_kg: Mapped[float] = mapped_column(Float)
    destination_country: Mapped[str] = mapped_column(String(2))
    importer: Mapped[str] = mapped_column(String(300))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    notification_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The importing country's authority in the platform, when it has one.
    importing_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"),
                                                            nullable=True, index=True)
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notification_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime,
                                                                      nullable=True)
    #: not_required, draft (not yet sent), pending, confirmed, objected
    notification_status: Mapped[str] = mapped_column(String(16), default="not_required")
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    responded_by: Mapped[str] = mapped_column(String(120), default="")
    response_note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Finding(Base):
    """A check's finding, once: the key makes re-running the checks raise nothing twice."""

    __tablename__ = "precursor_findings"
    __table_args__ = (UniqueConstraint("agency_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("precursor_operators.id"), index=True)
    transaction_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("precursor_batches.id"),
                                                 nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
