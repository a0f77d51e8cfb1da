"""The precursor register's library API: operators, transaction imports, checks, reads.

Adapters (API, CLI, web, demo) call these functions and nothing deeper. Every function works
inside the caller's unit of work and within the actor's agency (the supervising authority).
An actor with ``precursors:read`` sees the whole register; an operator's staff
(``precursors:submit`` only) see their own company's records and never an alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from typing import Any

import polars as pl
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate, Reason, Severity, SubjectRef
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import User
from interdict.auth.roles import Permission, Role
from interdict.db.base import utcnow
from interdict.db.dialect import serialize_writers
from interdict.errors import FieldError, Forbidden, InvalidData, NotFound
from interdict.precursors import returns, store
from interdict.precursors.bulk import no_cyclic_gc
from interdict.precursors.checks import run_checks
from interdict.precursors.checks_stock import stock_discrepancy
from interdict.precursors.frames import Finding as Found
from interdict.precursors.models import Batch, Finding, Operator, OperatorAccount, Transaction
from interdict.precursors.records import (
    CAS,
    OPERATOR_COLUMNS,
    OPERATOR_REQUIRED,
    TRANSACTION_COLUMNS,
    TRANSACTION_REQUIRED,
    Columns,
    Context,
    OperatorRecord,
    OperatorRef,
    Substance,
    read_rows,
    validate_operator,
    validate_transactions,
)
from interdict.precursors.specs import CheckSettings, Densities
from interdict.reference.registry import Registry
from interdict.substances.schemas import Basis, CheckQuery
from interdict.substances.service import check as check_substance
from interdict.substances.service import get_index as substance_index
from interdict.substances.service import list_summaries
from interdict.tabular import FileRejected, RowError

SOURCE = "precursors"
EU_LIST = "eu-273-2004"
LISTED = frozenset({Basis.exact, Basis.salt, Basis.stereoisomer, Basis.name, Basis.cas})
Progress = Callable[[str], None]


def check_settings(registry: Registry) -> CheckSettings:
    content = registry.get("precursors/checks").content
    assert isinstance(content, CheckSettings)
    return content


def densities(registry: Registry) -> dict[str, float]:
    content = registry.get("precursors/densities").content
    assert isinstance(content, Densities)
    return {d.substance: d.g_per_ml for d in content.entries}


def resolve_substance(registry: Registry, text: str) -> Substance:
    """The register's view of a substance: its EU category, or watch, through ``substances``.

    Raises ValueError with the reason when the text names nothing the lists know, or names a
    drug rather than a precursor (drugs are not traded under precursor licences).
    """
    index = substance_index(registry)
    query = CheckQuery(cas=text) if CAS.match(text) else CheckQuery(name=text)
    try:
        verdict = check_substance(index=index, query=query)
    except InvalidData as exc:
        raise ValueError(exc.detail) from None
    kinds = {s["id"]: s["kind"] for s in list_summaries(index=index)}
    listed = [m for m in verdict.matches if m.basis in LISTED]
    designer = any(m.basis == Basis.designer_precursor for m in verdict.matches)
    eu = [m for m in listed if m.list == EU_LIST]
    if eu:
        return Substance(eu[0].substance, eu[0].schedule)
    national = [m for m in listed if kinds.get(m.list) == "precursor"]
    if national:
        return Substance(national[0].substance, "national")
    watch = [m for m in listed if kinds.get(m.list) == "monitoring"]
    if watch:
        return Substance(watch[0].substance, "watch", designer_precursor=designer,
                         watch_listed=True)
    drugs = [m for m in listed if kinds.get(m.list) == "drug"]
    if drugs:
        raise ValueError(f"{text!r} is a controlled drug ({drugs[0].list_title}), not a "
                         "precursor; drugs are not recorded in the precursor register")
    hint = f"; did you mean {', '.join(verdict.suggestions[:3])}?" if verdict.suggestions \
        else ""
    raise ValueError(f"{text!r} is on no precursor or watch list{hint}")


# -- operators ----------------------------------------------------------------------------

def import_operators(session: Session, *, actor: Actor, data: bytes, filename: str
                     ) -> dict[str, Any]:
    """Add or update operators from the registry CSV; all or nothing, idempotent."""
    actor.require(Permission.precursors_manage)
    rows = read_rows(data, filename, columns=OPERATOR_COLUMNS, required=OPERATOR_REQUIRED)
    records: list[OperatorRecord] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        record, problems = validate_operator(number, row)
        if record is not None and record.licence in seen:
            problems = [RowError(number, "licence", f"repeats row {seen[record.licence]}")]
        errors += problems
        if record is not None and not problems:
            seen[record.licence] = number
            records.append(record)
    if errors:
        raise FileRejected(f"{filename}: {len(errors)} errors; no operator imported", errors)
    current = {o.licence: o for o in session.scalars(
        select(Operator).where(Operator.agency_id == actor.agency_id))}
    added = changed = 0
    now = utcnow()
    for r in records:
        fields = {"name": r.name, "country": r.country, "categories": r.categories,
                  "kind": r.kind, "valid_from": r.valid_from, "valid_to": r.valid_to,
                  "activities": r.activities, "sector": r.sector, "sites": r.sites,
                  "content_hash": r.content_hash}
        op = current.get(r.licence)
        if op is None:
            op = Operator(agency_id=actor.agency_id, licence=r.licence, created_at=now,
                          updated_at=now, **fields)
            session.add(op)
            added += 1
        elif op.content_hash != r.content_hash:
            before = {k: str(getattr(op, k)) for k in fields if k != "content_hash"}
            for key, value in fields.items():
                setattr(op, key, value)
            op.updated_at = now
            session.flush()
            audit.record(session, actor=actor, action=AuditAction.record_changed,
                         resource_type="precursors.operator", resource_id=op.id,
                         details={"licence": op.licence, "before": before})
            changed += 1
    session.flush()
    if added or changed:
        audit.record(session, actor=actor, action=AuditAction.record_created,
                     resource_type="precursors.operators", resource_id=filename[:60],
                     details={"added": added, "changed": changed})
    return {"rows": len(records), "added": added, "changed": changed,
            "unchanged": len(records) - added - changed}


def _operator_refs(session: Session, agency_id: int) -> dict[str, OperatorRef]:
    return {o.licence: OperatorRef(o.id, o.licence, tuple(o.sites or ())) for o in
            session.execute(select(Operator.id, Operator.licence, Operator.sites)
                            .where(Operator.agency_id == agency_id))}


def own_operator(session: Session, actor: Actor) -> Operator | None:
    """The company an operator user submits for (None for the authority's staff)."""
    if actor.can(Permission.precursors_read) or actor.user_id is None:
        return None
    op = session.scalar(select(Operator).join(
        OperatorAccount, OperatorAccount.operator_id == Operator.id)
        .where(OperatorAccount.user_id == actor.user_id))
    if op is None:
        raise Forbidden("your account is not linked to an operator; ask the authority to "
                        "link it (interdict precursors link-user)")
    return op


def link_user(session: Session, *, actor: Actor, username: str, licence: str) -> None:
    """Tie an operator user to the company it submits for."""
    actor.require(Permission.precursors_manage)
    user = session.scalar(select(User).where(User.username == username,
                                             User.agency_id == actor.agency_id))
    if user is None:
        raise NotFound(f"no user {username!r} in your agency")
    if Role.operator.value not in user.roles:
        raise InvalidData(f"{username} does not hold the operator role",
                          errors=[FieldError("username", "not an operator")])
    op = get_operator(session, actor=actor, licence=licence)
    account = session.get(OperatorAccount, user.id)
    if account is None:
        session.add(OperatorAccount(user_id=user.id, operator_id=op.id))
    else:
        account.operator_id = op.id
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="precursors.operator_account", resource_id=user.id,
                 details={"licence": licence})


