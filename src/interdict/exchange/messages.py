"""Messages between agencies: send, verify on receipt, read, acknowledge, reply, forward.

Sending builds an *envelope* (who to whom, the message, copies of the attached records with
their provenance, handling codes and grading), signs it with the sending agency's key, and
delivers it to each recipient agency, which verifies the signature against the sender's
registered public keys before the message reaches its inbox. The same verification takes
an envelope that came from another Interdict instance (:func:`receive`); whatever fails it
is refused, recorded as a rejection and in the audit log, and changes nothing else.

Handling codes bind the receiving side: an item whose code forbids onward sharing (H2, H3,
TLP:RED, TLP:AMBER+STRICT) is forwarded only to an agency the originator has granted, through
a permission request; H1 items travel with "not for use in judicial proceedings".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.models import Agency
from interdict.auth.roles import Permission
from interdict.db.base import utcnow
from interdict.errors import FieldError, Forbidden, InvalidData, NotFound
from interdict.exchange import attachments, codes, envelopes, keys
from interdict.exchange.models import (
    Attachment,
    Delivery,
    Message,
    PermissionRequest,
    Rejection,
    Thread,
)
from interdict.reference.registry import Registry

RESOURCE = "exchange.message"
PRIORITIES = ("low", "normal", "high", "urgent")
MAX_RECIPIENTS = 50
MAX_BODY = 100_000


def _text(data: dict[str, Any], name: str, limit: int, problems: list[FieldError],
          required: bool = False) -> str:
    raw = data.get(name, "")
    if not isinstance(raw, str):
        problems.append(FieldError(name, "must be text"))
        return ""
    value: str = raw.strip()
    if required and not value:
        problems.append(FieldError(name, "required"))
    if len(value) > limit:
        problems.append(FieldError(name, f"longer than {limit} characters"))
    return value


def _agencies(session: Session, actor: Actor, codes_: Any) -> list[Agency]:
    if not isinstance(codes_, list) or not codes_ or len(codes_) > MAX_RECIPIENTS:
        raise InvalidData("recipients are needed", errors=[FieldError(
            "to", f"a list of 1 to {MAX_RECIPIENTS} agency codes")])
    out = []
    for i, code in enumerate(codes_):
        agency = session.scalar(select(Agency).where(Agency.code == str(code)))
        if agency is None:
            raise InvalidData("unknown recipient", errors=[FieldError(f"to[{i}]",
                                                                      f"no agency {code!r}")])
        if agency.id == actor.agency_id:
            raise InvalidData("a message goes to other agencies", errors=[
                FieldError(f"to[{i}]", "that is your own agency")])
        if agency not in out:
            out.append(agency)
    return out


def _own_agency(session: Session, actor: Actor) -> Agency:
    agency = session.get(Agency, actor.agency_id)
    assert agency is not None
    return agency


def send(session: Session, *, actor: Actor, registry: Registry, secret: str,
         data: dict[str, Any], _forwarded: Message | None = None,
         _copies: list[dict[str, Any]] | None = None,
         _thread_id: int | None = None) -> dict[str, Any]:
    """Send a message (``to``, ``subject``, ``body``, ``priority``, ``requested_action``,
    ``legal_basis``, ``handling``, ``grading``, ``attachments``, ``in_reply_to``) as the
    actor's agency: signed, delivered and verified at each recipient, audited as a
    disclosure to each."""
    actor.require(Permission.exchange_send)
    problems: list[FieldError] = []
    subject = _text(data, "subject", 300, problems, required=True)
    body = _text(data, "body", MAX_BODY, problems)
    requested = _text(data, "requested_action", 300, problems)
    legal = _text(data, "legal_basis", 300, problems)
    priority = data.get("priority", "normal")
    if priority not in PRIORITIES:
        problems.append(FieldError("priority", f"one of {', '.join(PRIORITIES)}"))
    if problems:
        raise InvalidData("message is not valid", errors=problems)
    handling = codes.handling(registry, str(data.get("handling", "H0"))).code
    grading = codes.grading(registry, data.get("grading"))
    recipients = _agencies(session, actor, data.get("to"))
    sender = _own_agency(session, actor)
    reply_to = None
    if data.get("in_reply_to") is not None:
        reply_to = visible_message(session, actor, int(data["in_reply_to"]))
    items = _copies if _copies is not None else attachments.snapshots(
        session, actor=actor, registry=registry, sender=sender,
        requested=data.get("attachments") or [], default_handling=handling)
    thread_id = reply_to.thread_id if reply_to else (
        _forwarded.thread_id if _forwarded else _thread_id)
    if thread_id is None:
        thread = Thread(subject=subject, case_reference=_text(
            data, "case_reference", 120, problems))
        session.add(thread)
        session.flush()
        thread_id = thread.id
    uid = str(uuid.uuid4())
    envelope = {"uid": uid, "from": sender.code, "to": [a.code for a in recipients],
                "sent_at": utcnow().isoformat(), "sender": actor.username,
                "thread": thread_id, "in_reply_to": _uid(session, reply_to),
                "forwarded_from": _uid(session, _forwarded),
                "message": {"subject": subject, "body": body, "priority": priority,
                            "requested_action": requested, "legal_basis": legal,
                            "handling": handling, "grading": grading},
                "attachments": items}
    kid, seed = keys.active_key(session, sender, secret)
    signed = envelopes.sign(envelope, seed, kid)
    msg = _store(session, signed, sender, thread_id, reply_to, _forwarded)
    for agency in recipients:
        _deliver(session, msg, agency)
        audit.record(session, actor=actor, action=AuditAction.record_disclosed,
                     resource_type=RESOURCE, resource_id=msg.id, recipient=agency.code,
                     justification=legal or subject,
                     details={"handling": handling, "attachments": len(items),
                              "forwarded_from": _forwarded.id if _forwarded else None})
    return summary(session, msg, actor)


def _uid(session: Session, msg: Message | None) -> str | None:
    return msg.uid if msg is not None else None


def _store(session: Session, signed: dict[str, Any], sender: Agency, thread_id: int,
           reply_to: Message | None, forwarded: Message | None) -> Message:
    env = signed["envelope"]
    body = env["message"]
    msg = Message(uid=env["uid"], thread_id=thread_id, sender_agency_id=sender.id,
                  sender=env.get("sender", ""), subject=body["subject"], body=body["body"],
                  priority=body["priority"], requested_action=body["requested_action"],
                  legal_basis=body["legal_basis"], handling=body["handling"],
                  grading=body["grading"], in_reply_to=reply_to.id if reply_to else None,
                  forwarded_from=forwarded.id if forwarded else None, envelope=signed,
                  key_id=signed["key_id"])
    session.add(msg)
    session.flush()
    for i, item in enumerate(env["attachments"]):
        origin = session.scalar(select(Agency).where(Agency.code == item["originator"]))
        session.add(Attachment(
            message_id=msg.id, position=i, resource_type=item["resource_type"],
            resource_id=str(item["resource_id"]), title=item["title"][:300],
            content=item["content"],
            originator_agency_id=origin.id if origin else sender.id,
            captured_at=dt.datetime.fromisoformat(item["captured_at"]), handling=item["handling"],
            grading=item["grading"]))
    session.flush()
    return msg


def _deliver(session: Session, msg: Message, agency: Agency) -> None:
    """The recipient's side: verify the envelope against the sender's keys, then file it."""
    envelopes.verify(msg.envelope, keys.public_keys(session, msg.sender_agency_id))
    session.add(Delivery(message_id=msg.id, agency_id=agency.id))
    session.flush()


def receive(session: Session, *, actor: Actor, registry: Registry, signed: Any
            ) -> dict[str, Any]:
    """Take an envelope that came from another instance (or a file) for the actor's agency.

    Refused, recorded and audited when it is unsigned, tampered, signed with a key not
    registered for its sender, malformed, or not addressed to this agency.
    """
    actor.require(Permission.exchange_read)
    digest = hashlib.sha256(json.dumps(signed, sort_keys=True, default=str).encode()
                            ).hexdigest()
    try:
        env = signed.get("envelope") if isinstance(signed, dict) else None
        sender_code = env.get("from") if isinstance(env, dict) else None
        sender = session.scalar(select(Agency).where(Agency.code == str(sender_code)))
        known = keys.public_keys(session, sender.id) if sender else {}
        verified = envelopes.verify(signed, known)
        if actor.agency_code not in verified["to"]:
            raise envelopes.EnvelopeRejected("malformed", "not addressed to this agency")
        codes.handling(registry, verified["message"]["handling"])
    except envelopes.EnvelopeRejected as exc:
        session.add(Rejection(agency_id=actor.agency_id, reason=exc.reason,
                              detail=exc.detail[:2000], key_id=exc.key_id or "",
                              digest=digest))
        audit.record(session, actor=actor, action=AuditAction.record_created,
                     resource_type="exchange.rejection", resource_id=digest[:16],
                     details={"reason": exc.reason, "key_id": exc.key_id})
        session.commit()  # the rejection is kept although the request fails
        raise
    held = session.scalar(select(Message).where(Message.uid == verified["uid"]))
    if held is None:
        assert sender is not None
        thread = Thread(subject=verified["message"]["subject"])
        session.add(thread)
        session.flush()
        held = _store(session, signed, sender, thread.id, None, None)
    agency = _own_agency(session, actor)
    if session.scalar(select(Delivery.id).where(Delivery.message_id == held.id,
                                                Delivery.agency_id == agency.id)) is None:
        _deliver(session, held, agency)
    return summary(session, held, actor)


# -- reading ------------------------------------------------------------------------------

def _party(session: Session, msg: Message, agency_id: int) -> bool:
    if msg.sender_agency_id == agency_id:
        return True
    return session.scalar(select(Delivery.id).where(Delivery.message_id == msg.id,
                                                    Delivery.agency_id == agency_id)) \
        is not None


def visible_message(session: Session, actor: Actor, message_id: int) -> Message:
    actor.require(Permission.exchange_read)
    msg = session.get(Message, message_id)
    if msg is None or not _party(session, msg, actor.agency_id):
        raise NotFound(f"no message {message_id}")
    return msg


def _case(session: Session, msg: Message) -> str:
    """The case reference, kept on the thread (every reply and forward shares the case)."""
    thread = session.get(Thread, msg.thread_id)
    return thread.case_reference if thread is not None else ""


def summary(session: Session, msg: Message, actor: Actor) -> dict[str, Any]:
    sender = session.get(Agency, msg.sender_agency_id)
    deliveries = session.execute(select(Delivery, Agency.code).join(
        Agency, Agency.id == Delivery.agency_id).where(Delivery.message_id == msg.id)
        .order_by(Delivery.id)).all()
    return {"id": msg.id, "uid": msg.uid, "thread_id": msg.thread_id,
            "from": sender.code if sender else "", "sender": msg.sender,
            "to": [{"agency": code, "acknowledged_at": d.acknowledged_at.isoformat()
                    if d.acknowledged_at else None, "acknowledged_by": d.acknowledged_by}
                   for d, code in deliveries],
            "subject": msg.subject, "case_reference": _case(session, msg),
            "priority": msg.priority, "handling": msg.handling,
            "grading": msg.grading, "in_reply_to": msg.in_reply_to,
            "forwarded_from": msg.forwarded_from, "key_id": msg.key_id,
            "sent_at": msg.created_at.isoformat()}


def read(session: Session, *, actor: Actor, registry: Registry, message_id: int,
         justification: str = "") -> dict[str, Any]:
    """The whole message with its attachments; every read is audited with its purpose."""
    msg = visible_message(session, actor, message_id)
    out = summary(session, msg, actor)
    rules = codes.handling(registry, msg.handling)
    out.update({"body": msg.body, "requested_action": msg.requested_action,
                "legal_basis": msg.legal_basis, "court_use": rules.court_use,
                "onward_sharing": rules.onward_sharing, "handling_label": rules.label,
                "attachments": [attachments.describe(session, registry, a) for a in
                                session.scalars(select(Attachment).where(
                                    Attachment.message_id == msg.id)
                                    .order_by(Attachment.position))]})
    audit.record(session, actor=actor, action=AuditAction.record_viewed,
                 resource_type=RESOURCE, resource_id=msg.id, justification=justification,
                 details={"subject": msg.subject[:120]})
    return out


def mailbox(session: Session, *, actor: Actor, box: str = "inbox", limit: int = 200
            ) -> list[dict[str, Any]]:
    """Inbox (delivered to the agency) or outbox (sent by it), newest first."""
    actor.require(Permission.exchange_read)
    stmt = select(Message)
    if box == "outbox":
        stmt = stmt.where(Message.sender_agency_id == actor.agency_id)
    else:
        stmt = stmt.where(Message.id.in_(select(Delivery.message_id).where(
            Delivery.agency_id == actor.agency_id)))
    rows = session.scalars(stmt.order_by(Message.id.desc()).limit(limit))
    return [summary(session, m, actor) for m in rows]


def thread(session: Session, *, actor: Actor, thread_id: int) -> list[dict[str, Any]]:
    """The messages of a thread the agency is party to (sender or recipient)."""
    actor.require(Permission.exchange_read)
    rows = [m for m in session.scalars(select(Message).where(Message.thread_id == thread_id)
                                       .order_by(Message.id))
            if _party(session, m, actor.agency_id)]
    if not rows:
        raise NotFound(f"no thread {thread_id}")
    return [summary(session, m, actor) for m in rows]


def acknowledge(session: Session, *, actor: Actor, message_id: int) -> dict[str, Any]:
    msg = visible_message(session, actor, message_id)
    d = session.scalar(select(Delivery).where(Delivery.message_id == msg.id,
                                              Delivery.agency_id == actor.agency_id))
    if d is None:
        raise InvalidData("only a recipient acknowledges", errors=[
            FieldError("message_id", "your agency sent this message")])
    if d.acknowledged_at is None:
        d.acknowledged_at, d.acknowledged_by = utcnow(), actor.username
        audit.record(session, actor=actor, action=AuditAction.record_changed,
                     resource_type=RESOURCE, resource_id=msg.id,
                     details={"acknowledged": True})
    return summary(session, msg, actor)


def reply(session: Session, *, actor: Actor, registry: Registry, secret: str,
          message_id: int, data: dict[str, Any]) -> dict[str, Any]:
    msg = visible_message(session, actor, message_id)
    sender = session.get(Agency, msg.sender_agency_id)
    assert sender is not None
    to = data.get("to") or ([sender.code] if sender.id != actor.agency_id else None)
    return send(session, actor=actor, registry=registry, secret=secret,
                data={"subject": f"Re: {msg.subject}"[:300], "handling": msg.handling,
                      **data, "to": to, "in_reply_to": msg.id})


# -- forwarding and permissions -----------------------------------------------------------

def _granted(session: Session, msg: Message, attachment_id: int | None, to_agency_id: int,
             requester_agency_id: int) -> bool:
    return session.scalar(select(PermissionRequest.id).where(
        PermissionRequest.message_id == msg.id,
        PermissionRequest.attachment_id.is_(None) if attachment_id is None
        else PermissionRequest.attachment_id == attachment_id,
        PermissionRequest.to_agency_id == to_agency_id,
        PermissionRequest.requester_agency_id == requester_agency_id,
        PermissionRequest.status == "granted")) is not None


def forward(session: Session, *, actor: Actor, registry: Registry, secret: str,
            message_id: int, to: Any, note: str = "") -> dict[str, Any]:
    """Pass a received message and its attachments on, under their handling codes.

    The message and each attachment keep their originator, code and grading. Whatever may
    not be shared onward needs the originator's grant for that recipient; without it the
    forward is refused, naming each item and the code, and nothing is sent.
    """
    msg = visible_message(session, actor, message_id)
    recipients = _agencies(session, actor, to)
    items = list(session.scalars(select(Attachment).where(Attachment.message_id == msg.id)
                                 .order_by(Attachment.position)))
    problems = []
    for agency in recipients:
        if msg.sender_agency_id != actor.agency_id and not codes.handling(
                registry, msg.handling).onward_sharing and not _granted(
                session, msg, None, agency.id, actor.agency_id):
            problems.append(FieldError("message", f"{msg.handling}: may not be passed to "
                                       f"{agency.code} without the originator's permission"))
        for a in items:
            if a.originator_agency_id != actor.agency_id and not codes.handling(
                    registry, a.handling).onward_sharing and not _granted(
                    session, msg, a.id, agency.id, actor.agency_id):
                problems.append(FieldError(f"attachments[{a.position}]",
                                           f"{a.handling}: may not be passed to "
                                           f"{agency.code} without the originator's "
                                           "permission"))
    if problems:
        audit.record(session, actor=actor, action=AuditAction.record_disclosed,
                     resource_type=RESOURCE, resource_id=msg.id,
                     details={"refused": [p.reason for p in problems][:20]})
        session.commit()  # the refused attempt stays in the audit log
        raise Forbidden("forward refused: " + "; ".join(p.reason for p in problems[:5]))
    copies = [attachments.as_item(session, a) for a in items]
    return send(session, actor=actor, registry=registry, secret=secret, _forwarded=msg,
                _copies=copies, data={"to": [a.code for a in recipients],
                                      "subject": f"Fwd: {msg.subject}"[:300],
                                      "body": (note + "\n\n" if note else "") + msg.body,
                                      "handling": msg.handling, "grading": msg.grading,
                                      "legal_basis": msg.legal_basis,
                                      "requested_action": msg.requested_action})


def request_permission(session: Session, *, actor: Actor, message_id: int,
                       attachment_id: int | None, to: str, reason: str) -> dict[str, Any]:
    """Ask the originator of a restricted message or attachment to allow passing it on."""
    msg = visible_message(session, actor, message_id)
    actor.require(Permission.exchange_send)
    if not reason.strip():
        raise InvalidData("a request needs a reason", errors=[FieldError("reason",
                                                                         "required")])
    originator = msg.sender_agency_id
    if attachment_id is not None:
        a = session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                    Attachment.message_id == msg.id))
        if a is None:
            raise NotFound(f"no attachment {attachment_id} on message {msg.id}")
        originator = a.originator_agency_id
    if originator == actor.agency_id:
        raise InvalidData("you are the originator", errors=[FieldError(
            "attachment_id", "your agency may pass its own items on")])
    target = auth.get_agency(session, code=to)
    req = PermissionRequest(message_id=msg.id, attachment_id=attachment_id,
                            requester_agency_id=actor.agency_id,
                            originator_agency_id=originator, to_agency_id=target.id,
                            reason=reason.strip()[:4000], requested_by=actor.username)
    session.add(req)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="exchange.permission", resource_id=req.id,
                 justification=reason.strip()[:500], details={"to": target.code})
    return permission_summary(session, req)


def decide_permission(session: Session, *, actor: Actor, request_id: int, grant: bool,
                      note: str = "") -> dict[str, Any]:
    """The originator grants or refuses a request (once)."""
    actor.require(Permission.exchange_send)
    req = session.get(PermissionRequest, request_id)
    if req is None or req.originator_agency_id != actor.agency_id:
        raise NotFound(f"no permission request {request_id} to your agency")
    if req.status != "pending":
        raise InvalidData("already decided", errors=[FieldError("status", req.status)])
    req.status = "granted" if grant else "refused"
    req.decided_by, req.decided_at, req.note = actor.username, utcnow(), note[:4000]
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="exchange.permission", resource_id=req.id,
                 details={"status": req.status})
    return permission_summary(session, req)


def permission_summary(session: Session, req: PermissionRequest) -> dict[str, Any]:
    def code(i: int) -> str:
        a = session.get(Agency, i)
        return a.code if a else ""

    return {"id": req.id, "message_id": req.message_id, "attachment_id": req.attachment_id,
            "requester": code(req.requester_agency_id),
            "originator": code(req.originator_agency_id), "to": code(req.to_agency_id),
            "reason": req.reason, "status": req.status, "decided_by": req.decided_by,
            "note": req.note, "created_at": req.created_at.isoformat()}


def permission_requests(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Requests the agency made and requests made to it, newest first."""
    actor.require(Permission.exchange_read)
    rows = session.scalars(select(PermissionRequest).where(or_(
        PermissionRequest.requester_agency_id == actor.agency_id,
        PermissionRequest.originator_agency_id == actor.agency_id))
        .order_by(PermissionRequest.id.desc()))
    return [permission_summary(session, r) for r in rows]
