"""Risk-based targeting's library API: submit, import, score, inspect, rules, models, drift.

Adapters (API, CLI, web, demo) call these functions and nothing deeper. Every function works
inside the caller's unit of work and within the actor's agency: an agency's consignments,
counters, rule profiles and models are its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

import interdict.network.service as network
from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertClose, AlertCreate, Outcome, Reason, Severity, SubjectRef
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission, Role
from interdict.db.base import utcnow
from interdict.db.dialect import bulk_insert
from interdict.errors import Conflict, FieldError, InvalidData, NotFound
from interdict.reference.registry import Registry
from interdict.targeting import engines as engines_mod
from interdict.targeting import records, store
from interdict.targeting.engines import Engines
from interdict.targeting.models import Batch, Consignment, Inspection
from interdict.targeting.schemas import (
    DeclarationIn,
    InspectionIn,
    InspectionResult,
    to_row,
)
from interdict.targeting.scoring import Scored, history_keys, score_frame, score_one

SOURCE = "targeting"
RESOURCE = "targeting.consignment"
_rng = random.Random()
ROW_FIELDS = ("kind", "reference", "declared_at", "office", "process_type", "import_type",
              "import_use", "payment_type", "transport_mode", "declarant", "importer", "seller",
              "courier", "hs_code", "departure_country", "origin_country", "route", "tax_rate",
              "tax_type", "origin_indicator", "net_mass_kg", "value", "stay_hours", "fraud",
              "critical")


def alert_actor(actor: Actor) -> Actor:
    """Alerts go on the agency's queue as the targeting system, whoever submitted."""
    return Actor(user_id=None, username="interdict:targeting", agency_id=actor.agency_id,
                 agency_code=actor.agency_code, roles=frozenset({Role.targeter}), via="system")


