"""Hit/no-hit between agencies: holdings published as tags, queries answered obliviously.

Built on the engine in ``hitnohit`` (read its docstring for what each side learns). Here:

- An agency *registers holdings* from a file (``kind, value, reference[, country]``):
  identifiers are normalised (every bad row named, nothing stored), and its table of tags
  and sealed references replaces the previous one in one transaction. Its hit/no-hit key is
  made on first use and stored sealed like its signing key.
- A *query* normalises the querier's identifiers, blinds them, and asks every partner that
  publishes holdings to evaluate the points. Each evaluation is the holder's decision: it is
  logged (``exchange_evaluations``, and the holder's audit log) and limited per querier per
  day (``DAILY_EVALUATIONS``), so guesses cannot be tested in bulk unseen. The querier then
  looks its own tags up in each holder's published table and opens what it finds.
- Only hits are stored: "hit at agency X, reference R". A hit leads to a *follow-up request*
  that the holding agency approves or refuses.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from typing import Any

from nacl.secret import SecretBox
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import Agency
from interdict.auth.roles import Permission
from interdict.db.base import utcnow
from interdict.errors import FieldError, InvalidData, NotFound, TooManyRequests
from interdict.exchange import hitnohit, identifiers, keys
from interdict.exchange.models import Evaluation, HitQuery, HolderSecret, Holding
from interdict.exchange.models import Hit as HitRow
from interdict.tabular import FileRejected, RowError, read_rows

#: Points one holder evaluates for one querier in 24 hours: enough for a large case file,
#: far too few to run a dictionary of phone numbers or names through it.
DAILY_EVALUATIONS = 200_000
HOLDING_COLUMNS = ("kind", "value", "reference", "country")
QUERY_COLUMNS = ("kind", "value", "country")
_CHUNK = 500


def _holder_key(session: Session, agency_id: int, secret: str) -> hitnohit.HolderKey:
    row = session.scalar(select(HolderSecret).where(HolderSecret.agency_id == agency_id))
    box: SecretBox = keys._box(secret)  # noqa: SLF001 - one sealing rule for all keys
    if row is None:
        key = hitnohit.HolderKey.generate()
        session.add(HolderSecret(agency_id=agency_id, key_id=key.key_id,
                                 sealed_scalar=bytes(box.encrypt(key.scalar))))
        session.flush()
        return key
    return hitnohit.HolderKey(bytes(box.decrypt(row.sealed_scalar)))


def _normalised(data: bytes, filename: str, columns: tuple[str, ...]
                ) -> list[tuple[int, str, str, list[str]]]:
    rows = read_rows(data, filename, columns=columns,
                     required=frozenset(c for c in columns if c != "country"))
    named = [dict(zip(columns, values, strict=True)) for _, values in rows]
    values, errors = identifiers.normalise_many(
        (n, r["kind"].strip(), r["value"], r.get("country", "").strip() or None)
        for (n, _), r in zip(rows, named, strict=True))
    if errors:
        raise FileRejected(f"{filename}: {len(errors)} identifier(s) not valid; nothing was "
                           "used", errors)
    extra = {n: [r.get("reference", "").strip()] for (n, _), r in zip(rows, named,
                                                                      strict=True)}
    return [(n, kind, value, extra[n]) for n, kind, value in values]


def register_holdings(session: Session, *, actor: Actor, secret: str, data: bytes,
                      filename: str) -> dict[str, Any]:
    """Publish the agency's holdings from a file, replacing the previous table."""
    actor.require(Permission.exchange_send)
    rows = _normalised(data, filename, HOLDING_COLUMNS)
    missing = [RowError(n, "reference", "missing") for n, _k, _v, refs in rows if not refs[0]]
    if missing:
        raise FileRejected(f"{filename}: rows without a reference; nothing was published",
                           missing)
    key = _holder_key(session, actor.agency_id, secret)
    # The scalar multiplications run in libsodium without the GIL: one thread per core.
    table = hitnohit.holder_table(key, ((k, v, refs[0]) for _n, k, v, refs in rows),
                                  workers=os.cpu_count() or 1)
    session.execute(delete(Holding).where(Holding.agency_id == actor.agency_id))
    items = [{"agency_id": actor.agency_id, "tag": t, "sealed": s} for t, s in table.items()]
    for start in range(0, len(items), 5_000):
        session.execute(insert(Holding), items[start:start + 5_000])
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="exchange.holdings", resource_id=actor.agency_code,
                 details={"file": filename, "identifiers": len(rows), "tags": len(table)})
    return {"identifiers": len(rows), "distinct": len(table), "key_id": key.key_id}


