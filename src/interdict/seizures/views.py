"""The map, the dashboard and published aggregates (read-only views over seizures)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.seizures.access import lines_of, visible
from interdict.seizures.models import (
    Seizure,
    SeizureAggregate,
    SeizureLine,
)

# -- map and dashboard --------------------------------------------------------------------

def map_data(session: Session, *, actor: Actor, centroids: dict[str, tuple[float, float]]
             ) -> dict[str, Any]:
    """Seizure points (own coordinates, else the country's centroid) and route flows
    (origin -> transit -> destination, counted per leg)."""
    actor.require(Permission.seizures_read)
    rows = list(session.scalars(visible(actor).order_by(Seizure.seized_at.desc())
                                .limit(20_000)))
    lines = lines_of(session, (s.id for s in rows))
    points: list[dict[str, Any]] = []
    legs: Counter[tuple[str, str]] = Counter()
    for s in rows:
        if s.latitude is not None and s.longitude is not None:
            lon, lat = s.longitude, s.latitude
        elif s.country in centroids:
            lon, lat = centroids[s.country]
        else:
            continue
        kg = sum((ln.quantity_kg or 0.0 for ln in lines[s.id]), 0.0)
        points.append({"id": s.id, "reference": s.reference, "lon": lon, "lat": lat,
                       "country": s.country, "approximate": s.latitude is None,
                       "substances": sorted({ln.substance for ln in lines[s.id]}),
                       "kg": round(kg, 3), "seized_at": s.seized_at.date().isoformat()})
        stops = [c for c in (s.origin, *s.transit, s.destination or s.country) if c]
        for x, y in zip(stops, stops[1:], strict=False):
            if x != y:
                legs[(x, y)] += 1
    flows = [{"from": x, "to": y, "count": n, "coords": [centroids[x], centroids[y]]}
             for (x, y), n in legs.most_common(300) if x in centroids and y in centroids]
    return {"points": points, "flows": flows}


def dashboard(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Own seizures by substance, country and month, and published aggregates by month."""
    actor.require(Permission.seizures_read)
    ids = visible(actor).with_only_columns(Seizure.id)
    by_substance = session.execute(
        select(SeizureLine.substance, func.count(func.distinct(SeizureLine.seizure_id)),
               func.coalesce(func.sum(SeizureLine.quantity_kg), 0.0))
        .where(SeizureLine.seizure_id.in_(ids)).group_by(SeizureLine.substance)
        .order_by(func.count(func.distinct(SeizureLine.seizure_id)).desc())).all()
    by_country = session.execute(
        select(Seizure.country, func.count()).where(Seizure.id.in_(ids))
        .group_by(Seizure.country).order_by(func.count().desc())).all()
    months: Counter[str] = Counter()
    for (when,) in session.execute(select(Seizure.seized_at).where(Seizure.id.in_(ids))):
        months[when.strftime("%Y-%m")] += 1
    return {"by_substance": [{"substance": s, "seizures": int(n),
                              "kg": round(float(kg or 0.0), 3)}
                             for s, n, kg in by_substance],
            "by_country": [{"country": c, "seizures": int(n)} for c, n in by_country],
            "by_month": [{"month": m, "seizures": n} for m, n in sorted(months.items())],
            "aggregates": aggregates(session, actor=actor)}


def aggregates(session: Session, *, actor: Actor, source: str = "cbp") -> dict[str, Any]:
    """Published totals by month and drug type (events and kg), for the real-data view."""
    actor.require(Permission.seizures_read)
    rows = session.execute(
        select(SeizureAggregate.month, SeizureAggregate.drug_type,
               func.sum(SeizureAggregate.events), func.sum(SeizureAggregate.quantity_kg))
        .where(SeizureAggregate.agency_id == actor.agency_id,
               SeizureAggregate.source == source)
        .group_by(SeizureAggregate.month, SeizureAggregate.drug_type)
        .order_by(SeizureAggregate.month)).all()
    months = sorted({m.isoformat()[:7] for m, *_ in rows})
    series_: dict[str, dict[str, list[float]]] = {}
    pos = {m: i for i, m in enumerate(months)}
    for m, drug, events, kg in rows:
        entry = series_.setdefault(drug, {"events": [0.0] * len(months),
                                          "kg": [0.0] * len(months)})
        entry["events"][pos[m.isoformat()[:7]]] = float(events)
        entry["kg"][pos[m.isoformat()[:7]]] = round(float(kg), 1)
    totals = {d: sum(v["kg"]) for d, v in series_.items()}
    return {"source": source, "months": months,
            "drugs": [{"drug_type": d, **series_[d]}
                      for d in sorted(series_, key=lambda d: -totals[d])]}


def import_aggregates(session: Session, *, actor: Actor, rows: list[Any], source: str,
                      filename: str) -> dict[str, Any]:
    """Replace the agency's published aggregates of ``source`` with ``rows`` (one
    transaction: the view shows the old totals or the new, never a mix)."""
    actor.require(Permission.seizures_write)
    session.execute(delete(SeizureAggregate).where(SeizureAggregate.agency_id == actor.agency_id,
                                                   SeizureAggregate.source == source))
    session.add_all(SeizureAggregate(agency_id=actor.agency_id, source=source, month=r.month,
                                     component=r.component, region=r.region, area=r.area,
                                     drug_type=r.drug_type, substance=r.substance,
                                     events=r.events, quantity_kg=r.quantity_kg)
                    for r in rows)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="seizures.aggregates", resource_id=source,
                 details={"file": filename, "rows": len(rows)})
    return {"source": source, "rows": len(rows),
            "events": sum(r.events for r in rows),
            "kg": round(sum(r.quantity_kg for r in rows), 1)}

