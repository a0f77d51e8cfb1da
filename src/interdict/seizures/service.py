"""Seizures' library API: records, marks, lab profiles, links, series, map and dashboard.

Adapters (API, CLI, web, demo) call these functions and nothing deeper. Every function works
inside the caller's unit of work. Reading is scoped by ``visible_to`` (an agency's own
seizures plus those shared with it); writing is the agency's own.

Other domains are reached only through their services: substance names are resolved by
``substances``, parties and confirmed links are written to the intelligence file by
``network``, and the consignment a seizure came from is looked up in ``targeting``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

import interdict.network.service as network
import interdict.substances.service as substances
import interdict.targeting.service as targeting
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.models import Agency, RecordShare
from interdict.auth.roles import Permission
from interdict.errors import Conflict, FieldError, InvalidData
from interdict.reference.registry import Registry
from interdict.seizures import entities, records
from interdict.seizures.access import (
    RESOURCE,
    Progress,
    get,
    lines_of,
    own,
    summary,
    system_actor,
    visible,
)
from interdict.seizures.collection import (
    MARK_KINDS as MARK_KINDS,
)
from interdict.seizures.collection import (
    MarkAttributes as MarkAttributes,
)
from interdict.seizures.collection import (
    MarkFilters as MarkFilters,
)
from interdict.seizures.collection import (
    add_mark as add_mark,
)
from interdict.seizures.collection import (
    mark_file as mark_file,
)
from interdict.seizures.collection import (
    mark_summary,
)
from interdict.seizures.collection import (
    search_marks as search_marks,
)
from interdict.seizures.links import (
    add_profile as add_profile,
)
from interdict.seizures.links import (
    chemistry_threshold as chemistry_threshold,
)
from interdict.seizures.links import (
    decide_link as decide_link,
)
from interdict.seizures.links import (
    find_links as find_links,
)
from interdict.seizures.links import (
    links_of,
    profile_summary,
)
from interdict.seizures.links import (
    list_links as list_links,
)
from interdict.seizures.links import (
    series as series,
)
from interdict.seizures.models import (
    ChemicalProfile,
    Mark,
    Seizure,
    SeizureImport,
    SeizureLine,
    SeizureParty,
)
from interdict.seizures.views import (
    aggregates as aggregates,
)
from interdict.seizures.views import (
    dashboard as dashboard,
)
from interdict.seizures.views import (
    import_aggregates as import_aggregates,
)
from interdict.seizures.views import (
    map_data as map_data,
)
from interdict.substances.schemas import Basis, CheckQuery
from interdict.tabular import FileRejected, RowError

# -- substances ---------------------------------------------------------------------------

_LISTED = frozenset({Basis.exact, Basis.salt, Basis.stereoisomer, Basis.name, Basis.cas})


def resolver(registry: Registry) -> records.Resolve:
    """Substance names as the lists know them, with their status; unknown names refused
    with the lists' suggestions."""
    index = substances.get_index(registry)
    kinds = {s["id"]: s["kind"] for s in substances.list_summaries(index=index)}
    cache: dict[str, records.Resolved | str] = {}

    def resolve(text: str) -> records.Resolved:
        hit = cache.get(text.lower())
        if hit is None:
            hit = _resolve(index, kinds, text)
            cache[text.lower()] = hit
        if isinstance(hit, str):
            raise ValueError(hit)
        return hit

    return resolve


def _resolve(index: Any, kinds: dict[str, str], text: str) -> records.Resolved | str:
    try:
        verdict = substances.check(index=index, query=CheckQuery(name=text[:300]))
    except InvalidData as exc:
        return exc.detail
    listed = [m for m in verdict.matches if m.basis in _LISTED]
    if not listed:
        hint = f"; did you mean {', '.join(verdict.suggestions[:3])}?" \
            if verdict.suggestions else ""
        return (f"{text!r} is on no substance list{hint} (write '{records.UNIDENTIFIED}' "
                "while the lab has not identified it)")
    # The entry named exactly as asked first ("fentanyl" before "3-methylfentanyl").
    listed.sort(key=lambda m: (m.substance.lower() != text.lower(),
                               m.basis != Basis.exact))
    kind = {"drug": "controlled", "precursor": "precursor", "monitoring": "watch"}
    status = "controlled" if any(kinds.get(m.list) == "drug" for m in listed) else \
        kind.get(kinds.get(listed[0].list, ""), "watch")
    schedules = tuple(dict.fromkeys(f"{m.list_title}: {m.schedule}" for m in listed))
    return records.Resolved(listed[0].substance, status, schedules[:6])