def content_hash(row: dict[str, Any], details: dict[str, Any]) -> str:
    body = json.dumps({"row": {k: row.get(k) for k in ROW_FIELDS}, "details": details},
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def row_of(c: Consignment) -> dict[str, Any]:
    """A stored consignment as the engines' row."""
    row = {k: getattr(c, k) for k in ROW_FIELDS}
    row["id"] = c.id
    return row


def lanes_used(session: Session, agency_id: int, office: str | None, day: dt.date
               ) -> dict[str, int]:
    """Red and yellow selections already made today at the office (capacity in use)."""
    rows = session.execute(select(Consignment.lane, func.count()).where(
        Consignment.agency_id == agency_id, Consignment.office == office,
        Consignment.lane_day == day, Consignment.lane.in_(("red", "yellow")))
        .group_by(Consignment.lane)).all()
    return {str(lane): int(n) for lane, n in rows}


def _severity(score: float) -> Severity:
    if score >= 0.9:
        return Severity.critical
    if score >= 0.8:
        return Severity.high
    return Severity.medium


def _should_alert(engines: Engines, scored: Scored) -> bool:
    return scored.score >= engines.settings.lanes.alert_threshold or scored.forced_lane == "red"


def _raise(session: Session, actor: Actor, c: Consignment, scored: Scored) -> int:
    reasons = [Reason(rule=f"rule:{h['rule']}", contribution=float(h["weight"]),
                      values=h.get("values", {}), detail=h.get("detail") or h["title"])
               for h in scored.rule_hits]
    reasons += [Reason(rule=f"model:{x['feature']}", contribution=float(x["contribution"]),
                       values={x["feature"]: x["value"]},
                       detail="log-odds contribution to the learned score")
                for x in scored.contributions]
    what = c.hs_code and f"HS {c.hs_code}" or c.details.get("aircraft_registration") \
        or c.details.get("vessel_name") or c.kind
    top = scored.rule_hits[0]["title"] if scored.rule_hits else (
        f"model {scored.model_probability:.2f}" if scored.model_probability is not None else "")
    title = (f"{c.kind.capitalize()} {c.reference} ({what}, {c.origin_country or '?'}): "
             f"{scored.lane} lane, score {scored.score:.2f}" + (f"; {top}" if top else ""))
    subjects = [SubjectRef(type=RESOURCE, id=str(c.id), label=c.reference)]
    if c.importer:
        subjects.append(SubjectRef(type="targeting.party", id=c.importer[:64],
                                   label=f"importer {c.importer}"[:200]))
    alert = alerts.raise_alert(session, actor=alert_actor(actor), data=AlertCreate(
        source=SOURCE, kind=f"consignment.{c.kind}", title=title[:300],
        severity=_severity(scored.score), score=min(1.0, max(0.0, scored.score)),
        reasons=reasons[:100], subjects=subjects, dedup_key=f"consignment:{c.id}"))
    return alert.id


def _store(session: Session, actor: Actor, engines: Engines, row: dict[str, Any],
           details: dict[str, Any], scored: Scored | None, *, digest: str, now: dt.datetime,
           batch_id: int | None = None) -> Consignment:
    c = Consignment(agency_id=actor.agency_id, details=details, content_hash=digest,
                    batch_id=batch_id, created_at=now,
                    **{k: row[k] for k in ROW_FIELDS})
    if scored is not None:
        c.score, c.model_probability = scored.score, scored.model_probability
        c.model_id, c.rule_set_id = engines.model_id, engines.rule_set_id
        c.lane, c.lane_day, c.exploration = scored.lane, now.date(), scored.exploration
        c.rule_hits, c.contributions = scored.rule_hits, scored.contributions
        c.lane_reasons = scored.lane_reasons
    session.add(c)
    session.flush()
    return c


def submit(session: Session, *, actor: Actor, registry: Registry, item: Any) -> dict[str, Any]:
    """Store, score and select one consignment; alert above the threshold. One transaction.

    A second POST of the same consignment (same kind and reference, same content) returns the
    selection made the first time; the same reference with other content is a conflict.
    """
    actor.require(Permission.targeting_submit)
    row, details = to_row(item)
    if row["fraud"] is not None:
        raise InvalidData("fraud: outcomes are recorded as inspections, not posted with "
                          "a new consignment", errors=[FieldError("fraud", "not accepted here")])
    digest = content_hash(row, details)
    existing = session.scalar(select(Consignment).where(
        Consignment.agency_id == actor.agency_id, Consignment.kind == row["kind"],
        Consignment.reference == row["reference"]))
    if existing is not None:
        if existing.content_hash == digest:
            return describe(existing)
        raise Conflict(f"{row['kind']} {row['reference']} was already submitted with other "
                       "content", errors=[FieldError("reference", "already used")])
    engines = engines_mod.active(session, actor.agency_id, registry)
    now = utcnow()
    counters = store.load(session, actor.agency_id,
                          history_keys(row, engines.rules.history_kinds()))
    used = lanes_used(session, actor.agency_id, row["office"], now.date())
    scored = score_one(engines, row, counters, at=now, used=used, rng=_rng)
    c = _store(session, actor, engines, row, details, scored, digest=digest, now=now)
    store.count_declaration(session, actor.agency_id, row)
    store.add_rule_hits(session, actor.agency_id, [h["rule"] for h in scored.rule_hits])
    if _should_alert(engines, scored):
        c.alert_id = _raise(session, actor, c, scored)
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type=RESOURCE, resource_id=c.id,
                 details={"reference": c.reference, "lane": c.lane,
                          "score": round(scored.score, 4)})
    return describe(c)


def describe(c: Consignment) -> dict[str, Any]:
    return {
        "id": c.id, "kind": c.kind, "reference": c.reference,
        "declared_at": c.declared_at.isoformat(), "office": c.office,
        "importer": c.importer, "declarant": c.declarant, "seller": c.seller,
        "hs_code": c.hs_code, "origin_country": c.origin_country,
        "departure_country": c.departure_country, "route": c.route, "value": c.value,
        "net_mass_kg": c.net_mass_kg, "stay_hours": c.stay_hours, "details": c.details,
        "score": c.score, "model_probability": c.model_probability, "lane": c.lane,
        "exploration": c.exploration, "lane_reasons": c.lane_reasons,
        "rule_hits": c.rule_hits, "contributions": c.contributions, "alert_id": c.alert_id,
        "model_id": c.model_id, "rule_set_id": c.rule_set_id, "fraud": c.fraud,
        "critical": c.critical, "created_at": c.created_at.isoformat(),
    }


# -- files ------------------------------------------------------------------------------------

