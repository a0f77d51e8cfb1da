"""Attachments: copies of records taken at send time, and importing entities on receipt.

A record is read through its own domain's service (so the sender's permissions and audit
apply) and copied with where it came from, when, its handling code and grading. The copy is
what the recipient gets; later changes to the record do not reach it. A recipient may import
an attached entity into its own intelligence file, where its values keep the originator,
grading and handling code.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import interdict.network.service as network
import interdict.seizures.service as seizures
import interdict.targeting.service as targeting
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import Agency
from interdict.auth.roles import Permission
from interdict.db.base import utcnow
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.exchange import codes
from interdict.exchange.models import Attachment, Delivery
from interdict.reference.registry import Registry

#: Kinds of record that can be attached, and how each is read.
KINDS = ("note", "network.entity", "seizures.seizure", "targeting.consignment")
#: A copy larger than this is refused (a record that large should go as a file by other means).
MAX_ATTACHMENT_BYTES = 200_000
MAX_ATTACHMENTS = 20


def _read(session: Session, actor: Actor, kind: str, ref: Any, field: str
          ) -> tuple[str, dict[str, Any]]:
    """Title and content of one record, read through its domain's service."""
    try:
        rid = int(ref)
    except (TypeError, ValueError):
        raise InvalidData("bad attachment", errors=[FieldError(
            f"{field}.resource_id", "must be the record's number")]) from None
    if kind == "network.entity":
        page = network.entity(session, actor=actor, entity_id=rid, purpose="exchange")
        props = {k: sorted({v["value"] for v in vs}) for k, vs in page["values"].items()}
        return page["caption"], {"ftm": {"id": page["ftm_id"], "schema": page["schema"],
                                         "properties": props}}
    if kind == "seizures.seizure":
        s = seizures.detail(session, actor=actor, seizure_id=rid)
        return f"Seizure {s['reference']}", s
    c = targeting.detail(session, actor=actor, consignment_id=rid)
    return f"{c['kind']} {c['reference']}", c


def snapshots(session: Session, *, actor: Actor, registry: Registry, sender: Agency,
              requested: Any, default_handling: str) -> list[dict[str, Any]]:
    """The attachment items of a new message (each refused with its position on error)."""
    if not isinstance(requested, list) or len(requested) > MAX_ATTACHMENTS:
        raise InvalidData("attachments must be a list", errors=[FieldError(
            "attachments", f"a list of at most {MAX_ATTACHMENTS}")])
    items = []
    for i, spec in enumerate(requested):
        field = f"attachments[{i}]"
        if not isinstance(spec, dict) or spec.get("resource_type") not in KINDS:
            raise InvalidData("bad attachment", errors=[FieldError(
                f"{field}.resource_type", f"one of {', '.join(KINDS)}")])
        kind = spec["resource_type"]
        if kind == "note":
            text = str(spec.get("text", ""))
            title, content, ref = str(spec.get("title") or "Note")[:300], {"text": text}, "-"
        else:
            title, content = _read(session, actor, kind, spec.get("resource_id"), field)
            ref = str(spec.get("resource_id"))
        size = len(json.dumps(content, default=str).encode())
        if size > MAX_ATTACHMENT_BYTES:
            raise InvalidData("attachment too large", errors=[FieldError(
                field, f"{size:,} bytes; at most {MAX_ATTACHMENT_BYTES:,}")])
        # A seizure travels under the seizing agency's own handling code unless the sender
        # states one; other records under the message's code.
        own = content.get("handling") if kind == "seizures.seizure" else None
        handling = codes.handling(registry, str(spec.get("handling") or own
                                                or default_handling),
                                  f"{field}.handling").code
        items.append({"resource_type": kind, "resource_id": ref, "title": title,
                      "content": json.loads(json.dumps(content, default=str)),
                      "originator": sender.code, "captured_at": utcnow().isoformat(),
                      "handling": handling,
                      "grading": codes.grading(registry, spec.get("grading"),
                                               f"{field}.grading")})
    return items


def as_item(session: Session, a: Attachment) -> dict[str, Any]:
    """A stored attachment as an envelope item again (for a forward: originator kept)."""
    origin = session.get(Agency, a.originator_agency_id)
    return {"resource_type": a.resource_type, "resource_id": a.resource_id,
            "title": a.title, "content": a.content,
            "originator": origin.code if origin else "",
            "captured_at": a.captured_at.isoformat(), "handling": a.handling,
            "grading": a.grading}


def describe(session: Session, registry: Registry, a: Attachment) -> dict[str, Any]:
    rules = codes.handling(registry, a.handling)
    return {**as_item(session, a), "id": a.id, "position": a.position,
            "handling_label": rules.label, "court_use": rules.court_use,
            "onward_sharing": rules.onward_sharing}


def import_entity(session: Session, *, actor: Actor, registry: Registry, attachment_id: int,
                  justification: str) -> dict[str, Any]:
    """Import an attached entity into the receiving agency's intelligence file, with the
    originator's provenance, grading and handling code on every value."""
    actor.require(Permission.network_write)
    a = session.get(Attachment, attachment_id)
    delivered = a is not None and session.scalar(select(Delivery.id).where(
        Delivery.message_id == a.message_id, Delivery.agency_id == actor.agency_id))
    if a is None or not delivered:
        raise NotFound(f"no attachment {attachment_id} delivered to your agency")
    if a.resource_type != "network.entity":
        raise InvalidData("only entities are imported into the file", errors=[FieldError(
            "attachment_id", f"is a {a.resource_type}")])
    origin = session.get(Agency, a.originator_agency_id)
    assert origin is not None
    grading = a.grading or {"scheme": "4x4", "source": "X", "information": "4"}
    result = network.import_records(
        session, actor=actor, registry=registry,
        filename=f"exchange-attachment-{a.id}.ftm.jsonl",
        data=(json.dumps(a.content["ftm"], sort_keys=True) + "\n").encode(),
        originator=origin.code, scheme=grading["scheme"], source_grade=grading["source"],
        information_grade=grading["information"], handling=a.handling,
        observed_on=a.captured_at.date().isoformat(),
        source_record=f"exchange message {a.message_id}, attachment {a.position + 1}")
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="exchange.import", resource_id=a.id,
                 justification=justification, details={"originator": origin.code,
                                                       "handling": a.handling})
    return {"attachment_id": a.id, **result.as_dict()}

