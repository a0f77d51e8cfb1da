"""Incident reports pushed to focal points, as the INCB's PICS (precursors) and IONICS (NPS,
fentanyl) do: an agency reports a structured incident; every agency subscribed to its topic
and country gets it in its feed and as an alert on its queue (so also on the live stream, the
webhooks and JetStream).

The substance is resolved through ``substances`` so the report shows its control status; a
substance on no list is accepted as ``unlisted`` (new psychoactive substances often are:
reporting them is the point), never silently renamed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import interdict.substances.service as substances
from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate, Reason, Severity, SubjectRef
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import Agency
from interdict.auth.roles import Permission, Role
from interdict.errors import FieldError, InvalidData
from interdict.exchange import codes
from interdict.exchange.models import Incident, IncidentDelivery, Subscription
from interdict.reference.registry import Registry
from interdict.substances.schemas import CheckQuery

KINDS = ("precursor", "nps")
TOPICS = ("precursors", "nps", "fentanyl")
#: The structured fields of each kind of report (all text; lists where noted).
FIELDS = {"precursor": ("quantity", "unit", "route", "modus_operandi", "companies",
                        "concealment"),
          "nps": ("form", "place", "harm")}
LIST_FIELDS = ("route", "companies")


def _code(value: Any, field: str, star: bool = False) -> str:
    code = str(value or "").strip().upper()
    if star and code in ("", "*"):
        return "*"
    if len(code) != 2 or not code.isalpha():
        raise InvalidData("bad country", errors=[FieldError(field,
                                                            "an ISO 3166 alpha-2 code")])
    return code


def _substance(registry: Registry, name: str) -> tuple[str, str]:
    """The lists' name and status of a substance, or the name as given and ``unlisted``."""
    index = substances.get_index(registry)
    verdict = substances.check(index=index, query=CheckQuery(name=name[:300]))
    if verdict.controlled and verdict.matches:
        exact = [m for m in verdict.matches if m.substance.lower() == name.lower()]
        return (exact or verdict.matches)[0].substance, "controlled"
    if verdict.watch and verdict.matches:
        return verdict.matches[0].substance, "watch"
    return name, "unlisted"


def report(session: Session, *, actor: Actor, registry: Registry, data: dict[str, Any]
           ) -> dict[str, Any]:
    """Record an incident and push it to every subscribed agency."""
    actor.require(Permission.exchange_send)
    kind = str(data.get("kind", ""))
    if kind not in KINDS:
        raise InvalidData("unknown kind", errors=[FieldError("kind", f"one of {KINDS}")])
    problems: list[FieldError] = []
    name = str(data.get("substance") or "").strip()
    if not name:
        problems.append(FieldError("substance", "required"))
    topic = str(data.get("topic") or ("precursors" if kind == "precursor" else "nps"))
    if topic not in TOPICS:
        problems.append(FieldError("topic", f"one of {', '.join(TOPICS)}"))
    try:
        occurred = dt.date.fromisoformat(str(data.get("occurred_on", "")))
    except ValueError:
        problems.append(FieldError("occurred_on", "a date (YYYY-MM-DD)"))
        occurred = dt.date.today()
    unknown = sorted(set(data) - {"kind", "substance", "topic", "country", "occurred_on",
                                  "handling", *FIELDS[kind]})
    problems += [FieldError(k, f"not a field of a {kind} incident") for k in unknown]
    if problems:
        raise InvalidData("incident is not valid", errors=problems)
    country = _code(data.get("country"), "country")
    handling = codes.handling(registry, str(data.get("handling", "H0"))).code
    fields: dict[str, Any] = {}
    for f in FIELDS[kind]:
        value = data.get(f)
        if f in LIST_FIELDS:
            items = value if isinstance(value, list) else \
                [v.strip() for v in str(value or "").split(";") if v.strip()]
            fields[f] = [_code(c, f"{f}") if f == "route" else str(c)[:200] for c in items]
        elif value is not None:
            fields[f] = str(value)[:2000]
    resolved, status = _substance(registry, name)
    inc = Incident(agency_id=actor.agency_id, kind=kind, topic=topic, country=country,
                   substance=resolved, substance_status=status, fields=fields,
                   handling=handling, reported_by=actor.username,
                   occurred_on=occurred.isoformat())
    session.add(inc)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="exchange.incident", resource_id=inc.id,
                 details={"topic": topic, "country": country, "substance": resolved})
    delivered = _broadcast(session, actor, inc)
    return {**describe(session, inc), "delivered_to": delivered}