def import_file(session: Session, *, actor: Actor, registry: Registry, data: bytes,
                filename: str, progress: Callable[[str], None] | None = None
                ) -> dict[str, Any]:
    """Import a file, all or nothing; the same file again returns the first receipt.

    A file is either history (every row has its outcome: stored and counted, not selected)
    or new arrivals (no outcomes: scored in time order against the history, laned under
    today's capacity, alerted). A row already stored with the same content is unchanged.
    """
    actor.require(Permission.targeting_submit)
    say = progress or (lambda _m: None)
    checksum = hashlib.sha256(data).hexdigest()
    earlier = session.scalar(select(Batch).where(Batch.agency_id == actor.agency_id,
                                                 Batch.checksum == checksum))
    if earlier is not None:
        return receipt(earlier) | {"repeat": True}
    parsed = records.parse(data, filename)
    frame = parsed.frame
    labelled = parsed.labelled
    if 0 < labelled < frame.height:
        first = next(n for n, f in zip(parsed.rows, frame["fraud"].to_list(), strict=True)
                     if f is None)
        raise InvalidData(f"{filename}: a file is either history (every row has its outcome) "
                          f"or new arrivals (none has); row {first} has no Fraud",
                          errors=[FieldError(f"row {first}: Fraud", "missing in a history file")])
    say(f"read {frame.height} rows ({'history' if labelled else 'arrivals'})")
    digests = [content_hash(r, d) for r, d in zip(frame.drop("id").to_dicts(), parsed.details,
                                                 strict=True)]
    stored = {(k, r): h for k, r, h in session.execute(
        select(Consignment.kind, Consignment.reference, Consignment.content_hash).where(
            Consignment.agency_id == actor.agency_id,
            Consignment.reference.in_(frame["reference"].to_list())))}
    keep, errors = [], []
    for i, (kind, ref) in enumerate(zip(frame["kind"], frame["reference"], strict=True)):
        before = stored.get((kind, ref))
        if before is None:
            keep.append(i)
        elif before != digests[i]:
            errors.append(FieldError(f"row {parsed.rows[i]}: reference",
                                     f"{kind} {ref} is already stored with other content"))
    if errors:
        raise InvalidData(f"{filename}: {len(errors)} row(s) conflict with stored "
                          f"consignments; nothing imported", errors=errors[:1000])
    now = utcnow()
    batch = Batch(agency_id=actor.agency_id, filename=filename[:300], checksum=checksum,
                  rows=frame.height, unchanged=frame.height - len(keep),
                  created_by=actor.username, created_at=now)
    session.add(batch)
    session.flush()
    new = frame[keep]
    details = [parsed.details[i] for i in keep]
    digests = [digests[i] for i in keep]
    engines = engines_mod.active(session, actor.agency_id, registry)
    if labelled:
        _import_history(session, actor, engines, new, details, digests, batch, now)
        batch.history = new.height
    else:
        batch.scored, batch.alerts = _import_arrivals(session, actor, engines, new, details,
                                                      digests, batch, now, say)
    say(f"stored {new.height} consignments")
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="targeting.batch", resource_id=batch.id,
                 details={"filename": batch.filename, "rows": batch.rows,
                          "history": batch.history, "scored": batch.scored,
                          "alerts": batch.alerts})
    return receipt(batch)


def _insert_rows(session: Session, actor: Actor, engines: Engines, frame: Any,
                 details: list[dict[str, Any]], digests: list[str], batch: Batch,
                 now: dt.datetime, scored: list[Scored] | None) -> list[Consignment]:
    out = []
    for i, row in enumerate(frame.drop("id").to_dicts()):
        out.append(_store(session, actor, engines, row, details[i],
                          scored[i] if scored is not None else None, digest=digests[i],
                          now=now, batch_id=batch.id))
    return out


def _import_history(session: Session, actor: Actor, engines: Engines, frame: Any,
                    details: list[dict[str, Any]], digests: list[str], batch: Batch,
                    now: dt.datetime) -> None:
    """History rows go in column-wise (COPY on PostgreSQL): no ORM object per row, since
    nothing is scored or alerted on them. Every column is given, defaults included."""
    n = frame.height
    columns: dict[str, Any] = {c: frame[c] if c != "route" else frame[c].to_list()
                               for c in ROW_FIELDS}
    columns.update(agency_id=[actor.agency_id] * n, details=details, content_hash=digests,
                   batch_id=[batch.id] * n, created_at=[now] * n, exploration=[False] * n,
                   rule_hits=[[]] * n, contributions=[[]] * n, lane_reasons=[[]] * n)
    bulk_insert(session, cast(Table, Consignment.__table__), columns)
    store.add(session, actor.agency_id,
              store.history_of(frame, engines.settings.features.outcome_delay_days))


