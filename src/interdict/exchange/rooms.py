"""Operation rooms: the shared workspace of a joint investigation (a virtual command post).

Member agencies share a running log, an evidence register (who supplied what, when, under
which handling code) and records. Every entry is also a signed message to the other members
in the room's thread, so the transfer history of the exchange stays complete: what entered
a room left its agency as a message, with the same audit and handling rules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.models import Agency
from interdict.auth.roles import Permission
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.exchange import messages
from interdict.exchange.models import Attachment, Room, RoomEntry, RoomMember, Thread
from interdict.reference.registry import Registry

ENTRY_KINDS = ("log", "evidence", "record")


def _member(session: Session, actor: Actor, room_id: int) -> Room:
    actor.require(Permission.exchange_read)
    room = session.get(Room, room_id)
    if room is None or session.scalar(select(RoomMember.id).where(
            RoomMember.room_id == room_id, RoomMember.agency_id == actor.agency_id)) is None:
        raise NotFound(f"no operation room {room_id}")
    return room


def create(session: Session, *, actor: Actor, name: str, case_reference: str,
           members: list[str]) -> dict[str, Any]:
    """A room for the actor's agency and at least one partner."""
    actor.require(Permission.exchange_send)
    if not name.strip() or len(name) > 200:
        raise InvalidData("a room needs a name", errors=[FieldError("name",
                                                                    "1-200 characters")])
    partners = [auth.get_agency(session, code=c.strip()) for c in members if c.strip()]
    partners = [a for a in partners if a.id != actor.agency_id]
    if not partners:
        raise InvalidData("a room joins agencies", errors=[FieldError(
            "members", "at least one partner agency")])
    thread = Thread(subject=f"Operation room: {name.strip()}",
                    case_reference=case_reference.strip()[:120])
    session.add(thread)
    session.flush()
    room = Room(name=name.strip(), case_reference=case_reference.strip()[:120],
                created_by_agency_id=actor.agency_id, thread_id=thread.id)
    session.add(room)
    session.flush()
    for agency_id in {actor.agency_id, *(a.id for a in partners)}:
        session.add(RoomMember(room_id=room.id, agency_id=agency_id))
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="exchange.room", resource_id=room.id,
                 details={"members": sorted(a.code for a in partners)})
    return detail(session, actor=actor, room_id=room.id)


def add_member(session: Session, *, actor: Actor, room_id: int, agency: str
               ) -> dict[str, Any]:
    room = _member(session, actor, room_id)
    actor.require(Permission.exchange_send)
    target = auth.get_agency(session, code=agency)
    if session.scalar(select(RoomMember.id).where(RoomMember.room_id == room.id,
                                                  RoomMember.agency_id == target.id)) is None:
        session.add(RoomMember(room_id=room.id, agency_id=target.id))
        session.flush()
        audit.record(session, actor=actor, action=AuditAction.record_changed,
                     resource_type="exchange.room", resource_id=room.id,
                     details={"added": target.code})
    return detail(session, actor=actor, room_id=room.id)


def add_entry(session: Session, *, actor: Actor, registry: Registry, secret: str,
              room_id: int, kind: str, text: str, attachment: dict[str, Any] | None = None,
              handling: str = "H0") -> dict[str, Any]:
    """A log entry, evidence item or shared record, mirrored as a message to the members."""
    room = _member(session, actor, room_id)
    if kind not in ENTRY_KINDS:
        raise InvalidData("unknown entry kind", errors=[FieldError("kind",
                                                                   f"one of {ENTRY_KINDS}")])
    if kind == "log" and not text.strip():
        raise InvalidData("a log entry needs text", errors=[FieldError("text", "required")])
    if kind != "log" and not attachment:
        raise InvalidData(f"{kind} entries carry an item", errors=[FieldError(
            "attachment", "a record or a note")])
    others = [code for (code,) in session.execute(select(Agency.code).join(
        RoomMember, RoomMember.agency_id == Agency.id).where(
        RoomMember.room_id == room.id, RoomMember.agency_id != actor.agency_id))]
    sent = messages.send(session, actor=actor, registry=registry, secret=secret,
                         _thread_id=room.thread_id,
                         data={"to": others, "subject": f"[{room.name}] {kind}"[:300],
                               "body": text, "handling": handling,
                               "case_reference": room.case_reference,
                               "attachments": [attachment] if attachment else []})
    entry = RoomEntry(room_id=room.id, kind=kind, agency_id=actor.agency_id,
                      author=actor.username, text=text[:100_000], message_id=sent["id"])
    session.add(entry)
    session.flush()
    return detail(session, actor=actor, room_id=room.id)


def rooms(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    actor.require(Permission.exchange_read)
    ids = select(RoomMember.room_id).where(RoomMember.agency_id == actor.agency_id)
    return [{"id": r.id, "name": r.name, "case_reference": r.case_reference,
             "created_at": r.created_at.isoformat()}
            for r in session.scalars(select(Room).where(Room.id.in_(ids))
                                     .order_by(Room.id.desc()))]


def detail(session: Session, *, actor: Actor, room_id: int) -> dict[str, Any]:
    """Members, the running log and the evidence register (who supplied what)."""
    room = _member(session, actor, room_id)
    codes = {a.id: a.code for a in session.scalars(select(Agency))}
    members = [codes[m.agency_id] for m in session.scalars(
        select(RoomMember).where(RoomMember.room_id == room.id).order_by(RoomMember.id))]
    entries = []
    for e in session.scalars(select(RoomEntry).where(RoomEntry.room_id == room.id)
                             .order_by(RoomEntry.id)):
        item = session.scalar(select(Attachment).where(Attachment.message_id == e.message_id))
        entries.append({"id": e.id, "kind": e.kind, "agency": codes[e.agency_id],
                        "author": e.author, "text": e.text, "message_id": e.message_id,
                        "created_at": e.created_at.isoformat(),
                        "item": None if item is None else {
                            "title": item.title, "resource_type": item.resource_type,
                            "resource_id": item.resource_id, "handling": item.handling,
                            "supplied_by": codes[item.originator_agency_id]}})
    return {"id": room.id, "name": room.name, "case_reference": room.case_reference,
            "thread_id": room.thread_id, "members": members, "log": entries,
            "evidence": [e for e in entries if e["kind"] == "evidence"]}
