"""Export authorisations and pre-export notifications between authorities (PEN Online).

The exporting authority records the authorisation and sends the notification to the importing
country's authority, when that authority is an agency of the platform; the importer confirms
or objects before the deadline (working days from the settings). Both sides see the status.
An answer received outside the platform is recorded by the exporting authority itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate, Reason, Severity, SubjectRef
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import Agency
from interdict.auth.roles import Permission, Role
from interdict.db.base import utcnow
from interdict.errors import Conflict, FieldError, Forbidden, InvalidData, NotFound
from interdict.precursors.models import ExportAuthorisation
from interdict.precursors.records import MASS_UNITS, UNIT_NAMES, VOLUME_UNITS, country
from interdict.precursors.service import (
    check_settings,
    densities,
    get_operator,
    resolve_substance,
)
from interdict.reference.registry import Registry

AGENCY_KIND = "precursor_authority"


class AuthorisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=64)
    operator: str = Field(min_length=1, max_length=64, description="Exporter's licence.")
    substance: str = Field(min_length=1, max_length=300)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    unit: str
    destination_country: str
    importer: str = Field(min_length=1, max_length=300)
    valid_from: dt.date
    valid_to: dt.date
    #: For recording a notification made before the platform (history, demo).
    notified_at: AwareDatetime | None = None
    response: Literal["confirmed", "objected"] | None = None
    responded_at: AwareDatetime | None = None

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if value.lower() not in MASS_UNITS and value.lower() not in VOLUME_UNITS:
            raise ValueError("must be one of kg, g, t, L, mL")
        return value.lower()

    @field_validator("destination_country")
    @classmethod
    def _country(cls, value: str) -> str:
        return country(value)


class NotificationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirmed", "objected"]
    note: str = Field("", max_length=5000)


def deadline(sent: dt.datetime, working_days: int) -> dt.datetime:
    """``working_days`` Monday-to-Friday days after ``sent``, at the same time of day."""
    day = np.busday_offset(np.datetime64(sent.date()), working_days, roll="forward")
    return dt.datetime.combine(day.astype(dt.date), sent.timetz())


def _importing_agency(session: Session, code: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.country == code,
                                               Agency.kind == AGENCY_KIND).order_by(Agency.id))


def create(session: Session, *, actor: Actor, registry: Registry, data: AuthorisationCreate
           ) -> ExportAuthorisation:
    actor.require(Permission.precursors_manage)
    op = get_operator(session, actor=actor, licence=data.operator)
    errors: list[FieldError] = []
    try:
        substance = resolve_substance(registry, data.substance)
    except ValueError as exc:
        raise InvalidData(str(exc), errors=[FieldError("substance", str(exc))]) from None
    if data.valid_to < data.valid_from:
        errors.append(FieldError("valid_to", "before valid_from"))
    if data.response and data.notified_at is None:
        errors.append(FieldError("response", "an answer needs notified_at"))
    if (data.response is None) != (data.responded_at is None):
        errors.append(FieldError("responded_at", "give response and responded_at together"))
    kg = data.quantity * MASS_UNITS.get(data.unit, 0.0)
    if data.unit in VOLUME_UNITS:
        density = densities(registry).get(substance.name)
        if density is None:
            errors.append(FieldError("unit", f"no density of {substance.name}; give the mass"))
        kg = data.quantity * VOLUME_UNITS[data.unit] * (density or 0.0)
    if errors:
        raise InvalidData(f"authorisation {data.number}: {errors[0].field}: {errors[0].reason}",
                          errors=errors)
    if session.scalar(select(ExportAuthorisation.id).where(
            ExportAuthorisation.agency_id == actor.agency_id,
            ExportAuthorisation.number == data.number)) is not None:
        raise Conflict(f"authorisation {data.number} already exists")
    rules = check_settings(registry).exports
    required = substance.category in rules.notification_categories \
        or data.destination_country in rules.notification_destinations
    importing = _importing_agency(session, data.destination_country)
    auth = ExportAuthorisation(
        agency_id=actor.agency_id, number=data.number, operator_id=op.id,
        substance=substance.name, category=substance.category, quantity=data.quantity,
        unit=UNIT_NAMES[data.unit], quantity_kg=kg, destination_country=data.destination_country,
        importer=data.importer, valid_from=data.valid_from, valid_to=data.valid_to,
        notification_required=required,
        importing_agency_id=importing.id if importing else None,
        notification_status="draft" if required else "not_required",
        created_by=actor.username, created_at=utcnow())
    if data.notified_at is not None:
        sent = data.notified_at.astimezone(dt.UTC)
        auth.notified_at = sent
        auth.notification_deadline = deadline(sent, rules.notification_working_days)
        auth.notification_status = data.response or "pending"
        if data.responded_at is not None:
            auth.responded_at = data.responded_at.astimezone(dt.UTC)
            auth.responded_by = actor.username
    session.add(auth)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="precursors.authorisation", resource_id=auth.id,
                 details={"number": auth.number, "licence": op.licence})
    return auth


def _get(session: Session, actor: Actor, auth_id: int) -> ExportAuthorisation:
    """An authorisation the actor's agency issued or was notified of."""
    auth = session.scalar(select(ExportAuthorisation).where(
        ExportAuthorisation.id == auth_id,
        or_(ExportAuthorisation.agency_id == actor.agency_id,
            (ExportAuthorisation.importing_agency_id == actor.agency_id)
            & ExportAuthorisation.notified_at.is_not(None))))
    if auth is None:
        raise NotFound(f"no authorisation {auth_id}")
    return auth