def search(session: Session, *, actor: Actor, q: str = "", substance: str = "",
           country: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """Seizures newest first, by reference, place, operation, substance or country."""
    actor.require(Permission.seizures_read)
    stmt = visible(actor)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Seizure.reference.ilike(like), Seizure.place.ilike(like),
                              Seizure.operation.ilike(like), Seizure.concealment.ilike(like)))
    if country:
        stmt = stmt.where(Seizure.country == country.strip().upper())
    if substance:
        stmt = stmt.where(Seizure.id.in_(select(SeizureLine.seizure_id).where(
            SeizureLine.substance.ilike(f"%{substance.strip()}%"))))
    rows = list(session.scalars(stmt.order_by(Seizure.seized_at.desc(), Seizure.id.desc())
                                .limit(limit)))
    lines = lines_of(session, (s.id for s in rows))
    return [summary(s, lines[s.id]) for s in rows]


def detail(session: Session, *, actor: Actor, seizure_id: int) -> dict[str, Any]:
    """A seizure with lines, parties (and their entities), marks, profiles and links.

    Parties may be personal data: reading them is audited as a consultation.
    """
    s = get(session, actor=actor, seizure_id=seizure_id)
    lines = lines_of(session, [s.id])[s.id]
    out = summary(s, lines)
    out.update({"concealment": s.concealment, "packaging": s.packaging, "notes": s.notes,
                "offset": s.offset, "consignment": s.consignment,
                "consignment_id": s.consignment_id, "agency_id": s.agency_id,
                "ftm_id": s.ftm_id, "created_by": s.created_by,
                "created_at": s.created_at.isoformat()})
    for ln, item in zip(lines, out["substances"], strict=True):
        item["schedules"] = list(ln.schedules)
        item["input"] = ln.substance_input
    parties = list(session.scalars(select(SeizureParty).where(
        SeizureParty.seizure_id == s.id).order_by(SeizureParty.id)))
    ids = network.entity_ids(session, actor=actor, ftm_ids=[p.ftm_id for p in parties]
                             + ([s.ftm_id] if s.ftm_id else [])) \
        if actor.can(Permission.network_read) else {}
    out["entity_id"] = ids.get(s.ftm_id)
    out["parties"] = [{"role": p.role, "name": p.name, "identifier": p.identifier,
                       "entity_id": ids.get(p.ftm_id)} for p in parties]
    if parties:
        audit.record(session, actor=actor, action=AuditAction.record_viewed,
                     resource_type=RESOURCE, resource_id=s.id,
                     details={"parties": len(parties)})
    out["marks"] = [mark_summary(m) for m in session.scalars(
        select(Mark).where(Mark.seizure_id == s.id).order_by(Mark.id))]
    out["profiles"] = [profile_summary(p) for p in session.scalars(
        select(ChemicalProfile).where(ChemicalProfile.seizure_id == s.id)
        .order_by(ChemicalProfile.id))]
    out["links"] = links_of(session, actor=actor, seizure_id=s.id)
    out["shares"] = shares_of(session, s) if s.agency_id == actor.agency_id else []
    owner = session.get(Agency, s.agency_id)
    out["owner"] = owner.code if owner is not None else ""
    return out


# -- recording ----------------------------------------------------------------------------

#: The seizure's own fields, as the record and the table both name them.
FIELDS = ("seized_at", "offset", "country", "place", "latitude", "longitude", "operation",
          "transport_mode", "concealment", "packaging", "origin", "transit", "destination",
          "consignment", "handling", "notes")


def _store(session: Session, actor: Actor, r: records.SeizureRecord, import_id: int | None
           ) -> Seizure:
    s = Seizure(agency_id=actor.agency_id, reference=r.reference,
                ftm_id=entities.seizure_id(actor.agency_code, r.reference),
                import_id=import_id, created_by=actor.username)
    _assign(session, actor, s, r)
    session.add(s)
    session.flush()
    _children(session, s, r)
    return s


def _assign(session: Session, actor: Actor, s: Seizure, r: records.SeizureRecord) -> None:
    for name in FIELDS:
        setattr(s, name, getattr(r, name))
    s.consignment_id = targeting.consignment_by_reference(session, actor=actor,
                                                          reference=r.consignment)
    s.content_hash = r.content_hash()


