"""Exchange records: agency keys, threads, signed messages, deliveries, attachments,
permission requests and rejected envelopes.

A message is stored once with the signed envelope it travelled in; each recipient agency has
a delivery row (received, verified, acknowledged). Attachments are copies of records taken at
send time, with the originator's provenance, handling code and grading: they stay what was
sent, whatever happens to the record afterwards.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from interdict.db.base import Base, UTCDateTime, utcnow


class AgencyKey(Base):
    """An agency's Ed25519 key: the public half for every verifier, the seed sealed with the
    platform's secret key (only this instance signs for its agencies)."""

    __tablename__ = "exchange_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_seed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Thread(Base):
    __tablename__ = "exchange_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    case_reference: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    __tablename__ = "exchange_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("exchange_threads.id"), index=True)
    sender_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    sender: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    requested_action: Mapped[str] = mapped_column(String(300), default="")
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    handling: Mapped[str] = mapped_column(String(20))
    grading: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("exchange_messages.id"),
                                                    nullable=True)
    forwarded_from: Mapped[int | None] = mapped_column(ForeignKey("exchange_messages.id"),
                                                       nullable=True)
    #: The signed envelope exactly as it travelled (verifiable again at any time).
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    __tablename__ = "exchange_deliveries"
    __table_args__ = (UniqueConstraint("message_id", "agency_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("exchange_messages.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str] = mapped_column(String(120), default="")


class Attachment(Base):
    """A copy of a record at send time, with the originator's provenance and restrictions."""

    __tablename__ = "exchange_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("exchange_messages.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The agency whose record it is; it stays the originator through forwards.
    originator_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    handling: Mapped[str] = mapped_column(String(20))
    grading: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class PermissionRequest(Base):
    """A request to pass a restricted item on, and the originator's answer."""

    __tablename__ = "exchange_permission_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("exchange_messages.id"), index=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_attachments.id"),
                                                      nullable=True)
    requester_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    originator_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_by: Mapped[str] = mapped_column(String(120))
    decided_by: Mapped[str] = mapped_column(String(120), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rejection(Base):
    """An envelope refused on receipt (unsigned, tampered, unknown key, malformed)."""

    __tablename__ = "exchange_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64), default="")
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
