"""Record audit events in the caller's transaction, list them, and verify the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interdict.audit.events import AuditAction
from interdict.audit.models import AuditEvent, AuditHead
from interdict.auth.actor import Actor
from interdict.db.base import utcnow
from interdict.db.dialect import serialize_writers
from interdict.errors import IntegrityFailure

GENESIS = "0" * 64


def _canonical(
    *, seq: int, occurred_at: dt.datetime, actor: str, actor_user_id: int | None, agency: str,
    action: str, resource_type: str, resource_id: str, justification: str, recipient: str,
    details: dict[str, Any], prev_hash: str,
) -> bytes:
    payload = {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "actor_user_id": actor_user_id,
        "agency": agency,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "justification": justification,
        "recipient": recipient,
        "details": details,
        "prev_hash": prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _row_hash(row: AuditEvent) -> str:
    return hashlib.sha256(
        _canonical(
            seq=row.seq, occurred_at=row.occurred_at, actor=row.actor,
            actor_user_id=row.actor_user_id, agency=row.agency, action=row.action,
            resource_type=row.resource_type, resource_id=row.resource_id,
            justification=row.justification, recipient=row.recipient, details=row.details,
            prev_hash=row.prev_hash,
        )
    ).hexdigest()


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: AuditAction,
    agency: str | None = None,
    resource_type: str = "",
    resource_id: str | int = "",
    justification: str = "",
    recipient: str = "",
    details: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    Writers are serialised for the rest of the transaction so two appends cannot both claim
    the same predecessor.
    """
    serialize_writers(session, "interdict.audit")
    head = session.get(AuditHead, 1)
    if head is None and session.scalar(select(AuditEvent.id).limit(1)) is not None:
        # Someone removed the chain's head. Fail closed: nothing is done unlogged, and the
        # evidence stays for `interdict audit verify` to report.
        raise IntegrityFailure("the audit chain's head record is missing; the log may have "
                               "been tampered with. Run `interdict audit verify`.")
    seq = (head.seq if head else 0) + 1
    prev = head.hash if head else GENESIS
    # Microsecond precision survives both databases, so the hash recomputes exactly.
    occurred_at = utcnow()
    row = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor_name or (actor.username if actor else "system"),
        actor_user_id=actor.user_id if actor else None,
        agency=agency or (actor.agency_code if actor else ""),
        action=action.value,
        resource_type=resource_type,
        resource_id=str(resource_id),
        justification=justification,
        recipient=recipient,
        details=json.loads(json.dumps(details or {}, default=str)),
        prev_hash=prev,
    )
    row.hash = _row_hash(row)
    session.add(row)
    if head is None:
        session.add(AuditHead(id=1, seq=seq, hash=row.hash))
    else:
        head.seq, head.hash = seq, row.hash
    session.flush()
    return row


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem}


def verify(session: Session, *, progress: Callable[[int], None] | None = None,
           batch: int = 5000) -> VerifyResult:
    """Walk the chain in sequence order and report the first row that does not fit.

    Detects altered rows (hash mismatch), deleted rows (gap in ``seq`` or broken ``prev_hash``),
    reordered rows (``seq`` or ``prev_hash`` out of step) and a deleted tail (``audit_head``).
    """
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq >= expected_seq)
            .order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq,
                                    f"row seq {expected_seq} is missing (next is {row.seq})")
            if row.prev_hash != prev_hash:
                return VerifyResult(False, checked, row.seq,
                                    f"row seq {row.seq} does not follow seq {row.seq - 1}")
            if _row_hash(row) != row.hash:
                return VerifyResult(False, checked, row.seq,
                                    f"row seq {row.seq} was altered (hash mismatch)")
            prev_hash, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
            checked += 1
        if progress:
            progress(len(rows))
    head = session.get(AuditHead, 1)
    if head is None and checked:
        return VerifyResult(False, checked, last_seq + 1,
                            f"the chain's head record is missing (chain ends at seq {last_seq})")
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        return VerifyResult(False, checked, last_seq + 1,
                            f"chain ends at seq {last_seq} but the head records seq {head.seq}")
    return VerifyResult(True, checked)


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def list_events(session: Session, *, agency: str | None, action: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if agency is not None:
        query = query.where(AuditEvent.agency == agency)
    if action:
        query = query.where(AuditEvent.action == action)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset))
    return list(rows), total