def send(session: Session, *, actor: Actor, registry: Registry, auth_id: int
         ) -> ExportAuthorisation:
    """Send the pre-export notification; the importing authority's clock starts now."""
    actor.require(Permission.precursors_manage)
    auth = _get(session, actor, auth_id)
    if auth.agency_id != actor.agency_id:
        raise Forbidden("only the exporting authority sends its notification")
    if auth.notified_at is not None:
        raise Conflict(f"the notification for {auth.number} was sent on "
                       f"{auth.notified_at:%Y-%m-%d}")
    now = utcnow()
    auth.notified_at = now
    auth.notification_deadline = deadline(now, check_settings(registry)
                                          .exports.notification_working_days)
    auth.notification_status = "pending"
    importing = session.get(Agency, auth.importing_agency_id) if auth.importing_agency_id \
        else None
    audit.record(session, actor=actor, action=AuditAction.record_disclosed,
                 resource_type="precursors.authorisation", resource_id=auth.id,
                 recipient=importing.code if importing else auth.destination_country,
                 details={"number": auth.number, "deadline": auth.notification_deadline
                          .isoformat()})
    return auth


def answer(session: Session, *, actor: Actor, auth_id: int, data: NotificationAnswer
           ) -> ExportAuthorisation:
    """The importing authority confirms or objects (or the exporter records its answer)."""
    actor.require(Permission.precursors_manage)
    auth = _get(session, actor, auth_id)
    outside = auth.importing_agency_id is None
    if not (auth.importing_agency_id == actor.agency_id
            or (outside and auth.agency_id == actor.agency_id)):
        raise Forbidden("only the importing country's authority answers this notification")
    if auth.notification_status != "pending":
        raise Conflict(f"notification {auth.number} is {auth.notification_status}, "
                       "not awaiting an answer")
    now = utcnow()
    auth.notification_status = data.decision
    auth.responded_at = now
    auth.responded_by = actor.username
    auth.response_note = data.note
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="precursors.authorisation", resource_id=auth.id,
                 details={"number": auth.number, "decision": data.decision})
    if data.decision == "objected":
        exporter = session.get(Agency, auth.agency_id)
        assert exporter is not None
        system = Actor(user_id=None, username="interdict:precursor-notifications",
                       agency_id=exporter.id, agency_code=exporter.code,
                       roles=frozenset({Role.precursor_officer}), via="system")
        alerts.raise_alert(session, actor=system, data=AlertCreate(
            source="precursors", kind="notification_objected",
            title=f"Importing authority objected to export {auth.number} of {auth.substance}"
                  f" to {auth.destination_country}", severity=Severity.high, score=1.0,
            reasons=[Reason(rule="importing_authority_objected", contribution=1.0,
                            values={"number": auth.number, "by": actor.agency_code},
                            detail=data.note[:2000] or "The importing authority objected.")],
            subjects=[SubjectRef(type="precursors.authorisation", id=str(auth.id),
                                 label=auth.number)],
            dedup_key=f"precursors:objected:{auth.id}"))
    return auth


def describe(auth: ExportAuthorisation, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    overdue = auth.notification_status == "pending" and auth.notification_deadline is not None \
        and auth.notification_deadline < now
    return {
        "id": auth.id, "number": auth.number, "operator_id": auth.operator_id,
        "substance": auth.substance, "category": auth.category, "quantity": auth.quantity,
        "unit": auth.unit, "quantity_kg": round(auth.quantity_kg, 3),
        "destination_country": auth.destination_country, "importer": auth.importer,
        "valid_from": auth.valid_from.isoformat(), "valid_to": auth.valid_to.isoformat(),
        "notification_required": auth.notification_required,
        "notification_status": auth.notification_status,
        "notified_at": auth.notified_at.isoformat() if auth.notified_at else None,
        "deadline": auth.notification_deadline.isoformat()
        if auth.notification_deadline else None,
        "responded_at": auth.responded_at.isoformat() if auth.responded_at else None,
        "response_note": auth.response_note, "overdue": overdue,
        "exporting_agency_id": auth.agency_id, "importing_agency_id": auth.importing_agency_id,
    }


def inbox(session: Session, *, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """Outgoing notifications (ours), incoming ones (addressed to us) and the overdue."""
    actor.require(Permission.precursors_read)
    now = utcnow()
    outgoing = [describe(a, now=now) for a in session.scalars(
        select(ExportAuthorisation).where(ExportAuthorisation.agency_id == actor.agency_id)
        .order_by(ExportAuthorisation.id.desc()).limit(500))]
    incoming = [describe(a, now=now) for a in session.scalars(
        select(ExportAuthorisation).where(
            ExportAuthorisation.importing_agency_id == actor.agency_id,
            ExportAuthorisation.notified_at.is_not(None))
        .order_by(ExportAuthorisation.id.desc()).limit(500))]
    return {"outgoing": outgoing, "incoming": incoming,
            "overdue": [a for a in outgoing + incoming if a["overdue"]]}


def create_many(session: Session, *, actor: Actor, registry: Registry,
                rows: list[dict[str, str]]) -> int:
    """Record authorisations given as text fields (a CSV export of another system, or the
    trade generator): the same fields as ``AuthorisationCreate``; empty text = not given.
    All or nothing with the caller's transaction."""
    for number, row in enumerate(rows, start=1):
        fields = {k: v for k, v in row.items() if k in AuthorisationCreate.model_fields and v}
        try:
            data = AuthorisationCreate.model_validate(fields)
        except ValueError as exc:
            raise InvalidData(f"authorisation row {number}: {exc}",
                              errors=[FieldError(f"row {number}", str(exc))]) from None
        create(session, actor=actor, registry=registry, data=data)
    return len(rows)
