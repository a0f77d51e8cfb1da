"""Linking seizures: chemical profiles and their link threshold, candidate links from marks
and chemistry, analysts' decisions (a confirmed link enters the entity graph and may raise a
series alert), and series of linked seizures.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import interdict.network.service as network
from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate, Reason, Severity, SubjectRef
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.db.base import utcnow
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.reference.registry import Registry
from interdict.seizures import entities, linking, marks, profiles
from interdict.seizures.access import (
    RESOURCE,
    SOURCE,
    Progress,
    get,
    lines_of,
    own,
    summary,
    system_actor,
    visible,
)
from interdict.seizures.collection import index_cache, mark_summary, visible_marks
from interdict.seizures.models import (
    ChemicalProfile,
    Mark,
    Seizure,
    SeizureLink,
)

# -- chemical profiles --------------------------------------------------------------------

#: Geometric inliers a mark match needs to propose a link. Verification at 6 inliers says
#: "part of the picture is the same design": different stamps sharing a frame or a brand
#: word in the same type reach that (at most 8 inliers on the demo's stamps), while photos
#: of the same stamp reach 17-49.
LINK_MIN_INLIERS = 12
#: Known pairs needed before the agency's own decisions set the chemistry threshold.
OWN_THRESHOLD_MIN_PAIRS = 20


def profile_summary(p: ChemicalProfile) -> dict[str, Any]:
    return {"id": p.id, "seizure_id": p.seizure_id, "lab_reference": p.lab_reference,
            "substance": p.substance, "purity": p.purity, "form": p.form, "unit": p.unit,
            "components": dict(p.components), "cutting_agents": list(p.cutting_agents),
            "created_at": p.created_at.isoformat()}


def add_profile(session: Session, *, actor: Actor, seizure_id: int, report: Any
                ) -> dict[str, Any]:
    """Store a lab report's profile (purity, cutting agents, impurities) on a seizure."""
    s = own(session, actor, seizure_id)
    parsed = profiles.parse_report(report)
    lab_ref = str(report.get("lab_reference") or "")[:120] if isinstance(report, dict) else ""
    p = ChemicalProfile(seizure_id=s.id, lab_reference=lab_ref, substance=parsed.substance,
                        purity=parsed.purity, form=parsed.form, unit=parsed.unit,
                        components=parsed.components, cutting_agents=parsed.cutting_agents,
                        created_by=actor.username)
    session.add(p)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="seizures.profile", resource_id=p.id,
                 details={"seizure": s.reference, "components": len(parsed.components)})
    return profile_summary(p)


def _profile(p: ChemicalProfile) -> profiles.Profile:
    return profiles.Profile(substance=p.substance, components=dict(p.components), unit=p.unit,
                            purity=p.purity, form=p.form, cutting_agents=list(p.cutting_agents))


@lru_cache(maxsize=4)
def reference_threshold(method: str = "sum+fourth_root/pearson",
                        max_false_link_rate: float = 0.01) -> profiles.Threshold:
    """The link threshold from generated batches (known linked and unlinked pairs).

    Used until an agency has decided enough pairs of its own; reproducible from the seed.
    """
    from interdict.seizures.profiles_generate import generate_seizures

    generated = generate_seizures(120, seed=20260101)
    linked: list[float] = []
    unlinked: list[float] = []
    chosen = profiles.Method.parse(method)
    by_drug: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(generated):
        by_drug[g.profile.substance].append(i)
    for idx in by_drug.values():
        _, matrix = profiles.vectorise([generated[i].profile for i in idx])
        scores = chosen.pairwise(matrix, None, kind="similarity")
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                same = generated[idx[a]].batch_id == generated[idx[b]].batch_id
                (linked if same else unlinked).append(float(scores[a, b]))
    return profiles.choose_threshold(linked, unlinked,
                                     max_false_link_rate=max_false_link_rate)