def _evaluated_today(session: Session, holder: int, querier: int) -> int:
    since = utcnow() - dt.timedelta(days=1)
    return int(session.scalar(select(func.coalesce(func.sum(Evaluation.points), 0)).where(
        Evaluation.holder_agency_id == holder, Evaluation.querier_agency_id == querier,
        Evaluation.created_at >= since)) or 0)


def query(session: Session, *, actor: Actor, secret: str, data: bytes, filename: str,
          justification: str, transcript: list[dict[str, Any]] | None = None
          ) -> dict[str, Any]:
    """Ask every partner publishing holdings about the identifiers of a file.

    Returns the hits only ("hit at agency X, reference R" for row N). ``transcript``, when
    given, receives what crossed between the agencies (the blinded points sent, the points
    returned, the tags looked up), for tests and for the curious: none of it carries an
    identifier.
    """
    actor.require(Permission.exchange_send)
    if not justification.strip():
        raise InvalidData("a hit/no-hit query needs a justification",
                          errors=[FieldError("justification", "required")])
    rows = _normalised(data, filename, QUERY_COLUMNS)
    items = [(kind, value) for _n, kind, value, _ in rows]
    q = HitQuery(agency_id=actor.agency_id, asked_by=actor.username,
                 justification=justification.strip()[:2000], identifiers=len(items))
    session.add(q)
    session.flush()
    holders = [int(a) for (a,) in session.execute(
        select(Holding.agency_id).where(Holding.agency_id != actor.agency_id).distinct())]
    found: list[dict[str, Any]] = []
    for holder_id in sorted(holders):
        holder = session.get(Agency, holder_id)
        assert holder is not None
        blinded, state = hitnohit.blind(items)
        used = _evaluated_today(session, holder_id, actor.agency_id)
        if used + len(items) > DAILY_EVALUATIONS:
            raise TooManyRequests(
                f"{holder.code} evaluates at most {DAILY_EVALUATIONS:,} identifiers a day for "
                f"your agency; {used:,} used in the last 24 hours")
        # The holder's side: evaluate the blinded points, count them, log who asked.
        evaluated = hitnohit.evaluate(_holder_key(session, holder_id, secret),
                                      blinded.points)
        session.add(Evaluation(query_id=q.id, holder_agency_id=holder_id,
                               querier_agency_id=actor.agency_id, points=len(items)))
        audit.record(session, actor=None, actor_name="interdict:exchange",
                     agency=holder.code, action=AuditAction.record_viewed,
                     resource_type="exchange.holdings", resource_id=holder.code,
                     recipient=actor.agency_code, justification=q.justification,
                     details={"evaluated": len(items), "query": q.id})
        # The querier's side: unblind, look its own tags up in the published table.
        unblinded = hitnohit.unblind(state, evaluated)
        table: dict[bytes, bytes] = {}
        tags = list(unblinded.tags)
        for start in range(0, len(tags), _CHUNK):
            table.update((bytes(t), bytes(s)) for t, s in session.execute(
                select(Holding.tag, Holding.sealed).where(
                    Holding.agency_id == holder_id, Holding.tag.in_(tags[start:start + _CHUNK]))))
        if transcript is not None:
            transcript.append({"holder": holder.code, "sent": list(blinded.points),
                               "returned": list(evaluated), "looked_up": tags})
        for h in hitnohit.hits(unblinded, table):
            row = HitRow(query_id=q.id, holder_agency_id=holder_id,
                         position=rows[h.index][0], kind=h.kind, reference=h.reference[:200])
            session.add(row)
            session.flush()
            found.append(_hit(row, holder.code))
    audit.record(session, actor=actor, action=AuditAction.record_viewed,
                 resource_type="exchange.hitquery", resource_id=q.id,
                 justification=q.justification,
                 details={"identifiers": len(items), "holders": len(holders),
                          "hits": len(found)})
    return {"query_id": q.id, "identifiers": len(items), "holders_asked": len(holders),
            "hits": found}


