"""Candidate links between seizures from marks, chemistry, route and time, with evidence.

Marks and chemistry *propose* a link: a verified match of a stamp or logo (the same design
found again by geometric verification) or impurity profiles above the link threshold. Route
and time only *support* one, because many unrelated seizures share a route or a month;
alone they would bury the analyst in pairs. The combined score is the noisy-or of the
evidence, so independent kinds of evidence add up and none can pass 1.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Support a shared route gives: same origin and destination, or one of them shared.
ROUTE_BOTH = 0.25
ROUTE_ONE = 0.1
#: Support closeness in time gives (days apart: weight).
TIME_STEPS = ((30, 0.1), (180, 0.05))


@dataclass(frozen=True)
class SeizureFacts:
    """What linking reads of a seizure."""

    id: int
    reference: str
    seized_at: dt.datetime
    country: str
    origin: str | None
    transit: tuple[str, ...]
    destination: str | None
    substances: frozenset[str]


@dataclass(frozen=True)
class MarkMatch:
    """A verified match of a mark of seizure ``a`` to a mark of seizure ``b``."""

    seizure_a: int
    seizure_b: int
    mark_a: int
    mark_b: int
    score: float  # 0.5..1 for verified matches (see marks.Match)
    inliers: int


@dataclass(frozen=True)
class ChemistryMatch:
    seizure_a: int
    seizure_b: int
    score: float
    threshold: float
    false_link_rate: float
    evidence: dict[str, Any]


@dataclass
class Candidate:
    seizure_a: int  # the lower id
    seizure_b: int
    score: float = 0.0
    kinds: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def chemistry_strength(score: float, threshold: float) -> float:
    """0.5 at the threshold, rising to 0.95 at a perfect similarity of 1."""
    if threshold >= 1.0:
        return 0.95
    return 0.5 + 0.45 * max(0.0, min(1.0, (score - threshold) / (1.0 - threshold)))


def route_support(a: SeizureFacts, b: SeizureFacts) -> tuple[float, dict[str, Any]] | None:
    shared_origin = a.origin is not None and a.origin == b.origin
    shared_dest = a.destination is not None and a.destination == b.destination
    transit = sorted(set(a.transit) & set(b.transit))
    if shared_origin and shared_dest:
        weight = ROUTE_BOTH
    elif shared_origin or shared_dest or transit:
        weight = ROUTE_ONE
    else:
        return None
    return weight, {"origin": a.origin if shared_origin else None,
                    "destination": a.destination if shared_dest else None,
                    "transit": transit, "weight": weight}


def time_support(a: SeizureFacts, b: SeizureFacts) -> tuple[float, dict[str, Any]] | None:
    days = abs((a.seized_at - b.seized_at).total_seconds()) / 86400.0
    for limit, weight in TIME_STEPS:
        if days <= limit:
            return weight, {"days_apart": round(days, 1), "weight": weight}
    return None


def candidates(seizures: Iterable[SeizureFacts], marks: Iterable[MarkMatch],
               chemistry: Iterable[ChemistryMatch]) -> list[Candidate]:
    """Pairs with mark or chemistry evidence, scored, best first."""
    facts = {s.id: s for s in seizures}
    found: dict[tuple[int, int], Candidate] = {}
    best_mark: dict[tuple[int, int], float] = defaultdict(float)
    for m in marks:
        if m.seizure_a == m.seizure_b or m.seizure_a not in facts or m.seizure_b not in facts:
            continue
        key = _pair(m.seizure_a, m.seizure_b)
        c = found.setdefault(key, Candidate(*key))
        mark_a, mark_b = (m.mark_a, m.mark_b) if key[0] == m.seizure_a else (m.mark_b, m.mark_a)
        pairs = c.evidence.setdefault("marks", [])
        if not any(p["mark_a"] == mark_a and p["mark_b"] == mark_b for p in pairs):
            pairs.append({"mark_a": mark_a, "mark_b": mark_b, "score": round(m.score, 4),
                          "inliers": m.inliers})
        best_mark[key] = max(best_mark[key], m.score)
    best_chem: dict[tuple[int, int], float] = {}
    for ch in chemistry:
        if ch.seizure_a not in facts or ch.seizure_b not in facts:
            continue
        key = _pair(ch.seizure_a, ch.seizure_b)
        c = found.setdefault(key, Candidate(*key))
        strength = chemistry_strength(ch.score, ch.threshold)
        if strength > best_chem.get(key, 0.0):
            best_chem[key] = strength
            c.evidence["chemistry"] = {"score": round(ch.score, 4),
                                       "threshold": round(ch.threshold, 4),
                                       "false_link_rate": ch.false_link_rate,
                                       **ch.evidence}
    out = []
    for key, c in found.items():
        a, b = facts[key[0]], facts[key[1]]
        weights = []
        if key in best_mark:
            c.kinds.append("mark")
            weights.append(best_mark[key])
        if key in best_chem:
            c.kinds.append("chemistry")
            weights.append(best_chem[key])
        for kind, support in (("route", route_support(a, b)), ("time", time_support(a, b))):
            if support is not None:
                c.kinds.append(kind)
                weights.append(support[0])
                c.evidence[kind] = support[1]
        shared = sorted(a.substances & b.substances)
        if shared:
            c.evidence["substances"] = shared
        miss = 1.0
        for w in weights:
            miss *= 1.0 - w
        c.score = round(1.0 - miss, 4)
        out.append(c)
    out.sort(key=lambda c: (-c.score, c.seizure_a, c.seizure_b))
    return out


def series(links: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Series of linked seizures: seizure id -> the lowest id of its connected component."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}