def chemistry_threshold(session: Session, *, actor: Actor) -> dict[str, Any]:
    """The chemistry link threshold in force and how it was derived.

    From the agency's own decisions (confirmed = linked, rejected = unlinked pairs with
    chemistry scores) once it has ``OWN_THRESHOLD_MIN_PAIRS`` of each; until then from the
    generated reference batches.
    """
    actor.require(Permission.seizures_read)
    linked: list[float] = []
    unlinked: list[float] = []
    for status, ev in session.execute(select(SeizureLink.status, SeizureLink.evidence).where(
            SeizureLink.agency_id == actor.agency_id,
            SeizureLink.status.in_(("confirmed", "rejected")))):
        chem = (ev or {}).get("chemistry")
        if chem:
            (linked if status == "confirmed" else unlinked).append(float(chem["score"]))
    if min(len(linked), len(unlinked)) >= OWN_THRESHOLD_MIN_PAIRS:
        t = profiles.choose_threshold(linked, unlinked)
        basis = "the agency's confirmed and rejected links"
    else:
        t = reference_threshold()
        basis = "generated reference batches (too few decided links of the agency's own)"
    return {"method": profiles.DEFAULT_METHOD.name, "value": t.value,
            "false_link_rate": t.false_link_rate, "true_link_rate": t.true_link_rate,
            "linked_pairs": t.n_linked, "unlinked_pairs": t.n_unlinked, "basis": basis,
            "own_linked": len(linked), "own_unlinked": len(unlinked)}


# -- linking ------------------------------------------------------------------------------

def _facts(session: Session, seizures: list[Seizure]) -> list[linking.SeizureFacts]:
    lines = lines_of(session, (s.id for s in seizures))
    return [linking.SeizureFacts(s.id, s.reference, s.seized_at, s.country, s.origin,
                                 tuple(s.transit), s.destination,
                                 frozenset(ln.substance for ln in lines[s.id]))
            for s in seizures]


def find_links(session: Session, *, actor: Actor, progress: Progress | None = None
               ) -> dict[str, Any]:
    """Propose links among the seizures the actor may see, from marks and chemistry.

    Candidates are stored (a pair already decided keeps its decision; its evidence is
    refreshed) and returned best first.
    """
    actor.require(Permission.seizures_link)
    say = progress or (lambda _m: None)
    seizures = list(session.scalars(visible(actor)))
    by_id = {s.id: s for s in seizures}
    marks_seen = visible_marks(session, actor)
    say(f"matching {len(marks_seen)} mark(s)")
    index = index_cache.get(session)
    allowed = set(marks_seen)
    mark_matches = []
    for m in marks_seen.values():
        fp = marks.MarkFingerprint.from_bytes(m.fingerprint)
        for f in index.search(fp, top=10, allowed=allowed - {m.id}):
            other = marks_seen[f.id]
            if f.stage == "verified" and f.inliers >= LINK_MIN_INLIERS \
                    and other.seizure_id != m.seizure_id:
                mark_matches.append(linking.MarkMatch(m.seizure_id, other.seizure_id, m.id,
                                                      f.id, f.score, f.inliers))
    say("comparing chemical profiles")
    threshold = chemistry_threshold(session, actor=actor)
    limit = profiles.Threshold(threshold["value"], threshold["false_link_rate"],
                               threshold["true_link_rate"], threshold["linked_pairs"],
                               threshold["unlinked_pairs"])
    latest: dict[int, ChemicalProfile] = {}
    for p in session.scalars(select(ChemicalProfile).where(
            ChemicalProfile.seizure_id.in_(list(by_id))).order_by(ChemicalProfile.id)):
        latest[p.seizure_id] = p
    chem = [linking.ChemistryMatch(int(c.id_a), int(c.id_b), c.score, limit.value,
                                   limit.false_link_rate, _chem_evidence(c.evidence))
            for c in profiles.link_candidates(
                [(str(i), _profile(p)) for i, p in latest.items()], limit)]
    found = linking.candidates(_facts(session, seizures), mark_matches, chem)
    stored = {(ln.seizure_a, ln.seizure_b): ln for ln in session.scalars(
        select(SeizureLink).where(SeizureLink.agency_id == actor.agency_id))}
    out = []
    for c in found:
        link = stored.get((c.seizure_a, c.seizure_b))
        if link is None:
            link = SeizureLink(agency_id=actor.agency_id, seizure_a=c.seizure_a,
                               seizure_b=c.seizure_b, score=c.score, kinds=c.kinds,
                               evidence=c.evidence, status="candidate")
            session.add(link)
        else:
            link.score, link.kinds, link.evidence = c.score, c.kinds, c.evidence
        out.append(link)
    session.flush()
    return {"threshold": threshold, "marks_matched": len(mark_matches),
            "profiles_compared": len(latest),
            "links": [link_summary(ln, by_id) for ln in out]}