def get_operator(session: Session, *, actor: Actor, licence: str) -> Operator:
    own = own_operator(session, actor)
    if own is not None:
        if own.licence != licence:
            raise NotFound(f"no operator {licence!r}")
        return own
    actor.require(Permission.precursors_read)
    op = session.scalar(select(Operator).where(Operator.agency_id == actor.agency_id,
                                               Operator.licence == licence))
    if op is None:
        raise NotFound(f"no operator {licence!r}")
    return op


def search_operators(session: Session, *, actor: Actor, q: str = "", limit: int = 100
                     ) -> list[Operator]:
    actor.require(Permission.precursors_read)
    query = select(Operator).where(Operator.agency_id == actor.agency_id)
    if q.strip():
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") \
            + "%"
        query = query.where(or_(Operator.licence.ilike(like, escape="\\"),
                                Operator.name.ilike(like, escape="\\"),
                                Operator.sector.ilike(like, escape="\\")))
    return list(session.scalars(query.order_by(Operator.name).limit(limit)))


# -- transactions -------------------------------------------------------------------------

def import_transactions(session: Session, *, actor: Actor, registry: Registry, data: bytes,
                        filename: str, partial: bool = False, as_of: dt.datetime | None = None,
                        progress: Progress | None = None) -> dict[str, Any]:
    with no_cyclic_gc():
        return _import_transactions(session, actor=actor, registry=registry, data=data,
                                    filename=filename, partial=partial, as_of=as_of,
                                    progress=progress)