def _hit(row: HitRow, holder: str) -> dict[str, Any]:
    return {"id": row.id, "row": row.position, "kind": row.kind, "holder": holder,
            "reference": row.reference, "follow_up": row.follow_up,
            "follow_up_reason": row.follow_up_reason, "follow_up_note": row.follow_up_note}


def hits_for(session: Session, *, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """Hits the agency's queries found, and follow-up requests made to it as a holder."""
    actor.require(Permission.exchange_read)
    codes = {a.id: a.code for a in session.scalars(select(Agency))}
    mine = session.scalars(select(HitRow).join(HitQuery, HitQuery.id == HitRow.query_id)
                           .where(HitQuery.agency_id == actor.agency_id)
                           .order_by(HitRow.id.desc()).limit(500))
    asked = session.execute(select(HitRow, HitQuery.agency_id).join(
        HitQuery, HitQuery.id == HitRow.query_id).where(
        HitRow.holder_agency_id == actor.agency_id, HitRow.follow_up != "none")
        .order_by(HitRow.id.desc()).limit(500)).all()
    return {"hits": [_hit(r, codes[r.holder_agency_id]) for r in mine],
            "requests_to_us": [{**_hit(r, codes[r.holder_agency_id]),
                                "requester": codes[q]} for r, q in asked]}


def request_follow_up(session: Session, *, actor: Actor, hit_id: int, reason: str
                      ) -> dict[str, Any]:
    """Ask the holding agency for the record behind a hit."""
    actor.require(Permission.exchange_send)
    row = session.scalar(select(HitRow).join(HitQuery, HitQuery.id == HitRow.query_id).where(
        HitRow.id == hit_id, HitQuery.agency_id == actor.agency_id))
    if row is None:
        raise NotFound(f"no hit {hit_id} of your agency")
    if not reason.strip():
        raise InvalidData("a follow-up needs a reason", errors=[FieldError("reason",
                                                                          "required")])
    if row.follow_up != "none":
        raise InvalidData("already requested", errors=[FieldError("follow_up",
                                                                  row.follow_up)])
    row.follow_up, row.follow_up_reason = "pending", reason.strip()[:4000]
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="exchange.followup", resource_id=row.id,
                 justification=row.follow_up_reason)
    holder = session.get(Agency, row.holder_agency_id)
    return _hit(row, holder.code if holder else "")


def decide_follow_up(session: Session, *, actor: Actor, hit_id: int, approve: bool,
                     note: str = "") -> dict[str, Any]:
    """The holding agency approves (then answers by message) or refuses a follow-up."""
    actor.require(Permission.exchange_send)
    row = session.scalar(select(HitRow).where(HitRow.id == hit_id,
                                              HitRow.holder_agency_id == actor.agency_id))
    if row is None or row.follow_up != "pending":
        raise NotFound(f"no pending follow-up request {hit_id} to your agency")
    row.follow_up = "approved" if approve else "refused"
    row.follow_up_note, row.decided_by = note[:4000], actor.username
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="exchange.followup", resource_id=row.id,
                 details={"decision": row.follow_up})
    return _hit(row, actor.agency_code)


def holdings_summary(session: Session, *, actor: Actor) -> dict[str, Any]:
    actor.require(Permission.exchange_read)
    n = session.scalar(select(func.count()).select_from(Holding).where(
        Holding.agency_id == actor.agency_id)) or 0
    by_querier: dict[str, int] = defaultdict(int)
    for querier, points in session.execute(select(Agency.code, Evaluation.points).join(
            Agency, Agency.id == Evaluation.querier_agency_id).where(
            Evaluation.holder_agency_id == actor.agency_id)):
        by_querier[querier] += int(points)
    return {"tags": int(n), "evaluations_by_querier": dict(by_querier),
            "daily_limit": DAILY_EVALUATIONS}
