"""Agency scoping: every query a domain makes goes through :func:`visible_to`.

A record is visible to an actor when the actor's agency owns it or when it was shared with that
agency (a ``record_shares`` row, written by the exchange or a shared workspace). Records of
other agencies are reported as *not found*, never *forbidden*, so their existence does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, or_, select

from interdict.auth.actor import Actor
from interdict.auth.models import RecordShare


def visible_to(actor: Actor, *, agency_column: Any, id_column: Any, resource_type: str
               ) -> ColumnElement[bool]:
    shared_ids = select(RecordShare.resource_id).where(
        RecordShare.resource_type == resource_type,
        RecordShare.agency_id == actor.agency_id,
    )
    return or_(agency_column == actor.agency_id, cast(id_column, String).in_(shared_ids))