def _import_transactions(session: Session, *, actor: Actor, registry: Registry, data: bytes,
                         filename: str, partial: bool, as_of: dt.datetime | None,
                         progress: Progress | None) -> dict[str, Any]:
    """Validate, store and check a transaction file (CSV or JSON lines).

    All or nothing: any row error refuses the file, unless ``partial`` keeps the good rows
    (the receipt lists the others). Re-importing the same file changes nothing; a record whose
    reference is known and whose content changed is an amendment.
    """
    actor.require(Permission.precursors_submit)
    clock = time.perf_counter()

    def say(message: str) -> None:
        if progress is not None:
            progress(f"{message} ({time.perf_counter() - clock:.1f} s)")

    own = own_operator(session, actor)
    checksum = hashlib.sha256(data).hexdigest()
    same = select(Batch).where(Batch.agency_id == actor.agency_id, Batch.checksum == checksum)
    if own is not None:
        same = same.where(Batch.operator_id == own.id)
    prior = session.scalar(same.order_by(Batch.id.desc()).limit(1))
    if prior is not None and (prior.rejected == 0 or partial):
        return receipt(prior) | {"duplicate": True}
    started = time.perf_counter()
    rows = read_rows(data, filename, columns=TRANSACTION_COLUMNS,
                     required=TRANSACTION_REQUIRED)
    say(f"read {len(rows)} rows")
    received = utcnow()
    ctx = Context(operators=_operator_refs(session, actor.agency_id),
                  resolve_substance=lambda text: resolve_substance(registry, text),
                  densities=densities(registry), received_at=received,
                  only_licence=own.licence if own else None)
    cols, errors = validate_transactions(rows, ctx)
    say(f"validated: {len(cols)} good rows, {len(errors)} errors")
    if errors and not partial:
        bad_rows = len({e.row for e in errors})
        raise FileRejected(f"{filename}: {bad_rows} row(s) with errors; nothing was imported "
                           "(fix them, or import with --partial to keep the good rows)",
                           errors)
    if not len(cols):
        raise FileRejected(f"{filename}: no valid rows; nothing was imported", errors)
    batch = Batch(agency_id=actor.agency_id, operator_id=own.id if own else None,
                  filename=filename[:300], checksum=checksum, rows=len(rows),
                  rejected=len({e.row for e in errors}),
                  errors=[e.as_dict() for e in errors[:1000]], created_by=actor.username,
                  created_at=received)
    return _store_and_check(session, actor=actor, registry=registry, batch=batch, cols=cols,
                            as_of=as_of or received, say=say, started=started)


