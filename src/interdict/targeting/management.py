"""Rule profile versions, model training and activation, and the drift report.

A saved rule file becomes a new version and the active one only if it validates: a file that
does not is refused with its line and reason, and the version in force stays. Models are
trained either from files (``--train``/``--valid``) or from the agency's own labelled
consignments, whose most recent share is held out to stop training and calibrate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.db.base import utcnow
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.reference.registry import Registry
from interdict.targeting import engines as engines_mod
from interdict.targeting import model as learned
from interdict.targeting import store
from interdict.targeting.frames import CONSIGNMENT, MODEL_KINDS
from interdict.targeting.models import Consignment, RuleSet, TargetingModel
from interdict.targeting.rules import parse_rules

# -- rule profiles ----------------------------------------------------------------------------


def rule_sets(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    actor.require(Permission.targeting_read)
    rows = session.scalars(select(RuleSet).where(RuleSet.agency_id == actor.agency_id)
                           .order_by(RuleSet.version.desc()))
    return [{"id": r.id, "version": r.version, "note": r.note, "active": r.active,
             "created_by": r.created_by, "created_at": r.created_at.isoformat()} for r in rows]


def active_rules(session: Session, *, actor: Actor, registry: Registry) -> dict[str, Any]:
    """The profiles in force, their text, and each rule's hit rate from recorded outcomes."""
    actor.require(Permission.targeting_read)
    engines = engines_mod.active(session, actor.agency_id, registry)
    text = engines_mod.default_rules_text(registry) if engines.rule_set_id is None else \
        session.scalar(select(RuleSet.text).where(RuleSet.id == engines.rule_set_id))
    stats = store.rule_stats(session, actor.agency_id)
    empty = {"hits": 0, "inspected": 0, "positives": 0, "hit_rate": None}
    return {
        "id": engines.rule_set_id, "version": engines.rule_set_version,
        "shipped_default": engines.rule_set_id is None, "text": text,
        "rules": [{"id": r.id, "title": r.title, "owner": r.owner, "weight": r.weight,
                   "lane": r.lane, "valid_from": r.valid_from and r.valid_from.isoformat(),
                   "valid_to": r.valid_to and r.valid_to.isoformat(),
                   "kinds": list(r.kinds)} | stats.get(r.id, empty)
                  for r in engines.rules.rules],
    }


def save_rules(session: Session, *, actor: Actor, text: str, note: str = "") -> dict[str, Any]:
    """Validate and store a new version of the rule profiles, and make it the active one."""
    actor.require(Permission.targeting_manage)
    parsed = parse_rules(text)  # raises RuleFileError (422) naming line and reason
    version = (session.scalar(select(func.max(RuleSet.version)).where(
        RuleSet.agency_id == actor.agency_id)) or 0) + 1
    session.execute(update(RuleSet).where(RuleSet.agency_id == actor.agency_id)
                    .values(active=False))
    row = RuleSet(agency_id=actor.agency_id, version=version, text=text, note=note,
                  active=True, created_by=actor.username, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="targeting.rules", resource_id=row.id,
                 details={"version": version, "rules": len(parsed.rules), "note": note})
    return {"id": row.id, "version": version, "rules": len(parsed.rules), "active": True}


# -- models -----------------------------------------------------------------------------------


def labelled_frame(session: Session, agency_id: int) -> pl.DataFrame:
    """The agency's consignments with outcomes, in time order, as the engines' frame."""
    columns = [c for c in CONSIGNMENT if c != "route"]
    rows = session.execute(select(*(getattr(Consignment, c) for c in columns), Consignment.route)
                           .where(Consignment.agency_id == agency_id,
                                  Consignment.fraud.is_not(None),
                                  Consignment.kind.in_(MODEL_KINDS))
                           .order_by(Consignment.declared_at, Consignment.id)).all()
    frame = pl.DataFrame([list(r) for r in rows], schema=[*columns, "route"], orient="row",
                         infer_schema_length=None)
    return frame.with_columns(
        pl.col("declared_at").dt.replace_time_zone("UTC") if frame["declared_at"].dtype
        == pl.Datetime("us") else pl.col("declared_at")).select(
        pl.col(c).cast(t) for c, t in CONSIGNMENT.items())