def _import_arrivals(session: Session, actor: Actor, engines: Engines, frame: Any,
                     details: list[dict[str, Any]], digests: list[str], batch: Batch,
                     now: dt.datetime, say: Callable[[str], None]) -> tuple[int, int]:
    frame = frame.sort("declared_at", maintain_order=True)
    prior = store.load_all(session, actor.agency_id)
    say(f"scoring against {len(prior)} history counters")
    scored = score_frame(engines, frame, prior, at=now, seed=batch.id)
    consignments = _insert_rows(session, actor, engines, frame, details, digests, batch, now,
                                scored)
    store.add(session, actor.agency_id,
              store.history_of(frame, engines.settings.features.outcome_delay_days))
    hits: dict[str, tuple[int, int, int]] = {}
    raised = 0
    for c, s in zip(consignments, scored, strict=True):
        for h in s.rule_hits:
            n = hits.get(h["rule"], (0, 0, 0))
            hits[h["rule"]] = (n[0] + 1, n[1], n[2])
        if _should_alert(engines, s):
            c.alert_id = _raise(session, actor, c, s)
            raised += 1
    store.add_rule_counts(session, actor.agency_id, hits)
    return len(consignments), raised


def receipt(batch: Batch) -> dict[str, Any]:
    return {"batch": batch.id, "filename": batch.filename, "rows": batch.rows,
            "history": batch.history, "scored": batch.scored, "unchanged": batch.unchanged,
            "alerts": batch.alerts, "created_at": batch.created_at.isoformat()}


def score_file(session: Session, *, actor: Actor, registry: Registry, data: bytes,
               filename: str) -> list[dict[str, Any]]:
    """Score a file against the current history and profiles without storing anything."""
    actor.require(Permission.targeting_read)
    parsed = records.parse(data, filename)
    frame = parsed.frame.sort("declared_at", maintain_order=True)
    engines = engines_mod.active(session, actor.agency_id, registry)
    prior = store.load_all(session, actor.agency_id)
    scored = score_frame(engines, frame.with_columns(fraud=None, critical=None), prior,
                         at=utcnow(), seed=0)
    return [{"kind": k, "reference": r} | s.as_dict()
            for k, r, s in zip(frame["kind"], frame["reference"], scored, strict=True)]


# -- consignments and inspections -------------------------------------------------------------

def get(session: Session, *, actor: Actor, consignment_id: int) -> Consignment:
    actor.require(Permission.targeting_read)
    c = session.scalar(select(Consignment).where(Consignment.id == consignment_id,
                                                 Consignment.agency_id == actor.agency_id))
    if c is None:
        raise NotFound(f"no consignment {consignment_id}")
    return c


def consignment_by_reference(session: Session, *, actor: Actor, reference: str
                             ) -> int | None:
    """The id of the agency's consignment with this reference (any kind), for records of
    other domains (a seizure names the consignment it came from); None when there is none."""
    if not reference:
        return None
    return session.scalar(select(Consignment.id).where(
        Consignment.agency_id == actor.agency_id, Consignment.reference == reference)
        .order_by(Consignment.id).limit(1))


def parties_in_file(session: Session, actor: Actor, c: Consignment) -> list[dict[str, Any]]:
    """Entities of the intelligence file whose name matches a party of the consignment, for
    an actor who may read the file (the look-up is audited there as a search)."""
    if not actor.can(Permission.network_read):
        return []
    out = []
    for role, value in (("importer", c.importer), ("declarant", c.declarant),
                        ("seller", c.seller)):
        if not value or len(value) < 3:
            continue
        for entity in network.search(session, actor=actor, q=value, limit=3):
            out.append({"role": role, "value": value, "entity_id": entity.id,
                        "caption": entity.caption, "schema": entity.schema})
    return out