def _store_and_check(session: Session, *, actor: Actor, registry: Registry, batch: Batch,
                     cols: Columns, as_of: dt.datetime, say: Progress, started: float
                     ) -> dict[str, Any]:
    serialize_writers(session, "interdict.precursors")
    session.add(batch)
    session.flush()
    values = cols.values
    current = store.existing(session, values["operator_id"])
    new, amended = [], []
    for i, (op_id, ref, digest) in enumerate(zip(values["operator_id"], values["reference"],
                                                 values["content_hash"], strict=True)):
        known = current.get((op_id, ref))
        if known is None:
            new.append(i)
        elif known[1] != digest:
            amended.append(i)
    say(f"compared: {len(new)} new, {len(amended)} amended")
    new_ids = store.insert_rows(session, agency_id=actor.agency_id, batch_id=batch.id,
                                cols=cols, indexes=new)
    amended_ids = store.amend_rows(session, batch_id=batch.id, cols=cols, indexes=amended,
                                   current=current, now=batch.created_at)
    batch.added, batch.amended = len(new), len(amended)
    batch.unchanged = len(cols) - len(new) - len(amended)
    say(f"stored: {batch.added} new, {batch.amended} amended, {batch.unchanged} unchanged")
    if amended:
        by_index = dict(zip(new, new_ids, strict=True))
        by_index.update({i: amended_ids[(values["operator_id"][i], values["reference"][i])]
                         for i in amended})
        changed = sorted(by_index)
        sub_ids = [by_index[i] for i in changed]
    else:
        changed, sub_ids = new, new_ids
    if changed:
        sub = cols.take(changed)
        licences = store.operator_licences(session, agency_id=actor.agency_id)
        fresh = store.batch_frame(sub, sub_ids, session=session, agency_id=actor.agency_id,
                                  licences=licences)
        say("framed")
        scope = set(sub.values["operator_id"]) | {
            c for c in sub.values["counterparty_operator_id"] if c is not None}
        stored = store.transactions_frame(
            session, agency_id=actor.agency_id, operator_ids=sorted(scope),
            before_batch=batch.id) if store.has_history(
                session, agency_id=actor.agency_id, before_batch=batch.id) \
            else fresh.clear()
        say(f"history loaded: {stored.height} earlier records of {len(scope)} operators")
        findings = run_checks(pl.concat([stored, fresh]),
                              store.operators_frame(session, agency_id=actor.agency_id),
                              store.authorisations_frame(session, agency_id=actor.agency_id),
                              check_settings(registry), as_of=as_of)
        say(f"checks run: {len(findings)} finding(s)")
        batch.findings = raise_findings(session, actor=actor, findings=findings,
                                        batch_id=batch.id, licences=licences)
        say(f"alerts raised: {batch.findings} new")
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="precursors.batch", resource_id=batch.id,
                 details={"filename": batch.filename, "added": batch.added,
                          "amended": batch.amended, "rejected": batch.rejected})
    session.flush()
    return receipt(batch) | {"seconds": round(time.perf_counter() - started, 3)}


def receipt(batch: Batch) -> dict[str, Any]:
    return {"batch": batch.id, "filename": batch.filename, "rows": batch.rows,
            "accepted": batch.added + batch.amended + batch.unchanged, "added": batch.added,
            "amended": batch.amended, "unchanged": batch.unchanged,
            "rejected": batch.rejected, "errors": batch.errors, "alerts": batch.findings,
            "received_at": batch.created_at.isoformat(), "duplicate": False}


def checks_actor(actor: Actor) -> Actor:
    """The register's checks raise alerts on the authority's queue, whoever submitted.

    An operator's upload triggers checks about that operator; the alert must not be the
    operator's own (operators never see alerts about themselves), so it is raised by the
    system on behalf of the authority.
    """
    return Actor(user_id=None, username="interdict:precursor-checks",
                 agency_id=actor.agency_id, agency_code=actor.agency_code,
                 roles=frozenset({Role.precursor_officer}), via="system")


SEVERITIES = {s.value: s for s in Severity}