def _chem_evidence(ev: profiles.LinkEvidence) -> dict[str, Any]:
    def rows(items: tuple[profiles.ComponentComparison, ...]) -> list[dict[str, Any]]:
        return [{"component": r.component, "share_a": round(r.share_a, 4),
                 "share_b": round(r.share_b, 4),
                 "log2_ratio": None if abs(r.log2_ratio) == float("inf")
                 else round(r.log2_ratio, 3)} for r in items]

    return {"shared_cutting_agents": list(ev.shared_cutting_agents),
            "cutting_agents_only_a": list(ev.cutting_agents_only_a),
            "cutting_agents_only_b": list(ev.cutting_agents_only_b),
            "agreeing": rows(ev.agreeing), "disagreeing": rows(ev.disagreeing),
            "purity_a": ev.purity_a, "purity_b": ev.purity_b}


def link_summary(ln: SeizureLink, seizures: dict[int, Seizure]) -> dict[str, Any]:
    def ref(i: int) -> dict[str, Any]:
        s = seizures.get(i)
        return {"id": i, "reference": s.reference if s else None,
                "country": s.country if s else None,
                "seized_at": s.seized_at.isoformat() if s else None}

    return {"id": ln.id, "a": ref(ln.seizure_a), "b": ref(ln.seizure_b), "score": ln.score,
            "kinds": list(ln.kinds), "evidence": ln.evidence, "status": ln.status,
            "note": ln.note, "decided_by": ln.decided_by,
            "decided_at": ln.decided_at.isoformat() if ln.decided_at else None,
            "alert_id": ln.alert_id}


def list_links(session: Session, *, actor: Actor, status: str | None = None,
               limit: int = 500) -> list[dict[str, Any]]:
    actor.require(Permission.seizures_read)
    stmt = select(SeizureLink).where(SeizureLink.agency_id == actor.agency_id)
    if status:
        stmt = stmt.where(SeizureLink.status == status)
    rows = list(session.scalars(stmt.order_by(SeizureLink.score.desc(), SeizureLink.id)
                                .limit(limit)))
    ids = {i for ln in rows for i in (ln.seizure_a, ln.seizure_b)}
    seizures = {s.id: s for s in session.scalars(select(Seizure).where(Seizure.id.in_(ids)))}
    return [link_summary(ln, seizures) for ln in rows]


def links_of(session: Session, *, actor: Actor, seizure_id: int) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(SeizureLink).where(
        SeizureLink.agency_id == actor.agency_id,
        or_(SeizureLink.seizure_a == seizure_id, SeizureLink.seizure_b == seizure_id))
        .order_by(SeizureLink.score.desc())))
    ids = {i for ln in rows for i in (ln.seizure_a, ln.seizure_b)}
    seizures = {s.id: s for s in session.scalars(select(Seizure).where(Seizure.id.in_(ids)))}
    return [link_summary(ln, seizures) for ln in rows]


def _series_members(session: Session, agency_id: int, seizure_id: int) -> list[int]:
    confirmed = session.execute(select(SeizureLink.seizure_a, SeizureLink.seizure_b).where(
        SeizureLink.agency_id == agency_id, SeizureLink.status == "confirmed")).all()
    roots = linking.series(confirmed)
    root = roots.get(seizure_id)
    return sorted(i for i, r in roots.items() if r == root) if root is not None \
        else [seizure_id]