def train(session: Session, *, actor: Actor, registry: Registry,
          train_frame: pl.DataFrame | None = None, valid_frame: pl.DataFrame | None = None,
          label: str = "fraud", activate: bool = True,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train a model (from frames, or from the store), keep it as a new version."""
    actor.require(Permission.targeting_manage)
    settings = engines_mod.settings(registry)
    say = progress or (lambda _m: None)
    if train_frame is None or valid_frame is None:
        frame = labelled_frame(session, actor.agency_id)
        if frame.height < 200 or frame["fraud"].sum() < 20:
            raise InvalidData(
                f"only {frame.height} labelled consignments ({frame['fraud'].sum()} positive)"
                " in the store; at least 200 with 20 positives are needed to train",
                errors=[FieldError("train", "not enough labelled consignments")])
        cut = int(frame.height * (1 - settings.valid_share))
        train_frame, valid_frame = frame[:cut], frame[cut:]
        say(f"training from the store: {train_frame.height} train, "
            f"{valid_frame.height} validation consignments")
    model_settings = settings.model.model_copy(update={"label": label})
    trained = learned.train(train_frame, valid_frame, model_settings, settings.features,
                            progress=say)
    deciles = trained.validation_deciles
    labels = learned.labels_of(valid_frame, trained.label)
    metrics = dict(trained.metrics) | {
        "valid_positive_rate": float(np.nanmean(labels)) if labels.size else None,
        "train_seconds": trained.train_seconds}
    version = (session.scalar(select(func.max(TargetingModel.version)).where(
        TargetingModel.agency_id == actor.agency_id)) or 0) + 1
    if activate:
        session.execute(update(TargetingModel).where(
            TargetingModel.agency_id == actor.agency_id).values(active=False))
    row = TargetingModel(
        agency_id=actor.agency_id, version=version, label=label, active=activate,
        payload=trained.to_json(), metrics=metrics, n_train=train_frame.height,
        n_valid=valid_frame.height, train_from=train_frame["declared_at"].min(),
        train_to=train_frame["declared_at"].max(), valid_from=valid_frame["declared_at"].min(),
        valid_to=valid_frame["declared_at"].max(), score_deciles=list(deciles),
        created_by=actor.username, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="targeting.model", resource_id=row.id,
                 details={"version": version, "label": label, "active": activate})
    return describe_model(row)


def describe_model(m: TargetingModel) -> dict[str, Any]:
    def iso(t: dt.datetime | None) -> str | None:
        return t.isoformat() if t else None
    return {"id": m.id, "version": m.version, "label": m.label, "active": m.active,
            "metrics": m.metrics, "n_train": m.n_train, "n_valid": m.n_valid,
            "train_from": iso(m.train_from), "train_to": iso(m.train_to),
            "valid_from": iso(m.valid_from), "valid_to": iso(m.valid_to),
            "created_by": m.created_by, "created_at": m.created_at.isoformat()}


def models(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    actor.require(Permission.targeting_read)
    rows = session.scalars(select(TargetingModel).where(
        TargetingModel.agency_id == actor.agency_id).order_by(TargetingModel.version.desc()))
    return [describe_model(m) for m in rows]


def activate_model(session: Session, *, actor: Actor, version: int) -> dict[str, Any]:
    actor.require(Permission.targeting_manage)
    row = session.scalar(select(TargetingModel).where(
        TargetingModel.agency_id == actor.agency_id, TargetingModel.version == version))
    if row is None:
        raise NotFound(f"no model version {version}")
    session.execute(update(TargetingModel).where(
        TargetingModel.agency_id == actor.agency_id).values(active=False))
    row.active = True
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="targeting.model", resource_id=row.id,
                 details={"version": version, "active": True})
    return describe_model(row)


# -- drift ------------------------------------------------------------------------------------

#: Fewer recent scores than this say nothing about the distribution: no PSI.
MIN_DRIFT_SCORES = 100


def _psi(expected_edges: list[float], recent: np.ndarray) -> float | None:
    """Population stability index of recent scores over the validation deciles."""
    if len(expected_edges) < 3 or recent.size == 0:
        return None
    inner = np.unique(np.asarray(expected_edges[1:-1]))
    expected = np.full(inner.size + 1, 1 / (inner.size + 1))
    counts = np.bincount(np.searchsorted(inner, recent, side="right"), minlength=inner.size + 1)
    actual = np.clip(counts / recent.size, 1e-4, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def drift(session: Session, *, actor: Actor, registry: Registry,
          now: dt.datetime | None = None) -> dict[str, Any]:
    """Recent scores and hit rate against the active model's training period."""
    actor.require(Permission.targeting_read)
    settings = engines_mod.settings(registry)
    now = now or utcnow()
    since = now - dt.timedelta(days=settings.drift_days)
    m = session.scalar(select(TargetingModel).where(
        TargetingModel.agency_id == actor.agency_id, TargetingModel.active.is_(True)))
    rows = session.execute(select(Consignment.model_probability, Consignment.fraud,
                                  Consignment.lane, Consignment.exploration).where(
        Consignment.agency_id == actor.agency_id, Consignment.created_at >= since,
        Consignment.lane.is_not(None))).all()
    probs = np.array([r[0] for r in rows if r[0] is not None], dtype=float)
    outcomes = [int(r[1]) for r in rows if r[1] is not None]
    explored_outcomes = [int(r[1]) for r in rows if r[1] is not None and r[3]]
    lanes: dict[str, int] = {}
    for r in rows:
        lanes[str(r[2])] = lanes.get(str(r[2]), 0) + 1
    training = m.metrics if m is not None else {}
    recent_mean = float(probs.mean()) if probs.size else None
    psi = _psi(m.score_deciles, probs) if m is not None and probs.size >= MIN_DRIFT_SCORES \
        else None
    return {
        "model": describe_model(m) if m is not None else None,
        "period_days": settings.drift_days, "since": since.isoformat(),
        "recent": {"scored": len(rows), "with_model": int(probs.size),
                   "mean_probability": recent_mean,
                   "deciles": np.quantile(probs, np.linspace(0, 1, 11)).tolist()
                   if probs.size else [],
                   "inspected": len(outcomes),
                   "hit_rate": sum(outcomes) / len(outcomes) if outcomes else None,
                   "exploration_inspected": len(explored_outcomes),
                   "exploration_hit_rate": sum(explored_outcomes) / len(explored_outcomes)
                   if explored_outcomes else None,
                   "lanes": lanes},
        "training": {"positive_rate": training.get("valid_positive_rate"),
                     "deciles": m.score_deciles if m is not None else []},
        "psi": psi, "min_scores": MIN_DRIFT_SCORES,
        "drifted": psi is not None and psi > 0.25,
    }
