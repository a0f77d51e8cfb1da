"""What every part of seizures shares: who may see or change a seizure, and its summary.

Reading is scoped by ``visible_to`` (an agency's own seizures plus those shared with it);
writing is the agency's own. The seizures *system actor* writes parties to the intelligence
file and raises alerts for the agency, whoever recorded the seizure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from interdict.auth.actor import Actor
from interdict.auth.roles import Permission, Role
from interdict.auth.scoping import visible_to
from interdict.errors import NotFound
from interdict.seizures.models import (
    Seizure,
    SeizureLine,
)

SOURCE = "seizures"
RESOURCE = "seizures.seizure"
Progress = Callable[[str], None]


def system_actor(actor: Actor) -> Actor:
    """The seizures system of the actor's agency: writes parties to the intelligence file
    and raises alerts, whoever recorded the seizure (an officer may not hold network:write)."""
    return Actor(user_id=None, username="interdict:seizures", agency_id=actor.agency_id,
                 agency_code=actor.agency_code, roles=frozenset({Role.analyst}), via="system")


# -- reading ------------------------------------------------------------------------------

def visible(actor: Actor) -> Select[Seizure]:
    return select(Seizure).where(visible_to(actor, agency_column=Seizure.agency_id,
                                            id_column=Seizure.id, resource_type=RESOURCE))


def get(session: Session, *, actor: Actor, seizure_id: int) -> Seizure:
    actor.require(Permission.seizures_read)
    s = session.scalar(visible(actor).where(Seizure.id == seizure_id))
    if s is None:
        raise NotFound(f"no seizure {seizure_id}")
    return s


def own(session: Session, actor: Actor, seizure_id: int) -> Seizure:
    actor.require(Permission.seizures_write)
    s = session.scalar(select(Seizure).where(Seizure.id == seizure_id,
                                             Seizure.agency_id == actor.agency_id))
    if s is None:
        raise NotFound(f"no seizure {seizure_id} of your agency")
    return s


def summary(s: Seizure, lines: list[SeizureLine]) -> dict[str, Any]:
    return {"id": s.id, "reference": s.reference, "seized_at": s.seized_at.isoformat(),
            "country": s.country, "place": s.place, "latitude": s.latitude,
            "longitude": s.longitude, "transport_mode": s.transport_mode,
            "origin": s.origin, "transit": list(s.transit), "destination": s.destination,
            "handling": s.handling, "operation": s.operation,
            "substances": [{"substance": ln.substance, "status": ln.status,
                            "quantity": ln.quantity, "unit": ln.unit,
                            "quantity_kg": ln.quantity_kg, "form": ln.form,
                            "purity": ln.purity} for ln in lines]}


def lines_of(session: Session, ids: Iterable[int]) -> dict[int, list[SeizureLine]]:
    out: dict[int, list[SeizureLine]] = defaultdict(list)
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 900):
        for ln in session.scalars(select(SeizureLine).where(
                SeizureLine.seizure_id.in_(wanted[start:start + 900]))
                .order_by(SeizureLine.id)):
            out[ln.seizure_id].append(ln)
    return out