def _children(session: Session, s: Seizure, r: records.SeizureRecord) -> None:
    session.add_all(SeizureLine(seizure_id=s.id, substance_input=ln.substance_input,
                                substance=ln.substance, status=ln.status,
                                schedules=ln.schedules, quantity=ln.quantity, unit=ln.unit,
                                quantity_kg=ln.quantity_kg, purity=ln.purity, form=ln.form)
                    for ln in r.lines)
    session.add_all(SeizureParty(seizure_id=s.id, role=p.role, name=p.name,
                                 identifier=p.identifier, ftm_id=entities.party_id(p))
                    for p in r.parties)


def _to_graph(session: Session, actor: Actor, registry: Registry,
              stored: list[records.SeizureRecord], name: str) -> dict[str, Any] | None:
    """Write the seizures' events, parties and involvements to the intelligence file."""
    ents = [e for r in stored for e in entities.seizure_entities(actor.agency_code, r)]
    if not ents:
        return None
    handling = max((r.handling for r in stored), default="H0")
    first = min(r.seized_at for r in stored).date().isoformat()
    result = network.import_records(
        session, actor=system_actor(actor), registry=registry, filename=f"{name}.ftm.jsonl",
        data=entities.as_jsonl(ents), originator=actor.agency_code, source_grade="A",
        information_grade="1", handling=handling, observed_on=first,
        source_record=f"seizures: {name}"[:300])
    return result.as_dict()


def import_file(session: Session, *, actor: Actor, registry: Registry, data: bytes,
                filename: str, progress: Progress | None = None) -> dict[str, Any]:
    """Import seizures from CSV or JSON lines: all or nothing, idempotent.

    The same file again returns its first receipt. A reference already held with the same
    content counts as unchanged; with other content the file is refused (edit that seizure
    instead), so a file never silently rewrites a record.
    """
    actor.require(Permission.seizures_write)
    checksum = hashlib.sha256(data).hexdigest()
    previous = session.scalar(select(SeizureImport).where(
        SeizureImport.agency_id == actor.agency_id, SeizureImport.checksum == checksum))
    if previous is not None:
        return {**previous.receipt, "already_imported": True}
    say = progress or (lambda _m: None)
    say(f"reading {filename}")
    recs = records.read_file(data, filename, resolver(registry))
    held = {s.reference: s for s in session.scalars(select(Seizure).where(
        Seizure.agency_id == actor.agency_id,
        Seizure.reference.in_([r.reference for r in recs])))}
    errors = [RowError(r.rows[0], "reference", f"seizure {r.reference!r} is already recorded "
                       "with other content; correct it on its page (Edit) or with PUT")
              for r in recs if r.reference in held
              and held[r.reference].content_hash != r.content_hash()]
    if errors:
        raise FileRejected(f"{filename}: {len(errors)} seizure(s) conflict with records held; "
                           "nothing was imported", errors)
    new = [r for r in recs if r.reference not in held]
    batch = SeizureImport(agency_id=actor.agency_id, filename=filename[:300],
                          checksum=checksum, created_by=actor.username)
    session.add(batch)
    session.flush()
    say(f"storing {len(new)} seizure(s)")
    stored = [_store(session, actor, r, batch.id) for r in new]
    graph = _to_graph(session, actor, registry, new, f"seizures-{batch.id}")
    receipt = {"import_id": batch.id, "filename": filename, "seizures": len(recs),
               "created": len(stored), "unchanged": len(recs) - len(stored),
               "lines": sum(len(r.lines) for r in new),
               "parties": sum(len(r.parties) for r in new),
               "seizure_ids": [s.id for s in stored],
               "graph": {"entities": graph["entities"], "links": graph["links"]}
               if graph else None}
    batch.receipt = receipt
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type=RESOURCE, resource_id=f"import:{batch.id}",
                 details={k: receipt[k] for k in ("filename", "created", "unchanged")})
    return {**receipt, "already_imported": False}


def share(session: Session, *, actor: Actor, seizure_id: int, agency: str,
          justification: str) -> dict[str, Any]:
    """Let a partner agency see one of the agency's seizures (with its lines, parties, marks
    and lab profiles), under the seizure's own handling code; audited as a disclosure.

    Only the seizing agency shares: a recipient cannot pass the seizure on (that goes
    through the exchange, which enforces handling codes).
    """
    s = get(session, actor=actor, seizure_id=seizure_id)
    recipient = auth.get_agency(session, code=agency.strip())
    if recipient.id == actor.agency_id:
        raise InvalidData("a seizure is shared with another agency",
                          errors=[FieldError("agency", "that is your own agency")])
    grant = auth.share_record(session, actor=actor, resource_type=RESOURCE, resource_id=s.id,
                              owner_agency_id=s.agency_id, recipient=recipient,
                              handling_code=s.handling, justification=justification)
    return {"seizure_id": s.id, "agency": recipient.code, "handling_code": grant.handling_code,
            "shared_at": grant.created_at.isoformat()}