def decide_link(session: Session, *, actor: Actor, registry: Registry, link_id: int,
                decision: str, note: str = "") -> dict[str, Any]:
    """Confirm or reject a candidate link.

    A confirmed link is written to the entity graph (a link between the two seizures'
    events) and, when the series it completes spans more than one country, raises an alert
    on the agency's queue naming the series and its countries.
    """
    actor.require(Permission.seizures_link)
    if decision not in ("confirm", "reject"):
        raise InvalidData("unknown decision", errors=[FieldError("decision",
                                                                 "confirm or reject")])
    ln = session.scalar(select(SeizureLink).where(SeizureLink.id == link_id,
                                                  SeizureLink.agency_id == actor.agency_id))
    if ln is None:
        raise NotFound(f"no link {link_id}")
    a, b = (get(session, actor=actor, seizure_id=i) for i in (ln.seizure_a, ln.seizure_b))
    before = ln.status
    ln.status = "confirmed" if decision == "confirm" else "rejected"
    ln.note, ln.decided_by, ln.decided_at = note[:4000], actor.username, utcnow()
    graph = None
    if ln.status == "confirmed":
        missing = [s.reference for s in (a, b) if s.agency_id != actor.agency_id]
        ents = [entities.link_entity(a.ftm_id, b.ftm_id, list(ln.kinds), note)]
        if not missing:
            # An analyst's judgement from forensic evidence: usually reliable (B), probably
            # true (2), under the stricter handling code of the two seizures.
            graph = network.import_records(
                session, actor=system_actor(actor), registry=registry,
                filename=f"seizure-link-{ln.id}.ftm.jsonl", data=entities.as_jsonl(ents),
                originator=actor.agency_code, source_grade="B", information_grade="2",
                handling=max(a.handling, b.handling),
                source_record=f"seizure link {ln.id}").as_dict()
        ln.alert_id = _series_alert(session, actor, ln, a, b)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_changed,
                 resource_type="seizures.link", resource_id=ln.id,
                 details={"from": before, "to": ln.status, "a": a.reference,
                          "b": b.reference, "kinds": list(ln.kinds)})
    seizures = {a.id: a, b.id: b}
    return {**link_summary(ln, seizures),
            "graph": {"links": graph["links"], "batch_id": graph["batch_id"]}
            if graph else None}


def _series_alert(session: Session, actor: Actor, ln: SeizureLink, a: Seizure, b: Seizure
                  ) -> int | None:
    members = _series_members(session, actor.agency_id, a.id)
    rows = list(session.scalars(select(Seizure).where(Seizure.id.in_(members))))
    countries = sorted({s.country for s in rows})
    if len(countries) < 2:
        return None
    newest = max((a, b), key=lambda s: (s.seized_at, s.id))
    what = "stamp series" if "mark" in ln.kinds else "chemical series"
    title = (f"Seizure {newest.reference} matches {what} S{min(members)} seen in "
             f"{len(countries)} countries ({', '.join(countries)}); {len(members)} seizures")
    reasons = [Reason(rule=f"link:{k}", contribution=float(ln.score) / len(ln.kinds),
                      values={"link": ln.id}, detail=f"{k} evidence")
               for k in ln.kinds]
    alert = alerts.raise_alert(session, actor=system_actor(actor), data=AlertCreate(
        source=SOURCE, kind="series.international", title=title[:300],
        severity=Severity.high if len(countries) >= 3 else Severity.medium,
        score=min(1.0, float(ln.score)), reasons=reasons,
        subjects=[SubjectRef(type=RESOURCE, id=str(s.id), label=s.reference)
                  for s in rows[:100]],
        # One alert per series and number of countries: a series reaching a new country is
        # news; another seizure in a country already seen is not.
        dedup_key=f"series:{min(members)}:{len(countries)}"))
    return alert.id


def series(session: Session, *, actor: Actor, seizure_id: int) -> dict[str, Any]:
    """Every seizure linked (through confirmed links) with this one, and their marks."""
    s = get(session, actor=actor, seizure_id=seizure_id)
    members = _series_members(session, actor.agency_id, s.id)
    rows = list(session.scalars(visible(actor).where(Seizure.id.in_(members))
                                .order_by(Seizure.seized_at)))
    lines = lines_of(session, members)
    mark_rows = list(session.scalars(select(Mark).where(Mark.seizure_id.in_(members))
                                     .order_by(Mark.id)))
    return {"series": f"S{min(members)}", "seizure_id": s.id,
            "countries": sorted({r.country for r in rows}),
            "seizures": [summary(r, lines[r.id]) for r in rows],
            "marks": [mark_summary(m) for m in mark_rows],
            "links": [ln for ln in links_of(session, actor=actor, seizure_id=s.id)]}