def detail(session: Session, *, actor: Actor, consignment_id: int) -> dict[str, Any]:
    c = get(session, actor=actor, consignment_id=consignment_id)
    out = describe(c)
    out["in_file"] = parties_in_file(session, actor, c)
    inspection = session.scalar(select(Inspection).where(Inspection.consignment_id == c.id))
    out["inspection"] = None if inspection is None else {
        "result": inspection.result, "critical": inspection.critical,
        "substance": inspection.substance, "quantity_kg": inspection.quantity_kg,
        "notes": inspection.notes, "inspected_at": inspection.inspected_at.isoformat(),
        "recorded_by": inspection.recorded_by}
    return out


def queue(session: Session, *, actor: Actor, after_id: int = 0, limit: int = 100,
          lane: str | None = None) -> list[dict[str, Any]]:
    """The newest scored consignments (or those after ``after_id``, for live updates)."""
    actor.require(Permission.targeting_read)
    q = select(Consignment).where(Consignment.agency_id == actor.agency_id,
                                  Consignment.lane.is_not(None))
    if lane:
        q = q.where(Consignment.lane == lane)
    if after_id:
        q = q.where(Consignment.id > after_id).order_by(Consignment.id).limit(limit)
        return [describe(c) for c in session.scalars(q)]
    q = q.order_by(Consignment.id.desc()).limit(limit)
    return [describe(c) for c in reversed(list(session.scalars(q)))]


def today(session: Session, *, actor: Actor) -> dict[str, int]:
    """Selections made today (UTC) per lane, and alerts raised, for the queue's tiles."""
    actor.require(Permission.targeting_read)
    day = utcnow().date()
    rows = session.execute(select(Consignment.lane, func.count(), func.count(Consignment.alert_id))
                           .where(Consignment.agency_id == actor.agency_id,
                                  Consignment.lane_day == day)
                           .group_by(Consignment.lane)).all()
    out = {"red": 0, "yellow": 0, "blue": 0, "green": 0, "alerts": 0}
    for lane, n, alerted in rows:
        out[str(lane)] = int(n)
        out["alerts"] += int(alerted)
    return out


def record_inspection(session: Session, *, actor: Actor, consignment_id: int,
                      data: InspectionIn) -> dict[str, Any]:
    """Record what an inspection found: label the consignment, count the outcome under its
    history keys and its rules, and close its alert with the matching outcome."""
    actor.require(Permission.targeting_inspect)
    c = get(session, actor=actor, consignment_id=consignment_id)
    if session.scalar(select(Inspection.id).where(Inspection.consignment_id == c.id)):
        raise Conflict(f"consignment {c.id} already has an inspection result",
                       errors=[FieldError("consignment_id", "already inspected")])
    if c.fraud is not None:
        raise Conflict(f"consignment {c.id} came with its outcome (imported history)",
                       errors=[FieldError("consignment_id", "outcome already known")])
    fraud = 0 if data.result == InspectionResult.nothing_found else 1
    critical = 2 if data.critical else fraud
    now = utcnow()
    inspection = Inspection(agency_id=actor.agency_id, consignment_id=c.id,
                            result=data.result.value, critical=data.critical,
                            substance=data.substance, quantity_kg=data.quantity_kg,
                            notes=data.notes, inspected_at=data.inspected_at or now,
                            recorded_by=actor.username, created_at=now)
    session.add(inspection)
    c.fraud, c.critical = fraud, critical
    store.count_outcome(session, actor.agency_id, row_of(c), fraud, critical)
    store.add_rule_counts(session, actor.agency_id,
                          {h["rule"]: (0, 1, fraud) for h in c.rule_hits})
    if c.alert_id is not None:
        alert = alerts.get_alert(session, actor=alert_actor(actor), alert_id=c.alert_id)
        if alert.status != "closed":
            outcome = Outcome.confirmed if fraud else Outcome.false_positive
            alerts.close(session, actor=alert_actor(actor), alert_id=c.alert_id,
                         data=AlertClose(outcome=outcome,
                                         note=f"Inspection: {data.result.value}"
                                         + (f", {data.substance}" if data.substance else "")))
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type=RESOURCE, resource_id=c.id,
                 details={"result": data.result.value, "critical": data.critical})
    return detail(session, actor=actor, consignment_id=c.id)


def parse_declaration(payload: dict[str, Any]) -> DeclarationIn:
    return DeclarationIn.model_validate(payload)