def shares_of(session: Session, s: Seizure) -> list[dict[str, Any]]:
    rows = session.execute(select(RecordShare, Agency.code).join(
        Agency, Agency.id == RecordShare.agency_id).where(
        RecordShare.resource_type == RESOURCE, RecordShare.resource_id == str(s.id))
        .order_by(RecordShare.id)).all()
    return [{"agency": code, "handling_code": r.handling_code,
             "shared_at": r.created_at.isoformat()} for r, code in rows]


def form_values(session: Session, *, actor: Actor, seizure_id: int) -> dict[str, Any]:
    """The seizure in the nested form that :func:`create` and :func:`amend` take, with its
    time in the offset it was given."""
    s = own(session, actor, seizure_id)
    lines = lines_of(session, [s.id])[s.id]
    parties = session.scalars(select(SeizureParty).where(SeizureParty.seizure_id == s.id)
                              .order_by(SeizureParty.id)).all()
    out: dict[str, Any] = {name: getattr(s, name) for name in FIELDS if name != "offset"}
    out["seized_at"] = s.seized_at.astimezone(_zone(s.offset)).isoformat()
    out["reference"] = s.reference
    for role in records.PARTY_ROLES:
        kind = records.ROLE_OF[role]
        out[role] = [p.identifier if kind == "phone" else
                     (f"{p.name} | {p.identifier}" if p.identifier else p.name)
                     for p in parties if p.role == kind]
    out["substances"] = [{"substance": ln.substance_input, "quantity": ln.quantity,
                          "unit": ln.unit, "purity": ln.purity, "form": ln.form}
                         for ln in lines]
    return out


def _zone(offset: str) -> dt.timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = (int(x) for x in offset[1:].split(":"))
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def amend(session: Session, *, actor: Actor, registry: Registry, seizure_id: int,
          data: Any) -> dict[str, Any]:
    """Correct a seizure: every field, line and party as newly submitted (nested form).

    The reference stays (it names the record in the agency's files and in the entity graph).
    The values replaced are kept in the audit log. Parties new to the seizure are written to
    the entity graph; entities of parties removed stay there with their provenance (the
    graph records what was once reported).
    """
    s = own(session, actor, seizure_id)
    r = records.from_object(data, resolver(registry))
    if r.reference != s.reference:
        raise InvalidData("the reference of a recorded seizure does not change", errors=[
            FieldError("reference", f"is {s.reference!r}; record a new seizure instead")])
    if r.content_hash() == s.content_hash:
        return {"id": s.id, "changed": False}
    before = form_values(session, actor=actor, seizure_id=s.id)
    _assign(session, actor, s, r)
    session.execute(delete(SeizureLine).where(SeizureLine.seizure_id == s.id))
    session.execute(delete(SeizureParty).where(SeizureParty.seizure_id == s.id))
    _children(session, s, r)
    session.flush()
    _to_graph(session, actor, registry, [r], f"seizure-{s.id}-{r.content_hash()[:12]}")
    after = form_values(session, actor=actor, seizure_id=s.id)
    changed = sorted(k for k in after if after[k] != before.get(k))
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type=RESOURCE, resource_id=s.id,
                 details={"reference": s.reference, "changed": changed,
                          "before": {k: before[k] for k in changed}})
    return {"id": s.id, "changed": True}


def create(session: Session, *, actor: Actor, registry: Registry, data: Any) -> dict[str, Any]:
    """Record one seizure from its nested form (API, web form)."""
    actor.require(Permission.seizures_write)
    r = records.from_object(data, resolver(registry))
    held = session.scalar(select(Seizure).where(Seizure.agency_id == actor.agency_id,
                                                Seizure.reference == r.reference))
    if held is not None:
        if held.content_hash == r.content_hash():
            return {"id": held.id, "created": False}
        raise Conflict(f"seizure {r.reference!r} is already recorded with other content; "
                       f"correct it with PUT /api/v1/seizures/{held.id}")
    s = _store(session, actor, r, None)
    _to_graph(session, actor, registry, [r], f"seizure-{s.id}")
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type=RESOURCE, resource_id=s.id,
                 details={"reference": s.reference, "lines": len(r.lines)})
    return {"id": s.id, "created": True}