def _broadcast(session: Session, actor: Actor, inc: Incident) -> list[str]:
    subs = session.scalars(select(Subscription).where(
        Subscription.topic == inc.topic, Subscription.agency_id != inc.agency_id,
        or_(Subscription.country == inc.country, Subscription.country == "*")))
    out = []
    for agency_id in sorted({s.agency_id for s in subs}):
        agency = session.get(Agency, agency_id)
        assert agency is not None
        system = Actor(user_id=None, username="interdict:exchange", agency_id=agency.id,
                       agency_code=agency.code, roles=frozenset({Role.analyst}),
                       via="system")
        alert = alerts.raise_alert(session, actor=system, data=AlertCreate(
            source="exchange", kind=f"incident.{inc.kind}",
            title=(f"{inc.kind.upper() if inc.kind == 'nps' else 'Precursor'} incident from "
                   f"{actor.agency_code}: {inc.substance} in {inc.country}")[:300],
            severity=Severity.high if inc.substance_status == "unlisted" else Severity.medium,
            reasons=[Reason(rule=f"subscription:{inc.topic}", contribution=1.0,
                            values={"country": inc.country, "topic": inc.topic},
                            detail="your agency subscribes to this topic and country")],
            subjects=[SubjectRef(type="exchange.incident", id=str(inc.id),
                                 label=inc.substance[:200])],
            dedup_key=f"incident:{inc.id}"))
        session.add(IncidentDelivery(incident_id=inc.id, agency_id=agency.id,
                                     alert_id=alert.id))
        out.append(agency.code)
    session.flush()
    return out


def describe(session: Session, inc: Incident) -> dict[str, Any]:
    agency = session.get(Agency, inc.agency_id)
    return {"id": inc.id, "kind": inc.kind, "topic": inc.topic, "country": inc.country,
            "substance": inc.substance, "substance_status": inc.substance_status,
            "fields": inc.fields, "handling": inc.handling, "occurred_on": inc.occurred_on,
            "reported_by": agency.code if agency else "", "created_at":
            inc.created_at.isoformat()}


def feed(session: Session, *, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Incidents pushed to the agency and those it reported, newest first."""
    actor.require(Permission.exchange_read)
    received = select(IncidentDelivery.incident_id).where(
        IncidentDelivery.agency_id == actor.agency_id)
    rows = session.scalars(select(Incident).where(or_(
        Incident.agency_id == actor.agency_id, Incident.id.in_(received)))
        .order_by(Incident.id.desc()).limit(limit))
    return [describe(session, i) for i in rows]


def subscribe(session: Session, *, actor: Actor, topic: str, country: str = "*"
              ) -> dict[str, Any]:
    actor.require(Permission.exchange_send)
    if topic not in TOPICS:
        raise InvalidData("unknown topic", errors=[FieldError("topic", f"one of {TOPICS}")])
    code = _code(country, "country", star=True)
    held = session.scalar(select(Subscription).where(
        Subscription.agency_id == actor.agency_id, Subscription.topic == topic,
        Subscription.country == code))
    if held is None:
        session.add(Subscription(agency_id=actor.agency_id, topic=topic, country=code))
        session.flush()
    return {"topic": topic, "country": code}


def unsubscribe(session: Session, *, actor: Actor, topic: str, country: str = "*") -> None:
    actor.require(Permission.exchange_send)
    code = _code(country, "country", star=True)
    for s in session.scalars(select(Subscription).where(
            Subscription.agency_id == actor.agency_id, Subscription.topic == topic,
            Subscription.country == code)):
        session.delete(s)


def subscriptions(session: Session, *, actor: Actor) -> list[dict[str, str]]:
    actor.require(Permission.exchange_read)
    return [{"topic": s.topic, "country": s.country} for s in session.scalars(
        select(Subscription).where(Subscription.agency_id == actor.agency_id)
        .order_by(Subscription.topic, Subscription.country))]