def raise_findings(session: Session, *, actor: Actor, findings: list[Found],
                   batch_id: int | None, licences: dict[int, str]) -> int:
    """Put new findings on the alert queue (once per key) and keep them with their alert."""
    if not findings:
        return 0
    keys = [f.key for f in findings]
    known: set[str] = set()
    for part in store.chunks(keys):
        known |= set(session.scalars(select(Finding.key).where(
            Finding.agency_id == actor.agency_id, Finding.key.in_(part))))
    system = checks_actor(actor)
    raised = 0
    for f in findings:
        if f.key in known:
            continue
        known.add(f.key)
        licence = licences.get(f.operator_id, str(f.operator_id))
        subjects = [SubjectRef(type="precursors.operator", id=str(f.operator_id),
                               label=licence)]
        subjects += [SubjectRef(type="precursors.transaction", id=str(t), label=r[:200])
                     for t, r in zip(f.transaction_ids[:99], f.references, strict=False)]
        alert = alerts.raise_alert(session, actor=system, data=AlertCreate(
            source=SOURCE, kind=f.kind, title=f.title[:300],
            severity=SEVERITIES.get(f.severity, Severity.medium),
            score=max(0.0, min(1.0, f.score)),
            reasons=[Reason(rule=r["rule"], contribution=float(r["contribution"]),
                            values=r.get("values", {}), detail=str(r.get("detail", ""))[:2000])
                     for r in f.reasons[:100]],
            subjects=subjects, dedup_key=f"precursors:{f.key}"[:200]))
        session.add(Finding(agency_id=actor.agency_id, key=f.key, kind=f.kind,
                            operator_id=f.operator_id, transaction_ids=list(f.transaction_ids),
                            references=list(f.references), score=f.score, severity=f.severity,
                            title=f.title[:300], reasons=f.reasons, alert_id=alert.id,
                            batch_id=batch_id, created_at=alert.created_at))
        raised += 1
    session.flush()
    return raised


def recheck(session: Session, *, actor: Actor, registry: Registry,
            as_of: dt.datetime | None = None, all_records: bool = False) -> dict[str, Any]:
    """Run the checks over the whole register: transfers whose buyer's time has run out,
    stock balances, and (``all_records``) every per-record check again, e.g. after the
    settings changed. Findings already raised are not raised again."""
    actor.require(Permission.precursors_manage)
    started = time.perf_counter()
    serialize_writers(session, "interdict.precursors")
    tx = store.transactions_frame(session, agency_id=actor.agency_id)
    if all_records:
        tx = tx.with_columns(pl.lit(True).alias("is_new"))
    findings = run_checks(tx, store.operators_frame(session, agency_id=actor.agency_id),
                          store.authorisations_frame(session, agency_id=actor.agency_id),
                          check_settings(registry), as_of=as_of or utcnow())
    licences = store.operator_licences(session, agency_id=actor.agency_id)
    raised = raise_findings(session, actor=actor, findings=findings, batch_id=None,
                            licences=licences)
    return {"transactions": tx.height, "findings": len(findings), "new_alerts": raised,
            "seconds": round(time.perf_counter() - started, 3)}


