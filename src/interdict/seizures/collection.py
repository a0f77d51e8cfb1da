"""The collection of marks and logos: photos stored with checksum, thumbnail and fingerprint,
one in-memory index per database kept in step with the table, and ranked search.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.errors import FieldError, InvalidData, NotFound
from interdict.seizures import marks
from interdict.seizures.access import get, own, visible
from interdict.seizures.models import (
    Mark,
    Seizure,
)

# -- marks --------------------------------------------------------------------------------

MARK_KINDS = ("logo", "stamp", "toolmark")
MAX_IMAGE_BYTES = 20_000_000


@dataclass(frozen=True)
class MarkAttributes:
    kind: str = "stamp"
    text: str = ""
    shape: str = ""
    width_mm: float | None = None
    height_mm: float | None = None
    colour: str = ""
    weight_g: float | None = None

    def check(self) -> MarkAttributes:
        problems = []
        if self.kind not in MARK_KINDS:
            problems.append(FieldError("kind", f"one of {', '.join(MARK_KINDS)}"))
        for name in ("width_mm", "height_mm", "weight_g"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 100_000:
                problems.append(FieldError(name, f"must be positive and plausible, got {value}"))
        for name, limit in (("text", 200), ("shape", 40), ("colour", 40)):
            if len(getattr(self, name)) > limit:
                problems.append(FieldError(name, f"longer than {limit} characters"))
        if problems:
            raise InvalidData("mark attributes are not valid", errors=problems)
        return self


def mark_summary(m: Mark) -> dict[str, Any]:
    return {"id": m.id, "seizure_id": m.seizure_id, "kind": m.kind, "text": m.text,
            "shape": m.shape, "width_mm": m.width_mm, "height_mm": m.height_mm,
            "colour": m.colour, "weight_g": m.weight_g, "checksum": m.checksum,
            "filename": m.filename, "created_at": m.created_at.isoformat()}


class _IndexCache:
    """One mark index per database, kept in step with the marks table.

    Each search compares (id, checksum) of every stored mark with the index and adds what is
    new; an id whose checksum changed (a recreated database) rebuilds it. Fingerprints are
    read from the database, never recomputed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[str, tuple[marks.MarkIndex, dict[int, str]]] = {}

    def get(self, session: Session) -> marks.MarkIndex:
        key = str(session.get_bind().engine.url)
        held = dict(session.execute(select(Mark.id, Mark.checksum)).all())
        with self._lock:
            index, known = self._indexes.get(key, (None, {}))
            if index is None or any(held.get(i) != c for i, c in known.items()):
                index, known = marks.MarkIndex(), {}
            missing = sorted(set(held) - set(known))
            for start in range(0, len(missing), 500):
                chunk = missing[start:start + 500]
                for mark_id, blob in session.execute(select(Mark.id, Mark.fingerprint)
                                                     .where(Mark.id.in_(chunk))):
                    index.add(int(mark_id), marks.MarkFingerprint.from_bytes(blob))
                    known[int(mark_id)] = held[int(mark_id)]
            self._indexes[key] = (index, known)
            return index


index_cache = _IndexCache()


def add_mark(session: Session, *, actor: Actor, seizure_id: int, data: bytes,
             filename: str = "", attributes: MarkAttributes | None = None) -> dict[str, Any]:
    """Store a photo of a mark with its checksum, thumbnail and fingerprint.

    The picture is checked before anything is decoded (size, format, decompression bombs).
    The same picture on the same seizure again returns the stored mark.
    """
    s = own(session, actor, seizure_id)
    attrs = (attributes or MarkAttributes()).check()
    grey = marks.load_image(data, max_bytes=MAX_IMAGE_BYTES)
    digest = marks.checksum(data)
    held = session.scalar(select(Mark).where(Mark.seizure_id == s.id, Mark.checksum == digest))
    if held is not None:
        return {**mark_summary(held), "created": False}
    fp = marks.fingerprint(grey)
    m = Mark(seizure_id=s.id, agency_id=s.agency_id, kind=attrs.kind, text=attrs.text,
             shape=attrs.shape, width_mm=attrs.width_mm, height_mm=attrs.height_mm,
             colour=attrs.colour, weight_g=attrs.weight_g, filename=filename[:300],
             checksum=digest, image=data, thumbnail=marks.thumbnail(data),
             fingerprint=fp.to_bytes(), created_by=actor.username)
    session.add(m)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.record_created,
                 resource_type="seizures.mark", resource_id=m.id,
                 details={"seizure": s.reference, "checksum": digest, "features": len(fp)})
    return {**mark_summary(m), "created": True, "features": len(fp)}


