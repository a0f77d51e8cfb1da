"""The network library API: import into the intelligence file, read entities with their
provenance, walk links, export, and resolve duplicates.

Entities are agency records (``visible_to``: the agency's own plus those shared with it).
Reading an entity page is a consultation of personal data and is audited as such.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from interdict.audit.events import AuditAction
from interdict.audit.service import record as audit
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.auth.scoping import visible_to
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.network import store
from interdict.network.analysis import Options, analyze, short_paths, shortest_paths
from interdict.network.disruption import STRATEGIES, simulate
from interdict.network.exports import export_graph
from interdict.network.graph import EdgeRecord, Graph, check_weight_as
from interdict.network.models import (
    Entity,
    EntityValue,
    Link,
    ResolutionJudgement,
    ResolutionSuggestion,
)
from interdict.network.provenance import Provenance, label, validate
from interdict.network.readers import detect_format, read_graph
from interdict.network.resolution import resolve
from interdict.network.resolution_judgements import (
    Decision,
    Judgement,
    canonical_ids,
    live_judgements,
    pair_key,
    training_labels,
)
from interdict.network.resolution_records import from_ftm
from interdict.network.timeslice import rank_changes as slice_ranks
from interdict.reference.registry import Registry

RESOURCE = "network.entity"
IMPORT_KINDS = ("ftm", "cdr", "mapping")


def _visible(actor: Actor) -> Select[Entity]:
    return select(Entity).where(visible_to(actor, agency_column=Entity.agency_id,
                                           id_column=Entity.id, resource_type=RESOURCE))


def import_file(session: Session, *, actor: Actor, registry: Registry, kind: str,
                filename: str, data: bytes, provenance: Provenance,
                mapping: str | None = None) -> store.ImportResult:
    """Import FtM JSON lines (``ftm``), call detail records (``cdr``) or a CSV/XLSX table
    through a FtM mapping (``mapping``, with the mapping's YAML text) into the file."""
    actor.require(Permission.network_write)
    validate(registry, provenance)
    if kind == "ftm":
        parsed = store.parse_ftm(data, filename)
    elif kind == "cdr":
        parsed = store.parse_cdr(data, filename)
    elif kind == "mapping":
        if not mapping:
            raise InvalidData("a mapping import needs the mapping file",
                              errors=[FieldError("mapping", "missing")])
        parsed = store.parse_mapped(data, filename, mapping)
    else:
        raise InvalidData(f"unknown import kind {kind!r}",
                          errors=[FieldError("kind", f"one of {', '.join(IMPORT_KINDS)}")])
    if not parsed:
        raise InvalidData(f"{filename} holds no entity", errors=[FieldError("file", "empty")])
    result = store.write(session, actor=actor, kind=kind, filename=filename, data=data,
                         parsed=parsed, provenance=provenance)
    return _audited(session, actor, result, provenance)


def import_records(session: Session, *, actor: Actor, registry: Registry, filename: str,
                   data: bytes, originator: str, source_grade: str, information_grade: str,
                   handling: str, observed_on: str | None = None, source_record: str = "",
                   scheme: str = "4x4") -> store.ImportResult:
    """Import FtM JSON lines written by another domain (seizure parties, confirmed links,
    entities received through the exchange), with the provenance it states. Same rules as
    a file import: all or nothing, and the same data again is a no-op."""
    return import_file(session, actor=actor, registry=registry, kind="ftm",
                       filename=filename, data=data,
                       provenance=Provenance(originator=originator, scheme=scheme,
                                             source_grade=source_grade,
                                             information_grade=information_grade,
                                             handling=handling, observed_on=observed_on,
                                             source_record=source_record))


def _audited(session: Session, actor: Actor, result: store.ImportResult,
             provenance: Provenance) -> store.ImportResult:
    """Record a new batch in the audit log (a re-import of a known file is not a change)."""
    if not result.already_imported:
        audit(session, actor=actor, action=AuditAction.record_created, resource_type=RESOURCE,
              resource_id=f"batch:{result.batch_id}",
              details={"file": result.filename, "kind": result.kind,
                       "entities": result.entities, "links": result.links,
                       "grading": label(provenance)})
    return result


def import_edges(session: Session, *, actor: Actor, registry: Registry, filename: str,
                 data: bytes, nodes: list[tuple[str, str]],
                 edges: list[tuple[str, str, float, str | None]],
                 namespace: str, provenance: Provenance, directed: bool = False,
                 kind: str = "edgelist") -> store.ImportResult:
    """Store an anonymised network (matrix or edge list already read) as people and links."""
    actor.require(Permission.network_write)
    validate(registry, provenance)
    parsed = store.from_edges(nodes, edges, namespace=namespace)
    result = store.write(session, actor=actor, kind=kind, filename=filename, data=data,
                         parsed=parsed, provenance=provenance, directed=directed)
    return _audited(session, actor, result, provenance)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueOut:
    prop: str
    value: str
    provenance: str
    originator: str
    scheme: str
    source_grade: str
    information_grade: str
    handling: str
    observed_on: str | None
    source_record: str


def search(session: Session, *, actor: Actor, q: str = "", schema: str | None = None,
           limit: int = 50) -> list[Entity]:
    actor.require(Permission.network_read)
    stmt = _visible(actor).where(Entity.schema.not_in(schemas_with_edges()))
    if q:
        stmt = stmt.where(func.lower(Entity.caption).contains(q.lower(), autoescape=True))
    if schema:
        stmt = stmt.where(Entity.schema == schema)
    return list(session.scalars(stmt.order_by(Entity.caption).limit(min(limit, 500))))


def entity(session: Session, *, actor: Actor, entity_id: int, purpose: str = "") -> dict[str, Any]:
    """An entity with every value and its provenance; audited as a consultation."""
    actor.require(Permission.network_read)
    row = session.scalar(_visible(actor).where(Entity.id == entity_id))
    if row is None:
        raise NotFound(f"no entity {entity_id}")
    values = session.scalars(select(EntityValue).where(EntityValue.entity_id == row.id)
                             .order_by(EntityValue.prop, EntityValue.id))
    grouped: dict[str, list[ValueOut]] = defaultdict(list)
    for v in values:
        grouped[v.prop].append(ValueOut(prop=v.prop, value=v.value, provenance=label(v),
                                        originator=v.originator, scheme=v.scheme,
                                        source_grade=v.source_grade,
                                        information_grade=v.information_grade,
                                        handling=v.handling, observed_on=v.observed_on,
                                        source_record=v.source_record))
    audit(session, actor=actor, action=AuditAction.record_viewed, resource_type=RESOURCE,
          resource_id=row.id, justification=purpose, details={"caption": row.caption})
    return {"id": row.id, "ftm_id": row.ftm_id, "schema": row.schema, "caption": row.caption,
            "agency_id": row.agency_id, "values": {k: [v.__dict__ for v in vs]
                                                   for k, vs in grouped.items()},
            "conflicts": sorted(k for k, vs in grouped.items()
                                if len({v.value for v in vs}) > 1),
            "links": neighbours(session, actor=actor, entity_id=row.id)["edges"]}


def entity_ids(session: Session, *, actor: Actor, ftm_ids: Sequence[str]) -> dict[str, int]:
    """Ids of the actor's agency's entities by FtM id: other domains keep FtM ids of the
    entities they wrote and open them by id. Reads no values, so it is not a consultation."""
    if not ftm_ids:
        return {}
    rows = session.execute(select(Entity.ftm_id, Entity.id).where(
        Entity.agency_id == actor.agency_id, Entity.ftm_id.in_(sorted(set(ftm_ids)))))
    return {str(f): int(i) for f, i in rows}


def consulted(session: Session, *, actor: Actor, what: str, **details: Any) -> None:
    """Record a consultation of the file that is not an entity page (a chart expansion, a
    path, an analysis): they reveal who is linked to whom, which is personal data too."""
    audit(session, actor=actor, action=AuditAction.record_viewed, resource_type=RESOURCE,
          resource_id=what, details=details)


def neighbours(session: Session, *, actor: Actor, entity_id: int) -> dict[str, Any]:
    """The entity, its direct neighbours and the links between them (for expanding a chart)."""
    actor.require(Permission.network_read)
    if session.scalar(_visible(actor).where(Entity.id == entity_id)) is None:
        raise NotFound(f"no entity {entity_id}")
    visible_ids = _visible_ids(actor)
    links = list(session.scalars(select(Link).where(
        or_(Link.source_id == entity_id, Link.target_id == entity_id),
        Link.source_id.in_(visible_ids), Link.target_id.in_(visible_ids))))
    ids = {entity_id} | {x for link in links for x in (link.source_id, link.target_id)}
    nodes = session.scalars(_visible(actor).where(Entity.id.in_(ids)))
    # The best source grade each node has a value from, for the chart's grading filter.
    grades: dict[int, set[str]] = defaultdict(set)
    for node_id, grade in session.execute(select(EntityValue.entity_id, EntityValue.source_grade)
                                          .where(EntityValue.entity_id.in_(ids)).distinct()):
        grades[node_id].add(grade)
    return {"nodes": [{"id": n.id, "caption": n.caption, "schema": n.schema,
                       "grades": sorted(grades[n.id])} for n in nodes],
            "edges": [{"id": link.id, "source": link.source_id, "target": link.target_id,
                       "schema": link.schema, "weight": link.weight, "period": link.period,
                       "relation": link.relation_id, "directed": link.directed}
                      for link in links]}


def _visible_ids(actor: Actor) -> Select[int]:
    return select(Entity.id).where(visible_to(
        actor, agency_column=Entity.agency_id, id_column=Entity.id, resource_type=RESOURCE))


def links(session: Session, *, actor: Actor, period: str | None = None) -> list[Link]:
    """Every visible link (both endpoints visible), optionally of one period."""
    actor.require(Permission.network_read)
    visible_ids = _visible_ids(actor)
    stmt = select(Link).where(Link.source_id.in_(visible_ids), Link.target_id.in_(visible_ids))
    if period is not None:
        stmt = stmt.where(Link.period == period)
    return list(session.scalars(stmt.order_by(Link.id)))


@functools.cache
def schemas_with_edges() -> tuple[str, ...]:
    """FtM schemata that are relationships (their entities are links, not nodes)."""
    from followthemoney import model

    return tuple(sorted(name for name in model.schemata if store.edge_props(name) is not None))


def schemas_in_use(session: Session, *, actor: Actor) -> list[str]:
    actor.require(Permission.network_read)
    sub = _visible(actor).subquery()
    return sorted(s for s in session.scalars(select(sub.c.schema).distinct())
                  if s and store.edge_props(s) is None)  # node types only, not link types


def timeline(entity_page: dict[str, Any]) -> list[dict[str, Any]]:
    """Dated facts of an entity page, oldest first: values with a date and dated links."""
    events = [{"date": v["observed_on"], "what": f"{prop}: {v['value']}",
               "provenance": v["provenance"]}
              for prop, values in entity_page["values"].items() for v in values
              if v["observed_on"]]
    events += [{"date": link["period"], "what": f"{link['schema']} link", "provenance": ""}
               for link in entity_page["links"] if link["period"]]
    return sorted(events, key=lambda e: str(e["date"]))


def periods(session: Session, *, actor: Actor) -> list[str]:
    actor.require(Permission.network_read)
    return sorted(p for p in session.scalars(
        select(Link.period).where(Link.source_id.in_(_visible_ids(actor)),
                                  Link.target_id.in_(_visible_ids(actor))).distinct()) if p)


# --- exports -------------------------------------------------------------------------------


def _entities_with_values(session: Session, actor: Actor) -> list[tuple[Entity, list[EntityValue]]]:
    rows = list(session.scalars(_visible(actor).order_by(Entity.id)))
    values: dict[int, list[EntityValue]] = defaultdict(list)
    for v in session.scalars(select(EntityValue).where(
            EntityValue.entity_id.in_([r.id for r in rows])).order_by(EntityValue.id)):
        values[v.entity_id].append(v)
    return [(r, values[r.id]) for r in rows]


def export_ftm(session: Session, *, actor: Actor) -> str:
    """FtM JSON lines (Aleph/OpenSanctions compatible); provenance under ``interdict``.

    Standard readers ignore the extra key; ``import_file(kind="ftm")`` of this output gives
    the same entities and links.
    """
    actor.require(Permission.network_read)
    out = []
    for row, values in _entities_with_values(session, actor):
        props: dict[str, list[str]] = defaultdict(list)
        for v in values:
            if v.value not in props[v.prop]:
                props[v.prop].append(v.value)
        out.append(json.dumps({"id": row.ftm_id, "schema": row.schema, "properties": props,
                               "interdict": {"provenance": [
                                   {"prop": v.prop, "value": v.value, "label": label(v)}
                                   for v in values]}}, ensure_ascii=False))
    audit(session, actor=actor, action=AuditAction.record_disclosed, resource_type=RESOURCE,
          resource_id="export", details={"format": "ftm", "entities": len(out)})
    return "\n".join(out) + ("\n" if out else "")


def export_anx(session: Session, *, actor: Actor) -> str:
    """An i2 Analyst's Notebook chart (ANX XML): entities as icons, links as lines."""
    actor.require(Permission.network_read)
    chart = ET.Element("Chart")
    items = ET.SubElement(chart, "ChartItemCollection")
    rows = _entities_with_values(session, actor)
    for row, values in rows:
        item = ET.SubElement(items, "ChartItem", Label=row.caption,
                             Description=f"{row.schema}; " + "; ".join(
                                 sorted({label(v) for v in values})))
        end = ET.SubElement(ET.SubElement(item, "End"), "Entity", EntityId=f"e{row.id}",
                            Identity=row.ftm_id)
        ET.SubElement(end, "Icon").append(ET.Element("IconStyle", Type=row.schema))
    for link in links(session, actor=actor):
        item = ET.SubElement(items, "ChartItem", Label=link.schema)
        line = ET.SubElement(item, "Link", End1Id=f"e{link.source_id}",
                             End2Id=f"e{link.target_id}")
        ET.SubElement(line, "LinkStyle", ArrowStyle="ArrowOnHead" if link.directed
                      else "ArrowNone", Strength="1", Type=link.schema,
                      MlStrength=str(link.weight))
    audit(session, actor=actor, action=AuditAction.record_disclosed, resource_type=RESOURCE,
          resource_id="export", details={"format": "anx", "entities": len(rows)})
    return ET.tostring(chart, encoding="unicode", xml_declaration=True)


# --- resolution judgements ------------------------------------------------------------------


DECISIONS = ("accept", "reject", "unsure")


def judge(session: Session, *, actor: Actor, left_id: int, right_id: int, decision: str,
          reason: str = "") -> ResolutionJudgement:
    """Record an analyst's decision on a pair; a later judgement on the pair supersedes it."""
    actor.require(Permission.network_write)
    if decision not in DECISIONS:
        raise InvalidData(f"decision must be one of {', '.join(DECISIONS)}",
                          errors=[FieldError("decision", f"one of {', '.join(DECISIONS)}")])
    if left_id == right_id:
        raise InvalidData("an entity cannot be judged against itself",
                          errors=[FieldError("right_id", "same as left_id")])
    for entity_id in (left_id, right_id):
        if session.scalar(_visible(actor).where(Entity.id == entity_id)) is None:
            raise NotFound(f"no entity {entity_id}")
    low, high = sorted((left_id, right_id))
    row = ResolutionJudgement(agency_id=actor.agency_id, left_id=low, right_id=high,
                              decision=decision, reason=reason[:2000], user_id=actor.user_id,
                              username=actor.username)
    session.add(row)
    session.flush()
    audit(session, actor=actor, action=AuditAction.record_changed, resource_type=RESOURCE,
          resource_id=f"{low}~{high}", justification=reason,
          details={"decision": decision})
    return row


# --- entity resolution -----------------------------------------------------------------------

#: Suggestions kept per run (most probable first); analysts work a queue, not a dump.
MAX_SUGGESTIONS = 2000


def _judgements(session: Session, actor: Actor) -> list[Judgement]:
    rows = session.scalars(select(ResolutionJudgement).where(
        ResolutionJudgement.agency_id == actor.agency_id).order_by(ResolutionJudgement.id))
    return [Judgement(left=str(r.left_id), right=str(r.right_id), decision=Decision(r.decision),
                      user=r.username, at=r.created_at, reason=r.reason) for r in rows]


def run_resolution(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Score candidate duplicates among the agency's entities and replace the suggestions.

    Suggestions are model output, kept apart from the analysts' judgements; nothing is merged.
    """
    actor.require(Permission.network_write)
    rows = [(row, values) for row, values in _entities_with_values(session, actor)
            if row.agency_id == actor.agency_id and store.edge_props(row.schema) is None]
    records = []
    for row, values in rows:
        props: dict[str, list[str]] = defaultdict(list)
        for v in values:
            props[v.prop].append(v.value)
        records.append(from_ftm({"id": str(row.id), "schema": row.schema,
                                 "properties": props}))
    session.execute(delete(ResolutionSuggestion).where(
        ResolutionSuggestion.agency_id == actor.agency_id))
    if len(records) < 2:
        return {"records": len(records), "candidates": 0, "suggested": 0, "skipped_blocks": 0}
    run = resolve(records, labels=training_labels(_judgements(session, actor)))
    suggested = run.suggestions()[:MAX_SUGGESTIONS]
    for pair in suggested:
        session.add(ResolutionSuggestion(
            agency_id=actor.agency_id, left_id=int(pair.left), right_id=int(pair.right),
            probability=round(pair.probability, 6),
            explanation=[c.as_dict() for c in pair.contributions]))
    session.flush()
    return {"records": len(records), "candidates": len(run), "suggested": len(suggested),
            "skipped_blocks": len(run.blocking.skipped)}


def pending(session: Session, *, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    """Suggestions no analyst has judged yet, most probable first, with both captions."""
    actor.require(Permission.network_read)
    judged = set(live_judgements(_judgements(session, actor)))
    rows = session.scalars(select(ResolutionSuggestion).where(
        ResolutionSuggestion.agency_id == actor.agency_id)
        .order_by(ResolutionSuggestion.probability.desc(), ResolutionSuggestion.id))
    out = [r for r in rows if pair_key(str(r.left_id), str(r.right_id)) not in judged][:limit]
    captions = dict(session.execute(select(Entity.id, Entity.caption).where(
        Entity.id.in_({x for r in out for x in (r.left_id, r.right_id)}))).all())
    return [{"id": r.id, "left_id": r.left_id, "right_id": r.right_id,
             "left": captions.get(r.left_id, ""), "right": captions.get(r.right_id, ""),
             "probability": r.probability, "explanation": r.explanation} for r in out]


def canonical(session: Session, *, actor: Actor) -> dict[int, str]:
    """Canonical id of every entity of the agency, from accepted judgements only."""
    actor.require(Permission.network_read)
    ids = [str(i) for i in session.scalars(select(Entity.id).where(
        Entity.agency_id == actor.agency_id))]
    mapping = canonical_ids(ids, _judgements(session, actor))
    return {int(k): v for k, v in mapping.items()}


# --- network files and graphs ------------------------------------------------------------------


def import_network(session: Session, *, actor: Actor, registry: Registry, filename: str,
                   data: bytes, provenance: Provenance, fmt: str | None = None,
                   directed: bool = True, namespace: str | None = None,
                   period: str | None = None, label_prefix: str = "") -> store.ImportResult:
    """An adjacency matrix or edge list (as in the shared CAVIAR, Ciel ... files) as people and
    links. ``namespace`` names the network, so that the same actor in several files (the
    phases of one investigation) is one entity; ``period`` labels every link of the file;
    ``label_prefix`` names anonymised actors (``n`` gives "n1", "n3", ...)."""
    graph = read_graph(data, format=fmt, directed=directed, weighted=True,  # type: ignore[arg-type]
                       name=filename)
    if graph.number_of_records == 0:
        raise InvalidData(f"{filename} holds no tie", errors=[FieldError("file", "no links")])
    if period is not None and len(period) > 40:
        raise InvalidData("period labels are at most 40 characters",
                          errors=[FieldError("period", "longer than 40 characters")])
    space = namespace or filename.rsplit(".", 1)[0]
    edges = [(r.source, r.target, r.weight, period or r.period) for r in graph.records()]
    nodes = [(node, f"{label_prefix}{graph.label(node)}") for node in graph.ids]
    result = import_edges(session, actor=actor, registry=registry, filename=filename,
                          data=data, nodes=nodes, edges=edges, namespace=space,
                          provenance=provenance, directed=directed,
                          kind=fmt or detect_format(data))
    result.notes = list(graph.notes)
    return result


def graph(session: Session, *, actor: Actor, period: str | None = None,
          canonical_ids_: bool = True, directed: bool | None = None) -> Graph:
    """The visible links as a graph of entity ids (merged by canonical id when judged so).

    ``directed`` None: directed when every link is (calls), undirected as soon as one is not
    (an association has no direction); the analyst can force either reading.
    """
    rows = links(session, actor=actor, period=period)
    mapping = canonical(session, actor=actor) if canonical_ids_ else {}
    captions = dict(session.execute(select(Entity.id, Entity.caption).where(
        Entity.id.in_({x for r in rows for x in (r.source_id, r.target_id)}))).all())

    def node(entity_id: int) -> str:
        return mapping.get(entity_id, str(entity_id))

    records = [EdgeRecord(source=node(r.source_id), target=node(r.target_id), weight=r.weight,
                          period=r.period, attrs={"schema": r.schema, "link": str(r.id)})
               for r in rows if node(r.source_id) != node(r.target_id)]
    labels = {node(i): c for i, c in captions.items()}
    if directed is None:
        directed = bool(rows) and all(r.directed for r in rows)
    return Graph.from_records(records, directed=directed, weighted=True, labels=labels,
                              name=f"{actor.agency_code} intelligence file")


def analyse(session: Session, *, actor: Actor, period: str | None = None,
            weight_as: str = "strength", top: int = 15,
            directed: bool | None = None) -> dict[str, Any]:
    """Key players, communities and every centrality of the visible network (or one period)."""
    g = graph(session, actor=actor, period=period, directed=directed)
    return _analysed(g, weight_as=weight_as, top=top, period=period)


def _analysed(g: Graph, *, weight_as: str, top: int, period: str | None) -> dict[str, Any]:
    if g.n == 0:
        return {"nodes": 0, "edges": 0, "key_players": [], "rows": [], "period": period}
    result = analyze(g, Options(weight_as=check_weight_as(weight_as), top=top))
    data = result.to_dict()
    index = {node: i for i, node in enumerate(result.ids)}
    rows = [{"node": node, "label": g.label(node), "rank": rank + 1,
             **{k: data["metrics"][node].get(k) for k in (
                 "degree", "strength", "betweenness", "closeness", "pagerank", "katz",
                 "eigenvector", "collective_influence", "k_core", "community")}}
            for rank, node in enumerate(result.key_players[:top]) if node in index]
    return {**{k: v for k, v in data.items() if k != "metrics"}, "period": period,
            "rows": rows, "labels": {node: g.label(node) for node in result.ids},
            "metrics": data["metrics"]}


def disruption(session: Session, *, actor: Actor, mode: str = "sequential",
               block_size: int = 1, period: str | None = None,
               strategies: Sequence[str] = STRATEGIES,
               directed: bool | None = None) -> list[dict[str, Any]]:
    """Largest-component curves of removing actors by each strategy, for one chart."""
    g = graph(session, actor=actor, period=period, directed=directed)
    out = []
    for strategy in strategies:
        run = simulate(g, strategy=strategy, mode=mode, block_size=block_size)
        out.append({**run.to_dict(), "robustness": run.robustness,
                    "removed_labels": [g.label(x) for x in run.removed]})
    return out


def rank_changes(session: Session, *, actor: Actor, top: int = 10,
                 directed: bool | None = None) -> dict[str, Any]:
    """How the overall key players rank (by betweenness) in each period of the file.

    The file is read once; the periods are slices of that one graph.
    """
    g = graph(session, actor=actor, directed=directed)
    if not any(r.period for r in g.records()):
        return {"periods": [], "players": []}
    overall = _analysed(g, weight_as="strength", top=top, period=None)
    changes = slice_ranks(g, metric="betweenness")
    return {"periods": changes.periods,
            "players": [{"node": row["node"], "label": row["label"],
                         "ranks": changes.ranks[row["node"]]} for row in overall["rows"]]}


def paths(session: Session, *, actor: Actor, source_id: int, target_id: int,
          weight_as: str = "strength", max_hops: int = 4) -> dict[str, Any]:
    """Shortest and other short paths between two entities, with the links behind each step.

    Each step lists the recorded links (their schema and link id) so an analyst can open the
    evidence; entities merged by resolution are reached through their canonical id.
    """
    g = graph(session, actor=actor)
    mapping = canonical(session, actor=actor)
    ends = [mapping.get(i, str(i)) for i in (source_id, target_id)]
    for end, entity_id in zip(ends, (source_id, target_id), strict=True):
        if end not in g.index:
            raise NotFound(f"entity {entity_id} has no visible link")
    best = shortest_paths(g, ends[0], ends[1], weight_as=check_weight_as(weight_as))
    more = short_paths(g, ends[0], ends[1], max_hops=max_hops,
                       weight_as=check_weight_as(weight_as))
    on_paths = {n for p in [*best, *more] for n in p.nodes}
    return {"weight_as": weight_as, "labels": {n: g.label(n) for n in on_paths},
            "shortest": [p.to_dict() for p in best],
            "short": [p.to_dict() for p in more if p.nodes not in {q.nodes for q in best}]}


def export_graph_files(session: Session, *, actor: Actor, to: str, out: Path,
                       weight_as: str = "strength") -> list[Path]:
    """The visible network as GraphML, GEXF or CSV (edges, and nodes beside them), with every
    metric and the community as node attributes; audited as a disclosure."""
    g = graph(session, actor=actor)
    result = analyze(g, Options(weight_as=check_weight_as(weight_as))) if g.n else None
    written = export_graph(g, out, to=to, weight_as=check_weight_as(weight_as), result=result)
    audit(session, actor=actor, action=AuditAction.record_disclosed, resource_type=RESOURCE,
          resource_id="export", details={"format": to, "nodes": g.n,
                                         "links": g.number_of_records})
    return written