def findings(session: Session, *, actor: Actor, kind: str | None = None,
             licence: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The checks' findings with their alert; the authority's staff only."""
    actor.require(Permission.alerts_read)
    actor.require(Permission.precursors_read)
    query = select(Finding, Operator.licence).join(Operator, Operator.id == Finding.operator_id) \
        .where(Finding.agency_id == actor.agency_id)
    if kind:
        query = query.where(Finding.kind == kind)
    if licence:
        query = query.where(Operator.licence == licence)
    rows = session.execute(query.order_by(Finding.id.desc()).limit(limit)).all()
    return [{"kind": f.kind, "operator": lic, "references": f.references, "score": f.score,
             "severity": f.severity, "title": f.title, "reasons": f.reasons,
             "alert_id": f.alert_id, "created_at": f.created_at.isoformat()}
            for f, lic in rows]


def batches(session: Session, *, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """Receipts: an operator's own uploads, or every upload for the authority."""
    own = own_operator(session, actor)
    if own is None:
        actor.require(Permission.precursors_read)
    query = select(Batch).where(Batch.agency_id == actor.agency_id)
    if own is not None:
        query = query.where(Batch.operator_id == own.id)
    return [receipt(b) for b in session.scalars(query.order_by(Batch.id.desc()).limit(limit))]


def transactions(session: Session, *, actor: Actor, licence: str, limit: int = 500
                 ) -> list[Transaction]:
    op = get_operator(session, actor=actor, licence=licence)
    return list(session.scalars(select(Transaction).where(Transaction.operator_id == op.id)
                                .order_by(Transaction.occurred_at.desc()).limit(limit)))


def counts(session: Session, *, actor: Actor) -> dict[str, int]:
    actor.require(Permission.precursors_read)
    a = actor.agency_id
    return {
        "operators": session.scalar(select(func.count()).select_from(Operator)
                                    .where(Operator.agency_id == a)) or 0,
        "transactions": session.scalar(select(func.count()).select_from(Transaction)
                                       .where(Transaction.agency_id == a)) or 0,
        "findings": session.scalar(select(func.count()).select_from(Finding)
                                   .where(Finding.agency_id == a)) or 0,
    }


def describe_transaction(t: Transaction) -> dict[str, Any]:
    return {"id": t.id, "reference": t.reference, "version": t.version, "kind": t.kind,
            "substance": t.substance, "substance_input": t.substance_input,
            "category": t.category, "quantity": t.quantity, "unit": t.unit,
            "quantity_kg": round(t.quantity_kg, 3), "occurred_at": t.occurred_at.isoformat(),
            "registered_at": t.registered_at.isoformat(), "counterparty": t.counterparty,
            "counterparty_country": t.counterparty_country,
            "destination_country": t.destination_country,
            "transit_countries": [c for c in t.transit_countries.split(";") if c],
            "payment": t.payment, "end_use": t.end_use, "site": t.site}


def _operator_frame(session: Session, actor: Actor, licence: str) -> tuple[Operator,
                                                                           pl.DataFrame]:
    op = get_operator(session, actor=actor, licence=licence)
    return op, store.transactions_frame(session, agency_id=actor.agency_id,
                                        operator_ids=[op.id])


def operator_return(session: Session, *, actor: Actor, licence: str, period: str
                    ) -> list[dict[str, Any]]:
    """The operator's return for a year or quarter, from the register."""
    try:
        returns.period_bounds(period)
    except ValueError as exc:
        raise InvalidData(str(exc), errors=[FieldError("period", str(exc))]) from None
    _op, tx = _operator_frame(session, actor, licence)
    return returns.operator_return(tx, period)


def authority_summary(session: Session, *, actor: Actor, period: str) -> list[dict[str, Any]]:
    actor.require(Permission.precursors_read)
    try:
        returns.period_bounds(period)
    except ValueError as exc:
        raise InvalidData(str(exc), errors=[FieldError("period", str(exc))]) from None
    return returns.authority_summary(
        store.transactions_frame(session, agency_id=actor.agency_id), period)


def operator_overview(session: Session, *, actor: Actor, licence: str) -> dict[str, Any]:
    """What the operator page shows: the record, stock series, and (staff only) findings."""
    op, tx = _operator_frame(session, actor, licence)
    staff = actor.can(Permission.precursors_read) and actor.can(Permission.alerts_read)
    return {
        "licence": op.licence, "name": op.name, "country": op.country,
        "categories": op.categories, "kind": op.kind,
        "valid_from": op.valid_from.isoformat(),
        "valid_to": op.valid_to.isoformat() if op.valid_to else None,
        "activities": op.activities, "sector": op.sector, "sites": op.sites,
        "transactions": tx.height, "stock": returns.stock_series(tx),
        "findings": findings(session, actor=actor, licence=op.licence, limit=200)
        if staff else [],
    }


def reconcile(session: Session, *, actor: Actor, registry: Registry,
              licence: str | None = None) -> dict[str, Any]:
    """Stock balances of every operator (or one): the gaps beyond tolerance, no alerts."""
    actor.require(Permission.precursors_read)
    started = time.perf_counter()
    ids = [get_operator(session, actor=actor, licence=licence).id] if licence else None
    settings = check_settings(registry)
    # Two passes of the same check: over the lightest columns for every operator, then with
    # ids and references only for the operators whose balance is off (usually few).
    light = store.transactions_frame(session, agency_id=actor.agency_id, operator_ids=ids,
                                     columns=store.BALANCE_COLUMNS, committed_only=True)
    flagged = sorted({f.operator_id for f in stock_discrepancy(
        light.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("id")), settings)})
    tx = store.transactions_frame(session, agency_id=actor.agency_id, operator_ids=flagged,
                                  columns=store.STOCK_COLUMNS) if flagged else light.clear()
    gaps = stock_discrepancy(tx, settings)
    licences = store.operator_licences(session, agency_id=actor.agency_id)
    return {"operators": light.select("operator_id").n_unique(), "transactions": light.height,
            "discrepancies": [{"operator": licences.get(f.operator_id), "kind": f.kind,
                               "references": list(f.references), "score": f.score,
                               "title": f.title, "reasons": f.reasons} for f in gaps],
            "seconds": round(time.perf_counter() - started, 3)}