def visible_marks(session: Session, actor: Actor) -> dict[int, Mark]:
    rows = session.execute(select(Mark).where(Mark.seizure_id.in_(
        visible(actor).with_only_columns(Seizure.id)))).scalars()
    return {m.id: m for m in rows}


def mark_file(session: Session, *, actor: Actor, mark_id: int, thumbnail: bool = False
              ) -> tuple[bytes, str]:
    """The stored picture (or its thumbnail) and its media type, for a mark the actor may see."""
    actor.require(Permission.seizures_read)
    m = session.get(Mark, mark_id)
    if m is None:
        raise NotFound(f"no mark {mark_id}")
    get(session, actor=actor, seizure_id=m.seizure_id)
    if thumbnail:
        return m.thumbnail, "image/jpeg"
    head = m.image[:12]
    kind = "image/png" if head.startswith(b"\x89PNG") else "image/jpeg" \
        if head.startswith(b"\xff\xd8") else "image/webp" if head[8:12] == b"WEBP" \
        else "application/octet-stream"
    return m.image, kind


@dataclass(frozen=True)
class MarkFilters:
    """Described attributes a search may require (all optional)."""

    kind: str = ""
    shape: str = ""
    colour: str = ""
    text: str = ""
    min_width_mm: float | None = None
    max_width_mm: float | None = None

    def admits(self, m: Mark) -> bool:
        if self.kind and m.kind != self.kind:
            return False
        for name in ("shape", "colour"):
            want = getattr(self, name).strip().lower()
            if want and want != getattr(m, name).strip().lower():
                return False
        if self.text and self.text.strip().lower() not in m.text.lower():
            return False
        if self.min_width_mm is not None and (m.width_mm is None
                                              or m.width_mm < self.min_width_mm):
            return False
        return not (self.max_width_mm is not None
                    and (m.width_mm is None or m.width_mm > self.max_width_mm))


def search_marks(session: Session, *, actor: Actor, data: bytes | None = None,
                 mark_id: int | None = None, filters: MarkFilters | None = None,
                 top: int = 10, purpose: str = "") -> dict[str, Any]:
    """Earlier marks most like a photo (or a stored mark), best first, among the marks of
    seizures the actor may see that pass the attribute filters."""
    actor.require(Permission.seizures_read)
    if (data is None) == (mark_id is None):
        raise InvalidData("give a picture or a stored mark",
                          errors=[FieldError("image", "exactly one of image and mark_id")])
    seen = visible_marks(session, actor)
    if mark_id is not None:
        if mark_id not in seen:
            raise NotFound(f"no mark {mark_id}")
        fp = marks.MarkFingerprint.from_bytes(seen[mark_id].fingerprint)
    else:
        assert data is not None
        fp = marks.fingerprint(marks.load_image(data, max_bytes=MAX_IMAGE_BYTES),
                               features=marks.QUERY_FEATURES)
    flt = filters or MarkFilters()
    allowed = {i for i, m in seen.items() if i != mark_id and flt.admits(m)}
    found = index_cache.get(session).search(fp, top=top, allowed=allowed)
    seizures = {s.id: s for s in session.scalars(select(Seizure).where(
        Seizure.id.in_([seen[f.id].seizure_id for f in found])))}
    results = []
    for f in found:
        m = seen[f.id]
        s = seizures[m.seizure_id]
        results.append({"mark": mark_summary(m), "score": f.score, "inliers": f.inliers,
                        "stage": f.stage, "global_distance": f.hash_distance,
                        "seizure": {"id": s.id, "reference": s.reference,
                                    "country": s.country,
                                    "seized_at": s.seized_at.isoformat()}})
    audit.record(session, actor=actor, action=AuditAction.record_viewed,
                 resource_type="seizures.mark", resource_id=mark_id or "upload",
                 justification=purpose, details={"results": len(results)})
    return {"query": {"mark_id": mark_id, "features": len(fp)}, "searched": len(allowed),
            "results": results}


