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


class Incident(Base):
    """A structured incident report (precursor or NPS/fentanyl) broadcast to subscribers."""

    __tablename__ = "exchange_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # precursor, nps
    topic: Mapped[str] = mapped_column(String(40), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    substance: Mapped[str] = mapped_column(String(300))
    substance_status: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    handling: Mapped[str] = mapped_column(String(20), default="H0")
    reported_by: Mapped[str] = mapped_column(String(120))
    occurred_on: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscription(Base):
    __tablename__ = "exchange_subscriptions"
    __table_args__ = (UniqueConstraint("agency_id", "topic", "country"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    #: Two-letter country code, or "*" for every country.
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentDelivery(Base):
    __tablename__ = "exchange_incident_deliveries"
    __table_args__ = (UniqueConstraint("incident_id", "agency_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("exchange_incidents.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Room(Base):
    """An operation room: a shared workspace of a joint investigation."""

    __tablename__ = "exchange_rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    case_reference: Mapped[str] = mapped_column(String(120), default="")
    created_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_threads.id"),
                                                  nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomMember(Base):
    __tablename__ = "exchange_room_members"
    __table_args__ = (UniqueConstraint("room_id", "agency_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("exchange_rooms.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomEntry(Base):
    """A log entry, an evidence item or a shared record, mirrored into the message record."""

    __tablename__ = "exchange_room_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("exchange_rooms.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # log, evidence, record
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int] = mapped_column(ForeignKey("exchange_messages.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HolderSecret(Base):
    """An agency's hit/no-hit key (a scalar), sealed like the signing keys; it never leaves."""

    __tablename__ = "exchange_holder_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), unique=True)
    key_id: Mapped[str] = mapped_column(String(64))
    sealed_scalar: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Holding(Base):
    """One published tag of an agency's holdings and its sealed references."""

    __tablename__ = "exchange_holdings"
    __table_args__ = (UniqueConstraint("agency_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    tag: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class HitQuery(Base):
    __tablename__ = "exchange_hit_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    asked_by: Mapped[str] = mapped_column(String(120))
    justification: Mapped[str] = mapped_column(Text)
    identifiers: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """Points a holder evaluated for a querier: the holder's log and its rate limit."""

    __tablename__ = "exchange_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("exchange_hit_queries.id"), index=True)
    holder_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    querier_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Hit(Base):
    __tablename__ = "exchange_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("exchange_hit_queries.id"), index=True)
    holder_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(200))
    follow_up: Mapped[str] = mapped_column(String(10), default="none")
    follow_up_reason: Mapped[str] = mapped_column(Text, default="")
    follow_up_note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(120), default="")
