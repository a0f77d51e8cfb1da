"""Entity resolution, part 5: analysts' judgements and the canonical ids they produce.

Model output (:class:`~interdict.network.resolution_model.ScoredPair`) is only ever a
suggestion. Identity is curated: an analyst accepts, rejects or marks a pair unsure, and
that :class:`Judgement` is the only thing :func:`canonical_ids` reads. Source entities are
never merged or rewritten; each gets a canonical id next to its own.

Rules, chosen so that the history can be stored append-only and audited:

* **Attributed and never deleted.** A judgement names its user, time and reason. Changing
  one's mind is appending a new judgement on the same pair (:func:`judge` also marks the old
  one ``superseded_by`` the new one, for the audit trail).
* **The latest judgement per pair wins** (by ``at``; equal times by position in the list),
  so reversing an acceptance re-splits the cluster on the next :func:`canonical_ids`.
* **Unsure** records that someone looked, so the pair leaves the review queue, and neither
  merges nor forbids. It is also how to withdraw a decision without asserting its opposite.
* **Accepted pairs are joined by union-find**, in the order they were made. An acceptance
  that would put two entities with a live rejection between them into one cluster (directly
  or through other acceptances: A=B, C=D, then B=C while A≠D) is not applied and is
  reported as a :class:`Conflict` for an analyst to settle. Earlier decisions win over later
  ones because the later analyst is the one who could see the existing cluster.
* **Canonical ids are stable.** A cluster's id is derived from its *anchor*: the first
  entity of its oldest acceptance. Adding a member never changes it; when two clusters
  merge, the older cluster's id survives. The id does not depend on the order of
  entities or on unrelated judgements. An entity in no accepted pair keeps its own id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from interdict.errors import FieldError, InvalidData
from interdict.network.resolution_model import ScoredPair

#: Prefix of canonical ids, so they can never be mistaken for (or collide with) entity ids.
CANONICAL_PREFIX = "ic-"


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    UNSURE = "unsure"


def pair_key(left: str, right: str) -> tuple[str, str]:
    """The order-free key of a pair: the two ids sorted."""
    if left == right:
        raise InvalidData("an entity cannot be paired with itself",
                          errors=[FieldError("right", "same as left")])
    return (left, right) if left < right else (right, left)


def _judgement_id(left: str, right: str, decision: str, user: str, at: dt.datetime) -> str:
    text = "\x1f".join((left, right, decision, user, at.isoformat()))
    return "j-" + hashlib.sha1(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Judgement:
    """One analyst's decision on one pair. ``left``/``right`` are stored sorted.

    ``id`` defaults to a hash of the content, so the same judgement built twice has the same
    id. ``probability`` is the model's score the analyst saw, kept for auditing how far
    decisions follow the model.
    """

    left: str
    right: str
    decision: Decision
    user: str
    at: dt.datetime
    reason: str = ""
    id: str = ""
    superseded_by: str | None = None
    probability: float | None = None

    def __post_init__(self) -> None:
        left, right = pair_key(self.left, self.right)
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "right", right)
        try:
            object.__setattr__(self, "decision", Decision(self.decision))
        except ValueError as exc:
            raise InvalidData(f"decision must be one of {', '.join(Decision)}",
                              errors=[FieldError("decision", "unknown")]) from exc
        if not self.user:
            raise InvalidData("a judgement must name its user",
                              errors=[FieldError("user", "empty")])
        if self.at.tzinfo is None:
            raise InvalidData("judgement time must be timezone-aware",
                              errors=[FieldError("at", "naive datetime")])
        if not self.id:
            object.__setattr__(self, "id", _judgement_id(left, right, self.decision,
                                                         self.user, self.at))

    @property
    def pair(self) -> tuple[str, str]:
        return (self.left, self.right)


def judge(judgements: Iterable[Judgement], left: str, right: str,
          decision: Decision | str, *, user: str, at: dt.datetime | None = None,
          reason: str = "", probability: float | None = None) -> list[Judgement]:
    """A new list with a judgement appended and the pair's previous ones superseded.

    Nothing is removed: the old judgements stay, marked ``superseded_by`` the new one.
    """
    new = Judgement(left=left, right=right, decision=Decision(decision), user=user,
                    at=at or dt.datetime.now(dt.UTC), reason=reason, probability=probability)
    return [replace(j, superseded_by=new.id)
            if j.pair == new.pair and j.superseded_by is None else j
            for j in judgements] + [new]


def live_judgements(judgements: Iterable[Judgement]) -> dict[tuple[str, str], Judgement]:
    """The judgement in force for each pair: the latest by time, then by list position."""
    latest: dict[tuple[str, str], tuple[dt.datetime, int, Judgement]] = {}
    for position, j in enumerate(judgements):
        current = latest.get(j.pair)
        if current is None or (j.at, position) >= current[:2]:
            latest[j.pair] = (j.at, position, j)
    return {pair: entry[2] for pair, entry in latest.items()}


def training_labels(judgements: Iterable[Judgement]) -> dict[tuple[str, str], bool]:
    """Live accepts (True) and rejects (False) as labels for model fitting; unsure left out."""
    return {pair: j.decision is Decision.ACCEPT
            for pair, j in live_judgements(judgements).items()
            if j.decision is not Decision.UNSURE}


@dataclass(frozen=True)
class Conflict:
    """An acceptance that was not applied because it would cross a live rejection."""

    accepted: Judgement
    rejected: Judgement

    @property
    def message(self) -> str:
        a, r = self.accepted, self.rejected
        return (f"{a.user} accepted {a.left} = {a.right} on {a.at:%Y-%m-%d}, but that would "
                f"join {r.left} and {r.right}, which {r.user} rejected on {r.at:%Y-%m-%d}")


class CanonicalIds(Mapping[str, str]):
    """Entity id → canonical id, with the conflicts and ignored judgements of the run.

    ``ignored`` holds live accept/reject judgements naming an entity not given to
    :func:`canonical_ids` (deleted, or not visible to the caller): they cannot join two
    visible entities through an invisible one.
    """

    def __init__(self, mapping: dict[str, str], conflicts: list[Conflict],
                 ignored: list[Judgement]) -> None:
        self._mapping = mapping
        self.conflicts = tuple(conflicts)
        self.ignored = tuple(ignored)

    def __getitem__(self, entity_id: str) -> str:
        return self._mapping[entity_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)

    def clusters(self) -> dict[str, tuple[str, ...]]:
        """Canonical id → member entity ids, for clusters of two or more."""
        groups: dict[str, list[str]] = {}
        for entity_id, canonical in self._mapping.items():
            groups.setdefault(canonical, []).append(entity_id)
        return {c: tuple(sorted(m)) for c, m in sorted(groups.items()) if len(m) > 1}

    def members(self, canonical_id: str) -> tuple[str, ...]:
        return tuple(sorted(e for e, c in self._mapping.items() if c == canonical_id))

    def same(self, left: str, right: str) -> bool:
        return self._mapping.get(left, left) == self._mapping.get(right, right)


def _canonical(anchor: str, prefix: str) -> str:
    return prefix + hashlib.sha1(anchor.encode()).hexdigest()[:20]


def canonical_ids(entities: Iterable[str], judgements: Iterable[Judgement], *,
                  prefix: str = CANONICAL_PREFIX) -> CanonicalIds:
    """Canonical id per entity from the live accepted judgements (rules in the docstring)."""
    ids = set(entities)
    live = live_judgements(judgements)
    ignored: list[Judgement] = []
    accepts: list[Judgement] = []
    rejected: dict[str, dict[str, Judgement]] = {}
    for j in live.values():
        if j.decision is Decision.UNSURE:
            continue
        if j.left not in ids or j.right not in ids:
            ignored.append(j)
        elif j.decision is Decision.ACCEPT:
            accepts.append(j)
        else:
            rejected.setdefault(j.left, {})[j.right] = j
            rejected.setdefault(j.right, {})[j.left] = j
    parent: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    #: root → (time of the cluster's oldest acceptance, tie-break, anchor entity)
    anchor: dict[str, tuple[dt.datetime, tuple[str, str], str]] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    conflicts: list[Conflict] = []
    for j in sorted(accepts, key=lambda j: (j.at, j.pair)):
        ra, rb = find(j.left), find(j.right)
        if ra == rb:
            continue
        group_a, group_b = members.get(ra, {ra}), members.get(rb, {rb})
        small, large = sorted((group_a, group_b), key=len)
        crossing = next((rejected[x][y] for x in small if x in rejected
                         for y in rejected[x] if y in large), None)
        if crossing is not None:
            conflicts.append(Conflict(accepted=j, rejected=crossing))
            continue
        candidates = [anchor[r] for r in (ra, rb) if r in anchor]
        kept = min(candidates) if candidates else (j.at, j.pair, j.left)
        parent[rb] = ra
        members[ra] = group_a | group_b
        members.pop(rb, None)
        anchor.pop(rb, None)
        anchor[ra] = kept
    mapping = {}
    for entity_id in sorted(ids):
        root = find(entity_id)
        mapping[entity_id] = _canonical(anchor[root][2], prefix) if root in anchor \
            else entity_id
    return CanonicalIds(mapping, conflicts, sorted(ignored, key=lambda j: (j.at, j.pair)))


def pending_suggestions(suggestions: Iterable[ScoredPair], judgements: Iterable[Judgement],
                        canonical: CanonicalIds | None = None) -> list[ScoredPair]:
    """Suggestions still needing an analyst: no live judgement on the pair, and (when
    ``canonical`` is given) not already in one cluster. Kept apart from curated identity:
    nothing here changes a canonical id."""
    live = live_judgements(judgements)
    return [s for s in suggestions
            if s.pair not in live and not (canonical is not None and canonical.same(*s.pair))]
