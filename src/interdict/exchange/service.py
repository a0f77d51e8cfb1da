"""The exchange's library API: keys, messages, forwarding under handling codes, permission
requests, importing attached entities, and envelopes from other instances.

Adapters (API, CLI, web) call these functions and nothing deeper. Each works inside the
caller's unit of work and as the actor's agency: an agency sends as itself only, and reads
only the threads it is party to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.exchange import audit_view, holdings, incidents, keys
from interdict.exchange import rooms as room_service
from interdict.exchange.attachments import import_entity as import_entity
from interdict.exchange.holdings import (
    decide_follow_up as decide_follow_up,
)
from interdict.exchange.holdings import (
    hits_for as hits_for,
)
from interdict.exchange.holdings import (
    holdings_summary as holdings_summary,
)
from interdict.exchange.holdings import (
    register_holdings as register_holdings,
)
from interdict.exchange.holdings import (
    request_follow_up as request_follow_up,
)
from interdict.exchange.incidents import (
    subscribe as subscribe,
)
from interdict.exchange.incidents import (
    subscriptions as subscriptions,
)
from interdict.exchange.incidents import (
    unsubscribe as unsubscribe,
)
from interdict.exchange.messages import (
    acknowledge as acknowledge,
)
from interdict.exchange.messages import (
    decide_permission as decide_permission,
)
from interdict.exchange.messages import (
    forward as forward,
)
from interdict.exchange.messages import (
    mailbox as mailbox,
)
from interdict.exchange.messages import (
    permission_requests as permission_requests,
)
from interdict.exchange.messages import (
    read as read,
)
from interdict.exchange.messages import (
    receive as receive,
)
from interdict.exchange.messages import (
    reply as reply,
)
from interdict.exchange.messages import (
    request_permission as request_permission,
)
from interdict.exchange.messages import (
    send as send,
)
from interdict.exchange.messages import (
    thread as thread,
)
from interdict.exchange.rooms import (
    rooms as rooms,
)


def agency_keys(session: Session, *, actor: Actor, agency: str | None = None
                ) -> list[dict[str, object]]:
    """The keys of the actor's agency (or of a partner), with fingerprints to compare."""
    actor.require(Permission.exchange_read)
    return keys.listing(session, auth.get_agency(session, code=agency or actor.agency_code).id)


def rotate_key(session: Session, *, actor: Actor, secret: str) -> dict[str, object]:
    """A new signing key for the actor's agency (earlier ones still verify what they signed)."""
    actor.require(Permission.users_manage)
    kid, _ = keys.rotate(session, auth.get_agency(session, code=actor.agency_code), secret)
    return {"key_id": kid}


def import_partner_key(session: Session, *, actor: Actor, agency: str, public_key: str
                       ) -> dict[str, Any]:
    """Register a partner agency's public key (compare its fingerprint out of band first)."""
    actor.require(Permission.users_manage)
    return {"key_id": keys.import_public(session, auth.get_agency(session, code=agency),
                                         public_key)}



def audit_events(session: Session, *, actor: Actor, limit: int = 500) -> list[dict[str, Any]]:
    """The exchange's audit entries of the supervisor's agency: who saw what and why."""
    return audit_view.events(session, actor=actor, limit=limit)


# Names that differ from the implementing module's, for adapters.
hit_query = holdings.query
report_incident = incidents.report
incident_feed = incidents.feed
add_room_entry = room_service.add_entry
add_room_member = room_service.add_member
create_room = room_service.create
room = room_service.detail
